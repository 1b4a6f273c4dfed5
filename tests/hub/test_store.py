"""The telemetry records' contract through the Django ORM, on the test database: SQLite by default, the
throwaway PostgreSQL cluster when ``DATABASE_URL`` names it (``make test`` runs these tests on both); the
hub's settings file; the report.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from django.core.management import call_command
from django.db import connection, connections

from signage.core.errors import ConfigError, UsageError
from signage.operator.hub.commands import add_fleet_commands, render_report_csv
from signage.operator.hub.options import HubOptions, load_options
from signage.operator.hub.screens import records
from signage.operator.hub.screens.ingest import Play, china_day, hash_token, new_token
from signage.operator.hub.screens.records import BatchResult, ExposureRow, StoreUnavailable
from signage.operator.publish.repo import OperatorRepository

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


# Committed for real: threads of their own see the rows.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def store() -> ModuleType:
    """The records module over the test database."""
    return records


def registered(store: ModuleType, *screen_ids: str) -> dict[str, str]:
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


def test_screens_are_added_listed_checked_and_removed(store: ModuleType):
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


def test_adding_a_screen_twice_needs_replace_and_replacing_retires_the_old_token(store: ModuleType):
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


def test_a_batch_is_counted_once_however_often_it_arrives(store: ModuleType):
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


def test_batch_ids_are_per_screen(store: ModuleType):
    registered(store, "bus-0412", "bus-0413")
    assert store.record_batch("bus-0412", "1" * 32, [play()], received_at=NOW) == BatchResult(1, False)
    other = play(screen_id="bus-0413")
    assert store.record_batch("bus-0413", "1" * 32, [other], received_at=NOW) == BatchResult(1, False)


def test_concurrent_duplicates_are_counted_once(store: ModuleType):
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
        finally:
            connections.close_all()  # this thread's own connection

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert errors == []
    assert sorted(results) == [BatchResult(50, False)] + [BatchResult(50, True)] * 5
    day = dt.date(2026, 11, 26)
    assert [row.plays for row in store.exposure(day, day)] == [50]


def test_exposure_days_are_china_standard_time_and_inclusive(store: ModuleType):
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


def test_a_removed_screens_plays_stay_in_reports(store: ModuleType):
    registered(store, "bus-0412")
    store.record_batch("bus-0412", "b" * 32, [play()], received_at=NOW)
    store.remove_screen("bus-0412")
    day = dt.date(2026, 11, 26)
    assert [row.screen_id for row in store.exposure(day, day)] == ["bus-0412"]


def test_an_empty_batch_is_recorded_as_seen(store: ModuleType):
    registered(store, "bus-0412")
    assert store.record_batch("bus-0412", "c" * 32, [], received_at=NOW) == BatchResult(0, False)
    assert store.record_batch("bus-0412", "c" * 32, [], received_at=NOW) == BatchResult(0, True)


# --- heartbeats -----------------------------------------------------------------------------------------


def test_the_latest_heartbeat_replaces_the_previous_one(store: ModuleType):
    registered(store, "bus-0412", "bus-0413")
    store.record_heartbeat("bus-0412", {"channel": "jinan-station", "playlist_version": 1}, NOW)
    later = NOW + dt.timedelta(minutes=1)
    store.record_heartbeat(
        "bus-0412", {"channel": "jinan-station", "playlist_version": 2, "on_screen": "林"}, later
    )
    latest = store.latest_heartbeats()
    assert [(h.screen_id, h.received_at) for h in latest] == [("bus-0412", later)]
    assert latest[0].heartbeat == {"channel": "jinan-station", "playlist_version": 2, "on_screen": "林"}


def test_the_time_a_revocations_version_was_first_reported_is_kept(store: ModuleType):
    registered(store, "bus-0412")
    minute = dt.timedelta(minutes=1)
    store.record_heartbeat("bus-0412", {"revocations_version": 2}, NOW)
    store.record_heartbeat("bus-0412", {"revocations_version": 2}, NOW + minute)
    assert store.latest_heartbeats()[0].revocations_since == NOW
    store.record_heartbeat("bus-0412", {"revocations_version": 3}, NOW + 2 * minute)
    store.record_heartbeat("bus-0412", {"revocations_version": 3}, NOW + 3 * minute)
    (latest,) = store.latest_heartbeats()
    assert latest.revocations_since == NOW + 2 * minute and latest.received_at == NOW + 3 * minute


def test_screens_keep_a_name_and_a_location(store: ModuleType):
    store.add_screen(
        "bus-0412", hash_token(new_token()), added_at=NOW, name="济南站 1 号屏", location="候车大厅"
    )
    store.add_screen("bus-0412", hash_token(new_token()), added_at=NOW, replace=True)
    (screen,) = store.screens()
    assert (screen.name, screen.location) == ("济南站 1 号屏", "候车大厅")


def test_heartbeats_of_removed_screens_are_gone(store: ModuleType):
    registered(store, "bus-0412")
    store.record_heartbeat("bus-0412", {"channel": "jinan-station"}, NOW)
    store.remove_screen("bus-0412")
    assert store.latest_heartbeats() == []
    # A heartbeat that raced with the removal is not shown either.
    store.record_heartbeat("bus-0412", {"channel": "jinan-station"}, NOW)
    assert store.latest_heartbeats() == []


# --- the database ------------------------------------------------------------------------------------


def test_the_migrations_match_the_models():
    # A model changed without its migration would be a schema the hub never creates.
    call_command("makemigrations", "screens", "--check", "--dry-run", verbosity=0)


@pytest.fixture
def short_busy_timeout() -> Iterator[None]:
    """New SQLite connections wait only 0.2 s for a lock."""
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite writer lock; PostgreSQL locks rows, not the database")
    options = connections.settings["default"].setdefault("OPTIONS", {})
    before = options.get("timeout")
    options["timeout"] = 0.2
    connection.close()
    yield
    options["timeout"] = before
    connection.close()


def test_sqlite_is_wal(store: ModuleType, short_busy_timeout: None):
    registered(store, "bus-0412")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone() == ("wal",)


def test_a_locked_sqlite_database_is_unavailable_not_a_hang(store: ModuleType, short_busy_timeout: None):
    registered(store, "bus-0412")
    blocker = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
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


def test_china_day():
    assert china_day(dt.datetime(2026, 11, 25, 16, 0, tzinfo=dt.UTC)) == dt.date(2026, 11, 26)
    cst = dt.timezone(dt.timedelta(hours=8))
    assert china_day(dt.datetime(2026, 11, 26, 0, 0, tzinfo=cst)) == dt.date(2026, 11, 26)


# --- the switch: DIR/hub.toml ---------------------------------------------------------------------------


def test_without_hub_toml_the_defaults_hold(tmp_path: Path):
    assert load_options(tmp_path) == HubOptions(fleet_page_public=False)
    (tmp_path / "hub.toml").write_text("fleet_page_public = true\n")
    assert load_options(tmp_path) == HubOptions(fleet_page_public=True)


def test_a_hub_toml_naming_a_telemetry_store_says_to_use_database_url(tmp_path: Path):
    (tmp_path / "hub.toml").write_text('telemetry_store = "postgresql://signage@/signage"\n')
    with pytest.raises(ConfigError, match="DATABASE_URL") as raised:
        load_options(tmp_path)
    assert "hub.sqlite3" in raised.value.en and "DATABASE_URL" in raised.value.zh


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('telemetry_stor = "postgresql://x/y"\n', "unknown key 'telemetry_stor'"),
        ('fleet_page_public = "yes"\n', "'fleet_page_public' must be a bool"),
        ("fleet_page_public = \n", "not valid TOML"),
    ],
)
def test_bad_hub_toml_is_a_config_error_naming_the_problem(tmp_path: Path, text: str, message: str):
    (tmp_path / "hub.toml").write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_options(tmp_path)


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


def test_report_counts_per_entry_screen_and_day_as_a_table_and_as_csv(repo_dir: Path, store: ModuleType):
    registered(store, "bus-0412", "bus-0413")
    store.record_batch(
        "bus-0412",
        "1" * 32,
        [play("A1"), play("A1", "2026-11-26T08:00:10Z", 12_500), play("A2", "2026-11-20T08:00:00Z")],
        received_at=NOW,
    )
    store.record_batch("bus-0413", "1" * 32, [play("A1", screen_id="bus-0413")], received_at=NOW)

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


def test_report_of_days_without_plays_and_of_a_reversed_range(repo_dir: Path, store: ModuleType):
    status, out, _ = run_command(
        "report", "--repo", str(repo_dir), "--from", "2026-01-01", "--to", "2026-01-02"
    )
    assert status == 0 and "no plays recorded" in out
    with pytest.raises(UsageError, match="after --to"):
        run_command("report", "--repo", str(repo_dir), "--from", "2026-01-03", "--to", "2026-01-02")
    assert render_report_csv([]) == "day,screen_id,entry_id,name,case_number,plays,seconds\n"
