"""Dates as court exports write them: ISO, slashes, 年月日, compact digits, or Excel cells."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from signage.core.rules import refuse

_PATTERNS = (
    re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})"),
    re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})"),
    re.compile(r"(\d{4})\.(\d{1,2})\.(\d{1,2})"),
    re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日"),
    re.compile(r"(\d{4})(\d{2})(\d{2})"),
)
# Excel stores dates as days since 1899-12-30; a cell formatted as a number shows that serial.
_EXCEL_EPOCH = dt.date(1899, 12, 30)
_EXCEL_SERIAL_RANGE = (25_000, 80_000)  # 1968 to 2119: any plausible listing date
# A time of day after the date (Excel's "2024-03-01 00:00:00") is accepted and dropped.
_TIME_SUFFIX = re.compile(r"[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$")


def parse_date(value: object) -> dt.date:
    """Read a date from a CSV string or an openpyxl cell value.

    Raises:
        RuleViolation: the value is not one of the accepted shapes or not a real calendar date.
    """
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if _EXCEL_SERIAL_RANGE[0] <= value <= _EXCEL_SERIAL_RANGE[1]:
            return _EXCEL_EPOCH + dt.timedelta(days=int(value))
        raise _bad_date(str(value))
    text = unicodedata.normalize("NFKC", str(value)).strip()
    text = _TIME_SUFFIX.sub("", text)
    for pattern in _PATTERNS:
        match = pattern.fullmatch(text)
        if match:
            year, month, day = (int(part) for part in match.groups())
            try:
                return dt.date(year, month, day)
            except ValueError:
                raise _bad_date(text) from None
    raise _bad_date(text)


def add_years(day: dt.date, years: int) -> dt.date:
    """The same calendar day ``years`` later; 29 February becomes 1 March (the later, safer day)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return dt.date(day.year + years, 3, 1)


def _bad_date(text: str) -> Exception:
    return refuse(
        "date.format",
        f"日期“{text}”无法识别",
        f"the date '{text}' is not a recognised date",
        "请写成 2024-03-01 或 2024年3月1日 的形式，并确认是真实存在的日期",
        "write it as 2024-03-01 or 2024年3月1日, and check that the day exists",
    )
