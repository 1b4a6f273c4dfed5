"""What may be shown at a given moment: the lawful-display decision, as one pure function.

Everything here takes the time as an argument. A record is displayable only if the set is verified and
fresh, the record is not revoked, its status and listing term allow it (and the screen-side re-check of
mask and minors in :meth:`DebtorRecord.is_displayable` passes), and the moment lies inside a daypart.
A QR link survives only when it is https to a host the channel allows.

The painter (issue 15) holds no :class:`DebtorRecord` per entry: it decides over compact columns
(:class:`CompactEntries`: an :class:`EntryRef` and the record's :class:`~signage.core.records.DisplayWindow`
as day ordinals per entry, built from the same :meth:`DebtorRecord.display_window`), with
:func:`compact_eligible` in place of :func:`eligible_records`; the rest of :func:`compute_display_set`
(freshness, dayparts, notices) is the same code for both. The records themselves are loaded when a slide
is rendered, their QR links filtered then (:func:`with_allowed_qr`).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol
from urllib.parse import urlsplit

from signage.core.playlist import Playlist
from signage.core.records import DebtorRecord, DisplayWindow, Notice

#: The ``ends`` ordinal of an entry whose listing has no term end: after every real day.
NO_END = dt.date.max.toordinal() + 1


class Entry(Protocol):
    """What deciding and rotating need of an entry: a full :class:`DebtorRecord` or a compact
    :class:`EntryRef` (the painter's)."""

    @property
    def entry_id(self) -> str:
        """The stable entry id."""
        ...

    @property
    def is_person(self) -> bool:
        """A person's slide (else an organisation's)."""
        ...


@dataclass(frozen=True, slots=True)
class EntryRef:
    """An entry as the painter holds it: three slots, no record (loaded when its slide is rendered).

    Attributes:
        entry_id: The stable entry id.
        is_person: Whether the debtor is a person.
        position: Where the record stands in the playlist (and in the compact index).
    """

    entry_id: str
    is_person: bool
    position: int


@dataclass(frozen=True)
class CompactEntries:
    """The decision's columns for every entry that may ever be shown, in playlist order.

    Attributes:
        entries: The entries.
        first: Per entry, the ordinal of the first day it may be shown.
        ends: Per entry, the ordinal of the first day it may no longer be shown (:data:`NO_END`: none).
    """

    entries: tuple[EntryRef, ...]
    first: Sequence[int]
    ends: Sequence[int]

    @classmethod
    def of(cls, records: Iterable[DebtorRecord]) -> CompactEntries:
        """The columns of ``records`` (records that may never be shown are left out)."""
        entries: list[EntryRef] = []
        first: list[int] = []
        ends: list[int] = []
        for position, record in enumerate(records):
            window = record.display_window()
            if window is None:
                continue
            entries.append(EntryRef(record.entry_id, record.is_person, position))
            start, end = window_ordinals(window)
            first.append(start)
            ends.append(end)
        return cls(tuple(entries), first, ends)


def window_ordinals(window: DisplayWindow) -> tuple[int, int]:
    """A display window as the compact columns store it: (first day, first day after) as ordinals."""
    return window.first.toordinal(), NO_END if window.ends is None else window.ends.toordinal()


def compact_eligible(columns: CompactEntries, revoked: frozenset[str], day: dt.date) -> tuple[EntryRef, ...]:
    """:func:`eligible_records` over compact columns: the entries that may be shown on the local ``day``."""
    today = day.toordinal()
    return tuple(
        entry
        for entry, first, ends in zip(columns.entries, columns.first, columns.ends, strict=True)
        if first <= today < ends and entry.entry_id not in revoked
    )


class Withheld(enum.StrEnum):
    """Why no debtor record is shown, when none is."""

    NOTHING_PUBLISHED = "nothing-published"
    STALE = "stale"
    OUTSIDE_DAYPART = "outside-daypart"
    NONE_DISPLAYABLE = "none-displayable"


@dataclass(frozen=True)
class DisplaySet:
    """The records and notices a screen may show at one moment (pure data).

    Attributes:
        channel: The channel.
        at: The moment this set was computed for.
        playlist_version: Version of the playlist on disk, or ``None``.
        revocations_version: Version of the revocations applied, or ``None``.
        verified_until: The freshness bound, or ``None`` if never verified.
        fresh: Whether ``at`` is before ``verified_until``.
        records: Displayable debtor records (full records, or the painter's :class:`EntryRef`), in
            playlist order.
        notices: Notices inside their window.
        sample: The content is fictional sample data.
        withheld: Why ``records`` is empty, or ``None`` when it is not.
    """

    channel: str
    at: dt.datetime
    playlist_version: int | None
    revocations_version: int | None
    verified_until: dt.datetime | None
    fresh: bool
    records: tuple[Entry, ...] = ()
    notices: tuple[Notice, ...] = ()
    sample: bool = False
    withheld: Withheld | None = None


def compute_display_set(
    *,
    channel: str,
    playlist: Playlist | None,
    revoked: frozenset[str],
    revocations_version: int | None,
    verified_until: dt.datetime | None,
    at: dt.datetime,
    eligible: Callable[[Playlist, frozenset[str], dt.date], Sequence[Entry]] | None = None,
) -> DisplaySet:
    """Decide what may be shown at ``at`` (an aware datetime, already the screen's trusted time).

    ``eligible`` may replace :func:`eligible_records` with a cached version of it, or with
    :func:`compact_eligible` over the painter's columns (``playlist`` is then the header, without records).
    """
    fresh = verified_until is not None and at < verified_until
    base = DisplaySet(
        channel=channel,
        at=at,
        playlist_version=None if playlist is None else playlist.version,
        revocations_version=revocations_version,
        verified_until=verified_until,
        fresh=fresh,
    )
    if playlist is None:
        return replace(base, withheld=Withheld.NOTHING_PUBLISHED)
    local = (at + playlist.utc_offset).replace(tzinfo=None)
    notices = tuple(notice for notice in playlist.notices if notice.is_displayable(at))
    base = replace(base, notices=notices, sample=playlist.sample)
    if not fresh:
        # Issue 3: a screen that cannot confirm fresh data hides every debtor slide.
        return replace(base, withheld=Withheld.STALE)
    if playlist.dayparts and not any(daypart.contains(local) for daypart in playlist.dayparts):
        return replace(base, withheld=Withheld.OUTSIDE_DAYPART)
    records = tuple((eligible or eligible_records)(playlist, revoked, local.date()))
    return replace(base, records=records, withheld=None if records else Withheld.NONE_DISPLAYABLE)


def eligible_records(playlist: Playlist, revoked: frozenset[str], day: dt.date) -> tuple[DebtorRecord, ...]:
    """The records that may be shown on the local ``day``, QR links filtered: the costly, cacheable part.

    It depends only on its arguments, so a caller may keep the result for the rest of the day.
    """
    return tuple(
        with_allowed_qr(record, playlist.qr_hosts)
        for record in playlist.records
        if record.entry_id not in revoked and record.is_displayable(day)
    )


def qr_allowed(url: str, hosts: frozenset[str]) -> bool:
    """Whether ``url`` is https to one of ``hosts`` (exactly; no subdomains by implication)."""
    parts = urlsplit(url)
    return (
        parts.scheme == "https"
        and parts.hostname is not None
        and parts.hostname in hosts
        and not parts.username
    )


def with_allowed_qr(record: DebtorRecord, hosts: frozenset[str]) -> DebtorRecord:
    """``record`` without its QR link unless :func:`qr_allowed` (the painter applies it when it loads one)."""
    if record.qr_url is None or qr_allowed(record.qr_url, hosts):
        return record
    return replace(record, qr_url=None)
