"""How the painter learns of a new verified set: it watches the cache folder, and reads off the GUI thread.

The sync service (``signage sync``, its own process) switches to a new set by replacing ``current.json``
with a rename (signage/sync/cache.py). A rename changes the folder, so a ``QFileSystemWatcher`` on the
folder (inotify on Linux) fires at once; a watcher on the file itself would lose track of it after the
first replace. A slow poll backs it up (a folder that did not exist yet at start, an inotify limit).

Either way the GUI thread only submits a check to a one-thread pool: the worker compares the pointer's
identity (inode, size, mtime) with the one last read, and only when it changed reads the set
(:class:`signage.sync.snapshot.SnapshotReader`: the pointer, the playlist once per version, today's
eligible records) and emits ``changed`` with the new snapshot. The painter's own state files in the same
folder fire the watcher too; those checks end at the ``stat``.
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable
from pathlib import Path

from PyQt6.QtCore import QFileSystemWatcher, QObject, QRunnable, QThreadPool, QTimer, pyqtSignal

from signage.sync.snapshot import ContentSnapshot, SnapshotReader

log = logging.getLogger(__name__)

#: The fallback poll: a change inotify missed is seen within this many milliseconds.
POLL_MS = 15_000
POINTER = "current.json"


class _Check(QRunnable):
    def __init__(self, watcher: CacheWatcher) -> None:
        super().__init__()
        self._watcher = watcher

    def run(self) -> None:
        self._watcher._check()


class CacheWatcher(QObject):
    """Emits ``changed(ContentSnapshot)`` at start and whenever ``current.json`` is replaced.

    Args:
        reader: Reads the verified set (used on the worker thread only).
        after_read: Also called on the worker thread with each new snapshot, after ``changed`` (the font
            coverage check: it walks every record, which the GUI thread must not).
        poll_ms: The fallback poll interval.
    """

    changed = pyqtSignal(object)

    def __init__(
        self,
        reader: SnapshotReader,
        *,
        after_read: Callable[[ContentSnapshot], None] | None = None,
        poll_ms: int = POLL_MS,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._reader = reader
        self._after_read = after_read
        self._folder = reader.cache.cache_dir
        self._seen: tuple[int, int, int] | None = None
        self._first = True
        # One check at a time; a trigger while one runs is remembered and run after it (never lost).
        self._lock = threading.Lock()
        self._running = False
        self._again = False
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._watcher = QFileSystemWatcher(self)
        self._watcher.directoryChanged.connect(lambda _path: self.check())
        self._poll = QTimer(self)
        self._poll.timeout.connect(self.check)
        self._poll_ms = poll_ms

    def start(self) -> None:
        """Read the set now and watch for the next (GUI thread)."""
        self._watch()
        self._poll.start(self._poll_ms)
        self.check()

    def stop(self) -> None:
        """Stop watching; a read under way finishes (shutdown)."""
        self._poll.stop()
        self._watcher.removePaths(self._watcher.directories())
        self._pool.waitForDone(3000)

    def check(self) -> None:
        """Look at the pointer on the worker thread (GUI thread: returns at once)."""
        if not self._watcher.directories():
            self._watch()
        with self._lock:
            if self._running:
                self._again = True
                return
            self._running = True
        self._pool.start(_Check(self))

    def _watch(self) -> None:
        # A folder the sync service has not created yet cannot be watched: the poll retries.
        if self._folder.is_dir():
            self._watcher.addPath(str(self._folder))

    # --- worker thread -------------------------------------------------------------------------------

    def _check(self) -> None:
        while True:
            try:
                self._read_if_changed()
            except Exception:  # a damaged cache must not stop the watching; the next change reads again
                log.error("reading the cache failed:\n%s", traceback.format_exc(limit=5))
            with self._lock:
                if not self._again:
                    self._running = False
                    return
                self._again = False

    def _read_if_changed(self) -> None:
        identity = _identity(self._folder / POINTER)
        if identity == self._seen and not self._first:
            return
        snapshot = self._reader.read()
        self._seen = identity
        self._first = False
        self.changed.emit(snapshot)
        if self._after_read is not None:
            self._after_read(snapshot)


def _identity(path: Path) -> tuple[int, int, int] | None:
    """What changes when the pointer is replaced: a rename gives a new inode, and a new mtime."""
    try:
        status = path.stat()
    except OSError:
        return None
    return (status.st_ino, status.st_size, status.st_mtime_ns)
