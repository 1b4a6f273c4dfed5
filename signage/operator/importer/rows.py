"""One spreadsheet row to one :class:`~signage.core.records.DebtorRecord`, or the reasons it is refused.

Every field of a row is checked, not just up to the first error, so an operator fixes a row in one go.
The full ID number exists only inside :func:`build_record`'s call to the ID rule and is never kept.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypeVar
from urllib.parse import urlsplit

from signage.core.identity import identity_of
from signage.core.records import DebtorRecord, Organisation, Person, PhotoRef, Sex, Status, parse_status
from signage.core.rules import Finding, RuleViolation, refuse
from signage.core.rules.amount import parse_amount
from signage.core.rules.caseno import parse_case_number
from signage.core.rules.dates import add_years, parse_date
from signage.core.rules.idcard import MaskPolicy, could_be_minor, parse_resident_id, redact_for_report
from signage.core.rules.orgcode import has_org_code_shape, parse_org_code
from signage.core.rules.text import (
    clean_conduct,
    clean_court_name,
    clean_org_name,
    clean_person_name,
    is_court_phone,
)
from signage.operator.importer.columns import ALIASES, ColumnMap, header_scales_to_wan
from signage.operator.importer.grounds import Ground, grounds_of
from signage.operator.importer.tabular import MAX_CELL_CHARS, Cell
from signage.operator.report import Problem, Severity

#: Art. 2 of the 2017 SPC provisions: a listing on grounds (2)-(6) lasts two years.
DEFAULT_TERM_YEARS = 2
#: Two years extended by at most three (same article).
MAX_TERM_YEARS = 5
# What Excel writes into a CSV for an 18-digit number it took for a number: 3.70102E+17.
_SCIENTIFIC = re.compile(r"\d(?:\.\d+)?E\+\d{1,3}", re.IGNORECASE)
_ID_LIKE = re.compile(r"\d{6}[\d*]{8}\d{3}[\dX]|\d{8}[\d*]{4}\d{3}", re.IGNORECASE)
_MAX_URL_CHARS = 512
_PERSON_TYPES = {"个人", "自然人", "person", "individual"}
_ORG_TYPES = {"单位", "法人", "企业", "组织", "法人或其他组织", "organisation", "organization", "company"}
_SEXES = {
    "男": Sex.MALE,
    "m": Sex.MALE,
    "male": Sex.MALE,
    "女": Sex.FEMALE,
    "f": Sex.FEMALE,
    "female": Sex.FEMALE,
}

T = TypeVar("T")


@dataclass
class RowOutcome:
    """What became of one row: a record, or ``None`` with at least one refusal among the problems.

    Attributes:
        record: The accepted record, or ``None``.
        problems: Refusals and warnings, in field order.
        photo_name: The photo file name the row asks for, if any (photos are attached by the caller).
        serial: The row's 序号 as the export writes it, if any.
    """

    record: DebtorRecord | None
    problems: list[Problem] = field(default_factory=list)
    photo_name: str | None = None
    serial: str | None = None


class _Row:
    """Reads one row's cells by field name and collects problems as fields are checked."""

    def __init__(self, cells: list[Cell], columns: ColumnMap, number: int) -> None:
        self._cells = cells
        self._columns = columns
        self.number = number
        self.problems: list[Problem] = []
        # The minors check at the listing date needs the birth date; it stays on the row, never the record.
        self.youngest_birth: dt.date | None = None
        self.is_organisation = False
        serial = self.text("serial")
        self.serial = serial[:20] if serial else None

    def raw(self, name: str) -> Cell:
        position = self._columns.index.get(name)
        if position is None or position >= len(self._cells):
            return ""
        value = self._cells[position]
        return value.strip() if isinstance(value, str) else value

    def header(self, name: str) -> str:
        return self._columns.headers.get(name, "")

    def text(self, name: str) -> str:
        value = self.raw(name)
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)

    def safe_value(self, name: str) -> str:
        text = self.text(name)
        # An organisation's code is public registration data; a person's number is shown redacted only.
        if name == "id_number" and not self.is_organisation:
            return redact_for_report(text)
        return text if len(text) <= 80 else text[:77] + "..."

    def add(self, severity: Severity, finding: Finding, name: str | None) -> None:
        self.problems.append(
            Problem(
                severity=severity,
                finding=finding,
                row=self.number,
                field=name,
                column=None if name is None else self._columns.headers.get(name, name),
                value=None if name is None else self.safe_value(name),
                serial=self.serial,
            )
        )

    def check(self, name: str, rule: Callable[[Cell], T]) -> T | None:
        """Run ``rule`` on the field; record a refusal and return ``None`` if it fails."""
        value = self.raw(name)
        if isinstance(value, str) and len(value) > MAX_CELL_CHARS:
            self.add(Severity.REFUSED, _too_long(), name)
            return None
        try:
            return rule(value)
        except RuleViolation as violation:
            self.add(Severity.REFUSED, violation.finding, name)
            return None

    def required(self, name: str, rule: Callable[[str], T]) -> T | None:
        """Like :meth:`check`, for a field that must not be empty; the rule gets text."""
        if self.text(name) == "":
            self.add(Severity.REFUSED, _missing(name), name)
            return None
        return self.check(name, lambda _: rule(self.text(name)))

    def optional(self, name: str, rule: Callable[[str], T]) -> T | None:
        """Like :meth:`check`, for a field that may be empty (then ``None``)."""
        if self.text(name) == "":
            return None
        return self.check(name, lambda _: rule(self.text(name)))


def build_record(
    cells: list[Cell],
    columns: ColumnMap,
    *,
    number: int,
    policy: MaskPolicy,
    today: dt.date,
    published_on: dt.date | None = None,
) -> RowOutcome:
    """Validate one row. ``number`` is its spreadsheet row number, used in every message.

    ``published_on`` is the publication date the operator gave for rows whose own is empty; without it
    such rows are refused. The filing date (立案时间) never stands in for it.
    """
    row = _Row(cells, columns, number)
    is_org = row.is_organisation = _is_organisation(row)
    debtor: Person | Organisation | None = (
        _organisation(row) if is_org else _person(row, policy=policy, today=today)
    )
    court = row.required("court", clean_court_name)
    case_number = row.required("case_number", lambda text: parse_case_number(text, current_year=today.year))
    amount = _money(row, "amount", required=True)
    unpaid = _money(row, "unpaid", required=False)
    status = row.required("status", parse_status)
    listed_on = _listing_date(row, today, published_on)
    filed_on = _filing_date(row, listed_on)
    conduct = row.optional("conduct", clean_conduct)
    term_ends = _term_end(row, listed_on, today, grounds_of(conduct) if conduct else None)
    qr_url = row.optional("qr_url", _https_url)
    court_phone = row.optional("court_phone", _phone)
    if isinstance(debtor, Person) and listed_on is not None:
        _refuse_if_minor_at(row, listed_on)
    if amount is not None and unpaid is not None:
        _check_unpaid(row, amount, unpaid, status)
    elif status is Status.PARTIALLY_FULFILLED and unpaid is None and "unpaid" in columns.index:
        row.add(Severity.WARNING, _no_unpaid(), "unpaid")
    photo_name = row.text("photo") or None
    if is_org and photo_name:
        row.add(Severity.WARNING, _org_photo(), "photo")
        photo_name = None
    if any(problem.severity is Severity.REFUSED for problem in row.problems):
        return RowOutcome(None, row.problems, serial=row.serial)
    assert debtor is not None and court is not None and case_number is not None and amount is not None
    assert status is not None and listed_on is not None
    record = DebtorRecord(
        entry_id=identity_of(case_number, debtor).entry_id,
        debtor=debtor,
        court=court,
        case_number=case_number,
        amount=amount,
        status=status,
        listed_on=listed_on,
        term_ends=term_ends,
        qr_url=qr_url,
        court_phone=court_phone,
        unpaid=unpaid,
        filed_on=filed_on,
        conduct=conduct,
    )
    return RowOutcome(record, row.problems, photo_name, row.serial)


def with_photo(record: DebtorRecord, photo: PhotoRef) -> DebtorRecord:
    """The same record with its photo attached."""
    return DebtorRecord(**{**record.__dict__, "photo": photo})


def _is_organisation(row: _Row) -> bool:
    kind = row.text("type").lower()
    if kind in _ORG_TYPES:
        return True
    if kind in _PERSON_TYPES:
        return False
    if kind:
        row.add(Severity.REFUSED, _unknown_type(), "type")
    if row.text("legal_representative") or row.text("org_code"):
        return True
    # The SPC's one column 身份证号码/组织机构代码 holds either; its shape tells which.
    code = "".join(unicodedata.normalize("NFKC", row.text("id_number")).split()).upper()
    return not _ID_LIKE.fullmatch(code) and has_org_code_shape(code)


def _person(row: _Row, *, policy: MaskPolicy, today: dt.date) -> Person | None:
    name = row.required("name", clean_person_name)
    parsed = None
    if _is_number_cell(row.raw("id_number")) or _SCIENTIFIC.fullmatch(row.text("id_number")):
        row.add(Severity.REFUSED, _id_as_number(), "id_number")
    else:
        parsed = row.required("id_number", lambda text: parse_resident_id(text, policy=policy, today=today))
    if parsed is not None:
        for warning in parsed.warnings:
            row.add(Severity.WARNING, warning, "id_number")
        if could_be_minor(parsed.youngest_birth, today):
            row.add(Severity.REFUSED, _minor(), "id_number")
        row.youngest_birth = parsed.youngest_birth
    sex = row.optional("sex", _sex)
    age = row.optional("age", _age)
    if None in (name, parsed) or any(p.field in ("sex", "age") for p in row.problems):
        return None
    assert name is not None and parsed is not None
    return Person(name=name, id_masked=parsed.masked, sex=sex, age=age)


def _organisation(row: _Row) -> Organisation | None:
    name = row.required("name", clean_org_name)
    source = "org_code" if row.text("org_code") else "id_number"
    code = row.required(source, parse_org_code)
    if code is not None:
        for warning in code.warnings:
            row.add(Severity.WARNING, warning, source)
    representative = row.required("legal_representative", clean_person_name)
    if name is None or code is None or representative is None:
        return None
    return Organisation(name=name, code=code.code, legal_representative=representative)


def _refuse_if_minor_at(row: _Row, listed_on: dt.date) -> None:
    youngest = row.youngest_birth
    already = any(p.finding.code == "person.minor" for p in row.problems)
    if youngest is not None and not already and could_be_minor(youngest, listed_on):
        row.add(Severity.REFUSED, _minor(), "id_number")


def _listing_date(row: _Row, today: dt.date, published_on: dt.date | None) -> dt.date | None:
    if row.text("listed_on") == "":
        if published_on is None:
            row.add(Severity.REFUSED, _no_publication_date(), "listed_on")
        return published_on
    listed_on = row.check("listed_on", parse_date)
    if listed_on is not None and listed_on > today:
        row.add(
            Severity.REFUSED,
            Finding(
                "date.future",
                f"发布时间 {listed_on} 晚于今天",
                f"the publication date {listed_on} is after today",
                "请核对日期；尚未发布的条目请在发布当天再导入",
                "check the date; import entries on the day they are listed",
            ),
            "listed_on",
        )
        return None
    return listed_on


def _filing_date(row: _Row, listed_on: dt.date | None) -> dt.date | None:
    filed_on = row.optional("filed_on", parse_date)
    if filed_on is not None and listed_on is not None and filed_on > listed_on:
        row.add(
            Severity.REFUSED,
            Finding(
                "date.filed_after_listed",
                f"立案时间 {filed_on} 晚于发布时间 {listed_on}",
                f"the filing date {filed_on} is after the publication date {listed_on}",
                "请核对两列是否填反：立案时间是执行案件立案的日期，发布时间是纳入名单的日期",
                "check whether the two columns are swapped: 立案时间 is when the case was filed, 发布时间 when "
                "the debtor was listed",
            ),
            "filed_on",
        )
        return None
    return filed_on


def _term_end(
    row: _Row, listed_on: dt.date | None, today: dt.date, grounds: frozenset[Ground] | None
) -> dt.date | None:
    """The end of the listing term, following the ground (SPC provisions, Arts. 1 and 2).

    Ground (1) alone has no fixed term (``None``). Grounds (2)-(6) give two years, which the court may
    extend by one to three; the export's term-end column carries that. When the export does not say
    the ground, two years: that can only shorten how long an entry is shown.
    """
    if listed_on is None:
        return None
    explicit: dt.date | None = None
    if row.text("term_ends") != "":
        explicit = row.check("term_ends", parse_date)
        if explicit is None:
            return None
        if not listed_on < explicit <= add_years(listed_on, MAX_TERM_YEARS):
            row.add(Severity.REFUSED, _bad_term(listed_on), "term_ends")
            return None
    if explicit is not None:
        term_ends: dt.date | None = explicit
    elif grounds == frozenset({Ground.ABLE_BUT_REFUSES}):
        term_ends = None
    else:
        term_ends = add_years(listed_on, DEFAULT_TERM_YEARS)
    if term_ends is not None and term_ends <= today:
        row.add(
            Severity.REFUSED, _term_over(term_ends), "term_ends" if row.text("term_ends") else "listed_on"
        )
        return None
    return term_ends


def _money(row: _Row, name: str, *, required: bool) -> Decimal | None:
    if row.text(name) == "":
        if required:
            row.add(Severity.REFUSED, _missing(name), name)
        return None
    if header_scales_to_wan(row.header(name)):
        return row.check(name, _amount_in_wan)
    return row.check(name, parse_amount)


def _check_unpaid(row: _Row, amount: Decimal, unpaid: Decimal, status: Status | None) -> None:
    if unpaid == 0:
        row.add(Severity.REFUSED, _nothing_unpaid(), "unpaid")
    elif unpaid > amount:
        row.add(Severity.REFUSED, _unpaid_over(amount), "unpaid")
    elif status is Status.UNFULFILLED and unpaid < amount:
        row.add(Severity.WARNING, _status_vs_unpaid(), "status")


def _is_number_cell(value: Cell) -> bool:
    # Excel keeps 15 significant digits: an 18-digit ID typed into a number cell has lost its last three.
    return isinstance(value, int | float) and not isinstance(value, bool) and len(str(int(value))) > 15


def _amount_in_wan(value: Cell) -> Decimal:
    # Under a 执行标的（万元） header a bare 12.5 means 125,000 yuan; a cell that names its own unit wins.
    text = repr(value) if isinstance(value, float) else str(value).strip()
    if not text.endswith(("元", "万", "亿")):
        text += "万"
    return parse_amount(text)


def _sex(text: str) -> Sex:
    sex = _SEXES.get(text.lower())
    if sex is None:
        raise refuse(
            "person.sex",
            f"性别“{text}”无法识别",
            f"the sex '{text}' is not recognised",
            "填写“男”或“女”，或留空",
            "write 男 or 女, or leave it empty",
        )
    return sex


def _age(text: str) -> int:
    normalised = unicodedata.normalize("NFKC", text).removesuffix("岁").strip()
    if not normalised.isdigit() or not 0 <= int(normalised) <= 120:
        raise refuse(
            "person.age",
            f"年龄“{text}”无法识别",
            f"the age '{text}' is not a whole number of years",
            "填写整数岁数，或留空",
            "write a whole number of years, or leave it empty",
        )
    age = int(normalised)
    if age < 18:
        raise RuleViolation(_minor())
    return age


def _https_url(text: str) -> str:
    parts = urlsplit(text)
    if (
        len(text) > _MAX_URL_CHARS
        or parts.scheme != "https"
        or not parts.hostname
        or parts.username is not None
        or any(char.isspace() or unicodedata.category(char)[0] == "C" for char in text)
    ):
        raise refuse(
            "qr.url",
            "二维码链接必须是完整的 https:// 地址，不含空格和账号密码",
            "the QR link must be a complete https:// address without spaces or credentials",
            "例如 https://zxgk.court.gov.cn/ ；或留空",
            "for example https://zxgk.court.gov.cn/, or leave it empty",
        )
    return text


def _phone(text: str) -> str:
    normalised = unicodedata.normalize("NFKC", text)
    if not is_court_phone(normalised):
        raise refuse(
            "court.phone",
            f"法院电话“{text}”格式不符",
            f"the court phone '{text}' is not a phone number",
            "例如 0531-12345678，或留空",
            "e.g. 0531-12345678, or leave it empty",
        )
    return normalised


def _missing(name: str) -> Finding:
    header = ALIASES[name][0]
    return Finding(
        "field.missing",
        f"必填项“{header}”为空",
        f"the required field {name} is empty",
        f"请填写“{header}”",
        f"fill in {name}",
    )


def _too_long() -> Finding:
    return Finding(
        "field.too_long",
        f"单元格超过 {MAX_CELL_CHARS} 个字",
        f"the cell is longer than {MAX_CELL_CHARS} characters",
        "请检查是否把多列内容粘贴进了同一格",
        "check whether several columns were pasted into one cell",
    )


def _minor() -> Finding:
    return Finding(
        "person.minor",
        "此人在发布日期或今天可能未满 18 周岁；未成年人不得纳入失信名单（最高法规定第四条）",
        "this person could be under 18 on the listing date or today; minors may not be listed "
        "(SPC provisions, Art. 4)",
        "请删除此行，并向执行法院核实",
        "delete this row and check with the executing court",
    )


def _id_as_number() -> Finding:
    return Finding(
        "id.number_cell",
        "身份证号码被 Excel 当成了数字（例如 3.70102E+17），后几位已丢失",
        "Excel turned the ID number into a number (such as 3.70102E+17), which lost its last digits",
        "在 Excel 中把该列设为“文本”格式后重新填写号码（或在号码前加英文单引号 '），再另存为 CSV；"
        "或直接从法院系统导出 .xlsx",
        "in Excel, format the column as Text and enter the numbers again (or type an apostrophe ' before "
        "each), then save as CSV again; or export .xlsx from the court system instead",
    )


def _no_publication_date() -> Finding:
    return Finding(
        "date.no_publication",
        "发布时间为空；系统不会用立案时间或其他日期代替",
        "the publication date (发布时间) is empty; no other date, such as the filing date, is used instead",
        "请填写纳入失信名单的发布时间，或在命令中用 --published-on 年-月-日 指定本文件所有空白行的发布时间",
        "fill in the date the debtor was listed, or give it for every empty row with --published-on YYYY-MM-DD",
    )


def _nothing_unpaid() -> Finding:
    return Finding(
        "unpaid.zero",
        "未履行金额为 0：义务已全部履行，不得公布",
        "the amount still owed is 0: the obligation is fulfilled and the entry must not be published",
        "请从名单中删除此行；已在屏幕上的条目请用 signage revoke 撤回",
        "delete this row; if the entry is on screens, take it down with signage revoke",
    )


def _unpaid_over(amount: Decimal) -> Finding:
    return Finding(
        "unpaid.over_amount",
        f"未履行金额大于执行标的（{amount} 元）",
        f"the amount still owed is more than the obligation ({amount} yuan)",
        "请核对两列是否填反",
        "check whether the two columns are swapped",
    )


def _status_vs_unpaid() -> Finding:
    return Finding(
        "status.unpaid_mismatch",
        "履行情况为“全部未履行”，但未履行金额小于执行标的；屏幕显示未履行金额",
        "the status says wholly unperformed, but the amount still owed is less than the obligation; screens "
        "show the amount still owed",
        "请核对履行情况是否应为“部分未履行”",
        "check whether the status should be 部分未履行 (partly unperformed)",
    )


def _no_unpaid() -> Finding:
    return Finding(
        "unpaid.missing",
        "履行情况为“部分未履行”，但未履行金额为空；屏幕将显示全部执行标的",
        "the status is partly unperformed but the amount still owed is empty; screens show the whole obligation",
        "请填写未履行金额",
        "fill in the amount still owed (未履行金额)",
    )


def _unknown_type() -> Finding:
    return Finding(
        "type.unknown",
        "类型只能是“个人”或“单位”",
        "the type must be 个人 (person) or 单位 (organisation)",
        "填写“个人”或“单位”，或删除此列由系统根据法定代表人判断",
        "write 个人 or 单位, or drop the column to decide by the legal representative",
    )


def _org_photo() -> Finding:
    return Finding(
        "photo.organisation",
        "单位条目不显示照片，已忽略照片",
        "organisations are shown without a photo; the photo is ignored",
        "删除此行的照片名",
        "clear the photo name in this row",
    )


def _bad_term(listed_on: dt.date) -> Finding:
    return Finding(
        "term.range",
        f"期限截止日期须晚于发布日期 {listed_on}，且不超过其后 {MAX_TERM_YEARS} 年",
        f"the term end must be after the listing date {listed_on} and at most {MAX_TERM_YEARS} years later",
        "请核对截止日期；留空则按两年计算",
        "check the date; leave it empty for the default two years",
    )


def _term_over(term_ends: dt.date) -> Finding:
    return Finding(
        "term.ended",
        f"失信期限已于 {term_ends} 届满，不得再公布",
        f"the listing term ended on {term_ends}; the entry may no longer be published",
        "请从名单中删除此行",
        "delete this row",
    )
