"""The telemetry store's contract, run against SQLite and a real PostgreSQL server; settings; the report.

Every contract test takes the parametrized ``store`` fixture, so both implementations answer the same
questions the same way. The PostgreSQL server is started once for this module (tests/hub/postgres.py)
and each test gets a database of its own.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import sqlite3
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from signage.errors import ConfigError, UsageError
from signage.hub.commands import add_fleet_commands, render_report_csv
from signage.hub.store import (
    BatchResult,
    ExposureRow,
    Play,
    PostgresStore,
    SqliteStore,
    StoreUnavailable,
    TelemetrySettings,
    TelemetryStore,
    china_day,
    hash_token,
    load_settings,
    new_token,
    open_store,
)
from signage.publish.repo import OperatorRepository

from .postgres import PostgresServer, running_postgres

NOW = dt.datetime(2026, 11, 26, 8, 0, tzinfo=dt.UTC)
HASH = "ab" * 32


def play(
    entry_id: str = "A1", started: str = "2026-11-26T08:00:00Z", duration_ms: int = 10_000, **fields
) -> Play:
    return Play(
        screen_id=fields.get("screen_id", "bus-0412"),
        entry_id=entry_id,
        entry_hash=fields.get("entry_hash", HASH),
        playlist_version=fields.get("playlist_version", 3),
        started=dt.datetime.fromisoformat(started),
        duration_ms=duration_ms,
    )


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    with running_postgres() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TelemetryStore]:
    if request.param == "sqlite":
        opened: TelemetryStore = SqliteStore(tmp_path / "telemetry.sqlite")
    else:
        server: PostgresServer = request.getfixturevalue("postgres")
        opened = PostgresStore(server.create_database())
    yield opened
    opened.close()


def registered(store: TelemetryStore, *screen_ids: str) -> dict[str, str]:
    tokens = {}
    for screen_id in screen_ids:
        tokens[screen_id] = new_token()
        store.add_screen(screen_id, hash_token(tokens[screen_id]), added_at=NOW)
    return tokens


# --- tokens and screens ---------------------------------------------------------------------------------


def test_tokens_are_random_url_safe_and_stored_only_as_their_sha256():
    token = new_token()
    assert len(token) == 43 and set(token) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    )
    assert new_token() != token
    assert len(hash_token(token)) == 64 and hash_token(token) != token


def test_screens_are_added_listed_checked_and_removed(store: TelemetryStore):
    tokens = registered(store, "bus-0412", "station-east.2")
    assert [(s.screen_id, s.added_at) for s in store.screens()] == [
        ("bus-0412", NOW),
        ("station-east.2", NOW),
    ]
    assert store.check_token(hash_token(tokens["bus-0412"])) == "bus-0412"
    assert store.check_token(hash_token(tokens["station-east.2"])) == "station-east.2"
    assert store.check_token(hash_token("not-a-token")) is None
    assert store.remove_screen("bus-0412") is True
    assert store.remove_screen("bus-0412") is False
    assert store.check_token(hash_token(tokens["bus-0412"])) is None
    assert [s.screen_id for s in store.screens()] == ["station-east.2"]


def test_adding_a_screen_twice_needs_replace_and_replacing_retires_the_old_token(store: TelemetryStore):
    old = registered(store, "bus-0412")["bus-0412"]
    with pytest.raises(UsageError, match="--replace"):
        store.add_screen("bus-0412", hash_token(new_token()), added_at=NOW)
    assert store.check_token(hash_token(old)) == "bus-0412"
    new = new_token()
    store.add_screen("bus-0412", hash_token(new), added_at=NOW + dt.timedelta(days=1), replace=True)
    assert store.check_token(hash_token(old)) is None
    assert store.check_token(hash_token(new)) == "bus-0412"
    assert store.screens()[0].added_at == NOW + dt.timedelta(days=1)


# --- batches and exposure -------------------------------------------------------------------------------


def test_a_batch_is_counted_once_however_often_it_arrives(store: TelemetryStore):
    registered(store, "bus-0412")
    plays = [play("A1"), play("A1", "2026-11-26T08:00:10Z"), play("A2", "2026-11-26T08:00:20Z", 8_000)]
    assert store.record_batch("bus-0412", "0" * 32, plays, received_at=NOW) == BatchResult(3, False)
    assert store.record_batch("bus-0412", "0" * 32, plays, received_at=NOW) == BatchResult(3, True)
    assert store.record_batch("bus-0412", "0" * 32, plays[:1], received_at=NOW) == BatchResult(3, True)
    day = dt.date(2026, 11, 26)
    assert store.exposure(day, day) == [
        ExposureRow("A1", "bus-0412", day, 2, 20_000),
        ExposureRow("A2", "bus-0412", day, 1, 8_000),
    ]


def test_batch_ids_are_per_screen(store: TelemetryStore):
    registered(store, "bus-0412", "bus-0413")
    assert store.record_batch("bus-0412", "1" * 32, [play()], received_at=NOW) == BatchResult(1, False)
    other = play(screen_id="bus-0413")
    assert store.record_batch("bus-0413", "1" * 32, [other], received_at=NOW) == BatchResult(1, False)


def test_concurrent_duplicates_are_counted_once(store: TelemetryStore):
    registered(store, "bus-0412")
    plays = [play("A1", f"2026-11-26T08:{minute:02d}:00Z") for minute in range(50)]
    barrier = threading.Barrier(6)
    results: list[BatchResult] = []
    errors: list[BaseException] = []

    def send() -> None:
        barrier.wait()
        try:
            results.append(store.record_batch("bus-0412", "f" * 32, plays, received_at=NOW))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert errors == []
    assert sorted(results) == [BatchResult(50, False)] + [BatchResult(50, True)] * 5
    day = dt.date(2026, 11, 26)
    assert [row.plays for row in store.exposure(day, day)] == [50]


def test_exposure_days_are_china_standard_time_and_inclusive(store: TelemetryStore):
    registered(store, "bus-0412", "bus-0413")
    plays = [
        play("A1", "2026-11-25T15:59:59Z"),  # 23:59:59 on the 25th in Beijing
        play("A1", "2026-11-25T16:00:00Z"),  # 00:00:00 on the 26th
        play("notice:hours", "2026-11-26T15:59:59+00:00", entry_hash=""),
        play("standby", "2026-11-26T16:00:00Z", entry_hash="", playlist_version=0),
    ]
    store.record_batch("bus-0412", "a" * 32, plays, received_at=NOW)
    store.record_batch(
        "bus-0413", "a" * 32, [play("A1", screen_id="bus-0413", duration_ms=1)], received_at=NOW
    )
    d25, d26, d27 = dt.date(2026, 11, 25), dt.date(2026, 11, 26), dt.date(2026, 11, 27)
    assert store.exposure(d25, d27) == [
        ExposureRow("A1", "bus-0412", d25, 1, 10_000),
        ExposureRow("A1", "bus-0412", d26, 1, 10_000),
        ExposureRow("notice:hours", "bus-0412", d26, 1, 10_000),
        ExposureRow("A1", "bus-0413", d26, 1, 1),
        ExposureRow("standby", "bus-0412", d27, 1, 10_000),
    ]
    assert store.exposure(d26, d26) == store.exposure(d25, d27)[1:4]
    assert store.exposure(dt.date(2026, 11, 28), dt.date(2026, 12, 31)) == []


def test_a_removed_screens_plays_stay_in_reports(store: TelemetryStore):
    registered(store, "bus-0412")
    store.record_batch("bus-0412", "b" * 32, [play()], received_at=NOW)
    store.remove_screen("bus-0412")
    day = dt.date(2026, 11, 26)
    assert [row.screen_id for row in store.exposure(day, day)] == ["bus-0412"]


def test_an_empty_batch_is_recorded_as_seen(store: TelemetryStore):
    registered(store, "bus-0412")
    assert store.record_batch("bus-0412", "c" * 32, [], received_at=NOW) == BatchResult(0, False)
    assert store.record_batch("bus-0412", "c" * 32, [], received_at=NOW) == BatchResult(0, True)


# --- heartbeats -----------------------------------------------------------------------------------------


def test_the_latest_heartbeat_replaces_the_previous_one(store: TelemetryStore):
    registered(store, "bus-0412", "bus-0413")
    store.record_heartbeat("bus-0412", {"channel": "jinan-station", "playlist_version": 1}, NOW)
    later = NOW + dt.timedelta(minutes=1)
    store.record_heartbeat(
        "bus-0412", {"channel": "jinan-station", "playlist_version": 2, "on_screen": "林"}, later
    )
    latest = store.latest_heartbeats()
    assert [(h.screen_id, h.received_at) for h in latest] == [("bus-0412", later)]
    assert latest[0].heartbeat == {"channel": "jinan-station", "playlist_version": 2, "on_screen": "林"}


def test_heartbeats_of_removed_screens_are_gone(store: TelemetryStore):
    registered(store, "bus-0412")
    store.record_heartbeat("bus-0412", {"channel": "jinan-station"}, NOW)
    store.remove_screen("bus-0412")
    assert store.latest_heartbeats() == []
    # A heartbeat that raced with the removal is not shown either.
    store.record_heartbeat("bus-0412", {"channel": "jinan-station"}, NOW)
    assert store.latest_heartbeats() == []


# --- implementation details ---------------------------------------------------------------------------


def test_sqlite_is_wal_private_and_reopens_with_its_data(tmp_path: Path):
    path = tmp_path / "telemetry.sqlite"
    store = SqliteStore(path)
    tokens = registered(store, "bus-0412")
    store.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    reopened = SqliteStore(path)
    try:
        assert reopened.check_token(hash_token(tokens["bus-0412"])) == "bus-0412"
    finally:
        reopened.close()
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert connection.execute("PRAGMA user_version").fetchone() == (1,)
    connection.close()


def test_sqlite_from_a_newer_signage_is_refused(tmp_path: Path):
    path = tmp_path / "telemetry.sqlite"
    SqliteStore(path).close()
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA user_version = 99")
    connection.close()
    with pytest.raises(ConfigError, match="schema version 99"):
        SqliteStore(path)


def test_a_locked_sqlite_database_is_unavailable_not_a_hang(tmp_path: Path):
    path = tmp_path / "telemetry.sqlite"
    store = SqliteStore(path, busy_timeout=0.2)
    registered(store, "bus-0412")
    blocker = sqlite3.connect(path, isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")
        with pytest.raises(StoreUnavailable, match="not available"):
            store.record_heartbeat("bus-0412", {}, NOW)
        # Readers are not blocked by a writer in WAL mode.
        assert store.check_token(hash_token("nothing")) is None
        blocker.execute("ROLLBACK")
        store.record_heartbeat("bus-0412", {}, NOW)
    finally:
        blocker.close()
        store.close()


def test_postgres_migrates_once_and_refuses_a_newer_schema(postgres: PostgresServer):
    import psycopg

    dsn = postgres.create_database()
    first = PostgresStore(dsn)
    tokens = registered(first, "bus-0412")
    first.close()
    second = PostgresStore(dsn)
    assert second.check_token(hash_token(tokens["bus-0412"])) == "bus-0412"
    second.close()
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute("UPDATE signage_schema SET version = 99")
    with pytest.raises(ConfigError, match="schema version 99"):
        PostgresStore(dsn)


def test_an_unreachable_postgres_is_unavailable(tmp_path: Path):
    pytest.importorskip("psycopg")
    with pytest.raises(StoreUnavailable, match="PostgreSQL"):
        PostgresStore(f"postgresql://postgres@/nothing?host={tmp_path}")


def test_china_day():
    assert china_day(dt.datetime(2026, 11, 25, 16, 0, tzinfo=dt.UTC)) == dt.date(2026, 11, 26)
    cst = dt.timezone(dt.timedelta(hours=8))
    assert china_day(dt.datetime(2026, 11, 26, 0, 0, tzinfo=cst)) == dt.date(2026, 11, 26)


# --- the switch: DIR/hub.toml ---------------------------------------------------------------------------


def test_without_hub_toml_the_store_is_sqlite_next_to_public(tmp_path: Path):
    settings = load_settings(tmp_path)
    assert settings == TelemetrySettings(sqlite_path=tmp_path / "telemetry.sqlite")
    store = open_store(settings)
    try:
        assert isinstance(store, SqliteStore)
    finally:
        store.close()


def test_hub_toml_switches_to_postgresql(tmp_path: Path, postgres: PostgresServer):
    dsn = postgres.create_database()
    (tmp_path / "hub.toml").write_text(f'telemetry_store = "{dsn}"\nfleet_page_public = true\n')
    settings = load_settings(tmp_path)
    assert settings.postgres_dsn == dsn and settings.fleet_page_public
    store = open_store(settings)
    try:
        assert isinstance(store, PostgresStore)
        registered(store, "bus-0412")
        assert [s.screen_id for s in store.screens()] == ["bus-0412"]
    finally:
        store.close()
    assert not (tmp_path / "telemetry.sqlite").exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('telemetry_stor = "postgresql://x/y"\n', "unknown key 'telemetry_stor'"),
        ('telemetry_store = "mysql://x/y"\n', "must be a postgresql:// URI"),
        ("telemetry_store = 5\n", "'telemetry_store' must be a str"),
        ('fleet_page_public = "yes"\n', "'fleet_page_public' must be a bool"),
        ("telemetry_store = \n", "not valid TOML"),
    ],
)
def test_bad_hub_toml_is_a_config_error_naming_the_problem(tmp_path: Path, text: str, message: str):
    (tmp_path / "hub.toml").write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_settings(tmp_path)


# --- signage report -------------------------------------------------------------------------------------


def run_command(*argv: str, now: dt.datetime = NOW) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="signage")
    add_fleet_commands(parser.add_subparsers(dest="command", required=True), clock=lambda: now)
    arguments = parser.parse_args(argv)
    out, err = io.StringIO(), io.StringIO()
    status = arguments.handler(arguments, out, err)
    return int(status), out.getvalue(), err.getvalue()


@pytest.fixture
def repo_dir(tmp_path: Path) -> Path:
    OperatorRepository.init(tmp_path / "DIR", now=NOW)
    return tmp_path / "DIR"


def test_report_counts_per_entry_screen_and_day_as_a_table_and_as_csv(repo_dir: Path):
    store = SqliteStore(repo_dir / "telemetry.sqlite")
    try:
        registered(store, "bus-0412", "bus-0413")
        store.record_batch(
            "bus-0412",
            "1" * 32,
            [play("A1"), play("A1", "2026-11-26T08:00:10Z", 12_500), play("A2", "2026-11-20T08:00:00Z")],
            received_at=NOW,
        )
        store.record_batch("bus-0413", "1" * 32, [play("A1", screen_id="bus-0413")], received_at=NOW)
    finally:
        store.close()

    status, out, _ = run_command("report", "--repo", str(repo_dir))
    assert status == 0
    assert "2026-11-20 to 2026-11-26" in out and "曝光量" in out
    lines = out.splitlines()
    assert lines[3].split() == ["DAY", "SCREEN", "NAME", "CASE", "PLAYS", "SECONDS"]
    assert lines[5].split() == ["2026-11-20", "bus-0412", "A2", "1", "10"]
    assert lines[6].split() == ["2026-11-26", "bus-0412", "A1", "2", "22"]
    assert lines[7].split() == ["2026-11-26", "bus-0413", "A1", "1", "10"]
    assert lines[8].split() == ["total", "4", "42"]

    status, out, _ = run_command(
        "report", "--repo", str(repo_dir), "--from", "2026-11-26", "--to", "2026-11-26", "--csv"
    )
    assert status == 0
    assert out == (
        "day,screen_id,entry_id,name,case_number,plays,seconds\n"
        "2026-11-26,bus-0412,A1,,,2,22.500\n"
        "2026-11-26,bus-0413,A1,,,1,10.000\n"
    )


def test_report_of_days_without_plays_and_of_a_reversed_range(repo_dir: Path):
    status, out, _ = run_command(
        "report", "--repo", str(repo_dir), "--from", "2026-01-01", "--to", "2026-01-02"
    )
    assert status == 0 and "no plays recorded" in out
    with pytest.raises(UsageError, match="after --to"):
        run_command("report", "--repo", str(repo_dir), "--from", "2026-01-03", "--to", "2026-01-02")
    assert render_report_csv([]) == "day,screen_id,entry_id,name,case_number,plays,seconds\n"
