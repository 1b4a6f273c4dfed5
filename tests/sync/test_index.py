"""The painter's compact index (signage/sync/index.py): its decisions equal the full records', it is written
atomically and content-addressed, and a pointer written before it still plays."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signage.core.display import (
    CompactEntries,
    compact_eligible,
    compute_display_set,
    eligible_records,
)
from signage.core.errors import ContentError
from signage.core.playlist import Daypart, Playlist, encode_playlist, record_hash
from signage.core.records import (
    MAX_TERM_YEARS_ON_SCREEN,
    DebtorRecord,
    Notice,
    Organisation,
    Person,
    Status,
)
from signage.core.rules.dates import add_years
from signage.core.rules.idcard import ADULT_AGE, could_be_minor, is_lawful_mask, visible_birth_year
from signage.sync.cache import CacheState, ContentCache, ObjectRef
from signage.sync.index import CompactIndex, build_index, open_index, with_index
from signage.sync.snapshot import SnapshotReader

UTC = dt.UTC
CHANNEL = "c1"
AT = dt.datetime(2026, 11, 26, 4, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]


def person(
    entry_id: str, masked: str = "9999991980****1234", age: int | None = None, **changes
) -> DebtorRecord:
    fields: dict[str, object] = {
        "entry_id": entry_id,
        "debtor": Person("林小雨", masked, age=age),
        "court": "青川市东湖区人民法院",
        "case_number": "（2025）鲁0102执1号",
        "amount": Decimal("1048.67"),
        "status": Status.UNFULFILLED,
        "listed_on": dt.date(2026, 3, 1),
        "term_ends": dt.date(2028, 3, 1),
    }
    fields.update(changes)
    return DebtorRecord(**fields)  # type: ignore[arg-type]


def organisation(entry_id: str, **changes) -> DebtorRecord:
    record = person(entry_id, **changes)
    return replace(record, debtor=Organisation("青川市云岭建材有限公司", "91999999MA0000000X", "林小雨"))


def old_is_displayable(record: DebtorRecord, on: dt.date) -> bool:
    """The rule as it stood before display_window (the reference the refactor must keep)."""
    if on < record.listed_on or (record.term_ends is not None and on >= record.term_ends):
        return False
    if record.term_ends is not None and record.term_ends > add_years(
        record.listed_on, MAX_TERM_YEARS_ON_SCREEN
    ):
        return False
    if not record._fields_displayable():
        return False
    if isinstance(record.debtor, Person):
        if not is_lawful_mask(record.debtor.id_masked):
            return False
        if record.debtor.age is not None and record.debtor.age < ADULT_AGE:
            return False
        year = visible_birth_year(record.debtor.id_masked)
        if year is not None and could_be_minor(dt.date(year, 12, 31), on):
            return False
    return True


DAYS = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2040, 12, 31))


@st.composite
def records(draw: st.DrawFn, entry_id: str) -> DebtorRecord:
    listed = draw(DAYS)
    term = draw(
        st.one_of(st.none(), st.integers(-400, 365 * 10).map(lambda d: listed + dt.timedelta(days=d)))
    )
    if draw(st.booleans()):
        year = draw(st.integers(1990, 2030))
        masked = draw(
            st.sampled_from([f"999999{year}****1234", f"999999{year % 100:02d}****123", "99999919**"])
        )
        age = draw(st.one_of(st.none(), st.integers(10, 130)))
        return person(entry_id, masked=masked, age=age, listed_on=listed, term_ends=term)
    return organisation(entry_id, listed_on=listed, term_ends=term)


@st.composite
def record_sets(draw: st.DrawFn) -> tuple[DebtorRecord, ...]:
    count = draw(st.integers(0, 12))
    return tuple(draw(records(f"e{i}")) for i in range(count))


@given(record=records("e1"), on=DAYS)
def test_display_window_is_the_old_rule(record: DebtorRecord, on: dt.date) -> None:
    assert record.is_displayable(on) == old_is_displayable(record, on)


@given(
    chosen=record_sets(),
    day=DAYS,
    revoked=st.frozensets(st.sampled_from([f"e{i}" for i in range(12)])),
)
def test_compact_columns_decide_as_the_full_records(
    chosen: tuple[DebtorRecord, ...], day: dt.date, revoked: frozenset[str]
) -> None:
    plist = playlist(*chosen)
    full = [record.entry_id for record in eligible_records(plist, revoked, day)]
    compact = [entry.entry_id for entry in compact_eligible(CompactEntries.of(chosen), revoked, day)]
    assert compact == full


def playlist(*chosen: DebtorRecord, **changes: object) -> Playlist:
    fields: dict[str, object] = {
        "channel": CHANNEL,
        "version": 3,
        "issued": AT,
        "records": chosen,
        "qr_hosts": frozenset({"zxgk.court.gov.cn"}),
        "notices": (Notice("n1", "通知", "正文"),),
    }
    fields.update(changes)
    return Playlist(**fields)  # type: ignore[arg-type]


def switch_to(cache: ContentCache, plist: Playlist, **changes: object) -> CacheState:
    """Store ``plist`` as the cache's set, with its index, as the sync does."""
    cache.prepare()
    data = encode_playlist(plist)
    ref = ObjectRef(hashlib.sha256(data).hexdigest(), len(data), plist.version)
    cache.put(data, ref)
    state = CacheState(CHANNEL, playlist=ref, verified_until=AT + dt.timedelta(hours=20)).with_changes(
        **changes
    )
    state = with_index(cache, state, plist)
    cache.switch(state)
    return state


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    chosen=record_sets(),
    offset=st.integers(-3 * 365 * 24, 15 * 365 * 24),
    revoked=st.frozensets(st.sampled_from([f"e{i}" for i in range(12)])),
    fresh_hours=st.integers(-5, 5),
    dayparts=st.booleans(),
)
def test_the_painter_shows_what_compute_display_set_shows(
    tmp_path_factory, chosen, offset, revoked, fresh_hours, dayparts
) -> None:
    """Through a real index file and the painter's reader: the same entries, notices and verdict."""
    at = dt.datetime(2024, 1, 1, tzinfo=UTC) + dt.timedelta(hours=offset)
    parts = (Daypart(dt.time(8), dt.time(20)),) if dayparts else ()
    plist = playlist(*chosen, dayparts=parts)
    cache = ContentCache(tmp_path_factory.mktemp("cache"))
    until = at + dt.timedelta(hours=fresh_hours)
    switch_to(cache, plist, revoked=revoked, verified_until=until)
    snapshot = SnapshotReader(cache, CHANNEL, lambda: at).read()
    assert snapshot.index is not None
    painted = snapshot.display_set(at)
    expected = compute_display_set(
        channel=CHANNEL,
        playlist=plist,
        revoked=revoked,
        revocations_version=None,
        verified_until=until,
        at=at,
    )
    assert [entry.entry_id for entry in painted.records] == [record.entry_id for record in expected.records]
    assert (painted.withheld, painted.notices, painted.fresh) == (
        expected.withheld,
        expected.notices,
        expected.fresh,
    )
    # Loaded on demand, the records are the ones the full decision holds (QR links filtered alike).
    assert snapshot.resolve(painted.records) == expected.records
    for entry in painted.records:
        assert snapshot.entry_hash(entry) == record_hash(
            next(r for r in chosen if r.entry_id == entry.entry_id)
        )


def test_minors_ended_terms_revoked_and_stale_are_never_shown(tmp_path: Path) -> None:
    day = (AT + dt.timedelta(hours=8)).date()
    chosen = (
        person("adult"),
        person("minor-by-year", masked=f"999999{day.year - 17}****1234"),
        person("minor-by-age", age=17),
        person("ended", term_ends=day),
        person("revoked"),
        person("bad-mask", masked="999999198012341234"),
        organisation("org"),
    )
    cache = ContentCache(tmp_path)
    switch_to(cache, playlist(*chosen), revoked=frozenset({"revoked"}))
    index = open_index(cache, cache.load_state(CHANNEL))
    assert index is not None
    # Records failing the time-independent checks are not in the index at all.
    assert {entry.entry_id for entry in index.columns.entries} == {
        "adult",
        "minor-by-year",
        "ended",
        "revoked",
        "org",
    }
    snapshot = SnapshotReader(cache, CHANNEL, lambda: AT).read()
    assert [entry.entry_id for entry in snapshot.display_set(AT).records] == ["adult", "org"]
    stale = snapshot.display_set(AT + dt.timedelta(hours=21))
    assert stale.records == () and stale.withheld is not None


def test_the_index_is_content_addressed_and_named_with_its_playlist(tmp_path: Path) -> None:
    cache = ContentCache(tmp_path)
    state = switch_to(cache, playlist(person("a"), person("b")))
    assert state.index is not None and state.playlist is not None
    data = cache.object_path(state.index.sha256).read_bytes()
    assert hashlib.sha256(data).hexdigest() == state.index.sha256 and len(data) == state.index.length
    assert state.index_of == state.playlist.sha256
    # Unchanged playlist: the index is kept, not rebuilt.
    assert with_index(cache, state, playlist(person("a"), person("b"))) is state
    # A damaged index is refused (and removed); the painter then reads the playlist.
    cache.object_path(state.index.sha256).write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    assert open_index(cache, state) is None
    snapshot = SnapshotReader(cache, CHANNEL, lambda: AT).read()
    assert snapshot.index is None
    assert [record.entry_id for record in snapshot.display_set(AT).records] == ["a", "b"]
    # Another playlist's index is never used.
    other = ContentCache(tmp_path / "other")
    other.prepare()
    ref = build_index(other, playlist(person("x")), "0" * 64)
    with pytest.raises(ContentError):
        CompactIndex(other.object_path(ref.sha256), channel=CHANNEL, playlist_sha256="1" * 64)


def test_a_pointer_written_before_the_index_still_plays(tmp_path: Path) -> None:
    """A screen upgraded in place: current.json has no index fields; the painter reads the playlist."""
    cache = ContentCache(tmp_path)
    plist = playlist(person("a"), organisation("b"))
    state = switch_to(cache, plist)
    pointer = tmp_path / "current.json"
    document = json.loads(pointer.read_text())
    del document["index"], document["index_of"]
    pointer.write_text(json.dumps(document))
    old = cache.load_state(CHANNEL)
    assert old.index is None and old.playlist == state.playlist
    snapshot = SnapshotReader(cache, CHANNEL, lambda: AT).read()
    assert snapshot.index is None
    shown = snapshot.display_set(AT)
    assert [record.entry_id for record in shown.records] == ["a", "b"]
    assert snapshot.resolve(shown.records) == shown.records
    # The next sync's switch adds the index; the painter then moves over to it.
    cache.switch(with_index(cache, old, plist))
    assert SnapshotReader(cache, CHANNEL, lambda: AT).read().index is not None


_BUILDER = """
import datetime as dt, hashlib, sys
from pathlib import Path
from tests.sync.test_index import person, playlist, switch_to
from signage.sync.cache import ContentCache
cache = ContentCache(Path(sys.argv[1]))
records = tuple(person(f"e{i}") for i in range(4000))
print("ready", flush=True)
for version in range(4, 10_000):
    switch_to(cache, playlist(*records, version=version))
"""


def test_a_kill_during_the_index_build_leaves_the_old_set_playing(tmp_path: Path) -> None:
    """SIGKILL a process building and switching indexes at random instants: the pointer always names a
    whole index of its own playlist, and the next build clears what the killed one left."""
    cache = ContentCache(tmp_path)
    switch_to(cache, playlist(person("first")))
    kills = 0
    for delay in (0.05, 0.2, 0.4, 0.7, 1.0, 1.3):
        with subprocess.Popen(
            [sys.executable, "-c", _BUILDER, str(tmp_path)],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.PIPE,
            text=True,
        ) as process:
            assert process.stdout is not None
            assert process.stdout.readline().strip() == "ready"
            time.sleep(delay)  # a random point in the build, not a wait for an effect
            process.send_signal(signal.SIGKILL)
            process.wait()
        kills += 1
        state = cache.load_state(CHANNEL)
        snapshot = SnapshotReader(cache, CHANNEL, lambda: AT).read()
        assert snapshot.index is not None, "the pointer names no whole index"
        assert snapshot.playlist is not None and snapshot.playlist.version == (
            state.playlist.version if state.playlist else None
        )
        assert snapshot.display_set(AT).records, "nothing to show after the kill"
    # The next build (the next sync) replaces any leftover of a killed one.
    switch_to(cache, playlist(person("last"), version=10_001))
    state = cache.load_state(CHANNEL)
    assert kills == 6 and state.index is not None
    assert not [path.name for path in cache.objects_dir.iterdir() if path.name.endswith(".download")]
