"""Supervision from the player's side: READY after the first paint, watchdog pings from the GUI thread
that stop while it is frozen, and the planned restart at a slide boundary when memory passes the ceiling.

The first tests drive :class:`Health` in this process with a recording ``notify``. The last two start a
small real player in a fresh interpreter (the real window, the real ``Health`` and ``signage.sync.systemd``)
with ``NOTIFY_SOCKET`` pointing at a datagram socket the test listens on, as systemd would.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import os
import signal
import socket
import struct
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from PyQt6.QtCore import QObject, pyqtSignal
from pytestqt.qtbot import QtBot

from signage.kiosk.health import Health, check_fonts, resident_bytes
from signage.sync.systemd import RESTART_EXIT_STATUS
from tests.helpers import WAIT_MS

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


class Rss:
    """A fixed resident size that counts how often the memory check read it."""

    def __init__(self, value: int | None) -> None:
        self.value = value
        self.reads = 0

    def __call__(self) -> int | None:
        self.reads += 1
        return self.value


def make_health(recorder: Recorder, *, rss: int | Rss | None = 100 * MB, **options) -> Health:
    return Health(
        memory_ceiling_mb=600,
        exit=recorder.exit,
        notify=recorder.notify,
        rss=rss if isinstance(rss, Rss) else lambda: rss,
        memory_check=dt.timedelta(milliseconds=20),
        **options,
    )


def run_memory_checks(qtbot: QtBot, rss: Rss, count: int = 5) -> None:
    """Turn the event loop until ``count`` more memory checks ran: time passing, counted in its effect."""
    target = rss.reads + count
    qtbot.waitUntil(lambda: rss.reads >= target, timeout=WAIT_MS)


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
    # The pace is the timer's; how punctually a loaded machine runs it is not the player's to promise.
    assert health._ping.isActive() and health._ping.interval() == 50
    qtbot.waitUntil(lambda: recorder.sent.count("WATCHDOG=1") >= 5, timeout=WAIT_MS)


def test_no_watchdog_no_pings(qtbot: QtBot):
    recorder, signals, rss = Recorder(), Signals(), Rss(100 * MB)
    health = make_health(recorder, rss=rss, watchdog=None)
    health.watch(signals.first_painted, signals.slide_shown)
    run_memory_checks(qtbot, rss)
    assert "WATCHDOG=1" not in recorder.sent


def test_memory_under_the_ceiling_changes_nothing(qtbot: QtBot):
    recorder, signals, rss = Recorder(), Signals(), Rss(599 * MB)
    health = make_health(recorder, rss=rss)
    health.watch(signals.first_painted, signals.slide_shown)
    with qtbot.assertNotEmitted(health.restart_requested):
        run_memory_checks(qtbot, rss)
        signals.slide_shown.emit(object())
    assert recorder.exits == []


def test_over_the_ceiling_the_player_exits_75_at_the_next_slide_boundary(qtbot: QtBot):
    recorder, signals = Recorder(), Signals()
    health = make_health(recorder, rss=650 * MB)
    with qtbot.waitSignal(health.restart_requested, timeout=WAIT_MS) as requested:
        health.watch(signals.first_painted, signals.slide_shown)
    assert requested.args == [650]
    assert health.restart_pending
    # Deliberately let time pass (the grace is five minutes): no exit in the middle of a slide.
    qtbot.wait(100)
    assert recorder.exits == []
    signals.slide_shown.emit(object())
    assert recorder.exits == [RESTART_EXIT_STATUS] == [75]
    assert any(message.startswith("STOPPING=1") for message in recorder.sent)


def test_without_a_boundary_the_restart_happens_after_the_grace(qtbot: QtBot):
    recorder, signals = Recorder(), Signals()
    health = make_health(recorder, rss=2000 * MB, boundary_grace=dt.timedelta(milliseconds=200))
    health.watch(signals.first_painted, signals.slide_shown)
    qtbot.waitUntil(lambda: recorder.exits == [RESTART_EXIT_STATUS], timeout=WAIT_MS)


def test_unknown_memory_never_restarts(qtbot: QtBot):
    recorder, signals, rss = Recorder(), Signals(), Rss(None)
    health = make_health(recorder, rss=rss)
    health.watch(signals.first_painted, signals.slide_shown)
    run_memory_checks(qtbot, rss)
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
    from signage.core.playlist import Playlist

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

    from signage.sync import systemd
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


#: Linux's SO_TIMESTAMPNS (asm-generic; the socket module does not name it): the kernel stamps each
#: datagram as it is queued, so a message's time is when the child sent it, not when this test got round
#: to reading it on a busy machine.
SO_TIMESTAMPNS = 35


class NotifySocket:
    """The service manager's end: a datagram socket that keeps every message with the time it was sent."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.socket.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.socket.bind(str(path))
        self.messages: list[tuple[float, str]] = []

    def receive_until(self, stop: Callable[[], object], timeout: float = 30.0) -> bool:
        """Receive until ``stop()`` is true (then True), or ``timeout`` seconds pass (then False)."""
        deadline = time.monotonic() + timeout
        while not stop():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.socket.settimeout(left)
            try:
                self._receive_one()
            except TimeoutError:
                return False
        return True

    def drain(self) -> None:
        """Take what is already queued (everything, once the child has exited)."""
        self.socket.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            while True:
                self._receive_one()

    def _receive_one(self) -> None:
        data, ancillary, _, _ = self.socket.recvmsg(4096, socket.CMSG_SPACE(16))
        [(level, kind, stamp)] = ancillary
        assert (level, kind) == (socket.SOL_SOCKET, SO_TIMESTAMPNS)
        seconds, nanoseconds = struct.unpack("ll", stamp)
        self.messages.append((seconds + nanoseconds / 1e9, data.decode()))

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
    def pings_after(moment: float) -> list[float]:
        return [at for at in listener.times_of("WATCHDOG=1") if at > moment]

    child = start_child(tmp_path, listener)
    try:
        ready = listener.receive_until(lambda: listener.times_of("READY=1"))
        assert ready, f"no READY=1: {listener.messages}\n{stop(child)}"
        ready_at = listener.times_of("READY=1")[0]
        assert listener.receive_until(lambda: len(pings_after(ready_at)) >= 5), listener.messages
        child.send_signal(signal.SIGUSR1)
        assert listener.receive_until(lambda: listener.times_of("STATUS=thawed")), listener.messages
        # Only the GUI thread was frozen, and only for a while: the process lives and pings again.
        thawed_at = listener.times_of("STATUS=thawed")[0]
        assert listener.receive_until(lambda: len(pings_after(thawed_at)) >= 3), listener.messages
    finally:
        stderr = stop(child)
    [frozen_at] = listener.times_of("STATUS=freezing")
    pings = listener.times_of("WATCHDOG=1")
    during = [at for at in pings if frozen_at < at < thawed_at]
    assert during == [], (during, stderr)
    before = max(at for at in pings if at <= frozen_at)
    after = min(at for at in pings if at >= thawed_at)
    # The silence spans the whole freeze (send times: the child slept FREEZE_SECONDS between the two
    # statuses), far past WATCHDOG_USEC, so systemd would kill and restart it; and it is longer than any
    # gap while healthy. The healthy pace itself is the timer's (test_watchdog_pings_every_half_interval).
    assert after - before >= FREEZE_SECONDS
    assert after - before > 5 * WATCHDOG_USEC / 1e6
    healthy = [at for at in pings if ready_at <= at <= frozen_at]
    assert max(b - a for a, b in itertools.pairwise(healthy)) < after - before


def test_over_the_memory_ceiling_a_real_player_exits_75_between_slides(tmp_path, listener):
    child = start_child(tmp_path, listener, FAKE_RSS_MB="700")
    try:
        status = child.wait(timeout=30)
    finally:
        stderr = stop(child)
    listener.drain()  # the child has exited: everything it sent is queued
    assert status == RESTART_EXIT_STATUS, stderr
    texts = [message for _, message in listener.messages]
    assert "READY=1\nSTATUS=playing" in texts
    assert any(text.startswith("STATUS=memory 700 MB") for text in texts)
    assert texts[-1].startswith("STOPPING=1")
    assert "planned restart at a slide boundary" in stderr
