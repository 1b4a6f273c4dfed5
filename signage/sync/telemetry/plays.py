"""Proof of play: every slide shown, in a local SQLite database, uploaded later in idempotent batches.

Durability. The database is in WAL mode with ``synchronous=FULL``. In WAL mode ``NORMAL`` syncs the WAL
only at checkpoints: a commit survives a crash of the process (kill -9), but a power cut can roll back every
play since the last checkpoint (up to a thousand pages, hours of plays). ``FULL`` syncs the WAL on every
commit, which is what "nothing is lost on a power cut, except at most the slide on screen" needs. One fsync
per slide (every ten seconds or so) is cheap. :meth:`PlayLog.record` is called when a slide *ends*, one
short transaction per play, so the one play a power cut can take is the slide that was on screen.

Batches and idempotency. :meth:`PlayLog.next_batch` assigns the oldest unbatched plays to a new batch id
(uuid4 hex) in the same transaction that stores the id, so the id is on disk before any byte is sent.
Until :meth:`PlayLog.acknowledge`, ``next_batch`` returns that batch again, with the same id and the same
plays, across restarts too. A retry (after a timeout, a 5xx, or a power cut between sending and hearing the
answer) therefore carries an id the hub may have seen, and the hub counts it once. There is at most one
unacknowledged batch per screen id at a time, and a batch never mixes screen ids (a renamed screen's
older plays go in batches of their own).

Pseudonymisation. A play names a debtor slide by its entry id and :func:`signage.core.playlist.record_hash`,
never by name or ID number: the audit trail must not become a second copy of the list. :class:`Play` refuses
anything else in those fields. Notices and standby are recorded too, so the log accounts for all of the
screen's time: entry id ``notice:<notice id>`` or ``standby``, with an empty hash.

Retention. :meth:`PlayLog.prune` deletes plays older than ``max_age`` and then the oldest beyond
``max_rows``, uploaded or not: a screen offline for months keeps the newest plays. The file is not
vacuumed (rewriting it would wear an SD card); SQLite reuses the freed pages, so its size stays at the
high-water mark that ``max_rows`` bounds.

Failures. A corrupt file (or one written by a newer schema) is moved aside as
``<name>.corrupt-<UTC time>`` with one warning in the log, and a new database is started; the two newest
such copies are kept for forensics. A full disk or a read-only filesystem raises
:class:`~signage.core.errors.DiskError` and leaves the database as it was; the next call tries again, so a disk
that recovers needs no restart.

Threads. A :class:`PlayLog` owns one connection, guarded by a lock, so calls from several threads are
serialised. Every write fsyncs, so call it from a worker thread, never from the GUI thread: the player hands
finished plays to its worker (see ``signage/kiosk/bridge.py``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import json
import logging
import os
import re
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from signage.core.fsutil import fsync_directory
from signage.core.playlist import record_hash, utc_text
from signage.core.records import DebtorRecord
from signage.sync.cache import disk_error
from signage.sync.config import ID_RE

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
#: Contract with the hub: at most this many plays per batch ...
MAX_BATCH_PLAYS = 5000
#: ... and at most this many bytes of request body.
MAX_BATCH_BYTES = 1024 * 1024
DEFAULT_MAX_AGE = dt.timedelta(days=30)
DEFAULT_MAX_ROWS = 500_000
#: How many moved-aside corrupt files are kept; a card failing again and again must not fill the disk.
KEEP_CORRUPT_COPIES = 2
#: The entry id of the standby slide.
STANDBY = "standby"
#: Notices are recorded as ``notice:<notice id>``.
NOTICE_PREFIX = "notice:"
MAX_DURATION_MS = 24 * 60 * 60 * 1000
# The WAL file is truncated back to this after a checkpoint instead of staying at its largest size.
_WAL_SIZE_LIMIT = 4 * 1024 * 1024

# Entry and notice ids as the playlist format allows them (signage/core/playlist.py).
_ENTRY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_HASH = re.compile(r"[0-9a-f]{64}")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MILLISECOND = dt.timedelta(milliseconds=1)

# SQLite primary result codes (the low byte of an extended code).
_SQLITE_PERM, _SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_NOMEM = 3, 5, 6, 7
_SQLITE_READONLY, _SQLITE_IOERR, _SQLITE_CORRUPT, _SQLITE_FULL = 8, 10, 11, 13
_SQLITE_CANTOPEN, _SQLITE_AUTH, _SQLITE_NOTADB = 14, 23, 26
_DISK_CODES = {
    _SQLITE_FULL: errno.ENOSPC,
    _SQLITE_READONLY: errno.EROFS,
    _SQLITE_PERM: errno.EACCES,
    _SQLITE_AUTH: errno.EACCES,
    _SQLITE_IOERR: errno.EIO,
    _SQLITE_CANTOPEN: errno.EIO,
    _SQLITE_BUSY: errno.EBUSY,
    _SQLITE_LOCKED: errno.EBUSY,
    _SQLITE_NOMEM: errno.ENOMEM,
    # Corrupt again right after starting a new file: the storage itself is failing.
    _SQLITE_CORRUPT: errno.EIO,
    _SQLITE_NOTADB: errno.EIO,
}
_CORRUPT_CODES = {_SQLITE_CORRUPT, _SQLITE_NOTADB}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS batches (
    seq INTEGER PRIMARY KEY,
    batch_id TEXT NOT NULL UNIQUE,
    screen_id TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS plays (
    seq INTEGER PRIMARY KEY,
    screen_id TEXT NOT NULL,
    entry_id TEXT NOT NULL,
    entry_hash TEXT NOT NULL,
    playlist_version INTEGER NOT NULL,
    started_ms INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    batch_id TEXT
);
CREATE INDEX IF NOT EXISTS plays_by_batch ON plays (batch_id, seq);
CREATE INDEX IF NOT EXISTS plays_by_start ON plays (started_ms);
"""
_PLAY_COLUMNS = "screen_id, entry_id, entry_hash, playlist_version, started_ms, duration_ms"

_T = TypeVar("_T")


def is_play_entry_id(text: str) -> bool:
    """Whether ``text`` is what a play or a heartbeat may name: an entry id, ``notice:<id>`` or ``standby``."""
    if text == STANDBY:
        return True
    if text.startswith(NOTICE_PREFIX):
        return _ENTRY_ID.fullmatch(text[len(NOTICE_PREFIX) :]) is not None
    return _ENTRY_ID.fullmatch(text) is not None


@dataclass(frozen=True)
class Play:
    """One slide shown on one screen, recorded when it ended.

    Debtor slides carry the record's entry id and :func:`~signage.core.playlist.record_hash`, nothing else about
    the person or organisation. Notices are recorded with entry id ``notice:<notice id>`` and standby with
    ``standby``, both with ``entry_hash`` ``""``; :func:`debtor_play`, :func:`notice_play` and
    :func:`standby_play` build each kind.

    Attributes:
        screen_id: The screen, as in its config.
        entry_id: The record's entry id, ``notice:<id>`` or ``standby``.
        entry_hash: The record hash (64 lower-case hex digits), or ``""`` for notices and standby.
        playlist_version: The playlist version the slide came from (0 before any playlist).
        started: When the slide appeared; aware, stored as UTC to the millisecond.
        duration_ms: How long it stood, in milliseconds (at most a day).

    Raises:
        ValueError: a field breaks these rules, e.g. a name where an entry id belongs.
    """

    screen_id: str
    entry_id: str
    entry_hash: str
    playlist_version: int
    started: dt.datetime
    duration_ms: int

    def __post_init__(self) -> None:
        problem = _play_problem(self)
        if problem:
            raise ValueError(f"not a valid play: {problem}")
        # Normalised to what the database keeps, so a play read back compares equal to the one recorded.
        started = self.started.astimezone(dt.UTC)
        object.__setattr__(self, "started", started.replace(microsecond=started.microsecond // 1000 * 1000))

    def to_json(self) -> dict[str, object]:
        """The play as the hub's contract spells it; ``started`` in whole seconds, ``...Z``."""
        return {
            "screen_id": self.screen_id,
            "entry_id": self.entry_id,
            "entry_hash": self.entry_hash,
            "playlist_version": self.playlist_version,
            "started": utc_text(self.started),
            "duration_ms": self.duration_ms,
        }


def debtor_play(
    screen_id: str, record: DebtorRecord, *, playlist_version: int, started: dt.datetime, duration_ms: int
) -> Play:
    """The play of a debtor slide: the record's entry id and hash, never its name or ID number."""
    return Play(screen_id, record.entry_id, record_hash(record), playlist_version, started, duration_ms)


def notice_play(
    screen_id: str, notice_id: str, *, playlist_version: int, started: dt.datetime, duration_ms: int
) -> Play:
    """The play of an operator notice: entry id ``notice:<notice_id>``, no hash."""
    return Play(screen_id, NOTICE_PREFIX + notice_id, "", playlist_version, started, duration_ms)


def standby_play(screen_id: str, *, playlist_version: int, started: dt.datetime, duration_ms: int) -> Play:
    """The play of the standby slide (nothing may be shown, or quiet hours): entry id ``standby``."""
    return Play(screen_id, STANDBY, "", playlist_version, started, duration_ms)


def _play_problem(play: Play) -> str | None:
    if not isinstance(play.screen_id, str) or ID_RE.fullmatch(play.screen_id) is None:
        return f"screen id {play.screen_id!r}"
    if not isinstance(play.entry_id, str) or not is_play_entry_id(play.entry_id):
        return f"entry id {play.entry_id!r} (an entry id, notice:<id> or standby)"
    debtor = play.entry_id != STANDBY and not play.entry_id.startswith(NOTICE_PREFIX)
    if debtor and (not isinstance(play.entry_hash, str) or _HASH.fullmatch(play.entry_hash) is None):
        return "a debtor slide needs the record hash: 64 lower-case hex digits"
    if not debtor and play.entry_hash != "":
        return "notices and standby have no record hash"
    if type(play.playlist_version) is not int or not 0 <= play.playlist_version < 2**53:
        return f"playlist version {play.playlist_version!r}"
    if not isinstance(play.started, dt.datetime) or play.started.utcoffset() is None:
        return "started must be an aware datetime"
    if type(play.duration_ms) is not int or not 0 <= play.duration_ms <= MAX_DURATION_MS:
        return f"duration {play.duration_ms!r} ms"
    return None


@dataclass(frozen=True)
class Batch:
    """Plays sent to the hub in one request under one idempotency key.

    Attributes:
        batch_id: The key (uuid4 hex), the same on every retry until acknowledged.
        screen_id: The screen all its plays came from.
        plays: The plays, oldest first.
    """

    batch_id: str
    screen_id: str
    plays: tuple[Play, ...]

    def body(self) -> bytes:
        """The request body; the same bytes on every retry, at most :data:`MAX_BATCH_BYTES`."""
        return _dumps(
            {
                "batch_id": self.batch_id,
                "screen_id": self.screen_id,
                "plays": [play.to_json() for play in self.plays],
            }
        )


@dataclass(frozen=True)
class PlayCounts:
    """How many plays and batches the log holds.

    Attributes:
        plays: Plays not yet acknowledged by the hub.
        unbatched: Of these, plays in no batch yet.
        batches: Batches sent or about to be sent, not yet acknowledged (0 or 1).
    """

    plays: int
    unbatched: int
    batches: int


class _Unusable(Exception):
    """The file is an SQLite database this code must not write to (a newer schema)."""


class PlayLog:
    """The screen's proof-of-play database; see the module docstring for its guarantees.

    Args:
        path: The database file; its folder is created when missing.
        clock: Returns the local time, aware; used for batch creation times and for naming moved-aside files.
        busy_timeout: Seconds to wait for another connection's lock before giving up.

    Attributes:
        path: The database file.
        moved_aside: Files this log moved aside as corrupt or unusable, in order.

    Raises:
        DiskError: the folder or the database cannot be created or written (full, read-only, no permission).
    """

    def __init__(self, path: Path, *, clock: Callable[[], dt.datetime], busy_timeout: float = 5.0) -> None:
        self.path = path
        self._clock = clock
        self._busy_timeout = busy_timeout
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None
        self.moved_aside: list[Path] = []
        self._run("open the play log", lambda _connection: None)

    def close(self) -> None:
        """Close the connection (SQLite checkpoints the WAL); a later call opens it again."""
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def __enter__(self) -> PlayLog:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # --- writing -------------------------------------------------------------------------------------

    def record(self, play: Play) -> None:
        """Store one finished play durably (its own transaction, synced before returning).

        Raises:
            DiskError: the disk is full or read-only; the plays recorded before are kept.
        """
        row = (
            play.screen_id,
            play.entry_id,
            play.entry_hash,
            play.playlist_version,
            _to_ms(play.started),
            play.duration_ms,
        )

        def work(connection: sqlite3.Connection) -> None:
            # Autocommit: the single INSERT is its own transaction, committed and synced here.
            connection.execute(f"INSERT INTO plays ({_PLAY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)", row)

        self._run("record a play", work)

    def next_batch(self, limit: int = MAX_BATCH_PLAYS, *, screen_id: str | None = None) -> Batch | None:
        """The batch to send next: the unacknowledged one again, or a new one; ``None`` when nothing waits.

        A new batch takes the oldest unbatched plays of one screen, at most ``limit`` of them and at most
        :data:`MAX_BATCH_BYTES` of body; its id is stored with it before this returns. An unacknowledged
        batch is returned as it was stored, whatever ``limit`` is now: changing it would break idempotency.

        Args:
            limit: The most plays in a new batch.
            screen_id: Only this screen's plays. The hub takes a screen's plays only with that screen's
                token, so after a screen is renamed the uploader asks for the new id's plays, and the old
                id's wait (until pruned) instead of blocking every upload behind them.

        Raises:
            ValueError: ``limit`` is not between 1 and :data:`MAX_BATCH_PLAYS`.
            DiskError: the database cannot be written.
        """
        if not 1 <= limit <= MAX_BATCH_PLAYS:
            raise ValueError(f"a batch holds 1 to {MAX_BATCH_PLAYS} plays, not {limit}")
        created_ms = _to_ms(self._clock())

        def work(connection: sqlite3.Connection) -> Batch | None:
            with _transaction(connection):
                pending = _open_batch(connection, screen_id)
                if pending is not None:
                    return pending
                return _new_batch(connection, limit, created_ms, screen_id)

        return self._run("prepare plays for upload", work)

    def acknowledge(self, batch_id: str) -> int:
        """The hub has accepted the batch: delete it and its plays. Returns how many plays were deleted.

        Raises:
            DiskError: the database cannot be written; the batch stays and is sent again (the hub then
                answers "duplicate").
        """

        def work(connection: sqlite3.Connection) -> int:
            with _transaction(connection):
                deleted = connection.execute("DELETE FROM plays WHERE batch_id = ?", (batch_id,)).rowcount
                connection.execute("DELETE FROM batches WHERE batch_id = ?", (batch_id,))
            return deleted

        return self._run("delete uploaded plays", work)

    def release(self, batch_id: str) -> int:
        """Dissolve a batch the hub refused as a whole (413): its plays are batched again, oldest first.

        Only for answers that say the hub counted nothing; a batch the hub may have counted must keep its id.
        Returns how many plays were released.

        Raises:
            DiskError: the database cannot be written.
        """

        def work(connection: sqlite3.Connection) -> int:
            with _transaction(connection):
                released = connection.execute(
                    "UPDATE plays SET batch_id = NULL WHERE batch_id = ?", (batch_id,)
                ).rowcount
                connection.execute("DELETE FROM batches WHERE batch_id = ?", (batch_id,))
            return released

        return self._run("re-batch plays", work)

    def prune(
        self,
        now: dt.datetime,
        max_age: dt.timedelta = DEFAULT_MAX_AGE,
        max_rows: int = DEFAULT_MAX_ROWS,
    ) -> int:
        """Delete plays that started before ``now - max_age``, then the oldest beyond ``max_rows``.

        Uploaded or not: retention is bounded even for a screen that never reaches the hub. A batch whose
        plays are all deleted goes too; one that loses some is sent with the rest under the same id.
        Returns how many plays were deleted.

        Raises:
            DiskError: the database cannot be written.
        """
        if max_rows < 0:
            raise ValueError("max_rows must not be negative")
        cutoff_ms = _to_ms(now - max_age)

        def work(connection: sqlite3.Connection) -> int:
            with _transaction(connection):
                deleted = connection.execute("DELETE FROM plays WHERE started_ms < ?", (cutoff_ms,)).rowcount
                (total,) = connection.execute("SELECT count(*) FROM plays").fetchone()
                if total > max_rows:
                    deleted += connection.execute(
                        "DELETE FROM plays WHERE seq <= (SELECT seq FROM plays ORDER BY seq LIMIT 1 OFFSET ?)",
                        (total - max_rows - 1,),
                    ).rowcount
                connection.execute(
                    "DELETE FROM batches WHERE NOT EXISTS "
                    "(SELECT 1 FROM plays WHERE plays.batch_id = batches.batch_id)"
                )
            return deleted

        return self._run("delete old plays", work)

    # --- reading -------------------------------------------------------------------------------------

    def counts(self) -> PlayCounts:
        """How many plays and batches wait for the hub.

        Raises:
            DiskError: the database cannot be read.
        """

        def work(connection: sqlite3.Connection) -> PlayCounts:
            (plays,) = connection.execute("SELECT count(*) FROM plays").fetchone()
            (unbatched,) = connection.execute("SELECT count(*) FROM plays WHERE batch_id IS NULL").fetchone()
            (batches,) = connection.execute("SELECT count(*) FROM batches").fetchone()
            return PlayCounts(plays=plays, unbatched=unbatched, batches=batches)

        return self._run("read the play log", work)

    # --- the connection ------------------------------------------------------------------------------

    def _run(self, doing: str, work: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run ``work`` under the lock; recover once from a corrupt file; turn disk trouble into DiskError."""
        with self._lock:
            for attempt in (1, 2):
                try:
                    return work(self._connect())
                except (sqlite3.DatabaseError, _Unusable) as error:
                    if attempt == 1 and _is_unusable(error):
                        try:
                            self._move_aside(error)
                        except OSError as move_error:
                            # Cannot even rename (a read-only filesystem): leave the file as it is.
                            raise disk_error(move_error, doing) from error
                        continue
                    converted = self._disk_error(error, doing)
                    if converted is error:
                        raise
                    raise converted from error
                except OSError as error:
                    raise disk_error(error, doing) from error
        raise AssertionError("unreachable: the second attempt returns or raises")

    def _connect(self) -> sqlite3.Connection:
        if self._connection is not None:
            return self._connection
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(
            self.path, timeout=self._busy_timeout, isolation_level=None, check_same_thread=False
        )
        try:
            (mode,) = connection.execute("PRAGMA journal_mode=WAL").fetchone()
            if str(mode).lower() != "wal":
                # Still durable with a rollback journal and FULL; only concurrent readers would wait.
                log.warning("play log %s: journal mode %s instead of WAL", self.path, mode)
            connection.execute("PRAGMA synchronous=FULL")
            connection.execute(f"PRAGMA journal_size_limit={_WAL_SIZE_LIMIT}")
            (version,) = connection.execute("PRAGMA user_version").fetchone()
            if version > SCHEMA_VERSION:
                raise _Unusable(f"schema version {version} is newer than this program's {SCHEMA_VERSION}")
            if version < SCHEMA_VERSION:
                with _transaction(connection):
                    for statement in _SCHEMA.split(";"):
                        if statement.strip():
                            connection.execute(statement)
                    connection.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except BaseException:
            connection.close()
            raise
        self._connection = connection
        return connection

    def _move_aside(self, error: BaseException) -> None:
        """Rename the unusable database (and its WAL) out of the way so that a new one can start."""
        if self._connection is not None:
            with contextlib.suppress(sqlite3.Error):
                self._connection.close()
            self._connection = None
        stamp = self._clock().astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        number = 1
        while target.exists():
            target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}.{number}")
            number += 1
        if self.path.exists():
            self.path.replace(target)
        for suffix in ("-wal", "-journal"):
            companion = self.path.with_name(self.path.name + suffix)
            if companion.exists():
                companion.replace(target.with_name(target.name + suffix))
        # The shared-memory index describes the old WAL; a stale one must not meet the new database.
        self.path.with_name(self.path.name + "-shm").unlink(missing_ok=True)
        fsync_directory(self.path.parent)
        self.moved_aside.append(target)
        self._remove_old_copies()
        log.warning(
            "play log %s is unusable (%s); moved aside to %s and started a new one; "
            "plays not yet uploaded stay in that file",
            self.path,
            error,
            target.name,
        )

    def _remove_old_copies(self) -> None:
        pattern = re.compile(re.escape(self.path.name) + r"\.corrupt-\d{8}T\d{6}Z(\.\d+)?")
        copies = sorted(
            (p for p in self.path.parent.iterdir() if pattern.fullmatch(p.name)),
            key=lambda p: (p.name.split(".corrupt-")[1].split(".")[0], _copy_number(p.name)),
        )
        for old in copies[:-KEEP_CORRUPT_COPIES]:
            for suffix in ("", "-wal", "-journal"):
                with contextlib.suppress(OSError):
                    old.with_name(old.name + suffix).unlink(missing_ok=True)

    def _disk_error(self, error: BaseException, doing: str) -> BaseException:
        """A DiskError for trouble with the disk; ``error`` itself for anything else (a bug: SQL, types)."""
        if isinstance(error, _Unusable):
            return disk_error(OSError(errno.EIO, str(error)), doing)
        code = getattr(error, "sqlite_errorcode", 0) & 0xFF
        if not isinstance(error, sqlite3.DatabaseError) or code not in _DISK_CODES:
            return error
        number = _DISK_CODES[code]
        if code in (_SQLITE_READONLY, _SQLITE_IOERR, _SQLITE_CANTOPEN):
            # READONLY also means "no permission", and IOERR also means "remounted read-only under us":
            # ask the filesystem which it is, so that the message says what to do.
            if _mounted_read_only(self.path.parent):
                number = errno.EROFS
            elif code == _SQLITE_READONLY:
                number = errno.EACCES
        return disk_error(OSError(number, str(error)), doing)


def _copy_number(name: str) -> int:
    tail = name.rsplit(".", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def _is_unusable(error: BaseException) -> bool:
    if isinstance(error, _Unusable):
        return True
    code = getattr(error, "sqlite_errorcode", 0) & 0xFF
    return code in _CORRUPT_CODES


def _mounted_read_only(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except OSError:
        return False


@contextlib.contextmanager
def _transaction(connection: sqlite3.Connection) -> Iterator[None]:
    # IMMEDIATE takes the write lock at once, so two writers never deadlock upgrading a read lock.
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                connection.execute("ROLLBACK")
        raise


def _open_batch(connection: sqlite3.Connection, only: str | None) -> Batch | None:
    for batch_id, screen_id in connection.execute(
        "SELECT batch_id, screen_id FROM batches WHERE ?1 IS NULL OR screen_id = ?1 ORDER BY seq", (only,)
    ).fetchall():
        rows = connection.execute(
            f"SELECT {_PLAY_COLUMNS} FROM plays WHERE batch_id = ? ORDER BY seq", (batch_id,)
        ).fetchall()
        if rows:
            return Batch(batch_id, screen_id, tuple(_play(row) for row in rows))
        # Every play of it was pruned: nothing left to send under this id.
        connection.execute("DELETE FROM batches WHERE batch_id = ?", (batch_id,))
    return None


def _new_batch(connection: sqlite3.Connection, limit: int, created_ms: int, only: str | None) -> Batch | None:
    first = connection.execute(
        "SELECT screen_id FROM plays WHERE batch_id IS NULL AND (?1 IS NULL OR screen_id = ?1) "
        "ORDER BY seq LIMIT 1",
        (only,),
    ).fetchone()
    if first is None:
        return None
    (screen_id,) = first
    rows = connection.execute(
        f"SELECT seq, {_PLAY_COLUMNS} FROM plays WHERE batch_id IS NULL AND screen_id = ? "
        "ORDER BY seq LIMIT ?",
        (screen_id, limit),
    ).fetchall()
    batch_id = uuid.uuid4().hex
    size = len(Batch(batch_id, screen_id, ()).body())
    plays: list[Play] = []
    last_seq = rows[0][0]
    for seq, *columns in rows:
        play = _play(columns)
        size += len(_dumps(play.to_json())) + 1  # and a comma
        if plays and size > MAX_BATCH_BYTES:
            break
        plays.append(play)
        last_seq = seq
    connection.execute(
        "INSERT INTO batches (batch_id, screen_id, created_ms) VALUES (?, ?, ?)",
        (batch_id, screen_id, created_ms),
    )
    # The rows taken are exactly the screen's unbatched plays up to last_seq, because they were read in order.
    connection.execute(
        "UPDATE plays SET batch_id = ? WHERE batch_id IS NULL AND screen_id = ? AND seq <= ?",
        (batch_id, screen_id, last_seq),
    )
    return Batch(batch_id, screen_id, tuple(plays))


def _play(row: Sequence[Any]) -> Play:
    screen_id, entry_id, entry_hash, playlist_version, started_ms, duration_ms = row
    return Play(
        screen_id, entry_id, entry_hash, playlist_version, _EPOCH + started_ms * _MILLISECOND, duration_ms
    )


def _to_ms(moment: dt.datetime) -> int:
    if moment.utcoffset() is None:
        raise ValueError("a naive datetime is not a moment; pass an aware one")
    return (moment - _EPOCH) // _MILLISECOND


def _dumps(document: object) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
