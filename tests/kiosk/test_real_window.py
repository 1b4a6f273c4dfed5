"""One real window on a real X server (Xvfb, through Qt's xcb platform): fullscreen, no cursor, first slide
painted on the screen itself.

It runs in a fresh interpreter: the other Qt tests share one offscreen QApplication, and a process holds
one platform for life. The child prints its findings as JSON on its last line and the test checks them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from signage.demo import xvfb

ROOT = Path(__file__).resolve().parents[2]
SCREEN_SIZE = (1280, 720)

CHILD = textwrap.dedent(
    """
    import json
    import sys

    from PyQt6.QtCore import QSize, Qt, QTimer
    from PyQt6.QtGui import QColor, QGuiApplication, QImage, QPainter
    from PyQt6.QtWidgets import QApplication

    from signage.kiosk.fonts import find_fonts
    from signage.kiosk.slides import SlideRenderer
    from signage.kiosk.window import SlideWindow

    app = QApplication(sys.argv[:1])
    result = {"platform": QGuiApplication.platformName()}


    def finish(code):
        print(json.dumps(result), flush=True)
        app.exit(code)


    def give_up():
        result["error"] = "timed out waiting for the first slide on screen"
        finish(3)


    QTimer.singleShot(15_000, give_up)  # every wait below is bounded by this

    screen = QGuiApplication.primaryScreen()
    geometry = screen.geometry()
    result["screen"] = [geometry.x(), geometry.y(), geometry.width(), geometry.height()]

    # A real standby slide at the screen's size, with corner marks no slide has, so nothing else matches.
    size = QSize(geometry.width(), geometry.height())
    renderer = SlideRenderer(find_fonts(), mark="xvfb-test · v1", sample=False, photos=lambda ref: None)
    image = renderer.render_standby(size).image
    image = image.convertToFormat(QImage.Format.Format_RGB32)
    painter = QPainter(image)
    marks = {
        (0, 0): QColor(255, 0, 0),
        (size.width() - 40, 0): QColor(0, 255, 0),
        (0, size.height() - 40): QColor(0, 0, 255),
        (size.width() - 40, size.height() - 40): QColor(255, 255, 0),
    }
    for (x, y), colour in marks.items():
        painter.fillRect(x, y, 40, 40, colour)
    painter.end()
    result["distinct_colours"] = len(
        {image.pixel(x, y) for x in range(0, size.width(), 16) for y in range(0, size.height(), 16)}
    )

    window = SlideWindow()
    window.place(screen, None)
    points = [
        (x, y)
        for x in (5, size.width() // 4, size.width() // 2, 3 * size.width() // 4, size.width() - 5)
        for y in (5, size.height() // 3, size.height() // 2, 2 * size.height() // 3, size.height() - 5)
    ]


    def check():
        # The window painted; the X server may not have the frame yet, so look again until it does.
        grabbed = screen.grabWindow(0).toImage().convertToFormat(QImage.Format.Format_RGB32)
        samples = [[x, y, image.pixel(x, y), grabbed.pixel(x, y)] for x, y in points]
        if any(want != got for _, _, want, got in samples) and result.setdefault("tries", 0) < 100:
            result["tries"] += 1
            QTimer.singleShot(50, check)
            return
        g = window.geometry()
        result.update(
            fullscreen=window.isFullScreen(),
            state_fullscreen=bool(window.windowState() & Qt.WindowState.WindowFullScreen),
            geometry=[g.x(), g.y(), g.width(), g.height()],
            frameless=bool(window.windowFlags() & Qt.WindowType.FramelessWindowHint),
            cursor_blank=window.cursor().shape() == Qt.CursorShape.BlankCursor,
            grabbed_size=[grabbed.width(), grabbed.height()],
            samples=samples,
            identical=grabbed == image,
        )
        finish(0)


    window.first_painted.connect(lambda: QTimer.singleShot(0, check))
    window.show_image(image, 0)
    sys.exit(app.exec())
    """
)


@pytest.mark.skipif(shutil.which("Xvfb") is None, reason="Xvfb is not installed (apt-get install xvfb)")
def test_a_real_fullscreen_window_paints_the_first_slide(tmp_path):
    script = tmp_path / "real_window.py"
    script.write_text(CHILD, encoding="utf-8")
    with xvfb(SCREEN_SIZE) as display:
        env = {
            **os.environ,
            "DISPLAY": display,
            "QT_QPA_PLATFORM": "xcb",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        }
        done = subprocess.run(
            [sys.executable, str(script)],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.stdout.strip(), f"no result (exit {done.returncode}):\n{done.stderr}"
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert done.returncode == 0, (result, done.stderr)
    assert result["platform"] == "xcb"
    width, height = SCREEN_SIZE
    assert result["screen"] == [0, 0, width, height]
    assert result["fullscreen"] and result["state_fullscreen"]
    assert result["frameless"]
    assert result["geometry"] == [0, 0, width, height]
    assert result["cursor_blank"]
    assert result["distinct_colours"] > 4  # the slide is not one flat colour
    assert result["grabbed_size"] == [width, height]
    mismatched = [sample for sample in result["samples"] if sample[2] != sample[3]]
    assert not mismatched, mismatched
    assert result["identical"]  # every pixel of the screen is the slide's
