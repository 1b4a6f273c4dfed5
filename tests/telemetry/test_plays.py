"""The proof-of-play log on real SQLite files: WAL, batches and their ids, retention, corruption, full disks."""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
import textwrap
import threading
from decimal import Decimal
from pathlib import Path

import pytest

from signage.core.playlist import record_hash
from signage.core.records import DebtorRecord, Person, Status
from signage.sync.telemetry.plays import (
    KEEP_CORRUPT_COPIES,
    MAX_BATCH_BYTES,
    Play,
    PlayLog,
    debtor_play,
    notice_play,
    standby_play,
)
from tests.telemetry.conftest import START, make_play, tmpfs_python


def fixed_clock() -> dt.datetime:
    return START


def open_log(path: Path) -> PlayLog:
    return PlayLog(path, clock=fixed_clock)


def stored_entry_ids(path: Path) -> list[str]:
    """The plays in the file, read with a separate connection as another program would."""
    with sqlite3.connect(path) as connection:
        return [row[0] for row in connection.execute("SELECT entry_id FROM plays ORDER BY seq")]


# --- plays -------------------------------------------------------------------------------------------


def test_the_database_is_in_wal_mode_and_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "telemetry" / "plays.db"
    with open_log(path) as log:
        log.record(make_play(1))
        # The WAL holds the commit until a checkpoint; another connection still sees it.
        assert path.with_name("plays.db-wal").exists()
        assert stored_entry_ids(path) == ["E000001"]
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with open_log(path) as log:
        assert log.counts().plays == 1


def test_a_play_reads_back_equal_and_in_the_contracts_json_form(tmp_path: Path) -> None:
    play = Play(
        "bus-0412",
        "A17",
        "ab" * 32,
        7,
        dt.datetime(2026, 11, 26, 16, 0, 0, 123456, tzinfo=dt.timezone(dt.timedelta(hours=8))),
        9_850,
    )
    with open_log(tmp_path / "plays.db") as log:
        log.record(play)
        batch = log.next_batch()
    assert batch is not None
    assert batch.plays == (play,)
    assert play.started == dt.datetime(2026, 11, 26, 8, 0, 0, 123000, tzinfo=dt.UTC)
    assert play.to_json() == {
        "screen_id": "bus-0412",
        "entry_id": "A17",
        "entry_hash": "ab" * 32,
        "playlist_version": 7,
        "started": "2026-11-26T08:00:00Z",
        "duration_ms": 9_850,
    }


def test_debtor_notice_and_standby_plays_carry_no_name(sample_record: DebtorRecord) -> None:
    debtor = debtor_play("bus-0412", sample_record, playlist_version=2, started=START, duration_ms=10_000)
    notice = notice_play("bus-0412", "n1", playlist_version=2, started=START, duration_ms=10_000)
    standby = standby_play("bus-0412", playlist_version=0, started=START, duration_ms=60_000)
    assert (debtor.entry_id, debtor.entry_hash) == (sample_record.entry_id, record_hash(sample_record))
    assert (notice.entry_id, notice.entry_hash) == ("notice:n1", "")
    assert (standby.entry_id, standby.entry_hash) == ("standby", "")
    text = repr([debtor.to_json(), notice.to_json(), standby.to_json()])
    assert "林小雨" not in text and "9999991980" not in text


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"entry_id": "林小雨"}, "entry id"),
        ({"entry_id": "3701021980****1234"}, "entry id"),
        ({"entry_hash": "林小雨"}, "record hash"),
        ({"entry_hash": ""}, "record hash"),
        ({"entry_id": "standby"}, "no record hash"),
        ({"entry_id": "notice:n1"}, "no record hash"),
        ({"screen_id": "Bus 0412"}, "screen id"),
        ({"started": dt.datetime(2026, 11, 26, 8, 0)}, "aware"),
        ({"duration_ms": -1}, "duration"),
        ({"duration_ms": 10.5}, "duration"),
        ({"playlist_version": True}, "playlist version"),
    ],
)
def test_a_play_refuses_anything_but_pseudonyms(changes: dict[str, object], reason: str) -> None:
    fields: dict[str, object] = {
        "screen_id": "bus-0412",
        "entry_id": "A1",
        "entry_hash": "0" * 64,
        "playlist_version": 1,
        "started": START,
        "duration_ms": 10_000,
    }
    fields.update(changes)
    with pytest.raises(ValueError, match=reason):
        Play(**fields)  # type: ignore[arg-type]


def test_records_from_several_threads_are_all_kept(tmp_path: Path) -> None:
    with open_log(tmp_path / "plays.db") as log:

        def worker(offset: int) -> None:
            for number in range(offset, offset + 25):
                log.record(make_play(number))

        threads = [threading.Thread(target=worker, args=(offset,)) for offset in (0, 100, 200, 300)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert log.counts().plays == 100


# --- batches -----------------------------------------------------------------------------------------


def test_a_batch_keeps_its_id_until_acknowledged_even_across_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "plays.db"
    log = open_log(path)
    for number in range(10):
        log.record(make_play(number))
    first = log.next_batch(limit=4)
    assert first is not None and len(first.plays) == 4
    # Sent, answer lost: asked again, the same batch comes back, byte for byte.
    again = log.next_batch(limit=4)
    assert again == first and again.body() == first.body()
    log.record(make_play(10))
    # A "crash": the log goes away without an acknowledgement (test_crash.py does it with SIGKILL).
    log.close()
    log = open_log(path)
    retried = log.next_batch(limit=2)
    assert retried == first, "after a restart the unacknowledged batch is retried with its id and its plays"
    assert log.counts().batches == 1

    assert log.acknowledge(first.batch_id) == 4
    second = log.next_batch(limit=4)
    assert second is not None and second.batch_id != first.batch_id
    assert [play.entry_id for play in second.plays] == ["E000004", "E000005", "E000006", "E000007"]
    assert log.acknowledge(second.batch_id) == 4
    third = log.next_batch(limit=4)
    assert third is not None and [play.entry_id for play in third.plays] == ["E000008", "E000009", "E000010"]
    assert log.acknowledge(third.batch_id) == 3
    assert log.next_batch() is None
    assert log.counts().plays == 0
    assert log.acknowledge(third.batch_id) == 0, "acknowledging twice does no harm"
    log.close()


def test_a_batch_never_mixes_screens(tmp_path: Path) -> None:
    with open_log(tmp_path / "plays.db") as log:
        log.record(make_play(1, screen_id="bus-0001"))
        log.record(make_play(2, screen_id="bus-0412"))
        log.record(make_play(3, screen_id="bus-0001"))
        batches = []
        while (batch := log.next_batch()) is not None:
            batches.append((batch.screen_id, [play.entry_id for play in batch.plays]))
            log.acknowledge(batch.batch_id)
    assert batches == [("bus-0001", ["E000001", "E000003"]), ("bus-0412", ["E000002"])]


def test_a_batch_for_one_screen_leaves_the_others_waiting(tmp_path: Path) -> None:
    with open_log(tmp_path / "plays.db") as log:
        log.record(make_play(1, screen_id="old-name"))
        log.record(make_play(2, screen_id="bus-0412"))
        stuck = log.next_batch()
        assert stuck is not None and stuck.screen_id == "old-name"
        # The hub refuses the old name's batch (403); the new name's plays still go.
        mine = log.next_batch(screen_id="bus-0412")
        assert mine is not None and [play.entry_id for play in mine.plays] == ["E000002"]
        assert log.next_batch(screen_id="bus-0412") == mine
        log.acknowledge(mine.batch_id)
        assert log.next_batch(screen_id="bus-0412") is None
        assert log.next_batch() == stuck


def test_a_batch_stays_under_the_byte_limit(tmp_path: Path) -> None:
    # The longest ids there are: 5000 such plays would make a body of about 1.6 MiB.
    path = tmp_path / "plays.db"
    open_log(path).close()
    row = ("s" * 64, "E" * 64, "f" * 64, 2**52, 1_800_000_000_000, 86_400_000)
    # Written by another connection in one transaction, to keep the test fast; record() syncs each play.
    with sqlite3.connect(path) as connection:
        connection.executemany(
            "INSERT INTO plays (screen_id, entry_id, entry_hash, playlist_version, started_ms, duration_ms) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [row] * 5000,
        )
    with open_log(tmp_path / "plays.db") as log:
        batch = log.next_batch()
        assert batch is not None
        assert len(batch.plays) < 5000
        assert MAX_BATCH_BYTES - 1024 < len(batch.body()) <= MAX_BATCH_BYTES
        assert log.counts().unbatched == 5000 - len(batch.plays)


def test_release_returns_the_plays_to_the_front(tmp_path: Path) -> None:
    with open_log(tmp_path / "plays.db") as log:
        for number in range(6):
            log.record(make_play(number))
        refused = log.next_batch()
        assert refused is not None and len(refused.plays) == 6
        assert log.release(refused.batch_id) == 6
        smaller = log.next_batch(limit=3)
        assert smaller is not None and smaller.batch_id != refused.batch_id
        assert [play.entry_id for play in smaller.plays] == ["E000000", "E000001", "E000002"]


# --- retention ---------------------------------------------------------------------------------------


def test_prune_by_age(tmp_path: Path) -> None:
    with open_log(tmp_path / "plays.db") as log:
        for number in range(10):
            log.record(make_play(number))
        # make_play spaces plays ten seconds apart from START.
        now = START + dt.timedelta(days=30, seconds=45)
        assert log.prune(now) == 5
        batch = log.next_batch()
        assert batch is not None
        assert batch.plays[0].entry_id == "E000005"


def test_prune_by_size_drops_the_oldest_even_if_batched(tmp_path: Path) -> None:
    with open_log(tmp_path / "plays.db") as log:
        for number in range(10):
            log.record(make_play(number))
        pending = log.next_batch(limit=3)
        assert pending is not None
        assert log.prune(START, max_rows=4) == 6
        assert log.counts().plays == 4
        # The whole pending batch was pruned, so it is gone and the next batch starts at the survivors.
        batch = log.next_batch()
        assert batch is not None and batch.batch_id != pending.batch_id
        assert [play.entry_id for play in batch.plays] == ["E000006", "E000007", "E000008", "E000009"]
        assert log.counts().batches == 1


def test_a_partly_pruned_batch_keeps_its_id(tmp_path: Path) -> None:
    with open_log(tmp_path / "plays.db") as log:
        for number in range(6):
            log.record(make_play(number))
        pending = log.next_batch(limit=4)
        assert pending is not None
        assert log.prune(START, max_rows=4) == 2
        rest = log.next_batch()
        assert rest is not None and rest.batch_id == pending.batch_id
        assert [play.entry_id for play in rest.plays] == ["E000002", "E000003"]


# --- damaged files -----------------------------------------------------------------------------------


def test_a_file_that_is_not_a_database_is_moved_aside(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "plays.db"
    path.write_bytes(b"\x00garbage after a bad SD card " * 500)
    with caplog.at_level(logging.WARNING, logger="signage.sync.telemetry.plays"), open_log(path) as log:
        log.record(make_play(1))
        assert log.counts().plays == 1
    assert [record.levelno for record in caplog.records] == [logging.WARNING]
    aside = tmp_path / "plays.db.corrupt-20261126T080000Z"
    assert log.moved_aside == [aside]
    assert aside.read_bytes().startswith(b"\x00garbage")
    assert stored_entry_ids(path) == ["E000001"]


def test_corruption_found_later_is_recovered_from(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "plays.db"
    with open_log(path) as log:
        for number in range(300):
            log.record(make_play(number))
    # Overwrite every page but the first: the header is fine, so opening works and reading fails.
    data = bytearray(path.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    data[page:] = b"\xa5" * (len(data) - page)
    path.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING, logger="signage.sync.telemetry.plays"), open_log(path) as log:
        assert log.next_batch() is None  # the new database is empty
        log.record(make_play(1000))
        assert log.counts().plays == 1
    assert len(log.moved_aside) == 1
    assert len(caplog.records) == 1


def test_only_the_newest_corrupt_copies_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "plays.db"
    for hour in range(4):
        path.write_bytes(b"not a database" * 100)
        moment = START + dt.timedelta(hours=hour)
        PlayLog(path, clock=lambda moment=moment: moment).close()  # type: ignore[misc]
    copies = sorted(p.name for p in tmp_path.iterdir() if ".corrupt-" in p.name)
    assert len(copies) == KEEP_CORRUPT_COPIES
    assert copies == ["plays.db.corrupt-20261126T100000Z", "plays.db.corrupt-20261126T110000Z"]


def test_a_database_from_a_newer_program_is_moved_aside_not_written(tmp_path: Path) -> None:
    path = tmp_path / "plays.db"
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA user_version = 99")
        connection.execute("CREATE TABLE future (x)")
    with open_log(path) as log:
        log.record(make_play(1))
    (aside,) = log.moved_aside
    with sqlite3.connect(aside) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == 99


# --- full and read-only disks (a real tmpfs in a private mount namespace) --------------------------

_PLAY = "Play('bus-0412', 'E%06d' % n, '%064x' % n, 1, START + dt.timedelta(seconds=10 * n), 10_000)"
_PRELUDE = f"""
import datetime as dt, os, subprocess, sys
from pathlib import Path
from signage.core.errors import DiskError
from signage.sync.telemetry.plays import Play, PlayLog
from signage.sync.telemetry.heartbeat import filesystem_read_only
START = dt.datetime(2026, 11, 26, 8, 0, tzinfo=dt.UTC)
folder = Path(sys.argv[1])
def play(n):
    return {_PLAY}
def clock():
    return START
"""


def test_a_full_disk_raises_disk_error_and_keeps_the_database(tmp_path: Path) -> None:
    script = _PRELUDE + textwrap.dedent(
        """
        log = PlayLog(folder / "plays.db", clock=clock)
        for n in range(20):
            log.record(play(n))
        # Fill the rest of the filesystem, as a runaway log or a big download would.
        filler = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT)
        try:
            while True:
                os.write(filler, b"x" * 4096)
        except OSError:
            pass
        os.close(filler)
        failures = []
        for n in range(20, 400):
            try:
                log.record(play(n))
            except DiskError as error:
                failures.append(error)
                break
        assert failures, "the disk never filled"
        print("error:", failures[0].en)
        assert log.counts().plays >= 20
        os.unlink(folder / "filler")
        log.record(play(1000))
        log.close()
        with PlayLog(folder / "plays.db", clock=clock) as again:
            ids = [p.entry_id for p in again.next_batch().plays]
        assert ids[:20] == ["E%06d" % n for n in range(20)] and ids[-1] == "E001000", ids
        assert len(ids) == len(set(ids))
        print("ok", len(ids))
        """
    )
    mount = tmp_path / "mnt"
    mount.mkdir()
    result = tmpfs_python(mount, script, str(mount), size="2m")
    assert result.returncode == 0, result.stderr
    assert "error: could not record a play: the disk is full" in result.stdout
    assert "ok" in result.stdout


def test_a_read_only_remount_raises_disk_error_and_keeps_the_database(tmp_path: Path) -> None:
    script = _PRELUDE + textwrap.dedent(
        """
        with PlayLog(folder / "plays.db", clock=clock) as log:
            for n in range(5):
                log.record(play(n))
        # What ext4 does after errors (errors=remount-ro); tmpfs only allows it with no file open for writing.
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
        assert filesystem_read_only(folder)
        before = (folder / "plays.db").read_bytes()
        try:
            PlayLog(folder / "plays.db", clock=clock)
        except DiskError as error:
            print("error:", error.en)
        else:
            raise AssertionError("opened a database on a read-only filesystem for writing")
        assert (folder / "plays.db").read_bytes() == before
        subprocess.run(["mount", "-o", "remount,rw", str(folder)], check=True)
        assert not filesystem_read_only(folder)
        with PlayLog(folder / "plays.db", clock=clock) as log:
            assert log.counts().plays == 5
            assert not log.moved_aside
        print("ok")
        """
    )
    mount = tmp_path / "mnt"
    mount.mkdir()
    result = tmpfs_python(mount, script, str(mount))
    assert result.returncode == 0, result.stderr
    assert "error: could not open the play log: the filesystem is read-only" in result.stdout
    assert "ok" in result.stdout


@pytest.fixture
def sample_record() -> DebtorRecord:
    """A fictional record (region 999999 exists nowhere)."""
    return DebtorRecord(
        entry_id="A17",
        debtor=Person("林小雨", "9999991980****1234"),
        court="青川市东湖区人民法院",
        case_number="（2025）鲁0102执1号",
        amount=Decimal("1048.67"),
        status=Status.UNFULFILLED,
        listed_on=dt.date(2026, 3, 1),
        term_ends=dt.date(2028, 3, 1),
    )
