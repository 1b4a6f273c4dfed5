"""The photos of a new set: bounded parallel downloads, each checked on its way in, resumable by design.

A 35,000-record channel brings about 30,000 photos of ~8 KB each. Fetched one after another, a screen
waits for one round trip per photo; a small pool of workers keeps a few requests in flight instead:

- **Bounded.** ``workers`` threads (the screen's ``photo_downloads``, 4 by default) take the next
  missing photo from one shared list; each holds at most one photo in memory, and it is written to the
  cache before the worker asks for another. Memory is the pool's worth of photos, never the set's.
- **Checked on the way in.** Each download is capped at the length the signed playlist gives (the
  fetcher stops one byte past it) and :meth:`ContentCache.put` refuses bytes whose sha256 or length
  differ: a wrong photo is a :class:`~signage.core.errors.TrustError` and the new set is refused.
- **First failure stops the rest.** A refused photo, a network error or a full disk stops every worker
  from starting another download; requests already under way end within the fetcher's own bounds
  (read timeout, per-request deadline, size cap). The first failure is what the caller sees.
- **A total deadline.** The whole batch gets ``deadline`` seconds; each request's deadline is cut to what
  is left of it, so a slow link ends the sync as offline instead of holding it (and the next takedown
  check behind it) for an hour.
- **Resumable.** Every photo is written atomically (temp file, fsync, rename) under its hash the moment
  it is verified, and is kept until a switched-in set no longer names it. A sync that is killed, loses
  power, runs out of time or meets a bad photo keeps every photo it finished; the next sync asks only for
  the ones still missing. There is no HTTP Range resumption of a half-downloaded photo: photos are a few
  kilobytes, an interrupted sync loses at most one partial photo per worker, and resuming one would mean
  keeping unverified bytes on disk between syncs. The unit of resumption is the whole, verified photo.

Each worker has its own :class:`~signage.sync.fetcher.HttpFetcher` (its own session and counters, the
same limits); their requests and bytes are added to the caller's fetcher afterwards.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from tuf.api.exceptions import SlowRetrievalError

from signage.core.errors import TrustError
from signage.core.records import DebtorRecord, PhotoRef
from signage.sync.cache import ContentCache, ObjectRef
from signage.sync.fetcher import HttpFetcher

DEFAULT_WORKERS = 4
DEFAULT_DEADLINE = 300.0


@dataclass(frozen=True)
class PhotoDownload:
    """What one batch did.

    Attributes:
        downloaded: Photos fetched, verified and stored.
        requests: HTTP requests sent by the workers (failed ones included).
        bytes_received: Body bytes the workers read.
    """

    downloaded: int = 0
    requests: int = 0
    bytes_received: int = 0


def missing_photos(
    records: Iterable[DebtorRecord], revoked: frozenset[str], cache: ContentCache
) -> list[PhotoRef]:
    """The photos the set needs and the cache lacks, once each, in the order the records name them.

    A revoked entry's photo is never fetched (the hub may already have deleted it).
    """
    wanted: dict[str, PhotoRef] = {}
    for record in records:
        photo = record.photo
        if photo is None or record.entry_id in revoked or photo.sha256 in wanted:
            continue
        if not cache.has(ObjectRef(photo.sha256, photo.length)):
            wanted[photo.sha256] = photo
    return list(wanted.values())


def download_photos(
    photos: Sequence[PhotoRef],
    *,
    cache: ContentCache,
    base_url: str,
    fetcher: HttpFetcher,
    workers: int = DEFAULT_WORKERS,
    deadline: float = DEFAULT_DEADLINE,
    clock: Callable[[], float] = time.monotonic,
) -> PhotoDownload:
    """Fetch ``photos`` from ``base_url`` + ``photos/<sha256>`` into ``cache``, ``workers`` at a time.

    Args:
        photos: The photos to fetch (see :func:`missing_photos`).
        cache: Where each verified photo is stored.
        base_url: The hub's address, ending in ``/``.
        fetcher: The caller's fetcher: its limits are copied for each worker, and the workers' requests
            and bytes are added to its counters.
        workers: The most downloads under way at once.
        deadline: Seconds the whole batch may take.
        clock: Monotonic seconds.

    Raises:
        TrustError: a photo did not match its signed hash or length.
        tuf.api.exceptions.DownloadError: a download failed, or the deadline passed
            (:class:`~tuf.api.exceptions.SlowRetrievalError`).
        DiskError: a photo could not be stored.
    """
    if not photos:
        return PhotoDownload()
    batch = _Batch(iter(photos), clock() + deadline, clock)
    count = max(1, min(workers, len(photos)))
    copies = [fetcher.for_another_thread() for _ in range(count)]
    try:
        with ThreadPoolExecutor(max_workers=count, thread_name_prefix="photo") as pool:
            for copy in copies:
                pool.submit(batch.work, copy, cache, base_url)
        # Leaving the with-block waited for every worker: nothing is written after this returns.
    finally:
        for copy in copies:
            fetcher.requests_made += copy.requests_made
            fetcher.bytes_received += copy.bytes_received
            copy.close()
    if batch.failure is not None:
        raise batch.failure
    return PhotoDownload(
        downloaded=batch.done,
        requests=sum(copy.requests_made for copy in copies),
        bytes_received=sum(copy.bytes_received for copy in copies),
    )


class _Batch:
    """The shared list of photos still to fetch, the first failure, and the count of photos stored."""

    def __init__(self, photos: Iterator[PhotoRef], ends_at: float, clock: Callable[[], float]) -> None:
        self._photos = photos
        self._ends_at = ends_at
        self._clock = clock
        self._lock = threading.Lock()
        self.failure: BaseException | None = None
        self.done = 0

    def _next(self) -> PhotoRef | None:
        with self._lock:
            if self.failure is not None:
                return None
            return next(self._photos, None)

    def _fail(self, error: BaseException) -> None:
        with self._lock:
            if self.failure is None:
                self.failure = error

    def work(self, fetcher: HttpFetcher, cache: ContentCache, base_url: str) -> None:
        """One worker: fetch, verify and store photos until none is left or the batch has failed."""
        limit = fetcher.deadline
        try:
            while (photo := self._next()) is not None:
                left = self._ends_at - self._clock()
                if left <= 0:
                    raise SlowRetrievalError(
                        f"photos not complete within the deadline ({self.done} stored; the next sync "
                        "continues from there)"
                    )
                fetcher.deadline = min(limit, left)
                data = fetcher.get_bytes(base_url + f"photos/{photo.sha256}", photo.length)
                try:
                    cache.put(data, ObjectRef(photo.sha256, photo.length))
                except ValueError:
                    raise TrustError(
                        f"照片 {photo.sha256[:12]}… 与签名的哈希不符：已拒绝整个新名单，继续播放旧名单",
                        f"photo {photo.sha256[:12]}… does not match its signed hash: the new set is "
                        "refused; the old one plays on",
                    ) from None
                del data  # one photo per worker in memory, not two while the next one arrives
                with self._lock:
                    self.done += 1
        except BaseException as error:  # every failure stops the batch; the caller re-raises the first
            self._fail(error)
