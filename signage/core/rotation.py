"""Which slide comes next: fair, per-screen shuffled rotation of what may be shown (pure, time passed in).

Issue 4 asks that every displayable record gets equal exposure, in an order shuffled per screen (so
neighbouring screens show different people), with operator notices interleaved every N slides, quiet hours
respected, and revocations and the freshness bound taking effect at once. Issue 13 adds lists larger than
a day of slides: the cycle carries over midnight, quiet hours and restarts, and a slide may be a *page* of
several entries (:mod:`signage.core.pages` chooses how many).

The decision of *what may be shown* stays in :mod:`signage.core.display`; this module only chooses among what
a :class:`~signage.core.display.DisplaySet` allows. The player recomputes the set before each slide and asks
:meth:`Rotation.next_slide`; while a slide stands it asks :meth:`Rotation.still_allowed` (about once a
second) and replaces the slide when the answer is no. Timing lives in Qt; nothing here reads a clock.

Fairness. One *cycle* walks an order of entry ids and shows every present entry once. The first cycle's
order is the ids sorted by a keyed hash of (screen id, entry id), so neighbouring screens differ; it does
not depend on the date, so a cycle runs to its end across midnight and quiet hours. Records that appear
mid-cycle join the end of the current cycle (in seeded order); records that disappear are skipped when
their turn comes. Each further cycle keeps the previous cycle's order (minus the ids gone for good), and
the cycle number counts them.

Why no reshuffle per cycle: "over any window every entry present throughout is shown a number of times
within one of every other's" forces it. Take a window of ``n`` consecutive shows of a list of ``n``: the
counts sum to ``n`` and differ by at most one, so each is exactly one, so show ``i + n`` is show ``i``
again, the same order. A reshuffled cycle also breaks "everyone at least once a day" when a loop lasts
more than half a day (first in one cycle, last in the next: nearly two loops apart). Time-of-day fairness
comes from the loop not being exactly 24 h: each entry's hour drifts from day to day.

Persistence. With a :class:`StateStore` (``store=``, or ``state_dir=`` for a :class:`DirectoryStore`),
the order (``rotation-order.json``, rewritten when a cycle starts or entries join) and the position
(``rotation-position.json``: cycle number, index, notice counter, last notice; saved with every decision)
are stored atomically. The order is saved before the position, and a position naming an older cycle than
the order means that cycle had ended, so a power cut at any instant resumes where the saved decisions
stopped: no restart of the cycle, no skipped entry. Unreadable or foreign state (another screen id) is
ignored: a new cycle starts. The rotation itself never waits on a thread: a :class:`DirectoryStore` writes
at once (tools, tests); the player passes a store that hands the writes to a worker thread
(:class:`signage.kiosk.state.BackgroundStore`), since the GUI thread never blocks on I/O. That store keeps
the saves in order, so the guarantees hold with at most the decisions still queued lost in a cut.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from signage.core.display import DisplaySet, Entry
from signage.core.fsutil import atomic_write
from signage.core.pages import PagePlan, plan_pages
from signage.core.playlist import CHINA_STANDARD_TIME
from signage.core.records import Notice

#: Names of the persisted rotation state's documents (files in ``state_dir``).
ORDER_FILE = "rotation-order.json"
POSITION_FILE = "rotation-position.json"
#: The order file of a 100,000-entry list is about 3 MB; anything far larger is not ours.
MAX_STATE_BYTES = 64 * 1024 * 1024
_STATE_FORMAT = 1


class SlideKind(enum.StrEnum):
    """What a slide shows."""

    PERSON = "person"
    ORGANISATION = "organisation"
    #: Several debtor records on one slide (issue 13); a page of one is a person or organisation slide.
    PAGE = "page"
    NOTICE = "notice"
    #: The neutral slide: nothing may be shown (stale, nothing published, quiet hours in standby mode).
    STANDBY = "standby"
    #: A black screen, for quiet hours in black mode.
    BLACK = "black"


class QuietMode(enum.StrEnum):
    """What quiet hours show; the values are those of the config key ``quiet_mode``."""

    STANDBY = "standby"
    BLACK = "black"


@dataclass(frozen=True)
class QuietHours:
    """A window of local wall-clock time without debtor slides or notices.

    Attributes:
        start: First moment of the window.
        end: First moment after it; a window with ``end < start`` runs past midnight.
    """

    start: dt.time
    end: dt.time

    def __post_init__(self) -> None:
        # The config refuses "05:00-05:00" as well: it would be ambiguous between nothing and all day.
        if self.start == self.end:
            raise ValueError("quiet hours must start and end at different times")

    def contains(self, local_time: dt.time) -> bool:
        """Whether the local wall-clock time ``local_time`` lies in this window."""
        clock = local_time.replace(tzinfo=None)
        if self.start < self.end:
            return self.start <= clock < self.end
        return clock >= self.start or clock < self.end


@dataclass(frozen=True)
class Slide:
    """One slide to put on screen (pure data; the player renders it).

    Attributes:
        kind: What it shows.
        key: Stable identity for caching the rendered image and for quarantining slides that failed to
            render: ``record:<entry_id>:<playlist_version>``, ``page:<first entry_id>:<n>:<playlist_version>``,
            ``notice:<notice_id>:<playlist_version>``, ``standby`` or ``black``. The version is part of it
            so that a corrected entry is rendered anew.
        record: The debtor record, for person and organisation slides: a full record, or the painter's
            compact :class:`~signage.core.display.EntryRef` (its record is loaded when the slide is rendered).
        notice: The notice, for notice slides.
        records: The debtor records of a page slide, in order (two or more), as ``record``.
    """

    kind: SlideKind
    key: str
    record: Entry | None = None
    notice: Notice | None = None
    records: tuple[Entry, ...] = ()

    def __post_init__(self) -> None:
        # The renderer trusts the kind; a debtor slide without its record would paint an empty frame.
        debtor = self.kind in (SlideKind.PERSON, SlideKind.ORGANISATION)
        page = self.kind is SlideKind.PAGE
        if (
            (self.record is not None) is not debtor
            or (self.notice is not None) is not (self.kind is SlideKind.NOTICE)
            or (len(self.records) >= 2) is not page
            or (self.records and not page)
        ):
            raise ValueError(f"a {self.kind} slide has the wrong content")

    @property
    def entries(self) -> tuple[Entry, ...]:
        """The debtor records on this slide: the page's, the one record, or none."""
        if self.records:
            return self.records
        return () if self.record is None else (self.record,)


#: The neutral slide (also what the player shows before the first decision).
STANDBY_SLIDE = Slide(kind=SlideKind.STANDBY, key="standby")
#: The black slide of quiet hours in black mode.
BLACK_SLIDE = Slide(kind=SlideKind.BLACK, key="black")


def record_key(entry_id: str, playlist_version: int | None) -> str:
    """The :attr:`Slide.key` of a debtor record's slide."""
    return f"record:{entry_id}:{playlist_version}"


def page_key(first_entry_id: str, count: int, playlist_version: int | None) -> str:
    """The :attr:`Slide.key` of a page of ``count`` entries starting with ``first_entry_id``."""
    return f"page:{first_entry_id}:{count}:{playlist_version}"


def notice_key(notice_id: str, playlist_version: int | None) -> str:
    """The :attr:`Slide.key` of a notice's slide."""
    return f"notice:{notice_id}:{playlist_version}"


def screen_seed(screen_id: str) -> bytes:
    """The shuffle seed of one screen.

    A cryptographic hash, never Python's ``hash()``: that one is salted per process, so the order would
    change on every restart of the player. No date in it: a cycle carries over midnight.
    """
    return hashlib.sha256(f"signage.core.rotation.cycle\x00{screen_id}".encode()).digest()


def order_key(seed: bytes, entry_id: str) -> bytes:
    """Where ``entry_id`` falls in the order seeded by ``seed``; sort ascending."""
    return hashlib.blake2b(entry_id.encode(), digest_size=16, key=seed[:32]).digest()


def cycle_order(screen_id: str, entry_ids: Iterable[str]) -> list[str]:
    """The order in which ``screen_id`` shows ``entry_ids`` in its first cycle (and joiners in any)."""
    seed = screen_seed(screen_id)
    return sorted(set(entry_ids), key=lambda entry_id: order_key(seed, entry_id))


def day_order(screen_id: str, day: dt.date, entry_ids: Iterable[str]) -> list[str]:
    """The first cycle's order, whatever ``day`` (kept for callers written before issue 13; the date no
    longer seeds the order)."""
    del day
    return cycle_order(screen_id, entry_ids)


@dataclass(frozen=True)
class Paging:
    """What the rotation needs to choose entries per page (see :func:`signage.core.pages.plan_pages`).

    Attributes:
        capacity: :func:`signage.core.pages.page_capacity` of the screen (1: one entry per slide, always).
        dwell_s: Seconds each slide stands.
        transition_s: The crossfade.
        forced: The config's ``entries_per_page``, or ``None`` for automatic.
        loop_hours: The longest a cycle may take.
    """

    capacity: int = 1
    dwell_s: float = 10.0
    transition_s: float = 0.0
    forced: int | None = None
    loop_hours: float = 24.0


class StateStore(Protocol):
    """Where a rotation keeps its order and position: small named documents, each replaced whole.

    ``save`` must be atomic per document (a reader sees the old one or the new one) and must reach the
    disk in the order of the calls (the order before the position that refers to it). ``load`` is only
    called when the rotation is built.
    """

    def load(self, name: str) -> bytes | None:
        """The last document saved under ``name``; ``None`` when there is none or it cannot be read."""
        ...

    def save(self, name: str, data: bytes) -> None:
        """Replace the document ``name`` with ``data``."""
        ...


class DirectoryStore:
    """A :class:`StateStore` writing files in a folder at once (temp file, fsync, rename).

    Args:
        directory: The folder (created on the first save); the player uses its cache folder.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def load(self, name: str) -> bytes | None:
        """The file's bytes, or ``None`` when missing, unreadable or larger than :data:`MAX_STATE_BYTES`."""
        try:
            with (self.directory / name).open("rb") as handle:
                data = handle.read(MAX_STATE_BYTES + 1)
        except OSError:
            return None
        return None if len(data) > MAX_STATE_BYTES else data

    def save(self, name: str, data: bytes) -> None:
        """Write the file atomically (:func:`signage.core.fsutil.atomic_write`)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        atomic_write(self.directory / name, data)


@dataclass(frozen=True)
class Position:
    """Where a rotation stands: cycle ``cycle`` (from 0), next index ``index`` of ``length`` ids."""

    cycle: int
    index: int
    length: int


class Rotation:
    """Chooses the next slide for one screen: a small state machine of plain data, with no clock inside.

    Calls cost O(1) amortised while ``display.records`` is the same tuple object as in the previous call
    (keep the :class:`DisplaySet` until something changes); a different but equal tuple costs one C-level
    comparison (about 0.2 ms at 35,000 records), and a real change of the set O(n) once.

    Args:
        screen_id: The screen's id; it seeds the order, so neighbouring screens differ.
        notice_every: One notice after this many debtor slides (pages), when notices exist.
        quiet_hours: Local windows in which only the quiet slide is shown.
        quiet_mode: What quiet hours show.
        utc_offset: The local time, for midnight and quiet hours.
        resume_slot: The dwell; when no saved position exists, the first cycle starts where a screen
            playing since midnight would be, so a restart without state does not show the same people first.
        paging: Multi-entry pages; ``None`` for one entry per slide (the plan is then not computed).
        state_dir: Folder for the persisted position, written at once (a :class:`DirectoryStore`).
        store: Where the order and position are kept instead (the player's writes on a worker thread).
            Neither: kept in memory only.

    Raises:
        ValueError: ``screen_id`` is empty, ``notice_every`` is below 1, or both ``state_dir`` and
            ``store`` are given.
    """

    def __init__(
        self,
        screen_id: str,
        *,
        notice_every: int = 5,
        quiet_hours: tuple[QuietHours, ...] = (),
        quiet_mode: QuietMode = QuietMode.STANDBY,
        utc_offset: dt.timedelta = CHINA_STANDARD_TIME,
        resume_slot: dt.timedelta | None = None,
        paging: Paging | None = None,
        state_dir: Path | None = None,
        store: StateStore | None = None,
    ) -> None:
        if state_dir is not None and store is not None:
            raise ValueError("give state_dir or store, not both")
        if not screen_id:
            raise ValueError("screen_id must not be empty")
        if notice_every < 1:
            raise ValueError("notice_every must be at least 1")
        self.screen_id = screen_id
        self.notice_every = notice_every
        self.quiet_hours = quiet_hours
        self.quiet_mode = quiet_mode
        self.utc_offset = utc_offset
        self.resume_slot = resume_slot
        self.paging = paging
        self.store: StateStore | None = DirectoryStore(state_dir) if state_dir is not None else store
        self._resume_at: dt.datetime | None = None
        self._seed = screen_seed(screen_id)
        # The current cycle: its number, ids in order, the next position, and every id it holds.
        self._cycle_number = -1
        self._order: list[str] = []
        self._cursor = 0
        self._in_cycle: set[str] = set()
        # The last records seen, and the same by id.
        self._records: tuple[Entry, ...] = ()
        self._by_id: dict[str, Entry] = {}
        self._since_notice = 0
        self._last_notice: str | None = None
        self._plan: PagePlan | None = None
        self._plan_for: tuple[int, bool] | None = None
        if self.store is not None and self._load(self.store):
            self.resume_slot = None

    # --- the two questions the player asks ------------------------------------------------------------

    def next_slide(
        self, display: DisplaySet, now: dt.datetime, *, skip: frozenset[str] = frozenset()
    ) -> Slide:
        """The slide to show next (and, with a store, the position after it saved).

        Args:
            display: What may be shown, computed just now (new sets and revocations take effect here).
            now: The current time (aware).
            skip: Keys of slides not to choose (quarantined after a render failure).

        Returns:
            The quiet slide in quiet hours; else a notice after every ``notice_every`` debtor slides; else
            the next entries of the cycle (a page of ``plan.entries_per_page``, a shorter one at the cycle's
            end, a person or organisation slide for one); else a notice (cycled); else the standby slide.
        """
        effective, local = self._times(display, now)
        if self._quiet(local):
            return self._quiet_slide()
        if self._may_show_debtors(display, effective, local.date()):
            self._sync(display)
            if self._since_notice >= self.notice_every:
                notice = self._next_notice(display, effective, skip)
                if notice is not None:
                    self._since_notice = 0
                    self._save_position()
                    return notice
            self._resume_at = local
            slide = self._next_debtor_slide(display.playlist_version, skip)
            if slide is not None:
                self._since_notice += 1
                self._save_position()
                return slide
        notice = self._next_notice(display, effective, skip)
        if notice is None:
            return STANDBY_SLIDE
        self._save_position()
        return notice

    def still_allowed(self, slide: Slide, display: DisplaySet, now: dt.datetime) -> bool:
        """Whether ``slide`` may stay on screen; when not, the player replaces it now.

        A debtor slide must go as soon as its record (on a page: any of its records) is revoked or no
        longer displayable, the set is no longer fresh, or quiet hours begin (issue 4: within one second).
        A notice goes when its window closes; the black slide when quiet hours end. A changed set seen here
        joins the cycle as it would in :meth:`next_slide`.
        """
        effective, local = self._times(display, now)
        if self._quiet(local):
            return slide == self._quiet_slide()
        if slide.kind is SlideKind.BLACK:
            return False
        if slide.kind is SlideKind.STANDBY:
            return True
        if slide.kind is SlideKind.NOTICE:
            return slide.notice is not None and any(
                notice.notice_id == slide.notice.notice_id and notice.is_displayable(effective)
                for notice in display.notices
            )
        if not slide.entries or not self._may_show_debtors(display, effective, local.date()):
            return False
        self._sync(display)
        return all(record.entry_id in self._by_id for record in slide.entries)

    # --- what the player reports ----------------------------------------------------------------------

    @property
    def plan(self) -> PagePlan | None:
        """The page plan for the list last seen (``None`` without paging or before any list)."""
        return self._plan

    @property
    def position(self) -> Position:
        """The current cycle and the next index in it."""
        return Position(max(self._cycle_number, 0), self._cursor, len(self._order))

    # --- time -----------------------------------------------------------------------------------------

    def _times(self, display: DisplaySet, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError("now must be an aware datetime")
        # The display set was computed no earlier than the screen's time floor; a clock behind it is not
        # believed (as in ContentSnapshot.display_set), so the later of the two is the time.
        effective = max(now, display.at)
        local = (effective.astimezone(dt.UTC) + self.utc_offset).replace(tzinfo=None)
        return effective, local

    def _quiet(self, local: dt.datetime) -> bool:
        clock = local.time()
        return any(window.contains(clock) for window in self.quiet_hours)

    def _quiet_slide(self) -> Slide:
        return BLACK_SLIDE if self.quiet_mode is QuietMode.BLACK else STANDBY_SLIDE

    def _may_show_debtors(self, display: DisplaySet, effective: dt.datetime, today: dt.date) -> bool:
        if not display.records or not display.fresh:
            return False
        # Issue 3: debtor slides stop the moment the freshness bound passes, even if the set (computed a
        # little earlier) still says fresh.
        if display.verified_until is None or effective >= display.verified_until:
            return False
        # Listing terms end at local midnight; a set computed yesterday cannot speak for today.
        at_local = (display.at.astimezone(dt.UTC) + self.utc_offset).date()
        return at_local == today

    # --- the cycle ------------------------------------------------------------------------------------

    def _key(self, entry_id: str) -> bytes:
        # Not kept per entry: a sort computes each key once anyway, and a cache of 35,000 digests costs the
        # painter about 4 MiB for keys needed only when a cycle starts or entries join (issue 15).
        return order_key(self._seed, entry_id)

    def _sync(self, display: DisplaySet) -> None:
        records = display.records
        if records is not self._records:
            if records != self._records:
                by_id = {record.entry_id: record for record in records}
                if self._order:
                    # Newcomers join the current cycle rather than wait for the next one; ids already in
                    # the cycle (shown, pending, or removed and back) keep their turn, so nobody is shown
                    # twice. They keep that place in later cycles (see the module docstring).
                    added = sorted((i for i in by_id if i not in self._in_cycle), key=self._key)
                    if added:
                        self._order.extend(added)
                        self._in_cycle.update(added)
                        self._save_order()
                self._by_id = by_id
            self._records = records
        if self.paging is not None and self._plan_for != (len(self._by_id), bool(display.notices)):
            self._plan_for = (len(self._by_id), bool(display.notices))
            self._plan = plan_pages(
                len(self._by_id),
                dwell_s=self.paging.dwell_s,
                transition_s=self.paging.transition_s,
                notices_every=self.notice_every if display.notices else None,
                quiet=[(window.start, window.end) for window in self.quiet_hours],
                loop_hours=self.paging.loop_hours,
                capacity=self.paging.capacity,
                forced=self.paging.forced,
            )

    def _start_cycle(self) -> None:
        if self._order:
            # The previous cycle's order, without the ids gone since, then anyone not yet in it.
            order = [entry_id for entry_id in self._order if entry_id in self._by_id]
            kept = set(order)
            order += sorted((i for i in self._by_id if i not in kept), key=self._key)
        else:
            order = sorted(self._by_id, key=self._key)
            if self.resume_slot is not None and self._resume_at is not None and order:
                local = self._resume_at
                since_midnight = dt.timedelta(hours=local.hour, minutes=local.minute, seconds=local.second)
                offset = int(since_midnight / self.resume_slot) % len(order)
                order = order[offset:] + order[:offset]
        # Only the first cycle of a Rotation may resume by the clock.
        self.resume_slot = None
        self._cycle_number += 1
        self._order, self._cursor, self._in_cycle = order, 0, set(order)
        self._save_order()

    def _take(self, count: int, version: int | None, skip: frozenset[str]) -> tuple[list[Entry], int]:
        """Up to ``count`` records from the cycle (never across its end), and the index of the first."""
        taken: list[Entry] = []
        first = self._cursor
        restarted = False
        while True:
            while self._cursor < len(self._order) and len(taken) < count:
                entry_id = self._order[self._cursor]
                self._cursor += 1
                # Removed (revoked, expired) ids stay in the order and are passed over here, so a removal
                # costs nothing and never restarts the cycle for the others.
                record = self._by_id.get(entry_id)
                if record is not None and (not skip or record_key(entry_id, version) not in skip):
                    if not taken:
                        first = self._cursor - 1
                    taken.append(record)
            # At most one new cycle per call: if that one yields nothing, everything is skipped.
            if taken or restarted or not self._by_id:
                return taken, first
            self._start_cycle()
            restarted = True

    def _next_debtor_slide(self, version: int | None, skip: frozenset[str]) -> Slide | None:
        per_page = 1 if self._plan is None else self._plan.entries_per_page
        taken, first = self._take(per_page, version, skip)
        if len(taken) > 1:
            key = page_key(taken[0].entry_id, len(taken), version)
            if key not in skip:
                return Slide(kind=SlideKind.PAGE, key=key, records=tuple(taken))
            # The page failed to render: its first entry alone, then the next page starts one later.
            self._cursor = first
            taken, _ = self._take(1, version, skip)
        if not taken:
            return None
        record = taken[0]
        kind = SlideKind.PERSON if record.is_person else SlideKind.ORGANISATION
        return Slide(kind=kind, key=record_key(record.entry_id, version), record=record)

    # --- persistence ----------------------------------------------------------------------------------

    def _save_order(self) -> None:
        if self.store is None:
            return
        document = {
            "format": _STATE_FORMAT,
            "screen_id": self.screen_id,
            "cycle": self._cycle_number,
            "order": self._order,
        }
        self.store.save(ORDER_FILE, json.dumps(document, separators=(",", ":")).encode())

    def _save_position(self) -> None:
        if self.store is None or self._cycle_number < 0:
            return
        document = {
            "format": _STATE_FORMAT,
            "screen_id": self.screen_id,
            "cycle": self._cycle_number,
            "index": self._cursor,
            "since_notice": self._since_notice,
            "last_notice": self._last_notice,
        }
        self.store.save(POSITION_FILE, json.dumps(document, separators=(",", ":")).encode())

    def _load(self, store: StateStore) -> bool:
        """Take the saved order and position, if both are ours and sound; whether they were."""
        order_doc = _read_state(store.load(ORDER_FILE), self.screen_id)
        position_doc = _read_state(store.load(POSITION_FILE), self.screen_id)
        if order_doc is None:
            return False
        order, cycle = order_doc.get("order"), order_doc.get("cycle")
        if (
            not isinstance(order, list)
            or not all(isinstance(entry_id, str) for entry_id in order)
            or type(cycle) is not int
            or cycle < 0
        ):
            return False
        self._order, self._in_cycle, self._cycle_number = order, set(order), cycle
        self._cursor = 0
        if position_doc is not None and position_doc.get("cycle") == cycle:
            index, since, last = (position_doc.get(name) for name in ("index", "since_notice", "last_notice"))
            if type(index) is int and 0 <= index <= len(order):
                self._cursor = index
            if type(since) is int and since >= 0:
                self._since_notice = since
            if last is None or isinstance(last, str):
                self._last_notice = last
        elif position_doc is not None and position_doc.get("cycle") == cycle - 1:
            # The order of a new cycle was written, the position of its first slide not: it starts at 0.
            since, last = position_doc.get("since_notice"), position_doc.get("last_notice")
            if type(since) is int and since >= 0:
                self._since_notice = since
            if last is None or isinstance(last, str):
                self._last_notice = last
        return True

    # --- notices --------------------------------------------------------------------------------------

    def _next_notice(self, display: DisplaySet, effective: dt.datetime, skip: frozenset[str]) -> Slide | None:
        notices = display.notices
        if not notices:
            return None
        ids = [notice.notice_id for notice in notices]
        start = ids.index(self._last_notice) + 1 if self._last_notice in ids else 0
        for offset in range(len(notices)):
            notice = notices[(start + offset) % len(notices)]
            key = notice_key(notice.notice_id, display.playlist_version)
            # The set may be a moment old; a notice whose window closed since is not shown.
            if key not in skip and notice.is_displayable(effective):
                self._last_notice = notice.notice_id
                return Slide(kind=SlideKind.NOTICE, key=key, notice=notice)
        return None


def _read_state(data: bytes | None, screen_id: str) -> dict[str, object] | None:
    """A saved state document of ``screen_id``, or ``None`` when missing, damaged, too large or foreign."""
    if data is None or len(data) > MAX_STATE_BYTES:
        return None
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):
        return None
    if (
        not isinstance(document, dict)
        or document.get("format") != _STATE_FORMAT
        or document.get("screen_id") != screen_id
    ):
        return None
    return document
