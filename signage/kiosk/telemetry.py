"""The player's proof of play and heartbeat: recorded and sent on one worker thread, timed by Qt.

When a slide leaves the screen, its play (entry id and record hash, start, duration) is written to the local
play log on the telemetry thread: a power cut loses at most the slide on screen. Every ``heartbeat_seconds``
the GUI thread hands the worker a snapshot of what it knows (versions, freshness, last sync, the entry on
screen, the rotation's page plan); the worker adds RSS, free disk and read-only state, the slide size, queues the heartbeat, sends what it can, uploads
play batches and prunes the log. Nothing here blocks the GUI thread, and no failure stops the player.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

import requests
from PyQt6.QtCore import QObject, QTimer

from signage import __version__
from signage.core.errors import DiskError
from signage.core.pages import PagePlan
from signage.core.rotation import Slide, SlideKind
from signage.kiosk.player import Player
from signage.sync.config import PlayerConfig
from signage.sync.telemetry.heartbeat import (
    Display,
    build_heartbeat,
    filesystem_read_only,
    free_disk_bytes,
    rss_bytes,
)
from signage.sync.telemetry.plays import Play, PlayLog, debtor_play, notice_play, standby_play
from signage.sync.telemetry.uploader import HeartbeatQueue, Uploader

log = logging.getLogger(__name__)

PLAY_LOG_NAME = "plays.sqlite"


class _Seen(NamedTuple):
    """What the GUI thread knows at a heartbeat, handed to the telemetry thread."""

    playlist_version: int | None
    revocations_version: int | None
    verified_until: dt.datetime | None
    last_sync_state: str | None
    last_sync_message: str
    on_screen: str | None
    coverage: PagePlan | None


class Telemetry(QObject):
    """Watches the player's slides and keeps the hub informed.

    Args:
        config: The screen's settings (token file, heartbeat interval, cache folder).
        player: The player whose ``slide_shown`` signal is recorded.
        clock: The current time (aware UTC).
        plan: The rotation's page plan now (``Rotation.plan``), read on the GUI thread at each heartbeat:
            the hub's fleet view shows a screen whose list does not go round within the loop.
        display: The slide size and layout the player recorded at start.
    """

    def __init__(
        self,
        config: PlayerConfig,
        player: Player,
        *,
        clock: Callable[[], dt.datetime],
        plan: Callable[[], PagePlan | None] = lambda: None,
        display: Display | None = None,
    ) -> None:
        super().__init__(player)
        self._config = config
        self._player = player
        self._clock = clock
        self._plan = plan
        self._display = display
        self._started = time.monotonic()
        # Play writes get their own thread: a hub that does not answer must never hold a finished play in
        # memory, where a power cut would lose it. Heartbeats and uploads run on the other.
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="plays")
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="telemetry")
        self._beating: Future[None] | None = None
        self._log: PlayLog | None = None
        self._opening = threading.Lock()
        self._uploader: Uploader | None = None
        self._queue = HeartbeatQueue()
        self._on_screen: tuple[Slide, dt.datetime] | None = None
        self._warned: set[str] = set()
        player.slide_shown.connect(self._on_slide_shown)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._on_beat)
        self._stopped = False

    def start(self) -> None:
        """Begin heartbeats (GUI thread); the first one goes out a few seconds after start."""
        self._timer.start(int(self._config.heartbeat_seconds * 1000))
        QTimer.singleShot(5000, self._on_beat)

    def stop(self) -> None:
        """Record the slide on screen and finish pending writes (at shutdown)."""
        # The first beat is a single shot that may still be pending: it must find the workers gone quietly.
        self._stopped = True
        self._timer.stop()
        self._finish_current(self._clock())
        self._writer.shutdown(wait=True, cancel_futures=False)
        # A heartbeat still waiting on a silent hub is not worth holding up the exit.
        self._worker.shutdown(wait=False, cancel_futures=True)
        if self._log is not None:
            self._log.close()

    # --- GUI thread ----------------------------------------------------------------------------------

    def _on_slide_shown(self, slide: object) -> None:
        assert isinstance(slide, Slide)
        now = self._clock()
        self._finish_current(now)
        self._on_screen = (slide, now)

    def _finish_current(self, now: dt.datetime) -> None:
        if self._on_screen is None:
            return
        slide, started = self._on_screen
        self._on_screen = None
        for play in self._plays(slide, started, now):
            self._writer.submit(self._record, play)

    def _plays(self, slide: Slide, started: dt.datetime, ended: dt.datetime) -> list[Play]:
        """The plays of a slide that stood from ``started`` to ``ended``.

        Each entry shown on a page is one play, with the page's start and duration (issue 13): exposure is
        counted per debtor, whether the screen showed them alone or beside others.
        """
        snapshot = self._player.snapshot
        version = 0 if snapshot is None or snapshot.playlist is None else snapshot.playlist.version
        duration = max(0, int((ended - started).total_seconds() * 1000))
        screen = self._config.screen_id
        if slide.entries:
            return [
                debtor_play(screen, record, playlist_version=version, started=started, duration_ms=duration)
                for record in slide.entries
            ]
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

    def _on_beat(self) -> None:
        if self._stopped:
            return
        snapshot = self._player.snapshot
        last = self._player.last_sync
        current = self._player.current
        state = _Seen(
            playlist_version=None
            if snapshot is None or snapshot.playlist is None
            else snapshot.playlist.version,
            revocations_version=None if snapshot is None else snapshot.revocations_version,
            verified_until=None if snapshot is None else snapshot.verified_until,
            last_sync_state=None if last is None else str(last.state),
            last_sync_message="" if last is None else last.en,
            # A page names its first entry (the heartbeat carries one entry id).
            on_screen=None if current is None or not current.entries else current.entries[0].entry_id,
            coverage=self._plan(),
        )
        # A heartbeat still running (a slow hub) is not joined by another: they would pile up.
        if self._beating is None or self._beating.done():
            self._beating = self._worker.submit(self._beat, state)

    # --- telemetry thread ----------------------------------------------------------------------------

    def _play_log(self) -> PlayLog:
        # Both telemetry threads use the log (PlayLog serialises its connection); it is opened once.
        with self._opening:
            if self._log is None:
                self._log = PlayLog(self._config.cache_dir / PLAY_LOG_NAME, clock=self._clock)
            return self._log

    def _record(self, play: Play) -> None:
        try:
            self._play_log().record(play)
        except DiskError as error:
            self._warn_once("disk", f"proof of play not recorded: {error.en}")
        except Exception:
            log.exception("recording a play failed")

    def _beat(self, state: _Seen) -> None:
        try:
            uploader = self._connect()
            folder = self._config.cache_dir
            heartbeat = build_heartbeat(
                screen_id=self._config.screen_id,
                channel=self._config.channel,
                now=self._clock(),
                uptime_s=time.monotonic() - self._started,
                rss_bytes=rss_bytes(),
                free_disk_bytes=free_disk_bytes(folder),
                disk_read_only=filesystem_read_only(folder),
                clock_offset_s=None if uploader is None else uploader.last_clock_offset_s,
                playlist_version=state.playlist_version,
                revocations_version=state.revocations_version,
                verified_until=state.verified_until,
                last_sync_state=state.last_sync_state,
                last_sync_message=state.last_sync_message,
                on_screen=state.on_screen,
                coverage=state.coverage,
                display=self._display,
            )
            self._queue.put(heartbeat)
            if uploader is None:
                return
            self._queue.flush(uploader.send_heartbeat)
            play_log = self._play_log()
            result = uploader.upload(play_log)
            if not result.ok:
                self._warn_once(str(result.state), f"proof of play waits on disk: {result.en}")
            play_log.prune(self._clock())
        except DiskError as error:
            self._warn_once("disk", error.en)
        except Exception:
            log.exception("heartbeat or upload failed; the player plays on")

    def _connect(self) -> Uploader | None:
        if self._uploader is not None:
            return self._uploader
        token_file: Path = self._config.token_file
        try:
            token = token_file.read_text(encoding="utf-8").strip()
        except OSError:
            self._warn_once("token", f"no hub token in {token_file}: heartbeats and proof of play stay local")
            return None
        try:
            self._uploader = Uploader(
                self._config.hub_url,
                token,
                session=requests.Session(),
                clock=self._clock,
                user_agent=f"signage-screen/{__version__} ({self._config.screen_id})",
                screen_id=self._config.screen_id,
            )
        except ValueError as error:
            self._warn_once("token", f"the hub token in {token_file} is unusable: {error}")
            return None
        return self._uploader

    def _warn_once(self, key: str, message: str) -> None:
        # Logged on a change of state only: a hub that stays down must not fill the journal.
        if key not in self._warned:
            self._warned.add(key)
            log.warning(message)
