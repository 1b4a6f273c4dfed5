"""The fullscreen window: paints finished slide images, crossfades between them, and nothing else.

It never renders a slide itself (that happens off screen, ahead of time) and repaints only while a
transition runs, so a standing slide costs no CPU. A crossfade is drawn at a fixed rate (FADE_FPS) by a
timer of its own, and only where the two slides differ (:func:`changed_region`): the header, the footer and
the empty ground, identical on both, are neither blended nor sent to the X server again. No cursor, no
decorations, never a dialog. F1 shows the technician overlay for 30 seconds.
"""

from __future__ import annotations

from collections.abc import Callable

from PyQt6.QtCore import QEasingCurve, QElapsedTimer, QObject, QRect, QRectF, QSize, Qt, QTimer, pyqtSignal
from PyQt6.QtGui import (
    QColor,
    QFont,
    QImage,
    QKeyEvent,
    QPainter,
    QPaintEvent,
    QRegion,
    QScreen,
    QTransform,
)
from PyQt6.QtWidgets import QWidget

OVERLAY_SECONDS = 30
#: A crossfade is drawn 25 times a second (PAL's frame rate), by a timer, plus its first and last frames:
#: a 1 s fade is at most 27 frames. A full-screen blend per frame was half of the player's CPU on a 2 s dwell
#: (bench/profile.py); 25 frames a second still fades smoothly on a public screen, where nobody looks at
#: one slide change closely, and Qt's 60 Hz animation clock no longer wakes the process in between.
FADE_FPS = 25
FADE_FRAME_MS = 1000 // FADE_FPS
#: The grid on which :func:`changed_region` compares two slides (pixels). A finer grid finds less to
#: repaint but costs more Python time per slide change; 64 x 16 cost about 30 ms at 1080p and left about
#: half of a debtor slide to blend (bench: the sample channel's slides).
TILE_WIDTH = 64
TILE_HEIGHT = 16


def changed_region(before: QImage, after: QImage) -> list[QRect] | None:
    """Where ``after`` differs from ``before``: rectangles made of whole tiles of the TILE_WIDTH x
    TILE_HEIGHT grid, disjoint (a run of tiles in one row of the grid, grown downwards while the rows
    below have the same run).

    Exact: a tile is left out only if every byte of it is equal in both images. ``None`` when the images
    cannot be compared byte for byte (different sizes or formats), meaning "everything may differ".
    """
    if before.size() != after.size() or before.format() != after.format() or before.isNull():
        return None
    width, height, line = before.width(), before.height(), before.bytesPerLine()
    pixel = before.depth() // 8
    if line != after.bytesPerLine() or pixel == 0:
        return None
    # Copied as bytes one grid row at a time (120 KiB at 1080p, not two 8 MiB copies at once): slices of
    # bytes compare in C.
    bits_a, bits_b = before.constBits(), after.constBits()
    bits_a.setsize(before.sizeInBytes())
    bits_b.setsize(after.sizeInBytes())
    row = width * pixel
    step = TILE_WIDTH * pixel
    rects: list[QRect] = []
    #: The rectangle that ended at the previous grid row, by its run of columns: grown if the run repeats.
    growing: dict[tuple[int, int], int] = {}
    for top in range(0, height, TILE_HEIGHT):
        bottom = min(top + TILE_HEIGHT, height)
        a = bits_a[top * line : bottom * line].asstring()
        b = bits_b[top * line : bottom * line].asstring()
        rows = [
            y * line
            for y in range(bottom - top)
            if a[y * line : y * line + row] != b[y * line : y * line + row]
        ]
        runs: list[tuple[int, int]] = []
        start = None
        for x in range(0, row, step):
            end = min(x + step, row)
            differs = bool(rows) and any(a[o + x : o + end] != b[o + x : o + end] for o in rows)
            if differs and start is None:
                start = x
            elif not differs and start is not None:
                runs.append((start // pixel, x // pixel))
                start = None
        if start is not None:
            runs.append((start // pixel, width))
        grown: dict[tuple[int, int], int] = {}
        for run in runs:
            index = growing.get(run)
            if index is None:
                index = len(rects)
                rects.append(QRect(run[0], top, run[1] - run[0], bottom - top))
            else:
                rects[index].setBottom(bottom - 1)
            grown[run] = index
        growing = grown
    return rects


class _Fade(QObject):
    """The crossfade's clock: progress from 0 to 1 over ``duration()`` ms, eased, ticking every frame."""

    def __init__(self, parent: QObject, frame: Callable[[], None], finished: Callable[[], None]) -> None:
        super().__init__(parent)
        self._clock = QElapsedTimer()
        self._duration = 0
        self._offset = 0
        self._curve = QEasingCurve(QEasingCurve.Type.InOutQuad)
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(FADE_FRAME_MS)
        self._timer.timeout.connect(self._tick)
        self._frame = frame
        self._finished = finished

    def start(self, duration: int) -> None:
        self._duration, self._offset = duration, 0
        self._clock.start()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def running(self) -> bool:
        return self._timer.isActive()

    def duration(self) -> int:
        return self._duration

    def current_time(self) -> int:
        return min(self._duration, self._clock.elapsed() + self._offset) if self._clock.isValid() else 0

    def seek(self, milliseconds: int) -> None:
        """Jump to ``milliseconds`` into the fade (the end finishes it)."""
        if self.running():
            self._offset = milliseconds - self._clock.elapsed()
            self._tick()

    def value(self) -> float:
        """The eased progress, 0 (old slide) to 1 (new slide)."""
        if self._duration <= 0:
            return 1.0
        return float(self._curve.valueForProgress(self.current_time() / self._duration))

    def _tick(self) -> None:
        if self.current_time() >= self._duration:
            self._timer.stop()
            self._finished()
        else:
            self._frame()


class SlideWindow(QWidget):
    """Shows one image at a time, with an optional crossfade.

    Signals:
        first_painted(): the first real slide reached the screen (for READY notification and start-up timing).
        overlay_requested(): the technician pressed F1; the owner answers with :meth:`show_overlay`.

    Args:
        rotation: Degrees the picture is turned (0, 90, 180, 270) for screens mounted on their side.
    """

    first_painted = pyqtSignal()
    overlay_requested = pyqtSignal()

    def __init__(self, *, rotation: int = 0) -> None:
        super().__init__()
        self._rotation = rotation
        self._current: QImage | None = None
        self._previous: QImage | None = None
        self._fade = _Fade(self, self._on_fade_step, self._on_fade_finished)
        #: Where the slides of the running crossfade differ, in slide coordinates (None: everywhere).
        self._changed: list[QRect] | None = None
        self._changed_window: QRegion | None = None
        self._announced = False
        self._overlay: list[str] = []
        self._overlay_timer = QTimer(self)
        self._overlay_timer.setSingleShot(True)
        self._overlay_timer.timeout.connect(self.hide_overlay)
        self.setWindowTitle("signage")
        self.setCursor(Qt.CursorShape.BlankCursor)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setStyleSheet("background: black")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def place(self, screen: QScreen | None, windowed: QSize | None) -> None:
        """Show fullscreen and frameless on ``screen``, or as a plain window of ``windowed`` size."""
        if windowed is not None:
            self.resize(windowed)
            self.show()
            return
        self.setWindowFlags(Qt.WindowType.FramelessWindowHint | Qt.WindowType.WindowStaysOnTopHint)
        if screen is not None:
            self.setGeometry(screen.geometry())
        self.showFullScreen()

    def slide_size(self) -> QSize:
        """The size slides must be rendered at: the window's, turned when the picture is rotated."""
        size = self.size()
        return size.transposed() if self._rotation in (90, 270) else size

    def show_image(self, image: QImage, fade_ms: int) -> None:
        """Put ``image`` on screen, crossfading from the current one over ``fade_ms`` milliseconds."""
        # A fade cut short leaves a blend on screen wherever the slides it mixed differed: that is
        # repainted too.
        unfinished = self._changed if self.is_fading() else []
        self._fade.stop()
        self._previous = self._current if fade_ms > 0 else None
        self._current = image
        self._changed, self._changed_window = None, None
        if self._previous is not None:
            changed = changed_region(self._previous, image)
            if changed is not None and unfinished is not None and image.size() == self.slide_size():
                self._changed = changed + unfinished
            self._fade.start(fade_ms)
        self._repaint_changed()

    def _changed_region(self) -> QRegion | None:
        """Where the running crossfade repaints, in window coordinates (``None``: everywhere)."""
        if self._changed is None:
            return None
        if self._changed_window is None:
            region = QRegion()
            for rect in self._changed:
                region += rect
            self._changed_window = self._slide_transform().map(region) if self._rotation else region
        return self._changed_window

    def _repaint_changed(self) -> None:
        region = self._changed_region()
        if region is None:
            self.update()
        elif not region.isEmpty():
            self.update(region)

    def is_fading(self) -> bool:
        """Whether a transition is running (the only time the window repaints on its own)."""
        return self._fade.running()

    def show_overlay(self, lines: list[str]) -> None:
        """Show the technician overlay with ``lines``; it hides itself after 30 seconds."""
        self._overlay = lines
        self._overlay_timer.start(OVERLAY_SECONDS * 1000)
        self.update()

    def hide_overlay(self) -> None:
        """Hide the technician overlay."""
        self._overlay = []
        self.update()

    def overlay_visible(self) -> bool:
        """Whether the technician overlay is on screen."""
        return bool(self._overlay)

    def keyPressEvent(self, event: QKeyEvent | None) -> None:
        if event is not None and event.key() == Qt.Key.Key_F1:
            if self._overlay:
                self.hide_overlay()
            else:
                self.overlay_requested.emit()
            return
        super().keyPressEvent(event)

    def paintEvent(self, event: QPaintEvent | None) -> None:
        painter = QPainter(self)
        try:
            if self._current is None or self._current.hasAlphaChannel():
                # An opaque slide covers the whole window (it is drawn scaled to it): no need to clear first,
                # which was a tenth of the player's CPU during crossfades.
                painter.fillRect(self.rect(), QColor("black"))
            if self._rotation:
                painter.setTransform(self._slide_transform())
            previous = self._previous if self.is_fading() else None
            rects = self._fade_rects(event)
            if rects is not None and self._current is not None:
                # During a crossfade, rectangle by rectangle where the slides differ: each a plain blit
                # and blend, where a full-screen draw clipped to the region walks clip spans.
                opacity = self._fade.value()
                for rect in rects:
                    if previous is not None:
                        painter.setOpacity(1.0)
                        painter.drawImage(rect, previous, rect)
                        painter.setOpacity(opacity)
                    painter.drawImage(rect, self._current, rect)
            else:
                target = QRectF(0, 0, self.slide_size().width(), self.slide_size().height())
                if previous is not None:
                    painter.drawImage(target, previous)
                    painter.setOpacity(self._fade.value())
                if self._current is not None:
                    painter.drawImage(target, self._current)
            painter.setOpacity(1.0)
            painter.resetTransform()
            if self._overlay:
                self._paint_overlay(painter)
        finally:
            painter.end()
        if self._current is not None and not self._announced:
            self._announced = True
            self.first_painted.emit()

    def _fade_rects(self, event: QPaintEvent | None) -> list[QRect] | None:
        """The crossfade's rectangles, if this paint needs no more (an expose paints everything)."""
        if self._changed is None or self._current is None or self._rotation or event is None:
            return None
        region = self._changed_region()
        if region is None or not event.region().subtracted(region).isEmpty():
            return None
        return self._changed

    def _slide_transform(self) -> QTransform:
        """Turns the coordinate system so slides rendered for the mounted orientation land upright."""
        transform = QTransform()
        transform.translate(self.width() / 2, self.height() / 2)
        transform.rotate(self._rotation)
        slide = self.slide_size()
        transform.translate(-slide.width() / 2, -slide.height() / 2)
        return transform

    def _paint_overlay(self, painter: QPainter) -> None:
        font = QFont(self.font())
        font.setPixelSize(max(14, self.height() // 40))
        painter.setFont(font)
        metrics = painter.fontMetrics()
        width = max(metrics.horizontalAdvance(line) for line in self._overlay) + 40
        height = metrics.lineSpacing() * len(self._overlay) + 30
        box = QRectF(20, 20, min(width, self.width() - 40), height)
        painter.fillRect(box, QColor(0, 0, 0, 210))
        painter.setPen(QColor("#7CFC00"))
        y = box.top() + 15 + metrics.ascent()
        for line in self._overlay:
            painter.drawText(int(box.left() + 20), int(y), line)
            y += metrics.lineSpacing()

    def _on_fade_step(self) -> None:
        self._repaint_changed()

    def _on_fade_finished(self) -> None:
        self._previous = None
        # The last frame, the new slide alone, again only where it differs from the old one.
        self._repaint_changed()
