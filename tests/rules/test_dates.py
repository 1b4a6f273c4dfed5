"""Dates as court exports write them, and the calendar arithmetic of terms and ages."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signage.core.rules import RuleViolation
from signage.core.rules.dates import add_years, parse_date

MARCH_1 = dt.date(2024, 3, 1)


def refusal_code(value: object) -> str:
    with pytest.raises(RuleViolation) as caught:
        parse_date(value)
    return caught.value.finding.code


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-03-01", MARCH_1),
        ("2024-3-1", MARCH_1),
        ("2024/03/01", MARCH_1),
        ("2024/3/1", MARCH_1),
        ("2024.03.01", MARCH_1),
        ("2024.3.1", MARCH_1),
        ("2024年3月1日", MARCH_1),
        ("2024年03月01日", MARCH_1),
        ("20240301", MARCH_1),
        ("  2024-03-01  ", MARCH_1),
        ("２０２４－０３－０１", MARCH_1),  # full-width digits and hyphens
        ("2024-03-01 00:00:00", MARCH_1),  # Excel's text form of a date cell
        ("2024-03-01 0:00", MARCH_1),
        ("2024-03-01T13:45:10.5", MARCH_1),
        ("2024/3/1 23:59", MARCH_1),
        ("2024年3月1日 08:30", MARCH_1),
        ("2024-02-29", dt.date(2024, 2, 29)),
        ("2000-02-29", dt.date(2000, 2, 29)),
        (dt.date(2024, 3, 1), MARCH_1),
        (dt.datetime(2024, 3, 1, 23, 59, 59), MARCH_1),
        (45352, MARCH_1),  # Excel serial: days since 1899-12-30
        (45352.0, MARCH_1),
        (45352.99, MARCH_1),  # the time of day is dropped
        (25_000, dt.date(1968, 6, 11)),
        (80_000, dt.date(2119, 1, 11)),
    ],
)
def test_accepted_dates(value: object, expected: dt.date) -> None:
    result = parse_date(value)
    assert result == expected
    assert type(result) is dt.date


@pytest.mark.parametrize(
    "value",
    [
        "2024-02-30",
        "2023-02-29",  # not a leap year
        "1900-02-29",  # not a leap year either
        "2024-13-01",
        "2024-00-10",
        "2024-04-31",
        "2024-03-00",
        "20241301",
        "2024年2月30日",
        "01/03/2024",  # day first: ambiguous, refused
        "03/01/2024",
        "2024-03",
        "24-03-01",
        "2024-03-01Z",
        "2024-03-01 25",
        "2024年3月1",
        "2024-03-01 下午",
        "March 1, 2024",
        "45352",  # a serial as text is not accepted
        "",
        "未知",
        24_999,  # below the plausible serial range
        80_001,
        0,
        -1,
        1.5,
        float("nan"),
        float("inf"),
        True,
        None,
    ],
)
def test_refused_dates(value: object) -> None:
    assert refusal_code(value) == "date.format"


def test_refusal_quotes_the_value_and_the_accepted_forms() -> None:
    with pytest.raises(RuleViolation) as caught:
        parse_date("2024-02-30")
    finding = caught.value.finding
    assert "2024-02-30" in finding.zh and "2024-02-30" in finding.en
    assert "2024-03-01" in finding.fix_en and "2024年3月1日" in finding.fix_zh


@pytest.mark.parametrize(
    ("day", "years", "expected"),
    [
        (dt.date(2024, 3, 1), 2, dt.date(2026, 3, 1)),
        (dt.date(2024, 2, 29), 2, dt.date(2026, 3, 1)),  # the later, safer day
        (dt.date(2024, 2, 29), 4, dt.date(2028, 2, 29)),
        (dt.date(2008, 2, 29), 18, dt.date(2026, 3, 1)),
        (dt.date(2000, 2, 29), 100, dt.date(2100, 3, 1)),  # 2100 is not a leap year
        (dt.date(2024, 12, 31), 5, dt.date(2029, 12, 31)),
        (dt.date(2024, 1, 1), 0, dt.date(2024, 1, 1)),
    ],
)
def test_add_years(day: dt.date, years: int, expected: dt.date) -> None:
    assert add_years(day, years) == expected


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2199, 12, 31)))
def test_property_every_written_form_reads_back(day: dt.date) -> None:
    written = [
        day.isoformat(),
        f"{day.year}/{day.month}/{day.day}",
        f"{day.year}.{day.month:02d}.{day.day:02d}",
        f"{day.year}年{day.month}月{day.day}日",
        day.strftime("%Y%m%d"),
        f"{day.isoformat()} 00:00:00",
    ]
    for text in written:
        assert parse_date(text) == day


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=25_000, max_value=80_000))
def test_property_excel_serials(serial: int) -> None:
    assert (parse_date(serial) - dt.date(1899, 12, 30)).days == serial


@settings(max_examples=200, deadline=None)
@given(st.dates(), st.integers(min_value=0, max_value=50))
def test_property_add_years_is_never_earlier_than_the_anniversary(day: dt.date, years: int) -> None:
    if day.year + years > dt.MAXYEAR:
        return
    later = add_years(day, years)
    assert later.year == day.year + years
    assert (later.month, later.day) == (day.month, day.day) or (later.month, later.day) == (3, 1)
