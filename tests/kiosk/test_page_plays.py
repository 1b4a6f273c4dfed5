"""Proof of play per entry (issue 13): a page of N entries on screen is N plays in the real play log.

The real player (window, render thread, rotation paging five entries a page) emits its slides; the real
Telemetry records each slide when it leaves the screen, on its writer thread, into the real SQLite PlayLog.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from signage.core.rotation import Paging, Rotation, SlideKind
from signage.kiosk.telemetry import PLAY_LOG_NAME, Telemetry
from signage.sync.config import PlayerConfig
from signage.sync.telemetry.plays import PlayLog, record_hash
from tests.kiosk.test_player import DWELL, SCREEN, VERSION, Rig, records, rig, snapshot

__all__ = ["rig"]  # the fixture, imported for this module's tests


def test_a_page_of_n_entries_is_n_plays_in_the_play_log(rig: Callable[..., Rig], tmp_path: Path) -> None:
    recs = records(12)
    built = rig(Rotation(SCREEN, paging=Paging(capacity=5, forced=5)))
    config = PlayerConfig(SCREEN, "http://127.0.0.1:9/", "c1", tmp_path / "root.json", tmp_path / "cache")
    telemetry = Telemetry(config, built.player, clock=built.clock)
    first = built.start(snapshot(recs))
    started = built.clock()
    built.clock.move(DWELL)
    second = built.step()
    built.clock.move(DWELL)
    third = built.step()  # the cycle's short last page: two entries
    built.clock.move(DWELL / 2)
    telemetry.stop()  # the page on screen ends here, and every write is finished

    pages = (first, second, third)
    assert [slide.kind for slide in pages] == [SlideKind.PAGE] * 3
    assert [len(slide.records) for slide in pages] == [5, 5, 2]
    log = PlayLog(tmp_path / "cache" / PLAY_LOG_NAME, clock=built.clock)
    try:
        batch = log.next_batch(screen_id=SCREEN)
    finally:
        log.close()
    assert batch is not None
    plays = batch.plays
    # One play per entry shown, each with its record's hash, the page's start and the page's duration.
    assert len(plays) == 12
    assert sorted(play.entry_id for play in plays) == sorted(record.entry_id for record in recs)
    by_id = {record.entry_id: record for record in recs}
    assert all(play.entry_hash == record_hash(by_id[play.entry_id]) for play in plays)
    assert all(play.playlist_version == VERSION for play in plays)
    expected = {}
    for number, slide in enumerate(pages):
        duration = DWELL / 2 if number == 2 else DWELL
        for record in slide.records:
            expected[record.entry_id] = (started + number * DWELL, int(duration.total_seconds() * 1000))
    assert {play.entry_id: (play.started, play.duration_ms) for play in plays} == expected
