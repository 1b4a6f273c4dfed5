"""Builders shared by the tests: fictional IDs and spreadsheets written as real files."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path

from stdnum.cn import ric

TODAY = dt.date(2026, 11, 26)
# Region 999999 exists nowhere, so no ID built here can be anyone's real number.
FICTIONAL_REGION = "999999"

HEADERS = ("编号", "姓名", "证件号码", "执行标的", "履行情况", "执行法院", "案号", "发布日期", "期限截止日期")


def full_id(birth: str, sequence: str = "123", region: str = FICTIONAL_REGION) -> str:
    """A fictional 18-character ID with a valid check digit; ``birth`` is YYYYMMDD."""
    body = region + birth + sequence
    return body + ric.calc_check_digit(body + "0")


def person_row(entry_id: str = "A1", **overrides: str) -> dict[str, str]:
    """One valid person row under :data:`HEADERS`; keyword arguments replace fields by header."""
    row = {
        "编号": entry_id,
        "姓名": "林小雨",
        "证件号码": "3701021980****1234",
        "执行标的": "1,048.67",
        "履行情况": "未履行",
        "执行法院": "青川市东湖区人民法院",
        "案号": "（2025）鲁0102执1234号",
        "发布日期": "2026-03-01",
        "期限截止日期": "2028-03-01",
    }
    row.update(overrides)
    return row


def write_csv(
    path: Path,
    rows: Sequence[Mapping[str, str]],
    *,
    encoding: str = "utf-8-sig",
    headers: Sequence[str] = HEADERS,
) -> Path:
    """Write ``rows`` as a CSV file the way Excel would, in ``encoding``."""
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(headers)
        for row in rows:
            writer.writerow([row.get(header, "") for header in headers])
    return path
