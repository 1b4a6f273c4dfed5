"""Which slide comes next: fair, per-screen shuffled rotation of what may be shown (pure, time passed in).

Issue 4 asks that every displayable record gets equal exposure over the day, in an order shuffled per
screen and per day (so neighbouring screens show different people), with operator notices interleaved
every N slides, quiet hours respected, and revocations and the freshness bound taking effect at once.

The decision of *what may be shown* stays in :mod:`signage.display`; this module only chooses among what
a :class:`~signage.display.DisplaySet` allows. The player recomputes the set before each slide and asks
:meth:`Rotation.next_slide`; while a slide stands it asks :meth:`Rotation.still_allowed` (about once a
second) and replaces the slide when the answer is no. Timing lives in Qt; nothing here reads a clock.

Fairness: the day's order is the entry ids sorted by a keyed hash of (screen id, local date, entry id).
One *cycle* walks that order and shows every record once. Records that appear mid-cycle join the end of
the current cycle (in seeded order); records that disappear are skipped when their turn comes. So over a
day, records present all day are shown equally often, within one. A new day starts a new order.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from signage.display import DisplaySet
from signage.playlist import CHINA_STANDARD_TIME
from signage.records import DebtorRecord, Notice, Person


class SlideKind(enum.StrEnum):
    """What a slide shows."""

    PERSON = "person"
    ORGANISATION = "organisation"
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
        record: The debtor record, for person and organisation slides.
        notice: The notice, for notice slides.
        key: Stable identity for caching the rendered image and for quarantining slides that failed to
            render: ``record:<entry_id>:<playlist_version>``, ``notice:<notice_id>:<playlist_version>``,
            ``standby`` or ``black``. The version is part of it so that a corrected entry is rendered anew.
    """

    kind: SlideKind
    key: str
    record: DebtorRecord | None = None
    notice: Notice | None = None

    def __post_init__(self) -> None:
        # The renderer trusts the kind; a debtor slide without its record would paint an empty frame.
        debtor = self.kind in (SlideKind.PERSON, SlideKind.ORGANISATION)
        if (self.record is not None) is not debtor or (self.notice is not None) is not (
            self.kind is SlideKind.NOTICE
        ):
            raise ValueError(f"a {self.kind} slide has the wrong content")


#: The neutral slide (also what the player shows before the first decision).
STANDBY_SLIDE = Slide(kind=SlideKind.STANDBY, key="standby")
#: The black slide of quiet hours in black mode.
BLACK_SLIDE = Slide(kind=SlideKind.BLACK, key="black")


def record_key(entry_id: str, playlist_version: int | None) -> str:
    """The :attr:`Slide.key` of a debtor record's slide."""
    return f"record:{entry_id}:{playlist_version}"


def notice_key(notice_id: str, playlist_version: int | None) -> str:
    """The :attr:`Slide.key` of a notice's slide."""
    return f"notice:{notice_id}:{playlist_version}"


def day_seed(screen_id: str, day: dt.date) -> bytes:
    """The shuffle seed of one screen on one local day.

    A cryptographic hash, never Python's ``hash()``: that one is salted per process, so the order would
    change on every restart of the player.
    """
    return hashlib.sha256(f"signage.rotation\x00{screen_id}\x00{day.isoformat()}".encode()).digest()


def order_key(seed: bytes, entry_id: str) -> bytes:
    """Where ``entry_id`` falls in the order of the day seeded by ``seed``; sort ascending."""
    return hashlib.blake2b(entry_id.encode(), digest_size=16, key=seed[:32]).digest()


def day_order(screen_id: str, day: dt.date, entry_ids: Iterable[str]) -> list[str]:
    """The order in which ``screen_id`` shows ``entry_ids`` on the local day ``day`` (one cycle)."""
    seed = day_seed(screen_id, day)
    return sorted(set(entry_ids), key=lambda entry_id: order_key(seed, entry_id))


class Rotation:
    """Chooses the next slide for one screen: a small state machine of plain data, with no clock inside.

    Calls cost O(1) amortised while ``display.records`` is the same tuple object as in the previous call
    (keep the :class:`DisplaySet` until something changes); a different but equal tuple costs one C-level
    comparison (about 0.2 ms at 35,000 records), and a real change of the set O(n) once.

    Args:
        screen_id: The screen's id; it seeds the order, so neighbouring screens differ.
        notice_every: One notice after this many debtor slides, when notices exist.
        quiet_hours: Local windows in which only the quiet slide is shown.
        quiet_mode: What quiet hours show.
        utc_offset: The local time, for the day's order, midnight and quiet hours.
        resume_slot: The dwell; when given, the first cycle resumes where a screen playing since midnight
            would be, so a restart does not show the same people first again.

    Raises:
        ValueError: ``screen_id`` is empty or ``notice_every`` is below 1.
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
    ) -> None:
        if not screen_id:
            raise ValueError("screen_id must not be empty")
        if notice_every < 1:
            raise ValueError("notice_every must be at least 1")
        self.screen_id = screen_id
        self.notice_every = notice_every
        self.quiet_hours = quiet_hours
        self.quiet_mode = quiet_mode
        self.utc_offset = utc_offset
        # A player restarted (power cut, planned restart) must not replay the first people of the day's order:
        # its first cycle starts where a screen showing one slide per ``resume_slot`` since midnight would be.
        self.resume_slot = resume_slot
        self._resume_at: dt.datetime | None = None
        # The day's order: seed and the keys computed so far (one hash per entry id and day).
        self._day: dt.date | None = None
        self._seed = b""
        self._keys: dict[str, bytes] = {}
        # The current cycle: ids in order, the next position, and every id the cycle holds (shown or not).
        self._cycle: list[str] = []
        self._cursor = 0
        self._in_cycle: set[str] = set()
        # The last records seen, and the same by id.
        self._records: tuple[DebtorRecord, ...] = ()
        self._by_id: dict[str, DebtorRecord] = {}
        self._since_notice = 0
        self._last_notice: str | None = None

    # --- the two questions the player asks ------------------------------------------------------------

    def next_slide(
        self, display: DisplaySet, now: dt.datetime, *, skip: frozenset[str] = frozenset()
    ) -> Slide:
        """The slide to show next.

        Args:
            display: What may be shown, computed just now (new sets and revocations take effect here).
            now: The current time (aware).
            skip: Keys of slides not to choose (quarantined after a render failure).

        Returns:
            The quiet slide in quiet hours; else a notice after every ``notice_every`` debtor slides; else
            the next debtor in the day's order; else a notice (cycled); else the standby slide.
        """
        effective, local = self._times(display, now)
        if self._quiet(local):
            return self._quiet_slide()
        if self._may_show_debtors(display, effective, local.date()):
            self._sync(display, local.date())
            if self._since_notice >= self.notice_every:
                notice = self._next_notice(display, effective, skip)
                if notice is not None:
                    self._since_notice = 0
                    return notice
            self._resume_at = local
            record = self._next_record(display.playlist_version, skip)
            if record is not None:
                self._since_notice += 1
                kind = SlideKind.PERSON if isinstance(record.debtor, Person) else SlideKind.ORGANISATION
                return Slide(
                    kind=kind, key=record_key(record.entry_id, display.playlist_version), record=record
                )
        notice = self._next_notice(display, effective, skip)
        return STANDBY_SLIDE if notice is None else notice

    def still_allowed(self, slide: Slide, display: DisplaySet, now: dt.datetime) -> bool:
        """Whether ``slide`` may stay on screen; when not, the player replaces it now.

        A debtor slide must go as soon as its record is revoked or no longer displayable, the set is no
        longer fresh, or quiet hours begin (issue 4: within one second). A notice goes when its window
        closes; the black slide when quiet hours end. A changed set seen here joins the cycle as it would
        in :meth:`next_slide`.
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
        if slide.record is None or not self._may_show_debtors(display, effective, local.date()):
            return False
        self._sync(display, local.date())
        return slide.record.entry_id in self._by_id

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

    # --- the day's order ------------------------------------------------------------------------------

    def _key(self, entry_id: str) -> bytes:
        key = self._keys.get(entry_id)
        if key is None:
            key = self._keys[entry_id] = order_key(self._seed, entry_id)
        return key

    def _sync(self, display: DisplaySet, today: dt.date) -> None:
        if today != self._day:
            self._day = today
            self._seed = day_seed(self.screen_id, today)
            self._keys = {}
            # A new day starts a new permutation and a new cycle; _next_record fills it.
            self._cycle, self._cursor, self._in_cycle = [], 0, set()
        records = display.records
        if records is self._records:
            return
        if records != self._records:
            by_id = {record.entry_id: record for record in records}
            if self._cycle:
                # Newcomers join the current cycle rather than wait for the next one; ids already in the
                # cycle (shown, pending, or removed and back) keep their turn, so nobody is shown twice.
                added = sorted((i for i in by_id if i not in self._in_cycle), key=self._key)
                self._cycle.extend(added)
                self._in_cycle.update(added)
            self._by_id = by_id
        self._records = records

    def _start_cycle(self) -> None:
        self._cycle = sorted(self._by_id, key=self._key)
        self._cursor = 0
        self._in_cycle = set(self._cycle)
        if self.resume_slot is not None and self._resume_at is not None and self._cycle:
            local = self._resume_at
            since_midnight = dt.timedelta(hours=local.hour, minutes=local.minute, seconds=local.second)
            self._cursor = int(since_midnight / self.resume_slot) % len(self._cycle)
            # Those before the cursor are shown in this cycle's second half, by wrapping the list once.
            self._cycle = self._cycle[self._cursor :] + self._cycle[: self._cursor]
            self._cursor = 0
        # Only the first cycle of a Rotation resumes; later ones run the day's order from its start.
        self.resume_slot = None

    def _next_record(self, version: int | None, skip: frozenset[str]) -> DebtorRecord | None:
        restarted = False
        while True:
            while self._cursor < len(self._cycle):
                entry_id = self._cycle[self._cursor]
                self._cursor += 1
                # Removed (revoked, expired) ids stay in the cycle list and are passed over here, so a
                # removal costs nothing and never restarts the cycle for the others.
                record = self._by_id.get(entry_id)
                if record is not None and (not skip or record_key(entry_id, version) not in skip):
                    return record
            # At most one new cycle per call: if that one yields nothing, everything is skipped.
            if restarted or not self._by_id:
                return None
            self._start_cycle()
            restarted = True

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
