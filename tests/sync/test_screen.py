"""What a screen fetches and what it may show: cheap polls, fast takedowns, photos by hash, the time floor.

Requests are counted on the server (``FaultServer.requests``), bytes on the screen's own fetcher. Times
are passed explicitly: the screen's clock is a :class:`~tests.sync.fixtures.Clock` the tests move.
"""

from __future__ import annotations

import datetime as dt

import pytest
from securesystemslib.signer import CryptoSigner

from signage.core.display import Withheld
from signage.sync.client import SyncState
from tests.sync.conftest import Fault
from tests.sync.fixtures import (  # noqa: F401 (the *_fixture names are fixtures)
    FIRST_ROWS,
    NOTICE,
    hub_fixture,
    make_screen_fixture,
    mark,
    operator_fixture,
    requested,
    row,
    screen_fixture,
    serial,
    sign_timestamp,
)

TIMESTAMP = "/metadata/timestamp.json"
NEXT_ROOT = "/metadata/2.root.json"
#: An HTTP date long after any expiry signed here, and one long before.
FAR_FUTURE = "Fri, 01 Jan 2100 00:00:00 GMT"
FAR_PAST = "Mon, 01 Jan 2001 00:00:00 GMT"


def photos_requested(paths: list[str]) -> list[str]:
    return [path.removeprefix("/photos/") for path in paths if path.startswith("/photos/")]


# --- what a poll costs -------------------------------------------------------------------------------


@pytest.mark.parametrize("resigned", [False, True], ids=["nothing new", "hourly re-sign"])
def test_a_poll_of_an_unchanged_repository_fetches_only_the_timestamp(operator, hub, screen, resigned):
    if resigned:
        # The hub's hourly refresh: a new timestamp over the same snapshot.
        operator.repo.refresh(now=operator.now + dt.timedelta(hours=1))
    since = mark(hub)
    result = screen.poll()
    assert result.state is SyncState.UNCHANGED, result
    assert requested(hub, since) == [NEXT_ROOT, TIMESTAMP]
    assert result.bytes_received == len((operator.metadata / "timestamp.json").read_bytes())
    assert result.verified_until == operator.repo.timestamp().signed.expires
    assert screen.current().verified_until == result.verified_until


def test_a_snapshot_arrives_with_the_days_records_filtered_and_reuses_them_when_nothing_changed(
    operator, hub, screen
):
    # The filtering of the day's records happens in the sync thread, never on the GUI thread that plays.
    first = screen.sync.snapshot()
    assert len(first._eligible) == 1  # today, in the channel's time zone
    (day,) = first._eligible
    assert screen.poll().state is SyncState.UNCHANGED
    second = screen.sync.snapshot()
    assert second._eligible[day] is first._eligible[day]
    # A takedown is filtered afresh.
    operator.revoke("A1")
    assert screen.poll(full=False).state is SyncState.UPDATED
    third = screen.sync.snapshot()
    assert [serial(r.entry_id) for r in third._eligible[day]] == ["A2"]
    assert third.display_set(screen.clock()).records == third._eligible[day]


def test_a_revocation_reaches_current_on_the_next_cheap_poll(operator, hub, screen):
    photo = screen.cache_dir / "objects" / operator.photo_sha("A1")
    assert photo.exists()
    operator.revoke("A1")
    since = mark(hub)
    result = screen.poll(full=False)
    assert result.state is SyncState.UPDATED, result
    assert screen.shown() == ["A2"]
    assert (result.playlist_version, result.revocations_version, result.photos_downloaded) == (1, 2, 0)
    paths = requested(hub, since)
    assert [path for path in paths if path.endswith(".revocations.json")]
    assert not [path for path in paths if path.endswith(".playlist.json") or path.startswith("/photos/")]
    # The takedown also removes the photo from the screen's own disk.
    assert not photo.exists()
    since = mark(hub)
    assert screen.poll().state is SyncState.UNCHANGED
    assert requested(hub, since) == [NEXT_ROOT, TIMESTAMP]


def test_a_revocation_on_a_full_poll_downloads_no_photo(operator, hub, screen):
    operator.revoke("A2")
    since = mark(hub)
    assert screen.poll().state is SyncState.UPDATED
    assert screen.shown() == ["A1"]
    assert photos_requested(requested(hub, since)) == []


def test_photos_are_downloaded_by_hash_and_only_when_missing(operator, hub, screen):
    # A3 and A4 share a new photo; A1 and A2 keep theirs, which the screen already has.
    operator.publish([*FIRST_ROWS, row(3, "p3.jpg"), row(4, "p3.jpg")])
    since = mark(hub)
    result = screen.poll()
    assert result.state is SyncState.UPDATED, result
    assert photos_requested(requested(hub, since)) == [operator.photo_sha("A3")]
    assert result.photos_downloaded == 1
    assert screen.shown() == ["A1", "A2", "A3", "A4"]


def test_a_photo_revoked_before_the_screen_saw_it_is_never_fetched(operator, hub, screen):
    operator.publish([*FIRST_ROWS, row(3, "p3.jpg")])
    operator.revoke("A3")  # the hub deletes the photo at once
    since = mark(hub)
    result = screen.poll()
    assert result.state is SyncState.UPDATED, result
    assert (result.playlist_version, result.photos_downloaded) == (2, 0)
    assert photos_requested(requested(hub, since)) == []
    assert screen.shown() == ["A1", "A2"]


# --- what may be shown -------------------------------------------------------------------------------


def test_past_verified_until_only_notices_and_standby_remain(screen):
    verified_until = screen.current().verified_until
    assert verified_until is not None
    screen.clock.now = verified_until - dt.timedelta(seconds=1)
    assert screen.shown() == ["A1", "A2"]
    screen.clock.now = verified_until
    stale = screen.current()
    assert (stale.fresh, stale.records, stale.withheld) == (False, (), Withheld.STALE)
    assert stale.notices == (NOTICE,)
    assert stale.playlist_version == 1


def test_a_screen_that_never_synced_shows_nothing(make_screen, hub):
    hub.set_fault(TIMESTAMP, Fault(status=503))
    screen = make_screen(name="new")
    assert screen.poll().state is SyncState.OFFLINE
    shown = screen.current()
    assert (shown.records, shown.notices, shown.withheld) == ((), (), Withheld.NOTHING_PUBLISHED)


# --- the time floor ----------------------------------------------------------------------------------


def test_a_hub_date_past_the_expiry_leaves_a_reset_clock_stale(operator, hub, screen):
    """The hub says it is later than what it signed is valid for; the bus's clock says 2020."""
    hub.set_fault(TIMESTAMP, Fault(headers={"Date": FAR_FUTURE}))
    result = screen.poll()
    assert result.state is SyncState.UNCHANGED, result
    verified_until = result.verified_until
    # The Date is believed only up to the expiry of the verified timestamp it came with.
    assert screen.sync.cache.time_floor() == verified_until
    screen.clock.now = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    assert screen.sync.trusted_now() == verified_until
    shown = screen.current()
    assert (shown.at, shown.fresh, shown.records, shown.withheld) == (
        verified_until,
        False,
        (),
        Withheld.STALE,
    )
    # The next re-sign makes the set fresh again: the floor is not a trap.
    hub.clear_faults()
    operator.repo.refresh(now=operator.now + dt.timedelta(hours=2))
    assert screen.poll().state is SyncState.UNCHANGED
    assert screen.shown() == ["A1", "A2"]


@pytest.mark.parametrize(
    "fault",
    [
        Fault(headers={"Date": FAR_PAST}),
        Fault(headers={"Date": "yesterday-ish"}),
        Fault(omit_headers=("Date",)),
    ],
    ids=["date in the past", "unparsable date", "no date"],
)
def test_an_early_or_missing_hub_date_never_lowers_the_floor(hub, screen, fault):
    floor = screen.sync.cache.time_floor()
    assert floor is not None
    hub.set_fault(TIMESTAMP, fault)
    assert screen.poll().state is SyncState.UNCHANGED
    assert screen.sync.cache.time_floor() == floor
    screen.clock.now = dt.datetime(2001, 1, 1, tzinfo=dt.UTC)
    assert screen.sync.trusted_now() == floor
    assert screen.current().at == floor


def test_a_clock_going_backwards_never_lowers_the_floor(operator, hub, screen):
    floor = screen.sync.cache.time_floor()
    assert floor is not None and floor >= operator.now
    screen.clock.now = operator.now - dt.timedelta(days=30)
    assert screen.poll().state is SyncState.UNCHANGED
    # The hub's Date header (real time) may have moved on by a second since the first sync and raise the
    # floor; what must never happen is the floor going down with the screen's clock.
    raised = screen.sync.cache.time_floor()
    assert raised is not None and floor <= raised <= floor + dt.timedelta(minutes=1)
    assert screen.sync.trusted_now() == raised
    state = screen.sync.cache.load_state("c1")
    assert state.synced_at is not None and state.synced_at >= floor
    shown = screen.current()
    assert (shown.at, shown.fresh) == (raised, True)
    assert screen.shown() == ["A1", "A2"]


def test_the_date_of_a_refused_answer_is_not_believed(operator, hub, screen):
    floor = screen.sync.cache.time_floor()
    forged = sign_timestamp(operator, CryptoSigner.generate_ed25519())
    hub.set_fault(TIMESTAMP, Fault(body=forged, headers={"Date": FAR_FUTURE}))
    assert screen.poll().state is SyncState.REFUSED
    assert screen.sync.cache.time_floor() == floor
    assert screen.current().fresh


def test_a_later_local_clock_raises_the_floor_on_a_verified_poll(operator, hub, screen):
    later = operator.now + dt.timedelta(hours=3)
    screen.clock.now = later
    assert screen.poll().state is SyncState.UNCHANGED
    assert screen.sync.cache.time_floor() == later
    screen.clock.now = operator.now
    assert screen.current().at == later


def test_a_clock_reset_after_the_bound_passed_offline_cannot_revive_the_set(operator, hub, screen):
    verified_until = screen.current().verified_until
    assert verified_until is not None
    # Out of the hub's reach, the bus runs an hour past the bound and polls in vain: stale, rightly.
    hub.set_fault(TIMESTAMP, Fault(status=503))
    screen.clock.now = verified_until + dt.timedelta(hours=1)
    assert screen.poll().state is SyncState.OFFLINE
    assert not screen.current().fresh
    # Power cut; the PC's clock comes back at an earlier time, still inside the old bound.
    screen.clock.now = operator.now + dt.timedelta(hours=1)
    shown = screen.current()
    assert (shown.fresh, shown.records, shown.withheld) == (False, (), Withheld.STALE)
