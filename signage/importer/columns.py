"""Header mapping: the Chinese and English column names court exports use, to our field names.

Unknown columns are ignored with a warning and never displayed: the record has no field to carry them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from signage.errors import InputFileError

# Field name -> accepted headers, most specific first. When two headers of one field are both present,
# the earlier alias wins (发布日期 is the listing date proper; 立案日期 is what older exports carry).
ALIASES: dict[str, tuple[str, ...]] = {
    "entry_id": ("编号", "条目编号", "entry_id", "entryid"),
    "type": ("类型", "主体类型", "被执行人类型", "type"),
    "name": (
        "姓名",
        "名称",
        "被执行人姓名/名称",
        "被执行人姓名",
        "被执行人名称",
        "被执行人",
        "姓名/名称",
        "name",
    ),
    "id_number": ("身份证号码", "证件号码", "身份证号", "id_number", "idnumber"),
    "org_code": ("统一社会信用代码", "组织机构代码", "uscc", "org_code", "orgcode"),
    "legal_representative": (
        "法定代表人",
        "法定代表人或负责人",
        "法定代表人或者负责人姓名",
        "法定代表人姓名",
        "legal_representative",
    ),
    "sex": ("性别", "sex"),
    "age": ("年龄", "age"),
    "amount": ("执行标的", "执行标的金额", "标的金额", "amount"),
    "status": ("履行情况", "被执行人的履行情况", "status"),
    "court": ("执行法院", "court"),
    "court_phone": ("执行法院电话", "法院电话", "court_phone"),
    "case_number": ("案号", "执行案号", "case_number", "caseno"),
    "listed_on": ("发布日期", "发布时间", "立案日期", "立案时间", "listing_date", "listed_on"),
    "term_ends": (
        "期限截止日期",
        "失信期限截止日期",
        "截止日期",
        "listing_term_end",
        "term_end",
        "term_ends",
    ),
    "photo": ("照片", "照片文件", "photo"),
    "qr_url": ("二维码链接", "查询链接", "qr_url"),
}
REQUIRED = ("name", "amount", "status", "court", "case_number", "listed_on")
# One of these identifies the debtor; which one depends on whether it is a person or an organisation.
IDENTIFIERS = ("id_number", "org_code")

_UNIT_SUFFIX = re.compile(r"\((元|人民币|万元|rmb|yuan)\)$")


def normalise_header(header: str) -> str:
    """Compare headers loosely: full-width to ASCII, no spaces, lower case, no trailing unit."""
    text = "".join(unicodedata.normalize("NFKC", header).split()).lower()
    return _UNIT_SUFFIX.sub("", text)


def header_scales_to_wan(header: str) -> bool:
    """True for a header such as 执行标的（万元）: its bare numbers are in units of 10,000 yuan."""
    match = _UNIT_SUFFIX.search("".join(unicodedata.normalize("NFKC", header).split()).lower())
    return match is not None and match.group(1) == "万元"


_LOOKUP = {normalise_header(alias): field for field, aliases in ALIASES.items() for alias in aliases}
_RANK = {normalise_header(alias): rank for aliases in ALIASES.values() for rank, alias in enumerate(aliases)}


@dataclass(frozen=True)
class ColumnMap:
    """Where each field is in a row, and which headers were ignored.

    Attributes:
        index: Field name -> column index.
        headers: Field name -> the header as written, for messages.
        ignored: Headers that map to no field, as written.
        shadowed: ``(used, ignored)`` header pairs where two columns meant the same field.
    """

    index: dict[str, int]
    headers: dict[str, str]
    ignored: tuple[str, ...]
    shadowed: tuple[tuple[str, str], ...]


def map_columns(headers: list[str]) -> ColumnMap:
    """Map a header row to fields.

    Raises:
        InputFileError: a required column is missing, or neither an ID number nor an organisation code
            column exists. The message lists the headers that would be accepted.
    """
    index: dict[str, int] = {}
    written: dict[str, str] = {}
    ignored: list[str] = []
    shadowed: list[tuple[str, str]] = []
    for position, header in enumerate(headers):
        key = normalise_header(header)
        field = _LOOKUP.get(key)
        if field is None:
            if header:
                ignored.append(header)
            continue
        if field in index:
            current = normalise_header(written[field])
            if _RANK[key] < _RANK[current]:
                shadowed.append((header, written[field]))
                index[field], written[field] = position, header
            else:
                shadowed.append((written[field], header))
            continue
        index[field], written[field] = position, header
    missing = [field for field in REQUIRED if field not in index]
    if not any(field in index for field in IDENTIFIERS):
        missing.append("id_number")
    if missing:
        wanted_zh = "；".join(
            f"{ALIASES[field][0]}（或 {'、'.join(ALIASES[field][1:3])}）" for field in missing
        )
        wanted_en = "; ".join(
            f"{field} (header {ALIASES[field][0]} or {ALIASES[field][-1]})" for field in missing
        )
        raise InputFileError(
            f"缺少必需的列：{wanted_zh}。请检查表头是否在第一行、列名是否写错",
            f"required columns are missing: {wanted_en}. Check that the header is the first row and spelt "
            "as shown",
        )
    return ColumnMap(index, written, tuple(ignored), tuple(shadowed))
