"""A day compressed: memory of the player over 20,000 slide transitions with near-zero dwell.

What runs. The sample channel is published and a screen cache filled exactly as ``bench.player`` does it
(:func:`bench.player.prepare`, into ``bench/out/day/``; records have photos, debtor slides carry QR codes);
the hub is stopped afterwards, so the player plays offline from its verified cache. A fresh child process
(``python -m bench.day --child CONFIG``, on a fresh Xvfb 1920×1080 with ``QT_QPA_PLATFORM=xcb``) calls the
production :func:`signage.kiosk.app.run_player` itself, with the loaded config changed in memory to a dwell
of 1 ms and a crossfade of 0 (the config loader refuses a dwell under 2 s, so the file keeps the values the
loader accepts and :func:`dataclasses.replace` overrides them), so ``Player`` is built with ``dwell=1 ms`` and
``fade=0``. ``Player.advance`` still holds every slide at least 2 s (its LED page floor, ``max(2000, ...)``,
applies to one-page slides too), so the counting slot below also calls ``Player.advance()`` 1 ms after each
``slide_shown``, which is what the dwell timer would do without that floor. Everything else is the
production wiring, unchanged: the fullscreen ``SlideWindow``, ``Player``, the ``RenderQueue`` render thread
with ``ScreenSource``/``SlideRenderer`` (photos read from the cache and decoded, QR codes drawn on every
render), ``Rotation``, the ``SyncBridge`` (its syncs against the stopped hub fail, as on an offline screen),
``Telemetry`` writing one play per slide into the SQLite play log, ``Health`` and logging at INFO to stderr
(kept in ``bench/out/day/child.log``). Each slide is rendered only once it is next in line, so with a 1 ms
dwell the rate is the render thread's: one transition per slide render.

What is counted. A transition is one emission of ``Player.slide_shown``; a slot connected by ``on_ready``
counts them (paint events of the window are counted too, to show the slides really reached the screen).

Warm-up. The first transitions warm fonts, glyph caches, the photo decoder and the SQLite cache. Warm-up
ends at the first transition at which every slide of the display set (each displayable record and each
notice) has been shown at least once: the first full cycle of the rotation (at most ``--warmup-cap``
transitions). The ``--transitions`` measured transitions (default 20,000) follow it.

What is sampled. In the child, inside the counting slot: ``Rss``, ``Anonymous`` (heap, malloc arenas,
stacks: where a leak of Python or Qt objects grows) and ``Pss`` from ``/proc/self/smaps_rollup`` and the
number of objects the garbage collector tracks, at the end of warm-up (transition 0), every
``--sample-every`` (default 1,000) transitions, and at the last one (the end). The parent reads the Xvfb
server's RSS, anonymous memory and PSS each time a sample arrives (pixmaps the player would leak on the X
server live there). PSS divides shared library pages among every process mapping them, so on a machine
running other Qt players or Xvfb servers it jumps when they start or stop (and so would private-page counts
such as USS, as library pages turn shared and back); RSS and anonymous memory do not, and RSS is what the
target and the player's own memory ceiling use. Reported: RSS, anonymous memory and PSS at start and end,
total growth (end − start), growth per 1,000 transitions as the least-squares slope over all samples (and
over the second half) and as (end − start) / 1,000s, the size of the SQLite play log the run wrote, elapsed
time and transitions per second over the measured transitions. The target is "< 5 MB total RSS growth over
20,000 transitions" (MB = 2^20 bytes, as in ``memory_ceiling_mb``), judged on end − start RSS.

``--tracemalloc N`` starts :mod:`tracemalloc` in the child and prints the N largest Python allocation
differences between warm-up and the end; tracing costs memory and time itself, so no figures are written
for such a run. Each snapshot also holds whatever the render thread has in hand at that moment, so
differences of a few tens of KiB are noise; a leak shows as a difference that grows with the run's length. Usage: ``python -m bench.day [--transitions N] [--figures PATH]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import gc
import json
import logging
import os
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from bench import figures as figures_module
from bench.figures import Figure, at_most, command_line, machine

if TYPE_CHECKING:
    from signage.core.rotation import Slide
    from signage.kiosk.player import Player
    from signage.kiosk.window import SlideWindow

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "day"
SECTION = "A day compressed"
SCREEN = (1920, 1080)
TRANSITIONS = 20_000
SAMPLE_EVERY = 1_000
WARMUP_CAP = 2_000
DWELL = dt.timedelta(milliseconds=1)
FADE = dt.timedelta(0)
TARGET_MB = 5.0
MB = 2**20
#: Lines the child writes on stdout: this prefix, then one JSON object.
MARK = "bench.day "
#: Frames kept per allocation under ``--tracemalloc``.
TRACE_FRAMES = 25


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Memory(NamedTuple):
    """One process's memory in bytes, from ``/proc/<pid>/smaps_rollup``.

    Attributes:
        rss: Resident set size.
        pss: Proportional set size: shared pages divided among the processes mapping them, so it moves when
            other processes using the same libraries (other Qt players, other Xvfb servers) start or stop.
        anon: Anonymous memory: heap, malloc arenas and stacks (not file or shared-memory pages).
    """

    rss: int
    pss: int
    anon: int


def rollup(pid: int | str = "self") -> Memory:
    """RSS, PSS and anonymous memory of ``pid`` (default: this process)."""
    values: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("Rss", "Pss", "Anonymous"):
            values[name] = int(rest.split()[0]) * 1024
    return Memory(values["Rss"], values["Pss"], values["Anonymous"])


# --- the child: run_player with a 1 ms dwell, counting and sampling --------------------------------------


def _emit(event: str, **data: Any) -> None:
    print(MARK + json.dumps({"event": event, **data}), flush=True)


def child(config_path: Path, transitions: int, sample_every: int, warmup_cap: int, trace: int) -> int:
    """The player as ``signage play`` runs it, with a 1 ms dwell and no crossfade, until enough transitions."""
    import tracemalloc

    from signage.sync.config import load_player_config

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s", stream=sys.stderr
    )
    config = dataclasses.replace(
        load_player_config(config_path),
        dwell_seconds=DWELL.total_seconds(),
        transition_seconds=FADE.total_seconds(),
    )
    if trace:
        tracemalloc.start(TRACE_FRAMES)
    from signage.kiosk.app import run_player

    keep: list[object] = []

    def ready(window: SlideWindow, player: Player) -> None:
        keep.append(_Counter(window, player, transitions, sample_every, warmup_cap, trace))

    return run_player(config, clock=_now, on_ready=ready)


class _Counter:
    """Counts ``slide_shown``, decides the end of warm-up, samples memory, and quits when done."""

    def __init__(
        self,
        window: SlideWindow,
        player: Player,
        transitions: int,
        sample_every: int,
        warmup_cap: int,
        trace: int,
    ) -> None:
        from PyQt6.QtCore import QEvent, QObject  # noqa: TID251 - bench code, never imported by the core

        self._player = player
        self._transitions = transitions
        self._sample_every = sample_every
        self._warmup_cap = warmup_cap
        self._trace = trace
        self._dwell_ms = max(0, round(DWELL.total_seconds() * 1000))
        self._count = 0
        self._warm_at: int | None = None
        self._started = time.perf_counter()
        self._warm_time = 0.0
        self._seen: set[str] = set()
        self._kinds: Counter[str] = Counter()
        self._snapshot: object = None
        self.paints = 0
        counter = self

        class PaintCount(QObject):
            def eventFilter(self, watched: QObject | None, event: QEvent | None) -> bool:
                if event is not None and event.type() == QEvent.Type.Paint:
                    counter.paints += 1
                return False

        self._filter = PaintCount(window)
        window.installEventFilter(self._filter)
        player.slide_shown.connect(self._on_shown)

    def _on_shown(self, slide: object) -> None:
        from PyQt6.QtCore import QTimer  # noqa: TID251 - bench code, never imported by the core

        from signage.core.rotation import Slide

        assert isinstance(slide, Slide)
        self._count += 1
        self._kinds[slide.kind.value] += 1
        if self._warm_at is None:
            self._check_warm(slide)
        else:
            measured = self._count - self._warm_at
            if measured % self._sample_every == 0 or measured == self._transitions:
                self._sample(measured)
            if measured == self._transitions:
                self._finish()
                return
        # The end of the dwell: what Player's own dwell timer does, which holds a slide for at least 2 s.
        QTimer.singleShot(self._dwell_ms, self._player.advance)

    def _check_warm(self, slide: Slide) -> None:
        from signage.core.rotation import notice_key, record_key

        self._seen.add(slide.key)
        display = self._player.display_set()
        wanted = {record_key(record.entry_id, display.playlist_version) for record in display.records}
        wanted |= {notice_key(notice.notice_id, display.playlist_version) for notice in display.notices}
        complete = bool(wanted) and wanted <= self._seen
        if complete or self._count >= self._warmup_cap:
            self._warm_at = self._count
            self._warm_time = time.perf_counter()
            _emit(
                "warm",
                transitions=self._count,
                seconds=self._warm_time - self._started,
                records=len(display.records),
                notices=len(display.notices),
                complete=complete,
            )
            self._sample(0)

    def _sample(self, measured: int) -> None:
        import tracemalloc

        memory = rollup()
        traced = tracemalloc.get_traced_memory()[0] if self._trace else None
        if self._trace and measured == 0:
            self._snapshot = tracemalloc.take_snapshot()
        _emit(
            "sample",
            transitions=measured,
            total=self._count,
            seconds=time.perf_counter() - self._warm_time,
            rss=memory.rss,
            pss=memory.pss,
            anon=memory.anon,
            objects=len(gc.get_objects()),
            traced=traced,
            paints=self.paints,
        )

    def _finish(self) -> None:
        import tracemalloc

        from PyQt6.QtCore import QTimer  # noqa: TID251 - bench code, never imported by the core
        from PyQt6.QtWidgets import QApplication  # noqa: TID251

        top: list[str] = []
        if self._trace and isinstance(self._snapshot, tracemalloc.Snapshot):
            end = tracemalloc.take_snapshot()
            differences = end.compare_to(self._snapshot, "traceback")
            for difference in differences[: self._trace]:
                # Innermost frame first: where the memory was allocated, then its callers.
                frames = " <- ".join(
                    f"{Path(frame.filename).name}:{frame.lineno}"
                    for frame in list(difference.traceback)[::-1][:6]
                )
                top.append(
                    f"{difference.size_diff / 1024:+.1f} KiB ({difference.count_diff:+d} blocks) {frames}"
                )
        _emit("done", transitions=self._count, kinds=dict(self._kinds), paints=self.paints, tracemalloc=top)
        QTimer.singleShot(0, lambda: QApplication.exit(0))


# --- the parent: prepare, Xvfb, the child, the report ----------------------------------------------------


@dataclasses.dataclass
class Sample:
    """Memory after ``transitions`` measured transitions (0 = end of warm-up)."""

    transitions: int
    seconds: float
    rss: int
    pss: int
    anon: int
    objects: int
    paints: int
    xvfb: Memory | None


@dataclasses.dataclass
class Run:
    """What the child reported."""

    warm: dict[str, Any] = dataclasses.field(default_factory=dict)
    samples: list[Sample] = dataclasses.field(default_factory=list)
    done: dict[str, Any] = dataclasses.field(default_factory=dict)
    exit_code: int | None = None
    wall: float = 0.0


def measure(
    config: Path, work: Path, transitions: int, sample_every: int, warmup_cap: int, trace: int, timeout: float
) -> Run:
    """Run the child on a fresh Xvfb and collect its samples."""
    from bench.player import _child_named, x_environment
    from signage.demo import xvfb

    run = Run()
    log_path = work / "child.log"
    command = [
        sys.executable,
        "-m",
        "bench.day",
        "--child",
        str(config),
        "--transitions",
        str(transitions),
        "--sample-every",
        str(sample_every),
        "--warmup-cap",
        str(warmup_cap),
        "--tracemalloc",
        str(trace),
    ]
    with xvfb(SCREEN) as display, log_path.open("w", encoding="utf-8") as child_log:
        xvfb_pid = _child_named("Xvfb")
        environment = x_environment(display)
        started = time.perf_counter()
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=child_log,
            text=True,
            encoding="utf-8",
        )
        assert process.stdout is not None
        expired = threading.Event()

        def kill() -> None:
            expired.set()
            process.kill()

        watchdog = threading.Timer(timeout, kill)
        watchdog.daemon = True
        watchdog.start()
        try:
            for line in process.stdout:
                if not line.startswith(MARK):
                    continue
                item = json.loads(line[len(MARK) :])
                event = item.pop("event")
                if event == "warm":
                    run.warm = item
                    print(
                        f"warm after {item['transitions']} transitions ({item['seconds']:.1f} s)",
                        file=sys.stderr,
                        flush=True,
                    )
                elif event == "sample":
                    xvfb_memory = None if xvfb_pid is None else rollup(xvfb_pid)
                    sample = Sample(
                        item["transitions"],
                        item["seconds"],
                        item["rss"],
                        item["pss"],
                        item["anon"],
                        item["objects"],
                        item["paints"],
                        xvfb_memory,
                    )
                    run.samples.append(sample)
                    print(
                        f"{sample.transitions:>6} transitions  {sample.seconds:7.1f} s  RSS {sample.rss / MB:7.2f} MB"
                        f"  anon {sample.anon / MB:7.2f} MB  PSS {sample.pss / MB:7.2f} MB",
                        file=sys.stderr,
                        flush=True,
                    )
                elif event == "done":
                    run.done = item
            run.exit_code = process.wait(timeout=60)
        finally:
            watchdog.cancel()
            if process.poll() is None:
                process.kill()
                process.wait()
        run.wall = time.perf_counter() - started
    if expired.is_set():
        raise RuntimeError(f"the child took longer than {timeout:g} s; see {log_path}")
    if not run.done or len(run.samples) < 2:
        tail = "\n".join(log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-25:])
        raise RuntimeError(f"the child stopped early (exit {run.exit_code}):\n{tail}")
    return run


def _slope(samples: Sequence[Sample], value: str) -> float:
    """Least-squares growth of ``value`` in bytes per transition."""
    xs = [float(sample.transitions) for sample in samples]
    ys = [float(getattr(sample, value)) for sample in samples]
    return statistics.linear_regression(xs, ys).slope


def _mb(value: float) -> str:
    return f"{value / MB:.2f} MB"


def _signed(value: float) -> str:
    return f"{value / MB:+.2f} MB"


def _growth_lines(name: str, samples: Sequence[Sample], value: str) -> list[str]:
    start, end = getattr(samples[0], value), getattr(samples[-1], value)
    thousands = samples[-1].transitions / 1000
    half = [sample for sample in samples if sample.transitions >= samples[-1].transitions / 2]
    second = f", over the second half {_signed(_slope(half, value) * 1000)}" if len(half) > 1 else ""
    return [
        f"   {name}: {_mb(start)} at the start, {_mb(end)} at the end, growth {_signed(end - start)}; per 1,000 "
        f"transitions: least-squares slope {_signed(_slope(samples, value) * 1000)}{second}, "
        f"(end - start) / {thousands:g} = {_signed((end - start) / thousands)}"
    ]


def play_log_line(play_log: Path) -> str:
    """How big the player's SQLite play log grew (its page cache is part of the player's memory)."""
    if not play_log.exists():
        return f"   play log: {play_log} was not written"
    connection = sqlite3.connect(f"file:{play_log}?mode=ro", uri=True)
    try:
        (plays,) = connection.execute("SELECT count(*) FROM plays").fetchone()
        (pages,) = connection.execute("PRAGMA page_count").fetchone()
        (page_size,) = connection.execute("PRAGMA page_size").fetchone()
        (cache,) = connection.execute("PRAGMA cache_size").fetchone()
    finally:
        connection.close()
    limit = f"{-cache} KiB" if cache < 0 else f"{cache} pages"
    return (
        f"   play log: {plays:,} plays in {pages} pages of {page_size} bytes ({_mb(pages * page_size)}); "
        f"SQLite's page cache holds up to {limit} of it per connection (cache_size {cache})"
    )


def report(
    run: Run, command: str, load_at_start: float, traced: bool, play_log: Path
) -> tuple[list[str], list[Figure]]:
    """The printed report and the headline figures."""
    samples = run.samples
    start, end = samples[0], samples[-1]
    count = end.transitions
    thousands = count / 1000
    rss_growth = end.rss - start.rss
    pss_growth = end.pss - start.pss
    anon_growth = end.anon - start.anon
    rss_slope = _slope(samples, "rss") * 1000
    rate = count / end.seconds if end.seconds > 0 else float("nan")
    met, shortfall = at_most(rss_growth / MB, TARGET_MB, "MB")
    kinds = ", ".join(f"{kind} {number}" for kind, number in Counter(run.done.get("kinds", {})).most_common())
    warm = run.warm
    lines = [
        *machine(load_at_start),
        "",
        f"{SECTION}: {count:,} transitions after warm-up, dwell {DWELL.total_seconds() * 1000:g} ms, crossfade "
        f"{FADE.total_seconds() * 1000:g} ms, fullscreen on Xvfb {SCREEN[0]}x{SCREEN[1]} (xcb); the production "
        "run_player in a fresh child process, offline from the verified cache (hub stopped)",
        f"   reproduce: {command}",
        f"   warm-up: the first {warm['transitions']} transitions ({warm['seconds']:.1f} s after the window was "
        f"built), until every slide of the set had been shown once ({warm['records']} records + "
        f"{warm['notices']} notice(s)){'' if warm['complete'] else ' - NOT reached, stopped at the cap'}",
        f"   slides shown in all: {run.done.get('transitions')} ({kinds}); window paint events: "
        f"{run.done.get('paints')}; child exit status {run.exit_code}; wall time with start-up and shutdown "
        f"{run.wall:.0f} s",
    ]
    if traced:
        lines.append("   tracemalloc was on in the child: memory and speed below include its own cost")
    header = ("transitions", "elapsed", "RSS", "Δ RSS", "anon", "Δ anon", "PSS", "Δ PSS", "gc objects")
    rows = [(*header, "Xvfb RSS", "Xvfb PSS")]
    for sample in samples:
        rows.append(
            (
                f"{sample.transitions:,}",
                f"{sample.seconds:.1f} s",
                _mb(sample.rss),
                _signed(sample.rss - start.rss),
                _mb(sample.anon),
                _signed(sample.anon - start.anon),
                _mb(sample.pss),
                _signed(sample.pss - start.pss),
                f"{sample.objects:,}",
                "-" if sample.xvfb is None else _mb(sample.xvfb.rss),
                "-" if sample.xvfb is None else _mb(sample.xvfb.pss),
            )
        )
    lines += _table(rows)
    lines += _growth_lines("RSS", samples, "rss")
    lines += _growth_lines("anonymous memory", samples, "anon")
    lines += _growth_lines("PSS", samples, "pss")
    lines.append(
        "   (PSS shares library pages among every process mapping them, so it jumps when other Qt processes or "
        "Xvfb servers on the machine start or stop; RSS and anonymous memory do not)"
    )
    if start.xvfb is not None and end.xvfb is not None:
        lines.append(
            f"   Xvfb: RSS {_mb(start.xvfb.rss)} -> {_mb(end.xvfb.rss)} ({_signed(end.xvfb.rss - start.xvfb.rss)}), "
            f"anonymous {_signed(end.xvfb.anon - start.xvfb.anon)}, PSS {_signed(end.xvfb.pss - start.xvfb.pss)}"
        )
    lines += [
        play_log_line(play_log),
        f"   {end.seconds:.1f} s for {count:,} transitions = {rate:.1f} transitions/s",
        f"   target: < {TARGET_MB:g} MB RSS growth over {TRANSITIONS:,} transitions; judged on these {count:,}: "
        f"{'met' if met else 'NOT met, ' + shortfall}",
    ]
    figures = [
        Figure(
            SECTION,
            f"RSS growth over {count:,} transitions (end - start), 1 ms dwell, Xvfb 1080p",
            f"{_signed(rss_growth)} ({_mb(start.rss)} -> {_mb(end.rss)})",
            command,
            target=f"< {TARGET_MB:g} MB",
            met=met,
            shortfall=shortfall,
        ),
        Figure(
            SECTION,
            "RSS growth per 1,000 transitions (least-squares slope)",
            f"{_signed(rss_slope)} (end - start: {_signed(rss_growth / thousands)})",
            command,
        ),
        Figure(
            SECTION,
            f"Anonymous memory and PSS growth over {count:,} transitions (end - start)",
            f"anonymous {_signed(anon_growth)} ({_mb(start.anon)} -> {_mb(end.anon)}), PSS {_signed(pss_growth)} "
            f"({_mb(start.pss)} -> {_mb(end.pss)})",
            command,
        ),
        Figure(
            SECTION,
            "Transitions per second (render-bound, 1 ms dwell)",
            f"{rate:.1f}/s ({count:,} in {end.seconds:.0f} s)",
            command,
        ),
    ]
    return lines, figures


def _table(rows: Sequence[Sequence[str]], indent: str = "    ") -> list[str]:
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return [
        indent + "  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)) for row in rows
    ]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the report and write the figures."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.day",
        description="A day compressed: RSS and PSS of the player (production run_player, 1 ms dwell, no "
        "crossfade, Xvfb 1920x1080) over many slide transitions, in a fresh child process.",
    )
    parser.add_argument(
        "--transitions",
        type=int,
        default=TRANSITIONS,
        help=f"transitions measured after warm-up (default {TRANSITIONS:,})",
    )
    parser.add_argument(
        "--sample-every",
        type=int,
        default=SAMPLE_EVERY,
        help=f"transitions between samples (default {SAMPLE_EVERY:,})",
    )
    parser.add_argument(
        "--warmup-cap",
        type=int,
        default=WARMUP_CAP,
        help=f"end warm-up after this many transitions even if not every slide was shown (default {WARMUP_CAP:,})",
    )
    parser.add_argument(
        "--tracemalloc",
        type=int,
        default=0,
        metavar="N",
        help="trace Python allocations in the child and print the N largest differences (no figures written)",
    )
    parser.add_argument(
        "--timeout", type=float, default=4 * 3600.0, help="seconds the child may take in all (default 14400)"
    )
    parser.add_argument("--figures", type=Path, help="write the headline figures as JSON here")
    parser.add_argument(
        "--work", type=Path, default=OUT, help=f"scratch folder, emptied first (default {OUT})"
    )
    parser.add_argument("--child", type=Path, metavar="CONFIG", help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    if arguments.transitions < 1 or arguments.sample_every < 1 or arguments.warmup_cap < 1:
        parser.error("--transitions, --sample-every and --warmup-cap must be at least 1")
    if arguments.child is not None:
        return child(
            arguments.child,
            arguments.transitions,
            arguments.sample_every,
            arguments.warmup_cap,
            arguments.tracemalloc,
        )
    from bench.player import prepare

    load_at_start = os.getloadavg()[0]
    work = arguments.work.resolve()
    config = prepare(work)
    print(f"published the sample channel and filled a screen cache; player config {config}", file=sys.stderr)
    run = measure(
        config,
        work,
        arguments.transitions,
        arguments.sample_every,
        arguments.warmup_cap,
        arguments.tracemalloc,
        arguments.timeout,
    )
    command = command_line("bench.day", argv)
    from signage.kiosk.telemetry import PLAY_LOG_NAME
    from signage.sync.config import load_player_config

    play_log = load_player_config(config).cache_dir / PLAY_LOG_NAME
    lines, figures = report(run, command, load_at_start, bool(arguments.tracemalloc), play_log)
    for entry in run.done.get("tracemalloc", []):
        lines.append(f"   tracemalloc: {entry}")
    print("\n".join(lines))
    if not arguments.tracemalloc:
        figures_module.write(arguments.figures, figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
