"""Records: the fulfilment status, and what the screen re-checks before showing an entry."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest
from stdnum.cn import ric

from signage.core.display import eligible_records
from signage.core.playlist import Playlist
from signage.core.records import (
    MAX_TERM_YEARS_ON_SCREEN,
    DebtorRecord,
    Notice,
    Organisation,
    Person,
    Status,
    parse_status,
)
from signage.core.rules import RuleViolation
from signage.core.rules.idcard import MaskPolicy
from signage.operator.importer.columns import map_columns
from signage.operator.importer.rows import build_record

TODAY = dt.date(2025, 6, 15)
LISTED = dt.date(2025, 3, 1)
TERM_ENDS = dt.date(2027, 3, 1)


def make_id(birth: str, region: str = "999999", sequence: str = "123") -> str:
    """A fictional ID (region 999999 exists nowhere) with a correct check digit; ``birth`` is YYYYMMDD."""
    body = region + birth + sequence
    return body + ric.calc_check_digit(body + "0")


# --- parse_status --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("未履行", Status.UNFULFILLED),
        (" 未履行 ", Status.UNFULFILLED),
        ("未 履 行", Status.UNFULFILLED),
        ("全部未履行", Status.UNFULFILLED),
        ("unfulfilled", Status.UNFULFILLED),
        ("Unfulfilled", Status.UNFULFILLED),
        ("部分履行", Status.PARTIALLY_FULFILLED),
        ("部分未履行", Status.PARTIALLY_FULFILLED),
        ("partially fulfilled", Status.PARTIALLY_FULFILLED),
        ("Partially  Fulfilled", Status.PARTIALLY_FULFILLED),
        ("partially_fulfilled", Status.PARTIALLY_FULFILLED),
        ("PARTIALLY_FULFILLED", Status.PARTIALLY_FULFILLED),
    ],
)
def test_displayable_statuses(raw: str, status: Status) -> None:
    assert parse_status(raw) is status


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("已履行", "status.ended"),
        ("全部履行", "status.ended"),
        ("履行完毕", "status.ended"),
        ("撤销", "status.ended"),
        ("已撤销", "status.ended"),
        ("删除", "status.ended"),
        ("已删除", "status.ended"),
        ("屏蔽", "status.ended"),
        ("已 屏蔽", "status.ended"),
        ("", "status.unknown"),
        ("履行中", "status.unknown"),
        ("fulfilled", "status.unknown"),
        ("partiallyfulfilled", "status.unknown"),
        ("未履行（部分）", "status.unknown"),
    ],
)
def test_refused_statuses(raw: str, code: str) -> None:
    with pytest.raises(RuleViolation) as caught:
        parse_status(raw)
    assert caught.value.finding.code == code


def test_ended_status_says_to_take_the_entry_down() -> None:
    with pytest.raises(RuleViolation) as caught:
        parse_status("已履行")
    finding = caught.value.finding
    assert "fulfilled" in finding.en
    assert "撤回" in finding.fix_zh and "revoke" in finding.fix_en


def test_status_has_only_the_two_displayable_members() -> None:
    assert {status.value for status in Status} == {"全部未履行", "部分未履行"}  # the SPC list's own words


# --- DebtorRecord.is_displayable -----------------------------------------------------------------------


def person_record(id_masked: str = "9999991980****1237", age: int | None = None, **changes) -> DebtorRecord:
    record = DebtorRecord(
        entry_id="A1",
        debtor=Person(name="林小雨", id_masked=id_masked, age=age),
        court="青川市东湖区人民法院",
        case_number="（2025）鲁0102执1234号",
        amount=Decimal("1048.67"),
        status=Status.UNFULFILLED,
        listed_on=LISTED,
        term_ends=TERM_ENDS,
    )
    return dataclasses.replace(record, **changes)


@pytest.mark.parametrize(
    ("on", "shown"),
    [
        (LISTED - dt.timedelta(days=1), False),  # before the listing date
        (LISTED, True),
        (TODAY, True),
        (TERM_ENDS - dt.timedelta(days=1), True),
        (TERM_ENDS, False),  # the term end is exclusive
        (TERM_ENDS + dt.timedelta(days=365), False),
    ],
)
def test_term(on: dt.date, shown: bool) -> None:
    assert person_record().is_displayable(on) is shown


@pytest.mark.parametrize(
    ("id_masked", "shown"),
    [
        ("9999991980****1237", True),
        ("999999********1237", True),
        ("99999980****123", True),
        ("999999******123", True),
        (make_id("19800101"), False),  # a full number must never be shown
        ("999999198001**1237", False),
        ("9999991980***11237", False),
        ("9999991980****123x", False),
        ("", False),
    ],
)
def test_mask_is_checked_again(id_masked: str, shown: bool) -> None:
    assert person_record(id_masked).is_displayable(TODAY) is shown


@pytest.mark.parametrize(
    ("id_masked", "age", "on", "shown"),
    [
        # Born some day in 2007: possibly on 31 December 2007, so under 18 until 31 December 2025.
        ("9999992007****1237", None, dt.date(2025, 12, 30), False),
        ("9999992007****1237", None, dt.date(2025, 12, 31), True),
        ("9999992008****1237", None, TODAY, False),
        ("9999992006****1237", None, TODAY, True),
        ("99999907****123", None, TODAY, True),  # 15 digits: 1907
        # The published age is also checked.
        ("9999991980****1237", 17, TODAY, False),
        ("9999991980****1237", 18, TODAY, True),
        # The birth year hidden: only the age can tell.
        ("999999********1237", None, TODAY, True),
        ("999999********1237", 16, TODAY, False),
    ],
)
def test_minors_by_visible_year_and_age(id_masked: str, age: int | None, on: dt.date, shown: bool) -> None:
    record = person_record(id_masked, age, listed_on=dt.date(2024, 1, 1), term_ends=dt.date(2026, 12, 31))
    assert record.is_displayable(on) is shown


def test_organisations_are_judged_by_term_only() -> None:
    record = dataclasses.replace(
        person_record(),
        debtor=Organisation(name="青川市东湖建材有限公司", code="D2143569-X", legal_representative="林小雨"),
    )
    assert record.is_displayable(TODAY)
    assert not record.is_displayable(TERM_ENDS)


# --- the minors rule at import (signage.operator.importer.rows) --------------------------------------------------

HEADERS = ["姓名", "身份证号码", "执行标的", "履行情况", "执行法院", "案号", "发布日期", "年龄"]


@pytest.mark.parametrize(
    ("id_number", "listed_on", "age", "refused"),
    [
        (make_id("19800101"), "2025-03-01", "", False),
        # 18 on 2024-07-01: a minor on the listing date, an adult on the import day: refused.
        (make_id("20060701"), "2024-01-01", "", True),
        (make_id("20060701"), "2024-07-01", "", False),
        # Under 18 on the import day.
        (make_id("20070616"), "2025-06-01", "", True),
        # Masked: born in 2006, so possibly on 31 December 2006.
        ("9999992006****1237", "2024-12-30", "", True),
        ("9999992006****1237", "2024-12-31", "", False),
        # An age column below 18.
        (make_id("19800101"), "2025-03-01", "17", True),
        (make_id("19800101"), "2025-03-01", "45岁", False),
    ],
)
def test_import_refuses_a_possible_minor(id_number: str, listed_on: str, age: str, refused: bool) -> None:
    cells = [
        "林小雨",
        id_number,
        "1,048.67",
        "未履行",
        "青川市东湖区人民法院",
        "（2024）鲁0102执1号",
        listed_on,
        age,
    ]
    outcome = build_record(cells, map_columns(HEADERS), number=2, policy=MaskPolicy.SPC, today=TODAY)
    codes = [problem.finding.code for problem in outcome.problems]
    assert ("person.minor" in codes) is refused
    assert (outcome.record is None) is refused
    if outcome.record is not None:
        assert isinstance(outcome.record.debtor, Person)
        assert outcome.record.debtor.id_masked[10:14] == "****"


# --- Notice.is_displayable -----------------------------------------------------------------------------

_START = dt.datetime(2025, 6, 1, 8, 0)
_END = dt.datetime(2025, 6, 2, 8, 0)


@pytest.mark.parametrize(
    ("starts", "ends", "at", "shown"),
    [
        (None, None, _START, True),
        (_START, None, _START, True),
        (_START, None, _START - dt.timedelta(seconds=1), False),
        (None, _END, _END - dt.timedelta(seconds=1), True),
        (None, _END, _END, False),
        (_START, _END, dt.datetime(2025, 6, 1, 20, 0), True),
        (_START, _END, _END, False),
    ],
)
def test_notice_window(
    starts: dt.datetime | None, ends: dt.datetime | None, at: dt.datetime, shown: bool
) -> None:
    notice = Notice(notice_id="n1", title="通知", body="本院执行局办公时间调整", starts=starts, ends=ends)
    assert notice.is_displayable(at) is shown


# --- the screen re-checks every field it draws (issue 10, part 5) -------------------------------------------


def organisation_record(**changes) -> DebtorRecord:
    organisation = Organisation(
        name="青川市东湖建材有限公司", code="D2143569-X", legal_representative="林小雨"
    )
    record = dataclasses.replace(person_record(), debtor=organisation, court_phone="0531-12345678")
    return dataclasses.replace(record, **changes)


def with_debtor(**changes: str) -> DebtorRecord:
    record = organisation_record()
    return dataclasses.replace(record, debtor=dataclasses.replace(record.debtor, **changes))


@pytest.mark.parametrize(
    ("record", "shown"),
    [
        (organisation_record(), True),
        (with_debtor(code="91350100M000100Y43"), True),
        # Organisation code: a bidi override, a NUL, markup, a lower-case or spaced form the import never stores.
        (with_debtor(code="D2143569-X\u202e"), False),
        (with_debtor(code="D2143569\x00-X"), False),
        (with_debtor(code="<b>D2143569-X</b>"), False),
        (with_debtor(code="d2143569-x"), False),
        (with_debtor(legal_representative="林\u202e小雨"), False),
        (with_debtor(name="=HYPERLINK(1)有限公司"), False),
        # Court phone.
        (organisation_record(court_phone="0531-12345678 转 8001"), True),
        (organisation_record(court_phone="0531-1234\u202e5678"), False),
        (organisation_record(court_phone="0531\x001234"), False),
        (organisation_record(court_phone="<a href=x>0531</a>"), False),
        # Court: must name a 法院, at least four characters, no invisible characters.
        (organisation_record(court="东湖法院"), True),
        (organisation_record(court="法院"), False),
        (organisation_record(court="青川市东湖区"), False),
        (organisation_record(court="青川市\x1b[2J人民法院"), False),
        (organisation_record(case_number="（2025）鲁0102执\u202e1234号"), False),
        # Term: at most MAX_TERM_YEARS_ON_SCREEN years after listing; year 9999 is not a term.
        (organisation_record(term_ends=dt.date(2033, 3, 1)), True),
        (organisation_record(term_ends=dt.date(2033, 3, 2)), False),
        (organisation_record(term_ends=dt.date(9999, 12, 31)), False),
        (organisation_record(amount=Decimal("NaN")), False),
    ],
)
def test_every_drawn_field_is_checked_again(record: DebtorRecord, shown: bool) -> None:
    assert record.is_displayable(TODAY) is shown
    # The screen asks through eligible_records; a bad record is left out, the others stay.
    playlist = Playlist(
        channel="c",
        version=1,
        issued=dt.datetime(2025, 6, 1, tzinfo=dt.UTC),
        records=(person_record(), record),
    )
    shown_ids = [r.entry_id for r in eligible_records(playlist, frozenset(), TODAY)]
    assert shown_ids == (["A1", "A1"] if shown else ["A1"])


def test_the_term_bound_is_the_legal_maximum_with_room_to_spare() -> None:
    from signage.operator.importer.rows import MAX_TERM_YEARS

    assert MAX_TERM_YEARS_ON_SCREEN > MAX_TERM_YEARS  # never hides an entry the import accepted


def test_a_person_age_over_120_is_not_shown() -> None:
    assert not person_record(age=121).is_displayable(TODAY)
