"""The screen's last verified set on disk: content-addressed objects and one small pointer file.

::

    cache_dir/
        tuf/            python-tuf's trusted metadata (ngclient keeps it; no offline mode of its own)
        objects/<sha256> playlists (single files, or headers and shards), revocation documents and photos,
                        each verified by hash
        current.json    the pointer: which objects make up the set on screen, and how fresh it is
        clock.json      the time floor: the newest trustworthy time this screen has seen

Power may vanish at any instant, so every file is written as temp file, fsync, rename. A new set enters
only by replacing ``current.json`` once every object it names is present and verified; until then the old
set plays. Objects the pointer no longer names are deleted after the switch.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import hashlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from signage.core.errors import ContentError, DiskError
from signage.core.fsutil import atomic_write, fsync_directory
from signage.core.playlist import Playlist, decode_header, decode_playlist

POINTER_FORMAT = 1
#: How the set's playlist is stored: one file, or a header naming its shards by hash (both objects).
SINGLE = "single"
SHARDED = "sharded"
_MAX_POINTER_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class ObjectRef:
    """A verified object of the set.

    Attributes:
        sha256: Hex digest.
        length: Size in bytes.
        version: The document's own version (playlists and revocations), else 0.
    """

    sha256: str
    length: int
    version: int = 0


@dataclass(frozen=True)
class CacheState:
    """What ``current.json`` says.

    Attributes:
        channel: The channel the set belongs to.
        playlist: The playlist object (the single file, or the header of a sharded one), or ``None`` when
            the channel has none.
        revocations: The newest revocations document applied, or ``None``.
        revoked: Entry ids that must not be shown, in effect now.
        verified_until: Expiry of the newest verified timestamp: the freshness bound.
        timestamp_version: Its version; a lower one later is a rollback.
        synced_at: When the last successful sync finished (the trusted time then).
        layout: :data:`SINGLE` or :data:`SHARDED`: what ``playlist`` is. Pointers written before the
            sharded form say nothing, and are single.
        index: The compact index of ``playlist`` (signage/sync/index.py), the object the painter reads, or
            ``None`` (no playlist, or a pointer written before the index: the painter then reads the
            playlist itself until the sync service has built one).
        index_of: The hash of the playlist object ``index`` was built from; an index of another playlist
            is never used.
    """

    channel: str
    playlist: ObjectRef | None = None
    revocations: ObjectRef | None = None
    revoked: frozenset[str] = field(default_factory=frozenset)
    verified_until: dt.datetime | None = None
    timestamp_version: int = 0
    synced_at: dt.datetime | None = None
    layout: str = SINGLE
    index: ObjectRef | None = None
    index_of: str | None = None

    def with_changes(self, **changes: Any) -> CacheState:
        """A copy with some fields replaced."""
        return replace(self, **changes)


class ContentCache:
    """Reads and writes the last verified set under ``cache_dir``.

    Every method that writes raises :class:`~signage.core.errors.DiskError` (never a bare ``OSError``) when the
    disk is full or read-only, so the caller can keep playing what it has.
    """

    def __init__(self, cache_dir: Path) -> None:
        self.cache_dir = cache_dir
        self.tuf_dir = cache_dir / "tuf"
        self.objects_dir = cache_dir / "objects"
        self._pointer = cache_dir / "current.json"
        self._clock = cache_dir / "clock.json"

    def prepare(self, now: float | None = None) -> None:
        """Create the folders (a fresh screen starts with none) and sweep temp files a power cut left.

        Args:
            now: The current time as ``time.time()``; temp files older than ten minutes are stale.
        """
        with _disk("create the cache folders"):
            for folder in (self.cache_dir, self.tuf_dir, self.objects_dir):
                folder.mkdir(parents=True, exist_ok=True)
        # A kill between writing a temp file and renaming it leaves the temp file behind; on a bus that
        # loses power daily they would pile up. Ten minutes is far longer than any write takes.
        cutoff = (time.time() if now is None else now) - 600
        for pattern, folder in (
            (".*.tmp", self.cache_dir),
            ("tmp*", self.tuf_dir),
            ("*.download", self.objects_dir),
        ):
            for leftover in folder.glob(pattern):
                with contextlib.suppress(OSError):
                    if leftover.is_file() and leftover.stat().st_mtime < cutoff:
                        leftover.unlink()

    # --- the pointer ---------------------------------------------------------------------------------

    def load_state(self, channel: str) -> CacheState:
        """The current pointer, or an empty state for ``channel`` when there is none or it is unusable."""
        try:
            data = self._pointer.read_bytes()
        except OSError:
            return CacheState(channel)
        try:
            document = json.loads(data[:_MAX_POINTER_BYTES])
            state = _state_from_json(document)
        except (ValueError, KeyError, TypeError):
            return CacheState(channel)
        # A pointer for another channel (the screen was moved) is not this channel's set.
        return state if state.channel == channel else CacheState(channel)

    def switch(self, state: CacheState) -> None:
        """Make ``state`` the current set: one atomic replace of the pointer."""
        with _disk("switch to the new set"):
            atomic_write(self._pointer, json.dumps(_state_to_json(state), sort_keys=True).encode())

    # --- objects -------------------------------------------------------------------------------------

    def object_path(self, sha256: str) -> Path:
        """Where the object with this hash lives."""
        return self.objects_dir / sha256

    def has(self, ref: ObjectRef) -> bool:
        """Whether the object is present with the right length (its hash was checked on the way in)."""
        try:
            return self.object_path(ref.sha256).stat().st_size == ref.length
        except OSError:
            return False

    def read(self, ref: ObjectRef) -> bytes | None:
        """The object's bytes if present and matching its hash, else ``None`` (and a bad file is removed)."""
        path = self.object_path(ref.sha256)
        try:
            data = path.read_bytes()
        except OSError:
            return None
        if len(data) != ref.length or hashlib.sha256(data).hexdigest() != ref.sha256:
            path.unlink(missing_ok=True)
            return None
        return data

    def put(self, data: bytes, expected: ObjectRef) -> None:
        """Store verified bytes under their hash.

        Raises:
            ValueError: the bytes do not match ``expected`` (the caller refuses the download).
            DiskError: the disk is full or read-only.
        """
        digest = hashlib.sha256(data).hexdigest()
        if digest != expected.sha256 or len(data) != expected.length:
            raise ValueError(
                f"expected {expected.sha256} ({expected.length} bytes), got {digest} ({len(data)})"
            )
        with _disk("store a downloaded file"):
            atomic_write(self.object_path(digest), data)

    def adopt(self, path: Path, version: int = 0) -> ObjectRef:
        """Make the finished file ``path`` (in the objects folder) an object: fsync it, hash it, rename it to
        its hash and fsync the folder, so a power cut leaves either no object or a whole one.

        Raises:
            DiskError: the disk is full or read-only.
        """
        digest = hashlib.sha256()
        with _disk("store the compact index"):
            with path.open("rb") as handle:
                os.fsync(handle.fileno())
                while chunk := handle.read(1 << 20):
                    digest.update(chunk)
                length = handle.tell()
            target = self.object_path(digest.hexdigest())
            path.replace(target)
            fsync_directory(self.objects_dir)
        return ObjectRef(target.name, length, version)

    def collect(self, keep: set[str]) -> int:
        """Delete every object not in ``keep``; returns how many were deleted."""
        deleted = 0
        with _disk("delete files no longer needed"):
            for path in self.objects_dir.iterdir():
                if path.name not in keep:
                    path.unlink(missing_ok=True)
                    deleted += 1
            if deleted:
                fsync_directory(self.objects_dir)
        return deleted

    def discard(self, names: set[str]) -> int:
        """Delete the objects named in ``names``; returns how many were there."""
        deleted = 0
        with _disk("delete files no longer needed"):
            for name in names:
                path = self.object_path(name)
                if path.exists():
                    path.unlink()
                    deleted += 1
            if deleted:
                fsync_directory(self.objects_dir)
        return deleted

    def sync_tuf_metadata(self) -> None:
        """fsync what python-tuf wrote: it renames atomically but does not flush to the disk."""
        with _disk("flush the trusted metadata"):
            for path in self.tuf_dir.rglob("*.json"):
                if path.is_file() and not path.is_symlink():
                    with path.open("rb+") as handle:
                        os.fsync(handle.fileno())
            fsync_directory(self.tuf_dir)

    # --- the time floor ------------------------------------------------------------------------------

    def time_floor(self) -> dt.datetime | None:
        """The newest trustworthy time seen, or ``None``."""
        try:
            document = json.loads(self._clock.read_bytes()[:4096])
            return dt.datetime.fromisoformat(document["floor"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def raise_time_floor(self, moment: dt.datetime) -> dt.datetime:
        """Move the floor up to ``moment`` (never down); returns the floor in effect."""
        current = self.time_floor()
        if current is not None and current >= moment:
            return current
        with _disk("record the time floor"):
            atomic_write(self._clock, json.dumps({"floor": moment.isoformat()}).encode())
        return moment


@contextlib.contextmanager
def _disk(doing: str) -> Iterator[None]:
    """Turn ``OSError`` into :class:`DiskError` naming what was being done and the likely cause."""
    try:
        yield
    except OSError as error:
        raise disk_error(error, doing) from error


#: What the cache was doing, in Chinese, for each English phrase its callers pass.
_DOING_ZH = {
    "create the cache folders": "创建缓存文件夹",
    "switch to the new set": "切换到新内容",
    "store a downloaded file": "保存下载的文件",
    "delete files no longer needed": "删除不再需要的文件",
    "flush the trusted metadata": "写入可信元数据",
    "record the time floor": "记录时间下限",
    "write the trusted metadata": "写入可信元数据",
    "store the compact index": "保存精简索引",
}


def disk_error(error: OSError, doing: str) -> DiskError:
    """A :class:`DiskError` saying what failed and why, in both languages."""
    cause = {
        errno.ENOSPC: ("磁盘已满", "the disk is full"),
        errno.EROFS: ("文件系统只读", "the filesystem is read-only"),
        errno.EACCES: ("没有写权限", "no permission to write"),
        errno.EPERM: ("没有写权限", "no permission to write"),
        errno.EDQUOT: ("磁盘配额已满", "the disk quota is exhausted"),
    }.get(error.errno or 0, (str(error), str(error)))
    return DiskError(
        f"无法{_DOING_ZH.get(doing, doing)}：{cause[0]}；继续播放现有内容",
        f"could not {doing}: {cause[1]}; playing on with what is cached",
    )


def _state_to_json(state: CacheState) -> dict[str, Any]:
    document = asdict(state)
    document["format"] = POINTER_FORMAT
    document["revoked"] = sorted(state.revoked)
    for key in ("verified_until", "synced_at"):
        value = getattr(state, key)
        document[key] = None if value is None else value.isoformat()
    return document


def _state_from_json(document: dict[str, Any]) -> CacheState:
    if document.get("format") != POINTER_FORMAT:
        raise ValueError("unknown pointer format")

    def ref(value: Any) -> ObjectRef | None:
        if value is None:
            return None
        return ObjectRef(str(value["sha256"]), int(value["length"]), int(value["version"]))

    def moment(value: Any) -> dt.datetime | None:
        return None if value is None else dt.datetime.fromisoformat(value)

    return CacheState(
        channel=str(document["channel"]),
        playlist=ref(document["playlist"]),
        revocations=ref(document["revocations"]),
        revoked=frozenset(str(entry) for entry in document["revoked"]),
        verified_until=moment(document["verified_until"]),
        timestamp_version=int(document["timestamp_version"]),
        synced_at=moment(document["synced_at"]),
        layout=_layout(document.get("layout", SINGLE)),
        # Pointers written before the compact index have neither field.
        index=ref(document.get("index")),
        index_of=None if document.get("index_of") is None else str(document["index_of"]),
    )


def _layout(value: Any) -> str:
    if value not in (SINGLE, SHARDED):
        raise ValueError(f"unknown playlist layout {value!r}")
    return str(value)


def read_playlist(
    cache: ContentCache, ref: ObjectRef | None, layout: str, channel: str
) -> tuple[Playlist, tuple[ObjectRef, ...]] | None:
    """The set's playlist read back from the cache (a single file, or a header and its shards) and the shard
    objects it is made of; ``None`` when a part is missing, damaged or malformed.

    The one reader of a cached playlist: the sync, the doctor and the painter's snapshot all use it, so a
    new layout is read the same way everywhere.
    """
    if ref is None:
        return None
    data = cache.read(ref)
    if data is None:
        return None
    try:
        if layout != SHARDED:
            return decode_playlist(data, channel=channel), ()
        header = decode_header(data, channel=channel)
        parts = tuple(ObjectRef(shard.sha256, shard.length) for shard in header.shards if shard is not None)
        playlist = header.read(
            channel, lambda _index, shard: cache.read(ObjectRef(shard.sha256, shard.length))
        )
        return None if playlist is None else (playlist, parts)
    except ContentError:
        return None
