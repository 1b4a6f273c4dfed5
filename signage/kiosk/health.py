"""The player's side of supervision: READY, watchdog pings from the GUI thread, and the memory ceiling.

``kiosk.service`` runs the player with ``Type=notify`` and ``WatchdogSec=``. :class:`Health` tells systemd
the player is up once the first slide is painted, and pings the watchdog from a ``QTimer`` on the GUI
thread, so the pings stop exactly when the GUI thread stops turning its event loop (a hang in a slot, a
deadlock, a paint that never ends) and systemd kills and restarts the player. The render and sync
threads are not covered by design: the GUI thread keeps the screen right even when they stall.

Memory: every minute the resident set size (``/proc/self/statm``) is compared with the configured
ceiling. Above it, the player asks to stop at the next slide boundary: :class:`Health` emits
``restart_requested``, waits for the next ``slide_shown``, logs, and quits with
:data:`signage.sync.systemd.RESTART_EXIT_STATUS` (75). ``Restart=always`` brings the player back a few seconds
later, and it starts from the verified cache as after any restart. Should no boundary come (a player
stuck on one slide), it quits anyway after a grace period.

The Qt half of ``signage doctor``'s font check lives here too (:func:`check_fonts`), so that the doctor
itself stays Qt-free.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PyQt6.QtCore import QObject, QTimer, pyqtBoundSignal, pyqtSignal
from PyQt6.QtGui import QGuiApplication

from signage.core.playlist import Playlist
from signage.sync import systemd

if TYPE_CHECKING:  # the doctor imports python-tuf, which the painter never loads
    from signage.sync.doctor import FontFindings

log = logging.getLogger(__name__)

MEMORY_CHECK = dt.timedelta(minutes=1)
#: How long a requested restart waits for a slide boundary before it happens anyway.
BOUNDARY_GRACE = dt.timedelta(minutes=5)


def resident_bytes(statm: Path = Path("/proc/self/statm")) -> int | None:
    """This process's resident set size in bytes, or ``None`` where ``/proc`` is not available."""
    try:
        fields = statm.read_text(encoding="ascii").split()
        return int(fields[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


class Health(QObject):
    """Reports the player's state to systemd and restarts it when it grows too large.

    Signals:
        restart_requested(int): resident memory (MB) passed the ceiling; the player quits at the next
            slide boundary.

    Args:
        memory_ceiling_mb: Resident memory in MB above which a restart is requested.
        exit: Ends the event loop with an exit status (``QApplication.exit``).
        notify: Sends one ``sd_notify`` message (:func:`signage.sync.systemd.notify`).
        watchdog: systemd's watchdog timeout (:func:`signage.sync.systemd.watchdog_interval`); ``None`` sends
            no pings.
        rss: Returns the resident memory in bytes (``None`` when unknown).
        memory_check: How often memory is looked at.
        boundary_grace: How long a restart waits for a slide boundary.
        parent: The owning QObject.
    """

    restart_requested = pyqtSignal(int)

    def __init__(
        self,
        *,
        memory_ceiling_mb: int,
        exit: Callable[[int], None],
        notify: Callable[[str], bool] = systemd.notify,
        watchdog: dt.timedelta | None = None,
        rss: Callable[[], int | None] = resident_bytes,
        memory_check: dt.timedelta = MEMORY_CHECK,
        boundary_grace: dt.timedelta = BOUNDARY_GRACE,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._ceiling = memory_ceiling_mb * 1024 * 1024
        self._exit = exit
        self._notify = notify
        self._rss = rss
        self._ready = False
        self._restarting = False
        self._ping = QTimer(self)
        self._ping.timeout.connect(self._on_ping_timeout)
        # Half the timeout, as sd_watchdog_enabled(3) advises: one late ping is not yet a kill.
        self._ping_ms = None if watchdog is None else max(1, int(watchdog.total_seconds() * 500))
        self._memory = QTimer(self)
        self._memory.setInterval(int(memory_check.total_seconds() * 1000))
        self._memory.timeout.connect(self.check_memory)
        self._grace = QTimer(self)
        self._grace.setSingleShot(True)
        self._grace.setInterval(int(boundary_grace.total_seconds() * 1000))
        self._grace.timeout.connect(self._on_grace_timeout)

    def watch(self, first_painted: pyqtBoundSignal, slide_shown: pyqtBoundSignal) -> None:
        """Follow the window's ``first_painted`` and the player's ``slide_shown``; start the timers (GUI thread)."""
        first_painted.connect(self._on_first_painted)
        slide_shown.connect(self._on_slide_shown)
        if self._ping_ms is not None:
            self._notify("WATCHDOG=1")
            self._ping.start(self._ping_ms)
        self._memory.start()

    @property
    def restart_pending(self) -> bool:
        """Whether a planned restart waits for the next slide boundary."""
        return self._restarting

    def check_memory(self) -> None:
        """Request a restart when resident memory is over the ceiling (every minute)."""
        if self._restarting:
            return
        used = self._rss()
        if used is None or used <= self._ceiling:
            return
        used_mb = used // (1024 * 1024)
        self._restarting = True
        log.warning(
            "resident memory %d MB is over the ceiling of %d MB; restarting after this slide",
            used_mb,
            self._ceiling // (1024 * 1024),
        )
        self._notify(f"STATUS=memory {used_mb} MB over the ceiling; restarting at the next slide")
        self._grace.start()
        self.restart_requested.emit(used_mb)

    def _on_first_painted(self) -> None:
        if not self._ready:
            self._ready = True
            self._notify("READY=1\nSTATUS=playing")

    def _on_ping_timeout(self) -> None:
        self._notify("WATCHDOG=1")

    def _on_slide_shown(self, _slide: object) -> None:
        if self._restarting:
            self._restart("at a slide boundary")

    def _on_grace_timeout(self) -> None:
        self._restart(f"without a slide boundary for {self._grace.interval() // 1000} s")

    def _restart(self, when: str) -> None:
        self._grace.stop()
        self._ping.stop()
        self._memory.stop()
        log.warning(
            "planned restart %s (memory ceiling); exiting with status %d for systemd to start the player again",
            when,
            systemd.RESTART_EXIT_STATUS,
        )
        self._notify("STOPPING=1\nSTATUS=planned restart: memory ceiling")
        self._exit(systemd.RESTART_EXIT_STATUS)


# Held for the life of the process: every QFont and QRawFont of the check needs the application.
_doctor_app: list[QGuiApplication] = []


def check_fonts(playlist: Playlist | None) -> FontFindings:
    """``signage doctor``'s font check: the CJK chain and its coverage of ``playlist``'s texts.

    Needs no display: when no Qt application exists yet, one is made on the ``offscreen`` platform.
    """
    from signage.kiosk.fonts import FontError, find_fonts, texts_of
    from signage.sync.doctor import FontFindings

    if QGuiApplication.instance() is None:
        _doctor_app.append(QGuiApplication(["signage-doctor", "-platform", "offscreen"]))
    try:
        fonts = find_fonts()
    except FontError:
        return FontFindings(None)
    texts = [] if playlist is None else list(texts_of(playlist.records, playlist.notices))
    gaps = fonts.check_coverage(texts)
    return FontFindings(fonts.primary, tuple(f"{gap.describe()} in {gap.text!r}" for gap in gaps))
