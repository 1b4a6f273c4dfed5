"""Hostile spreadsheets, built deterministically with :mod:`zipfile` for the tests and the bench.

Each builder writes a minimal but well-formed .xlsx package (content types, relationships, workbook,
first worksheet) whose one abnormal part is the bomb. Large parts are streamed into the archive in
chunks, so building a 450 MB member needs no 450 MB of memory.
"""

from __future__ import annotations

import struct
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_DOC_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
HEADER = ("编号", "姓名", "证件号码", "执行标的", "履行情况", "执行法院", "案号", "发布日期")

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    "</Types>"
)
_PACKAGE_RELS = (
    f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PKG_REL}">'
    f'<Relationship Id="rId1" Type="{_DOC_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK = (
    f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" xmlns:r="{_DOC_REL}">'
    '<sheets><sheet name="名单" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PKG_REL}">'
    f'<Relationship Id="rId1" Type="{_DOC_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{_DOC_REL}/sharedStrings" Target="sharedStrings.xml"/>'
    "</Relationships>"
)
SHEET_HEAD = f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}"><sheetData>'
SHEET_TAIL = "</sheetData></worksheet>"


def inline(text: str) -> str:
    """One inline-string cell."""
    return f'<c t="inlineStr"><is><t>{text}</t></is></c>'


def header_row() -> str:
    """Row 1: the usual header, as inline strings."""
    return '<row r="1">' + "".join(inline(text) for text in HEADER) + "</row>"


def repeated(piece: str, count: int, *, batch: int = 100_000) -> Iterator[str]:
    """``piece`` ``count`` times, in batches (a stream, never one huge string)."""
    while count > 0:
        step = min(batch, count)
        yield piece * step
        count -= step


def write_xlsx(
    path: Path,
    sheet: Iterable[str],
    *,
    shared_strings: Iterable[str] = (f'<sst xmlns="{MAIN}"/>',),
) -> Path:
    """A package around the given worksheet and shared-strings XML (each streamed piece by piece)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _PACKAGE_RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        for name, parts in (("xl/worksheets/sheet1.xml", sheet), ("xl/sharedStrings.xml", shared_strings)):
            with archive.open(name, "w", force_zip64=False) as member:
                for part in parts:
                    member.write(part.encode())
    return path


def one_row_of_cells(path: Path, cells: int = 30_000_000) -> Path:
    """Row 2 holds ``cells`` cells: 450 MB of XML in about half a megabyte."""
    sheet = [
        SHEET_HEAD,
        header_row(),
        '<row r="2">',
        *repeated("<c><v>1</v></c>", cells),
        "</row>",
        SHEET_TAIL,
    ]
    return write_xlsx(path, sheet)


def shared_strings_bomb(path: Path, strings: int = 30_000_000) -> Path:
    """A shared-strings table of ``strings`` one-character entries (openpyxl loads every one)."""
    table = [f'<sst xmlns="{MAIN}">', *repeated("<si><t>a</t></si>", strings), "</sst>"]
    sheet = [SHEET_HEAD, header_row(), '<row r="2"><c t="s"><v>0</v></c></row>', SHEET_TAIL]
    return write_xlsx(path, sheet, shared_strings=table)


def long_shared_strings(path: Path, strings: int = 300, length: int = 60_000) -> Path:
    """Few shared strings, each just under the one-text limit, together over the characters limit."""
    table = [
        f'<sst xmlns="{MAIN}">',
        *repeated(f"<si><t>{'a' * length}</t></si>", strings, batch=10),
        "</sst>",
    ]
    sheet = [SHEET_HEAD, header_row(), SHEET_TAIL]
    return write_xlsx(path, sheet, shared_strings=table)


def wide_sheet(path: Path, column: str = "XFD") -> Path:
    """A value in column ``column`` (XFD is Excel's last, 16,384) of row 2."""
    sheet = [SHEET_HEAD, header_row(), f'<row r="2"><c r="{column}2"><v>1</v></c></row>', SHEET_TAIL]
    return write_xlsx(path, sheet)


def billion_laughs(path: Path) -> Path:
    """The classic entity-expansion bomb in the worksheet: ten levels of ten, a billion "lol"s."""
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{level} "{f"&lol{level - 1};" * 10}">' for level in range(1, 10)
    ]
    sheet = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f"<!DOCTYPE worksheet [{''.join(entities)}]>",
        f'<worksheet xmlns="{MAIN}"><sheetData>',
        header_row(),
        '<row r="2"><c t="inlineStr"><is><t>&lol9;</t></is></c></row>',
        SHEET_TAIL,
    ]
    return write_xlsx(path, sheet)


def element_flood(path: Path, elements: int = 12_000_000) -> Path:
    """Row 2 holds ``elements`` tiny unknown elements: 48 MB of XML that is all tags, no data."""
    sheet = [SHEET_HEAD, header_row(), '<row r="2">', *repeated("<x/>", elements), "</row>", SHEET_TAIL]
    return write_xlsx(path, sheet)


def honest_big_sheet(path: Path, rows: int = 2_500_000) -> Path:
    """A worksheet member over the per-part limit whose sizes are all declared truthfully."""
    row = '<row><c t="inlineStr"><is><t>填充</t></is></c><c><v>1</v></c></row>'
    return write_xlsx(path, [SHEET_HEAD, header_row(), *repeated(row, rows), SHEET_TAIL])


def lying_size(path: Path, member: str = "xl/worksheets/sheet1.xml", declared: int = 1_000) -> Path:
    """``member`` of a 30-million-cell row, its uncompressed size recorded as ``declared`` bytes.

    Both records of the size are rewritten: the local file header's and the central directory's.
    """
    one_row_of_cells(path)
    data = bytearray(path.read_bytes())
    name = member.encode()
    # A local file header keeps the name length at 26 and the name at 30, the size at 22; a central
    # directory entry keeps them at 28, 46 and 24.
    _set_size(data, b"PK\x03\x04", name, (26, 30, 22), declared)
    _set_size(data, b"PK\x01\x02", name, (28, 46, 24), declared)
    path.write_bytes(bytes(data))
    return path


def _set_size(
    data: bytearray, signature: bytes, name: bytes, offsets: tuple[int, int, int], size: int
) -> None:
    name_length_at, name_at, size_at = offsets
    offset = 0
    while (offset := data.find(signature, offset)) != -1:
        length = struct.unpack_from("<H", data, offset + name_length_at)[0]
        if data[offset + name_at : offset + name_at + length] == name:
            struct.pack_into("<I", data, offset + size_at, size)
            return
        offset += len(signature)
