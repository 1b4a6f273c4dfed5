"""The query functions the console's fleet, takedown and report pages use, on the test database."""

from __future__ import annotations

import datetime as dt

import pytest

from signage.operator.hub.fleet import Acknowledgement, ChannelState, Presence
from signage.operator.hub.screens import queries, records
from signage.operator.hub.screens.ingest import Play, hash_token, new_token
from signage.operator.hub.screens.records import ExposureRow

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 26, 8, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)
CHANNELS = {"jinan-station": ChannelState(4, 3, {2: frozenset({"A1"}), 3: frozenset({"A1", "A7"})})}


def beat(revocations: int, playlist: int = 4) -> dict[str, object]:
    return {
        "channel": "jinan-station",
        "playlist_version": playlist,
        "revocations_version": revocations,
        "verified_until": "2026-11-27T08:00:00Z",
    }


@pytest.fixture
def fleet() -> None:
    """Four screens: one well, one behind on takedowns, one stale, one never heard from."""
    for screen_id, name in (
        ("a-ok", "一号屏"),
        ("b-behind", "二号屏"),
        ("c-stale", "三号屏"),
        ("d-never", ""),
    ):
        records.add_screen(screen_id, hash_token(new_token()), added_at=NOW, name=name, location="候车大厅")
    records.record_heartbeat("a-ok", beat(2), NOW - 20 * MINUTE)
    records.record_heartbeat("a-ok", beat(3), NOW - 10 * MINUTE)
    records.record_heartbeat("a-ok", beat(3), NOW)
    records.record_heartbeat("b-behind", beat(2), NOW)
    records.record_heartbeat("c-stale", beat(3), NOW - 10 * MINUTE)


def test_fleet_statuses_put_unhealthy_screens_first_with_names_and_locations(fleet: None):
    statuses = queries.fleet_statuses(NOW, CHANNELS)
    assert [status.screen_id for status in statuses] == ["b-behind", "d-never", "c-stale", "a-ok"]
    assert statuses[0].unacknowledged == ("A7",)
    assert statuses[1].presence is Presence.OFFLINE and statuses[2].presence is Presence.STALE
    assert (statuses[3].name, statuses[3].location) == ("一号屏", "候车大厅")


def test_acknowledgements_say_which_screens_applied_a_takedown_and_when(fleet: None):
    answers = {
        answer.status.screen_id: answer for answer in queries.acknowledgements_for("A7", NOW, CHANNELS)
    }
    # d-never has no channel known, so it is not on a channel that takes A7 down.
    assert sorted(answers) == ["a-ok", "b-behind", "c-stale"]
    assert answers["a-ok"].answer is Acknowledgement.APPLIED
    assert answers["a-ok"].applied_version == 3
    # First heard at version 3 ten minutes ago, not at the latest heartbeat.
    assert answers["a-ok"].applied_seen_at == NOW - 10 * MINUTE
    assert (
        answers["b-behind"].answer is Acknowledgement.NOT_APPLIED
        and answers["b-behind"].applied_seen_at is None
    )
    assert queries.acknowledgements_for("nobody", NOW, CHANNELS) == []


def test_exposure_per_entry_screen_and_day():
    records.add_screen("a-ok", hash_token(new_token()), added_at=NOW)
    started = dt.datetime(2026, 11, 26, 1, 0, tzinfo=dt.UTC)
    plays = [
        Play("a-ok", "A1", "0" * 64, 4, started, 10_000),
        Play("a-ok", "A1", "0" * 64, 4, started, 5_000),
    ]
    records.record_batch("a-ok", "e" * 32, plays, received_at=NOW)
    day = dt.date(2026, 11, 26)
    (row,) = queries.exposure(day, day)
    assert row == ExposureRow("A1", "a-ok", day, 2, 15_000) and row.seconds == 15.0
