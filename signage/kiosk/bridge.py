"""The bridge between background work and the GUI thread: sync jobs and slide rendering.

THE THREADING RULE of the player, in one place:

* The GUI thread owns every widget, QTimer, QPixmap and the APScheduler ``QtScheduler`` (its jobs are added,
  changed and removed on the GUI thread only: ``wakeup()`` arms a ``QTimer.singleShot``, which silently does
  nothing off that thread). The GUI thread never blocks on I/O: no network, no file reads.
* Worker threads run blocking work: the scheduler's one-thread pool runs ``ScreenSync.sync_once()`` and reads
  the new ``ContentSnapshot``; a one-thread ``QThreadPool`` renders slides into ``QImage`` objects (QImage and
  QPainter on a QImage are safe off the GUI thread) after reading the photo from the cache.
* Workers touch only pure objects and their own QImage, and report back by emitting signals of objects that
  live on the GUI thread; Qt queues those calls to the GUI thread. Workers never create widgets, QTimers or
  QPixmaps, and never call into the window.
* One worker each: two syncs must never write the same cache at once, and renders stay in order.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import traceback
from collections.abc import Callable

from apscheduler.executors.pool import ThreadPoolExecutor  # type: ignore[import-untyped]
from apscheduler.schedulers.qt import QtScheduler  # type: ignore[import-untyped]
from PyQt6.QtCore import QObject, QRunnable, QThreadPool, pyqtSignal
from PyQt6.QtGui import QImage

from signage.sync.client import ScreenSync, StateLog
from signage.sync.doctor import verify_cache

log = logging.getLogger(__name__)


def poll_spacing(seconds: float) -> tuple[float, int]:
    """The interval and jitter that keep takedown checks at most ``seconds`` apart, at random within it.

    APScheduler delays each run of an interval job by a random 0 to ``jitter`` seconds, so consecutive runs
    are up to interval + jitter apart. The operator's bound is ``revocation_poll_seconds``: the jitter is
    taken out of the interval rather than added to it. A tenth of the interval (at least a second) is
    enough to keep a fleet that started together from polling in step.
    """
    jitter = max(1, int(seconds * 0.1))
    return seconds - jitter, jitter


class SyncBridge(QObject):
    """Runs syncs on a schedule in a worker thread and hands results to the GUI thread.

    Signals:
        synced(SyncResult, ContentSnapshot): a sync finished (whatever its state) and here is the set on disk.
        loaded(ContentSnapshot): the cache was read without syncing (at start).

    Args:
        screen: The screen's sync object (used only on the worker thread).
        sync_interval: Time between full syncs.
        revocation_interval: The longest time between takedown checks (see :func:`poll_spacing`).
        rng: Source of jitter (passed in so tests can fix it).
    """

    synced = pyqtSignal(object, object)
    loaded = pyqtSignal(object)

    def __init__(
        self,
        screen: ScreenSync,
        *,
        sync_interval: dt.timedelta,
        revocation_interval: dt.timedelta,
        rng: random.Random | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._screen = screen
        self._sync_interval = sync_interval
        self._revocation_interval = revocation_interval
        self._rng = rng or random.Random()
        self._state_log = StateLog(log)
        self._scheduler = QtScheduler(executors={"default": ThreadPoolExecutor(max_workers=1)})

    def start(self) -> None:
        """Read the cache at once, sync soon after, then keep to the intervals (call on the GUI thread)."""
        now = dt.datetime.now(dt.UTC)
        common = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}
        self._scheduler.add_job(self._load, "date", run_date=now, id="load", **common)
        self._scheduler.add_job(
            self._run,
            "interval",
            seconds=self._sync_interval.total_seconds(),
            next_run_time=now + dt.timedelta(seconds=1),
            kwargs={"full": True},
            id="sync",
            **common,
        )
        seconds = self._revocation_interval.total_seconds()
        interval, jitter = poll_spacing(seconds)
        self._scheduler.add_job(
            self._run,
            "interval",
            seconds=interval,
            # APScheduler's jitter spreads a fleet's polls; the first one is offset at random as well.
            jitter=jitter,
            next_run_time=now + dt.timedelta(seconds=seconds * self._rng.uniform(0.5, 1.0)),
            kwargs={"full": False},
            id="revocations",
            **common,
        )
        self._scheduler.start()

    def sync_now(self) -> None:
        """Run a full sync as soon as the worker is free (GUI thread)."""
        self._scheduler.modify_job("sync", next_run_time=dt.datetime.now(dt.UTC))

    def stop(self) -> None:
        """Stop scheduling; a sync in progress finishes in its thread."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    # The methods below run on the worker thread.

    def _load(self) -> None:
        try:
            # The cached set goes on screen first; re-hashing every file comes after, so start-up is fast
            # (every read re-hashes anyway, so nothing unverified is ever shown meanwhile).
            self.loaded.emit(self._screen.snapshot())
            removed = verify_cache(self._screen.cache)
            if removed:
                log.warning(
                    "%d cached files failed their hash and were deleted; the next sync fetches them again",
                    removed,
                )
        except Exception:  # a broken cache must not kill the worker; the next sync rebuilds it
            log.exception("reading the cache failed")

    def _run(self, *, full: bool) -> None:
        try:
            result = self._screen.sync_once(full=full)
            snapshot = self._screen.snapshot()
        except Exception:
            log.error("sync crashed: %s", traceback.format_exc(limit=5))
            return
        self._state_log.record(result)
        self.synced.emit(result, snapshot)


class _RenderTask(QRunnable):
    def __init__(
        self, job: Callable[[], list[QImage]], done: Callable[[list[QImage] | None, str], None]
    ) -> None:
        super().__init__()
        self._job = job
        self._done = done

    def run(self) -> None:
        try:
            image = self._job()
        except Exception:  # reported to the GUI thread, which quarantines the slide
            self._done(None, traceback.format_exc(limit=8))
            return
        self._done(image, "")


class RenderQueue(QObject):
    """Renders slides in one background thread.

    Signals:
        rendered(str, list): the slide with this key is ready (its pages, as QImages).
        failed(str, str): rendering the slide with this key raised; the text is the traceback.
    """

    rendered = pyqtSignal(str, list)
    failed = pyqtSignal(str, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)

    def submit(self, key: str, job: Callable[[], list[QImage]]) -> None:
        """Render ``job()`` off the GUI thread and emit the outcome under ``key``."""

        def done(image: list[QImage] | None, error: str) -> None:
            if image is None:
                self.failed.emit(key, error)
            else:
                self.rendered.emit(key, image)

        self._pool.start(_RenderTask(job, done))

    def wait(self, milliseconds: int = 5000) -> bool:
        """Block until queued renders finish (shutdown and tests only)."""
        return self._pool.waitForDone(milliseconds)
