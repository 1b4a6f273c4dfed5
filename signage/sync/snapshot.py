"""The verified set as read from the cache, without python-tuf: what the painter and the sync both read.

:func:`read_snapshot` turns ``current.json`` (signage/sync/cache.py) and the objects it names into a
:class:`ContentSnapshot`. The sync service calls it after each sync (through ``ScreenSync.snapshot``); the
painter calls it through :class:`SnapshotReader` whenever the pointer changes. Nothing here opens a network
connection or imports the TUF client, so the painting process stays small (issue 15).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from signage.core.display import DisplaySet, compute_display_set, eligible_records
from signage.core.playlist import Playlist
from signage.core.records import DebtorRecord
from signage.sync.cache import ContentCache, ObjectRef, read_playlist


@dataclass(frozen=True)
class ContentSnapshot:
    """The verified set as read from disk: pure data the player keeps in memory between syncs.

    Attributes:
        channel: The channel.
        playlist: The playlist in effect, or ``None``.
        revoked: Entry ids taken down.
        revocations_version: Version of the revocations applied.
        verified_until: The freshness bound.
        time_floor: The newest trustworthy time seen; the clock is never believed below it.
    """

    channel: str
    playlist: Playlist | None
    revoked: frozenset[str]
    revocations_version: int | None
    verified_until: dt.datetime | None
    time_floor: dt.datetime | None
    # The eligible records of one local day: 35,000 records take a fraction of a second to filter, which
    # the GUI thread must not spend every second.
    _eligible: dict[dt.date, tuple[DebtorRecord, ...]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def display_set(self, now: dt.datetime) -> DisplaySet:
        """What may be shown at ``now`` (no I/O, and cached per day, so the GUI thread may call it often)."""
        at = now if self.time_floor is None or now >= self.time_floor else self.time_floor
        return compute_display_set(
            channel=self.channel,
            playlist=self.playlist,
            revoked=self.revoked,
            revocations_version=self.revocations_version,
            verified_until=self.verified_until,
            at=at,
            eligible=self._eligible_on,
        )

    def _eligible_on(
        self, playlist: Playlist, revoked: frozenset[str], day: dt.date
    ) -> tuple[DebtorRecord, ...]:
        if day not in self._eligible:
            self._eligible.clear()
            self._eligible[day] = eligible_records(playlist, revoked, day)
        return self._eligible[day]


def read_snapshot(
    cache: ContentCache,
    channel: str,
    load_playlist: Callable[[ObjectRef | None, str], Playlist | None],
    previous: ContentSnapshot | None,
    now: dt.datetime,
) -> ContentSnapshot:
    """Everything ``display_set`` needs, read from the cache once (blocking I/O: off the GUI thread).

    Today's eligible records are worked out here too, so the GUI thread finds them done: reused from
    ``previous`` when the playlist and the takedowns are the same (a poll with nothing new), else filtered
    afresh (a fifth of a second at 35,000 records, bench/scale.py).
    """
    state = cache.load_state(channel)
    snapshot = ContentSnapshot(
        channel=channel,
        playlist=load_playlist(state.playlist, state.layout),
        revoked=state.revoked,
        revocations_version=None if state.revocations is None else state.revocations.version,
        verified_until=state.verified_until,
        time_floor=cache.time_floor(),
    )
    if (
        previous is not None
        and previous.playlist is snapshot.playlist
        and previous.revoked == snapshot.revoked
    ):
        # dict.update copies under the GIL in one step, while the GUI thread may be reading the old one.
        snapshot._eligible.update(previous._eligible)
    snapshot.display_set(now)
    return snapshot


class SnapshotReader:
    """Reads the verified set for one channel, decoding each playlist once (the painter's reader).

    Args:
        cache: The screen's cache (read only, but for a file that fails its hash, which is removed).
        channel: The screen's channel.
        clock: The current time (aware UTC).
    """

    def __init__(self, cache: ContentCache, channel: str, clock: Callable[[], dt.datetime]) -> None:
        self.cache = cache
        self._channel = channel
        self._clock = clock
        self._playlists: dict[str, Playlist] = {}
        self._last: ContentSnapshot | None = None

    def read(self) -> ContentSnapshot:
        """The set ``current.json`` names now."""
        self._last = read_snapshot(self.cache, self._channel, self._load_playlist, self._last, self._clock())
        return self._last

    def _load_playlist(self, ref: ObjectRef | None, layout: str) -> Playlist | None:
        if ref is None:
            return None
        cached = self._playlists.get(ref.sha256)
        if cached is not None:
            return cached
        read = read_playlist(self.cache, ref, layout, self._channel)
        if read is None:
            return None
        # Only the playlist in effect is kept: the previous one is garbage once no snapshot holds it.
        self._playlists = {ref.sha256: read[0]}
        return read[0]
