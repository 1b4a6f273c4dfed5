"""Reading spreadsheets under limits: CSV in UTF-8 or GBK/GB18030, and .xlsx.

The encoding is detected, not asked for: Chinese Excel writes GBK (code page 936) when saving "CSV", and
UTF-8 with a BOM when saving "CSV UTF-8". GB18030 is a superset of GBK and decodes both. Every limit here
protects the operator's machine from a file that is too large or built to explode.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from signage.errors import InputFileError

MAX_DATA_ROWS = 100_000
MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_XLSX_UNCOMPRESSED_BYTES = 512 * 1024 * 1024
MAX_CELL_CHARS = 1_000
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
    """

    headers: list[str]
    rows: Iterator[tuple[int, list[Cell]]]
    encoding: str
    estimated_rows: int | None = None


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
    if data.startswith(codecs.BOM_UTF8):
        candidates = [("utf-8-sig", "UTF-8")]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # Excel's "Unicode text" export.
        candidates = [("utf-16", "UTF-16")]
    else:
        # UTF-8 first: GBK text is almost never valid UTF-8, while UTF-8 often decodes as GB18030 garbage.
        candidates = [("utf-8", "UTF-8"), ("gb18030", "GBK/GB18030")]
    for codec, name in candidates:
        try:
            return data.decode(codec), name
        except UnicodeDecodeError:
            continue
    raise InputFileError(
        "文件编码无法识别：既不是 UTF-8 也不是 GBK/GB18030；请在 Excel 中另存为“CSV UTF-8”",
        "the file's encoding is neither UTF-8 nor GBK/GB18030; save it from Excel as 'CSV UTF-8'",
    )


def _open_csv(path: Path) -> Table:
    text, encoding = decode_text(path.read_bytes())
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if first_line.count("\t") > first_line.count(",") else ","
    # Cells a little over MAX_CELL_CHARS are refused row by row; far over it, a stray quote has swallowed
    # the rest of the file, which strict mode also reports when the file ends inside quotes.
    csv.field_size_limit(MAX_CELL_CHARS * 64)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)

    def numbered() -> Iterator[tuple[int, list[Cell]]]:
        try:
            for cells in reader:
                yield reader.line_num, list(cells)
        except csv.Error as error:
            raise InputFileError(
                f"CSV 第 {reader.line_num} 行格式错误（{error}）；常见原因是引号未闭合",
                f"CSV line {reader.line_num} is malformed ({error}); usually an unclosed quote",
            ) from None

    return _with_header(numbered(), path, encoding, estimated_rows=max(text.count("\n") - 1, 1))


def _open_xlsx(path: Path) -> Table:
    import openpyxl  # imported here: it is slow to import and only .xlsx needs it

    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError):
        raise _not_xlsx(path) from None
    if unpacked > MAX_XLSX_UNCOMPRESSED_BYTES:
        raise InputFileError(
            f"{path.name} 解压后超过 {MAX_XLSX_UNCOMPRESSED_BYTES // 1_048_576} MB，不予读取",
            f"{path.name} unpacks to more than {MAX_XLSX_UNCOMPRESSED_BYTES // 1_048_576} MB; refused",
        )
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception:  # openpyxl raises many types for broken files; all mean the same to an operator
        raise _not_xlsx(path) from None
    sheet = workbook.worksheets[0]

    def numbered() -> Iterator[tuple[int, list[Cell]]]:
        try:
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                yield number, ["" if value is None else value for value in values]
        except Exception:
            raise _not_xlsx(path) from None
        finally:
            workbook.close()

    # read-only sheets know their size only when the file records its dimensions
    total = sheet.max_row
    return _with_header(numbered(), path, "xlsx", estimated_rows=None if total is None else max(total - 1, 1))


def _not_xlsx(path: Path) -> InputFileError:
    return InputFileError(
        f"{path.name} 不是有效的 .xlsx 文件（可能已损坏，或是旧版 .xls 改了扩展名）",
        f"{path.name} is not a valid .xlsx file (damaged, or an old .xls renamed)",
    )


def _is_empty(cells: list[Cell]) -> bool:
    return all(isinstance(cell, str) and not cell.strip() for cell in cells)


def _with_header(
    numbered: Iterator[tuple[int, list[Cell]]], path: Path, encoding: str, *, estimated_rows: int | None
) -> Table:
    for _, cells in numbered:
        if not _is_empty(cells):
            headers = [str(cell).strip() for cell in cells]
            break
    else:
        raise _empty(path)
    return Table(headers, _data_rows(numbered, path), encoding, estimated_rows)


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
