"""Which slide comes next: fairness, per-screen order, notices, quiet hours, revocations and bounds."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import replace
from decimal import Decimal

import pytest

import signage.core.rotation
from signage.core.display import DisplaySet, compute_display_set
from signage.core.playlist import Playlist
from signage.core.records import DebtorRecord, Notice, Organisation, Person, Status
from signage.core.rotation import (
    BLACK_SLIDE,
    STANDBY_SLIDE,
    QuietHours,
    QuietMode,
    Rotation,
    Slide,
    SlideKind,
    cycle_order,
    notice_key,
    record_key,
)

UTC = dt.UTC
CST = dt.timedelta(hours=8)
MIDNIGHT = dt.datetime(2026, 11, 25, 16, 0, tzinfo=UTC)  # 2026-11-26 00:00 in China, a Thursday
NOON = MIDNIGHT + dt.timedelta(hours=12)
FAR = MIDNIGHT + dt.timedelta(days=30)
DWELL = dt.timedelta(seconds=2)
SLIDES_PER_DAY = 43_200  # a day of 2-second slides


def record(entry_id: str, *, organisation: bool = False) -> DebtorRecord:
    """A fictional record (region 999999 exists nowhere)."""
    debtor = (
        Organisation("青川市云岭建材有限公司", "91999999MA0000000X", "林小雨")
        if organisation
        else Person("林小雨", "9999991980****1234")
    )
    return DebtorRecord(
        entry_id=entry_id,
        debtor=debtor,
        court="青川市东湖区人民法院",
        case_number="（2025）鲁0102执1号",
        amount=Decimal("1048.67"),
        status=Status.UNFULFILLED,
        listed_on=dt.date(2026, 3, 1),
        term_ends=dt.date(2028, 3, 1),
    )


def records(count: int, prefix: str = "e") -> tuple[DebtorRecord, ...]:
    return tuple(record(f"{prefix}{number:05d}") for number in range(count))


def display(
    recs: tuple[DebtorRecord, ...] = (),
    *,
    at: dt.datetime = MIDNIGHT,
    notices: tuple[Notice, ...] = (),
    until: dt.datetime | None = FAR,
    fresh: bool = True,
    version: int = 3,
) -> DisplaySet:
    return DisplaySet(
        channel="c1",
        at=at,
        playlist_version=version,
        revocations_version=1,
        verified_until=until,
        fresh=fresh,
        records=recs,
        notices=notices,
    )


def ids(slides: list[Slide]) -> list[str]:
    return [slide.record.entry_id for slide in slides if slide.record is not None]


def run(rotation: Rotation, shown: DisplaySet, count: int, start: dt.datetime = MIDNIGHT) -> list[Slide]:
    return [rotation.next_slide(shown, start + number * DWELL) for number in range(count)]


# --- fairness and order -----------------------------------------------------------------------------------


def test_every_record_is_shown_once_per_cycle():
    recs = records(50)
    rotation = Rotation("screen-1", notice_every=5)
    shown = ids(run(rotation, display(recs), 150))
    for cycle in range(3):
        assert sorted(shown[cycle * 50 : (cycle + 1) * 50]) == sorted(r.entry_id for r in recs)
    # One permutation per day: the cycles repeat it.
    assert shown[:50] == shown[50:100] == cycle_order("screen-1", shown[:50])


def test_a_simulated_day_gives_equal_exposure_within_one():
    recs = records(200)
    notices = (Notice("n1", "通知", "名单每日更新"),)
    rotation = Rotation("screen-1", notice_every=5)
    shown = display(recs, notices=notices)
    slides = run(rotation, shown, SLIDES_PER_DAY)
    counts = Counter(ids(slides))
    assert set(counts) == {r.entry_id for r in recs}
    assert max(counts.values()) - min(counts.values()) <= 1
    # One notice after every five debtor slides.
    assert sum(slide.kind is SlideKind.NOTICE for slide in slides) == SLIDES_PER_DAY // 6


def test_exposure_stays_equal_when_the_set_changes_mid_day():
    steady, leaving, joining = records(150, "s"), records(30, "l"), records(40, "j")
    # Local hours: the leavers are away 08:00-11:00, the joiners arrive at 11:00.
    phases = [
        (8, display(steady + leaving)),
        (11, display(steady)),
        (24, display(steady + leaving + joining)),
    ]
    allowed = [(end * 1800, shown, {r.entry_id for r in shown.records}) for end, shown in phases]
    rotation = Rotation("screen-1", notice_every=5)
    counts: Counter[str] = Counter()
    for number in range(SLIDES_PER_DAY):
        _, shown, present = next(phase for phase in allowed if number < phase[0])
        slide = rotation.next_slide(shown, MIDNIGHT + number * DWELL)
        if slide.record is not None:
            assert slide.record.entry_id in present
            counts[slide.record.entry_id] += 1
    steady_counts = [counts[r.entry_id] for r in steady]
    assert max(steady_counts) - min(steady_counts) <= 1
    # Joiners and leavers take part in the running cycle at once: each gets its share of the slides of the
    # hours it is there (1,800 an hour), divided among everyone present, within rounding.
    evening = 13 * 1800 / 220
    morning = 8 * 1800 / 180
    assert all(abs(counts[r.entry_id] - evening) <= 2 for r in joining)
    assert all(abs(counts[r.entry_id] - (morning + evening)) <= 2 for r in leaving)


def test_orders_differ_between_screens_but_not_between_days():
    recs = records(100)

    def order(screen: str, day_start: dt.datetime) -> list[str]:
        return ids(run(Rotation(screen), display(recs, at=day_start), 100, day_start))

    today = order("screen-1", MIDNIGHT)
    assert today == order("screen-1", MIDNIGHT)
    assert sorted(today) == [r.entry_id for r in recs]
    assert today != order("screen-2", MIDNIGHT)
    # Issue 13: no date in the seed, so a cycle reads the same whichever day it starts on.
    assert today == order("screen-1", MIDNIGHT + dt.timedelta(days=1))


def test_a_cycle_runs_on_across_midnight_and_needs_a_set_computed_today():
    recs = records(20)
    rotation = Rotation("screen-1", notice_every=100)
    yesterday = ids(run(rotation, display(recs), 7))
    tomorrow = MIDNIGHT + dt.timedelta(days=1)
    # A set computed yesterday cannot speak for today: listing terms end at local midnight.
    assert rotation.next_slide(display(recs), tomorrow) == STANDBY_SLIDE
    today = ids(run(rotation, display(recs, at=tomorrow), 33, tomorrow))
    order = cycle_order("screen-1", (r.entry_id for r in recs))
    # The cycle begun yesterday runs to its end, then the next one repeats its order.
    assert yesterday + today == order + order
    assert rotation.position.cycle == 1 and rotation.position.index == 20


def test_slide_kinds_and_keys():
    recs = (record("p1"), record("o1", organisation=True))
    rotation = Rotation("screen-1")
    slides = {slide.key: slide for slide in run(rotation, display(recs, version=7), 2)}
    assert slides["record:p1:7"].kind is SlideKind.PERSON
    assert slides["record:o1:7"].kind is SlideKind.ORGANISATION
    assert record_key("p1", 7) == "record:p1:7" and notice_key("n1", 7) == "notice:n1:7"


# --- notices, standby ----------------------------------------------------------------------------------------


def test_notices_are_interleaved_every_n_slides_in_turn():
    notices = (Notice("n1", "通知一", "正文"), Notice("n2", "通知二", "正文"))
    rotation = Rotation("screen-1", notice_every=3)
    kinds = run(rotation, display(records(10), notices=notices), 12)
    assert [slide.kind is SlideKind.NOTICE for slide in kinds] == [False, False, False, True] * 3
    assert [slide.key for slide in kinds if slide.notice] == ["notice:n1:3", "notice:n2:3", "notice:n1:3"]


@pytest.mark.parametrize(
    "shown",
    [
        display((), fresh=False, until=MIDNIGHT),  # stale: compute_display_set already emptied records
        display(records(3), fresh=False, until=None),  # never verified, even if records slipped through
        display(records(3), until=MIDNIGHT + dt.timedelta(seconds=1)),  # the bound passes after `at`
        display(()),  # nothing displayable
    ],
)
def test_without_displayable_records_notices_cycle_or_standby(shown):
    now = MIDNIGHT + dt.timedelta(seconds=1)
    notices = (Notice("n1", "通知一", "名单更新中"), Notice("n2", "通知二", "名单更新中"))
    rotation = Rotation("screen-1")
    assert [rotation.next_slide(replace(shown, notices=notices), now).key for _ in range(3)] == [
        "notice:n1:3",
        "notice:n2:3",
        "notice:n1:3",
    ]
    assert rotation.next_slide(shown, now) == STANDBY_SLIDE


def test_nothing_published_is_standby():
    shown = compute_display_set(
        channel="c1",
        playlist=None,
        revoked=frozenset(),
        revocations_version=None,
        verified_until=None,
        at=NOON,
    )
    assert Rotation("screen-1").next_slide(shown, NOON) == STANDBY_SLIDE


def test_a_notice_whose_window_closed_is_not_shown_and_leaves_the_screen():
    ending = Notice("n1", "通知", "正文", ends=MIDNIGHT + dt.timedelta(seconds=5))
    rotation = Rotation("screen-1")
    shown = display((), notices=(ending,))
    slide = rotation.next_slide(shown, MIDNIGHT)
    assert slide.notice == ending and rotation.still_allowed(slide, shown, MIDNIGHT)
    later = MIDNIGHT + dt.timedelta(seconds=5)
    assert not rotation.still_allowed(slide, shown, later)
    assert rotation.next_slide(shown, later) == STANDBY_SLIDE


# --- quiet hours ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("clock", "inside"),
    [
        (dt.time(22, 59, 59), False),
        (dt.time(23, 0), True),
        (dt.time(0, 0), True),
        (dt.time(5, 59, 59), True),
        (dt.time(6, 0), False),
        (dt.time(12, 0), False),
    ],
)
def test_quiet_hours_cross_midnight(clock, inside):
    assert QuietHours(dt.time(23, 0), dt.time(6, 0)).contains(clock) is inside
    # The same window the other way round is the complement.
    assert QuietHours(dt.time(6, 0), dt.time(23, 0)).contains(clock) is not inside


def test_quiet_hours_must_not_be_empty():
    with pytest.raises(ValueError, match="different"):
        QuietHours(dt.time(5, 0), dt.time(5, 0))


@pytest.mark.parametrize(
    ("mode", "quiet_slide"), [(QuietMode.STANDBY, STANDBY_SLIDE), (QuietMode.BLACK, BLACK_SLIDE)]
)
def test_quiet_hours_show_standby_or_black_and_take_effect_at_once(mode, quiet_slide):
    notices = (Notice("n1", "通知", "正文"),)
    rotation = Rotation("screen-1", quiet_hours=(QuietHours(dt.time(23, 0), dt.time(6, 0)),), quiet_mode=mode)
    night = display(records(5), notices=notices, at=MIDNIGHT)
    assert rotation.next_slide(night, MIDNIGHT) == quiet_slide  # 00:00 local
    late = MIDNIGHT + dt.timedelta(hours=5, minutes=59, seconds=59)
    assert rotation.next_slide(night, late) == quiet_slide
    morning = MIDNIGHT + dt.timedelta(hours=6)
    slide = rotation.next_slide(night, morning)
    assert slide.kind is SlideKind.PERSON
    assert rotation.still_allowed(quiet_slide, night, morning) is (mode is QuietMode.STANDBY)
    # At 23:00 the debtor slide on screen must go, whichever mode.
    evening = MIDNIGHT + dt.timedelta(hours=23)
    assert rotation.still_allowed(slide, night, evening - dt.timedelta(seconds=1))
    assert not rotation.still_allowed(slide, night, evening)
    assert rotation.still_allowed(quiet_slide, night, evening)
    assert rotation.still_allowed(STANDBY_SLIDE, night, evening) is (mode is QuietMode.STANDBY)


# --- revocations, additions, freshness -----------------------------------------------------------------------


def _playlist(recs: tuple[DebtorRecord, ...]) -> Playlist:
    return Playlist(channel="c1", version=3, issued=MIDNIGHT, records=recs)


def _computed(
    recs: tuple[DebtorRecord, ...], at: dt.datetime, revoked: frozenset[str] = frozenset()
) -> DisplaySet:
    return compute_display_set(
        channel="c1",
        playlist=_playlist(recs),
        revoked=revoked,
        revocations_version=1,
        verified_until=FAR,
        at=at,
    )


def test_a_record_revoked_mid_cycle_is_replaced_and_never_shown_again():
    recs = records(40)
    rotation = Rotation("screen-1", notice_every=100)
    now = NOON
    before = ids([rotation.next_slide(_computed(recs, now), now) for _ in range(10)])
    on_screen = rotation.next_slide(_computed(recs, now), now)
    assert on_screen.record is not None
    order = cycle_order("screen-1", (r.entry_id for r in recs))
    pending = order[12]
    assert pending not in before
    revoked = frozenset({on_screen.record.entry_id, pending})
    assert rotation.still_allowed(on_screen, _computed(recs, now), now)
    after_revocation = _computed(recs, now, revoked)
    assert not rotation.still_allowed(on_screen, after_revocation, now)
    later = ids([rotation.next_slide(after_revocation, now) for _ in range(200)])
    assert not revoked & set(later)
    # The others kept their turns: the rest of this cycle first, then whole cycles of the 38 left.
    assert later[:28] == [entry_id for entry_id in order[11:] if entry_id not in revoked]
    assert Counter(later[28:104]) == Counter({r.entry_id: 2 for r in recs if r.entry_id not in revoked})


def test_records_added_mid_day_are_shown_in_the_same_cycle():
    first = records(100, "a")
    joining = records(10, "b")
    rotation = Rotation("screen-1", notice_every=1000)
    shown = ids(run(rotation, display(first), 50))
    rest = ids(run(rotation, display(first + joining), 60, NOON))
    assert sorted(shown + rest) == sorted(r.entry_id for r in first + joining)
    # Newcomers come after the others still due in this cycle, in the day's order.
    assert rest[50:] == cycle_order("screen-1", (r.entry_id for r in joining))


def test_a_record_removed_and_restored_before_its_turn_keeps_it():
    recs = records(10)
    rotation = Rotation("screen-1", notice_every=1000)
    order = cycle_order("screen-1", (r.entry_id for r in recs))
    shown = ids(run(rotation, display(recs), 3))
    without = display(tuple(r for r in recs if r.entry_id != order[8]))
    shown += ids(run(rotation, without, 2))
    shown += ids(run(rotation, display(recs), 5))
    assert shown == order


def test_debtor_slides_stop_when_the_freshness_bound_passes():
    bound = NOON + dt.timedelta(seconds=30)
    shown = display(records(5), at=NOON, until=bound)
    rotation = Rotation("screen-1")
    slide = rotation.next_slide(shown, NOON)
    assert slide.kind is SlideKind.PERSON
    assert rotation.still_allowed(slide, shown, bound - dt.timedelta(microseconds=1))
    assert not rotation.still_allowed(slide, shown, bound)
    assert rotation.next_slide(shown, bound) == STANDBY_SLIDE


# --- quarantine ------------------------------------------------------------------------------------------------


def test_quarantined_slides_are_skipped_and_standby_when_all_are():
    recs = records(5)
    notices = (Notice("n1", "通知", "正文"),)
    rotation = Rotation("screen-1", notice_every=2)
    bad = frozenset({record_key("e00002", 3), notice_key("n1", 3)})
    slides = [rotation.next_slide(display(recs, notices=notices), NOON, skip=bad) for _ in range(20)]
    assert {slide.key for slide in slides}.isdisjoint(bad)
    assert Counter(ids(slides)) == Counter({r.entry_id: 5 for r in recs if r.entry_id != "e00002"})
    everything = frozenset(record_key(r.entry_id, 3) for r in recs) | bad
    assert rotation.next_slide(display(recs, notices=notices), NOON, skip=everything) == STANDBY_SLIDE


# --- arguments and bounds ---------------------------------------------------------------------------------------


def test_arguments_are_checked():
    with pytest.raises(ValueError, match="notice_every"):
        Rotation("screen-1", notice_every=0)
    with pytest.raises(ValueError, match="screen_id"):
        Rotation("")
    with pytest.raises(ValueError, match="aware"):
        Rotation("screen-1").next_slide(display(records(1)), dt.datetime(2026, 11, 26, 12, 0))


def test_35000_records_are_hashed_once_a_day_and_slides_are_cheap(monkeypatch):
    hashed = Counter[str]()
    original = signage.core.rotation.order_key

    def counting(seed: bytes, entry_id: str) -> bytes:
        hashed[entry_id] += 1
        return original(seed, entry_id)

    monkeypatch.setattr(signage.core.rotation, "order_key", counting)
    recs = records(35_000)
    shown = display(recs)
    rotation = Rotation("screen-1")
    slides = run(rotation, shown, 10_000)
    # An equal set computed anew (a new tuple of the same records) costs one comparison, no re-shuffle.
    slides += run(rotation, display((*recs,)), 100, NOON)
    # Cost counted, not timed (bench/scale.py times it): every record hashed once, however many slides.
    assert len(hashed) == 35_000 and set(hashed.values()) == {1}
    assert len(set(ids(slides))) == len(ids(slides))  # still the first cycle: nobody twice


def test_a_slide_holds_what_its_kind_needs():
    with pytest.raises(ValueError, match="wrong content"):
        Slide(kind=SlideKind.PERSON, key="record:x:1")
    with pytest.raises(ValueError, match="wrong content"):
        Slide(kind=SlideKind.STANDBY, key="standby", notice=Notice("n1", "通知", "正文"))
