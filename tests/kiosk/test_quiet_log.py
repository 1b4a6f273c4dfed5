"""The screen's journal: its own lines (start, sync results, takedowns, errors), not one line per poll.

The real logging setup of ``signage play`` and ``signage sync`` (:func:`signage.sync.journal.configure_logging`)
and the real sync service (:class:`~signage.sync.service.SyncService`) running real syncs of a real screen
against a hub port nobody listens on (127.0.0.1): the outcome is logged once, not at every poll, and the
HTTP library's routine lines stay out.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import socket
import threading
from collections.abc import Iterator

import pytest

from signage.operator.publish.repo import OperatorRepository
from signage.sync.client import ScreenSync
from signage.sync.config import PlayerConfig
from signage.sync.fetcher import HttpFetcher
from signage.sync.journal import QUIET_LOGGERS, configure_logging
from signage.sync.service import SyncService
from tests.helpers import wait_until


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


def test_the_service_logs_an_outcome_once_not_at_every_poll(tmp_path, journal):
    stream, keep = journal
    now = dt.datetime.now(dt.UTC)
    repository = OperatorRepository.init(tmp_path / "repo", now=now)
    config = PlayerConfig(
        screen_id="quiet-1",
        hub_url=f"http://127.0.0.1:{closed_port()}/",
        channel="c1",
        root=repository.metadata_dir / "1.root.json",
        cache_dir=tmp_path / "cache",
        revocation_poll_seconds=1.0,
        sync_minutes=60.0,
    )
    with HttpFetcher(connect_timeout=1, read_timeout=1, deadline=2) as fetcher:
        service = SyncService(
            config,
            screen=ScreenSync(config, fetcher=fetcher, clock=lambda: dt.datetime.now(dt.UTC)),
            reporter=None,
            notify=lambda _message: False,
        )
        thread = threading.Thread(target=service.run, daemon=True)
        thread.start()
        try:
            wait_until(lambda: service.syncs >= 4, timeout=60)
        finally:
            service.stop()
            thread.join(30)
    outcomes = [r for r in keep.records if r.name == "signage.sync.service" and "offline" in r.getMessage()]
    # Four offline syncs, one line: the hub cannot be reached, said once.
    assert len(outcomes) == 1, [r.getMessage() for r in keep.records]
    assert outcomes[0].getMessage() in stream.getvalue()
    assert not [r for r in keep.records if r.name.startswith("urllib3") and r.levelno < logging.WARNING]
