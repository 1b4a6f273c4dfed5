"""Reading spreadsheets under limits: CSV in UTF-8 or GBK/GB18030, and .xlsx.

The encoding is detected, not asked for: Chinese Excel writes GBK (code page 936) when saving "CSV", and
UTF-8 with a BOM when saving "CSV UTF-8". GB18030 is a superset of GBK and decodes both. Every limit here
protects the operator's machine from a file that is too large or built to explode.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TextIO

from signage.core.errors import InputFileError

MAX_DATA_ROWS = 100_000
MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_XLSX_UNCOMPRESSED_BYTES = 512 * 1024 * 1024
MAX_CELL_CHARS = 1_000
#: Characters one CSV row may span (its line breaks included): 64 full-length cells and more.
MAX_ROW_CHARS = 256_000
#: Columns a row may use (Excel 2003 stopped at 256); empty cells further right are dropped.
MAX_COLUMNS = 256
_CSV_CHUNK = 1024 * 1024
# A sheet formatted down to row 1,048,576 yields empty rows; this many in a row ends the data.
_MAX_EMPTY_RUN = 1_000

Cell = str | int | float | object


@dataclass(frozen=True)
class Table:
    """A spreadsheet's header and data rows.

    Attributes:
        headers: The first non-empty row, as text.
        rows: ``(row_number, cells)`` pairs, numbered as the operator's spreadsheet numbers them (the
            header is row 1 when it is the first line); empty rows are skipped.
        encoding: How the file was decoded (``UTF-8``, ``GB18030``, ``xlsx``).
        estimated_rows: About how many data rows follow (for progress bars), or ``None`` if unknown.
        close: Closes the file; the rows are read from it as they are iterated, so call this when done
            (an abandoned generator would close it only when garbage-collected).
        header_row: The row number of ``headers`` (1 unless blank rows come first).
    """

    headers: list[str]
    rows: Iterator[tuple[int, list[Cell]]]
    encoding: str
    estimated_rows: int | None = None
    close: Callable[[], None] = field(default=lambda: None, compare=False)
    header_row: int = 1


def open_table(path: Path) -> Table:
    """Open a CSV or XLSX file.

    Raises:
        InputFileError: missing, too large, empty, not a spreadsheet, or in an unknown encoding.
    """
    try:
        size = path.stat().st_size
    except OSError as error:
        raise InputFileError(
            f"无法读取文件 {path}：{error.strerror}",
            f"cannot read {path}: {error.strerror}",
        ) from None
    if size > MAX_FILE_BYTES:
        raise InputFileError(
            f"文件 {path.name} 有 {size // 1_048_576} MB，超过上限 {MAX_FILE_BYTES // 1_048_576} MB；请分成几个文件",
            f"{path.name} is {size // 1_048_576} MB, over the {MAX_FILE_BYTES // 1_048_576} MB limit; "
            "split it into several files",
        )
    if size == 0:
        raise _empty(path)
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        return _open_xlsx(path)
    if suffix in (".csv", ".txt", ".tsv"):
        return _open_csv(path)
    raise InputFileError(
        f"不支持的文件类型“{path.suffix}”；请在 Excel 中另存为 .xlsx 或 CSV",
        f"unsupported file type '{path.suffix}'; save it from Excel as .xlsx or CSV",
    )


def _empty(path: Path) -> InputFileError:
    return InputFileError(
        f"文件 {path.name} 是空的，没有表头也没有数据",
        f"{path.name} is empty: no header and no rows",
    )


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode CSV bytes, returning the text and the encoding's name.

    Raises:
        InputFileError: neither UTF-8 (with or without BOM), UTF-16 with BOM, nor GB18030.
    """
    for codec, name in _candidates(data[:4]):
        try:
            return data.decode(codec), name
        except UnicodeDecodeError:
            continue
    raise _unknown_encoding()


def _candidates(head: bytes) -> list[tuple[str, str]]:
    """The codecs to try, in order, for a file starting with ``head``, with their display names."""
    if head.startswith(codecs.BOM_UTF8):
        return [("utf-8-sig", "UTF-8")]
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # Excel's "Unicode text" export.
        return [("utf-16", "UTF-16")]
    # UTF-8 first: GBK text is almost never valid UTF-8, while UTF-8 often decodes as GB18030 garbage.
    return [("utf-8", "UTF-8"), ("gb18030", "GBK/GB18030")]


def _unknown_encoding() -> InputFileError:
    return InputFileError(
        "文件编码无法识别：既不是 UTF-8 也不是 GBK/GB18030；请在 Excel 中另存为“CSV UTF-8”",
        "the file's encoding is neither UTF-8 nor GBK/GB18030; save it from Excel as 'CSV UTF-8'",
    )


def _csv_codec(path: Path) -> tuple[str, str, int]:
    """Decide the codec as :func:`decode_text` does, but in chunks: the text is never held whole.

    Returns the codec, its display name and the number of line feeds (for the progress estimate).
    """
    with path.open("rb") as handle:
        head = handle.read(4)
    for codec, name in _candidates(head):
        decoder = codecs.getincrementaldecoder(codec)()
        line_feeds = 0
        try:
            with path.open("rb") as handle:
                while chunk := handle.read(_CSV_CHUNK):
                    line_feeds += decoder.decode(chunk).count("\n")
                decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return codec, name, line_feeds
    raise _unknown_encoding()


def _open_csv(path: Path) -> Table:
    codec, encoding, line_feeds = _csv_codec(path)
    handle = path.open("r", encoding=codec, newline="")
    first_line = handle.readline(MAX_ROW_CHARS)
    handle.seek(0)
    delimiter = "\t" if first_line.count("\t") > first_line.count(",") else ","
    # Cells a little over MAX_CELL_CHARS are refused row by row; far over it, a stray quote has swallowed
    # the rest of the file, which strict mode also reports when the file ends inside quotes.
    csv.field_size_limit(MAX_CELL_CHARS * 64)
    lines = _BoundedLines(handle, path)
    reader = csv.reader(lines, delimiter=delimiter, strict=True)

    def numbered() -> Iterator[tuple[int, list[Cell]]]:
        try:
            for cells in reader:
                lines.row_done()
                yield reader.line_num, _within_columns(cells, reader.line_num, path)
        except csv.Error as error:
            raise InputFileError(
                f"CSV 第 {reader.line_num} 行格式错误（{error}）；常见原因是引号未闭合",
                f"CSV line {reader.line_num} is malformed ({error}); usually an unclosed quote",
            ) from None

    return _closing(
        lambda: _with_header(numbered(), path, encoding, estimated_rows=max(line_feeds - 1, 1)), handle.close
    )


class _BoundedLines:
    """The file's lines for :mod:`csv`, refusing a row longer than :data:`MAX_ROW_CHARS` as it grows.

    One row can span many lines (a quoted cell may hold line breaks, and a stray quote swallows every
    line after it), and :mod:`csv` builds the whole row before handing it over; so the characters read
    since the last finished row are counted here, and no line is read past the limit.
    """

    def __init__(self, handle: TextIO, path: Path) -> None:
        self._handle = handle
        self._path = path
        self._since_row = 0
        self.line = 0

    def __iter__(self) -> Iterator[str]:
        while line := self._handle.readline(MAX_ROW_CHARS + 1):
            self.line += 1
            self._since_row += len(line)
            if self._since_row > MAX_ROW_CHARS:
                raise InputFileError(
                    f"{self._path.name} 第 {self.line} 行附近的一行数据超过 {MAX_ROW_CHARS:,} 个字（常见原因是引号未闭合，"
                    "或换行符丢失）；请在 Excel 中打开检查该行，另存为新文件，或分成几个文件",
                    f"{self._path.name}: a row around line {self.line} is longer than {MAX_ROW_CHARS:,} characters "
                    "(usually an unclosed quote or lost line breaks); check that row in Excel, save it as a new "
                    "file, or split it",
                )
            yield line

    def row_done(self) -> None:
        self._since_row = 0


def _within_columns(cells: list[str], line: int, path: Path) -> list[Cell]:
    """Drop empty cells beyond :data:`MAX_COLUMNS`; refuse the file if one of them holds a value."""
    if len(cells) <= MAX_COLUMNS:
        return list(cells)
    if any(cell.strip() for cell in cells[MAX_COLUMNS:]):
        raise InputFileError(
            f"{path.name} 第 {line} 行有 {len(cells):,} 列，超过 {MAX_COLUMNS} 列的上限；请删除多余的列后另存为新文件",
            f"{path.name} line {line} has {len(cells):,} columns, over the {MAX_COLUMNS}-column limit; "
            "delete the extra columns and save it as a new file",
        )
    return list(cells[:MAX_COLUMNS])


def _open_xlsx(path: Path) -> Table:
    # A streaming reader of our own, not openpyxl's: see signage/operator/importer/xlsx.py for why and its limits.
    # Imported here: it imports openpyxl, which is slow to import and only .xlsx needs.
    from signage.operator.importer.xlsx import read_first_sheet

    sheet = read_first_sheet(path, declared_limit=MAX_XLSX_UNCOMPRESSED_BYTES)
    total = sheet.dimension_rows
    rows: Iterator[tuple[int, list[Cell]]] = ((number, list(cells)) for number, cells in sheet.rows)
    return _closing(
        lambda: _with_header(rows, path, "xlsx", estimated_rows=None if total is None else max(total - 1, 1)),
        sheet.close,
    )


def _closing(opened: Callable[[], Table], close: Callable[[], None]) -> Table:
    """The table with its ``close``; the file is closed at once if reading the header fails."""
    try:
        table = opened()
    except BaseException:
        close()
        raise
    return replace(table, close=close)


def _is_empty(cells: list[Cell]) -> bool:
    return all(isinstance(cell, str) and not cell.strip() for cell in cells)


def _with_header(
    numbered: Iterator[tuple[int, list[Cell]]], path: Path, encoding: str, *, estimated_rows: int | None
) -> Table:
    for number, cells in numbered:
        if not _is_empty(cells):
            headers, header_row = [str(cell).strip() for cell in cells], number
            break
    else:
        raise _empty(path)
    return Table(headers, _data_rows(numbered, path), encoding, estimated_rows, header_row=header_row)


def _data_rows(numbered: Iterator[tuple[int, list[Cell]]], path: Path) -> Iterator[tuple[int, list[Cell]]]:
    count = 0
    empty_run = 0
    for number, cells in numbered:
        if _is_empty(cells):
            empty_run += 1
            if empty_run >= _MAX_EMPTY_RUN:
                return
            continue
        empty_run = 0
        count += 1
        if count > MAX_DATA_ROWS:
            raise InputFileError(
                f"{path.name} 超过 {MAX_DATA_ROWS:,} 行数据（第 {number} 行起超出）；请分成几个文件分别导入",
                f"{path.name} has more than {MAX_DATA_ROWS:,} data rows (row {number} is over the limit); "
                "split it into several files",
            )
        yield number, cells
