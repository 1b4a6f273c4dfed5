"""What the player costs on a 1080p screen: start-up to the first slide, render time per slide, memory and CPU.

The sample channel is published into a fresh repository under ``bench/out/player/`` as ``signage demo`` does
it (plus one operator notice, so every slide kind turns up), served by a Hub on 127.0.0.1, synced once into a
screen cache with ``ScreenSync.sync_once``; then the hub is stopped. The player config written next to it
points at that dead hub, with ``dwell_seconds = 2`` and ``transition_seconds = 1``, so every player run below
plays offline from the verified cache and no network time is counted.

1. **Start-up.** ``python -m signage play --config <cfg>`` in a fresh process, on a fresh Xvfb 1920×1080 each
   run; wall time from ``Popen`` to the ``first slide painted`` line on its stderr. The same runs are repeated
   with this module's instrumented child (``--child-play``: the same ``run_player`` with an ``on_ready`` hook
   that logs each slide shown and the first paint of a debtor slide), which tells a debtor slide from the
   standby slide. (The hook also logs the window's paint events during each crossfade, which
   ``bench.chromium`` reads for its frames-per-crossfade figure.)
2. **Render time per slide**, in this process on Qt's offscreen platform: the player's own
   ``ScreenSource.render`` (a :class:`~signage.kiosk.slides.SlideRenderer`, photos read from the screen
   cache by hash and decoded) for every displayable sample record, the notice and the standby slide, at
   1920×1080 and 3840×2160, after one untimed render of each.
3. **A long run** of the instrumented child on Xvfb 1920×1080 (default 10 minutes after the first slide):
   PSS from ``/proc/<pid>/smaps_rollup`` every 10 s, CPU seconds from ``/proc/<pid>/stat`` of the player and
   of its Xvfb.

Starts are cold processes on a warm page cache (nothing drops the OS caches). With ``--figures PATH`` the
headline figures of the start-up part (section "Cold start": median seconds to the first slide painted, target
under 1.5 s, and to the first debtor slide) are also written there as JSON (:mod:`bench.figures`). Usage:
``python -m bench.player [--runs N] [--minutes M] [--repeats R] [--only startup|render|run] [--figures PATH]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import math
import os
import queue
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

from bench.figures import Figure, at_most, command_line, machine, write

if TYPE_CHECKING:
    from PyQt6.QtCore import QEvent, QObject  # noqa: TID251 - bench code, never imported by the core

    from signage.kiosk.player import Player
    from signage.kiosk.window import SlideWindow
    from signage.sync.config import PlayerConfig

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "player"
SAMPLE = ROOT / "assets" / "sample"
SCREEN = (1920, 1080)
SIZES = {"1920x1080": (1920, 1080), "3840x2160": (3840, 2160)}
KINDS = ("person", "organisation", "notice", "standby")
DWELL_SECONDS = 2.0
TRANSITION_SECONDS = 1.0
#: The line ``signage play`` logs when the first real slide reached the window (signage.kiosk.app).
FIRST_PAINTED = "first slide painted"
#: Lines the instrumented child logs.
SLIDE_SHOWN = "bench: slide shown "
FIRST_KIND = "bench: first slide is "
DEBTOR_PAINTED = "bench: first debtor slide painted"
#: ``bench: crossfade N frames F ms T``: frames drawn for one crossfade (this child's paint events; the
#: Chromium page's requestAnimationFrame callbacks in bench.chromium) and its length.
CROSSFADE = re.compile(r"bench: crossfade (\d+) frames (\d+) ms (\d+)( cancelled)?")
DEBTOR_KINDS = ("person", "organisation")
#: Kinds with few slides (one notice, one standby) are rendered until they have this many timings.
MIN_RENDER_SAMPLES = 30
PARTS = ("startup", "render", "run")

log = logging.getLogger("bench.player")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# --- the screen: a published channel, a filled cache, a dead hub ---------------------------------------


def configure_and_sync(config_path: Path, settings: dict[str, object], *, user_agent: str) -> PlayerConfig:
    """Write a screen config with ``settings`` and fill its cache with one sync from the live hub."""
    import requests

    from signage.sync.client import ScreenSync
    from signage.sync.config import load_player_config
    from signage.sync.fetcher import HttpFetcher

    # JSON strings and numbers are valid TOML values.
    config_path.write_text("".join(f"{key} = {json.dumps(value)}\n" for key, value in settings.items()))
    config = load_player_config(config_path)
    session = requests.Session()
    session.trust_env = False  # a proxy in the environment must not see 127.0.0.1
    with HttpFetcher(session, user_agent=user_agent) as fetcher:
        synced = ScreenSync(config, fetcher=fetcher, clock=_now).sync_once()
    session.close()
    if not synced.ok:
        raise RuntimeError(f"the screen cache was not filled: {synced.state}: {synced.en}")
    return config


def prepare(work: Path) -> Path:
    """Publish the sample, sync a screen cache from a Hub, stop the hub; returns the player config path."""
    from signage.core.records import Notice
    from signage.demo import CHANNEL
    from signage.operator.hub.files import make_app
    from signage.operator.hub.server import Hub
    from signage.operator.publish.channel import ChannelSettings, publish_channel
    from signage.operator.publish.repo import OperatorRepository

    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    repository = OperatorRepository.init(work / "repo", now=_now())
    notice = Notice(
        notice_id="bench-1",
        title="关于失信被执行人名单的说明",
        body="名单信息来自人民法院依法公布的失信被执行人名单。\n如有异议，请向执行法院申请纠正。",
    )
    result = publish_channel(
        repository,
        CHANNEL,
        SAMPLE / "records.csv",
        photos=SAMPLE / "photos",
        now=_now(),
        settings=ChannelSettings(sample=True, notices=(notice,)),
        allow_partial=True,
    )
    if result.version is None:
        raise RuntimeError("the sample was not published")
    root = work / "root.json"
    shutil.copyfile(repository.metadata_dir / "1.root.json", root)
    hub = Hub(make_app(repository.public), lambda: None, host="127.0.0.1", port=0)
    hub.start()
    try:
        hub_url = f"http://127.0.0.1:{hub.port}/"
        config_path = work / "player.toml"
        settings = {
            "screen_id": "bench-screen",
            "hub_url": hub_url,
            "channel": CHANNEL,
            "root": str(root),
            "cache_dir": str(work / "cache"),
            "dwell_seconds": DWELL_SECONDS,
            "transition_seconds": TRANSITION_SECONDS,
        }
        configure_and_sync(config_path, settings, user_agent="bench-player")
    finally:
        hub.stop()  # from here on the config points at a hub that is gone: the player plays from its cache
    return config_path


# --- a player process on its own Xvfb ------------------------------------------------------------------


class Lines:
    """The lines of a child's stderr as they arrive, each with the ``time.perf_counter()`` it was read at."""

    def __init__(self, stream: IO[str]) -> None:
        self.seen: list[tuple[float, str]] = []
        self.closed = False
        self._queue: queue.Queue[tuple[float, str] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self._queue.put((time.perf_counter(), line.rstrip("\n")))
        self._queue.put(None)

    def wait_for(self, marker: str, deadline: float) -> float | None:
        """When a line holding ``marker`` arrived (it may have already), or ``None`` at the deadline or EOF."""
        found = self.first(marker)
        return found if found is not None else self._read(marker, deadline)

    def read_until(self, deadline: float) -> None:
        """Collect lines until ``deadline`` (or EOF), so the child never blocks on a full pipe."""
        self._read(None, deadline)

    def _read(self, marker: str | None, deadline: float) -> float | None:
        while not self.closed:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                return None
            try:
                item = self._queue.get(timeout=remaining)
            except queue.Empty:
                return None
            if item is None:
                self.closed = True
                return None
            self.seen.append(item)
            if marker is not None and marker in item[1]:
                return item[0]
        return None

    def first(self, marker: str) -> float | None:
        """When the first line holding ``marker`` arrived, among the lines read so far."""
        return next((at for at, line in self.seen if marker in line), None)

    def finish(self) -> None:
        """Collect the remaining lines once the child has exited."""
        self._thread.join(timeout=10)
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if item is None:
                self.closed = True
            else:
                self.seen.append(item)

    def tail(self, count: int = 25) -> str:
        """The last lines read, for error messages."""
        return "\n".join(line for _, line in self.seen[-count:])


@dataclass
class Running:
    """A started player: its process, the time just before ``Popen``, its stderr, and its Xvfb's pid."""

    process: subprocess.Popen[str]
    started: float
    lines: Lines
    xvfb_pid: int | None


def player_command(config: Path, *, instrumented: bool) -> list[str]:
    """``python -m signage play`` or this module's instrumented child, for ``config``."""
    if instrumented:
        return [sys.executable, "-m", "bench.player", "--child-play", str(config)]
    return [sys.executable, "-m", "signage", "play", "--config", str(config)]


def service_tuning() -> dict[str, str]:
    """The allocator settings kiosk.service gives the painter (``Environment=MALLOC_...``), so the benches
    measure the painter as screens run it."""
    tuning = {}
    for line in (ROOT / "kiosk.service").read_text(encoding="utf-8").splitlines():
        key, _, value = line.removeprefix("Environment=").partition("=")
        if line.startswith("Environment=MALLOC_") and value:
            tuning[key] = value
    return tuning


def x_environment(display: str) -> dict[str, str]:
    """This process's environment for a Qt player on the X server ``display`` (never Wayland or offscreen),
    with kiosk.service's allocator settings."""
    environment = {k: v for k, v in os.environ.items() if k not in ("WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    return (
        environment
        | service_tuning()
        | {"DISPLAY": display, "QT_QPA_PLATFORM": "xcb", "PYTHONUNBUFFERED": "1"}
    )


def stop(process: subprocess.Popen[str], *, timeout: float) -> None:
    """SIGTERM a process still running, and SIGKILL it if it has not ended ``timeout`` seconds later."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def player(config: Path, *, instrumented: bool) -> Iterator[Running]:
    """A fresh Xvfb 1920×1080 and a fresh player process on it, both stopped when the block ends."""
    from signage.demo import xvfb

    with xvfb(SCREEN) as display:
        xvfb_pid = _child_named("Xvfb")
        environment = x_environment(display)
        started = time.perf_counter()
        process = subprocess.Popen(
            player_command(config, instrumented=instrumented),
            cwd=ROOT,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        assert process.stderr is not None
        running = Running(process, started, Lines(process.stderr), xvfb_pid)
        try:
            yield running
        finally:
            stop(process, timeout=10)
            running.lines.finish()


def _child_named(name: str) -> int | None:
    """The pid of this process's child called ``name`` (the Xvfb that :func:`signage.demo.xvfb` started)."""
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        parent = int(stat[stat.rindex(")") + 2 :].split()[1])
        if comm == name and parent == me:
            return int(entry.name)
    return None


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of ``pid`` so far (``/proc/<pid>/stat`` fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pss_bytes(pid: int) -> int:
    """Proportional set size of ``pid`` (``/proc/<pid>/smaps_rollup``)."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no Pss line in /proc/{pid}/smaps_rollup")


def crossfade_frames(text: str) -> list[int]:
    """The frame counts of the completed crossfades logged in ``text`` (see :data:`CROSSFADE`), in order."""
    return [int(match[2]) for match in CROSSFADE.finditer(text) if not match[4]]


# --- 1. start-up ------------------------------------------------------------------------------------------


@dataclass
class Startup:
    """Seconds from ``Popen`` to the first slide, per run."""

    plain: list[float] = field(default_factory=list)
    instrumented: list[float] = field(default_factory=list)
    debtor: list[float] = field(default_factory=list)
    first_kinds: Counter[str] = field(default_factory=Counter)
    exit_codes: Counter[int | None] = field(default_factory=Counter)


def measure_startup(config: Path, runs: int, timeout: float) -> Startup:
    """``runs`` cold starts of ``signage play`` and as many of the instrumented child, alternating."""
    figures = Startup()
    for run in range(runs):
        for instrumented in (False, True):
            with player(config, instrumented=instrumented) as running:
                deadline = running.started + timeout
                marker = DEBTOR_PAINTED if instrumented else FIRST_PAINTED
                if running.lines.wait_for(marker, deadline) is None:
                    raise RuntimeError(f"no {marker!r} within {timeout:g} s:\n{running.lines.tail()}")
                painted = running.lines.first(FIRST_PAINTED)
                if painted is None:
                    raise RuntimeError(f"no {FIRST_PAINTED!r} line:\n{running.lines.tail()}")
                if not instrumented:
                    figures.plain.append(painted - running.started)
                    continue
                figures.instrumented.append(painted - running.started)
                debtor = running.lines.first(DEBTOR_PAINTED)
                assert debtor is not None
                figures.debtor.append(debtor - running.started)
                kinds = [line.split(FIRST_KIND, 1)[1] for _, line in running.lines.seen if FIRST_KIND in line]
                figures.first_kinds[kinds[0] if kinds else "?"] += 1
            figures.exit_codes[running.process.returncode] += 1
        print(
            f"start-up run {run + 1}/{runs}: play {figures.plain[-1]:.2f} s, instrumented "
            f"{figures.instrumented[-1]:.2f} s, debtor {figures.debtor[-1]:.2f} s",
            file=sys.stderr,
            flush=True,
        )
    return figures


# --- 2. render time ---------------------------------------------------------------------------------------


def measure_render(config_path: Path, repeats: int) -> dict[tuple[str, str], list[float]]:
    """Seconds per render, by (kind, size name), warm; the player's ``ScreenSource`` in this process."""
    from PyQt6.QtCore import QSize  # noqa: TID251 - bench code, never imported by the core
    from PyQt6.QtGui import QGuiApplication  # noqa: TID251

    from signage.core.rotation import STANDBY_SLIDE, Slide, SlideKind, notice_key, record_key
    from signage.kiosk.app import ScreenSource
    from signage.kiosk.fonts import find_fonts
    from signage.sync.client import ScreenSync
    from signage.sync.config import load_player_config
    from signage.sync.fetcher import HttpFetcher

    app = QGuiApplication.instance() or QGuiApplication(["bench.player", "-platform", "offscreen"])
    config = load_player_config(config_path)
    with HttpFetcher() as fetcher:  # never used: nothing here syncs
        screen = ScreenSync(config, fetcher=fetcher, clock=_now)
    snapshot = screen.snapshot()
    shown = snapshot.display_set(_now())
    slides = [
        Slide(
            kind=SlideKind.PERSON if record.is_person else SlideKind.ORGANISATION,
            key=record_key(record.entry_id, shown.playlist_version),
            record=record,
        )
        for record in shown.records
    ]
    slides += [
        Slide(kind=SlideKind.NOTICE, key=notice_key(notice.notice_id, shown.playlist_version), notice=notice)
        for notice in shown.notices
    ]
    slides.append(STANDBY_SLIDE)
    counts = Counter(slide.kind.value for slide in slides)
    rounds = {kind: max(repeats, math.ceil(MIN_RENDER_SAMPLES / count)) for kind, count in counts.items()}
    source = ScreenSource(find_fonts(), config.screen_id, screen.cache, None)
    timings: dict[tuple[str, str], list[float]] = {}
    for size_name, (width, height) in SIZES.items():
        size = QSize(width, height)
        for slide in slides:  # warm: fonts, glyph caches, the QR encoder, the photo decoder
            source.render(slide, size, snapshot)
        # Round by round over every slide, so a burst of machine noise spreads over all kinds alike.
        for round_ in range(max(rounds.values())):
            for slide in slides:
                if round_ < rounds[slide.kind.value]:
                    started = time.perf_counter()
                    source.render(slide, size, snapshot)
                    elapsed = time.perf_counter() - started
                    timings.setdefault((slide.kind.value, size_name), []).append(elapsed)
        print(f"rendered {len(slides)} slides at {size_name}", file=sys.stderr, flush=True)
    del app  # the application had to live while rendering
    return timings


# --- 3. a long run ----------------------------------------------------------------------------------------


@dataclass
class LongRun:
    """PSS samples and CPU seconds of one long player run."""

    minutes: float
    startup: float = 0.0
    pss: list[tuple[float, int]] = field(default_factory=list)
    cpu_first: float = 0.0
    cpu_end: float = 0.0
    xvfb_first: float | None = None
    xvfb_end: float | None = None
    xvfb_pss_end: int | None = None
    exit_code: int | None = None
    window: float = 0.0
    slides: Counter[str] = field(default_factory=Counter)


def measure_run(config: Path, minutes: float, interval: float, timeout: float) -> LongRun:
    """Run the instrumented player for ``minutes`` after its first slide, sampling every ``interval`` s."""
    figures = LongRun(minutes)
    with player(config, instrumented=True) as running:
        pid, xvfb_pid = running.process.pid, running.xvfb_pid
        painted = running.lines.wait_for(FIRST_PAINTED, running.started + timeout)
        if painted is None:
            raise RuntimeError(f"no {FIRST_PAINTED!r} within {timeout:g} s:\n{running.lines.tail()}")
        first = time.perf_counter()
        figures.startup = painted - running.started
        figures.pss.append((0.0, pss_bytes(pid)))
        figures.cpu_first = cpu_seconds(pid)
        figures.xvfb_first = None if xvfb_pid is None else cpu_seconds(xvfb_pid)
        end = first + minutes * 60
        target = first
        while target < end:
            target = min(target + interval, end)
            running.lines.read_until(target)
            if running.process.poll() is not None:
                raise RuntimeError(
                    f"the player exited ({running.process.returncode}):\n{running.lines.tail()}"
                )
            figures.pss.append((time.perf_counter() - first, pss_bytes(pid)))
            if len(figures.pss) % 6 == 1:
                print(
                    f"run: {(time.perf_counter() - first) / 60:.1f}/{minutes:g} min, "
                    f"PSS {figures.pss[-1][1] / 2**20:.1f} MiB",
                    file=sys.stderr,
                    flush=True,
                )
        figures.cpu_end = cpu_seconds(pid)
        if xvfb_pid is not None:
            figures.xvfb_end = cpu_seconds(xvfb_pid)
            figures.xvfb_pss_end = pss_bytes(xvfb_pid)
        figures.window = time.perf_counter() - first
    figures.exit_code = running.process.returncode
    figures.slides = Counter(
        line.split(SLIDE_SHOWN, 1)[1].strip() for _, line in running.lines.seen if SLIDE_SHOWN in line
    )
    return figures


# --- the instrumented child -------------------------------------------------------------------------------


def child_play(config_path: Path) -> int:
    """``signage play`` as the CLI runs it, plus a hook that logs each slide and the first debtor slide's paint."""
    from signage.sync.config import load_player_config

    config = load_player_config(config_path)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s", stream=sys.stderr
    )
    from signage.kiosk.app import run_player

    watches: list[QObject] = []

    def ready(window: SlideWindow, player: Player) -> None:
        watches.append(_paint_watch(window, player))

    return run_player(config, clock=_now, on_ready=ready)


def _paint_watch(window: SlideWindow, player: Player) -> QObject:
    """Logs every slide shown, the kind of the first one painted, when a debtor slide was first painted, and
    the paint events of each crossfade.

    A crossfade's frames are the window's paint events from the slide change (``slide_shown``, emitted right
    after ``show_image`` started the fade) up to and including the first paint after the fade has finished
    (the one showing the new slide alone). Each paint event of this top-level window is one frame drawn into
    its backing store and flushed to the X server.
    """
    from PyQt6.QtCore import QEvent, QObject, QTimer  # noqa: TID251 - bench code, never imported by the core

    from signage.core.rotation import Slide

    class Watch(QObject):
        def __init__(self) -> None:
            super().__init__(window)
            self.pending = False
            self.done = False
            self.crossfades = 0
            self.fade_started: float | None = None
            self.fade_frames = 0

        def shown(self, slide: Slide) -> None:
            log.info("%s%s", SLIDE_SHOWN, slide.kind.value)
            if not self.done and slide.kind.value in DEBTOR_KINDS:
                self.pending = True
            if window.is_fading():
                # A fade cut short by the next slide is not reported; this one starts afresh.
                self.crossfades += 1
                self.fade_started, self.fade_frames = time.perf_counter(), 0

        def first(self) -> None:
            kind = "none" if player.current is None else player.current.kind.value
            size = window.slide_size()
            log.info("%s%s at %dx%d", FIRST_KIND, kind, size.width(), size.height())

        def eventFilter(self, watched: QObject | None, event: QEvent | None) -> bool:
            if event is None or event.type() != QEvent.Type.Paint:
                return False
            if self.pending:
                # The paint event is delivered next; log once it has been handled.
                self.pending, self.done = False, True
                QTimer.singleShot(0, lambda: log.info(DEBTOR_PAINTED))
            if self.fade_started is not None:
                self.fade_frames += 1
                if not window.is_fading():
                    elapsed = (time.perf_counter() - self.fade_started) * 1000
                    log.info(
                        "bench: crossfade %d frames %d ms %.0f", self.crossfades, self.fade_frames, elapsed
                    )
                    self.fade_started = None
            return False

    watch = Watch()
    player.slide_shown.connect(watch.shown)
    window.first_painted.connect(watch.first)
    window.installEventFilter(watch)
    return watch


# --- the report -------------------------------------------------------------------------------------------


def _table(rows: Sequence[Sequence[str]], indent: str = "    ") -> list[str]:
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return [
        indent
        + "  ".join(
            [row[0].ljust(widths[0]), *(cell.rjust(w) for cell, w in zip(row[1:], widths[1:], strict=True))]
        )
        for row in rows
    ]


def _p95(values: Sequence[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[18] if len(values) > 1 else values[0]


def _mib(value: float) -> str:
    return f"{value / 2**20:.1f} MiB"


def startup_lines(figures: Startup) -> list[str]:
    """Section 1 of the report."""
    runs = len(figures.plain)
    rows = [("from Popen to", "median", "max", "each run")]
    for label, values in (
        ("`signage play`: first slide painted", figures.plain),
        ("instrumented child: first slide painted", figures.instrumented),
        ("instrumented child: first debtor slide painted", figures.debtor),
    ):
        each = " ".join(f"{value:.2f}" for value in values)
        rows.append((label, f"{statistics.median(values):.2f} s", f"{max(values):.2f} s", each))
    kinds = ", ".join(f"{kind} ×{count}" for kind, count in figures.first_kinds.most_common())
    codes = ", ".join(f"{code} ×{count}" for code, count in figures.exit_codes.most_common())
    return [
        f"1. start to first slide: cold process, fresh Xvfb {SCREEN[0]}x{SCREEN[1]} per run, offline (hub stopped), "
        "cache filled",
        f"   reproduce: python -m bench.player --only startup --runs {runs}",
        *_table(rows),
        f"    first slide painted by the instrumented child: {kinds}",
        f"    exit status after SIGTERM: {codes}",
    ]


STARTUP_LIMIT = 1.5
COLD_START = "Cold start"


def startup_figures(figures: Startup, argv: Sequence[str] | None) -> list[Figure]:
    """The headline figures of section 1: median seconds to the first slide, and to the first debtor slide."""
    command = command_line("bench.player", argv)
    target = f"< {STARTUP_LIMIT:g} s"
    found: list[Figure] = []
    for name, values in (
        ("Process start to first slide painted, offline from the cache", figures.plain),
        ("Process start to first debtor slide painted, offline (instrumented child)", figures.debtor),
    ):
        if not values:
            continue
        median = statistics.median(values)
        met, shortfall = at_most(median, STARTUP_LIMIT, "s")
        value = f"{median:.2f} s median of {len(values)} runs (max {max(values):.2f} s)"
        found.append(Figure(COLD_START, name, value, command, target, met, shortfall))
    return found


def render_lines(timings: dict[tuple[str, str], list[float]], repeats: int) -> list[str]:
    """Section 2 of the report."""
    rows = [("kind", "size", "median", "p95", "max", "renders timed")]
    for size_name in SIZES:
        for kind in KINDS:
            values = timings.get((kind, size_name))
            if values:
                rows.append(
                    (
                        kind,
                        size_name,
                        f"{statistics.median(values) * 1000:.1f} ms",
                        f"{_p95(values) * 1000:.1f} ms",
                        f"{max(values) * 1000:.1f} ms",
                        str(len(values)),
                    )
                )
    return [
        "2. render time per slide, warm (one untimed render of each first), offscreen, the player's ScreenSource "
        "(photo read from the cache and decoded)",
        f"   reproduce: python -m bench.player --only render --repeats {repeats}",
        *_table(rows),
    ]


def run_lines(figures: LongRun, interval: float) -> list[str]:
    """Section 3 of the report."""
    values = [pss for _, pss in figures.pss]
    start, end = values[0], values[-1]
    peak_at, peak = max(figures.pss, key=lambda sample: sample[1])
    window = figures.window
    cpu = figures.cpu_end - figures.cpu_first
    rows = [
        ("PSS at first slide", _mib(start)),
        ("PSS at the end", _mib(end)),
        ("PSS peak", f"{_mib(peak)} (at {peak_at / 60:.1f} min)"),
        (
            "PSS growth, end - start",
            f"{(end - start) / 2**20:+.1f} MiB ({(end - start) / start * 100:+.1f} %)",
        ),
        (
            "PSS growth, 2nd half (last sample - middle sample)",
            f"{(end - values[len(values) // 2]) / 2**20:+.1f} MiB",
        ),
        ("player CPU, whole process life", f"{figures.cpu_end:.1f} s"),
        ("player CPU after first slide", f"{cpu:.1f} s = {cpu / window * 100:.1f} % of one core"),
    ]
    if figures.xvfb_first is not None and figures.xvfb_end is not None:
        xcpu = figures.xvfb_end - figures.xvfb_first
        rows += [
            ("Xvfb CPU, whole server life", f"{figures.xvfb_end:.1f} s"),
            ("Xvfb CPU after first slide", f"{xcpu:.1f} s = {xcpu / window * 100:.1f} % of one core"),
            (
                "player + Xvfb after first slide",
                f"{cpu + xcpu:.1f} s = {(cpu + xcpu) / window * 100:.1f} % of one core",
            ),
        ]
    if figures.xvfb_pss_end is not None:
        rows.append(("Xvfb PSS at the end", _mib(figures.xvfb_pss_end)))
    shown = ", ".join(f"{kind} {count}" for kind, count in figures.slides.most_common())
    rows += [
        ("start-up of this run (to first slide)", f"{figures.startup:.2f} s"),
        ("slides shown", f"{sum(figures.slides.values())} ({shown})"),
        ("exit status after SIGTERM", str(figures.exit_code)),
    ]
    return [
        f"3. {figures.minutes:g} minutes after the first slide, dwell {DWELL_SECONDS:g} s, crossfade "
        f"{TRANSITION_SECONDS:g} s, Xvfb {SCREEN[0]}x{SCREEN[1]}, offline from the cache (hub stopped); "
        f"PSS every {interval:g} s ({len(values)} samples)",
        f"   reproduce: python -m bench.player --only run --minutes {figures.minutes:g}",
        *_table([("figure", "value"), *rows]),
    ]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="cold starts of each kind (default 5)")
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the long run (default 10)")
    parser.add_argument("--repeats", type=int, default=5, help="timed renders of each slide (default 5)")
    parser.add_argument(
        "--sample-seconds", type=float, default=10.0, help="PSS sampling interval (default 10)"
    )
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds a start may take (default 60)")
    parser.add_argument(
        "--only", choices=PARTS, action="append", help="run only this part (repeatable; default all three)"
    )
    parser.add_argument("--work", type=Path, default=OUT, help=f"scratch folder (default {OUT})")
    parser.add_argument(
        "--figures", type=Path, default=None, help="also write the headline figures as JSON to this file"
    )
    parser.add_argument("--child-play", type=Path, metavar="CONFIG", help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    if arguments.child_play is not None:
        return child_play(arguments.child_play)
    parts = arguments.only or list(PARTS)
    load_at_start = os.getloadavg()[0]

    config = prepare(arguments.work.resolve())
    print(f"published the sample channel and filled a screen cache; player config {config}", file=sys.stderr)
    report: list[str] = []
    headline: list[Figure] = []
    if "startup" in parts:
        startup = measure_startup(config, arguments.runs, arguments.timeout)
        report += ["", *startup_lines(startup)]
        headline += startup_figures(startup, argv)
    if "render" in parts:
        report += ["", *render_lines(measure_render(config, arguments.repeats), arguments.repeats)]
    if "run" in parts:
        figures = measure_run(config, arguments.minutes, arguments.sample_seconds, arguments.timeout)
        report += ["", *run_lines(figures, arguments.sample_seconds)]
    print("\n".join([*machine(load_at_start), *report]))
    write(arguments.figures, headline)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
