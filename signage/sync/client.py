"""The screen's sync: verify with python-tuf, keep a complete last verified set, say what may be shown.

``sync_once()`` blocks (run it on a worker thread); ``current(now)`` is cheap and pure but for reading
the cache. Order matters: revocations are fetched and applied before the playlist and its photos, so a
takedown never waits behind a large download. Every failure leaves the last verified set in place and
comes back as a :class:`SyncResult` state; :class:`StateLog` logs a line only when the state changes.

The playlist comes sharded when the hub has it so (``signage.core.playlist``): the header from the top-level
targets, then only the shards the cache lacks, each found through its hashed bin (python-tuf follows the
delegation, fetching that bin's metadata alone). A one-row change costs the header, one shard and one bin.
A hub with no header yet gets the single file, as screens before the sharded form did. Either way the new
set is switched to only once complete, as one :class:`Playlist`.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tuf.api import exceptions as tuf_errors
from tuf.api.metadata import Metadata, TargetFile, Timestamp
from tuf.ngclient import Updater, UpdaterConfig

from signage.core.display import DisplaySet
from signage.core.errors import ContentError, DiskError, SignageError, TrustError
from signage.core.playlist import (
    MAX_HEADER_BYTES,
    MAX_PLAYLIST_BYTES,
    MAX_REVOCATIONS_BYTES,
    MAX_SHARD_BYTES,
    Playlist,
    Revocations,
    decode_header,
    decode_playlist,
    decode_revocations,
    decode_shard,
    header_path,
    playlist_path,
    revocations_path,
    shard_path,
)
from signage.core.records import DebtorRecord
from signage.sync.cache import SHARDED, SINGLE, CacheState, ContentCache, ObjectRef, disk_error, read_playlist
from signage.sync.config import PlayerConfig
from signage.sync.fetcher import HttpFetcher
from signage.sync.index import with_index
from signage.sync.photos import download_photos, missing_photos
from signage.sync.snapshot import ContentSnapshot as ContentSnapshot  # re-exported
from signage.sync.snapshot import read_snapshot

log = logging.getLogger(__name__)

# Bounds on what a screen downloads before verification (endless-data attacks): metadata stays small
# because photos are not TUF targets, and playlists are bounded by their own format limit. The hashed
# bins are read under the snapshot's signed length of each, else targets_max_length; headers and shards
# under their signed length, capped by MAX_HEADER_BYTES and MAX_SHARD_BYTES.
UPDATER_LIMITS = UpdaterConfig(
    root_max_length=512 * 1024,
    timestamp_max_length=16 * 1024,
    snapshot_max_length=256 * 1024,
    targets_max_length=512 * 1024,
)


class SyncState(enum.StrEnum):
    """How a sync ended."""

    UPDATED = "updated"
    UNCHANGED = "unchanged"
    REFUSED = "refused"
    OFFLINE = "offline"
    DISK = "disk"


@dataclass(frozen=True)
class SyncResult:
    """The outcome of one sync.

    Attributes:
        state: How it ended.
        zh: What happened, in Chinese.
        en: What happened, in English.
        playlist_version: The playlist version in effect afterwards.
        revocations_version: The revocations version in effect afterwards.
        verified_until: The freshness bound in effect afterwards.
        photos_downloaded: Photos fetched in this sync.
        bytes_received: Bytes read from the network in this sync.
    """

    state: SyncState
    zh: str
    en: str
    playlist_version: int | None = None
    revocations_version: int | None = None
    verified_until: dt.datetime | None = None
    photos_downloaded: int = 0
    bytes_received: int = 0

    @property
    def ok(self) -> bool:
        """Whether the sync succeeded (new content or none)."""
        return self.state in (SyncState.UPDATED, SyncState.UNCHANGED)


class StateLog:
    """Logs a sync outcome only when its state or reason changes: never one line per poll.

    A hub flapping between two failures changes state at every poll; an outcome already logged within
    ``repeat_after`` is therefore not logged again, so the journal gets a line per distinct state per period.
    """

    def __init__(
        self,
        logger: logging.Logger = log,
        *,
        repeat_after: float = 600.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._last: tuple[SyncState, str] | None = None
        self._logged_at: dict[tuple[SyncState, str], float] = {}
        self._repeat_after = repeat_after
        self._monotonic = monotonic

    def record(self, result: SyncResult) -> bool:
        """Log ``result`` if it differs from the previous one and was not logged lately; returns whether it did."""
        key = (result.state, result.en if not result.ok else "")
        if key == self._last:
            return False
        self._last = key
        now = self._monotonic()
        seen = self._logged_at.get(key)
        if seen is not None and now - seen < self._repeat_after:
            return False
        self._logged_at = {k: t for k, t in self._logged_at.items() if now - t < self._repeat_after}
        self._logged_at[key] = now
        level = logging.INFO if result.ok else logging.WARNING
        self._logger.log(level, "sync %s: %s", result.state, result.en)
        return True


class ScreenSync:
    """One screen's view of its channel.

    Args:
        config: The screen's configuration.
        fetcher: The HTTP client (shared with photo downloads; it records the hub's Date header).
        clock: Returns the local time (aware, UTC); the trusted time is never earlier than the floor.
        sharded: Read the sharded playlist when the hub has one (the default). ``False`` reads only the
            single file, as screens before the sharded form did (tests and bench/delta.py compare them).
    """

    def __init__(
        self,
        config: PlayerConfig,
        *,
        fetcher: HttpFetcher,
        clock: Callable[[], dt.datetime],
        sharded: bool = True,
    ) -> None:
        self._config = config
        self._sharded = sharded
        self._fetcher = fetcher
        self._clock = clock
        self.cache = ContentCache(config.cache_dir)
        self._hub = config.hub_url.rstrip("/") + "/"
        # Parsed documents by hash: a 35,000-record playlist is decoded once, not on every current().
        self._playlists: dict[str, Playlist] = {}
        # The shard objects of each sharded playlist above, by the header's hash.
        self._parts: dict[str, tuple[ObjectRef, ...]] = {}
        self._last_snapshot: ContentSnapshot | None = None

    # --- time ----------------------------------------------------------------------------------------

    def trusted_now(self, now: dt.datetime | None = None) -> dt.datetime:
        """``now`` (or the clock), but never earlier than the persisted time floor."""
        moment = now if now is not None else self._clock()
        floor = self.cache.time_floor()
        return moment if floor is None or moment >= floor else floor

    # --- what may be shown ---------------------------------------------------------------------------

    def current(self, now: dt.datetime) -> DisplaySet:
        """The records and notices that may be shown at ``now`` (never before the time floor)."""
        return self.snapshot().display_set(now)

    def snapshot(self) -> ContentSnapshot:
        """Everything ``current`` needs, read from the cache once (blocking I/O: call it off the GUI thread).

        Today's eligible records are worked out here too, so the GUI thread finds them done: reused from the
        previous snapshot when the playlist and the takedowns are the same (a poll with nothing new), else
        filtered afresh (a fifth of a second at 35,000 records, bench/scale.py).
        """
        snapshot = read_snapshot(
            self.cache, self._config.channel, self._load_playlist, self._last_snapshot, self._clock()
        )
        self._last_snapshot = snapshot
        return snapshot

    def _load_playlist(self, ref: ObjectRef | None, layout: str) -> Playlist | None:
        """The set's playlist from the cache (a single file, or a header and its shards), or ``None``."""
        if ref is None:
            return None
        cached = self._playlists.get(ref.sha256)
        if cached is not None:
            return cached
        read = read_playlist(self.cache, ref, layout, self._config.channel)
        if read is None:
            return None
        playlist, parts = read
        self._playlists = {ref.sha256: playlist}
        self._parts = {ref.sha256: parts}
        return playlist

    # --- syncing -------------------------------------------------------------------------------------

    def sync_once(self, *, full: bool = True) -> SyncResult:
        """Refresh trusted metadata and bring the set up to date; never raises for expected failures.

        Args:
            full: Also fetch a new playlist and its photos. ``False`` is the cheap, frequent check that
                applies revocations only.
        """
        counted_from = self._fetcher.bytes_received
        photos = 0
        try:
            self.cache.prepare()
            before = self.cache.load_state(self._config.channel)
            if before.verified_until is not None:
                # Even offline, time that has passed stays passed: a clock reset later cannot revive the set.
                # Capped at the bound, so a wrong future clock blanks the screen only until the next sync.
                self.cache.raise_time_floor(min(self._clock(), before.verified_until))
            updater = self._updater()
            updater.refresh()
            state, verified_until = self._after_refresh(before)
            state = self._apply_revocations(updater, state)
            if full:
                state, photos = self._apply_playlist(updater, state)
            # Freshness is extended only when the playlist in effect is the one the verified targets name:
            # a set whose newer playlist could not be fetched must not stay fresh on old data.
            current = self._matches_targets(updater, state)
            if current:
                state = state.with_changes(verified_until=verified_until)
            # The painter's compact index of the set, built before the switch names it (signage/sync/index.py).
            state = with_index(self.cache, state, self._load_playlist(state.playlist, state.layout))
            self.cache.switch(state)
            if full:
                self._collect(state)
            else:
                self._drop_revoked(state)
            self.cache.sync_tuf_metadata()
        except tuf_errors.DownloadError as error:
            return self._result(SyncState.OFFLINE, *_network_message(error), counted_from)
        except (tuf_errors.RepositoryError, TrustError, ContentError) as error:
            return self._result(SyncState.REFUSED, *_refusal_message(error), counted_from)
        except DiskError as error:
            return self._result(SyncState.DISK, error.zh, error.en, counted_from)
        except OSError as error:
            # python-tuf writes its metadata itself; a full or read-only disk surfaces here.
            disk = disk_error(error, "write the trusted metadata")
            return self._result(SyncState.DISK, disk.zh, disk.en, counted_from)
        changed = (state.playlist, state.revocations) != (before.playlist, before.revocations)
        if not current:
            return self._result(
                SyncState.UPDATED if changed else SyncState.UNCHANGED,
                "撤回已应用；新名单将在下次完整同步时下载",
                "takedowns applied; the new playlist comes with the next full sync",
                counted_from,
            )
        if changed:
            return self._result(SyncState.UPDATED, "内容已更新", "new content applied", counted_from, photos)
        return self._result(
            SyncState.UNCHANGED, "内容无变化，时效已延长", "nothing new; freshness extended", counted_from
        )

    def _matches_targets(self, updater: Updater, state: CacheState) -> bool:
        """Whether the set's playlist is the one the verified targets name now (in the form it has)."""
        channel = self._config.channel
        header = updater.get_targetinfo(header_path(channel)) if self._sharded else None
        if state.playlist is not None and state.layout == SHARDED:
            return header is not None and state.playlist.sha256 == header.hashes["sha256"]
        single = updater.get_targetinfo(playlist_path(channel))
        if state.playlist is None:
            return header is None and single is None
        # A screen still on the single file while moving over: the same publish, as current as the header.
        return single is not None and state.playlist.sha256 == single.hashes["sha256"]

    def _updater(self) -> Updater:
        try:
            bootstrap = self._config.root.read_bytes()
        except OSError as error:
            raise TrustError(
                f"无法读取信任根文件 {self._config.root}",
                f"cannot read the trusted root {self._config.root}: {error}",
            ) from None
        # Bootstrapping from the installed root every time walks the root chain again (cheaply, from the
        # local copies), so a root.json damaged by a power cut is never trusted as the start.
        return Updater(
            metadata_dir=str(self.cache.tuf_dir),
            metadata_base_url=self._hub + "metadata/",
            target_base_url=self._hub + "targets/",
            fetcher=self._fetcher,
            config=UPDATER_LIMITS,
            bootstrap=bootstrap,
        )

    def _after_refresh(self, before: CacheState) -> tuple[CacheState, dt.datetime]:
        timestamp = Metadata[Timestamp].from_file(str(self.cache.tuf_dir / "timestamp.json")).signed
        if timestamp.version < before.timestamp_version:
            # python-tuf checks this too, but its local copy may have been lost; this record was fsynced.
            raise TrustError(
                f"收到的时间戳版本 {timestamp.version} 低于已接受的 {before.timestamp_version}：回滚攻击，已拒绝",
                f"timestamp version {timestamp.version} is older than the accepted {before.timestamp_version}: "
                "rollback refused",
            )
        # The time floor: the local clock and the hub's Date on this verified response, each capped at what
        # the hub just signed, so neither a wrong clock nor a forged Date can push it past the bound.
        now = self._clock()
        candidates = [min(now, timestamp.expires)]
        if self._fetcher.last_date is not None:
            candidates.append(min(self._fetcher.last_date, timestamp.expires))
        floor = self.cache.raise_time_floor(max(candidates))
        state = before.with_changes(timestamp_version=timestamp.version, synced_at=max(now, floor))
        return state, timestamp.expires

    def _apply_revocations(self, updater: Updater, state: CacheState) -> CacheState:
        info = updater.get_targetinfo(revocations_path(self._config.channel))
        if info is None:
            return state.with_changes(revocations=None)
        ref = _ref(info)
        if state.revocations is not None and ref.sha256 == state.revocations.sha256 and self.cache.has(ref):
            return state
        data = self._download_target(updater, info, ref, MAX_REVOCATIONS_BYTES)
        revocations = decode_revocations(data, channel=self._config.channel)
        if state.revocations is not None and revocations.version < state.revocations.version:
            raise TrustError(
                f"撤回清单版本 {revocations.version} 低于已应用的 {state.revocations.version}：已拒绝",
                f"revocations version {revocations.version} is older than the applied "
                f"{state.revocations.version}: refused",
            )
        revoked = _effective_revocations(state, revocations)
        state = state.with_changes(
            revocations=ObjectRef(ref.sha256, ref.length, revocations.version), revoked=revoked
        )
        # Removals go ahead of additions: switch now, before any playlist or photo download.
        self.cache.switch(state)
        self._drop_revoked(state)
        return state

    def _apply_playlist(self, updater: Updater, state: CacheState) -> tuple[CacheState, int]:
        if self._sharded:
            info = updater.get_targetinfo(header_path(self._config.channel))
            if info is not None:
                return self._apply_sharded(updater, state, info)
        info = updater.get_targetinfo(playlist_path(self._config.channel))
        if info is None:
            return state.with_changes(playlist=None, layout=SINGLE), 0
        ref = _ref(info)
        # Unchanged and complete: nothing to do. A file deleted at start for failing its hash makes the set
        # incomplete, and this sync fetches it again.
        if self._unchanged(state, ref, SINGLE):
            return state, 0
        data = self._download_target(updater, info, ref, MAX_PLAYLIST_BYTES)
        playlist = decode_playlist(data, channel=self._config.channel)
        return self._take(state, ref, SINGLE, playlist, ())

    def _apply_sharded(self, updater: Updater, state: CacheState, info: TargetFile) -> tuple[CacheState, int]:
        """Fetch the header, then only the shards the cache lacks, and put the playlist together."""
        channel = self._config.channel
        ref = _ref(info)
        if self._unchanged(state, ref, SHARDED):
            return state, 0
        header = decode_header(self._download_target(updater, info, ref, MAX_HEADER_BYTES), channel=channel)
        # Refused before any shard is fetched: an old header names old shards the cache may still hold.
        self._check_version(header.playlist.version, state)
        records: list[DebtorRecord] = []
        parts: list[ObjectRef] = []
        for index, shard in enumerate(header.shards):
            if shard is None:
                continue
            part = ObjectRef(shard.sha256, shard.length)
            data = self.cache.read(part)
            if data is None:
                # The bin's entry must be the very shard the header names: both are signed with the targets
                # key, so a difference is a repository mixing versions, never to be trusted.
                path = shard_path(channel, index)
                shard_info = updater.get_targetinfo(path)
                if shard_info is None or _ref(shard_info) != part:
                    raise TrustError(
                        f"分片 {index} 与名单头记录的不符：已拒绝，继续播放旧名单",
                        f"shard {index} is not the one the playlist header names: refused; the old set plays on",
                    )
                data = self._download_target(updater, shard_info, part, MAX_SHARD_BYTES)
            records.extend(decode_shard(data, channel=channel, index=index, count=len(header.shards)))
            parts.append(part)
        playlist = header.assemble(records)
        return self._take(state, ref, SHARDED, playlist, tuple(parts))

    def _unchanged(self, state: CacheState, ref: ObjectRef, layout: str) -> bool:
        return (
            state.playlist is not None
            and state.layout == layout
            and ref.sha256 == state.playlist.sha256
            and self._complete(state)
        )

    def _check_version(self, version: int, state: CacheState) -> None:
        if state.playlist is not None and version < state.playlist.version:
            raise TrustError(
                f"名单版本 {version} 低于已播放的 {state.playlist.version}：已拒绝",
                f"playlist version {version} is older than the playing {state.playlist.version}: refused",
            )

    def _take(
        self, state: CacheState, ref: ObjectRef, layout: str, playlist: Playlist, parts: tuple[ObjectRef, ...]
    ) -> tuple[CacheState, int]:
        """The state with the verified ``playlist`` (its photos fetched), not yet switched to."""
        self._check_version(playlist.version, state)
        revocations = None
        if state.revocations is not None:
            revocation_data = self.cache.read(state.revocations)
            if revocation_data is not None:
                revocations = decode_revocations(revocation_data, channel=self._config.channel)
        revoked = state.revoked
        if revocations is not None and playlist.version >= revocations.playlist_version:
            revoked = revocations.entry_ids()
        downloaded = self._fetch_photos(playlist.records, revoked)
        # Beside the set in effect (never instead of it) until the switch: a failed sync collects nothing.
        self._playlists[ref.sha256] = playlist
        self._parts[ref.sha256] = parts
        return state.with_changes(
            playlist=ObjectRef(ref.sha256, ref.length, playlist.version), revoked=revoked, layout=layout
        ), downloaded

    def _fetch_photos(self, records: Sequence[DebtorRecord], revoked: frozenset[str]) -> int:
        """Fetch the photos of ``records`` not revoked and not yet cached; returns how many were fetched.

        Bounded parallel downloads, each verified on its way into the cache (signage/sync/photos.py).
        Photos already fetched by an earlier, interrupted sync are not fetched again.
        """
        return download_photos(
            missing_photos(records, revoked, self.cache),
            cache=self.cache,
            base_url=self._hub,
            fetcher=self._fetcher,
            workers=self._config.photo_downloads,
            deadline=self._config.photo_deadline_seconds,
        ).downloaded

    def _download_target(self, updater: Updater, info: TargetFile, ref: ObjectRef, limit: int) -> bytes:
        if ref.length > limit:
            raise TrustError(
                f"{info.path} 有 {ref.length} 字节，超过上限 {limit}",
                f"{info.path} is {ref.length} bytes, over the {limit}-byte limit",
            )
        existing = self.cache.read(ref)
        if existing is not None:
            return existing
        # python-tuf checks length and hash before it writes; the cache checks them again on the way in.
        path = self.cache.object_path(ref.sha256).with_suffix(".download")
        updater.download_target(info, filepath=str(path))
        data = Path(path).read_bytes()
        path.unlink(missing_ok=True)
        self.cache.put(data, ref)
        return data

    def _complete(self, state: CacheState) -> bool:
        """Whether every file of the set is on disk (the playlist or its header and shards, and the photos
        of entries not revoked)."""
        if state.playlist is None or not self.cache.has(state.playlist):
            return False
        playlist = self._load_playlist(state.playlist, state.layout)
        if playlist is None or not all(
            self.cache.has(part) for part in self._parts.get(state.playlist.sha256, ())
        ):
            return False
        return all(
            self.cache.has(ObjectRef(record.photo.sha256, record.photo.length))
            for record in playlist.records
            if record.photo is not None and record.entry_id not in state.revoked
        )

    def _drop_revoked(self, state: CacheState) -> None:
        """After a takedown, delete the photos of the entries now revoked, and nothing else.

        A full collect here would also delete what an interrupted full sync had fetched for a newer set (a
        photo deadline on a slow link, a power cut), and the next full sync would start from nothing again;
        those objects are collected only after a full sync (``_collect``).
        """
        playlist = self._load_playlist(state.playlist, state.layout)
        if playlist is None or not state.revoked:
            return
        drop = {
            r.photo.sha256 for r in playlist.records if r.photo is not None and r.entry_id in state.revoked
        }
        drop -= {
            r.photo.sha256
            for r in playlist.records
            if r.photo is not None and r.entry_id not in state.revoked
        }
        if drop:
            self.cache.discard(drop)

    def _collect(self, state: CacheState) -> None:
        keep: set[str] = set()
        for ref in (state.playlist, state.revocations, state.index):
            if ref is not None:
                keep.add(ref.sha256)
        playlist = self._load_playlist(state.playlist, state.layout)
        if state.playlist is not None and playlist is None:
            return  # the playlist is being fetched again; its photos stay meanwhile
        if state.playlist is not None:
            keep.update(part.sha256 for part in self._parts.get(state.playlist.sha256, ()))
        if playlist is not None:
            keep.update(
                record.photo.sha256
                for record in playlist.records
                if record.photo is not None and record.entry_id not in state.revoked
            )
        self.cache.collect(keep)

    def _result(self, state: SyncState, zh: str, en: str, counted_from: int, photos: int = 0) -> SyncResult:
        current = self.cache.load_state(self._config.channel)
        return SyncResult(
            state=state,
            zh=zh,
            en=en,
            playlist_version=None if current.playlist is None else current.playlist.version,
            revocations_version=None if current.revocations is None else current.revocations.version,
            verified_until=current.verified_until,
            photos_downloaded=photos,
            bytes_received=self._fetcher.bytes_received - counted_from,
        )


def _ref(info: TargetFile) -> ObjectRef:
    return ObjectRef(info.hashes["sha256"], info.length)


def _effective_revocations(state: CacheState, revocations: Revocations) -> frozenset[str]:
    """Takedowns in effect once ``revocations`` arrives.

    A publish folds earlier takedowns into the new playlist and starts an empty list. A screen still on
    the older playlist must keep the takedowns it had, so until it plays the newer playlist the sets add.
    """
    playing = 0 if state.playlist is None else state.playlist.version
    if playing >= revocations.playlist_version:
        return revocations.entry_ids()
    return state.revoked | revocations.entry_ids()


def _network_message(error: tuf_errors.DownloadError) -> tuple[str, str]:
    if isinstance(error, tuf_errors.DownloadHTTPError):
        return (f"集线器返回 HTTP {error.status_code}", f"the hub answered HTTP {error.status_code}")
    if isinstance(error, tuf_errors.SlowRetrievalError):
        return ("集线器响应过慢或无响应", "the hub was too slow or hung")
    if isinstance(error, tuf_errors.DownloadLengthMismatchError):
        return ("下载内容超过长度上限，已拒绝", "a download exceeded its length limit; refused")
    return (f"无法连接集线器（{error}）", f"cannot reach the hub ({error})")


def _refusal_message(error: Exception) -> tuple[str, str]:
    if isinstance(error, SignageError):
        return error.zh, error.en
    kinds = {
        tuf_errors.BadVersionNumberError: ("版本回滚", "rollback to an older version"),
        tuf_errors.ExpiredMetadataError: ("元数据已过期", "expired metadata"),
        tuf_errors.UnsignedMetadataError: ("签名无效或密钥未知", "bad signature or unknown key"),
        tuf_errors.LengthOrHashMismatchError: ("长度或哈希不符", "length or hash mismatch"),
    }
    for kind, (zh, en) in kinds.items():
        if isinstance(error, kind):
            return f"已拒绝：{zh}（{error}）", f"refused: {en} ({error})"
    return f"已拒绝：{error}", f"refused: {error}"
