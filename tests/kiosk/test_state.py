"""The player's state writes on a worker thread (signage/kiosk/state.py): the rotation never waits on the
disk, the disk only holds states the rotation passed through, and a cut at any write resumes the cycle
exactly where a saved decision left it: no restart, no skip.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
from pathlib import Path

import pytest

from signage.core.coverage import sample_records
from signage.core.display import DisplaySet
from signage.core.records import Notice
from signage.core.rotation import ORDER_FILE, POSITION_FILE, DirectoryStore, Paging, Rotation, StateStore
from signage.kiosk.state import BackgroundStore
from tests.helpers import WAIT_SECONDS
from tests.test_coverage import MIDNIGHT, _display


class Disk:
    """An inner store like the cache folder, whose writes wait for permits and are each remembered.

    Every state the disk passes through is kept with the number of decisions made when it was reached.
    """

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.states: list[tuple[int, dict[str, bytes]]] = []
        self.permits = threading.Semaphore(0)
        self.decisions = 0
        self.writer: str | None = None

    def load(self, name: str) -> bytes | None:
        return self.files.get(name)

    def save(self, name: str, data: bytes) -> None:
        assert self.permits.acquire(timeout=WAIT_SECONDS), "the test never let this write through"
        self.writer = threading.current_thread().name
        self.files[name] = data
        self.states.append((self.decisions, dict(self.files)))


class Memory:
    """A store holding one remembered disk state, for a rotation built after a cut."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = dict(files)

    def load(self, name: str) -> bytes | None:
        return self.files.get(name)

    def save(self, name: str, data: bytes) -> None:
        self.files[name] = data


def _rotation(store: StateStore | None) -> Rotation:
    return Rotation("screen-1", notice_every=3, paging=Paging(capacity=4, forced=4), store=store)


def _schedule() -> list[tuple[dt.datetime, DisplaySet]]:
    recs = sample_records(37)
    notices = (Notice("n1", "通知", "正文"),)
    schedule = []
    for number in range(120):
        now = MIDNIGHT + number * dt.timedelta(hours=1)
        day = MIDNIGHT + dt.timedelta(days=(now - MIDNIGHT).days)
        present = recs if number < 50 else recs[:30] + sample_records(45)[37:]  # removals and joiners
        schedule.append((now, _display(present, day, notices)))
    return schedule


def test_a_cut_at_any_write_resumes_at_a_saved_decision() -> None:
    schedule = _schedule()
    memory = _rotation(None)
    expected = [memory.next_slide(shown, now).key for now, shown in schedule]

    disk = Disk()
    store = BackgroundStore(disk)
    rotation = _rotation(store)
    chance = random.Random(13)
    saves = 0
    for number, (now, shown) in enumerate(schedule):
        assert rotation.next_slide(shown, now).key == expected[number]
        disk.decisions = number + 1
        saves += 1
        # The disk is slow at random: none, one or several writes get through between decisions.
        for _ in range(chance.choice((0, 0, 1, 3))):
            disk.permits.release()
    for _ in range(len(schedule) * 3):
        disk.permits.release()
    assert store.flush(WAIT_SECONDS)
    store.close()
    assert disk.writer is not None and disk.writer.startswith("state")
    assert store.written < 2 * saves  # coalesced: fewer writes than saves (each decision saves once or twice)

    resumed_at = 0
    for decisions, files in disk.states:
        # A rotation built from this disk continues the original sequence from a decision no earlier than
        # the previous state's (no restart) and no later than the ones made (no skip).
        for start in range(resumed_at, decisions + 1):
            restored = _rotation(Memory(files))
            window = schedule[start : start + 6]
            if [restored.next_slide(shown, now).key for now, shown in window] == expected[start : start + 6]:
                resumed_at = start
                break
        else:
            pytest.fail(f"the state after {decisions} decisions resumes at none of {resumed_at}..{decisions}")
    assert resumed_at == len(schedule)  # everything was written in the end


def test_saves_return_while_the_disk_is_stuck() -> None:
    disk = Disk()
    store = BackgroundStore(disk)
    rotation = _rotation(store)
    schedule = _schedule()[:10]
    for now, shown in schedule:
        rotation.next_slide(shown, now)
    # Nothing was written (the first write waits for a permit), yet every decision was made and the
    # newest state is what the store reads back.
    assert disk.states == []
    assert store.load(POSITION_FILE) is not None and store.load(ORDER_FILE) is not None
    for _ in range(40):
        disk.permits.release()
    assert store.flush(WAIT_SECONDS)
    store.close()
    # The first write was under way when the rest queued up: they were coalesced into few writes.
    assert 1 <= store.written <= 4
    assert _rotation(Memory(disk.files)).position == rotation.position


def test_files_are_atomic_and_a_failing_disk_only_logs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = BackgroundStore(DirectoryStore(tmp_path / "cache"))
    store.save(POSITION_FILE, b"{}")
    assert store.flush(WAIT_SECONDS)
    assert (tmp_path / "cache" / POSITION_FILE).read_bytes() == b"{}"
    assert not list((tmp_path / "cache").glob(".*.tmp"))  # temp file renamed over the target
    blocked = tmp_path / "file"
    blocked.write_text("a file where the folder should be")
    failing = BackgroundStore(DirectoryStore(blocked))
    with caplog.at_level(logging.ERROR, logger="signage.kiosk.state"):
        failing.save(POSITION_FILE, b"{}")
        failing.save(ORDER_FILE, b"{}")
        assert failing.flush(WAIT_SECONDS)
    assert failing.written == 0 and len(caplog.records) == 1  # logged once, never raised
    failing.close()
    store.close()
    store.save(ORDER_FILE, b"[]")  # after close: written by the caller
    assert (tmp_path / "cache" / ORDER_FILE).read_bytes() == b"[]"
