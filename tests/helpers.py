"""Shared by the tests: fictional IDs, spreadsheets written as real files, and waiting for an effect."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import re
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

from stdnum.cn import ric

#: Seconds :func:`wait_until` allows by default: a hang-guard, not a speed target. Effects that take
#: milliseconds get a thousand times that, so a test pinned to one busy CPU still passes.
WAIT_SECONDS = 15.0
#: The same in milliseconds, for qtbot's waitUntil and waitSignal.
WAIT_MS = int(WAIT_SECONDS * 1000)

#: Seconds a loaded machine may add to a timeout under test. A test of a timeout makes the misbehaving side
#: last far longer than the timeout plus this, so that ``elapsed < timeout + TIMEOUT_SLACK`` still tells "the
#: client gave up on its own bound" from "the server finished", however slow the machine.
TIMEOUT_SLACK = 5.0

T = TypeVar("T")

TODAY = dt.date(2026, 11, 26)
# Region 999999 exists nowhere, so no ID built here can be anyone's real number.
FICTIONAL_REGION = "999999"

HEADERS = ("编号", "姓名", "证件号码", "执行标的", "履行情况", "执行法院", "案号", "发布日期", "期限截止日期")


def full_id(birth: str, sequence: str = "123", region: str = FICTIONAL_REGION) -> str:
    """A fictional 18-character ID with a valid check digit; ``birth`` is YYYYMMDD."""
    body = region + birth + sequence
    return body + ric.calc_check_digit(body + "0")


def case_number_for(serial: str) -> str:
    """A case number of its own for each serial, so rows of one test are distinct entries (same shape)."""
    # Letters + digits (A1, B99999, S000001) map one to one: the letters pick the court, the digits the
    # serial. Anything else is hashed.
    match = re.fullmatch(r"([A-Za-z]{0,3})(\d{1,6})", serial)
    if match:
        court = sum(ord(char) * 31**i for i, char in enumerate(match.group(1))) % 10_000
        return f"（2025）鲁{court:04d}执{int(match.group(2)) + 1}号"
    number = int(hashlib.sha256(serial.encode()).hexdigest()[:8], 16) % 9_000_000 + 1_000
    return f"（2025）鲁0102执{number}号"


def person_row(entry_id: str = "A1", **overrides: str) -> dict[str, str]:
    """One valid person row under :data:`HEADERS`; keyword arguments replace fields by header.

    ``entry_id`` is the row's 编号 (a serial); the entry id proper is derived from case number and ID
    (:func:`entry_id_of`), and each serial gets its own case number.
    """
    row = {
        "编号": entry_id,
        "姓名": "林小雨",
        "证件号码": "3701021980****1234",
        "执行标的": "1,048.67",
        "履行情况": "未履行",
        "执行法院": "青川市东湖区人民法院",
        "案号": case_number_for(entry_id),
        "发布日期": "2026-03-01",
        "期限截止日期": "2028-03-01",
    }
    row.update(overrides)
    return row


def entry_id_of(row: Mapping[str, str]) -> str:
    """The entry id the import derives for a row built by :func:`person_row` (a person's row)."""
    from signage.core.identity import Identity, person_identifier
    from signage.core.rules.caseno import normalise_case_number

    return Identity(normalise_case_number(row["案号"]), person_identifier(row["证件号码"])).entry_id


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


def wait_until(
    condition: Callable[[], T], *, timeout: float = WAIT_SECONDS, interval: float = 0.01, what: str = ""
) -> T:
    """Poll ``condition`` until it returns something true, and return that; fail after ``timeout`` seconds.

    For waiting on the effect a test checks (a log record written by another thread, a file, a state)
    rather than on a signal that comes before it or on a fixed sleep. The sleep here is only the polling
    interval; the wait ends as soon as the effect is there.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"not within {timeout} s: {what or condition}")
        time.sleep(interval)
