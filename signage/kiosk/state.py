"""The player's small state files, written on a worker thread: the GUI thread never waits on a disk.

The rotation saves its position with every decision (:class:`signage.core.rotation.StateStore`). An fsync on
the cheap SD cards of the screens can take tens of milliseconds, or seconds when the card is busy; on the
GUI thread that would stall a crossfade or the one-second takedown watch. :class:`BackgroundStore` takes
each save at once, queues it and lets one worker thread write it through the inner store (temp file,
fsync, rename: :class:`signage.core.rotation.DirectoryStore`).

Order and coalescing. The queue is written in the order of the saves, so the disk only ever holds a state
the rotation really passed through (the order of a new cycle is on disk before any position in it). A
save of the same document as the last one queued replaces it: while the disk is slow only the newest
position waits, and the queue stays short. A power cut loses what is still queued, at most the decisions
made while the last write was under way; it never restarts or skips the cycle (the rotation resumes at
the last position that reached the disk).
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from signage.core.rotation import StateStore

log = logging.getLogger(__name__)


class BackgroundStore:
    """A :class:`~signage.core.rotation.StateStore` whose saves are written by one worker thread, in order.

    Args:
        inner: Does the writing (atomic per document), on the worker thread only.
    """

    def __init__(self, inner: StateStore) -> None:
        self._inner = inner
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._queue: list[tuple[str, bytes]] = []
        #: The document the worker is writing now: newer than the disk until its write returns.
        self._writing: tuple[str, bytes] | None = None
        self._busy = False
        self._closed = False
        self._failed = False
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="state")
        #: Saves handed to the inner store so far (the tests count coalescing with it).
        self.written = 0

    def load(self, name: str) -> bytes | None:
        """The newest document ``name``: still queued, being written, or as the inner store reads it."""
        with self._lock:
            for queued, data in reversed(self._queue):
                if queued == name:
                    return data
            if self._writing is not None and self._writing[0] == name:
                return self._writing[1]
        return self._inner.load(name)

    def save(self, name: str, data: bytes) -> None:
        """Queue ``data`` for ``name`` and return at once (after :meth:`close`: written here and now)."""
        with self._lock:
            if not self._closed:
                if self._queue and self._queue[-1][0] == name:
                    self._queue[-1] = (name, data)
                else:
                    self._queue.append((name, data))
                if not self._busy:
                    self._busy = True
                    self._executor.submit(self._drain)
                return
        self._write(name, data)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything queued so far is written (shutdown, tests); whether it was in time."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._busy, timeout)

    def close(self) -> None:
        """Write what is queued and stop the worker; later saves are written by the caller."""
        with self._lock:
            self._closed = True
        self._executor.shutdown(wait=True)

    def _drain(self) -> None:
        while True:
            with self._lock:
                self._writing = None
                if not self._queue:
                    self._busy = False
                    self._idle.notify_all()
                    return
                name, data = self._writing = self._queue.pop(0)
            self._write(name, data)

    def _write(self, name: str, data: bytes) -> None:
        try:
            self._inner.save(name, data)
        except Exception:
            # A full or read-only disk must not stop the player; the rotation plays on from memory, and a
            # restart resumes from the last state that was written. Logged once per run of failures.
            if not self._failed:
                log.exception("saving the player's %s failed; playing on without it", name)
            self._failed = True
        else:
            self._failed = False
            self.written += 1
