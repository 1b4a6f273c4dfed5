"""The slide window, offscreen: immediate paints, crossfades that end, no repaints while a slide stands,
the F1 technician overlay and its 30-second timer, and rotated screens.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PyQt6.QtCore import QEvent, QObject, QSize, Qt
from PyQt6.QtGui import QColor, QImage, QPainter
from pytestqt.qtbot import QtBot

from signage.kiosk.window import FADE_FRAME_MS, OVERLAY_SECONDS, SlideWindow
from tests.helpers import WAIT_MS

SIZE = QSize(480, 270)
RED = QColor(200, 30, 30)
BLUE = QColor(30, 30, 200)
OVERLAY_GREEN = QColor("#7CFC00")


class PaintCounter(QObject):
    """Counts the paint events a widget receives (an event filter: the window is not touched)."""

    def __init__(self, widget: SlideWindow) -> None:
        super().__init__()
        self.count = 0
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject | None, event: QEvent | None) -> bool:
        if event is not None and event.type() == QEvent.Type.Paint:
            self.count += 1
        return False


def solid(colour: QColor, size: QSize = SIZE) -> QImage:
    image = QImage(size, QImage.Format.Format_RGB32)
    image.fill(colour)
    return image


def halves(size: QSize, top: QColor, bottom: QColor) -> QImage:
    """An image whose top half is ``top`` and bottom half ``bottom``."""
    image = solid(bottom, size)
    painter = QPainter(image)
    painter.fillRect(0, 0, size.width(), size.height() // 2, top)
    painter.end()
    return image


def centre(window: SlideWindow) -> QColor:
    return window.grab().toImage().pixelColor(window.width() // 2, window.height() // 2)


@pytest.fixture
def window(qtbot: QtBot) -> Iterator[SlideWindow]:
    window = SlideWindow()
    qtbot.addWidget(window)
    window.resize(SIZE)
    window.show()
    qtbot.waitExposed(window)
    yield window


def test_a_new_window_is_blank_with_no_cursor(window):
    assert window.cursor().shape() == Qt.CursorShape.BlankCursor
    assert centre(window) == QColor(0, 0, 0)
    assert not window.is_fading()
    assert window.slide_size() == SIZE


def test_show_image_without_fade_paints_at_once(window, qtbot):
    paints = PaintCounter(window)
    with qtbot.waitSignal(window.first_painted, timeout=WAIT_MS):
        window.show_image(solid(RED), 0)
    assert paints.count >= 1
    assert not window.is_fading()
    assert centre(window) == RED
    before = paints.count
    window.show_image(solid(BLUE), 0)
    assert not window.is_fading()
    qtbot.waitUntil(lambda: paints.count > before, timeout=WAIT_MS)
    assert centre(window) == BLUE


def test_first_painted_fires_once(window, qtbot):
    with qtbot.waitSignal(window.first_painted, timeout=WAIT_MS):
        window.show_image(solid(RED), 0)
    with qtbot.assertNotEmitted(window.first_painted, wait=100):
        window.show_image(solid(BLUE), 0)
        window.repaint()


def test_a_crossfade_runs_then_repaints_stop(window, qtbot):
    with qtbot.waitSignal(window.first_painted, timeout=WAIT_MS):
        window.show_image(solid(RED), 0)
    paints = PaintCounter(window)
    window.show_image(solid(BLUE), 60_000)  # long enough to repaint on any machine; ended by hand below
    assert window.is_fading()
    qtbot.waitUntil(lambda: paints.count >= 3, timeout=WAIT_MS)  # the fade repaints as it runs
    assert window.is_fading()
    window._fade.setCurrentTime(window._fade.duration())
    qtbot.waitUntil(lambda: not window.is_fading(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: centre(window) == BLUE, timeout=WAIT_MS)
    # A slide that simply stands costs no paint at all: time deliberately let pass, and nothing drawn.
    window.repaint()  # flush the last frame the fade asked for, so only what follows is counted
    paints.count = 0
    qtbot.wait(300)
    assert paints.count == 0
    assert window._previous is None  # the old image is let go once the fade is over


def test_a_crossfade_repaints_about_thirty_times_a_second_not_at_every_animation_tick(window, qtbot):
    window.show_image(solid(RED), 0)
    window.repaint()
    paints = PaintCounter(window)
    window.show_image(solid(BLUE), 1000)
    qtbot.waitUntil(lambda: not window.is_fading(), timeout=WAIT_MS)
    window.repaint()  # and the final frame
    # Qt's animation clock ticks about 60 times a second; the window draws every other tick (FADE_FRAME_MS),
    # plus the first and last frames. A loaded machine may draw fewer; it never draws every tick.
    assert 5 <= paints.count <= 1000 / FADE_FRAME_MS + 4, paints.count


def test_a_slide_with_transparency_is_drawn_on_black_not_on_what_was_there(window, qtbot):
    window.show_image(solid(RED), 0)
    window.repaint()
    clear = QImage(SIZE, QImage.Format.Format_ARGB32_Premultiplied)
    clear.fill(Qt.GlobalColor.transparent)
    window.show_image(clear, 0)
    assert centre(window) == QColor("black")


def test_a_crossfade_mixes_the_two_images_on_the_way(window, qtbot):
    window.show_image(solid(RED), 0)
    window.show_image(solid(BLUE), 10_000)  # long enough to look at mid-way
    window._fade.setCurrentTime(5_000)
    mixed = centre(window)
    assert mixed not in (RED, BLUE)
    assert abs(mixed.red() - mixed.blue()) < 40  # about half of each
    window.show_image(solid(RED), 0)  # a new slide without fade ends the transition at once
    assert not window.is_fading() and centre(window) == RED


def test_f1_asks_for_the_overlay_and_it_hides_itself(window, qtbot):
    window.show_image(solid(BLUE), 0)
    with qtbot.waitSignal(window.overlay_requested, timeout=WAIT_MS):
        qtbot.keyClick(window, Qt.Key.Key_F1)
    window.show_overlay(["screen / 屏幕: jinan-station-01", "last sync / 上次同步: updated"])
    assert window.overlay_visible()
    timer = window._overlay_timer
    assert timer.isActive() and timer.isSingleShot()
    assert timer.interval() == OVERLAY_SECONDS * 1000 == 30_000
    image = window.grab().toImage()
    assert any(
        image.pixelColor(x, y) == OVERLAY_GREEN for x in range(20, 300) for y in range(20, 80)
    )  # the text is painted in the technician's green
    timer.setInterval(20)  # rather than wait thirty seconds
    qtbot.waitUntil(lambda: not window.overlay_visible(), timeout=WAIT_MS)
    image = window.grab().toImage()
    assert not any(image.pixelColor(x, y) == OVERLAY_GREEN for x in range(20, 300) for y in range(20, 80))


def test_f1_again_hides_the_overlay_without_asking_for_it(window, qtbot):
    window.show_overlay(["screen / 屏幕: jinan-station-01"])
    with qtbot.assertNotEmitted(window.overlay_requested):
        qtbot.keyClick(window, Qt.Key.Key_F1)
    assert not window.overlay_visible()


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
def test_a_rotated_window_renders_slides_for_the_mounted_orientation(qtbot, rotation):
    window = SlideWindow(rotation=rotation)
    qtbot.addWidget(window)
    window.resize(SIZE)
    turned = rotation in (90, 270)
    slide = window.slide_size()
    assert slide == (SIZE.transposed() if turned else SIZE)
    window.show_image(halves(slide, RED, BLUE), 0)
    image = window.grab().toImage()
    assert image.size() == SIZE
    w, h = SIZE.width(), SIZE.height()
    # The picture fills the window (no black bars) and the slide's top lands where the screen's top is
    # after the turn (clockwise): on the right for 90°, at the bottom for 180°, on the left for 270°.
    top_at = {0: (w // 2, 5), 90: (w - 5, h // 2), 180: (w // 2, h - 5), 270: (5, h // 2)}[rotation]
    bottom_at = {0: (w // 2, h - 5), 90: (5, h // 2), 180: (w // 2, 5), 270: (w - 5, h // 2)}[rotation]
    assert image.pixelColor(*top_at) == RED
    assert image.pixelColor(*bottom_at) == BLUE
    for corner in ((0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1)):
        assert image.pixelColor(*corner) in (RED, BLUE)
