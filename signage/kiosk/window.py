"""The fullscreen window: paints finished slide images, crossfades between them, and nothing else.

It never renders a slide itself (that happens off screen, ahead of time) and repaints only while a
transition runs, so a standing slide costs no CPU. No cursor, no decorations, never a dialog. F1 shows the
technician overlay for 30 seconds.
"""

from __future__ import annotations

from PyQt6.QtCore import QEasingCurve, QElapsedTimer, QRectF, QSize, Qt, QTimer, QVariantAnimation, pyqtSignal
from PyQt6.QtGui import QColor, QFont, QImage, QKeyEvent, QPainter, QPaintEvent, QScreen, QTransform
from PyQt6.QtWidgets import QWidget

OVERLAY_SECONDS = 30
#: A crossfade repaints at most about 30 times a second. Qt's animation clock ticks about every 16 ms; a
#: full-screen blend per tick was half of the player's CPU on a 2 s dwell (bench/profile.py), and 30 frames
#: a second, the rate of broadcast video, fades smoothly. Every other tick is skipped.
FADE_FRAME_MS = 30


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
        self._fade = QVariantAnimation(self)
        self._fade.setStartValue(0.0)
        self._fade.setEndValue(1.0)
        self._fade.setEasingCurve(QEasingCurve.Type.InOutQuad)
        self._fade.valueChanged.connect(self._on_fade_step)
        self._fade.finished.connect(self._on_fade_finished)
        self._since_frame = QElapsedTimer()
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
        self._fade.stop()
        self._previous = self._current if fade_ms > 0 else None
        self._current = image
        if self._previous is not None:
            self._fade.setDuration(fade_ms)
            self._fade.start()
        self._since_frame.start()
        self.update()

    def is_fading(self) -> bool:
        """Whether a transition is running (the only time the window repaints on its own)."""
        return self._fade.state() == QVariantAnimation.State.Running

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
                # Turn the coordinate system so slides rendered for the mounted orientation land upright.
                transform = QTransform()
                transform.translate(self.width() / 2, self.height() / 2)
                transform.rotate(self._rotation)
                slide = self.slide_size()
                transform.translate(-slide.width() / 2, -slide.height() / 2)
                painter.setTransform(transform)
            target = QRectF(0, 0, self.slide_size().width(), self.slide_size().height())
            if self._previous is not None and self.is_fading():
                painter.drawImage(target, self._previous)
                painter.setOpacity(float(self._fade.currentValue() or 0.0))
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
        if self._since_frame.elapsed() >= FADE_FRAME_MS:
            self._since_frame.start()
            self.update()

    def _on_fade_finished(self) -> None:
        self._previous = None
        self.update()
