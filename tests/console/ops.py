"""Shared parts of the console-operations tests: a real repository with a published export, the hub
configured on it with a fixed clock, operators in their roles, and the command line run in-process."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from signage.cli import main
from signage.operator.hub.context import HubContext, configure
from signage.operator.publish.channel import ChannelSettings, publish_channel
from signage.operator.publish.repo import OperatorRepository
from tests.helpers import HEADERS, person_row, write_csv

CHANNEL = "jinan-station"
#: The repository's creation and the first publish.
PUBLISHED = dt.datetime(2026, 11, 26, 2, 0, tzinfo=dt.UTC)
#: The hub's clock during a test: 12:00 China time, the same day.
NOW = dt.datetime(2026, 11, 26, 4, 0, tzinfo=dt.UTC)
PASSWORD = "示例-correct-horse-battery"

#: Three fictional debtors (示例); case numbers written with full-width brackets, as exports do.
ROWS = [
    person_row("S1", 姓名="示例林小雨", 证件号码="9999991980****1234", 案号="（2025）鲁0102执1001号"),
    person_row("S2", 姓名="示例张三", 证件号码="9999991975****5678", 案号="（2025）鲁0102执1002号"),
    person_row("S3", 姓名="示例王五", 证件号码="9999991990****4321", 案号="（2025）鲁0102执1003号"),
]


def run_cli(*argv: str, stdin: str = "") -> tuple[int, str, str]:
    """``signage ARGV`` in this process, with ``stdin`` as standard input."""
    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        status = main(list(argv), stdout=out, stderr=err)
    finally:
        sys.stdin = saved
    return status, out.getvalue(), err.getvalue()


def publish_rows(repo: OperatorRepository, folder: Path, rows: list[dict[str, str]], now: dt.datetime) -> int:
    """Publish ``rows`` as a CSV export, as ``signage publish`` does; returns the new version."""
    source = write_csv(folder / f"export-{now:%H%M%S}.csv", rows, headers=HEADERS)
    result = publish_channel(
        repo, CHANNEL, source, photos=None, now=now, settings=ChannelSettings(sample=True)
    )
    assert result.version is not None, result.report.problems
    return result.version


class Clock:
    """The hub's clock, moved by the test."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def hub(tmp_path: Path, clock: Clock, db: Any) -> Iterator[OperatorRepository]:
    """An initialised repository with the three rows published as version 1, and the hub configured on it."""
    repo = OperatorRepository.init(tmp_path / "DIR", now=PUBLISHED)
    publish_rows(repo, tmp_path, ROWS, PUBLISHED)
    configure(HubContext(repo_dir=repo.directory, clock=clock))
    yield repo


@pytest.fixture
def make_user(db: Any) -> Callable[..., Any]:
    """``make_user(name, role)``: an operator in the role's group, with :data:`PASSWORD`."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    def make(name: str, role: str) -> Any:
        user = get_user_model().objects.create_user(name, password=PASSWORD)
        user.is_staff = user.is_superuser = role == "admin"
        user.save()
        user.groups.add(Group.objects.get(name=role))
        return user

    return make


@pytest.fixture
def login(make_user: Callable[..., Any]) -> Callable[[str, str], Any]:
    """``login(name, role)``: a Django test client signed in as a new operator in ``role``."""

    def sign_in(name: str, role: str) -> Any:
        from django.test import Client

        browser = Client()
        browser.force_login(make_user(name, role))
        return browser

    return sign_in


def add_screen(screen_id: str, name: str, location: str) -> None:
    """Register a screen as ``signage screens add`` does (a token hash only)."""
    from signage.operator.hub.screens import records

    records.add_screen(
        screen_id,
        hashlib.sha256(screen_id.encode()).hexdigest(),
        added_at=PUBLISHED,
        name=name,
        location=location,
    )


def heartbeat(screen_id: str, at: dt.datetime, **fields: Any) -> None:
    """Store a heartbeat as the ingest does once it has checked one."""
    from signage.operator.hub.screens import records

    body: dict[str, Any] = {
        "screen_id": screen_id,
        "channel": CHANNEL,
        "playlist_version": 1,
        "revocations_version": 1,
        "verified_until": (at + dt.timedelta(days=1)).isoformat(),
        "last_sync": {"state": "unchanged", "message": "没有新内容"},
        "clock_offset_s": 0.2,
        "sent_at": at.isoformat(),
        **fields,
    }
    records.record_heartbeat(screen_id, body, at)
