"""The bridge between background work and the GUI thread: slide rendering.

THE THREADING RULE of the player, in one place:

* The GUI thread owns every widget, QTimer and QPixmap. It never blocks on I/O: no network (the painter
  opens no connection at all since issue 15: the sync service, its own process, does that), no file reads.
* Worker threads run blocking work: the cache watcher's one-thread pool reads a new ``ContentSnapshot``
  when ``current.json`` is replaced (signage/kiosk/watcher.py); a one-thread ``QThreadPool`` here renders
  slides into ``QImage`` objects (QImage and QPainter on a QImage are safe off the GUI thread) after
  reading the photo from the cache; the state store and the play log write on their own threads.
* Workers touch only pure objects and their own QImage, and report back by emitting signals of objects that
  live on the GUI thread; Qt queues those calls to the GUI thread. Workers never create widgets, QTimers or
  QPixmaps, and never call into the window.
* One worker each: renders stay in order, and two reads of the cache never race.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable

from PyQt6.QtCore import QObject, QRunnable, QThreadPool, pyqtSignal
from PyQt6.QtGui import QImage

log = logging.getLogger(__name__)


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
