"""The compact index of the verified playlist: what the painter holds, and what it loads on demand.

Issue 15 asks for at most 120 MiB PSS in the painting process with 35,000 records. A decoded
:class:`~signage.core.playlist.Playlist` holds a dozen Python objects per record (the record, its debtor,
strings, a Decimal, dates), some 80 MiB at 35,000 records, and once decoded the heap keeps most of it.
So the sync service, which decodes the playlist anyway, writes this index beside it before it switches
to the new set (:func:`with_index`), and the painter never decodes the playlist at all:

* one SQLite file (stdlib ``sqlite3``), written to a temp file in ``objects/`` (``*.download``, swept by
  :meth:`ContentCache.prepare` after a power cut), fsynced, hashed and renamed to ``objects/<sha256>``
  (:meth:`ContentCache.adopt`); ``current.json`` names it (``index``) and the playlist it was built from
  (``index_of``), in the same atomic switch as the playlist itself;
* table ``meta``: the format, the playlist object's hash, and the playlist's header as a playlist document
  without records (version, issued, UTC offset, sample, notices, dayparts, QR hosts);
* table ``entries``, one row per record that may ever be shown (a record failing the time-independent
  checks of :meth:`DebtorRecord.display_window` is not there): playlist position, entry id, person or not,
  the display window as day ordinals, the record hash (proof of play), and the record's JSON text.

The painter (:func:`open_index`, :class:`CompactIndex`) keeps only the decision columns in memory
(:class:`~signage.core.display.CompactEntries`: one three-slot :class:`EntryRef` and two integers per
entry) and reads a record's JSON by entry id when its slide is rendered, on the render thread; each
record is then decoded with the playlist decoder's checks, as it would have been from the playlist.
"""

from __future__ import annotations

import array
import contextlib
import hashlib
import json
import logging
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

from signage.core.display import CompactEntries, EntryRef, window_ordinals
from signage.core.errors import ContentError
from signage.core.playlist import (
    MAX_RECORDS,
    Playlist,
    decode_playlist,
    decode_records,
    encode_playlist,
    record_json,
)
from signage.core.records import DebtorRecord
from signage.sync.cache import CacheState, ContentCache, ObjectRef, disk_error

log = logging.getLogger(__name__)

INDEX_FORMAT = "signage.index-1"
_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE entries (
    position INTEGER PRIMARY KEY,
    entry_id TEXT NOT NULL UNIQUE,
    person INTEGER NOT NULL,
    first INTEGER NOT NULL,
    ends INTEGER NOT NULL,
    hash TEXT NOT NULL,
    record TEXT NOT NULL
);
"""
#: Records read per query when the painter walks all of them (the font coverage check).
_BATCH = 500


def _rows(playlist: Playlist) -> Iterator[tuple[int, str, int, int, int, str, str]]:
    for position, record in enumerate(playlist.records):
        window = record.display_window()
        if window is None:
            continue  # never displayable, whatever the day: not in the index at all
        first, ends = window_ordinals(window)
        # Encoded exactly as record_hash encodes it, so the text's hash is the record hash (a test checks).
        text = json.dumps(record_json(record), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        digest = hashlib.sha256(text.encode()).hexdigest()
        yield position, record.entry_id, int(record.is_person), first, ends, digest, text


def build_index(cache: ContentCache, playlist: Playlist, playlist_sha256: str) -> ObjectRef:
    """Write the compact index of ``playlist`` (the verified object ``playlist_sha256``) into the cache.

    Returns the new object (its ``version`` is the playlist's). Nothing is named by ``current.json`` yet:
    the caller switches to it with the playlist.

    Raises:
        DiskError: the disk is full or read-only.
    """
    temp = cache.objects_dir / f"{playlist_sha256}.index.download"
    try:
        try:
            # Only the sync service builds indexes, one at a time: any temp index is a killed build's.
            for leftover in cache.objects_dir.glob("*.index.download"):
                leftover.unlink(missing_ok=True)
            # A fresh file each time; journal and syncs off while writing, as nothing names it before the
            # fsync and rename in adopt().
            connection = sqlite3.connect(temp, isolation_level=None)
            try:
                connection.execute("PRAGMA journal_mode=OFF")
                connection.execute("PRAGMA synchronous=OFF")
                connection.executescript(_SCHEMA)
                connection.execute("BEGIN")
                header = encode_playlist(replace(playlist, records=())).decode()
                connection.executemany(
                    "INSERT INTO meta VALUES (?, ?)",
                    [("format", INDEX_FORMAT), ("playlist", playlist_sha256), ("header", header)],
                )
                connection.executemany("INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?)", _rows(playlist))
                connection.execute("COMMIT")
            finally:
                connection.close()
        except OSError as error:
            raise disk_error(error, "store the compact index") from error
        except sqlite3.OperationalError as error:  # "database or disk is full", a read-only folder
            raise disk_error(OSError(str(error)), "store the compact index") from error
        return cache.adopt(temp, playlist.version)
    finally:
        temp.unlink(missing_ok=True)


def with_index(cache: ContentCache, state: CacheState, playlist: Playlist | None) -> CacheState:
    """``state`` naming a compact index of its playlist (``playlist``, decoded), built if it has none.

    Called by the sync just before each switch, so every set switched to has its index, and a pointer
    written before the index existed (a screen upgraded in place) gets one at the next sync (a takedown
    poll is enough); until then the painter reads the playlist itself.

    Raises:
        DiskError: the disk is full or read-only (the old set keeps playing).
    """
    if state.playlist is None or playlist is None:
        return state.with_changes(index=None, index_of=None)
    if state.index is not None and state.index_of == state.playlist.sha256 and cache.has(state.index):
        return state
    ref = build_index(cache, playlist, state.playlist.sha256)
    return state.with_changes(index=ref, index_of=state.playlist.sha256)


class CompactIndex:
    """An open compact index: the header, the decision columns, and records loaded by entry id.

    Safe to use from several threads (the watcher's worker builds it, the render thread loads records,
    the plays thread reads hashes): one read-only connection behind a lock, each query a few rows.

    Args:
        path: The index object.
        channel: The screen's channel (the header is decoded for it).
        playlist_sha256: The playlist the index must have been built from.

    Raises:
        ContentError: not an index, another playlist's, or damaged.
    """

    def __init__(self, path: Path, *, channel: str, playlist_sha256: str) -> None:
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(
                f"file:{path}?mode=ro", uri=True, check_same_thread=False, isolation_level=None
            )
        except sqlite3.Error as error:
            raise ContentError("无法打开名单索引", f"cannot open the compact index: {error}") from None
        try:
            # Lookups by entry id touch a few pages; SQLite's default 2 MiB page cache would only hold the
            # pages the column scan passed through.
            self._db.execute("PRAGMA cache_size = -256")
            meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
            if meta.get("format") != INDEX_FORMAT or meta.get("playlist") != playlist_sha256:
                raise ContentError("名单索引与名单不符", "the compact index is not the current playlist's")
            self.playlist = decode_playlist(str(meta.get("header", "")).encode(), channel=channel)
            self._channel = channel
            self.columns = self._columns()
        except sqlite3.Error as error:
            self._db.close()
            raise ContentError("名单索引已损坏", f"the compact index is damaged: {error}") from None
        except ContentError:
            self._db.close()
            raise

    def _columns(self) -> CompactEntries:
        entries: list[EntryRef] = []
        # Machine integers: 4 bytes per entry and day, not a Python int object each.
        first = array.array("l")
        ends = array.array("l")
        rows = self._db.execute(
            "SELECT position, entry_id, person, first, ends FROM entries ORDER BY position"
        )
        for position, entry_id, person, start, end in rows:
            if len(entries) >= MAX_RECORDS:
                raise ContentError("名单索引过大", f"the compact index holds more than {MAX_RECORDS} entries")
            entries.append(EntryRef(str(entry_id), bool(person), int(position)))
            first.append(int(start))
            ends.append(int(end))
        return CompactEntries(tuple(entries), first, ends)

    def records(self, entries: Sequence[EntryRef]) -> tuple[DebtorRecord, ...]:
        """The full records of ``entries``, in that order, each checked as the playlist decoder checks it.

        Raises:
            ContentError: an entry is missing or its record breaks a rule (the slide fails to render).
        """
        with self._lock:
            texts = {
                str(entry_id): str(text)
                for entry_id, text in self._db.execute(
                    f"SELECT entry_id, record FROM entries WHERE entry_id IN ({','.join('?' * len(entries))})",
                    [entry.entry_id for entry in entries],
                )
            }
        missing = [entry.entry_id for entry in entries if entry.entry_id not in texts]
        if missing:
            raise ContentError("名单索引缺少条目", f"the compact index lacks {', '.join(missing)}")
        return decode_records([json.loads(texts[entry.entry_id]) for entry in entries], "compact index")

    def entry_hash(self, entry_id: str) -> str | None:
        """The record hash of ``entry_id`` (:func:`~signage.core.playlist.record_hash`), or ``None``."""
        with self._lock:
            row = self._db.execute("SELECT hash FROM entries WHERE entry_id = ?", (entry_id,)).fetchone()
        return None if row is None else str(row[0])

    def all_records(self) -> Iterator[DebtorRecord]:
        """Every record of the index, a batch at a time (memory stays that of one batch)."""
        after = -1
        while True:
            with self._lock:
                rows = self._db.execute(
                    "SELECT position, record FROM entries WHERE position > ? ORDER BY position LIMIT ?",
                    (after, _BATCH),
                ).fetchall()
            if not rows:
                return
            after = int(rows[-1][0])
            yield from decode_records([json.loads(text) for _, text in rows], "compact index")

    def close(self) -> None:
        """Close the connection (it also closes when the index is garbage)."""
        with self._lock:
            self._db.close()


def open_index(cache: ContentCache, state: CacheState) -> CompactIndex | None:
    """The compact index ``state`` names, checked against its hash; ``None`` when it names none, or it is
    missing, damaged or another playlist's (the caller then reads the playlist)."""
    ref, playlist = state.index, state.playlist
    if ref is None or playlist is None or state.index_of != playlist.sha256:
        return None
    path = cache.object_path(ref.sha256)
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
            length = handle.tell()
    except OSError:
        return None
    if length != ref.length or digest.hexdigest() != ref.sha256:
        log.warning("the compact index %s fails its hash; reading the playlist instead", ref.sha256[:12])
        with contextlib.suppress(OSError):
            path.unlink()
        return None
    try:
        return CompactIndex(path, channel=state.channel, playlist_sha256=playlist.sha256)
    except ContentError as error:
        log.warning("%s; reading the playlist instead", error.en)
        return None
