"""The painter learns of a new verified set from the cache folder alone (signage/kiosk/watcher.py).

A real repository on 127.0.0.1 and a real ``ScreenSync`` (the sync service's side) write the cache; the
painter's real :class:`CacheWatcher` (QFileSystemWatcher and its worker thread) reads it. Nothing here
passes the painter a snapshot by hand.
"""

from __future__ import annotations

import datetime as dt

from signage.kiosk.watcher import CacheWatcher
from signage.sync.cache import ContentCache
from signage.sync.snapshot import ContentSnapshot, SnapshotReader
from tests.helpers import WAIT_SECONDS
from tests.sync.conftest import fault_server  # noqa: F401 (a fixture)
from tests.sync.fixtures import (  # noqa: F401 (the *_fixture names are fixtures)
    Operator,
    Screen,
    hub_fixture,
    make_screen_fixture,
    operator_fixture,
    screen_fixture,
    serial,
)

TIMEOUT_MS = int(WAIT_SECONDS * 1000)


def shown(snapshot: ContentSnapshot, at: dt.datetime) -> list[str]:
    return [serial(record.entry_id) for record in snapshot.display_set(at).records]


def test_a_takedown_written_by_the_sync_reaches_the_painter_through_the_folder(
    qtbot, operator: Operator, screen: Screen
):
    seen: list[ContentSnapshot] = []
    checked: list[int] = []
    reader = SnapshotReader(ContentCache(screen.cache_dir), "c1", screen.clock)
    # The slow poll is off (an hour): only the folder watch can deliver the change.
    watcher = CacheWatcher(reader, after_read=lambda s: checked.append(s.playlist.version), poll_ms=3_600_000)
    watcher.changed.connect(seen.append)
    watcher.start()
    try:
        qtbot.waitUntil(lambda: len(seen) == 1, timeout=TIMEOUT_MS)
        assert shown(seen[0], screen.clock()) == ["A1", "A2"]
        qtbot.waitUntil(lambda: checked == [1], timeout=TIMEOUT_MS)  # the font check ran off the GUI thread

        operator.revoke("A1")
        assert screen.poll(full=False).ok
        qtbot.waitUntil(lambda: len(seen) == 2, timeout=TIMEOUT_MS)
        assert shown(seen[1], screen.clock()) == ["A2"]
        # Same playlist: decoded once, and today's filtering was not redone from scratch for it.
        assert seen[1].playlist is seen[0].playlist

        # The painter's own files in the folder wake the watcher but are not a new set.
        (screen.cache_dir / "painter-state.json").write_text("{}")
        watcher.check()
        qtbot.wait(300)
        assert len(seen) == 2
    finally:
        watcher.stop()


def test_a_painter_started_before_the_first_sync_finds_the_set_by_polling(qtbot, make_screen, tmp_path):
    cache_dir = tmp_path / "not-yet"
    seen: list[ContentSnapshot] = []
    screen = make_screen(cache_dir=cache_dir)
    watcher = CacheWatcher(SnapshotReader(ContentCache(cache_dir), "c1", screen.clock), poll_ms=100)
    watcher.changed.connect(seen.append)
    watcher.start()
    try:
        qtbot.waitUntil(lambda: len(seen) == 1, timeout=TIMEOUT_MS)
        assert seen[0].playlist is None  # no folder yet: nothing to show, standby
        assert screen.poll().ok
        qtbot.waitUntil(lambda: len(seen) == 2, timeout=TIMEOUT_MS)
        assert shown(seen[1], screen.clock()) == ["A1", "A2"]
    finally:
        watcher.stop()
