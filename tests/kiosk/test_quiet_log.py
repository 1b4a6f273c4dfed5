"""The player's journal: its own lines (start, sync results, takedowns, errors), never APScheduler's routine.

The real logging setup of ``signage play`` (:func:`signage.kiosk.app.configure_logging`) and the real
scheduler (:class:`~signage.kiosk.bridge.SyncBridge`, APScheduler's QtScheduler) running real syncs of a real
screen against a hub port nobody listens on (127.0.0.1).
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import socket
from collections.abc import Iterator

import pytest

from signage.kiosk.app import QUIET_LOGGERS, configure_logging
from signage.kiosk.bridge import SyncBridge
from signage.operator.publish.repo import OperatorRepository
from signage.sync.client import ScreenSync, SyncResult
from signage.sync.config import PlayerConfig
from signage.sync.fetcher import HttpFetcher


class Keep(logging.Handler):
    """Every record that reaches the root logger's handlers."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(name="journal")
def journal_fixture() -> Iterator[tuple[io.StringIO, Keep]]:
    """The player's logging as ``signage play`` sets it up, undone afterwards."""
    root = logging.getLogger()
    level = root.level
    quiet = {name: logging.getLogger(name).level for name in QUIET_LOGGERS}
    stream = io.StringIO()
    handler = configure_logging(stream)
    keep = Keep()
    root.addHandler(keep)
    try:
        yield stream, keep
    finally:
        root.removeHandler(handler)
        root.removeHandler(keep)
        root.setLevel(level)
        for name, old in quiet.items():
            logging.getLogger(name).setLevel(old)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_scheduler_runs_jobs_but_its_routine_lines_stay_out(qtbot, tmp_path, journal):
    stream, keep = journal
    now = dt.datetime.now(dt.UTC)
    repository = OperatorRepository.init(tmp_path / "repo", now=now)
    config = PlayerConfig(
        screen_id="quiet-1",
        hub_url=f"http://127.0.0.1:{closed_port()}/",
        channel="c1",
        root=repository.metadata_dir / "1.root.json",
        cache_dir=tmp_path / "cache",
    )
    results: list[SyncResult] = []
    with HttpFetcher(connect_timeout=1, read_timeout=1, deadline=2) as fetcher:
        screen = ScreenSync(config, fetcher=fetcher, clock=lambda: dt.datetime.now(dt.UTC))
        bridge = SyncBridge(
            screen, sync_interval=dt.timedelta(seconds=1), revocation_interval=dt.timedelta(seconds=5)
        )
        bridge.synced.connect(lambda result, _snapshot: results.append(result))
        bridge.start()
        try:
            # Several scheduled runs: each one is a "Running job" and an "executed successfully" at INFO.
            qtbot.waitUntil(lambda: len(results) >= 3, timeout=60_000)
            routine = [
                r for r in keep.records if r.name.startswith("apscheduler") and r.levelno < logging.WARNING
            ]
            assert routine == []
            assert "apscheduler" not in stream.getvalue()
            # The sync results themselves are news: the hub cannot be reached, said once.
            own = [r for r in keep.records if r.name.startswith("signage")]
            assert own, [r.getMessage() for r in keep.records]
            assert own[0].getMessage() in stream.getvalue()

            # The check is not vacuous: at INFO, the same scheduler's lines do reach the handler.
            logging.getLogger("apscheduler").setLevel(logging.INFO)
            seen = len(results)
            qtbot.waitUntil(lambda: len(results) > seen, timeout=60_000)
        finally:
            bridge.stop()
    assert any(r.name.startswith("apscheduler") and r.levelno == logging.INFO for r in keep.records)
