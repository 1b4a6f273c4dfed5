"""Supervision from the player's side: READY after the first paint, watchdog pings from the GUI thread
that stop while it is frozen, and the planned restart at a slide boundary when memory passes the ceiling.

The first tests drive :class:`Health` in this process with a recording ``notify``. The last two start a
small real player in a fresh interpreter (the real window, the real ``Health`` and ``signage.systemd``)
with ``NOTIFY_SOCKET`` pointing at a datagram socket the test listens on, as systemd would.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from PyQt6.QtCore import QObject, pyqtSignal
from pytestqt.qtbot import QtBot

from signage.kiosk.health import Health, check_fonts, resident_bytes
from signage.systemd import RESTART_EXIT_STATUS

ROOT = Path(__file__).resolve().parents[2]
MB = 1024 * 1024


class Signals(QObject):
    """Stands in for the window's ``first_painted`` and the player's ``slide_shown``."""

    first_painted = pyqtSignal()
    slide_shown = pyqtSignal(object)


class Recorder:
    def __init__(self) -> None:
        self.sent: list[str] = []
        self.exits: list[int] = []

    def notify(self, message: str) -> bool:
        self.sent.append(message)
        return True

    def exit(self, status: int) -> None:
        self.exits.append(status)


def make_health(recorder: Recorder, *, rss: int | None = 100 * MB, **options) -> Health:
    return Health(
        memory_ceiling_mb=600,
        exit=recorder.exit,
        notify=recorder.notify,
        rss=lambda: rss,
        memory_check=dt.timedelta(milliseconds=20),
        **options,
    )


def test_ready_is_sent_once_when_the_first_slide_is_painted(qtbot: QtBot):
    recorder, signals = Recorder(), Signals()
    health = make_health(recorder)
    health.watch(signals.first_painted, signals.slide_shown)
    assert not any("READY=1" in message for message in recorder.sent)
    signals.first_painted.emit()
    signals.first_painted.emit()
    assert [message for message in recorder.sent if "READY=1" in message] == ["READY=1\nSTATUS=playing"]


def test_watchdog_pings_every_half_interval(qtbot: QtBot):
    recorder, signals = Recorder(), Signals()
    health = make_health(recorder, watchdog=dt.timedelta(milliseconds=100))
    health.watch(signals.first_painted, signals.slide_shown)
    qtbot.waitUntil(lambda: recorder.sent.count("WATCHDOG=1") >= 5, timeout=2000)


def test_no_watchdog_no_pings(qtbot: QtBot):
    recorder, signals = Recorder(), Signals()
    health = make_health(recorder, watchdog=None)
    health.watch(signals.first_painted, signals.slide_shown)
    qtbot.wait(100)
    assert "WATCHDOG=1" not in recorder.sent


def test_memory_under_the_ceiling_changes_nothing(qtbot: QtBot):
    recorder, signals = Recorder(), Signals()
    health = make_health(recorder, rss=599 * MB)
    health.watch(signals.first_painted, signals.slide_shown)
    with qtbot.assertNotEmitted(health.restart_requested, wait=150):
        signals.slide_shown.emit(object())
    assert recorder.exits == []


def test_over_the_ceiling_the_player_exits_75_at_the_next_slide_boundary(qtbot: QtBot):
    recorder, signals = Recorder(), Signals()
    health = make_health(recorder, rss=650 * MB)
    with qtbot.waitSignal(health.restart_requested, timeout=1000) as requested:
        health.watch(signals.first_painted, signals.slide_shown)
    assert requested.args == [650]
    assert health.restart_pending
    qtbot.wait(100)
    assert recorder.exits == []  # not in the middle of a slide
    signals.slide_shown.emit(object())
    assert recorder.exits == [RESTART_EXIT_STATUS] == [75]
    assert any(message.startswith("STOPPING=1") for message in recorder.sent)


def test_without_a_boundary_the_restart_happens_after_the_grace(qtbot: QtBot):
    recorder, signals = Recorder(), Signals()
    health = make_health(recorder, rss=2000 * MB, boundary_grace=dt.timedelta(milliseconds=200))
    health.watch(signals.first_painted, signals.slide_shown)
    qtbot.waitUntil(lambda: recorder.exits == [RESTART_EXIT_STATUS], timeout=2000)


def test_unknown_memory_never_restarts(qtbot: QtBot):
    recorder, signals = Recorder(), Signals()
    health = make_health(recorder, rss=None)
    health.watch(signals.first_painted, signals.slide_shown)
    qtbot.wait(100)
    signals.slide_shown.emit(object())
    assert recorder.exits == []


def test_resident_bytes_reads_statm(tmp_path):
    statm = tmp_path / "statm"
    statm.write_text("5000 1234 300 10 0 900 0\n")
    assert resident_bytes(statm) == 1234 * os.sysconf("SC_PAGE_SIZE")
    assert resident_bytes(tmp_path / "missing") is None
    live = resident_bytes()
    assert live is not None and live > 10 * MB  # this very process, Qt loaded


def test_the_doctors_font_check_finds_the_cjk_font(qapp, sample):
    from signage.playlist import Playlist

    playlist = Playlist(
        channel="c1",
        version=1,
        issued=dt.datetime(2026, 11, 26, tzinfo=dt.UTC),
        records=tuple(sample.records.values()),
    )
    findings = check_fonts(playlist)
    assert findings.primary is not None and "CJK" in findings.primary
    assert findings.missing == ()


# --- a real process under a watchdog ----------------------------------------------------------------------

CHILD = textwrap.dedent(
    """
    import datetime as dt
    import os
    import signal
    import sys
    import time

    from PyQt6.QtCore import QObject, QSize, QTimer, pyqtSignal
    from PyQt6.QtGui import QImage
    from PyQt6.QtWidgets import QApplication

    from signage import systemd
    from signage.kiosk.health import Health
    from signage.kiosk.window import SlideWindow

    app = QApplication(sys.argv[:1])


    class Slides(QObject):
        slide_shown = pyqtSignal(object)


    slides = Slides()
    window = SlideWindow()
    window.place(None, QSize(320, 180))
    fake = os.environ.get("FAKE_RSS_MB")
    options = {} if fake is None else {"rss": lambda: int(fake) * 1024 * 1024}
    health = Health(
        memory_ceiling_mb=600,
        exit=app.exit,
        watchdog=systemd.watchdog_interval(),
        memory_check=dt.timedelta(milliseconds=200),
        **options,
    )
    health.watch(window.first_painted, slides.slide_shown)


    def show_slide():
        image = QImage(window.slide_size(), QImage.Format.Format_RGB32)
        image.fill(0x336699)
        window.show_image(image, 0)
        slides.slide_shown.emit("slide")


    dwell = QTimer()
    dwell.timeout.connect(show_slide)
    dwell.start(700)
    QTimer.singleShot(0, show_slide)


    def freeze():
        # The GUI thread stops turning its event loop, as in a hung slot.
        systemd.status("freezing")
        time.sleep(float(os.environ["FREEZE_SECONDS"]))
        systemd.status("thawed")


    # Python runs signal handlers only when the interpreter gets control: a short timer gives it that.
    tick = QTimer()
    tick.timeout.connect(lambda: None)
    tick.start(50)
    signal.signal(signal.SIGUSR1, lambda *_: QTimer.singleShot(0, freeze))
    signal.signal(signal.SIGTERM, lambda *_: app.quit())
    sys.exit(app.exec())
    """
)

if sys.platform != "linux":  # pragma: no cover
    pytest.skip("sd_notify and /proc are Linux only", allow_module_level=True)

WATCHDOG_USEC = 400_000
FREEZE_SECONDS = 2.5


class NotifySocket:
    """The service manager's end: a datagram socket that keeps every message with its arrival time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.socket.bind(str(path))
        self.messages: list[tuple[float, str]] = []

    def receive_until(self, deadline: float, stop=lambda messages: False) -> None:
        while time.monotonic() < deadline and not stop(self.messages):
            self.socket.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data = self.socket.recv(4096)
            except TimeoutError:
                return
            self.messages.append((time.monotonic(), data.decode()))

    def times_of(self, text: str) -> list[float]:
        return [at for at, message in self.messages if text in message.split("\n")]

    def close(self) -> None:
        self.socket.close()


def start_child(tmp_path: Path, listener: NotifySocket, **extra: str) -> subprocess.Popen[str]:
    script = tmp_path / "player.py"
    script.write_text(CHILD, encoding="utf-8")
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "NOTIFY_SOCKET": str(listener.path),
        "WATCHDOG_USEC": str(WATCHDOG_USEC),
        "FREEZE_SECONDS": str(FREEZE_SECONDS),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        **extra,
    }
    env.pop("WATCHDOG_PID", None)
    return subprocess.Popen(
        [sys.executable, str(script)], env=env, cwd=tmp_path, stderr=subprocess.PIPE, text=True
    )


@pytest.fixture
def listener(tmp_path: Path):
    notify = NotifySocket(tmp_path / "notify")
    yield notify
    notify.close()


def stop(child: subprocess.Popen[str]) -> str:
    if child.poll() is None:
        child.send_signal(signal.SIGTERM)
    try:
        _, stderr = child.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        child.kill()
        _, stderr = child.communicate()
    return stderr


def test_a_frozen_gui_thread_stops_the_watchdog_pings(tmp_path, listener):
    child = start_child(tmp_path, listener)
    try:
        listener.receive_until(
            time.monotonic() + 30, stop=lambda messages: any("READY=1" in m for _, m in messages)
        )
        assert listener.times_of("READY=1"), f"no READY=1: {listener.messages}\n{stop(child)}"
        # Healthy: pings every 200 ms (half of WATCHDOG_USEC), never a gap systemd would punish.
        ready_at = listener.times_of("READY=1")[0]
        listener.receive_until(ready_at + 1.5)
        healthy = [at for at in listener.times_of("WATCHDOG=1") if at >= ready_at]
        assert len(healthy) >= 5, listener.messages
        assert max(b - a for a, b in itertools.pairwise(healthy)) < WATCHDOG_USEC / 1e6

        child.send_signal(signal.SIGUSR1)
        listener.receive_until(
            time.monotonic() + FREEZE_SECONDS + 5,
            stop=lambda messages: any(m == "STATUS=thawed" for _, m in messages),
        )
        listener.receive_until(time.monotonic() + 1.0)  # pings resume after the thaw
    finally:
        stderr = stop(child)
    [frozen_at] = listener.times_of("STATUS=freezing")
    [thawed_at] = listener.times_of("STATUS=thawed")
    pings = listener.times_of("WATCHDOG=1")
    during = [at for at in pings if frozen_at < at < thawed_at]
    assert during == [], (during, stderr)
    before = max(at for at in pings if at <= frozen_at)
    after = min(at for at in pings if at >= thawed_at)
    # The silence spans the whole freeze: far past WATCHDOG_USEC, so systemd would kill and restart.
    assert after - before >= FREEZE_SECONDS - 0.1
    assert after - before > 5 * WATCHDOG_USEC / 1e6
    # Only the GUI thread was frozen, and only for a while: the process lived and pinged again.
    assert len([at for at in pings if at > thawed_at]) >= 3


def test_over_the_memory_ceiling_a_real_player_exits_75_between_slides(tmp_path, listener):
    child = start_child(tmp_path, listener, FAKE_RSS_MB="700")
    try:
        status = child.wait(timeout=30)
    finally:
        stderr = stop(child)
    listener.receive_until(time.monotonic() + 0.5)
    assert status == RESTART_EXIT_STATUS, stderr
    texts = [message for _, message in listener.messages]
    assert "READY=1\nSTATUS=playing" in texts
    assert any(text.startswith("STATUS=memory 700 MB") for text in texts)
    assert texts[-1].startswith("STOPPING=1")
    assert "planned restart at a slide boundary" in stderr
