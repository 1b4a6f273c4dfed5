"""Where the player's CPU and memory go: one player run under py-spy, and its ``/proc/<pid>/smaps``.

The screen is prepared as for ``bench.chromium`` (the sample channel published, a screen cache filled, the hub
stopped; the player config copied with ``dwell_seconds = --dwell`` and ``transition_seconds = 1``). On a fresh
Xvfb 1920×1080x24, ``py-spy record --format raw --threads [--native] -- python -m signage play --config <cfg>``
runs for ``--seconds`` S, start-up included, at ``--rate`` samples a second (``--env NAME=VALUE`` adds to the
player's environment, for experiments such as glibc malloc settings). Meanwhile the player's and Xvfb's CPU
seconds (``/proc/<pid>/stat``) and the player's PSS (``smaps_rollup``) are read every second, and
``/proc/<pid>/smaps`` once, 1.5 s before the end (py-spy ends the player when its time is up).

Written to ``--work`` (default ``bench/out/profile/``): ``player.raw.txt`` (py-spy's collapsed stacks,
``thread;frame;...;frame count``), ``player.svg`` (a flame graph of the on-CPU samples, drawn here from those
stacks), ``smaps.txt`` and ``player.log``.

Printed: the CPU of the player and of Xvfb second by second; py-spy's samples by thread and by activity
(crossfade painting, flushing to the X server, slide rendering, imports...); the top functions by own
(innermost) and by inclusive samples; the hottest lines of ``signage/``; and the player's PSS by kind of
mapping (Qt libraries, ICU, PyQt6, Python, other shared libraries, fonts, the main malloc heap, the other
threads' malloc arenas, where the render thread's slide images live, other anonymous memory such as pymalloc's
arenas, thread stacks, and the shared memory of the X backing store).

py-spy reports some blocked threads too: a sample whose innermost named frame is a wait (poll, a lock, a
condition variable: the GIL or a Qt wait) counts as off CPU and is left out of the CPU tables and the flame
graph. py-spy stops the player for every sample, which stretches what it catches, so samples / rate overstates
CPU; the tables give shares, and "≈ CPU s" is a share of the player's CPU seconds from ``/proc``.

Native frames (``--native``, the default) show the C++ side: Qt's painting and flushing. Functions internal to
Qt or libc have no symbols in the wheels and appear as ``[internal] <library>``. Usage:
``python -m bench.profile [--seconds S] [--dwell D] [--rate R] [--no-native] [--env NAME=VALUE] [--work DIR]``.
"""

from __future__ import annotations

import argparse
import html
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

from bench import figures
from bench.chromium import player_config
from bench.figures import Figure, command_line
from bench.player import OUT as PLAYER_OUT
from bench.player import ROOT, SCREEN, _child_named, _table, cpu_seconds, prepare, pss_bytes, x_environment

OUT = PLAYER_OUT.parent / "profile"
#: Innermost named frames that mean the thread is waiting, not running.
WAITS = frozenset(
    {
        "poll",
        "ppoll",
        "epoll_wait",
        "select",
        "pselect",
        "pselect6",
        "pthread_cond_wait",
        "pthread_cond_timedwait",
        "pthread_cond_clockwait",
        "sem_wait",
        "sem_timedwait",
        "sem_clockwait",
        "nanosleep",
        "clock_nanosleep",
        "PyThread_acquire_lock_timed",
        "take_gil",
        "__futex_abstimed_wait_common",
    }
)
#: Bytes of one 1920×1080 RGB32 slide image (a QImage the window or the player holds).
SLIDE_BYTES = SCREEN[0] * SCREEN[1] * 4
UNRESOLVED = re.compile(r"^0x[0-9a-f]+ \((?P<library>[^)]*)\)$")
LINE = re.compile(r"^(?P<name>.*) \((?P<place>[^()]*?)(?::(?P<line>\d+))?\)$")


# --- py-spy's raw output -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stack:
    """One line of py-spy's raw output: the thread, its frames outermost first, and how many samples."""

    thread: str
    frames: tuple[str, ...]
    count: int

    @property
    def named(self) -> tuple[str, ...]:
        """The frames, each unresolved address shown as ``[internal] <library>``."""
        return tuple(_name(frame) for frame in self.frames)

    def waiting(self) -> str | None:
        """What the thread waits on (``"GIL"``, ``"event loop"``, ``"lock or condition"``), or ``None``."""
        frames = list(self.frames)
        while frames and UNRESOLVED.match(frames[-1]) and "libc" in frames[-1]:
            frames.pop()
        if not frames:
            return None
        function = _function(frames[-1])
        if function not in WAITS:
            return None
        if function in ("poll", "ppoll", "epoll_wait", "select", "pselect", "pselect6"):
            return "event loop"
        caller = frames[-2] if len(frames) > 1 else ""
        python_caller = ".py:" in caller or caller.startswith("sip_api") or "PyEval" in caller
        if function == "take_gil" or (function.startswith("pthread_cond") and python_caller):
            return "GIL"
        return "lock or condition"


def _function(frame: str) -> str:
    match = LINE.match(frame)
    return frame if match is None else match["name"]


def _name(frame: str) -> str:
    match = UNRESOLVED.match(frame)
    return frame if match is None else f"[internal] {match['library']}"


def _without_line(frame: str) -> str:
    match = LINE.match(frame)
    if match is None or match["line"] is None:
        return frame
    return f"{match['name']} ({match['place']})"


def parse_raw(text: str) -> list[Stack]:
    """py-spy's ``--format raw --threads`` output: ``thread (tid): name;frame;...;frame count`` per line."""
    stacks: list[Stack] = []
    for line in text.splitlines():
        head, _, count = line.rpartition(" ")
        if not head or not count.isdigit():
            continue
        frames = head.split(";")
        thread = frames[0] if frames[0].startswith("thread ") else "?"
        stacks.append(Stack(thread, tuple(frames[1:] if thread != "?" else frames), int(count)))
    return stacks


def thread_name(thread: str) -> str:
    """``thread (123): MainThread`` -> ``MainThread``; an unnamed thread keeps its id."""
    return thread.split(": ", 1)[1] if ": " in thread else thread


#: (activity, test on the frames) in order; the first that matches a sample names it.
ACTIVITIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("imports (start-up)", ("<frozen importlib._bootstrap",)),
    ("crossfade and slide painting (SlideWindow.paintEvent)", ("SlideWindow.paintEvent",)),
    ("flushing the window to the X server (QBackingStore::flush)", ("QBackingStore::flush",)),
    ("slide rendering (render thread, ScreenSource.render)", ("ScreenSource.render",)),
    ("font discovery and coverage checks", ("signage/kiosk/fonts.py",)),
    ("sync (ScreenSync, TUF, HTTP)", ("signage/sync/", "tuf/", "requests/", "urllib3/")),
    ("telemetry and play log", ("signage/sync/telemetry/", "signage/kiosk/telemetry.py", "sqlite")),
    (
        "player timing (advance, watch, rotation, display set)",
        ("signage/kiosk/player.py", "signage/core/rotation.py"),
    ),
    ("Qt event loop, other", ("QEventLoop::exec",)),
)


def activity(stack: Stack) -> str:
    """What an on-CPU sample was doing, by the first match in :data:`ACTIVITIES`."""
    for name, markers in ACTIVITIES:
        if any(marker in frame for frame in stack.frames for marker in markers):
            return name
    return "other (building the player, other threads)"


@dataclass
class Profile:
    """The tallies of one recording."""

    stacks: list[Stack]
    on_cpu: list[Stack] = field(init=False)
    waits: Counter[str] = field(init=False)

    def __post_init__(self) -> None:
        self.on_cpu = [stack for stack in self.stacks if stack.waiting() is None]
        self.waits = Counter()
        for stack in self.stacks:
            reason = stack.waiting()
            if reason is not None:
                self.waits[f"{thread_name(stack.thread)}: {reason}"] += stack.count

    @property
    def total(self) -> int:
        return sum(stack.count for stack in self.stacks)

    @property
    def cpu_samples(self) -> int:
        return sum(stack.count for stack in self.on_cpu)

    def own(self) -> Counter[str]:
        """On-CPU samples by their innermost frame (function, line numbers left out)."""
        found: Counter[str] = Counter()
        for stack in self.on_cpu:
            found[_without_line(stack.named[-1])] += stack.count
        return found

    def inclusive(self) -> Counter[str]:
        """On-CPU samples by every function on the stack (each counted once per sample)."""
        found: Counter[str] = Counter()
        for stack in self.on_cpu:
            for frame in {_without_line(frame) for frame in stack.named}:
                found[frame] += stack.count
        return found

    def signage_lines(self) -> Counter[str]:
        """On-CPU samples by the innermost frame in ``signage/`` (with its line)."""
        found: Counter[str] = Counter()
        for stack in self.on_cpu:
            frame = next((frame for frame in reversed(stack.frames) if "(signage/" in frame), None)
            if frame is not None:
                found[frame] += stack.count
        return found

    def by(self, key: str) -> Counter[str]:
        """On-CPU samples by ``"thread"`` or ``"activity"``."""
        found: Counter[str] = Counter()
        for stack in self.on_cpu:
            found[thread_name(stack.thread) if key == "thread" else activity(stack)] += stack.count
        return found


# --- a flame graph -----------------------------------------------------------------------------------------


@dataclass
class _Node:
    count: int = 0
    children: dict[str, _Node] = field(default_factory=dict)


def flamegraph(stacks: Iterable[Stack], title: str, width: int = 1800) -> str:
    """An SVG flame graph of ``stacks`` (root at the bottom, width proportional to samples)."""
    root = _Node()
    for stack in stacks:
        root.count += stack.count
        node = root
        for frame in (thread_name(stack.thread), *stack.named):
            node = node.children.setdefault(frame, _Node())
            node.count += stack.count

    def depth(node: _Node) -> int:
        return 1 + max((depth(child) for child in node.children.values()), default=0)

    row, top = 16, 40
    height = top + row * depth(root) + 10
    scale = (width - 20) / max(root.count, 1)
    rects: list[str] = []

    def draw(name: str, node: _Node, x: float, level: int) -> None:
        w = node.count * scale
        if w < 0.3:
            return
        y = height - 10 - row * (level + 1)
        label = f"{name} ({node.count} samples, {node.count / max(root.count, 1):.1%})"
        text = name if len(name) * 7 < w else name[: max(int(w / 7) - 2, 0)] + ".." if w > 21 else ""
        rects.append(
            f'<g><title>{html.escape(label)}</title><rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{row - 1}" '
            f'fill="{_colour(name)}" rx="2"/>'
            + (f'<text x="{x + 3:.1f}" y="{y + 12}">{html.escape(text)}</text>' if text else "")
            + "</g>"
        )
        offset = x
        for child_name in sorted(node.children):
            child = node.children[child_name]
            draw(child_name, child, offset, level + 1)
            offset += child.count * scale

    draw("all", root, 10.0, 0)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-family="monospace" font-size="11">'
        f'<rect width="100%" height="100%" fill="#fafafa"/>'
        f'<text x="10" y="22" font-size="15">{html.escape(title)}</text>' + "".join(rects) + "</svg>\n"
    )


def _colour(name: str) -> str:
    hue = zlib.crc32(name.encode()) % 40
    if ".py" in name or name.startswith("<module>"):
        return f"hsl({20 + hue}, 80%, 62%)"  # Python: orange
    if "Qt6" in name or "PyQt6" in name:
        return f"hsl({190 + hue}, 60%, 65%)"  # Qt and PyQt6: blue
    return f"hsl({hue}, 65%, 65%)"  # libc, glib, xcb, others: red


# --- memory ----------------------------------------------------------------------------------------------


@dataclass
class Mapping:
    """One mapping of ``/proc/<pid>/smaps``: where, how large, its permissions, its path, and its kB figures."""

    start: int
    size: int
    perms: str
    path: str
    values: dict[str, int] = field(default_factory=dict)


def parse_smaps(text: str) -> list[Mapping]:
    mappings: list[Mapping] = []
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        if re.match(r"^[0-9a-f]+-[0-9a-f]+$", parts[0]):
            start, end = (int(value, 16) for value in parts[0].split("-"))
            mappings.append(Mapping(start, end - start, parts[1], " ".join(parts[5:])))
        elif mappings and parts[0].endswith(":") and len(parts) >= 2 and parts[1].isdigit():
            mappings[-1].values[parts[0][:-1]] = int(parts[1])
    return mappings


#: glibc gives each thread that mallocs its own arena: heaps of up to 64 MiB, aligned to 64 MiB.
ARENA = 64 * 2**20
THREAD_ARENAS = (
    "malloc arenas of threads other than the main one (the render thread's holds the slide images)"
)


def kind(mapping: Mapping, previous: Mapping | None = None) -> str:
    """What a mapping holds, by its path; anonymous memory by its size, alignment and neighbour."""
    path = mapping.path
    name = path.rsplit("/", 1)[-1]
    if not path:
        if mapping.start % ARENA == 0 or (
            previous is not None
            and not previous.path
            and previous.start % ARENA == 0
            and previous.start + previous.size == mapping.start
        ):
            return THREAD_ARENAS
        if mapping.size == 8 * 2**20 or (mapping.perms == "---p" and mapping.size == 4096):
            return "thread stacks (8 MiB each, touched pages only)"
        return "anonymous, other (pymalloc arenas: Python objects; large malloc blocks; Qt)"
    if path == "[heap]":
        return "main malloc heap ([heap]: C/C++ allocations of the GUI thread, large Python objects)"
    if path.startswith("["):
        return "stacks and kernel pages ([stack], [vdso], ...)"
    if path.startswith(("/SYSV", "/dev/shm")) or "memfd:" in path:
        return "shared memory with the X server (MIT-SHM backing store)"
    if "libicu" in name:
        return "ICU (libicu*, shipped with Qt)"
    if name.startswith("libQt6") or "/Qt6/lib/" in path:
        return "Qt libraries (libQt6*)"
    if "/Qt6/plugins/" in path:
        return "Qt plugins (xcb platform, image formats)"
    if "/PyQt6/" in path:
        return "PyQt6 bindings and sip"
    if name.endswith((".ttf", ".ttc", ".otf")) or "/fonts/" in path:
        return "fonts (mapped font files)"
    if "libpython" in name or re.match(r"python3(\.\d+)?$", name):
        return "Python interpreter (python3, libpython)"
    if ".so" in name and ("site-packages" in path or "lib-dynload" in path):
        return "other Python extension modules"
    if ".so" in name:
        return "other shared libraries (libc, libstdc++, X/xcb, glib, freetype, ...)"
    return "other mapped files (locale archive, caches, ...)"


def memory_lines(mappings: Sequence[Mapping]) -> list[str]:
    groups: dict[str, list[Mapping]] = {}
    for previous, mapping in zip([None, *mappings], mappings, strict=False):
        groups.setdefault(kind(mapping, previous), []).append(mapping)

    def total(items: Iterable[Mapping], key: str) -> int:
        return sum(item.values.get(key, 0) for item in items)

    pss = total(mappings, "Pss")
    rows = [("mappings", "count", "PSS", "share", "RSS", "private", "size")]
    for name, items in sorted(groups.items(), key=lambda item: -total(item[1], "Pss")):
        private = total(items, "Private_Clean") + total(items, "Private_Dirty")
        rows.append(
            (
                name,
                str(len(items)),
                f"{total(items, 'Pss') / 1024:.1f} MiB",
                f"{total(items, 'Pss') / max(pss, 1):.0%}",
                f"{total(items, 'Rss') / 1024:.1f} MiB",
                f"{private / 1024:.1f} MiB",
                f"{sum(item.size for item in items) / 2**20:.1f} MiB",
            )
        )
    rows.append(("total", str(len(mappings)), f"{pss / 1024:.1f} MiB", "", "", "", ""))
    return _table(rows)


# --- the run ---------------------------------------------------------------------------------------------


@dataclass
class Recording:
    """What one profiled run left: per-second CPU and PSS, the smaps text, and the raw stacks."""

    cpu: list[float] = field(default_factory=list)
    xvfb: list[float] = field(default_factory=list)
    pss: list[int] = field(default_factory=list)
    smaps: str = ""
    raw: str = ""


def _py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(found).exists():
        raise SystemExit("py-spy is not installed (python -m pip install py-spy)")
    return found


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(value) for value in text.split()]


def record(
    config: Path, seconds: float, rate: int, native: bool, work: Path, extra: Sequence[str] = ()
) -> Recording:
    """Run the player under py-spy on a fresh Xvfb for ``seconds``; sample its CPU and PSS meanwhile."""
    from signage.demo import xvfb

    raw = work / "player.raw.txt"
    raw.unlink(missing_ok=True)
    command = [
        _py_spy(),
        "record",
        "--format",
        "raw",
        "--threads",
        *(["--native"] if native else []),
        "--rate",
        str(rate),
        "--duration",
        f"{seconds:g}",
        "--output",
        str(raw),
        "--",
        sys.executable,
        "-m",
        "signage",
        "play",
        "--config",
        str(config),
    ]
    found = Recording()
    with xvfb(SCREEN) as display, (work / "player.log").open("wb") as log:
        xvfb_pid = _child_named("Xvfb")
        env = x_environment(display) | dict(item.split("=", 1) for item in extra)
        started = time.monotonic()
        spy = subprocess.Popen(
            command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
        )
        player: int | None = None
        try:
            while player is None and time.monotonic() < started + 10:
                player = next(iter(_children(spy.pid)), None)
                time.sleep(0.05)
            if player is None:
                raise RuntimeError("py-spy started no player")
            tick = started
            while tick + 1 <= started + seconds - 1.5:
                tick += 1
                time.sleep(max(0.0, tick - time.monotonic()))
                found.cpu.append(cpu_seconds(player))
                found.pss.append(pss_bytes(player))
                if xvfb_pid is not None:
                    found.xvfb.append(cpu_seconds(xvfb_pid))
            found.smaps = Path(f"/proc/{player}/smaps").read_text()
            spy.wait(timeout=seconds + 60)
        finally:
            for pid in (player, spy.pid):
                if pid is not None:
                    with suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGTERM)
            spy.wait()
    if spy.returncode != 0 or not raw.exists():
        tail = (work / "player.log").read_text(errors="replace")[-3000:]
        raise RuntimeError(f"py-spy failed ({spy.returncode}):\n{tail}")
    found.raw = raw.read_text()
    (work / "smaps.txt").write_text(found.smaps)
    return found


# --- the report ------------------------------------------------------------------------------------------


def _counted(counter: Counter[str], total: int, top: int, cpu: float) -> list[str]:
    """Rows of ``counter``: samples, share of ``total``, and that share of ``cpu`` seconds."""
    rows = [("", "samples", "share", "≈ CPU s")]
    for name, count in counter.most_common(top):
        share = count / max(total, 1)
        rows.append((name, str(count), f"{share:.1%}", f"{share * cpu:.2f}"))
    return _table(rows)


def report(
    found: Recording, profile: Profile, seconds: float, dwell: float, rate: int, top: int, env: Sequence[str]
) -> list[str]:
    per_second = [b - a for a, b in zip([0.0, *found.cpu], found.cpu, strict=False)]
    xvfb = [b - a for a, b in zip([0.0, *found.xvfb], found.xvfb, strict=False)]
    cpu = found.cpu[-1] if found.cpu else 0.0
    samples = profile.cpu_samples
    return [
        f"player under py-spy for {seconds:g} s from start, dwell {dwell:g} s, crossfade 1 s, Xvfb "
        f"{SCREEN[0]}x{SCREEN[1]}" + (f", environment {' '.join(env)}" if env else ""),
        f"    player CPU from /proc by second (ms): {' '.join(f'{value * 1000:.0f}' for value in per_second)}",
        f"    Xvfb CPU by second (ms):            {' '.join(f'{value * 1000:.0f}' for value in xvfb)}",
        f"    player CPU {cpu:.2f} s, Xvfb {found.xvfb[-1] if found.xvfb else 0:.2f} s (first {len(found.cpu)} s); "
        f"player PSS at the end {found.pss[-1] / 2**20 if found.pss else 0:.1f} MiB, "
        f"peak {max(found.pss, default=0) / 2**20:.1f} MiB",
        f"    py-spy samples: {profile.total} over all threads, {samples} of them on CPU. py-spy stops the player "
        "for each sample, which stretches what it samples: read the shares, not samples / rate; "
        "'≈ CPU s' is the share times the player's CPU from /proc",
        "",
        "samples off CPU (thread: waiting on)",
        *_counted(profile.waits, profile.total, top, 0.0),
        "",
        "on-CPU samples by thread",
        *_counted(profile.by("thread"), samples, top, cpu),
        "",
        "on-CPU samples by activity",
        *_counted(profile.by("activity"), samples, top, cpu),
        "",
        f"top {top} functions by own samples (innermost frame)",
        *_counted(profile.own(), samples, top, cpu),
        "",
        f"top {top} functions by inclusive samples",
        *_counted(profile.inclusive(), samples, top, cpu),
        "",
        f"top {top} lines of signage/ (innermost signage/ frame of each on-CPU sample)",
        *_counted(profile.signage_lines(), samples, top, cpu),
        "",
        f"player PSS by mapping, {len(found.cpu)} s after start (/proc/<pid>/smaps); one slide image is "
        f"{SLIDE_BYTES / 2**20:.1f} MiB",
        *memory_lines(parse_smaps(found.smaps)),
    ]


def main(argv: list[str] | None = None) -> int:
    """Profile one player run and print the tables."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the run (default 60)")
    parser.add_argument("--dwell", type=float, default=2.0, help="dwell seconds (default 2)")
    parser.add_argument("--rate", type=int, default=100, help="py-spy samples per second (default 100)")
    parser.add_argument("--no-native", action="store_true", help="Python frames only (no C/C++ frames)")
    parser.add_argument("--top", type=int, default=25, help="rows of each table (default 25)")
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for the player, for experiments (e.g. MALLOC_MMAP_THRESHOLD_=1048576)",
    )
    parser.add_argument("--work", type=Path, default=OUT, help=f"output folder (default {OUT})")
    parser.add_argument(
        "--figures", type=Path, default=None, help="also write the headline figures as JSON here"
    )
    arguments = parser.parse_args(argv)
    if arguments.seconds < 5:
        parser.error("--seconds must be at least 5")
    if any("=" not in item for item in arguments.env):
        parser.error("--env takes NAME=VALUE")
    work = arguments.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    config = player_config(prepare(work / "screen"), arguments.dwell)
    print(f"published the sample channel and filled a screen cache; player config {config}", file=sys.stderr)
    found = record(config, arguments.seconds, arguments.rate, not arguments.no_native, work, arguments.env)
    profile = Profile(parse_raw(found.raw))
    title = (
        f"signage play, {arguments.seconds:g} s from start, dwell {arguments.dwell:g} s: "
        f"{profile.cpu_samples} on-CPU samples at {arguments.rate} Hz (waits left out)"
    )
    (work / "player.svg").write_text(flamegraph(profile.on_cpu, title))
    lines = report(
        found, profile, arguments.seconds, arguments.dwell, arguments.rate, arguments.top, arguments.env
    )
    print("\n".join(lines))
    print(
        f"\nwritten: {work / 'player.raw.txt'}, {work / 'player.svg'}, {work / 'smaps.txt'}", file=sys.stderr
    )
    figures.write(
        arguments.figures, headline(found, profile, arguments.dwell, command_line("bench.profile", argv))
    )
    return 0


def headline(found: Recording, profile: Profile, dwell: float, command: str) -> list[Figure]:
    """Where the CPU went by activity, and what the PSS is made of, for ``docs/benchmarks.md``."""
    section = "Profile of the player (py-spy)"
    samples = max(profile.cpu_samples, 1)
    cpu = found.cpu[-1] if found.cpu else 0.0
    activities = ", ".join(
        f"{name} {count / samples:.0%}" for name, count in profile.by("activity").most_common(6)
    )
    mappings = parse_smaps(found.smaps)
    groups: Counter[str] = Counter()
    for previous, mapping in zip([None, *mappings], mappings, strict=False):
        groups[kind(mapping, previous)] += mapping.values.get("Pss", 0)
    pss = sum(groups.values())
    parts = ", ".join(f"{name} {value / 1024:.1f} MiB" for name, value in groups.most_common(6))
    return [
        Figure(
            section,
            f"Player CPU by activity, {dwell:g} s dwell ({len(found.cpu)} s run, start-up included)",
            f"{cpu:.2f} s CPU: {activities}",
            command,
        ),
        Figure(section, "Player PSS by mapping", f"{pss / 1024:.1f} MiB: {parts}", command),
    ]


if __name__ == "__main__":
    raise SystemExit(main())
