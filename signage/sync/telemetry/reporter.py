"""The sync service's half of telemetry: heartbeats and proof-of-play uploads (no Qt, blocking I/O).

The painter records plays into the local play log (:mod:`signage.sync.telemetry.plays`) and writes what it
knows into :data:`~signage.sync.telemetry.painter.PAINTER_STATE_FILE`; it never opens a network connection.
:meth:`Reporter.beat` (one call per heartbeat interval, on the service's telemetry thread) reads that file,
builds the heartbeat, queues it, sends what it can, uploads play batches and prunes the log. A painter
whose file is stale is reported as such: nothing on screen, the state file's age in the sync message,
and the takedown acknowledgement from the cache (the painter applies it at start, and shows nothing
before). No failure here is raised: the service and the screen carry on.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from signage import __version__
from signage.core.errors import DiskError
from signage.core.pages import PagePlan
from signage.sync.cache import CacheState
from signage.sync.config import PlayerConfig
from signage.sync.telemetry.heartbeat import (
    Display,
    build_heartbeat,
    filesystem_read_only,
    free_disk_bytes,
)
from signage.sync.telemetry.painter import PainterState, read_painter_state
from signage.sync.telemetry.plays import PlayLog
from signage.sync.telemetry.uploader import HeartbeatQueue, Uploader

log = logging.getLogger(__name__)

PLAY_LOG_NAME = "plays.sqlite"


class Reporter:
    """Sends heartbeats and uploads plays for one screen.

    Args:
        config: The screen's settings (token file, hub, cache folder).
        clock: The current time (aware UTC).
        stale_after: A painter state older than this means the painter is absent or stuck.
        session_factory: Makes the HTTP session (``requests.Session``), once, when a token is present.
    """

    def __init__(
        self,
        config: PlayerConfig,
        *,
        clock: Callable[[], dt.datetime],
        stale_after: dt.timedelta,
        session_factory: Callable[[], object] | None = None,
    ) -> None:
        self._config = config
        self._clock = clock
        self._stale_after = stale_after
        self._session_factory = session_factory
        self._started = time.monotonic()
        self._queue = HeartbeatQueue()
        self._uploader: Uploader | None = None
        self._log: PlayLog | None = None
        self._warned: set[str] = set()

    def beat(self, cache: CacheState, last_sync: tuple[str, str] | None) -> None:
        """One heartbeat and one round of uploads.

        Args:
            cache: What ``current.json`` says now (the fallback when the painter's file is stale).
            last_sync: The last sync's (state, message), or ``None`` before the first.
        """
        try:
            now = self._clock()
            painter = read_painter_state(self._config.cache_dir)
            fresh = painter is not None and painter.age(now) <= self._stale_after
            uploader = self._connect()
            seen = _from_painter(painter, now) if fresh and painter is not None else self._from_cache(cache)
            heartbeat = build_heartbeat(
                screen_id=self._config.screen_id,
                channel=self._config.channel,
                now=now,
                clock_offset_s=None if uploader is None else uploader.last_clock_offset_s,
                free_disk_bytes=free_disk_bytes(self._config.cache_dir),
                disk_read_only=filesystem_read_only(self._config.cache_dir),
                last_sync_state=None if last_sync is None else last_sync[0],
                last_sync_message=_message(last_sync, painter, fresh, now),
                # From current.json whoever paints: the form of the channel this screen reads (issue 15).
                playlist_layout=None if cache.playlist is None else cache.layout,
                **seen._asdict(),
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
            log.exception("heartbeat or upload failed; the service carries on")

    def close(self) -> None:
        """Close the play log (at shutdown)."""
        if self._log is not None:
            self._log.close()

    def _from_cache(self, cache: CacheState) -> _Seen:
        return _Seen(
            playlist_version=None if cache.playlist is None else cache.playlist.version,
            revocations_version=None if cache.revocations is None else cache.revocations.version,
            verified_until=cache.verified_until,
            uptime_s=time.monotonic() - self._started,
            rss_bytes=None,
            on_screen=None,
        )

    def _play_log(self) -> PlayLog:
        if self._log is None:
            self._log = PlayLog(self._config.cache_dir / PLAY_LOG_NAME, clock=self._clock)
        return self._log

    def _connect(self) -> Uploader | None:
        if self._uploader is not None:
            return self._uploader
        token_file: Path = self._config.token_file
        try:
            token = token_file.read_text(encoding="utf-8").strip()
        except OSError:
            self._warn_once("token", f"no hub token in {token_file}: heartbeats and proof of play stay local")
            return None
        if self._session_factory is None:
            import requests

            session: object = requests.Session()
        else:
            session = self._session_factory()
        try:
            self._uploader = Uploader(
                self._config.hub_url,
                token,
                session=session,  # type: ignore[arg-type]
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


class _Seen(NamedTuple):
    """The heartbeat's fields about the screen: from the painter's state file, or the cache without one."""

    playlist_version: int | None
    revocations_version: int | None
    verified_until: dt.datetime | None
    uptime_s: float
    rss_bytes: int | None
    on_screen: str | None
    coverage: PagePlan | None = None
    display: Display | None = None


def _from_painter(painter: PainterState, now: dt.datetime) -> _Seen:
    coverage = painter.coverage
    display = painter.display
    return _Seen(
        playlist_version=painter.playlist_version,
        revocations_version=painter.revocations_version,
        verified_until=painter.verified_until,
        uptime_s=max(0.0, (now - painter.started_at).total_seconds()),
        rss_bytes=painter.rss_bytes,
        on_screen=painter.on_screen,
        coverage=None if coverage is None else _plan(coverage),
        display=None if display is None else _display(display),
    )


def _plan(document: dict[str, object]) -> PagePlan | None:
    try:
        loop = document.get("loop_hours")
        return PagePlan(
            entries_per_page=int(document["entries_per_page"]),  # type: ignore[call-overload]
            loop_hours=float("inf") if loop is None else float(loop),  # type: ignore[arg-type]
            covered=bool(document["covered"]),
            capacity=int(document.get("capacity", 1)),  # type: ignore[call-overload]
        )
    except (KeyError, TypeError, ValueError):
        return None


def _display(document: dict[str, object]) -> Display | None:
    try:
        return Display(int(document["width"]), int(document["height"]), str(document["layout"]))  # type: ignore[call-overload]
    except (KeyError, TypeError, ValueError):
        return None


def _message(
    last_sync: tuple[str, str] | None, painter: PainterState | None, fresh: bool, now: dt.datetime
) -> str:
    text = "" if last_sync is None else last_sync[1]
    if painter is None:
        return f"播放器未运行 / painter not running; {text}"
    if not fresh:
        silent = int(painter.age(now).total_seconds())
        return f"播放器 {silent} 秒无响应 / painter silent for {silent} s; {text}"
    return text
