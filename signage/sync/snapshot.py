"""The verified set as read from the cache, without python-tuf: what the painter and the sync both read.

:func:`read_snapshot` turns ``current.json`` (signage/sync/cache.py) and the objects it names into a
:class:`ContentSnapshot`. The sync service calls it after each sync (through ``ScreenSync.snapshot``); the
painter calls it through :class:`SnapshotReader` whenever the pointer changes. Nothing here opens a network
connection or imports the TUF client, so the painting process stays small (issue 15).

The painter reads the compact index the sync service wrote (signage/sync/index.py) instead of the
playlist: its snapshot's ``playlist`` is the header (no records), its display sets hold
:class:`~signage.core.display.EntryRef` handles, and :meth:`ContentSnapshot.resolve` loads the records of a
slide when it is rendered. A pointer without an index (written before it existed) is read the old way.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from signage.core.display import (
    DisplaySet,
    Entry,
    EntryRef,
    compact_eligible,
    compute_display_set,
    eligible_records,
    with_allowed_qr,
)
from signage.core.errors import ContentError
from signage.core.playlist import Playlist, record_hash
from signage.core.records import DebtorRecord
from signage.sync.cache import CacheState, ContentCache, ObjectRef, read_playlist
from signage.sync.index import CompactIndex, open_index

log = logging.getLogger(__name__)


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
        index: The compact index the set was read from (the painter), or ``None`` (full records in
            ``playlist``). With one, ``playlist`` is the header only.
    """

    channel: str
    playlist: Playlist | None
    revoked: frozenset[str]
    revocations_version: int | None
    verified_until: dt.datetime | None
    time_floor: dt.datetime | None
    index: CompactIndex | None = field(default=None, compare=False, repr=False)
    # The eligible records of one local day: 35,000 records take a fraction of a second to filter, which
    # the GUI thread must not spend every second.
    _eligible: dict[dt.date, tuple[Entry, ...]] = field(default_factory=dict, compare=False, repr=False)

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

    def _eligible_on(self, playlist: Playlist, revoked: frozenset[str], day: dt.date) -> tuple[Entry, ...]:
        if day not in self._eligible:
            self._eligible.clear()
            self._eligible[day] = (
                eligible_records(playlist, revoked, day)
                if self.index is None
                else compact_eligible(self.index.columns, revoked, day)
            )
        return self._eligible[day]

    def resolve(self, entries: Sequence[Entry]) -> tuple[DebtorRecord, ...]:
        """The full records of a slide's ``entries`` (blocking I/O with an index: the render thread only).

        Handles are loaded from the index and their QR links filtered as :func:`eligible_records` does;
        full records (no index) are already filtered.

        Raises:
            ContentError: an entry cannot be loaded (the slide fails to render and is skipped for a while).
        """
        handles = [entry for entry in entries if isinstance(entry, EntryRef)]
        if not handles:
            return tuple(entry for entry in entries if isinstance(entry, DebtorRecord))
        if self.index is None or self.playlist is None or len(handles) != len(entries):
            raise ContentError("条目不属于当前名单", "the slide's entries are not the current set's")
        hosts = self.playlist.qr_hosts
        return tuple(with_allowed_qr(record, hosts) for record in self.index.records(handles))

    def entry_hash(self, entry: Entry) -> str | None:
        """The record hash proof of play names ``entry`` by (blocking I/O with an index: not the GUI thread)."""
        if isinstance(entry, DebtorRecord):
            return record_hash(entry)
        return None if self.index is None else self.index.entry_hash(entry.entry_id)


def read_snapshot(
    cache: ContentCache,
    channel: str,
    load_playlist: Callable[[ObjectRef | None, str], Playlist | None],
    previous: ContentSnapshot | None,
    now: dt.datetime,
    load_index: Callable[[CacheState], CompactIndex | None] | None = None,
) -> ContentSnapshot:
    """Everything ``display_set`` needs, read from the cache once (blocking I/O: off the GUI thread).

    Today's eligible records are worked out here too, so the GUI thread finds them done: reused from
    ``previous`` when the playlist and the takedowns are the same (a poll with nothing new), else filtered
    afresh (a fifth of a second at 35,000 records, bench/scale.py). With ``load_index`` (the painter), the
    compact index ``current.json`` names is used when there is one, and the playlist is not read.
    """
    state = cache.load_state(channel)
    index = None if load_index is None else load_index(state)
    snapshot = ContentSnapshot(
        channel=channel,
        playlist=load_playlist(state.playlist, state.layout) if index is None else index.playlist,
        index=index,
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
        self._indexes: dict[str, CompactIndex] = {}
        self._last: ContentSnapshot | None = None

    def read(self) -> ContentSnapshot:
        """The set ``current.json`` names now."""
        self._last = read_snapshot(
            self.cache, self._channel, self._load_playlist, self._last, self._clock(), self._load_index
        )
        return self._last

    def _load_index(self, state: CacheState) -> CompactIndex | None:
        if state.index is None:
            if state.playlist is not None:
                log.info("no compact index yet (the sync service builds one); reading the whole playlist")
            return None
        cached = self._indexes.get(state.index.sha256)
        if cached is not None:
            return cached
        index = open_index(self.cache, state)
        # Only the index in effect is kept; an old one closes when no snapshot (or queued render) holds it.
        self._indexes = {} if index is None else {state.index.sha256: index}
        if index is not None:
            self._playlists.clear()
        return index

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
