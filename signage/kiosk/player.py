"""The player's timing: which slide is on screen, when the next one comes, and fast replacement.

The decisions are pure (``ContentSnapshot.display_set(now)`` and ``Rotation``); this module only applies
them on time. Each slide is rendered ahead of its turn on the render thread, so a transition never waits
for rendering. A one-second watch replaces the slide on screen as soon as it may no longer be shown (a
takedown, the freshness bound passing, quiet hours beginning). A slide that fails to render is skipped and
quarantined for a while. Nothing here blocks on I/O.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from PyQt6.QtCore import QObject, QSize, QTimer, pyqtSignal
from PyQt6.QtGui import QImage

from signage.core.display import DisplaySet
from signage.core.rotation import STANDBY_SLIDE, Rotation, Slide, SlideKind
from signage.kiosk.bridge import RenderQueue
from signage.sync.snapshot import ContentSnapshot

if TYPE_CHECKING:  # the painter never imports the sync client (python-tuf): only its result type here
    from signage.sync.client import SyncResult

log = logging.getLogger(__name__)

QUARANTINE = dt.timedelta(minutes=10)
_FIXED = (SlideKind.STANDBY, SlideKind.BLACK)
WATCH_MS = 1000
#: How long to wait for the cache before showing the standby slide at start.
START_GRACE_MS = 3000


class SlideSource(Protocol):
    """Turns a slide into an image; called on the render thread (photos are read there)."""

    def render(self, slide: Slide, size: QSize, snapshot: ContentSnapshot | None) -> list[QImage]:
        """Render ``slide`` at ``size``: one page, or several that an LED board shows in turn."""
        ...


class Display(Protocol):
    """What the player needs of the window."""

    def slide_size(self) -> QSize:
        """The size slides are rendered at."""
        ...

    def show_image(self, image: QImage, fade_ms: int) -> None:
        """Put an image on screen."""
        ...


class Player(QObject):
    """Shows what may be shown, one slide at a time, around the clock.

    Signals:
        slide_shown(object): a slide (``rotation.Slide``) went on screen.
        quarantined(str): a slide key failed to render and is skipped for a while.

    Args:
        display: The window.
        source: Renders slides (on the render thread).
        queue: The render thread.
        rotation: Which slide comes next.
        clock: The current time (aware UTC); tests pass a fake one.
        dwell: How long a slide stands.
        fade: Crossfade length.
    """

    slide_shown = pyqtSignal(object)
    quarantined = pyqtSignal(str)

    def __init__(
        self,
        display: Display,
        source: SlideSource,
        queue: RenderQueue,
        rotation: Rotation,
        *,
        clock: Callable[[], dt.datetime],
        dwell: dt.timedelta,
        fade: dt.timedelta,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._display = display
        self._source = source
        self._queue = queue
        self._rotation = rotation
        self._clock = clock
        self._dwell_ms = int(dwell.total_seconds() * 1000)
        self._fade_ms = int(fade.total_seconds() * 1000)
        self.snapshot: ContentSnapshot | None = None
        self.last_sync: SyncResult | None = None
        self.current: Slide | None = None
        self._upcoming: Slide | None = None
        self._waiting: str | None = None
        self._pending: set[str] = set()
        self._ready: dict[str, list[QImage]] = {}
        self._quarantine: dict[str, dt.datetime] = {}
        self._fixed: dict[tuple[str, int, int, int | None], list[QImage]] = {}
        self._pages: list[QImage] = []
        #: Set while a slide that may no longer be shown is replaced: the replacement cuts in.
        self._cut = False
        self._ahead = QTimer(self)
        self._ahead.setSingleShot(True)
        self._ahead.timeout.connect(lambda: self._queue_render(self._upcoming))
        self._page = QTimer(self)
        self._page.timeout.connect(self._next_page)
        self._dwell = QTimer(self)
        self._dwell.setSingleShot(True)
        self._dwell.timeout.connect(self.advance)
        self._watch = QTimer(self)
        self._watch.timeout.connect(self.watch)
        queue.rendered.connect(self._on_rendered)
        queue.failed.connect(self._on_render_failed)

    # --- inputs --------------------------------------------------------------------------------------

    def start(self) -> None:
        """Begin: wait briefly for the cache, then play (GUI thread)."""
        self._watch.start(WATCH_MS)
        QTimer.singleShot(START_GRACE_MS, self._start_if_idle)

    def on_loaded(self, snapshot: ContentSnapshot) -> None:
        """The cache was read at start."""
        self._take(snapshot)
        if self.current is None or self.current.kind in _FIXED:
            self.advance()

    def on_changed(self, snapshot: ContentSnapshot) -> None:
        """The cache holds a new set (the painter's watcher): as :meth:`on_loaded` the first time, then
        as :meth:`on_synced` (new content at the next slide, removals at once)."""
        if self.snapshot is None:
            self.on_loaded(snapshot)
            return
        self._take(snapshot)
        if self.current is None:
            self.advance()
        else:
            self.watch()

    def on_synced(self, result: SyncResult, snapshot: ContentSnapshot) -> None:
        """A sync finished: new content takes effect at the next slide, removals at once."""
        self.last_sync = result
        self._take(snapshot)
        if self.current is None:
            self.advance()
        else:
            self.watch()

    # --- timing --------------------------------------------------------------------------------------

    def display_set(self) -> DisplaySet:
        """What may be shown now."""
        now = self._clock()
        if self.snapshot is None:
            return DisplaySet(channel="", at=now, playlist_version=None, revocations_version=None,
                              verified_until=None, fresh=False)  # fmt: skip
        return self.snapshot.display_set(now)

    def advance(self) -> None:
        """Put the next slide on screen and start preparing the one after."""
        display = self.display_set()
        now = self._clock()
        slide = self._upcoming
        if (
            slide is None
            # A standby or black chosen earlier stands in for "nothing to show then"; ask again now.
            or slide.kind in _FIXED
            or self._quarantined(slide.key)
            or not self._rotation.still_allowed(slide, display, now)
        ):
            slide = self._rotation.next_slide(display, now, skip=self._skipped(now))
        pages = self._image_for(slide)
        if pages is None:
            # Chosen a moment ago (start, or a new set): show it the moment it is rendered.
            self._waiting = slide.key
            self._upcoming = slide
            self._queue_render(slide)
            self._dwell.start(self._dwell_ms)  # a safety net should the render never come back
            return
        self._waiting = None
        fade_ms = self._show(slide, pages)
        self._upcoming = self._rotation.next_slide(display, now, skip=self._skipped(now))
        # Rendered once the crossfade is over: during it the window still holds the old image, and a third
        # full-screen image (8 MiB at 1080p) would be alive, its render competing with the fade for the CPU.
        # Within half the dwell, so a long fade on a short dwell still leaves time to render.
        self._ahead.start(min(fade_ms, self._dwell_ms // 2))
        # An LED board's slide turns its pages within the dwell, each standing at least two seconds.
        page_ms = max(2000, self._dwell_ms // len(pages))
        self._page.stop()
        if len(pages) > 1:
            self._page.start(page_ms)
        self._dwell.start(max(self._dwell_ms, page_ms * len(pages)))

    def watch(self) -> None:
        """Replace the slide on screen at once when it may no longer be shown (every second)."""
        if self.current is None:
            return
        display = self.display_set()
        if self._rotation.still_allowed(self.current, display, self._clock()):
            return
        log.info("slide %s may no longer be shown; replacing it now", self.current.key)
        self._ready.pop(self.current.key, None)
        # It leaves at once, without a crossfade: a fading slide is still readable for the whole fade.
        self._cut = True
        try:
            if self._waiting is None:
                self.advance()
            current = self.current
            if (
                current is not None
                and current.kind not in _FIXED
                and not self._rotation.still_allowed(current, display, self._clock())
            ):
                # The replacement is still being rendered: the standby slide covers the gap, within the
                # second. (A black or standby slide on screen may simply stay until the replacement is ready.)
                self._show(STANDBY_SLIDE, self._fixed_image(STANDBY_SLIDE))
        finally:
            self._cut = False

    # --- internals -----------------------------------------------------------------------------------

    def _take(self, snapshot: ContentSnapshot) -> None:
        old = (
            None
            if self.snapshot is None or self.snapshot.playlist is None
            else self.snapshot.playlist.version
        )
        new = None if snapshot.playlist is None else snapshot.playlist.version
        self.snapshot = snapshot
        if old != new:
            # The slide rendered ahead shows the old playlist's data; a new set takes effect at the next slide.
            # A takedown-only sync keeps it: advance() checks it is still allowed.
            self._upcoming = None
            self._ready.clear()

    def _start_if_idle(self) -> None:
        if self.current is None:
            self.advance()

    def _show(self, slide: Slide, pages: list[QImage]) -> int:
        """Put ``slide`` on screen; returns the length of its crossfade in milliseconds."""
        fade = 0 if self.current is None or self._cut else self._fade_ms
        self._pages = pages[1:]
        self._display.show_image(pages[0], fade)
        if self.current is not None and self.current.key != slide.key:
            self._ready.pop(self.current.key, None)
        if slide.kind not in _FIXED:
            # A standby or black image (8 MiB at 1080p) is kept only while one is on screen; drawn again
            # when next needed, on this thread, in a few tens of milliseconds.
            self._fixed.clear()
        self.current = slide
        self.slide_shown.emit(slide)
        return fade

    def _next_page(self) -> None:
        if not self._pages:
            self._page.stop()
            return
        self._display.show_image(self._pages.pop(0), 0)

    def _image_for(self, slide: Slide) -> list[QImage] | None:
        if slide.kind in (SlideKind.STANDBY, SlideKind.BLACK):
            return self._fixed_image(slide)
        return self._ready.get(slide.key)

    def _fixed_image(self, slide: Slide) -> list[QImage]:
        """Standby and black need no photo and no I/O, so they are rendered here and kept."""
        size = self._display.slide_size()
        playlist = None if self.snapshot is None else self.snapshot.playlist
        # The standby's footer names the playlist version and the sample mark, so it is kept per version.
        key = (slide.key, size.width(), size.height(), None if playlist is None else playlist.version)
        if key not in self._fixed:
            pages = None
            if slide.kind is SlideKind.STANDBY:
                try:
                    pages = self._source.render(STANDBY_SLIDE, size, self.snapshot)
                except Exception:
                    # Never leave a slide on screen that may not be shown: black is always possible.
                    log.exception("the standby slide failed to render; showing black instead")
            if pages is None:
                black = QImage(size, QImage.Format.Format_RGB32)
                black.fill(0)
                pages = [black]
            self._fixed = {key: pages, **{k: v for k, v in self._fixed.items() if k[1:] == key[1:]}}
        return self._fixed[key]

    def _queue_render(self, slide: Slide | None) -> None:
        if slide is None or slide.kind in _FIXED or slide.key in self._ready or slide.key in self._pending:
            return
        size, snapshot, source = self._display.slide_size(), self.snapshot, self._source
        self._pending.add(slide.key)
        self._queue.submit(slide.key, lambda: source.render(slide, size, snapshot))

    def _on_rendered(self, key: str, pages: list[QImage]) -> None:
        self._pending.discard(key)
        # Keep at most the slide on screen and the one coming: memory stays flat over days.
        keep = {self.current.key if self.current else "", self._upcoming.key if self._upcoming else ""}
        self._ready = {k: v for k, v in self._ready.items() if k in keep}
        if key in keep:
            self._ready[key] = pages
        if key == self._waiting:
            self.advance()

    def _on_render_failed(self, key: str, error: str) -> None:
        self._pending.discard(key)
        log.error("slide %s failed to render; skipping it for %s:\n%s", key, QUARANTINE, error)
        self._quarantine[key] = self._clock() + QUARANTINE
        self.quarantined.emit(key)
        if self._upcoming is not None and self._upcoming.key == key:
            self._upcoming = None
        if key == self._waiting:
            self.advance()

    def _quarantined(self, key: str) -> bool:
        until = self._quarantine.get(key)
        return until is not None and self._clock() < until

    def _skipped(self, now: dt.datetime) -> frozenset[str]:
        self._quarantine = {key: until for key, until in self._quarantine.items() if until > now}
        return frozenset(self._quarantine)
