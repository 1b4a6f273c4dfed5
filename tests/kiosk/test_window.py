"""The slide window, offscreen: immediate paints, crossfades that end, no repaints while a slide stands,
the F1 technician overlay and its 30-second timer, and rotated screens.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PyQt6.QtCore import QEvent, QObject, QRect, QSize, Qt
from PyQt6.QtGui import QColor, QImage, QPainter, QPaintEvent, QRegion
from pytestqt.qtbot import QtBot

from signage.kiosk.window import (
    FADE_FPS,
    OVERLAY_SECONDS,
    TILE_HEIGHT,
    TILE_WIDTH,
    SlideWindow,
    changed_region,
)
from tests.helpers import WAIT_MS

SIZE = QSize(480, 270)
RED = QColor(200, 30, 30)
BLUE = QColor(30, 30, 200)
OVERLAY_GREEN = QColor("#7CFC00")


class PaintCounter(QObject):
    """Counts the paint events a widget receives and keeps the region of each (an event filter: the window
    is not touched)."""

    def __init__(self, widget: SlideWindow) -> None:
        super().__init__()
        self.count = 0
        self.regions: list[QRegion] = []
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject | None, event: QEvent | None) -> bool:
        if event is not None and event.type() == QEvent.Type.Paint:
            assert isinstance(event, QPaintEvent)
            self.count += 1
            self.regions.append(QRegion(event.region()))
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
    window._fade.seek(window._fade.duration())
    qtbot.waitUntil(lambda: not window.is_fading(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: centre(window) == BLUE, timeout=WAIT_MS)
    # A slide that simply stands costs no paint at all: time deliberately let pass, and nothing drawn.
    window.repaint()  # flush the last frame the fade asked for, so only what follows is counted
    paints.count = 0
    qtbot.wait(300)
    assert paints.count == 0
    assert window._previous is None  # the old image is let go once the fade is over


def test_a_crossfade_is_drawn_at_the_stated_frame_rate_not_at_every_animation_tick(window, qtbot):
    window.show_image(solid(RED), 0)
    window.repaint()
    paints = PaintCounter(window)
    window.show_image(solid(BLUE), 1000)
    qtbot.waitUntil(lambda: not window.is_fading(), timeout=WAIT_MS)
    window.repaint()  # and the final frame
    # A timer draws FADE_FPS frames a second, plus the first and the last (and the repaint above); Qt's
    # animation clock would tick about 60 times. A loaded machine may draw fewer, never more.
    assert 3 <= paints.count <= FADE_FPS + 3, paints.count


def test_changed_region_finds_every_differing_pixel_and_nothing_else():
    size = QSize(TILE_WIDTH * 5 + 7, TILE_HEIGHT * 4 + 3)  # partial tiles at the right and bottom edges
    before = solid(RED, size)
    assert changed_region(before, solid(RED, size)) == []
    for x, y in ((0, 0), (size.width() - 1, size.height() - 1), (TILE_WIDTH * 2 + 5, TILE_HEIGHT + 1)):
        after = solid(RED, size)
        after.setPixelColor(x, y, QColor(201, 30, 30))  # one level off in one channel of one pixel
        rects = changed_region(before, after)
        assert rects is not None and len(rects) == 1
        tile = QRect(x // TILE_WIDTH * TILE_WIDTH, y // TILE_HEIGHT * TILE_HEIGHT, TILE_WIDTH, TILE_HEIGHT)
        assert rects[0] == tile.intersected(QRect(0, 0, size.width(), size.height()))
    assert changed_region(before, solid(RED, QSize(10, 10))) is None  # not comparable: everything
    assert changed_region(before, before.convertToFormat(QImage.Format.Format_ARGB32)) is None


def test_changed_region_rectangles_are_disjoint_and_cover_what_changed():
    size = QSize(400, 300)
    before, after = solid(RED, size), solid(RED, size)
    painter = QPainter(after)
    painter.fillRect(10, 10, 100, 100, BLUE)  # a block several tiles high: grown into one rectangle
    painter.fillRect(300, 5, 3, 250, BLUE)
    painter.fillRect(150, 280, 20, 20, BLUE)
    painter.end()
    rects = changed_region(before, after)
    assert rects is not None
    covered = QRegion()
    for rect in rects:
        assert not covered.intersects(rect)
        covered += rect
    for x in range(size.width()):
        for y in range(size.height()):
            if after.pixel(x, y) != before.pixel(x, y):
                assert covered.contains(QRect(x, y, 1, 1).topLeft())
    assert len(rects) <= 6


def test_a_crossfade_repaints_only_where_the_slides_differ(window, qtbot):
    window.show_image(solid(RED), 0)
    window.repaint()
    paints = PaintCounter(window)
    new = solid(RED)
    QPainter(new).fillRect(0, 0, 100, 40, BLUE)  # the rest of the slide is the same
    window.show_image(new, 60_000)
    qtbot.waitUntil(lambda: paints.count >= 3, timeout=WAIT_MS)
    during = paints.count
    window._fade.seek(60_000)  # ends the fade and asks for the last frame
    assert not window.is_fading()
    qtbot.waitUntil(lambda: paints.count > during, timeout=WAIT_MS)  # the last frame
    changed = QRect(0, 0, 128, 48)  # whole tiles
    assert all(changed.contains(region.boundingRect()) for region in paints.regions), [
        region.boundingRect() for region in paints.regions
    ]
    image = window.grab().toImage()
    assert image.pixelColor(200, 200) == RED and image.pixelColor(99, 39) == BLUE


def test_a_crossfade_cut_short_leaves_no_blend_behind(window, qtbot):
    window.show_image(solid(RED), 0)
    window.repaint()
    first = halves(SIZE, BLUE, RED)  # differs from red in the top half only
    window.show_image(first, 10_000)
    window._fade.seek(5_000)
    window.repaint()
    assert centre(window) == RED and window.grab().toImage().pixelColor(10, 10) not in (RED, BLUE)
    second = halves(SIZE, BLUE, QColor(30, 200, 30))  # differs from the first in the bottom half only
    window.show_image(second, 10_000)
    window._fade.seek(10_000)
    qtbot.waitUntil(lambda: not window.is_fading(), timeout=WAIT_MS)
    window.repaint()
    image = window.grab().toImage()
    # The top half, blended when the first fade was cut short, shows the new slide too.
    assert image.pixelColor(10, 10) == BLUE
    assert image.pixelColor(10, SIZE.height() - 10) == QColor(30, 200, 30)


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
    window._fade.seek(5_000)
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


@pytest.mark.parametrize("rotation", [90, 180])
def test_a_rotated_window_crossfades_to_the_whole_new_slide(qtbot, rotation):
    window = SlideWindow(rotation=rotation)
    qtbot.addWidget(window)
    window.resize(SIZE)
    window.show()
    qtbot.waitExposed(window)
    slide = window.slide_size()
    window.show_image(solid(RED, slide), 0)
    window.repaint()
    window.show_image(halves(slide, BLUE, RED), 10_000)  # differs in the slide's top half only
    window._fade.seek(10_000)
    qtbot.waitUntil(lambda: not window.is_fading(), timeout=WAIT_MS)
    window.repaint()
    image = window.grab().toImage()
    w, h = SIZE.width(), SIZE.height()
    top_at = {90: (w - 5, h // 2), 180: (w // 2, h - 5)}[rotation]
    bottom_at = {90: (5, h // 2), 180: (w // 2, 5)}[rotation]
    assert image.pixelColor(*top_at) == BLUE
    assert image.pixelColor(*bottom_at) == RED
