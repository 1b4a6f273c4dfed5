"""A streaming reader of an .xlsx file's first worksheet, with every size bounded as it is read.

openpyxl (even in read-only mode) keeps a whole ``<row>`` element and the whole shared-strings table in
memory: an 875 KB file holding one row of 30 million cells took 7.5 GB, a shared-strings bomb 2 GB. This
reader never builds an element tree. It feeds the zip members, 64 KB at a time, to expat (pyexpat, in C)
with small event handlers that keep only the current cell. Like defusedxml, it refuses any DOCTYPE, so no
entity can be declared and no entity-expansion bomb ("billion laughs") can start; defusedxml itself is
not used because its ElementTree parser is the pure-Python one, five times slower (100,000 rows took
about 55 s). It counts what it reads:

* bytes actually decompressed from each member (a zip directory's declared sizes can lie);
* bytes without a ``>`` (a single huge tag or attribute would be buffered whole by expat);
* element nesting depth (expat keeps a stack of open elements);
* cells in one row, the highest column holding a value, and the length of one text;
* the shared strings, by count and by total characters (they must stay in memory for look-up).

Cell values are those openpyxl gives with ``data_only=True``: numbers stay ``int`` or ``float`` (so a
number-stored ID can be recognised, see ``signage/operator/importer/rows.py``), numbers in a date format become
``datetime`` through openpyxl's own format test and conversion, booleans ``bool``, errors their text
(``#N/A``), shared and inline strings their text. Formulas give their cached value.
"""

from __future__ import annotations

import datetime as dt
import posixpath
import re
import struct
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from xml.parsers import expat

from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format, is_timedelta_format
from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900, from_excel, from_ISO8601

from signage.core.errors import InputFileError
from signage.operator.importer.tabular import MAX_COLUMNS

#: ``<c>`` elements in one row, empty or not (styled empty cells count too).
MAX_ROW_CELLS = 1_024
#: Distinct shared strings: 100,000 rows of about ten distinct texts each.
MAX_SHARED_STRINGS = 1_000_000
#: Characters of all shared strings together (held in memory while the sheet is read).
MAX_SHARED_STRING_CHARS = 16_000_000
#: One text (a cell, a shared string): far longer than any cell ``rows.py`` accepts.
MAX_TEXT_CHARS = 64_000
#: Bytes decompressed from the worksheet or the shared strings, counted as they come out. A 100,000-row
#: export written with inline strings (Apache POI, openpyxl) needs about 130 MB.
MAX_PART_BYTES = 256 * 1024 * 1024
#: Bytes decompressed from the workbook, its relationships and the styles (a bloated styles part is
#: a megabyte or two; this bounds the time they take with the element limit).
MAX_META_BYTES = 8 * 1024 * 1024
#: The zip's central directory; 1 MB lists some 15,000 members, an .xlsx has a dozen.
MAX_DIRECTORY_BYTES = 1024 * 1024
#: Bytes between two ``>``: no real tag, attribute or cell text comes near it.
MAX_TOKEN_BYTES = 1024 * 1024
#: Element nesting: a worksheet nests six deep.
MAX_DEPTH = 64
#: Elements in one part: 100,000 rows of 30 inline-string cells (three elements each) need 9 million.
#: It bounds the time a part of tiny elements takes, as the bytes limit bounds memory.
MAX_ELEMENTS = 10_000_000
#: Cell formats (Excel allows about 64,000) and number formats read from the styles.
MAX_STYLES = 100_000

_CHUNK = 64 * 1024
_EXCEL_ROWS = 1_048_576
# expat reports a namespaced name as "URI}local" with this separator.
_NS = "}"
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "http://schemas.openxmlformats.org/package/2006/relationships}"
_R_ID = "http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_C, _V, _IS, _T, _R_PH, _ROW = (_MAIN + name for name in ("c", "v", "is", "t", "rPh", "row"))
_SHEET_DATA, _DIMENSION_TAG, _SI = _MAIN + "sheetData", _MAIN + "dimension", _MAIN + "si"
_CELL_REF = re.compile(r"([A-Z]{1,3})(\d+)")
_DIMENSION = re.compile(r"[A-Z]{1,3}\d+:[A-Z]{1,3}(\d+)|[A-Z]{1,3}(\d+)")
_EOCD = b"PK\x05\x06"

Cell = str | int | float | bool | dt.datetime | dt.date | dt.time | dt.timedelta


def _refused(path: Path, zh: str, en: str) -> InputFileError:
    return InputFileError(
        f"{path.name}：{zh}；请在 Excel 中把数据复制到一个新工作簿、另存为新的 .xlsx 文件，或分成几个较小的文件",
        f"{path.name}: {en}; in Excel, copy the data into a new workbook and save it as a new .xlsx file, "
        "or split it into smaller files",
    )


def not_xlsx(path: Path) -> InputFileError:
    """The error for a file that is not a readable .xlsx at all."""
    return InputFileError(
        f"{path.name} 不是有效的 .xlsx 文件（可能已损坏，或是旧版 .xls 改了扩展名）",
        f"{path.name} is not a valid .xlsx file (damaged, or an old .xls renamed)",
    )


def _damaged(path: Path, member: str) -> InputFileError:
    return InputFileError(
        f"{path.name} 已损坏：压缩包中的 {member} 与其目录记录不符（大小或校验和不对）；请在 Excel 中打开后另存为新文件",
        f"{path.name} is damaged: the part {member} does not match its zip directory entry (size or checksum); "
        "open it in Excel and save it as a new file",
    )


class _Counted:
    """Reads a zip member in chunks, counting the bytes that really come out and the longest tag."""

    def __init__(self, stream: IO[bytes], path: Path, member: str, limit: int) -> None:
        self._stream = stream
        self._path = path
        self._member = member
        self._limit = limit
        self.total = 0
        self._since_close = 0

    def chunks(self) -> Iterator[bytes]:
        while True:
            try:
                chunk = self._stream.read(_CHUNK)
            except (zipfile.BadZipFile, EOFError, OSError, ValueError):
                raise _damaged(self._path, self._member) from None
            if not chunk:
                return
            self.total += len(chunk)
            if self.total > self._limit:
                raise _refused(
                    self._path,
                    f"{self._member} 解压后超过 {self._limit // 1_048_576} MB 的上限",
                    f"{self._member} unpacks to more than the {self._limit // 1_048_576} MB limit",
                )
            first = chunk.find(b">")
            if first == -1:
                self._since_close += len(chunk)
            else:
                self._since_close += first
                if self._since_close <= MAX_TOKEN_BYTES:
                    self._since_close = len(chunk) - 1 - chunk.rfind(b">")
            if self._since_close > MAX_TOKEN_BYTES:
                raise _refused(
                    self._path,
                    f"{self._member} 中有超过 {MAX_TOKEN_BYTES // 1_048_576} MB 的单个标记或文字",
                    f"{self._member} holds a single tag or text over {MAX_TOKEN_BYTES // 1_048_576} MB",
                )
            yield chunk


class _Handler:
    """Parser target: counts depth, passes events on to ``begin``/``finish``/``text``."""

    def __init__(self, path: Path, member: str) -> None:
        self.path = path
        self.member = member
        self.depth = 0
        self.elements = 0

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        self.depth += 1
        self.elements += 1
        if self.depth > MAX_DEPTH or self.elements > MAX_ELEMENTS:
            self._too_many()
        self.begin(tag, attrib)

    def _too_many(self) -> None:
        if self.depth > MAX_DEPTH:
            raise _refused(
                self.path,
                f"{self.member} 的元素嵌套超过 {MAX_DEPTH} 层",
                f"{self.member} nests elements more than {MAX_DEPTH} deep",
            )
        raise _refused(
            self.path,
            f"{self.member} 含有超过 {MAX_ELEMENTS:,} 个元素",
            f"{self.member} holds more than {MAX_ELEMENTS:,} elements",
        )

    def end(self, tag: str) -> None:
        self.depth -= 1
        self.finish(tag)

    def data(self, text: str) -> None:
        """Character data; most parts ignore it."""

    def close(self) -> None:
        """Nothing to hand back: results stay on the handler."""

    def begin(self, tag: str, attrib: dict[str, str]) -> None:
        """An element starts."""

    def finish(self, tag: str) -> None:
        """An element ends."""


class _TextCollector:
    """Collects the text of one ``<si>`` or ``<is>``: plain ``<t>`` and rich-text runs, not phonetic ones."""

    def __init__(self, path: Path, member: str) -> None:
        self._path = path
        self._member = member
        self._pieces: list[str] = []
        self._length = 0
        self._in_phonetic = 0
        self.in_text = False

    def begin(self, tag: str) -> None:
        if tag == _R_PH:
            self._in_phonetic += 1
        elif tag == _T and not self._in_phonetic:
            self.in_text = True

    def finish(self, tag: str) -> None:
        if tag == _R_PH:
            self._in_phonetic -= 1
        elif tag == _T:
            self.in_text = False

    def add(self, text: str) -> None:
        self._length += len(text)
        if self._length > MAX_TEXT_CHARS:
            raise _refused(
                self._path,
                f"{self._member} 中有一段文字超过 {MAX_TEXT_CHARS:,} 个字",
                f"{self._member} holds a text longer than {MAX_TEXT_CHARS:,} characters",
            )
        self._pieces.append(text)

    def take(self) -> str:
        text = "".join(self._pieces)
        self._pieces.clear()
        self._length = 0
        self._in_phonetic = 0
        self.in_text = False
        return text


def _parse(archive: zipfile.ZipFile, path: Path, member: str, handler: _Handler, limit: int) -> None:
    """Feed one member through the guarded parser into ``handler`` (for the parts read in one go)."""
    for _ in _feed(archive, path, member, handler, limit):
        pass


def _feed(archive: zipfile.ZipFile, path: Path, member: str, handler: _Handler, limit: int) -> Iterator[None]:
    """Feed ``member`` chunk by chunk, yielding after each so the caller can take what is ready."""
    parser = expat.ParserCreate(namespace_separator=_NS)
    parser.buffer_text = True  # one data call per run of text, not one per line or entity
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)

    def forbidden(*_: object) -> int:
        raise _refused(
            path,
            f"{member} 含有 DTD 或实体定义（Excel 从不写入，可能是恶意构造的文件）",
            f"{member} holds a DTD or entity declarations (Excel never writes them; the file may be crafted)",
        )

    # What defusedxml's forbid_dtd, forbid_entities and forbid_external do, on the C parser.
    parser.StartDoctypeDeclHandler = forbidden
    parser.EntityDeclHandler = forbidden
    parser.UnparsedEntityDeclHandler = forbidden
    parser.ExternalEntityRefHandler = forbidden
    parser.StartElementHandler = handler.start
    parser.EndElementHandler = handler.end
    parser.CharacterDataHandler = handler.data
    try:
        with archive.open(member) as stream:
            for chunk in _Counted(stream, path, member, limit).chunks():
                parser.Parse(chunk, False)
                yield
            parser.Parse(b"", True)
    except KeyError:
        raise not_xlsx(path) from None
    except (expat.ExpatError, ValueError, IndexError, OverflowError, RuntimeError, NotImplementedError):
        # A bad number or string index is a ValueError or IndexError; an encrypted member is a
        # RuntimeError, an unknown compression NotImplementedError.
        raise not_xlsx(path) from None
    yield


class _Relationships(_Handler):
    def __init__(self, path: Path, member: str) -> None:
        super().__init__(path, member)
        self.targets: list[tuple[str, str, str]] = []  # (id, type, target)

    def begin(self, tag: str, attrib: dict[str, str]) -> None:
        if tag == _REL + "Relationship" and len(self.targets) < MAX_STYLES:
            self.targets.append((attrib.get("Id", ""), attrib.get("Type", ""), attrib.get("Target", "")))


class _Workbook(_Handler):
    def __init__(self, path: Path, member: str) -> None:
        super().__init__(path, member)
        self.sheet_ids: list[str] = []
        self.date1904 = False

    def begin(self, tag: str, attrib: dict[str, str]) -> None:
        if tag == _MAIN + "sheet" and len(self.sheet_ids) < MAX_STYLES:
            self.sheet_ids.append(attrib.get(_R_ID, ""))
        elif tag == _MAIN + "workbookPr":
            self.date1904 = attrib.get("date1904", "").lower() in ("1", "true")


class _Styles(_Handler):
    """Which cell formats (``s`` attributes) are dates or durations, as openpyxl decides it."""

    def __init__(self, path: Path, member: str) -> None:
        super().__init__(path, member)
        self.custom: dict[int, str] = {}
        self.formats: list[int] = []
        self._in_cell_xfs = False

    def begin(self, tag: str, attrib: dict[str, str]) -> None:
        if tag == _MAIN + "numFmt" and len(self.custom) < MAX_STYLES:
            self.custom[int(attrib.get("numFmtId", "0"))] = attrib.get("formatCode", "")
        elif tag == _MAIN + "cellXfs":
            self._in_cell_xfs = True
        elif tag == _MAIN + "xf" and self._in_cell_xfs and len(self.formats) < MAX_STYLES:
            self.formats.append(int(attrib.get("numFmtId", "0")))

    def finish(self, tag: str) -> None:
        if tag == _MAIN + "cellXfs":
            self._in_cell_xfs = False

    def date_styles(self) -> tuple[frozenset[int], frozenset[int]]:
        dates: set[int] = set()
        durations: set[int] = set()
        for index, format_id in enumerate(self.formats):
            code = self.custom.get(format_id, BUILTIN_FORMATS.get(format_id))
            if is_date_format(code):
                dates.add(index)
            if is_timedelta_format(code):
                durations.add(index)
        return frozenset(dates), frozenset(durations)


class _SharedStrings(_Handler):
    def __init__(self, path: Path, member: str) -> None:
        super().__init__(path, member)
        self.strings: list[str] = []
        self._chars = 0
        self._text = _TextCollector(path, member)
        self._in_item = False

    def begin(self, tag: str, attrib: dict[str, str]) -> None:
        if tag == _SI:
            self._in_item = True
        elif self._in_item:
            self._text.begin(tag)

    def data(self, text: str) -> None:
        if self._text.in_text:
            self._text.add(text)

    def finish(self, tag: str) -> None:
        if tag != _SI:
            self._text.finish(tag)
            return
        self._in_item = False
        # openpyxl drops this escape prefix too (openpyxl.reader.strings); keep the texts identical.
        text = self._text.take().replace("x005F_", "")
        self._chars += len(text)
        if len(self.strings) >= MAX_SHARED_STRINGS or self._chars > MAX_SHARED_STRING_CHARS:
            raise _refused(
                self.path,
                f"共享字符串表超过上限（{MAX_SHARED_STRINGS:,} 条或共 {MAX_SHARED_STRING_CHARS:,} 个字）",
                f"the shared-strings table is over its limit ({MAX_SHARED_STRINGS:,} strings or "
                f"{MAX_SHARED_STRING_CHARS:,} characters in all)",
            )
        self.strings.append(text)


class _Sheet(_Handler):
    """Builds rows one at a time; finished rows wait in ``ready`` until the reader takes them."""

    def __init__(
        self,
        path: Path,
        member: str,
        strings: list[str],
        styles: tuple[frozenset[int], frozenset[int]],
        epoch: dt.datetime,
    ) -> None:
        super().__init__(path, member)
        self.strings = strings
        self.dates, self.durations = styles
        self.epoch = epoch
        self.ready: list[tuple[int, list[Cell]]] = []
        self.dimension_rows: int | None = None
        self.in_data = False
        self._row_number = 0
        self._row: dict[int, Cell] = {}
        self._row_cells = 0
        self._column = 0
        self._cell_type = "n"
        self._cell_style = 0
        self._cell_ref: str | None = None
        self._value: list[str] = []
        self._value_length = 0
        self._in_value = False
        self._text = _TextCollector(path, member)  # one, reused by every inline string
        self._inline: _TextCollector | None = None

    # start, data and end run for every element of the sheet: they are the hot path, so they check the
    # commonest tags first and do the depth count themselves.
    def start(self, tag: str, attrib: dict[str, str]) -> None:
        self.depth += 1
        self.elements += 1
        if self.depth > MAX_DEPTH or self.elements > MAX_ELEMENTS:
            self._too_many()
        if tag == _C:
            self._begin_cell(attrib)
        elif tag == _V:
            self._in_value = True
        elif tag == _IS:
            self._inline = self._text  # emptied by the _finish_cell before it
        elif self._inline is not None:
            self._inline.begin(tag)
        elif tag == _ROW:
            reference = attrib.get("r")
            self._row_number = int(reference) if reference else self._row_number + 1
            if not 1 <= self._row_number <= _EXCEL_ROWS:
                # Missing rows come as empty ones; a row number no sheet has would mean a billion of them.
                raise not_xlsx(self.path)
            self._row = {}
            self._row_cells = 0
            self._column = 0
        elif tag == _SHEET_DATA:
            self.in_data = True
        elif tag == _DIMENSION_TAG:
            match = _DIMENSION.fullmatch(attrib.get("ref", ""))
            if match:
                self.dimension_rows = int(match.group(1) or match.group(2))

    def data(self, text: str) -> None:
        if self._in_value:
            self._value_length += len(text)
            if self._value_length > MAX_TEXT_CHARS:
                raise self._cell_refused(
                    f"的值超过 {MAX_TEXT_CHARS:,} 个字", f"a value over {MAX_TEXT_CHARS:,} characters"
                )
            self._value.append(text)
        elif self._inline is not None and self._inline.in_text:
            self._inline.add(text)

    def end(self, tag: str) -> None:
        self.depth -= 1
        if tag == _C:
            self._finish_cell()
        elif tag == _V:
            self._in_value = False
        elif tag == _IS:
            pass
        elif self._inline is not None:
            self._inline.finish(tag)
        elif tag == _ROW:
            width = max(self._row, default=0)
            self.ready.append(
                (self._row_number, [self._row.get(column, "") for column in range(1, width + 1)])
            )
            self._row = {}
        elif tag == _SHEET_DATA:
            self.in_data = False

    def _begin_cell(self, attrib: dict[str, str]) -> None:
        self._row_cells += 1
        if self._row_cells > MAX_ROW_CELLS:
            raise _refused(
                self.path,
                f"第 {self._row_number} 行有超过 {MAX_ROW_CELLS:,} 个单元格",
                f"row {self._row_number} has more than {MAX_ROW_CELLS:,} cells",
            )
        reference = attrib.get("r")
        column = _COLUMNS.get(reference.rstrip(_DIGITS)) if reference else None
        if column is None and reference:
            match = _CELL_REF.fullmatch(reference)
            column = _column_number(match.group(1)) if match else None
        self._column = column or self._column + 1
        self._cell_ref = reference
        self._cell_type = attrib.get("t", "n")
        style = attrib.get("s")
        self._cell_style = int(style) if style else 0
        self._value = []
        self._value_length = 0
        self._inline = None

    def _finish_cell(self) -> None:
        value = self._cell_value()
        if self._inline is not None and self._cell_type != "inlineStr":
            self._inline.take()  # an <is> in a cell of another type: its text is not the value
        self._value = []
        self._value_length = 0
        self._inline = None
        if value is None:
            return
        if self._column > MAX_COLUMNS:
            raise _refused(
                self.path,
                f"第 {self._row_number} 行第 {self._column} 列有内容，超过 {MAX_COLUMNS} 列的上限",
                f"row {self._row_number} has a value in column {self._column}, beyond the {MAX_COLUMNS}-column limit",
            )
        self._row[self._column] = value

    def _cell_value(self) -> Cell | None:
        kind = self._cell_type
        if kind == "inlineStr":
            return None if self._inline is None else self._inline.take()
        raw = "".join(self._value) or None
        if raw is None:
            return None
        if kind == "n":
            number: int | float = float(raw) if any(mark in raw for mark in ".Ee") else int(raw)
            if self._cell_style in self.dates:
                try:
                    converted: Cell = from_excel(
                        number, self.epoch, timedelta=self._cell_style in self.durations
                    )
                except (OverflowError, ValueError):
                    return "#VALUE!"  # what openpyxl gives for a serial outside the dates
                return converted
            return number
        if kind == "s":
            return self.strings[int(raw)]
        if kind == "b":
            return bool(int(raw))
        if kind == "d":
            parsed: Cell = from_ISO8601(raw)  # type: ignore[no-untyped-call]  # untyped in the stubs
            return parsed
        return raw  # "str" (a formula's text), "e" (an error such as #N/A)

    def _cell_refused(self, zh: str, en: str) -> InputFileError:
        return _refused(
            self.path,
            f"单元格 {self._cell_ref or self._column}（第 {self._row_number} 行）{zh}",
            f"cell {self._cell_ref or self._column} (row {self._row_number}) holds {en}",
        )


# The column of a reference's letters, for the first 702 columns (A to ZZ): cheaper than parsing each.
_DIGITS = "0123456789"
_COLUMNS: dict[str, int] = {}


def _column_number(letters: str) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - 64
    return number


def _check_directory(path: Path) -> None:
    """Refuse a zip whose central directory is large before zipfile builds an object per member."""
    with path.open("rb") as handle:
        handle.seek(0, 2)
        size = handle.tell()
        handle.seek(max(0, size - 65_536 - 22))
        tail = handle.read()
    at = tail.rfind(_EOCD)
    if at == -1 or len(tail) < at + 22:
        raise not_xlsx(path)
    members, directory_bytes = struct.unpack("<HI", tail[at + 10 : at + 16])
    if members == 0xFFFF or directory_bytes > MAX_DIRECTORY_BYTES:
        raise _refused(
            path,
            f"压缩包目录超过 {MAX_DIRECTORY_BYTES // 1_048_576} MB（或成员过多）",
            f"its zip directory is over {MAX_DIRECTORY_BYTES // 1_048_576} MB (or lists too many parts)",
        )


def _resolve(base: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(base), target))


def _rels_of(part: str) -> str:
    return posixpath.join(posixpath.dirname(part), "_rels", posixpath.basename(part) + ".rels")


@dataclass(frozen=True)
class SheetRows:
    """The first worksheet, opened.

    Attributes:
        rows: ``(row_number, cells)`` for every row number from 1 on (missing rows come as ``[]``), as
            openpyxl's read-only ``iter_rows`` numbers them. Closing the iterator closes the file.
        dimension_rows: The last row number the sheet's ``<dimension>`` records, or ``None``.
        close: Closes the file (also done when the rows run out).
    """

    rows: Iterator[tuple[int, list[Cell]]]
    dimension_rows: int | None
    close: Callable[[], None]


def read_first_sheet(path: Path, *, declared_limit: int) -> SheetRows:
    """Open ``path`` and stream its first worksheet under the limits above.

    Raises:
        InputFileError: not an .xlsx, damaged, or over a limit (the message names it and the fix).
    """
    _check_directory(path)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError):
        raise not_xlsx(path) from None
    try:
        declared = sum(info.file_size for info in archive.infolist())
        if declared > declared_limit:
            raise _refused(
                path,
                f"解压后超过 {declared_limit // 1_048_576} MB",
                f"it unpacks to more than {declared_limit // 1_048_576} MB",
            )
        sheet = _open_sheet(archive, path)
    except BaseException:
        archive.close()
        raise
    return SheetRows(_rows(archive, sheet), sheet.handler.dimension_rows, archive.close)


@dataclass
class _OpenSheet:
    handler: _Sheet
    steps: Iterator[None]


def _open_sheet(archive: zipfile.ZipFile, path: Path) -> _OpenSheet:
    names = set(archive.namelist())
    workbook_part = "xl/workbook.xml"
    if "_rels/.rels" in names:
        package = _Relationships(path, "_rels/.rels")
        _parse(archive, path, "_rels/.rels", package, MAX_META_BYTES)
        for _, kind, target in package.targets:
            if kind.endswith("/officeDocument"):
                workbook_part = _resolve("", target)
                break
    if workbook_part not in names:
        raise not_xlsx(path)
    workbook = _Workbook(path, workbook_part)
    _parse(archive, path, workbook_part, workbook, MAX_META_BYTES)
    relations = _Relationships(path, _rels_of(workbook_part))
    if relations.member in names:
        _parse(archive, path, relations.member, relations, MAX_META_BYTES)
    by_id = {rel_id: (kind, _resolve(workbook_part, target)) for rel_id, kind, target in relations.targets}

    def first(kind_suffix: str) -> str | None:
        return next((part for kind, part in by_id.values() if kind.endswith(kind_suffix)), None)

    sheet_part = next(
        (
            by_id[rel][1]
            for rel in workbook.sheet_ids
            if rel in by_id and by_id[rel][0].endswith("/worksheet")
        ),
        None,
    )
    if sheet_part is None or sheet_part not in names:
        raise not_xlsx(path)
    dates: frozenset[int] = frozenset()
    durations: frozenset[int] = frozenset()
    styles_part = first("/styles")
    if styles_part in names:
        assert styles_part is not None
        styles = _Styles(path, styles_part)
        _parse(archive, path, styles_part, styles, MAX_META_BYTES)
        dates, durations = styles.date_styles()
    strings: list[str] = []
    strings_part = first("/sharedStrings")
    if strings_part in names:
        assert strings_part is not None
        table = _SharedStrings(path, strings_part)
        _parse(archive, path, strings_part, table, MAX_PART_BYTES)
        strings = table.strings
    epoch = CALENDAR_MAC_1904 if workbook.date1904 else CALENDAR_WINDOWS_1900
    handler = _Sheet(path, sheet_part, strings, (dates, durations), epoch)
    steps = _feed(archive, path, sheet_part, handler, MAX_PART_BYTES)
    # Read up to the rows, so the <dimension> (the row count for the progress bar) is known.
    for _ in steps:
        if handler.in_data or handler.ready:
            break
    return _OpenSheet(handler, steps)


def _rows(archive: zipfile.ZipFile, sheet: _OpenSheet) -> Iterator[tuple[int, list[Cell]]]:
    handler = sheet.handler
    expected = 1
    try:
        while True:
            for number, cells in handler.ready:
                # openpyxl's iter_rows gives a missing row as an empty one; so does this reader.
                for gap in range(expected, number):
                    yield gap, []
                expected = max(expected, number + 1)
                yield number, cells
            handler.ready.clear()
            if next(sheet.steps, StopIteration) is StopIteration:
                return
    finally:
        archive.close()


def _letters(number: int) -> str:
    letters = ""
    while number:
        number, remainder = divmod(number - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


_COLUMNS.update((_letters(number), number) for number in range(1, 703))
