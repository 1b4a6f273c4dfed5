"""Where the hub keeps telemetry: screens and their tokens, proof-of-play batches, the latest heartbeats.

One small interface, :class:`TelemetryStore`, with two implementations of the same schema:

- :class:`SqliteStore` (the default, ``DIR/telemetry.sqlite``): WAL, so readers never wait for the
  writer; ``busy_timeout``, so writers queue briefly instead of failing; ``synchronous=FULL``, because a
  batch the hub has answered 200 for is deleted by the screen, so it must survive a power cut.
  Migrations are numbered by ``PRAGMA user_version``.
- :class:`PostgresStore` (psycopg 3) for a large fleet, chosen by ``telemetry_store`` in ``DIR/hub.toml``
  (:func:`load_settings`, :func:`open_store`; see ``docs/fleet.md``). Migrations are numbered in a
  one-row table, under an advisory lock so that two hubs starting together do not race.

Both hold a few connections in a small pool; every call borrows one for one short transaction, so the
waitress worker that called is back serving within milliseconds. Idempotency lives in the database: a
batch is a row keyed by ``(screen_id, batch_id)`` inserted in the same transaction as its plays, so a
retried or concurrently duplicated batch is counted once whatever the timing.

Tokens are 32 random bytes (:func:`new_token`) and only their SHA-256 is stored (:func:`hash_token`).
A slow password hash (bcrypt, scrypt) exists to make guessing a *low-entropy* secret expensive; a
256-bit random token cannot be guessed at any speed, so a plain hash is enough and keeps every request
cheap. A copy of the database therefore lets nobody post as a screen.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
import sqlite3
import threading
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Generic, NamedTuple, Protocol, TypeVar

from signage.errors import ConfigError, NetworkError, UsageError
from signage.playlist import CHINA_STANDARD_TIME

#: The hub's own settings file, next to ``repo.json``; never served.
SETTINGS_FILE: Final = "hub.toml"
#: The default store, next to ``public/`` (never inside it: it holds token hashes).
SQLITE_FILE: Final = "telemetry.sqlite"
#: Random bytes in a token; ``secrets.token_urlsafe`` turns them into 43 URL-safe characters.
TOKEN_BYTES: Final = 32
#: Connections kept open per store; the telemetry app runs at most this many requests at once anyway.
DEFAULT_POOL_SIZE: Final = 4
#: How long a SQLite writer waits for another one before the request is answered 503.
DEFAULT_BUSY_TIMEOUT_S: Final = 2.0
#: PostgreSQL: the longest one statement may run, and the longest a connection attempt may take.
POSTGRES_STATEMENT_TIMEOUT_MS: Final = 5000
POSTGRES_CONNECT_TIMEOUT_S: Final = 5

_SETTINGS_KEYS: Final = {"telemetry_store": str, "fleet_page_public": bool}
_POSTGRES_SCHEMES: Final = ("postgresql://", "postgres://")


class StoreUnavailable(NetworkError):
    """The telemetry database is busy, unreachable or cannot be written; try again later."""


@dataclass(frozen=True)
class Play:
    """One slide shown on one screen (proof of play), as validated by the ingest.

    Attributes:
        screen_id: The screen that showed it.
        entry_id: A debtor entry id, ``notice:<id>`` or ``standby``.
        entry_hash: :func:`signage.playlist.record_hash` of the entry; empty for notices and standby.
        playlist_version: The playlist the slide came from.
        started: When it appeared, timezone-aware.
        duration_ms: How long it stayed.
    """

    screen_id: str
    entry_id: str
    entry_hash: str
    playlist_version: int
    started: dt.datetime
    duration_ms: int

    @property
    def day(self) -> dt.date:
        """The China Standard Time (UTC+8) date the play started on: the day exposure is counted for."""
        return china_day(self.started)


class BatchResult(NamedTuple):
    """What :meth:`TelemetryStore.record_batch` did.

    Attributes:
        accepted: Plays the hub holds for this batch (for a duplicate: from the first time it arrived).
        duplicate: The batch had arrived before; nothing was counted again.
    """

    accepted: int
    duplicate: bool


@dataclass(frozen=True)
class ScreenRecord:
    """A registered screen."""

    screen_id: str
    added_at: dt.datetime


@dataclass(frozen=True)
class StoredHeartbeat:
    """The latest heartbeat of one screen, as the ingest validated it, and when the hub received it."""

    screen_id: str
    received_at: dt.datetime
    heartbeat: Mapping[str, Any]


@dataclass(frozen=True)
class ExposureRow:
    """Exposure (曝光量) of one entry on one screen on one China-local day.

    Attributes:
        entry_id: The entry (``notice:<id>`` and ``standby`` included).
        screen_id: The screen.
        day: The date in China Standard Time.
        plays: How many times it was shown.
        milliseconds: How long it was on screen in total.
    """

    entry_id: str
    screen_id: str
    day: dt.date
    plays: int
    milliseconds: int

    @property
    def seconds(self) -> float:
        """Total time on screen in seconds."""
        return self.milliseconds / 1000


class TelemetryStore(Protocol):
    """What the hub needs from a telemetry database. Every method is safe to call from any thread.

    Every method may raise :class:`StoreUnavailable` when the database is busy or unreachable.
    """

    def add_screen(
        self, screen_id: str, token_hash: str, *, added_at: dt.datetime, replace: bool = False
    ) -> None:
        """Register ``screen_id`` with the hash of its token.

        Raises:
            UsageError: the screen exists and ``replace`` is false.
        """

    def remove_screen(self, screen_id: str) -> bool:
        """Forget a screen's token and heartbeat (its plays stay, for reports); False if unknown."""

    def screens(self) -> list[ScreenRecord]:
        """Every registered screen, by id."""

    def check_token(self, token_hash: str) -> str | None:
        """The screen a token (given by its hash) belongs to, or None."""

    def record_batch(
        self, screen_id: str, batch_id: str, plays: Sequence[Play], *, received_at: dt.datetime
    ) -> BatchResult:
        """Store a batch of plays once: a batch id seen before for this screen counts nothing again."""

    def record_heartbeat(
        self, screen_id: str, heartbeat: Mapping[str, Any], received_at: dt.datetime
    ) -> None:
        """Keep ``heartbeat`` as the screen's latest."""

    def latest_heartbeats(self) -> list[StoredHeartbeat]:
        """The latest heartbeat of every registered screen that has sent one, by screen id."""

    def exposure(self, day_from: dt.date, day_to: dt.date) -> list[ExposureRow]:
        """Plays and time per entry, screen and China-local day, ``day_from`` to ``day_to`` inclusive.

        Ordered by day, screen, entry.
        """

    def close(self) -> None:
        """Close the pooled connections."""


@dataclass(frozen=True)
class TelemetrySettings:
    """The hub's settings that concern telemetry, from ``DIR/hub.toml``.

    Attributes:
        sqlite_path: The default store, ``DIR/telemetry.sqlite``.
        postgres_dsn: A ``postgresql://`` URI; when set, it replaces SQLite.
        fleet_page_public: Serve ``/fleet`` to every client, not only to the hub's own machine.
    """

    sqlite_path: Path
    postgres_dsn: str | None = None
    fleet_page_public: bool = False


def new_token() -> str:
    """A new screen token: 32 random bytes, URL-safe base64 (43 characters)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    """The SHA-256 (hex) under which a token is stored and looked up."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def china_day(moment: dt.datetime) -> dt.date:
    """The date of ``moment`` (timezone-aware) in China Standard Time, UTC+8 all year."""
    return (moment.astimezone(dt.UTC) + CHINA_STANDARD_TIME).date()


def load_settings(repo_dir: Path) -> TelemetrySettings:
    """Read ``DIR/hub.toml`` (optional) into :class:`TelemetrySettings`.

    Raises:
        ConfigError: the file is not TOML, has an unknown key, or a value of the wrong kind.
    """
    settings_file = repo_dir / SETTINGS_FILE
    default = TelemetrySettings(sqlite_path=repo_dir / SQLITE_FILE)
    try:
        text = settings_file.read_text(encoding="utf-8")
    except FileNotFoundError:
        return default
    except (OSError, UnicodeError) as error:
        raise ConfigError(
            f"无法读取 {settings_file}：{error}", f"cannot read {settings_file}: {error}"
        ) from error
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(
            f"{settings_file} 不是有效的 TOML：{error}", f"{settings_file} is not valid TOML: {error}"
        ) from error
    for key, value in document.items():
        kind = _SETTINGS_KEYS.get(key)
        if kind is None:
            known = ", ".join(sorted(_SETTINGS_KEYS))
            raise ConfigError(
                f"{settings_file} 中的设置项“{key}”无法识别；可用的设置项：{known}",
                f"{settings_file}: unknown key '{key}'; the keys are: {known}",
            )
        if type(value) is not kind:
            raise ConfigError(
                f"{settings_file} 中“{key}”的值类型错误，应为 {kind.__name__}",
                f"{settings_file}: '{key}' must be a {kind.__name__}",
            )
    dsn = document.get("telemetry_store")
    if dsn is not None and not dsn.startswith(_POSTGRES_SCHEMES):
        raise ConfigError(
            f"{settings_file} 中的 telemetry_store 必须是 postgresql:// 开头的连接地址；不设置则使用 SQLite",
            f"{settings_file}: telemetry_store must be a postgresql:// URI; leave it out to use SQLite",
        )
    return TelemetrySettings(
        sqlite_path=default.sqlite_path,
        postgres_dsn=dsn,
        fleet_page_public=bool(document.get("fleet_page_public", False)),
    )


def open_store(settings: TelemetrySettings) -> TelemetryStore:
    """The store ``settings`` name: PostgreSQL when ``postgres_dsn`` is set, else SQLite.

    Raises:
        StoreUnavailable: the database cannot be opened or reached.
        ConfigError: the database holds a newer schema than this version of signage knows.
    """
    if settings.postgres_dsn is not None:
        return PostgresStore(settings.postgres_dsn)
    return SqliteStore(settings.sqlite_path)


# --- the pool -----------------------------------------------------------------------------------------

_Connection = TypeVar("_Connection")


class _Pool(Generic[_Connection]):
    """Up to ``size`` idle connections kept for reuse; more are opened on demand and closed after use.

    A connection whose use raised is closed, not reused: it may be in a failed state.
    """

    def __init__(
        self, connect: Callable[[], _Connection], close: Callable[[_Connection], None], size: int
    ) -> None:
        self._connect = connect
        self._close = close
        self._size = size
        self._idle: list[_Connection] = []
        self._lock = threading.Lock()
        self._closed = False

    @contextlib.contextmanager
    def connection(self) -> Iterator[_Connection]:
        """Borrow a connection for the duration of the ``with`` block."""
        with self._lock:
            connection = self._idle.pop() if self._idle else None
        if connection is None:
            connection = self._connect()
        reusable = False
        try:
            yield connection
            reusable = True
        finally:
            with self._lock:
                keep = reusable and not self._closed and len(self._idle) < self._size
                if keep:
                    self._idle.append(connection)
            if not keep:
                self._close(connection)

    def close(self) -> None:
        """Close the idle connections; connections in use are closed when given back."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for connection in idle:
            self._close(connection)


# --- SQLite -------------------------------------------------------------------------------------------

_SQLITE_MIGRATIONS: Final = (
    # 1: the first schema. Text times are ISO 8601 in UTC, days are YYYY-MM-DD in China Standard Time.
    """
    CREATE TABLE screens (
        screen_id TEXT PRIMARY KEY,
        token_hash TEXT NOT NULL UNIQUE,
        added_at TEXT NOT NULL
    );
    CREATE TABLE batches (
        screen_id TEXT NOT NULL,
        batch_id TEXT NOT NULL,
        received_at TEXT NOT NULL,
        plays INTEGER NOT NULL,
        PRIMARY KEY (screen_id, batch_id)
    );
    CREATE TABLE plays (
        screen_id TEXT NOT NULL,
        batch_id TEXT NOT NULL,
        entry_id TEXT NOT NULL,
        entry_hash TEXT NOT NULL,
        playlist_version INTEGER NOT NULL,
        started TEXT NOT NULL,
        day TEXT NOT NULL,
        duration_ms INTEGER NOT NULL,
        FOREIGN KEY (screen_id, batch_id) REFERENCES batches (screen_id, batch_id)
    );
    CREATE INDEX plays_by_day ON plays (day, screen_id, entry_id);
    CREATE TABLE heartbeats (
        screen_id TEXT PRIMARY KEY,
        received_at TEXT NOT NULL,
        body TEXT NOT NULL
    );
    """,
)


class SqliteStore:
    """:class:`TelemetryStore` in one SQLite file (WAL), created with mode 0600 if missing.

    Args:
        path: The database file; its folder must exist.
        busy_timeout: Seconds a writer waits for another before :class:`StoreUnavailable`.
        pool_size: Idle connections kept open.

    Raises:
        StoreUnavailable: the file cannot be opened or written.
        ConfigError: the file holds a newer schema than this version knows.
    """

    def __init__(
        self,
        path: Path,
        *,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT_S,
        pool_size: int = DEFAULT_POOL_SIZE,
    ) -> None:
        self.path = path
        self._busy_timeout = busy_timeout
        try:
            # The file holds token hashes: readable by the hub's user only, -wal and -shm inherit it.
            os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600))
        except OSError as error:
            raise _unavailable(str(path), error) from error
        self._pool: _Pool[sqlite3.Connection] = _Pool(self._connect, _close_sqlite, pool_size)
        with self._use() as connection:
            self._migrate(connection)

    def add_screen(
        self, screen_id: str, token_hash: str, *, added_at: dt.datetime, replace: bool = False
    ) -> None:
        """See :meth:`TelemetryStore.add_screen`."""
        with self._write() as connection:
            exists = connection.execute("SELECT 1 FROM screens WHERE screen_id = ?", (screen_id,)).fetchone()
            if exists and not replace:
                raise _screen_exists(screen_id)
            connection.execute(
                "INSERT INTO screens (screen_id, token_hash, added_at) VALUES (?, ?, ?) "
                "ON CONFLICT (screen_id) DO UPDATE SET token_hash = excluded.token_hash, "
                "added_at = excluded.added_at",
                (screen_id, token_hash, _utc_text(added_at)),
            )

    def remove_screen(self, screen_id: str) -> bool:
        """See :meth:`TelemetryStore.remove_screen`."""
        with self._write() as connection:
            removed = connection.execute("DELETE FROM screens WHERE screen_id = ?", (screen_id,)).rowcount
            connection.execute("DELETE FROM heartbeats WHERE screen_id = ?", (screen_id,))
        return removed > 0

    def screens(self) -> list[ScreenRecord]:
        """See :meth:`TelemetryStore.screens`."""
        with self._use() as connection:
            rows = connection.execute("SELECT screen_id, added_at FROM screens ORDER BY screen_id").fetchall()
        return [ScreenRecord(screen_id, _parse_utc(added_at)) for screen_id, added_at in rows]

    def check_token(self, token_hash: str) -> str | None:
        """See :meth:`TelemetryStore.check_token`."""
        with self._use() as connection:
            row = connection.execute(
                "SELECT screen_id, token_hash FROM screens WHERE token_hash = ?", (token_hash,)
            ).fetchone()
        return _matching(row, token_hash)

    def record_batch(
        self, screen_id: str, batch_id: str, plays: Sequence[Play], *, received_at: dt.datetime
    ) -> BatchResult:
        """See :meth:`TelemetryStore.record_batch`."""
        with self._write() as connection:
            inserted = connection.execute(
                "INSERT INTO batches (screen_id, batch_id, received_at, plays) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (screen_id, batch_id) DO NOTHING",
                (screen_id, batch_id, _utc_text(received_at), len(plays)),
            ).rowcount
            if not inserted:
                (count,) = connection.execute(
                    "SELECT plays FROM batches WHERE screen_id = ? AND batch_id = ?", (screen_id, batch_id)
                ).fetchone()
                return BatchResult(int(count), True)
            connection.executemany(
                "INSERT INTO plays (screen_id, batch_id, entry_id, entry_hash, playlist_version, started, "
                "day, duration_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        screen_id,
                        batch_id,
                        play.entry_id,
                        play.entry_hash,
                        play.playlist_version,
                        _utc_text(play.started),
                        play.day.isoformat(),
                        play.duration_ms,
                    )
                    for play in plays
                ],
            )
        return BatchResult(len(plays), False)

    def record_heartbeat(
        self, screen_id: str, heartbeat: Mapping[str, Any], received_at: dt.datetime
    ) -> None:
        """See :meth:`TelemetryStore.record_heartbeat`."""
        with self._write() as connection:
            connection.execute(
                "INSERT INTO heartbeats (screen_id, received_at, body) VALUES (?, ?, ?) "
                "ON CONFLICT (screen_id) DO UPDATE SET received_at = excluded.received_at, body = excluded.body",
                (screen_id, _utc_text(received_at), _json_text(heartbeat)),
            )

    def latest_heartbeats(self) -> list[StoredHeartbeat]:
        """See :meth:`TelemetryStore.latest_heartbeats`."""
        with self._use() as connection:
            rows = connection.execute(
                "SELECT h.screen_id, h.received_at, h.body FROM heartbeats h "
                "JOIN screens s ON s.screen_id = h.screen_id ORDER BY h.screen_id"
            ).fetchall()
        return [StoredHeartbeat(screen_id, _parse_utc(at), json.loads(body)) for screen_id, at, body in rows]

    def exposure(self, day_from: dt.date, day_to: dt.date) -> list[ExposureRow]:
        """See :meth:`TelemetryStore.exposure`."""
        with self._use() as connection:
            rows = connection.execute(
                "SELECT entry_id, screen_id, day, COUNT(*), SUM(duration_ms) FROM plays "
                "WHERE day BETWEEN ? AND ? GROUP BY day, screen_id, entry_id ORDER BY day, screen_id, entry_id",
                (day_from.isoformat(), day_to.isoformat()),
            ).fetchall()
        return [
            ExposureRow(entry, screen, dt.date.fromisoformat(day), int(plays), int(ms))
            for entry, screen, day, plays, ms in rows
        ]

    def close(self) -> None:
        """See :meth:`TelemetryStore.close`."""
        self._pool.close()

    # --- internals -------------------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        try:
            # isolation_level=None: no implicit transactions; every write says BEGIN IMMEDIATE itself.
            connection = sqlite3.connect(
                self.path, timeout=self._busy_timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as error:
            raise _unavailable(str(self.path), error) from error
        try:
            connection.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")
            connection.execute("PRAGMA synchronous = FULL")
            connection.execute("PRAGMA foreign_keys = ON")
        except sqlite3.Error as error:
            connection.close()
            raise _unavailable(str(self.path), error) from error
        return connection

    @contextlib.contextmanager
    def _use(self) -> Iterator[sqlite3.Connection]:
        """A pooled connection; "locked", "read-only" and I/O errors become :class:`StoreUnavailable`."""
        try:
            with self._pool.connection() as connection:
                yield connection
        except sqlite3.OperationalError as error:
            raise _unavailable(str(self.path), error) from error

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken as IMMEDIATE so the writer lock is waited for at BEGIN.

        A deferred transaction that reads first and writes later can fail with SQLITE_BUSY at once when
        it upgrades its lock, without honouring busy_timeout; IMMEDIATE queues writers properly.
        """
        with self._use() as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    def _migrate(self, connection: sqlite3.Connection) -> None:
        # journal_mode cannot change inside a transaction; it is stored in the file, so once is enough.
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("BEGIN IMMEDIATE")
        try:
            (version,) = connection.execute("PRAGMA user_version").fetchone()
            _check_schema_version(int(version), len(_SQLITE_MIGRATIONS), str(self.path))
            for number, script in enumerate(_SQLITE_MIGRATIONS[version:], start=version + 1):
                for statement in _statements(script):
                    connection.execute(statement)
                connection.execute(f"PRAGMA user_version = {number}")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")


def _close_sqlite(connection: sqlite3.Connection) -> None:
    connection.close()


# --- PostgreSQL ---------------------------------------------------------------------------------------

_POSTGRES_MIGRATIONS: Final = (
    # 1: the same schema as SQLite's first, in PostgreSQL's types.
    """
    CREATE TABLE screens (
        screen_id text PRIMARY KEY,
        token_hash text NOT NULL UNIQUE,
        added_at timestamptz NOT NULL
    );
    CREATE TABLE batches (
        screen_id text NOT NULL,
        batch_id text NOT NULL,
        received_at timestamptz NOT NULL,
        plays integer NOT NULL,
        PRIMARY KEY (screen_id, batch_id)
    );
    CREATE TABLE plays (
        screen_id text NOT NULL,
        batch_id text NOT NULL,
        entry_id text NOT NULL,
        entry_hash text NOT NULL,
        playlist_version bigint NOT NULL,
        started timestamptz NOT NULL,
        day date NOT NULL,
        duration_ms integer NOT NULL,
        FOREIGN KEY (screen_id, batch_id) REFERENCES batches (screen_id, batch_id)
    );
    CREATE INDEX plays_by_day ON plays (day, screen_id, entry_id);
    CREATE TABLE heartbeats (
        screen_id text PRIMARY KEY,
        received_at timestamptz NOT NULL,
        body text NOT NULL
    );
    """,
)
# Any constant works; it only has to be the same in every hub that shares the database.
_MIGRATION_LOCK: Final = 0x5167_6E61_6765


class PostgresStore:
    """:class:`TelemetryStore` in a PostgreSQL database of its own, through psycopg 3.

    Args:
        dsn: A ``postgresql://`` URI (a password is better kept in ``~/.pgpass`` than in the URI).
        pool_size: Idle connections kept open.

    Raises:
        StoreUnavailable: the server cannot be reached or refuses the connection.
        ConfigError: the database holds a newer schema than this version knows.
    """

    def __init__(self, dsn: str, *, pool_size: int = DEFAULT_POOL_SIZE) -> None:
        # Imported here so that a SQLite hub does not need psycopg installed.
        import psycopg

        self._psycopg = psycopg
        self._dsn = dsn
        self._pool: _Pool[Any] = _Pool(self._connect, _close_postgres, pool_size)
        with self._transaction() as cursor:
            self._migrate(cursor)

    def add_screen(
        self, screen_id: str, token_hash: str, *, added_at: dt.datetime, replace: bool = False
    ) -> None:
        """See :meth:`TelemetryStore.add_screen`."""
        with self._transaction() as cursor:
            cursor.execute("SELECT 1 FROM screens WHERE screen_id = %s FOR UPDATE", (screen_id,))
            if cursor.fetchone() and not replace:
                raise _screen_exists(screen_id)
            cursor.execute(
                "INSERT INTO screens (screen_id, token_hash, added_at) VALUES (%s, %s, %s) "
                "ON CONFLICT (screen_id) DO UPDATE SET token_hash = excluded.token_hash, "
                "added_at = excluded.added_at",
                (screen_id, token_hash, added_at),
            )

    def remove_screen(self, screen_id: str) -> bool:
        """See :meth:`TelemetryStore.remove_screen`."""
        with self._transaction() as cursor:
            cursor.execute("DELETE FROM screens WHERE screen_id = %s", (screen_id,))
            removed = int(cursor.rowcount)
            cursor.execute("DELETE FROM heartbeats WHERE screen_id = %s", (screen_id,))
        return removed > 0

    def screens(self) -> list[ScreenRecord]:
        """See :meth:`TelemetryStore.screens`."""
        with self._transaction() as cursor:
            cursor.execute("SELECT screen_id, added_at FROM screens ORDER BY screen_id")
            rows = cursor.fetchall()
        return [ScreenRecord(screen_id, added_at.astimezone(dt.UTC)) for screen_id, added_at in rows]

    def check_token(self, token_hash: str) -> str | None:
        """See :meth:`TelemetryStore.check_token`."""
        with self._transaction() as cursor:
            cursor.execute("SELECT screen_id, token_hash FROM screens WHERE token_hash = %s", (token_hash,))
            row = cursor.fetchone()
        return _matching(row, token_hash)

    def record_batch(
        self, screen_id: str, batch_id: str, plays: Sequence[Play], *, received_at: dt.datetime
    ) -> BatchResult:
        """See :meth:`TelemetryStore.record_batch`."""
        with self._transaction() as cursor:
            # A concurrent insert of the same key waits here until the other transaction ends, then
            # does nothing: the duplicate is seen whatever the interleaving.
            cursor.execute(
                "INSERT INTO batches (screen_id, batch_id, received_at, plays) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT (screen_id, batch_id) DO NOTHING",
                (screen_id, batch_id, received_at, len(plays)),
            )
            if cursor.rowcount == 0:
                cursor.execute(
                    "SELECT plays FROM batches WHERE screen_id = %s AND batch_id = %s", (screen_id, batch_id)
                )
                (count,) = cursor.fetchone()
                return BatchResult(int(count), True)
            cursor.executemany(
                "INSERT INTO plays (screen_id, batch_id, entry_id, entry_hash, playlist_version, started, "
                "day, duration_ms) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    (
                        screen_id,
                        batch_id,
                        play.entry_id,
                        play.entry_hash,
                        play.playlist_version,
                        play.started,
                        play.day,
                        play.duration_ms,
                    )
                    for play in plays
                ],
            )
        return BatchResult(len(plays), False)

    def record_heartbeat(
        self, screen_id: str, heartbeat: Mapping[str, Any], received_at: dt.datetime
    ) -> None:
        """See :meth:`TelemetryStore.record_heartbeat`."""
        with self._transaction() as cursor:
            cursor.execute(
                "INSERT INTO heartbeats (screen_id, received_at, body) VALUES (%s, %s, %s) "
                "ON CONFLICT (screen_id) DO UPDATE SET received_at = excluded.received_at, body = excluded.body",
                (screen_id, received_at, _json_text(heartbeat)),
            )

    def latest_heartbeats(self) -> list[StoredHeartbeat]:
        """See :meth:`TelemetryStore.latest_heartbeats`."""
        with self._transaction() as cursor:
            cursor.execute(
                "SELECT h.screen_id, h.received_at, h.body FROM heartbeats h "
                "JOIN screens s ON s.screen_id = h.screen_id ORDER BY h.screen_id"
            )
            rows = cursor.fetchall()
        return [
            StoredHeartbeat(screen_id, at.astimezone(dt.UTC), json.loads(body))
            for screen_id, at, body in rows
        ]

    def exposure(self, day_from: dt.date, day_to: dt.date) -> list[ExposureRow]:
        """See :meth:`TelemetryStore.exposure`."""
        with self._transaction() as cursor:
            cursor.execute(
                "SELECT entry_id, screen_id, day, COUNT(*), SUM(duration_ms) FROM plays "
                "WHERE day BETWEEN %s AND %s GROUP BY day, screen_id, entry_id "
                "ORDER BY day, screen_id, entry_id",
                (day_from, day_to),
            )
            rows = cursor.fetchall()
        return [
            ExposureRow(entry, screen, day, int(plays), int(ms)) for entry, screen, day, plays, ms in rows
        ]

    def close(self) -> None:
        """See :meth:`TelemetryStore.close`."""
        self._pool.close()

    # --- internals -------------------------------------------------------------------------------------

    def _connect(self) -> Any:
        try:
            return self._psycopg.connect(
                self._dsn,
                autocommit=True,
                connect_timeout=POSTGRES_CONNECT_TIMEOUT_S,
                # Keep every request short: a statement stuck behind a lock gives up, the screen retries.
                options=f"-c statement_timeout={POSTGRES_STATEMENT_TIMEOUT_MS} -c timezone=UTC",
                application_name="signage-hub",
            )
        except self._psycopg.Error as error:
            raise _unavailable("PostgreSQL", error) from error

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Any]:
        """A cursor inside one transaction on a pooled connection; server trouble is StoreUnavailable."""
        try:
            with (
                self._pool.connection() as connection,
                connection.transaction(),
                connection.cursor() as cursor,
            ):
                yield cursor
        except (self._psycopg.OperationalError, self._psycopg.errors.QueryCanceled) as error:
            raise _unavailable("PostgreSQL", error) from error

    def _migrate(self, cursor: Any) -> None:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        cursor.execute("CREATE TABLE IF NOT EXISTS signage_schema (version integer NOT NULL)")
        cursor.execute("SELECT version FROM signage_schema")
        row = cursor.fetchone()
        if row is None:
            cursor.execute("INSERT INTO signage_schema (version) VALUES (0)")
        version = 0 if row is None else int(row[0])
        _check_schema_version(version, len(_POSTGRES_MIGRATIONS), "PostgreSQL")
        for number, script in enumerate(_POSTGRES_MIGRATIONS[version:], start=version + 1):
            for statement in _statements(script):
                cursor.execute(statement)
            cursor.execute("UPDATE signage_schema SET version = %s", (number,))


def _close_postgres(connection: Any) -> None:
    connection.close()


# --- shared helpers -----------------------------------------------------------------------------------


def _matching(row: Sequence[Any] | None, token_hash: str) -> str | None:
    """The screen id of a token row, if its stored hash really equals ``token_hash``.

    The row was found by an index lookup on the hash; comparing again in constant time costs nothing and
    keeps the decision itself free of timing differences.
    """
    if row is None:
        return None
    screen_id, stored = row
    return str(screen_id) if hmac.compare_digest(str(stored), token_hash) else None


def _check_schema_version(version: int, newest: int, where: str) -> None:
    if version > newest:
        raise ConfigError(
            f"遥测数据库 {where} 的结构版本为 {version}，比本程序支持的 {newest} 更新；请升级 signage",
            f"the telemetry database {where} has schema version {version}, newer than this signage "
            f"knows ({newest}); upgrade signage",
        )


def _statements(script: str) -> list[str]:
    """The statements of a migration script (they contain no semicolons inside literals)."""
    return [statement.strip() for statement in script.split(";") if statement.strip()]


def _screen_exists(screen_id: str) -> UsageError:
    return UsageError(
        f"屏幕 {screen_id} 已经登记；如需重新发放令牌（旧令牌随即失效），请加 --replace",
        f"the screen {screen_id} is already registered; add --replace to issue a new token "
        "(the old one stops working)",
    )


def _unavailable(where: str, error: BaseException) -> StoreUnavailable:
    return StoreUnavailable(
        f"遥测数据库 {where} 暂时无法使用（忙、无法连接或无法写入）：{error}",
        f"the telemetry database {where} is not available (busy, unreachable or not writable): {error}",
    )


def _utc_text(moment: dt.datetime) -> str:
    """ISO 8601 in UTC with microseconds, so that text order is time order."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(dt.UTC)


def _json_text(document: Mapping[str, Any]) -> str:
    return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
