"""What may be shown at a given moment: the lawful-display decision, as one pure function.

Everything here takes the time as an argument. A record is displayable only if the set is verified and
fresh, the record is not revoked, its status and listing term allow it (and the screen-side re-check of
mask and minors in :meth:`DebtorRecord.is_displayable` passes), and the moment lies inside a daypart.
A QR link survives only when it is https to a host the channel allows.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from signage.core.playlist import Playlist
from signage.core.records import DebtorRecord, Notice


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
        records: Displayable debtor records, in playlist order.
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
    records: tuple[DebtorRecord, ...] = ()
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
    eligible: Callable[[Playlist, frozenset[str], dt.date], tuple[DebtorRecord, ...]] | None = None,
) -> DisplaySet:
    """Decide what may be shown at ``at`` (an aware datetime, already the screen's trusted time).

    ``eligible`` may replace :func:`eligible_records` with a cached version of it.
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
    records = (eligible or eligible_records)(playlist, revoked, local.date())
    return replace(base, records=records, withheld=None if records else Withheld.NONE_DISPLAYABLE)


def eligible_records(playlist: Playlist, revoked: frozenset[str], day: dt.date) -> tuple[DebtorRecord, ...]:
    """The records that may be shown on the local ``day``, QR links filtered: the costly, cacheable part.

    It depends only on its arguments, so a caller may keep the result for the rest of the day.
    """
    return tuple(
        _with_allowed_qr(record, playlist.qr_hosts)
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


def _with_allowed_qr(record: DebtorRecord, hosts: frozenset[str]) -> DebtorRecord:
    if record.qr_url is None or qr_allowed(record.qr_url, hosts):
        return record
    return replace(record, qr_url=None)
