"""The painter's proof of play and its state file: recorded on worker threads, timed by Qt.

When a slide leaves the screen, its play (entry id and record hash, start, duration) is built and written to
the local play log on the plays thread (the hash of a compact entry is read from the index there): a power cut loses at most the slide on screen. Every
:data:`~signage.sync.service.PAINTER_STATE_EVERY` and whenever the set on screen changes, the GUI thread
hands what it knows (versions, freshness, the entry on screen, the rotation's page plan, the slide size,
its RSS, the last paint) to the state store's worker, which writes
:data:`~signage.sync.telemetry.painter.PAINTER_STATE_FILE`. The sync service reads that file and sends the
heartbeat, and uploads the plays from the same SQLite log (WAL): the painter never opens a network
connection. Nothing here blocks the GUI thread, and no failure stops the player.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from PyQt6.QtCore import QObject, QTimer

from signage.core.errors import DiskError
from signage.core.pages import PagePlan
from signage.core.rotation import Slide, SlideKind, StateStore
from signage.kiosk.player import Player
from signage.sync.config import PlayerConfig
from signage.sync.snapshot import ContentSnapshot
from signage.sync.telemetry.heartbeat import Display, rss_bytes
from signage.sync.telemetry.painter import PAINTER_STATE_FILE, PainterState
from signage.sync.telemetry.plays import Play, PlayLog, notice_play, standby_play

log = logging.getLogger(__name__)

PLAY_LOG_NAME = "plays.sqlite"
#: How often the painter's state file is written (the sync service's staleness bound is three of these).
STATE_EVERY = dt.timedelta(seconds=10)


class Telemetry(QObject):
    """Records the player's slides and publishes its state for the sync service.

    Args:
        config: The screen's settings (screen id, cache folder).
        player: The player whose ``slide_shown`` signal is recorded.
        clock: The current time (aware UTC).
        plan: The rotation's page plan now (``Rotation.plan``), read on the GUI thread.
        display: The slide size and layout the player recorded at start.
        store: Where the state file is saved (a ``BackgroundStore``: written off the GUI thread); ``None``
            for none (tests of the plays alone).
        every: How often the state file is written.
    """

    def __init__(
        self,
        config: PlayerConfig,
        player: Player,
        *,
        clock: Callable[[], dt.datetime],
        plan: Callable[[], PagePlan | None] = lambda: None,
        display: Display | None = None,
        store: StateStore | None = None,
        every: dt.timedelta = STATE_EVERY,
    ) -> None:
        super().__init__(player)
        self._config = config
        self._player = player
        self._clock = clock
        self._plan = plan
        self._display = display
        self._store = store
        self._started = clock()
        # Play writes get their own thread: a slow disk must never hold a finished play in memory, where a
        # power cut would lose it, nor stall the GUI thread.
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="plays")
        self._log: PlayLog | None = None
        self._opening = threading.Lock()
        self._on_screen: tuple[Slide, dt.datetime] | None = None
        self._last_paint: dt.datetime | None = None
        self._published: tuple[int | None, int | None] | None = None
        self._warned: set[str] = set()
        player.slide_shown.connect(self._on_slide_shown)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.publish)
        self._every_ms = int(every.total_seconds() * 1000)
        self._stopped = False

    def start(self) -> None:
        """Begin writing the state file (GUI thread): now, then every few seconds."""
        self._timer.start(self._every_ms)
        self.publish()

    def stop(self) -> None:
        """Record the slide on screen and finish pending writes (at shutdown)."""
        self._stopped = True
        self._timer.stop()
        self._finish_current(self._clock())
        self._writer.shutdown(wait=True, cancel_futures=False)
        if self._log is not None:
            self._log.close()

    def set_changed(self) -> None:
        """The set on screen may have changed: publish at once when its versions did (the takedown ack)."""
        if self._versions() != self._published:
            self.publish()

    # --- GUI thread ----------------------------------------------------------------------------------

    def publish(self) -> None:
        """Hand the painter's state to the store's worker thread (GUI thread; no I/O here)."""
        if self._stopped or self._store is None:
            return
        snapshot = self._player.snapshot
        current = self._player.current
        plan = self._plan()
        state = PainterState(
            written_at=self._clock(),
            pid=os.getpid(),
            started_at=self._started,
            playlist_version=self._versions()[0],
            revocations_version=self._versions()[1],
            verified_until=None if snapshot is None else snapshot.verified_until,
            on_screen=_on_screen(current),
            last_paint=self._last_paint,
            # /proc/self/statm: one short read of a kernel file, never a disk.
            rss_bytes=rss_bytes(),
            coverage=None if plan is None else plan.to_json(),
            display=None if self._display is None else self._display.to_json(),
        )
        self._published = self._versions()
        self._store.save(PAINTER_STATE_FILE, state.encode())

    def _versions(self) -> tuple[int | None, int | None]:
        snapshot = self._player.snapshot
        if snapshot is None:
            return (None, None)
        playlist = None if snapshot.playlist is None else snapshot.playlist.version
        return (playlist, snapshot.revocations_version)

    def _on_slide_shown(self, slide: object) -> None:
        assert isinstance(slide, Slide)
        now = self._clock()
        self._finish_current(now)
        self._on_screen = (slide, now)
        self._last_paint = now

    def _finish_current(self, now: dt.datetime) -> None:
        if self._on_screen is None:
            return
        slide, started = self._on_screen
        self._on_screen = None
        # Built on the plays thread: a compact entry's record hash is read from the index there.
        self._writer.submit(self._record_slide, slide, self._player.snapshot, started, now)

    def _plays(
        self, slide: Slide, snapshot: ContentSnapshot | None, started: dt.datetime, ended: dt.datetime
    ) -> list[Play]:
        """The plays of a slide of ``snapshot`` that stood from ``started`` to ``ended`` (plays thread).

        Each entry shown on a page is one play, with the page's start and duration (issue 13): exposure is
        counted per debtor, whether the screen showed them alone or beside others.
        """
        version = 0 if snapshot is None or snapshot.playlist is None else snapshot.playlist.version
        duration = max(0, int((ended - started).total_seconds() * 1000))
        screen = self._config.screen_id
        if slide.entries:
            plays = []
            for entry in slide.entries:
                entry_hash = None if snapshot is None else snapshot.entry_hash(entry)
                if entry_hash is None:
                    log.warning("no record hash for entry %s; its play is not recorded", entry.entry_id)
                    continue
                plays.append(Play(screen, entry.entry_id, entry_hash, version, started, duration))
            return plays
        play = self._other_play(slide, screen, version, started, duration)
        return [] if play is None else [play]

    def _other_play(
        self, slide: Slide, screen: str, version: int, started: dt.datetime, duration: int
    ) -> Play | None:
        if slide.notice is not None:
            return notice_play(
                screen,
                slide.notice.notice_id,
                playlist_version=version,
                started=started,
                duration_ms=duration,
            )
        if slide.kind is SlideKind.STANDBY:
            return standby_play(screen, playlist_version=version, started=started, duration_ms=duration)
        return None  # black during quiet hours is not a play

    # --- plays thread --------------------------------------------------------------------------------

    def _play_log(self) -> PlayLog:
        with self._opening:
            if self._log is None:
                self._log = PlayLog(self._config.cache_dir / PLAY_LOG_NAME, clock=self._clock)
            return self._log

    def _record_slide(
        self, slide: Slide, snapshot: ContentSnapshot | None, started: dt.datetime, ended: dt.datetime
    ) -> None:
        try:
            for play in self._plays(slide, snapshot, started, ended):
                self._play_log().record(play)
        except DiskError as error:
            self._warn_once("disk", f"proof of play not recorded: {error.en}")
        except Exception:
            log.exception("recording a play failed")

    def _warn_once(self, key: str, message: str) -> None:
        # Logged on a change of state only: a full disk must not fill the journal.
        if key not in self._warned:
            self._warned.add(key)
            log.warning(message)


def _on_screen(current: Slide | None) -> str | None:
    """What the heartbeat names as on screen: a page names its first entry, else the notice or standby."""
    if current is None:
        return None
    if current.entries:
        return current.entries[0].entry_id
    if current.notice is not None:
        return f"notice:{current.notice.notice_id}"
    if current.kind is SlideKind.STANDBY:
        return "standby"
    return None
