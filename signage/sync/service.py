"""``signage sync`` without ``--once``: the screen's sync service, the one process that talks to the hub.

Issue 15 split the screen in two. This process (``signage-sync.service``) runs the TUF sync, applies
takedowns, sends heartbeats and uploads proof of play; the painter (``signage play``, ``kiosk.service``)
only reads the verified cache and is told of a new set by the replaced ``current.json``. A crash or hang
here never touches the screen: the painter keeps the last verified set, and the freshness bound blanks
debtor slides if syncs stop for too long, exactly as when the hub is unreachable.

The loop is plain Python (one thread for syncs, one for telemetry, one watching them), not APScheduler:
two fixed schedules do not need a scheduler, the next run times are pure functions (:func:`next_poll`),
and an APScheduler ``BlockingScheduler`` would hide the one fact the watchdog needs, whether the sync
loop is still turning. Schedule, as the player had it before the split:

* a takedown check (``sync_once(full=False)``) at most ``revocation_poll_seconds`` apart, at a random
  point within the last tenth (:func:`poll_spacing`), the first at a random 50-100 % of the interval;
* a full sync one second after start, then every ``sync_minutes`` (it applies takedowns first, so it
  counts as a check too);
* a heartbeat (and play upload) 5 s after start, then every ``heartbeat_seconds``.

Errors never end the service: an exception in a sync is logged and the next one comes after a growing
pause (:func:`backoff`), up to the normal interval. systemd: ``READY=1`` once the loop runs, ``STATUS=``
after each sync, ``WATCHDOG=1`` only while the sync loop is alive (it marks itself each time it wakes,
and a long download counts as alive while bytes keep arriving), ``STOPPING=1`` on SIGTERM.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
import time
from collections.abc import Callable

from signage.sync import systemd
from signage.sync.client import ScreenSync, StateLog, SyncResult
from signage.sync.config import PlayerConfig
from signage.sync.telemetry.painter import stale_after
from signage.sync.telemetry.reporter import Reporter

log = logging.getLogger(__name__)

#: The first full sync, and the first heartbeat, after start.
FIRST_SYNC_S = 1.0
FIRST_BEAT_S = 5.0
#: The painter writes its state this often (signage/kiosk/telemetry.py); the service judges staleness by it.
PAINTER_STATE_EVERY = dt.timedelta(seconds=10)
#: The longest the loop sleeps at once, so it marks itself alive for the watchdog at least this often.
TICK_S = 1.0


def poll_spacing(seconds: float) -> tuple[float, int]:
    """The interval and jitter that keep takedown checks at most ``seconds`` apart, at random within it.

    Each check comes a random 0 to ``jitter`` seconds after the interval, so consecutive checks are up to
    interval + jitter apart. The operator's bound is ``revocation_poll_seconds``: the jitter is taken out
    of the interval rather than added to it. A tenth of the interval (at least a second) is enough to
    keep a fleet that started together from polling in step.
    """
    jitter = max(1, int(seconds * 0.1))
    return seconds - jitter, jitter


def next_poll(started: float, seconds: float, rng: random.Random) -> float:
    """When the takedown check after one that started at ``started`` (monotonic seconds) is due."""
    interval, jitter = poll_spacing(seconds)
    return started + interval + rng.uniform(0, jitter)


def backoff(failures: int, interval: float) -> float:
    """The pause after ``failures`` crashed syncs in a row: 5 s, doubling, never more than ``interval``."""
    return min(interval, 5.0 * 2.0 ** max(0, failures - 1))


class SyncService:
    """Runs the screen's syncs and telemetry until :meth:`stop`.

    Args:
        config: The screen's settings.
        screen: The sync (owns the fetcher and the cache).
        reporter: Heartbeats and play uploads; ``None`` for none (tests of the sync loop alone).
        progress: Bytes received so far (``HttpFetcher.bytes_received``): a sync still downloading is alive.
        watchdog: systemd's watchdog timeout (:func:`signage.sync.systemd.watchdog_interval`), or ``None``.
        notify: Sends one sd_notify message.
        rng: Source of jitter.
        monotonic: The monotonic clock (seconds).
    """

    def __init__(
        self,
        config: PlayerConfig,
        *,
        screen: ScreenSync,
        reporter: Reporter | None,
        progress: Callable[[], int] = lambda: 0,
        watchdog: dt.timedelta | None = None,
        notify: Callable[[str], bool] = systemd.notify,
        rng: random.Random | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._config = config
        self._screen = screen
        self._reporter = reporter
        self._progress = progress
        self._watchdog = watchdog
        self._notify = notify
        self._rng = rng or random.Random()
        self._monotonic = monotonic
        self._stop = threading.Event()
        self._state_log = StateLog(log)
        self._last: SyncResult | None = None
        self._alive_at = monotonic()
        self._failures = 0
        # The loop wakes at least this often, so it marks itself alive well within half the watchdog timeout.
        self._tick = TICK_S if watchdog is None else min(TICK_S, watchdog.total_seconds() / 4)
        #: Syncs run so far (tests wait on it).
        self.syncs = 0

    # --- control -------------------------------------------------------------------------------------

    def run(self) -> int:
        """Sync, report and ping until :meth:`stop`; returns the exit status (0)."""
        threads = [threading.Thread(target=self._telemetry_loop, name="telemetry", daemon=True)]
        if self._watchdog is not None:
            threads.append(threading.Thread(target=self._watchdog_loop, name="watchdog", daemon=True))
        self._start_up()
        for thread in threads:
            thread.start()
        self._notify("READY=1\nSTATUS=syncing")
        try:
            self._sync_loop()
        finally:
            self._notify("STOPPING=1")
            self._stop.set()
            for thread in threads:
                thread.join(timeout=10)
            if self._reporter is not None:
                self._reporter.close()
        return 0

    def stop(self) -> None:
        """Ask the loops to end (a signal handler may call it); a sync under way finishes first."""
        self._stop.set()

    @property
    def last(self) -> SyncResult | None:
        """The last sync's result, or ``None`` before the first."""
        return self._last

    # --- the sync loop -------------------------------------------------------------------------------

    def _start_up(self) -> None:
        from signage.sync.doctor import verify_cache

        try:
            self._screen.cache.prepare()
            # Every object re-hashed once per start: one a power cut damaged is fetched again by the first sync.
            removed = verify_cache(self._screen.cache)
            if removed:
                log.warning(
                    "%d cached files failed their hash and were deleted; the next sync fetches them again",
                    removed,
                )
        except Exception:  # a broken cache must not stop the service; the first sync rebuilds it
            log.exception("checking the cache failed")

    def _sync_loop(self) -> None:
        seconds = float(self._config.revocation_poll_seconds)
        full_every = self._config.sync_minutes * 60.0
        start = self._monotonic()
        due_full = start + FIRST_SYNC_S
        due_poll = start + seconds * self._rng.uniform(0.5, 1.0)
        while not self._stop.is_set():
            now = self._monotonic()
            self._alive_at = now
            due = min(due_full, due_poll)
            if now < due:
                self._stop.wait(min(due - now, self._tick))
                continue
            full = now >= due_full
            ok = self._sync(full=full)
            if ok:
                self._failures = 0
                pause = None
            else:
                self._failures += 1
                pause = backoff(self._failures, seconds)
            # A full sync checks takedowns first, so both schedules restart from it.
            if full:
                due_full = now + (full_every if pause is None else pause)
            due_poll = next_poll(now, seconds, self._rng) if pause is None else now + pause

    def _sync(self, *, full: bool) -> bool:
        """One sync; ``False`` only when it crashed (an offline or refused sync is a normal outcome)."""
        try:
            result = self._screen.sync_once(full=full)
        except Exception:
            log.exception("sync crashed; trying again shortly")
            self._notify("STATUS=sync crashed; retrying")
            return False
        finally:
            self.syncs += 1
        self._last = result
        self._state_log.record(result)
        self._notify("STATUS=" + " ".join(f"{result.state}: {result.en}".split()))
        return True

    # --- telemetry and the watchdog ------------------------------------------------------------------

    def _telemetry_loop(self) -> None:
        if self._reporter is None:
            return
        if self._stop.wait(FIRST_BEAT_S):
            return
        while True:
            last = self._last
            try:
                state = self._screen.cache.load_state(self._config.channel)
                self._reporter.beat(
                    state, None if last is None else (str(last.state), f"{last.zh} / {last.en}")
                )
            except Exception:
                log.exception("heartbeat failed; the service carries on")
            if self._stop.wait(self._config.heartbeat_seconds):
                return

    def _watchdog_loop(self) -> None:
        assert self._watchdog is not None
        timeout = self._watchdog.total_seconds()
        seen = self._progress()
        while not self._stop.wait(timeout / 2):
            received = self._progress()
            # Alive: the loop woke recently, or the sync it is in still receives bytes (a large download).
            if self._monotonic() - self._alive_at < timeout / 2 or received != seen:
                self._notify("WATCHDOG=1")
            else:
                log.error(
                    "the sync loop has not moved for %.1f s; systemd restarts the service unless it does",
                    timeout / 2,
                )
            seen = received


def run_service(config: PlayerConfig, *, clock: Callable[[], dt.datetime]) -> int:
    """``signage sync --config C``: the service in the foreground until SIGTERM or SIGINT."""
    import signal

    from signage import __version__
    from signage.sync.fetcher import HttpFetcher

    log.info(
        "signage %s sync service starting: screen %s, channel %s, hub %s",
        __version__,
        config.screen_id,
        config.channel,
        config.hub_url,
    )
    fetcher = HttpFetcher(user_agent=f"signage-screen/{__version__} ({config.screen_id})")
    service = SyncService(
        config,
        screen=ScreenSync(config, fetcher=fetcher, clock=clock),
        reporter=Reporter(config, clock=clock, stale_after=stale_after(PAINTER_STATE_EVERY)),
        progress=lambda: fetcher.bytes_received,
        watchdog=systemd.watchdog_interval(),
    )
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda *_: service.stop())
    try:
        return service.run()
    finally:
        fetcher.close()
        log.info("sync service stopped")
