"""Honest and bounded telemetry (issue 14): forged plays refused and counted, daily quotas, roll-up and retention.

The forged plays go through a real hub on 127.0.0.1 (:mod:`tests.hub.test_telemetry`'s fixtures) that knows
the channels' versions the default way: the console's ``PublishedVersion`` rows on the test database and the
repository's playlist files. Roll-up and retention run on the test database (SQLite, or PostgreSQL when
``DATABASE_URL`` says so), by hand, through ``signage report --rollup`` and by the hub's own schedule.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

import pytest
import requests

from signage.core.errors import ConfigError
from signage.core.playlist import encode_playlist
from signage.operator.hub.console.models import PublishedVersion
from signage.operator.hub.options import load_options
from signage.operator.hub.screens import models, records, retention
from signage.operator.hub.screens.ingest import Limits, Play, hash_token, new_token
from signage.operator.hub.screens.provenance import (
    Issued,
    PublishedVersions,
    Reason,
    RepositoryPlaylists,
    judge,
)
from tests.helpers import wait_until
from tests.publish.test_playlist import playlist as sample_playlist

from . import test_store, test_telemetry
from .test_store import run_command
from .test_telemetry import HASH, NOW, Ingest, IngestFactory, heartbeat

# The fixtures of the real hub and of a repository, shared with those modules.
start_ingest = test_telemetry.start_ingest
ingest = test_telemetry.ingest
repo_dir = test_store.repo_dir

pytestmark = pytest.mark.django_db(transaction=True)

DAY = dt.date(2026, 11, 26)


def publish(channel: str, version: int, published_at: dt.datetime, *entry_ids: str) -> None:
    """A version as the console stores it when it signs one (only the records' ids matter here)."""
    PublishedVersion.objects.create(
        channel=channel,
        version=version,
        published_at=published_at,
        published_by="示例审核员",
        entry_count=len(entry_ids),
        records=[{"id": entry_id} for entry_id in entry_ids],
    )


def play(entry_id: str, started: dt.datetime, version: int = 7, **fields: Any) -> dict[str, Any]:
    special = entry_id == "standby" or entry_id.startswith("notice:")
    return {
        "screen_id": "bus-0412",
        "entry_id": entry_id,
        "entry_hash": "" if special else HASH,
        "playlist_version": version,
        "started": started.isoformat().replace("+00:00", "Z"),
        "duration_ms": 10_000,
        **fields,
    }


def plays_body(*plays: dict[str, Any], batch_id: str = "a" * 32) -> dict[str, Any]:
    return {"batch_id": batch_id, "screen_id": "bus-0412", "plays": list(plays)}


def exposure_totals(day_from: dt.date, day_to: dt.date) -> list[tuple[str, str, dt.date, int, int]]:
    return [
        (row.entry_id, row.screen_id, row.day, row.plays, row.milliseconds)
        for row in records.exposure(day_from, day_to)
    ]


# --- forged plays -----------------------------------------------------------------------------------------


def test_forged_plays_are_refused_one_by_one_counted_and_shown_on_the_fleet_page(start_ingest: IngestFactory):
    publish("jinan-station", 7, NOW - dt.timedelta(days=1), "A0", "A1", "A2")
    publish("qingdao-port", 7, NOW - dt.timedelta(days=1), "B0")
    publish("qingdao-port", 8, NOW - dt.timedelta(hours=2), "B0")
    ingest = start_ingest(versions=None)  # the default: console rows, then the repository's files
    ingest.hear()  # bus-0412 is on jinan-station
    hour = dt.timedelta(hours=1)
    body = plays_body(
        play("A0", NOW - hour),  # believed
        play("A2", NOW + dt.timedelta(minutes=4)),  # a clock a little ahead: within the skew
        play("standby", NOW - hour, version=0),  # no playlist yet: only the time is checked
        play("notice:hours", NOW - hour),  # the console's rows do not keep notices: believed
        play("Z9", NOW - hour),  # never published
        play("B0", NOW - hour),  # an entry of another channel, under this channel's version
        play("B0", NOW - hour, version=8),  # a version only the other channel published
        play("A1", NOW - dt.timedelta(days=2)),  # backdated before the version was published
        play("A1", NOW + dt.timedelta(minutes=10)),  # beyond the skew
        play("A1", NOW - hour, version=0),  # a debtor entry claims no version
    )
    refused = {"unknown_entry": 2, "unknown_version": 2, "before_publication": 1, "future": 1}

    answer = ingest.post("/telemetry/plays", body)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"accepted": 4, "duplicate": False, "refused": refused}
    # The screen's uploader deletes a batch answered 200: the retry of a lost answer gets the same counts.
    again = ingest.post("/telemetry/plays", body).json()
    assert again == {"accepted": 4, "duplicate": True, "refused": refused}

    assert [(row.entry_id, row.plays) for row in records.exposure(DAY, DAY)] == [
        ("A0", 1),
        ("A2", 1),
        ("notice:hours", 1),
        ("standby", 1),
    ]
    counts = records.screen_days(DAY)["bus-0412"]
    assert counts.refused == refused and counts.refused_plays == 6 and counts.plays == 10

    page = requests.get(ingest.url("/fleet"), timeout=5)
    assert page.status_code == 200
    assert "拒收 6 条播放" in page.text and "条目不在该版本中 2" in page.text


def test_plays_before_the_first_heartbeat_are_kept_by_the_screen_409(ingest: Ingest):
    # The hub learns a screen's channel from its heartbeats; the screen keeps the batch and sends it again.
    answer = ingest.post("/telemetry/plays", plays_body(play("A0", NOW)))
    assert answer.status_code == 409 and answer.headers["Retry-After"] == "60"
    assert "heartbeat" in answer.json()["error"]
    ingest.hear()
    assert ingest.post("/telemetry/plays", plays_body(play("A0", NOW))).json()["accepted"] == 1


def test_versions_come_from_the_repositorys_playlist_files_with_their_notices(tmp_path: Path):
    published = sample_playlist()  # jinan-station version 7, issued 2026-11-26 04:00 UTC: P1, P2, O1, n1, n2
    data = encode_playlist(published)
    folder = tmp_path / "public" / "targets" / "channels" / "jinan-station"
    folder.mkdir(parents=True)
    (folder / f"{hashlib.sha256(data).hexdigest()}.playlist.json").write_bytes(data)
    (folder / f"{'0' * 64}.playlist.json").write_bytes(b'{"not": "a playlist"}')
    loader = RepositoryPlaylists(tmp_path)
    issued = loader("jinan-station", 7)
    assert issued == Issued(published.issued, frozenset({"P1", "P2", "O1"}), frozenset({"n1", "n2"}))
    assert loader("jinan-station", 6) is None and loader("qingdao-port", 7) is None
    assert loader("../../etc", 7) is None

    now = published.issued + dt.timedelta(hours=1)

    def judged(entry_id: str) -> Reason | None:
        hash_ = "" if entry_id.startswith("notice:") else HASH
        return judge(Play("s", entry_id, hash_, 7, now, 1000), issued, now=now)

    assert judged("P1") is None and judged("notice:n1") is None
    assert judged("notice:n9") is Reason.UNKNOWN_ENTRY


def test_versions_not_found_are_asked_again_only_after_a_minute():
    asked: list[tuple[str, int]] = []
    clock = [0.0]

    def loader(channel: str, version: int) -> Issued | None:
        asked.append((channel, version))
        return Issued(NOW, frozenset({"A0"})) if version in (7, 8) else None

    versions = PublishedVersions([loader], monotonic=lambda: clock[0], kept=1)
    for _ in range(3):
        assert versions("c", 7) is not None and versions("c", 99) is None
    assert asked == [("c", 7), ("c", 99)]
    clock[0] = 61.0
    assert versions("c", 99) is None and versions("c", 8) is not None and versions("c", 7) is not None
    assert asked == [("c", 7), ("c", 99), ("c", 99), ("c", 8), ("c", 7)]  # kept=1: 8 pushed 7 out


# --- quotas -----------------------------------------------------------------------------------------------


def test_over_the_daily_quota_is_429_until_china_midnight_and_counted(start_ingest: IngestFactory):
    ingest = start_ingest(Limits(plays_per_day=5, heartbeats_per_day=2, burst=1000))
    ingest.hear()
    first = plays_body(*[play("A0", NOW - dt.timedelta(minutes=m)) for m in range(1, 4)], batch_id="1" * 32)
    assert ingest.post("/telemetry/plays", first).json()["accepted"] == 3
    second = plays_body(*[play("A0", NOW - dt.timedelta(minutes=m)) for m in range(4, 7)], batch_id="2" * 32)
    over = ingest.post("/telemetry/plays", second)
    # NOW is 16:00 in China: the quota starts again in 8 hours.
    assert over.status_code == 429 and over.headers["Retry-After"] == str(8 * 3600 + 1)
    assert "quota" in over.json()["error"]
    assert ingest.post("/telemetry/plays", first).json()["duplicate"] is True  # a retry is not counted again

    assert ingest.post("/telemetry/heartbeat", heartbeat()).status_code == 200
    assert ingest.post("/telemetry/heartbeat", heartbeat()).status_code == 429
    counts = records.screen_days(DAY)["bus-0412"]
    assert (counts.plays, counts.heartbeats, counts.over_quota) == (3, 2, 2)
    assert "超出每日配额被拒 2 次" in requests.get(ingest.url("/fleet"), timeout=5).text

    ingest.clock.now = NOW + dt.timedelta(hours=8)  # midnight in China: a new day, a new quota
    assert ingest.post("/telemetry/heartbeat", heartbeat()).status_code == 200
    assert ingest.post("/telemetry/plays", second).json()["accepted"] == 3


# --- roll-up and retention --------------------------------------------------------------------------------


def _stored_play(entry_id: str, started: dt.datetime, duration_ms: int) -> Play:
    return Play("bus-0412", entry_id, HASH, 7, started, duration_ms)


def _forty_days_of_plays() -> None:
    records.add_screen("bus-0412", hash_token(new_token()), added_at=NOW)
    for back in range(40):
        started = NOW - dt.timedelta(days=back)
        batch = [_stored_play(f"A{back % 3}", started, 10_000 + back), _stored_play("A9", started, 2_500)]
        records.record_batch("bus-0412", f"{back:032x}", batch, received_at=started)


def test_roll_up_and_retention_keep_every_report_total_and_are_idempotent():
    _forty_days_of_plays()
    first, last = DAY - dt.timedelta(days=45), DAY
    before = exposure_totals(first, last)
    assert sum(row[3] for row in before) == 80

    done = retention.maintain(DAY, NOW, raw_play_days=30)
    # Every finished day is rolled up (39 days × 2 entries); today's plays stay raw.
    assert (done.rolled_plays, done.aggregates) == (78, 78)
    assert done.deleted_plays == 2 * 9 and done.deleted_batches == 9  # days 31 to 39 back
    assert exposure_totals(first, last) == before
    assert exposure_totals(DAY - dt.timedelta(days=3), DAY - dt.timedelta(days=1)) == [
        row for row in before if DAY - dt.timedelta(days=3) <= row[2] < DAY
    ]
    assert not models.Play.objects.filter(day__lt=DAY - dt.timedelta(days=30)).exists()

    again = retention.maintain(DAY, NOW, raw_play_days=30)
    assert again == retention.Maintenance(0, 0, 0, 0)
    assert exposure_totals(first, last) == before

    # A screen back online sends plays of a day long rolled up: the next run adds them.
    late = [_stored_play("A9", NOW - dt.timedelta(days=35), 1_000)]
    records.record_batch("bus-0412", "f" * 32, late, received_at=NOW)
    with_late = exposure_totals(first, last)
    assert sum(row[3] for row in with_late) == 81
    retention.maintain(DAY, NOW, raw_play_days=30)
    assert exposure_totals(first, last) == with_late
    assert models.DailyExposure.objects.get(entry_id="A9", day=DAY - dt.timedelta(days=35)).plays == 2


def test_signage_report_rollup_rolls_up_by_hand_with_the_same_totals(repo_dir: Path):
    _forty_days_of_plays()
    (repo_dir / "hub.toml").write_text("raw_play_days = 7\n")
    _, before, _ = run_command("report", "--repo", str(repo_dir), "--from", "2026-10-01")
    status, after, err = run_command("report", "--repo", str(repo_dir), "--from", "2026-10-01", "--rollup")
    assert status == 0 and after == before
    assert "roll-up: 78 plays into 78 daily rows" in err and "older than 7 days" in err
    assert models.Play.objects.count() == 2 + 2 * 7


def test_the_hub_rolls_up_on_its_schedule(start_ingest: IngestFactory):
    # The hub's refresh runs at start and every hour; the roll-up follows it.
    records.add_screen("bus-0412", hash_token(new_token()), added_at=NOW)
    records.record_batch(
        "bus-0412", "e" * 32, [_stored_play("A0", NOW - dt.timedelta(days=1), 5)], received_at=NOW
    )
    start_ingest()
    wait_until(lambda: models.DailyExposure.objects.exists(), what="the hub's roll-up")
    assert exposure_totals(DAY - dt.timedelta(days=1), DAY)[0][3:] == (1, 5)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("raw_play_days = 0\n", "between 1 and 3660"),
        ("raw_play_days = 100000\n", "between 1 and 3660"),
        ('raw_play_days = "30"\n', "must be a int"),
        ("raw_play_days = 30.5\n", "must be a int"),
        ("raw_play_days = true\n", "must be a int"),
    ],
)
def test_raw_play_days_is_validated(tmp_path: Path, text: str, message: str):
    (tmp_path / "hub.toml").write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_options(tmp_path)


def test_raw_play_days_defaults_to_30(tmp_path: Path):
    assert load_options(tmp_path).raw_play_days == 30
    (tmp_path / "hub.toml").write_text("raw_play_days = 90\n")
    assert load_options(tmp_path).raw_play_days == 90
