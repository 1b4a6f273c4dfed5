"""Header mapping: the Chinese and English column names court exports use, to our field names.

Unknown columns are ignored with a warning and never displayed: the record has no field to carry them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from signage.core.errors import InputFileError

# Field name -> accepted headers, most specific first. When two headers of one field are both present,
# the earlier alias wins. The SPC's own publication headers (the zxgk.court.gov.cn list) come first.
ALIASES: dict[str, tuple[str, ...]] = {
    # 序号 numbers the rows of an export; messages and preview files carry it so a clerk finds the row.
    # It is not an identity: the entry id comes from case number and identifier (signage.core.identity).
    "serial": ("序号", "编号", "条目编号", "serial", "entry_id", "entryid"),
    "type": ("类型", "主体类型", "被执行人类型", "type"),
    "name": (
        "被执行人姓名/名称",
        "姓名",
        "名称",
        "被执行人姓名",
        "被执行人名称",
        "被执行人",
        "姓名/名称",
        "name",
    ),
    # The SPC list has one column for both: a person's ID number or an organisation's code.
    "id_number": (
        "身份证号码/组织机构代码",
        "身份证号码",
        "证件号码",
        "身份证号",
        "证件号码/组织机构代码",
        "身份证号码/统一社会信用代码",
        "证件号码/统一社会信用代码",
        "id_number",
        "idnumber",
    ),
    "org_code": ("统一社会信用代码", "组织机构代码", "uscc", "org_code", "orgcode"),
    "legal_representative": (
        "法定代表人或者负责人姓名",
        "法定代表人",
        "法定代表人或负责人",
        "法定代表人姓名",
        "legal_representative",
    ),
    "sex": ("性别", "sex"),
    "age": ("年龄", "age"),
    "amount": ("执行标的", "执行标的金额", "标的金额", "amount"),
    "unpaid": ("未履行金额", "未履行标的", "未履行标的金额", "unpaid"),
    "status": ("被执行人的履行情况", "履行情况", "status"),
    "conduct": (
        "失信被执行人行为具体情形",
        "失信行为具体情形",
        "失信被执行人具体情形",
        "失信情形",
        "具体情形",
        "conduct",
    ),
    "court": ("执行法院", "执行法院名称", "court"),
    "court_phone": ("执行法院电话", "法院电话", "court_phone"),
    "case_number": ("执行案号", "案号", "case_number", "caseno"),
    # 发布时间 is when the court listed the debtor. 立案时间 is when the case was filed: its own field,
    # never a stand-in for the publication date.
    "listed_on": ("发布时间", "发布日期", "listing_date", "listed_on"),
    "filed_on": ("立案时间", "立案日期", "filed_on"),
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
#: The columns of the SPC's published list (zxgk.court.gov.cn) as court systems export them, in order: what
#: the example export and the tests write, and what the import maps without a single warning.
SPC_PUBLICATION_HEADERS = (
    "序号",
    "被执行人姓名/名称",
    "身份证号码/组织机构代码",
    "法定代表人或者负责人姓名",
    "执行法院",
    "执行依据文号",
    "执行案号",
    "立案时间",
    "发布时间",
    "被执行人的履行情况",
    "失信被执行人行为具体情形",
    "执行标的（元）",
    "未履行金额（元）",
)
# Headers of the SPC list that are recognised but deliberately not carried to screens: naming them
# "unknown" would send a clerk looking for a mistake that is not there.
RECOGNISED_NOT_SHOWN = (
    "执行依据文号",
    "做出执行依据单位",
    "作出执行依据单位",
    "生效法律文书确定的义务",
    "省份",
    "地域名称",
    "发布单位",
)
#: The header row is looked for among this many non-empty rows: exports put a title above it.
HEADER_SEARCH_ROWS = 10
REQUIRED = ("name", "amount", "status", "court", "case_number")
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
_NOT_SHOWN = {normalise_header(header) for header in RECOGNISED_NOT_SHOWN}
_RANK = {normalise_header(alias): rank for aliases in ALIASES.values() for rank, alias in enumerate(aliases)}


@dataclass(frozen=True)
class ColumnMap:
    """Where each field is in a row, and which headers were ignored.

    Attributes:
        index: Field name -> column index.
        headers: Field name -> the header as written, for messages.
        ignored: Headers that map to no field, as written.
        not_shown: SPC headers that are recognised but not carried, as written.
        shadowed: ``(used, ignored)`` header pairs where two columns meant the same field.
    """

    index: dict[str, int]
    headers: dict[str, str]
    ignored: tuple[str, ...]
    shadowed: tuple[tuple[str, str], ...]
    not_shown: tuple[str, ...] = ()


def recognised_fields(headers: list[str]) -> int:
    """How many distinct fields a row of cells would map to if it were the header row."""
    return len({_LOOKUP[key] for key in map(normalise_header, headers) if key in _LOOKUP})


def map_columns(headers: list[str]) -> ColumnMap:
    """Map a header row to fields.

    Raises:
        InputFileError: a required column is missing, or neither an ID number nor an organisation code
            column exists. The message lists the headers that would be accepted.
    """
    index: dict[str, int] = {}
    written: dict[str, str] = {}
    ignored: list[str] = []
    not_shown: list[str] = []
    shadowed: list[tuple[str, str]] = []
    for position, header in enumerate(headers):
        key = normalise_header(header)
        field = _LOOKUP.get(key)
        if field is None:
            if key in _NOT_SHOWN:
                not_shown.append(header)
            elif header:
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
            f"缺少必需的列：{wanted_zh}。请检查表头（在前 {HEADER_SEARCH_ROWS} 行中查找）的列名是否写错",
            f"required columns are missing: {wanted_en}. Check that the header row (looked for in the first "
            f"{HEADER_SEARCH_ROWS} rows) is spelt as shown",
        )
    return ColumnMap(index, written, tuple(ignored), tuple(shadowed), tuple(not_shown))
