"""The screen's sync service (signage/sync/service.py): its schedule, takedowns through it, its watchdog.

A real repository served on 127.0.0.1 (tests/sync/fixtures.py), a real ``ScreenSync`` and the service's
real loop on a thread; sd_notify messages are collected by the ``notify`` callable the service is given.
Only the crash and hang cases wrap the sync in a screen that raises or blocks on request.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
from collections.abc import Iterator
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from signage.sync.client import ScreenSync, SyncResult
from signage.sync.service import SyncService, backoff, next_poll, poll_spacing
from tests.helpers import WAIT_SECONDS, wait_until
from tests.sync.fixtures import (  # noqa: F401 (the *_fixture names are fixtures)
    Operator,
    Screen,
    hub_fixture,
    make_screen_fixture,
    operator_fixture,
    screen_fixture,
)


@given(st.floats(min_value=5, max_value=3600))
def test_interval_and_jitter_add_up_to_the_bound(seconds):
    interval, jitter = poll_spacing(seconds)
    assert interval + jitter == pytest.approx(seconds)
    assert 1 <= jitter <= max(1, seconds * 0.1)


@pytest.mark.parametrize("seconds", [5.0, 30.0, 600.0])
def test_checks_are_never_further_apart_than_the_bound_and_not_in_step(seconds):
    rng = random.Random(7)
    at, gaps = 0.0, []
    for _ in range(500):
        following = next_poll(at, seconds, rng)
        gaps.append(following - at)
        at = following
    assert max(gaps) <= seconds + 1e-9
    assert max(gaps) - min(gaps) > poll_spacing(seconds)[1] / 2  # a fleet that started together drifts apart


def test_backoff_grows_and_stops_at_the_interval():
    assert [backoff(n, 30.0) for n in (1, 2, 3, 4, 5)] == [5.0, 10.0, 20.0, 30.0, 30.0]


class Notes:
    """The sd_notify messages the service sent, in order."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, message: str) -> bool:
        with self._lock:
            self.messages.append(message)
        return True

    def count(self, text: str) -> int:
        with self._lock:
            return sum(text in message for message in self.messages)


class Unreliable:
    """A screen whose sync raises while ``crash`` is set and blocks while ``hang`` is clear."""

    def __init__(self, inner: ScreenSync) -> None:
        self.inner = inner
        self.cache = inner.cache
        self.crash = 0
        self.hang = threading.Event()
        self.hang.set()

    def sync_once(self, *, full: bool = True) -> SyncResult:
        self.hang.wait()
        if self.crash:
            self.crash -= 1
            raise RuntimeError("a bug in the sync")
        return self.inner.sync_once(full=full)


@pytest.fixture
def running(screen: Screen) -> Iterator[tuple[SyncService, Notes, Unreliable, threading.Thread]]:
    config = replace(screen.sync._config, revocation_poll_seconds=1.0, sync_minutes=60.0)
    notes = Notes()
    unreliable = Unreliable(screen.sync)
    service = SyncService(
        config,
        screen=unreliable,  # type: ignore[arg-type]
        reporter=None,
        progress=lambda: screen.fetcher.bytes_received,
        watchdog=dt.timedelta(seconds=0.4),
        notify=notes,
        rng=random.Random(3),
    )
    thread = threading.Thread(target=service.run, daemon=True)
    thread.start()
    yield service, notes, unreliable, thread
    unreliable.hang.set()
    service.stop()
    thread.join(WAIT_SECONDS)


def test_a_takedown_reaches_the_cache_within_a_poll_and_stop_is_clean(
    running, operator: Operator, screen: Screen
):
    service, notes, _unreliable, thread = running
    assert wait_until(lambda: notes.count("READY=1") == 1 and service.syncs >= 2)
    assert screen.shown() == ["A1", "A2"]
    operator.revoke("A1")
    # Within the poll bound (1 s here) plus one sync: the cache pointer no longer allows A1.
    assert wait_until(lambda: screen.shown() == ["A2"])
    assert wait_until(lambda: notes.count("STATUS=updated") >= 1)
    service.stop()
    thread.join(WAIT_SECONDS)
    assert not thread.is_alive()
    assert notes.messages[-1] == "STOPPING=1"


def test_a_crashing_sync_is_logged_and_retried_and_the_watchdog_keeps_pinging(running, caplog):
    service, notes, unreliable, _thread = running
    assert wait_until(lambda: service.syncs >= 1)
    unreliable.crash = 2
    before = service.syncs
    assert wait_until(lambda: unreliable.crash == 0 and service.syncs > before + 2, timeout=30)
    assert "sync crashed" in caplog.text
    assert service.last is not None and service.last.ok
    pings = notes.count("WATCHDOG=1")
    assert wait_until(lambda: notes.count("WATCHDOG=1") > pings)


def test_a_hung_sync_stops_the_watchdog_pings_until_it_moves_again(running, caplog):
    service, notes, unreliable, _thread = running
    assert wait_until(lambda: notes.count("WATCHDOG=1") >= 2)
    unreliable.hang.clear()
    syncs = service.syncs
    # The loop is stuck inside a sync: after at most one more ping (it was alive a moment ago), none.
    assert wait_until(lambda: "has not moved" in caplog.text)
    pings = notes.count("WATCHDOG=1")
    # An absence takes time to show: three more half-timeouts (0.2 s each) pass without a ping.
    with pytest.raises(AssertionError):
        wait_until(lambda: notes.count("WATCHDOG=1") > pings, timeout=1.5)
    assert service.syncs == syncs
    unreliable.hang.set()
    assert wait_until(lambda: notes.count("WATCHDOG=1") > pings)
