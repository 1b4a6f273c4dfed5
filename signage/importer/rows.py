"""One spreadsheet row to one :class:`~signage.records.DebtorRecord`, or the reasons it is refused.

Every field of a row is checked, not just up to the first error, so an operator fixes a row in one go.
The full ID number exists only inside :func:`build_record`'s call to the ID rule and is never kept.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypeVar
from urllib.parse import urlsplit

from signage.importer.columns import ALIASES, ColumnMap, header_scales_to_wan
from signage.importer.tabular import MAX_CELL_CHARS, Cell
from signage.records import DebtorRecord, Organisation, Person, PhotoRef, Sex, parse_status
from signage.report import Problem, Severity
from signage.rules import Finding, RuleViolation, refuse
from signage.rules.amount import parse_amount
from signage.rules.caseno import parse_case_number
from signage.rules.dates import add_years, parse_date
from signage.rules.idcard import MaskPolicy, could_be_minor, parse_resident_id, redact_for_report
from signage.rules.orgcode import parse_org_code
from signage.rules.text import clean_org_name, clean_person_name, clean_text

#: Art. 2 of the 2017 SPC provisions: a listing lasts two years unless the court sets otherwise.
DEFAULT_TERM_YEARS = 2
#: Two years extended by at most three (same article).
MAX_TERM_YEARS = 5
_ENTRY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_PHONE = re.compile(r"[0-9()+\- 转]{5,30}")
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
    """

    record: DebtorRecord | None
    problems: list[Problem] = field(default_factory=list)
    photo_name: str | None = None


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

    def raw(self, name: str) -> Cell:
        position = self._columns.index.get(name)
        if position is None or position >= len(self._cells):
            return ""
        value = self._cells[position]
        return value.strip() if isinstance(value, str) else value

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
    cells: list[Cell], columns: ColumnMap, *, number: int, policy: MaskPolicy, today: dt.date
) -> RowOutcome:
    """Validate one row. ``number`` is its spreadsheet row number, used in every message."""
    row = _Row(cells, columns, number)
    is_org = row.is_organisation = _is_organisation(row)
    debtor: Person | Organisation | None = (
        _organisation(row) if is_org else _person(row, policy=policy, today=today)
    )
    court = row.required("court", _court)
    case_number = row.required("case_number", lambda text: parse_case_number(text, current_year=today.year))
    amount: Decimal | None = None
    if row.text("amount") == "":
        row.add(Severity.REFUSED, _missing("amount"), "amount")
    elif header_scales_to_wan(columns.headers["amount"]):
        amount = row.check("amount", _amount_in_wan)
    else:
        amount = row.check("amount", parse_amount)
    status = row.required("status", parse_status)
    listed_on = _listing_date(row, today)
    term_ends = _term_end(row, listed_on, today)
    qr_url = row.optional("qr_url", _https_url)
    court_phone = row.optional("court_phone", _phone)
    explicit_id = row.optional("entry_id", _entry_id)
    if isinstance(debtor, Person) and listed_on is not None:
        _refuse_if_minor_at(row, listed_on)
    photo_name = row.text("photo") or None
    if is_org and photo_name:
        row.add(Severity.WARNING, _org_photo(), "photo")
        photo_name = None
    if any(problem.severity is Severity.REFUSED for problem in row.problems):
        return RowOutcome(None, row.problems)
    assert debtor is not None and court is not None and case_number is not None and amount is not None
    assert status is not None and listed_on is not None and term_ends is not None
    record = DebtorRecord(
        entry_id=explicit_id or derive_entry_id(case_number, debtor),
        debtor=debtor,
        court=court,
        case_number=case_number,
        amount=amount,
        status=status,
        listed_on=listed_on,
        term_ends=term_ends,
        qr_url=qr_url,
        court_phone=court_phone,
    )
    return RowOutcome(record, row.problems, photo_name)


def with_photo(record: DebtorRecord, photo: PhotoRef) -> DebtorRecord:
    """The same record with its photo attached."""
    return DebtorRecord(**{**record.__dict__, "photo": photo})


def derive_entry_id(case_number: str, debtor: Person | Organisation) -> str:
    """A stable id for exports without an id column: the same case and debtor give the same id.

    Only the masked ID number goes into the hash. A hash over the full number would let anyone recover
    the four hidden digits by trying all 10,000 of them.
    """
    identifier = debtor.id_masked if isinstance(debtor, Person) else debtor.code
    key = "\x1f".join((unicodedata.normalize("NFC", case_number), identifier, debtor.name))
    return "e-" + hashlib.sha256(key.encode()).hexdigest()[:16]


def _is_organisation(row: _Row) -> bool:
    kind = row.text("type").lower()
    if kind in _ORG_TYPES:
        return True
    if kind in _PERSON_TYPES:
        return False
    if kind:
        row.add(Severity.REFUSED, _unknown_type(), "type")
    return bool(row.text("legal_representative") or row.text("org_code"))


def _person(row: _Row, *, policy: MaskPolicy, today: dt.date) -> Person | None:
    name = row.required("name", clean_person_name)
    parsed = None
    if _is_number_cell(row.raw("id_number")):
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


def _listing_date(row: _Row, today: dt.date) -> dt.date | None:
    if row.text("listed_on") == "":
        row.add(Severity.REFUSED, _missing("listed_on"), "listed_on")
        return None
    listed_on = row.check("listed_on", parse_date)
    if listed_on is not None and listed_on > today:
        row.add(
            Severity.REFUSED,
            Finding(
                "date.future",
                f"发布日期 {listed_on} 晚于今天",
                f"the listing date {listed_on} is after today",
                "请核对日期；尚未发布的条目请在发布当天再导入",
                "check the date; import entries on the day they are listed",
            ),
            "listed_on",
        )
        return None
    return listed_on


def _term_end(row: _Row, listed_on: dt.date | None, today: dt.date) -> dt.date | None:
    if listed_on is None:
        return None
    if row.text("term_ends") == "":
        term_ends = add_years(listed_on, DEFAULT_TERM_YEARS)
    else:
        explicit = row.check("term_ends", parse_date)
        if explicit is None:
            return None
        if not listed_on < explicit <= add_years(listed_on, MAX_TERM_YEARS):
            row.add(Severity.REFUSED, _bad_term(listed_on), "term_ends")
            return None
        term_ends = explicit
    if term_ends <= today:
        row.add(
            Severity.REFUSED, _term_over(term_ends), "term_ends" if row.text("term_ends") else "listed_on"
        )
        return None
    return term_ends


def _is_number_cell(value: Cell) -> bool:
    # Excel keeps 15 significant digits: an 18-digit ID typed into a number cell has lost its last three.
    return isinstance(value, int | float) and not isinstance(value, bool) and len(str(int(value))) > 15


def _amount_in_wan(value: Cell) -> Decimal:
    # Under a 执行标的（万元） header a bare 12.5 means 125,000 yuan; a cell that names its own unit wins.
    text = repr(value) if isinstance(value, float) else str(value).strip()
    if not text.endswith(("元", "万", "亿")):
        text += "万"
    return parse_amount(text)


def _court(text: str) -> str:
    return clean_text(text, field_zh="执行法院", field_en="the court", length=(4, 60))


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
    if not _PHONE.fullmatch(normalised):
        raise refuse(
            "court.phone",
            f"法院电话“{text}”格式不符",
            f"the court phone '{text}' is not a phone number",
            "例如 0531-12345678，或留空",
            "e.g. 0531-12345678, or leave it empty",
        )
    return normalised


def _entry_id(text: str) -> str:
    if not _ENTRY_ID.fullmatch(text):
        raise refuse(
            "entry.id",
            f"编号“{text}”格式不符：只能用字母、数字、点、下划线和连字符，最长 64 个",
            f"the entry id '{text}' may hold only letters, digits, '.', '_' and '-', at most 64",
            "请改用法院系统中的条目编号，或删除编号列由系统自动生成",
            "use the court system's entry id, or drop the column to have ids derived",
        )
    return text


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
        "身份证号码被 Excel 存成了数字，后几位已丢失",
        "Excel stored the ID number as a number, which lost its last digits",
        "把该列设为“文本”格式后重新填写号码",
        "format the column as Text and enter the numbers again",
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
