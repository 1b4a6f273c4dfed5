"""A real player under Xvfb shows grid pages (issue 13's "done when").

The fictional sample (more than 12 entries, marked 示例 / SAMPLE) is published to a fresh repository and
served by a hub on 127.0.0.1. A fresh interpreter runs the player as ``signage play`` does
(``run_player``: cache watcher, rotation, render thread, a fullscreen window on Xvfb at 1920×1080 through Qt's xcb
platform) with ``entries_per_page = 12``, and ``signage sync`` beside it fills the empty cache (issue 15). The
child prints every slide it shows; at the first page it
waits for the crossfade to end and for the X server to hold the window's frame, grabs the screen and
exits. The test checks the page had 12 entries, the grab is the screen's whole 1920×1080 and matches what
the window painted, and the player recorded its slide size for ``signage status``.

With ``SIGNAGE_SCREENSHOTS=docs/screenshots`` the grab is kept as ``pages-player-1920x1080.png``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from signage.core.pages import PLAYER_STATE_FILE, read_slide_size
from signage.demo import xvfb
from signage.operator.hub.files import make_app
from signage.operator.hub.server import Hub
from signage.operator.publish.channel import ChannelSettings, publish_channel
from signage.operator.publish.repo import OperatorRepository

pytestmark = pytest.mark.skipif(
    shutil.which("Xvfb") is None, reason="Xvfb is not installed (apt-get install xvfb)"
)

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "assets" / "sample"
SCREEN = (1920, 1080)
SCREEN_ID = "pages-screen"
CHANNEL = "sample"
#: The child gives up after this long; the test's own timeout is above it.
CHILD_SECONDS = 90

CHILD = textwrap.dedent(
    """
    import datetime as dt
    import json
    import sys
    from pathlib import Path

    from PyQt6.QtCore import QTimer
    from PyQt6.QtGui import QGuiApplication, QImage
    from PyQt6.QtWidgets import QApplication

    from signage.sync.config import load_player_config
    from signage.kiosk.app import run_player
    from signage.core.rotation import SlideKind

    config = load_player_config(Path(sys.argv[1]))
    shot = sys.argv[2]
    limit_ms = int(sys.argv[3]) * 1000


    def say(**fields):
        print(json.dumps(fields), flush=True)


    def ready(window, player):
        grabbing = []

        def grab(tries=0):
            if window.is_fading():
                QTimer.singleShot(50, lambda: grab(tries))
                return
            painted = window.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
            screen = QGuiApplication.primaryScreen().grabWindow(0).toImage()
            screen = screen.convertToFormat(QImage.Format.Format_RGB32)
            # The X server may not hold the frame yet: look again until it does.
            if screen != painted and tries < 200:
                QTimer.singleShot(50, lambda: grab(tries + 1))
                return
            screen.save(shot, "PNG")
            say(grabbed=[screen.width(), screen.height()], identical=screen == painted,
                fullscreen=window.isFullScreen(), on_screen=player.current.key)
            QApplication.quit()

        def shown(slide):
            say(kind=str(slide.kind), entries=len(slide.entries), key=slide.key)
            if slide.kind is SlideKind.PAGE and not grabbing:
                grabbing.append(slide)
                QTimer.singleShot(0, grab)

        player.slide_shown.connect(shown)
        QTimer.singleShot(limit_ms, lambda: (say(error="no page in time"), QApplication.exit(3)))


    sys.exit(run_player(config, windowed=None, clock=lambda: dt.datetime.now(dt.UTC), on_ready=ready))
    """
)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    work = tmp_path_factory.mktemp("pages-player")
    repository = OperatorRepository.init(work / "repo", now=_now())
    result = publish_channel(
        repository,
        CHANNEL,
        SAMPLE / "records.csv",
        photos=SAMPLE / "photos",
        now=_now(),
        settings=ChannelSettings(sample=True),
        allow_partial=True,
    )
    assert result.version is not None and len(result.report.records) > 12

    def refresh() -> None:
        with repository.locked():
            repository.refresh(now=_now())

    server = Hub(make_app(repository.public), refresh, host="127.0.0.1", port=0)
    server.start()
    try:
        root = work / "root.json"
        shutil.copyfile(repository.metadata_dir / "1.root.json", root)
        yield f"http://127.0.0.1:{server.port}/", root
    finally:
        server.stop()


def test_a_real_player_under_xvfb_shows_a_grid_page_of_twelve(hub: tuple[str, Path], tmp_path: Path) -> None:
    hub_url, root = hub
    cache = tmp_path / "cache"
    config = tmp_path / "player.toml"
    config.write_text(
        f'screen_id = "{SCREEN_ID}"\nhub_url = "{hub_url}"\nchannel = "{CHANNEL}"\nroot = "{root}"\n'
        f'cache_dir = "{cache}"\ntoken_file = "{tmp_path / "no.token"}"\n'
        "dwell_seconds = 3\ntransition_seconds = 0.5\nentries_per_page = 12\nheartbeat_seconds = 600\n",
        encoding="utf-8",
    )
    script = tmp_path / "pages_player.py"
    script.write_text(CHILD, encoding="utf-8")
    shot = tmp_path / "grab.png"
    with xvfb(SCREEN) as display:
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in ("WAYLAND_DISPLAY",) and not key.lower().endswith("_proxy")
        }
        env |= {
            "DISPLAY": display,
            "QT_QPA_PLATFORM": "xcb",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        }
        # Beside it, as on a screen: the sync service fills the empty cache (issue 15: the painter never syncs).
        service = subprocess.Popen(
            [sys.executable, "-m", "signage", "sync", "--config", str(config)],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            done = subprocess.run(
                [sys.executable, str(script), str(config), str(shot), str(CHILD_SECONDS)],
                env=env,
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=CHILD_SECONDS + 60,
                check=False,
            )
        finally:
            service.terminate()
            _out, service_log = service.communicate(timeout=60)
    assert service.returncode == 0, service_log[-3000:]
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert done.returncode == 0, (lines, done.stderr[-3000:])
    pages = [line for line in lines if line.get("kind") == "page"]
    assert pages and pages[0]["entries"] == 12, lines
    result = lines[-1]
    assert result["grabbed"] == list(SCREEN) and result["identical"] and result["fullscreen"], result
    assert result["on_screen"] == pages[0]["key"]
    # The player recorded the size its slides really have, for `signage status`.
    assert read_slide_size((cache / PLAYER_STATE_FILE).read_bytes(), SCREEN_ID) == SCREEN
    target = os.environ.get("SIGNAGE_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, Path(target) / "pages-player-1920x1080.png")
