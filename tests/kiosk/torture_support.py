"""Support for ``tests/kiosk/test_torture.py``: the player as a subprocess, a hub that answers garbage, and the
checks run after every kill.

Run as a module, this file is the screen under torture: the painter and, beside it, the sync service (issue 15)::

    python -m tests.kiosk.torture_support play --config FILE
    python -m tests.kiosk.torture_support sync --config FILE

which are exactly ``signage play`` and ``signage sync`` (``signage.cli.main``, the same logging, the same
``run_player`` and ``run_service``); the service logs a line when each sync starts and ends (the kills are
aimed at them), and the painter one line more on stderr for every slide put on screen::

    ... torture INFO shown <entry id> <started, ISO 8601>

written right after the player's :class:`~signage.kiosk.telemetry.Telemetry` took note of the slide (and so
right after it handed the previous slide's play to its worker thread). The player logs no slide changes of
its own, and its clock has whole-second resolution, so these lines are the only exact record of what was on
screen: a play is identified by (entry id, started) exactly as the Telemetry records it, and the accounting
below compares the plays stored (by the hub and in the local play log) against them.

With ``TORTURE_KILL_IN_WRITE=N`` in its environment the child SIGKILLs itself *inside* the N-th play-log
write: from an SQLite progress handler while the INSERT runs, before its commit. A play-log write takes a
fraction of a millisecond, far too short to hit from outside; this is the only way to land a kill in one.
The handler first waits until the GUI thread has logged the slide now on screen (its line is out).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import http.server
import logging
import os
import queue
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import requests

from signage.sync.cache import ContentCache, ObjectRef, read_playlist
from signage.sync.client import ScreenSync
from signage.sync.config import PlayerConfig
from signage.sync.fetcher import HttpFetcher
from signage.sync.telemetry.plays import PlayLog

ROOT = Path(__file__).resolve().parents[2]
#: What ``signage play`` logs once the first slide reached the window (signage/kiosk/app.py).
FIRST_PAINTED = "first slide painted"
#: What the instrumented player logs for every slide put on screen.
SHOWN = " torture INFO shown "
#: What the instrumented sync service logs when a sync starts ("full" or "poll") and when it has finished.
SYNC_STARTED = " torture INFO sync started"
SYNC_FINISHED = " torture INFO sync finished"
#: What the instrumented player logs just before it kills itself inside a play-log write.
KILLING = " torture INFO killing myself inside a play-log write"
IN_WRITE_ENV = "TORTURE_KILL_IN_WRITE"
#: Seconds an in-write kill waits at most for the GUI thread's "shown" line: a hang-guard only.
MAX_LOG_WAIT = 30.0
PLAY_LOG = "plays.sqlite"
#: Seconds the sync service may take to stop on SIGTERM (a sync under way finishes first).
STOP_SERVICE = 30.0
#: Entry id logged for a slide that is not a play (black during quiet hours).
NOT_A_PLAY = "-"


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# --- the player process ---------------------------------------------------------------------------------


class Lines:
    """A child's stderr lines as they arrive, each with the ``time.perf_counter()`` it was read at."""

    def __init__(self, stream: IO[str]) -> None:
        self.seen: list[tuple[float, str]] = []
        self._stream = stream
        self._queue: queue.Queue[tuple[float, str] | None] = queue.Queue()
        self._closed = False
        self._thread = threading.Thread(target=self._pump, name="torture-stderr", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        for line in self._stream:
            self._queue.put((time.perf_counter(), line.rstrip("\n")))
        self._queue.put(None)

    def wait_for(self, marker: str, deadline: float, *, after: int = 0) -> float | None:
        """When the first line holding ``marker`` (among lines number ``after`` on) arrived; ``None`` at the
        deadline (a ``time.perf_counter()`` value) or at the end of the stream."""
        for at, line in self.seen[after:]:
            if marker in line:
                return at
        while not self._closed:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                return None
            try:
                item = self._queue.get(timeout=remaining)
            except queue.Empty:
                return None
            if item is None:
                self._closed = True
                return None
            self.seen.append(item)
            if marker in item[1]:
                return item[0]
        return None

    def read_until(self, deadline: float) -> None:
        """Collect lines until ``deadline`` (a ``time.perf_counter()`` value) or the end of the stream."""
        self.wait_for("\0", deadline)

    def drain(self) -> None:
        """Take what has arrived so far without waiting."""
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if item is None:
                self._closed = True
                return
            self.seen.append(item)

    def finish(self) -> None:
        """Collect the remaining lines once the child has exited, and close the pipe."""
        self._thread.join(timeout=10)
        self.drain()
        self._stream.close()

    def matching(self, marker: str) -> list[tuple[float, str]]:
        return [(at, line) for at, line in self.seen if marker in line]

    def tail(self, count: int = 30) -> str:
        return "\n".join(line for _, line in self.seen[-count:])


@dataclass
class Child:
    """A started screen: the painter's process, ``time.perf_counter()`` just before ``Popen``, the stderr
    lines of both processes (one pipe), and the sync service's process."""

    process: subprocess.Popen[str]
    started: float
    lines: Lines
    service: subprocess.Popen[bytes] | None = None


def player_command(config: Path, *, instrumented: bool, command: str = "play") -> list[str]:
    """The instrumented painter or service (this module), or plain ``python -m signage play`` / ``sync``."""
    module = "tests.kiosk.torture_support" if instrumented else "signage"
    return [sys.executable, "-m", module, command, "--config", str(config)]


@contextlib.contextmanager
def player(
    config: Path, display: str, *, instrumented: bool, extra: dict[str, str] | None = None
) -> Iterator[Child]:
    """A painter on ``display`` (Xvfb, through Qt's xcb platform) and the sync service beside it, their
    stderr lines in one pipe; the painter is SIGKILLed if still running at the end, the service stopped.

    ``extra`` adds environment variables (:data:`IN_WRITE_ENV`, the painter's only).
    """
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("WAYLAND_DISPLAY", "QT_QPA_PLATFORM") and not key.lower().endswith("_proxy")
    }
    environment |= {"DISPLAY": display, "QT_QPA_PLATFORM": "xcb", "PYTHONUNBUFFERED": "1"}
    environment.pop(IN_WRITE_ENV, None)
    # Both processes write their log lines into one pipe (each line one write, so they never interleave).
    reading, writing = os.pipe()
    started = time.perf_counter()
    service = subprocess.Popen(
        player_command(config, instrumented=instrumented, command="sync"),
        cwd=ROOT,
        env=environment,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=writing,
    )
    process = subprocess.Popen(
        player_command(config, instrumented=instrumented),
        cwd=ROOT,
        env=environment | (extra or {}),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=writing,
        text=True,
    )
    os.close(writing)
    stream = os.fdopen(reading, encoding="utf-8", errors="replace")
    child = Child(process, started, Lines(stream), service)
    try:
        yield child
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        if service.poll() is None:
            service.terminate()
        try:
            service.wait(timeout=STOP_SERVICE)
        except subprocess.TimeoutExpired:
            service.kill()
            service.wait(timeout=10)
        child.lines.finish()


def kill9(child: Child) -> float:
    """SIGKILL the painter and the sync service at once (a power cut, as far as each process can tell);
    returns ``time.perf_counter()`` of the kill, once both are gone."""
    at = time.perf_counter()
    for process in (child.process, child.service):
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGKILL)
    for process in (child.process, child.service):
        if process is not None:
            process.wait(timeout=10)
    return at


def write_config(path: Path, settings: dict[str, object]) -> Path:
    """A ``player.toml`` from plain values (strings and numbers are written as TOML)."""
    lines = []
    for key, value in settings.items():
        if isinstance(value, str | Path):
            text = str(value).replace("\\", "\\\\").replace('"', '\\"')
            lines.append(f'{key} = "{text}"\n')
        else:
            lines.append(f"{key} = {value!r}\n")
    path.write_text("".join(lines), encoding="utf-8")
    return path


# --- what was on screen -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shown:
    """One slide put on screen, from the instrumented player's stderr.

    Attributes:
        entry_id: The entry id its play carries (``standby``, ``notice:<id>``, a debtor's id), or ``-``.
        started: When it went on screen, in whole epoch seconds (the player's clock).
        at: ``time.perf_counter()`` when the test read the line.
    """

    entry_id: str
    started: int
    at: float

    @property
    def key(self) -> tuple[str, int]:
        return (self.entry_id, self.started)


def shown_slides(lines: Lines) -> list[Shown]:
    slides = []
    for at, line in lines.matching(SHOWN):
        entry_id, started = line.split(SHOWN, 1)[1].split()
        slides.append(Shown(entry_id, int(dt.datetime.fromisoformat(started).timestamp()), at))
    return slides


@dataclass
class Run:
    """One start of the player and how it ended.

    Attributes:
        index: Its number.
        mode: How the kill was aimed (``random``, ``write``, ``transition``, ``sync``, or ``clean`` for SIGTERM).
        to_first_slide: Seconds from ``Popen`` to the "first slide painted" line, or ``None``.
        killed: SIGKILL (else SIGTERM).
        stopped: ``time.perf_counter()`` of the signal.
        shown: Every slide it put on screen, in order.
        phase: Where the kill landed, as far as the test can tell.
    """

    index: int
    mode: str
    to_first_slide: float | None
    killed: bool
    stopped: float
    shown: list[Shown] = field(default_factory=list)
    phase: str = ""


# --- the checks after each kill -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CacheCheck:
    """What the cache pointer names, and whether every object of it verifies.

    Attributes:
        playlist: The playlist object's sha256, or ``None`` (nothing synced yet).
        playlist_version: Its version.
        revocations_version: The revocations applied.
        verified: Objects read back with the right hash.
        displayable: Records ``ScreenSync.current`` shows now.
        problems: What did not verify.
        leftovers: Temporary files left by a kill (``*.tmp`` beside the pointer, ``tmp*`` in tuf/).
    """

    playlist: str | None
    playlist_version: int | None
    revocations_version: int | None
    verified: int
    displayable: int
    problems: tuple[str, ...]
    leftovers: tuple[str, ...]


def verify_cache(config: PlayerConfig) -> CacheCheck:
    """Load the pointer and read back (re-hashing) every object it names: the playlist, the revocations and
    the photo of every record not revoked; then ask ``ScreenSync.current`` what may be shown."""
    cache = ContentCache(config.cache_dir)
    state = cache.load_state(config.channel)
    problems: list[str] = []
    verified = 0
    version = None
    if state.playlist is not None:
        read = read_playlist(cache, state.playlist, state.layout, config.channel)
        if read is None:
            problems.append(
                f"playlist {state.playlist.sha256[:12]} (or one of its shards) missing or damaged"
            )
        else:
            playlist, parts = read
            verified += 1 + len(parts)
            version = playlist.version
            for record in playlist.records:
                if record.photo is None or record.entry_id in state.revoked:
                    continue
                if cache.read(ObjectRef(record.photo.sha256, record.photo.length)) is None:
                    problems.append(
                        f"photo of {record.entry_id} ({record.photo.sha256[:12]}) missing or damaged"
                    )
                else:
                    verified += 1
    if state.revocations is not None:
        if cache.read(state.revocations) is None:
            problems.append(f"revocations {state.revocations.sha256[:12]} missing or damaged")
        else:
            verified += 1
    displayable = 0
    with requests.Session() as session, HttpFetcher(session) as fetcher:
        session.trust_env = False
        try:
            displayable = len(ScreenSync(config, fetcher=fetcher, clock=now).current(now()).records)
        except Exception as error:  # reported, not raised: the test lists every problem of the run
            problems.append(f"ScreenSync.current failed: {error!r}")
    if state.playlist is not None and not displayable and not problems:
        problems.append("the pointer names a playlist but nothing is displayable")
    leftovers = [path.name for path in config.cache_dir.glob(".*.tmp")]
    leftovers += [f"tuf/{path.name}" for path in (config.cache_dir / "tuf").glob("tmp*")]
    leftovers += [f"objects/{path.name}" for path in (config.cache_dir / "objects").glob(".*")]
    return CacheCheck(
        playlist=None if state.playlist is None else state.playlist.sha256,
        playlist_version=version,
        revocations_version=None if state.revocations is None else state.revocations.version,
        verified=verified,
        displayable=displayable,
        problems=tuple(problems),
        leftovers=tuple(sorted(leftovers)),
    )


@dataclass(frozen=True)
class LocalPlay:
    entry_id: str
    started: int
    duration_ms: int
    batch_id: str | None

    @property
    def key(self) -> tuple[str, int]:
        return (self.entry_id, self.started)


@dataclass(frozen=True)
class LogCheck:
    """The local play log after a kill.

    Attributes:
        integrity: ``PRAGMA integrity_check``'s answer (``ok``), checked before PlayLog could move it aside.
        moved_aside: Files PlayLog moved aside as corrupt when it opened the log.
        plays: The plays waiting for the hub.
        batches: Unacknowledged batches (PlayLog keeps at most one per screen).
    """

    integrity: str
    moved_aside: tuple[str, ...]
    plays: tuple[LocalPlay, ...]
    batches: int


def check_play_log(cache_dir: Path) -> LogCheck:
    """Open the play log as the player does (``PlayLog``), after an integrity check of the raw file."""
    path = cache_dir / PLAY_LOG
    integrity = "ok (no file yet)"
    if path.exists():
        with contextlib.closing(sqlite3.connect(path)) as connection:
            integrity = "; ".join(row[0] for row in connection.execute("PRAGMA integrity_check"))
    with PlayLog(path, clock=now) as play_log:
        counts = play_log.counts()
        moved = tuple(p.name for p in play_log.moved_aside)
    with contextlib.closing(sqlite3.connect(path)) as connection:
        rows = connection.execute(
            "SELECT entry_id, started_ms, duration_ms, batch_id FROM plays ORDER BY seq"
        ).fetchall()
    plays = tuple(
        LocalPlay(entry, started // 1000, duration, batch) for entry, started, duration, batch in rows
    )
    assert counts.plays == len(plays)
    moved += tuple(p.name for p in cache_dir.glob(f"{PLAY_LOG}.corrupt-*"))
    return LogCheck(integrity, moved, plays, counts.batches)


@dataclass(frozen=True)
class HubPlay:
    entry_id: str
    started: int
    duration_ms: int
    batch_id: str

    @property
    def key(self) -> tuple[str, int]:
        return (self.entry_id, self.started)


@dataclass(frozen=True)
class HubPlays:
    """What the hub's telemetry store holds for one screen.

    Attributes:
        plays: Every stored play.
        batches: Batch id to the number of plays the hub recorded for it.
    """

    plays: tuple[HubPlay, ...]
    batches: dict[str, int]


def hub_plays(screen_id: str) -> HubPlays:
    """The hub's plays and batches for ``screen_id``, read from its database through the ORM."""
    from signage.operator.hub.screens.models import Batch, Play

    rows = (
        Play.objects.filter(screen_id=screen_id)
        .order_by("started")
        .values_list("entry_id", "started", "duration_ms", "batch__batch_id")
    )
    batches = dict(Batch.objects.filter(screen_id=screen_id).values_list("batch_id", "plays"))
    plays = tuple(
        HubPlay(entry, int(started.timestamp()), duration, batch) for entry, started, duration, batch in rows
    )
    return HubPlays(plays, batches)


# --- the accounting -------------------------------------------------------------------------------------


@dataclass
class Accounting:
    """Plays stored against slides shown.

    Attributes:
        shown: Slides put on screen (that are plays: black is not).
        expected: Slides that left the screen, so must have a play.
        in_flight: Slides on screen at a SIGKILL: not a play yet; losing them is by design.
        stored: Distinct plays stored, hub and local log together.
        duplicates: Plays stored more than once (hub and local log together), with their count.
        lost_in_write: Slides that had left the screen less than ``write_window`` s before a kill and have
            no play: their write was in flight.
        write_gaps: For each of those, seconds from the next slide's line to the kill.
        lost: Other slides that left the screen and have no play: a bug.
        unknown: Stored plays no run showed.
        resent: Plays the local log still held in a batch the hub had already counted (a kill between the
            hub's answer and the local acknowledgement); the next upload is answered "duplicate".
    """

    shown: int = 0
    expected: int = 0
    in_flight: int = 0
    stored: int = 0
    duplicates: dict[tuple[str, int], int] = field(default_factory=dict)
    lost_in_write: list[tuple[str, int]] = field(default_factory=list)
    write_gaps: list[float] = field(default_factory=list)
    lost: list[tuple[str, int]] = field(default_factory=list)
    unknown: list[tuple[str, int]] = field(default_factory=list)
    resent: int = 0


def account(
    runs: Sequence[Run],
    hub: HubPlays,
    local: Sequence[LocalPlay],
    *,
    write_window: float,
) -> Accounting:
    """Compare what the hub and the local log hold against what every run showed."""
    result = Accounting()
    stored: Counter[tuple[str, int]] = Counter(play.key for play in hub.plays)
    for play in local:
        if play.batch_id is not None and play.batch_id in hub.batches:
            result.resent += 1  # the same play, counted once by the hub under its batch id
        else:
            stored[play.key] += 1
    result.stored = len(stored)
    result.duplicates = {key: count for key, count in stored.items() if count > 1}
    known: set[tuple[str, int]] = set()
    for run in runs:
        slides = [slide for slide in run.shown if slide.entry_id != NOT_A_PLAY]
        result.shown += len(slides)
        known.update(slide.key for slide in run.shown)
        for number, slide in enumerate(run.shown):
            last = number == len(run.shown) - 1
            if slide.entry_id == NOT_A_PLAY:
                continue
            if last and run.killed:
                result.in_flight += 1
                continue
            result.expected += 1
            if slide.key in stored:
                continue
            following = None if last else run.shown[number + 1]
            if run.killed and following is not None and run.stopped - following.at < write_window:
                result.lost_in_write.append(slide.key)
                result.write_gaps.append(run.stopped - following.at)
            else:
                result.lost.append(slide.key)
    result.unknown = sorted(key for key in stored if key not in known)
    return result


# --- a hub that answers garbage -------------------------------------------------------------------------


class GarbageHub:
    """An HTTP server on 127.0.0.1 that answers every request (any method, any path) with garbage; request
    bodies are read and ignored.

    Args:
        seed: Seeds the random bytes and choices.
        mode: ``junk``: a 200 of random bytes (a different length and content each time); ``error``: a 500;
            ``flapping``: either of the two, chosen at random for each request; ``hang``: no answer at all
            (the request is read, then nothing is sent until the client gives up or the server stops).

    Attributes:
        url: Its base URL, ending in ``/``.
        answered: (method, path, status) of every request, in order.
    """

    def __init__(self, seed: int, mode: str) -> None:
        if mode not in ("junk", "error", "flapping", "hang"):
            raise ValueError(mode)
        self.mode = mode
        self.stopping = threading.Event()
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self.answered: list[tuple[str, str, int]] = []
        self._server = _GarbageServer(("127.0.0.1", 0), _GarbageHandler, self)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="garbage-hub", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _answer(self, method: str, path: str) -> tuple[int, bytes]:
        with self._lock:
            error = self.mode == "error" or (self.mode == "flapping" and self._random.random() < 0.5)
            if error:
                status, body = 500, b"internal error\n"
            else:
                status, body = 200, self._random.randbytes(self._random.randrange(0, 2048))
            self.answered.append((method, path, status))
        return status, body


class _GarbageServer(http.server.ThreadingHTTPServer):
    daemon_threads = False
    block_on_close = True

    def __init__(self, address: tuple[str, int], handler: type[_GarbageHandler], owner: GarbageHub) -> None:
        self.owner = owner
        super().__init__(address, handler)

    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class _GarbageHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # one request per connection: nothing to keep track of
    timeout = 10
    server: _GarbageServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _any(self, *, body: bool = True) -> None:
        length = self.headers.get("Content-Length", "0")
        if length.isdigit():
            self.rfile.read(min(int(length), 4 * 1024 * 1024))
        owner = self.server.owner
        if owner.mode == "hang":
            with owner._lock:
                owner.answered.append((self.command, self.path, 0))
            owner.stopping.wait(60)
            self.close_connection = True
            return
        status, data = owner._answer(self.command, self.path)
        self.send_response_only(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Date", self.date_time_string())
        self.end_headers()
        if body:
            self.wfile.write(data)

    def do_GET(self) -> None:
        self._any()

    def do_POST(self) -> None:
        self._any()

    def do_PUT(self) -> None:
        self._any()

    def do_HEAD(self) -> None:
        self._any(body=False)


# --- the instrumented child -----------------------------------------------------------------------------


def _instrumented_main(argv: list[str]) -> int:
    from signage.cli import main

    log = logging.getLogger("torture")
    if argv[:1] == ["sync"]:
        return _instrumented_service(argv, log, main)
    from signage.core.rotation import Slide, SlideKind
    from signage.kiosk import telemetry

    original = telemetry.Telemetry._on_slide_shown

    def entry_of(slide: Slide) -> str:
        # As Telemetry._play names the play.
        if slide.record is not None:
            return slide.record.entry_id
        if slide.notice is not None:
            return f"notice:{slide.notice.notice_id}"
        return "standby" if slide.kind is SlideKind.STANDBY else NOT_A_PLAY

    # Whether the GUI thread is inside on_slide_shown: it hands the previous play to the worker thread
    # before it logs the new slide, and an in-write kill waits for that line (see _kill_inside_write).
    handing = threading.Condition()
    inside = [False]

    def on_slide_shown(self: telemetry.Telemetry, slide: object) -> None:
        with handing:
            inside[0] = True
        try:
            original(self, slide)
            on_screen = self._on_screen
            assert on_screen is not None, "Telemetry no longer keeps (slide, started) in _on_screen"
            shown, started = on_screen
            log.info("shown %s %s", entry_of(shown), started.isoformat())
        finally:
            with handing:
                inside[0] = False
                handing.notify_all()

    def slide_logged() -> None:
        with handing:
            handing.wait_for(lambda: not inside[0], timeout=MAX_LOG_WAIT)

    telemetry.Telemetry._on_slide_shown = on_slide_shown  # type: ignore[method-assign]
    kill_at = int(os.environ.get(IN_WRITE_ENV, "0"))
    if kill_at:
        _kill_inside_write(kill_at, log, slide_logged)
    return main(argv)


def _instrumented_service(argv: list[str], log: logging.Logger, main: Callable[[list[str]], int]) -> int:
    """The sync service, logging when each sync starts and ends (the kills of the ``sync`` mode aim at them)."""
    from signage.sync import service

    original = service.SyncService._sync

    def sync(self: service.SyncService, *, full: bool) -> bool:
        log.info("sync started %s", "full" if full else "poll")
        try:
            return original(self, full=full)
        finally:
            log.info("sync finished")

    service.SyncService._sync = sync  # type: ignore[method-assign]
    return main(argv)


def _kill_inside_write(number: int, log: logging.Logger, slide_logged: Callable[[], None]) -> None:
    """SIGKILL this process inside the ``number``-th ``PlayLog.record``, while its INSERT runs.

    ``slide_logged`` returns once the GUI thread has logged the slide whose arrival handed this play over.
    """
    from signage.sync.telemetry import plays

    armed = threading.Event()
    records = 0
    original_connect = plays.PlayLog._connect
    original_record = plays.PlayLog.record

    def progress() -> int:
        if armed.is_set():
            slide_logged()  # the line of the slide now on screen is out before the kill
            log.info(KILLING.split(" torture INFO ", 1)[1])
            for handler in logging.getLogger().handlers:
                handler.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        return 0

    def connect(self: plays.PlayLog) -> sqlite3.Connection:
        connection = original_connect(self)
        connection.set_progress_handler(progress, 1)
        return connection

    def record(self: plays.PlayLog, play: plays.Play) -> None:
        nonlocal records
        records += 1
        if records == number:
            armed.set()
        original_record(self, play)

    plays.PlayLog._connect = connect  # type: ignore[method-assign]
    plays.PlayLog.record = record  # type: ignore[method-assign]


if __name__ == "__main__":
    sys.exit(_instrumented_main(sys.argv[1:]))
