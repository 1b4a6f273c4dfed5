"""The player against a Chromium kiosk showing the same slides: memory (PSS), CPU and frames per crossfade.

The sample channel is published and a screen cache filled as ``bench.player`` does it (hub stopped after the
sync). The same displayable records and notices become a static page (``bench/html/kiosk.html`` filled in:
one ``<section>`` per slide with the player's fields — name, masked ID or credit code and legal
representative, amount via :func:`signage.core.rules.amount.display_amount`, status badge, court, case number,
listing date, photo — Noto Sans CJK SC, the player's dark palette, 1920×1080, a 1 s CSS opacity crossfade,
advancing every dwell seconds), written to a temporary folder with copies of the photos and opened from a
``file://`` URL.

Each run starts a fresh Xvfb 1920×1080x24 (without GLX, as the screens' Xorg runs: neither side uses OpenGL,
``--disable-gpu``, and a GLX-enabled server maps Mesa's libLLVM, ~50 MiB on each side) and one side on it, in
its own session:

* ``chromium --kiosk --no-sandbox --disable-gpu ... file:///.../index.html`` (Debian's chromium);
* ``python -m signage play --config <cfg>`` with the same dwell and ``transition_seconds = 1``: the
  painter, which after issue 15's split never syncs (it reads the verified cache the sync service fills).

The screen's other process, the sync service ``python -m signage sync --config <cfg>`` (no ``--once``),
runs once per round of the first dwell, on its own for ``--seconds`` S, against a live Hub serving the
sample channel (its cache is a copy of the player's, so its first sync finds nothing new and it settles
into polling, as on a screen): PSS and CPU of its tree, reported on their own line and added to the
player's for one more, informative ratio (no target: the issue's targets compare the painter). Where
``signage sync`` still requires ``--once`` (before the split), that line says so instead.

For ``--seconds`` S from ``Popen`` (start-up included, on both sides) the whole process tree (the root, its
descendants, and anything left in its session) is sampled every ``--interval`` s: PSS summed over the tree
from ``/proc/<pid>/smaps_rollup``, and the tree's PSS plus its Xvfb's at the same instants (issue 15's memory
target counts the X server on each side). At the end, CPU seconds of the tree (utime+stime+cutime+cstime of every
live tree process, so reaped children count through their parent), of the Xvfb server, and the two added,
since each side's drawing is partly done by its X server. Peak PSS is the
largest sample; steady PSS the median of the last half of the samples. Then the session is killed.

Runs alternate chromium, player, chromium, player… for ``--rounds`` R rounds × each dwell; the table gives
medians per side and the ratio chromium / player.

**Frames per crossfade** come from separate runs after those (one per side and dwell, ending once
``--crossfades`` N crossfades were counted after the first, which may overlap start-up), so the measured
runs above carry no instrumentation:

* Chromium opens the page as ``index.html?frames`` with ``--enable-logging=stderr --v=0``: the page counts
  ``requestAnimationFrame`` callbacks from the class change that starts a crossfade to the incoming slide's
  ``transitionend`` and logs the count with ``console.log``, which Chromium writes to its stderr;
* the player runs as ``bench.player``'s instrumented child (the same ``run_player``), whose event filter
  counts the window's paint events from the slide change to the first paint after the fade.

Under Xvfb nothing reaches a real display: these count frames each side *drew for the X server*, not frames
a monitor showed. For Chromium, a callback is a frame its renderer began, which its software compositor then
draws and puts to Xvfb; for the player, a paint event is a frame painted into the backing store and flushed to
Xvfb. Neither count looks at the X server itself.

With ``--figures PATH`` the headline figures (section "Against a Chromium kiosk": peak and steady PSS, CPU of
the trees and CPU including Xvfb, as ratios Chromium / player against issue 15's targets ≥ 4× for memory and
≥ 6× for CPU (the X server counted on each side in the "including Xvfb" line), the sync service's PSS, and the
frames per crossfade) are also written there as JSON (:mod:`bench.figures`). Usage:
``python -m bench.chromium [--seconds S] [--rounds R] [--dwell 2 10] [--interval I] [--crossfades N]
[--figures PATH]``.
"""

from __future__ import annotations

import argparse
import html
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from bench.figures import Figure, at_least, command_line, machine, write
from bench.player import OUT as PLAYER_OUT
from bench.player import (
    ROOT,
    SCREEN,
    TRANSITION_SECONDS,
    _child_named,
    _now,
    _table,
    crossfade_frames,
    player_command,
    prepare,
    service_tuning,
)

OUT = PLAYER_OUT.parent / "chromium"
TEMPLATE = Path(__file__).resolve().parent / "html" / "kiosk.html"
SIDES = ("chromium", "player")
CHROMIUM_FLAGS = (
    "--kiosk",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--password-store=basic",
    f"--window-size={SCREEN[0]},{SCREEN[1]}",
)
FIGURES = (
    "PSS peak",
    "PSS steady",
    "PSS peak, tree + Xvfb",
    "PSS steady, tree + Xvfb",
    "CPU s, tree",
    "CPU s, Xvfb",
    "CPU s, tree + Xvfb",
)
#: Chromium writes the page's console.log lines to stderr with these (the frames runs only).
CONSOLE_FLAGS = ("--enable-logging=stderr", "--v=0")
SECTION = "Against a Chromium kiosk"
MEMORY_TARGET = 4.0
CPU_TARGET = 6.0
SYNC_SIDE = "sync service"
#: Seconds a side may take to start before its first crossfade is due, in the frames runs.
FRAMES_GRACE = 60.0


# --- the page ---------------------------------------------------------------------------------------------


def build_page(config_path: Path, repo: Path, folder: Path, dwell: float) -> tuple[Path, int]:
    """Write the kiosk page for the screen cache of ``config_path`` into ``folder``; (page, slide count)."""
    from signage.core.records import Organisation, Person, Status
    from signage.core.rules.amount import display_amount
    from signage.operator.publish.repo import OperatorRepository
    from signage.sync.client import ScreenSync
    from signage.sync.config import load_player_config
    from signage.sync.fetcher import HttpFetcher

    config = load_player_config(config_path)
    with HttpFetcher() as fetcher:  # never used: nothing here syncs
        screen = ScreenSync(config, fetcher=fetcher, clock=_now)
    snapshot = screen.snapshot()
    shown = snapshot.display_set(_now())
    photos = OperatorRepository(repo).photos_dir
    (folder / "photos").mkdir(parents=True, exist_ok=True)
    data_date = _now().date().isoformat()
    mark = f"{config.screen_id} · v{shown.playlist_version}"
    sample = '<span class="sample">示例 / SAMPLE</span>' if shown.sample else ""
    e = html.escape
    sections: list[str] = []
    for record in snapshot.resolve(shown.records):
        debtor = record.debtor
        fields: list[tuple[str, str]] = []
        photo = ""
        if isinstance(debtor, Person):
            fields.append(("身份证号码", debtor.id_masked))
            kind = "person"
            source = "" if record.photo is None else record.photo.sha256
            if source and (photos / source).is_file():
                shutil.copyfile(photos / source, folder / "photos" / f"{source}.jpg")
                photo = f'<img class="photo" src="photos/{source}.jpg" alt="">'
            else:
                photo = '<div class="photo"></div>'
        else:
            assert isinstance(debtor, Organisation)
            caption = "统一社会信用代码" if len(debtor.code) == 18 else "组织机构代码"
            fields += [(caption, debtor.code), ("法定代表人或负责人", debtor.legal_representative)]
            kind = "org"
        fields += [
            ("执行法院", record.court),
            ("案号", record.case_number),
            ("发布日期", record.listed_on.isoformat()),
        ]
        status = "unfulfilled" if record.status is Status.UNFULFILLED else "partial"
        rows = "".join(f"<div><dt>{e(caption)}</dt><dd>{e(value)}</dd></div>" for caption, value in fields)
        phone = f"  电话\u00a0{e(record.court_phone)}" if record.court_phone else ""
        sections.append(
            f'<section class="slide {kind}"><header><h1>失信被执行人名单</h1>{sample}</header>'
            f'<main>{photo}<div class="fields"><div class="name">{e(debtor.name)}</div>'
            f'<div class="amount-row"><span class="amount">执行标的 {e(display_amount(record.amount))}</span>'
            f'<span class="status {status}">{e(record.status.value)}</span></div><dl>{rows}</dl></div></main>'
            f"<footer><span>数据日期 {data_date}</span><span>如有异议请向执行法院申请纠正{phone}</span>"
            f'<span class="mark">{e(mark)}</span></footer></section>'
        )
    for notice in shown.notices:
        body = "".join(f"<p>{e(line)}</p>" for line in notice.body.split("\n") if line.strip())
        sections.append(
            f'<section class="slide notice"><header><h1>公告 / NOTICE</h1>{sample}</header>'
            f"<main><h2>{e(notice.title)}</h2>{body}</main>"
            f'<footer><span></span><span></span><span class="mark">{e(mark)}</span></footer></section>'
        )
    if not sections:
        raise RuntimeError("the screen cache has nothing to show")
    page = TEMPLATE.read_text(encoding="utf-8")
    page = page.replace("<!-- SLIDES -->", "\n".join(sections)).replace(
        "__DWELL_MS__", str(round(dwell * 1000))
    )
    index = folder / "index.html"
    index.write_text(page, encoding="utf-8")
    return index, len(sections)


def player_config(config_path: Path, dwell: float) -> Path:
    """A copy of the bench player's config with ``dwell_seconds = dwell`` (transition stays 1 s)."""
    lines = [
        f"dwell_seconds = {dwell!r}" if line.startswith("dwell_seconds") else line
        for line in config_path.read_text().splitlines()
    ]
    path = config_path.with_name(f"player-dwell-{dwell:g}.toml")
    path.write_text("\n".join(lines) + "\n")
    return path


# --- /proc ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Proc:
    """One line of ``/proc/<pid>/stat``: parent, session, and CPU ticks (own and reaped children's)."""

    pid: int
    parent: int
    session: int
    ticks: int


def _procs() -> dict[int, Proc]:
    found: dict[int, Proc] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        # Fields 4 (ppid), 6 (session), 14-17 (utime, stime, cutime, cstime) of proc(5), from field 3 on.
        ticks = sum(int(value) for value in fields[11:15])
        found[int(entry.name)] = Proc(int(entry.name), int(fields[1]), int(fields[3]), ticks)
    return found


def tree(root: int) -> list[Proc]:
    """``root``, its descendants, and every process in its session (a daemonised helper, reparented)."""
    procs = _procs()
    children: dict[int, list[int]] = {}
    for proc in procs.values():
        children.setdefault(proc.parent, []).append(proc.pid)
    todo = [root, *(pid for pid, proc in procs.items() if proc.session == root)]
    members: set[int] = set()
    while todo:
        pid = todo.pop()
        if pid in members or pid not in procs:
            continue
        members.add(pid)
        todo += children.get(pid, [])
    return [procs[pid] for pid in members if pid in procs]


def pss(pid: int) -> int:
    """PSS of ``pid`` in bytes; 0 when it has just gone."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    return next((int(line.split()[1]) * 1024 for line in text.splitlines() if line.startswith("Pss:")), 0)


def cpu(procs: Sequence[Proc]) -> float:
    return sum(proc.ticks for proc in procs) / os.sysconf("SC_CLK_TCK")


# --- one run ----------------------------------------------------------------------------------------------


@dataclass
class Run:
    """The figures of one run of one side."""

    side: str
    dwell: float
    samples: list[int] = field(default_factory=list)
    #: The tree's PSS plus its Xvfb's, sampled at the same instants (issue 15 counts the X server).
    with_x: list[int] = field(default_factory=list)
    processes: int = 0
    tree_cpu: float = 0.0
    xvfb_cpu: float = float("nan")

    @property
    def peak(self) -> float:
        return float(max(self.samples))

    @property
    def steady(self) -> float:
        return float(statistics.median(self.samples[len(self.samples) // 2 :]))

    def figures(self) -> tuple[float, float, float, float, float, float, float]:
        with_x = self.with_x or [0]
        return (
            self.peak,
            self.steady,
            float(max(with_x)),
            float(statistics.median(with_x[len(with_x) // 2 :])),
            self.tree_cpu,
            self.xvfb_cpu,
            self.tree_cpu + self.xvfb_cpu,
        )


@contextmanager
def _session(command: Sequence[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``command`` in a new session; the whole session is terminated (then killed) when the block ends."""
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield process
        finally:
            for signal_, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
                left = [proc.pid for proc in tree(process.pid)]
                if not left:
                    break
                for pid in left:
                    with suppress(ProcessLookupError):
                        os.kill(pid, signal_)
                deadline = time.monotonic() + wait
                while time.monotonic() < deadline:
                    process.poll()
                    if not tree(process.pid):
                        break
                    time.sleep(0.1)
            process.wait()


def _environment(side: str, display: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["DISPLAY"] = display
    if side == "player":
        env |= service_tuning() | {"QT_QPA_PLATFORM": "xcb", "PYTHONUNBUFFERED": "1"}
    return env


def _chromium_command(page: str, work: Path, *extra: str) -> list[str]:
    profile = Path(tempfile.mkdtemp(prefix="profile-", dir=work))
    return ["chromium", *CHROMIUM_FLAGS, *extra, f"--user-data-dir={profile}", page]


def run_side(
    side: str, dwell: float, seconds: float, interval: float, page: Path, config: Path, work: Path
) -> Run:
    """One side on a fresh Xvfb for ``seconds`` from ``Popen``, sampled every ``interval`` s."""
    from signage.demo import xvfb

    figures = Run(side, dwell)
    with xvfb(SCREEN) as display:
        xvfb_pid = _child_named("Xvfb")
        env = _environment(side, display)
        if side == "chromium":
            command = _chromium_command(page.as_uri(), work)
        else:
            command = [sys.executable, "-m", "signage", "play", "--config", str(config)]
        started = time.monotonic()
        with _session(command, env, work / f"{side}-{dwell:g}.log") as process:
            target = started
            while target < started + seconds:
                target = min(target + interval, started + seconds)
                time.sleep(max(0.0, target - time.monotonic()))
                if process.poll() is not None:
                    log = (work / f"{side}-{dwell:g}.log").read_text(errors="replace")[-3000:]
                    raise RuntimeError(f"{side} exited ({process.returncode}) early:\n{log}")
                procs = tree(process.pid)
                figures.samples.append(sum(pss(proc.pid) for proc in procs))
                figures.with_x.append(figures.samples[-1] + (pss(xvfb_pid) if xvfb_pid is not None else 0))
                figures.processes = max(figures.processes, len(procs))
            figures.tree_cpu = cpu(tree(process.pid))
            if xvfb_pid is not None:
                figures.xvfb_cpu = cpu([proc for proc in _procs().values() if proc.pid == xvfb_pid])
    return figures


def sync_service_missing() -> str | None:
    """``None`` when ``signage sync`` without ``--once`` is the sync service, else why it cannot be measured."""
    done = subprocess.run(
        [sys.executable, "-m", "signage", "sync", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    usage = done.stdout + done.stderr
    if done.returncode == 0 and "--once" in usage and "[--once]" not in usage:
        return (
            "not measured: `signage sync` still requires --once here (the sync service comes with the split)"
        )
    if done.returncode != 0:
        return f"not measured: `signage sync --help` failed ({done.returncode})"
    return None


def sync_service_config(config: Path, hub_url: str, work: Path) -> Path:
    """A copy of the player's config and cache for the sync service, pointed at a live hub on ``hub_url``."""
    from signage.sync.config import load_player_config

    cache = work / "sync-cache"
    shutil.rmtree(cache, ignore_errors=True)
    shutil.copytree(load_player_config(config).cache_dir, cache)
    lines = []
    for line in config.read_text().splitlines():
        if line.startswith("hub_url"):
            line = f'hub_url = "{hub_url}"'
        elif line.startswith("cache_dir"):
            line = f'cache_dir = "{cache}"'
        lines.append(line)
    path = work / "sync-service.toml"
    path.write_text("\n".join(lines) + "\n")
    load_player_config(path)
    return path


def run_sync_service(seconds: float, interval: float, config: Path, work: Path) -> Run:
    """``signage sync --config`` (the service) for ``seconds`` from ``Popen``, its tree sampled every ``interval`` s."""
    figures = Run(SYNC_SIDE, 0.0)
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    command = [sys.executable, "-m", "signage", "sync", "--config", str(config)]
    started = time.monotonic()
    with _session(command, env | {"PYTHONUNBUFFERED": "1"}, work / "sync-service.log") as process:
        target = started
        while target < started + seconds:
            target = min(target + interval, started + seconds)
            time.sleep(max(0.0, target - time.monotonic()))
            if process.poll() is not None:
                log = (work / "sync-service.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"the sync service exited ({process.returncode}) early:\n{log}")
            procs = tree(process.pid)
            figures.samples.append(sum(pss(proc.pid) for proc in procs))
            figures.processes = max(figures.processes, len(procs))
        figures.tree_cpu = cpu(tree(process.pid))
    return figures


@contextmanager
def sample_hub(public: Path) -> Iterator[str]:
    """A Hub serving the sample channel's ``public`` folder on 127.0.0.1 while the block runs."""
    from signage.operator.hub.files import make_app
    from signage.operator.hub.server import Hub

    hub = Hub(make_app(public), lambda: None, host="127.0.0.1", port=0)
    hub.start()
    try:
        yield f"http://127.0.0.1:{hub.port}/"
    finally:
        hub.stop()


def count_frames(side: str, dwell: float, crossfades: int, page: Path, config: Path, work: Path) -> list[int]:
    """Frames drawn in each of ``crossfades`` crossfades of ``side``, on a fresh Xvfb, after the first one.

    Chromium opens the page with ``?frames`` (requestAnimationFrame callbacks per crossfade, logged to the
    console) and ``--enable-logging=stderr --v=0``; the player is ``bench.player``'s instrumented child (paint
    events per crossfade). Both log ``bench: crossfade N frames F ms T``; the run ends as soon as
    ``crossfades`` + 1 of them were logged. The first is left out: it may overlap the end of start-up (a
    Chromium whose first crossfade came before its first frame was seen to begin 2 frames for it).
    """
    from signage.demo import xvfb

    with xvfb(SCREEN) as display:
        if side == "chromium":
            command = _chromium_command(f"{page.as_uri()}?frames", work, *CONSOLE_FLAGS)
        else:
            command = player_command(config, instrumented=True)
        log = work / f"frames-{side}-{dwell:g}.log"
        deadline = time.monotonic() + FRAMES_GRACE + (crossfades + 2) * dwell
        with _session(command, _environment(side, display), log) as process:
            while True:
                time.sleep(0.25)
                frames = crossfade_frames(log.read_text(errors="replace"))
                if len(frames) > crossfades:
                    return frames[1 : crossfades + 1]
                if process.poll() is not None or time.monotonic() > deadline:
                    tail = log.read_text(errors="replace")[-3000:]
                    state = "exited early" if process.returncode is not None else "timed out"
                    raise RuntimeError(f"{side} {state} after {len(frames)} crossfades:\n{tail}")


# --- the report -------------------------------------------------------------------------------------------


Frames = dict[tuple[str, float], list[int]]
"""Frames per crossfade, by (side, dwell)."""


def medians(runs: Sequence[Run], dwell: float) -> dict[str, dict[str, float]]:
    """The median of each figure of :data:`FIGURES` over the runs of each side at ``dwell``: figure -> side -> median."""
    return {
        name: {
            side: statistics.median(
                run.figures()[index] for run in runs if run.side == side and run.dwell == dwell
            )
            for side in SIDES
        }
        for index, name in enumerate(FIGURES)
    }


def sync_service_figures(runs: Sequence[Run]) -> tuple[float, float, float] | None:
    """The sync service's median steady PSS, peak PSS and CPU seconds, or ``None`` when it did not run."""
    service = [run for run in runs if run.side == SYNC_SIDE]
    if not service:
        return None
    return (
        statistics.median(run.steady for run in service),
        statistics.median(run.peak for run in service),
        statistics.median(run.tree_cpu for run in service),
    )


def _ratio(values: dict[str, float]) -> float:
    return values["chromium"] / values["player"] if values["player"] else float("nan")


def report(
    runs: Sequence[Run], frames: Frames, dwells: Sequence[float], seconds: float, interval: float
) -> list[str]:
    rows = [
        ("dwell", "figure", "chromium (median)", "player (median)", "chromium / player", "each run c | p")
    ]
    for dwell in dwells:
        by_side = {side: [run for run in runs if run.side == side and run.dwell == dwell] for side in SIDES}
        middle = medians(runs, dwell)
        for index, name in enumerate(FIGURES):
            values = {side: [run.figures()[index] for run in by_side[side]] for side in SIDES}
            memory = name.startswith("PSS")

            def show(value: float, memory: bool = memory) -> str:
                return f"{value / 2**20:.1f} MiB" if memory else f"{value:.1f} s"

            each = (
                " ".join(show(v) for v in values["chromium"])
                + " | "
                + " ".join(show(v) for v in values["player"])
            )
            rows.append(
                (
                    f"{dwell:g} s",
                    name,
                    show(middle[name]["chromium"]),
                    show(middle[name]["player"]),
                    f"{_ratio(middle[name]):.2f}×",
                    each,
                )
            )
        processes = {side: max(run.processes for run in by_side[side]) for side in SIDES}
        rows.append(
            (
                f"{dwell:g} s",
                "processes in tree (max)",
                str(processes["chromium"]),
                str(processes["player"]),
                "",
                "",
            )
        )
        counted = {side: frames.get((side, dwell), []) for side in SIDES}
        if all(counted.values()):
            rows.append(
                (
                    f"{dwell:g} s",
                    "frames per crossfade",
                    f"{statistics.median(counted['chromium']):g}",
                    f"{statistics.median(counted['player']):g}",
                    "",
                    " ".join(map(str, counted["chromium"])) + " | " + " ".join(map(str, counted["player"])),
                )
            )
    lines = [
        f"Chromium kiosk vs player: {seconds:g} s per run from Popen (start-up included), Xvfb {SCREEN[0]}x{SCREEN[1]}x24 "
        f"per run, crossfade {TRANSITION_SECONDS:g} s, PSS of the whole tree every {interval:g} s "
        "(steady = median of the last half), CPU = whole life of tree and of its Xvfb",
        *_table(rows),
    ]
    if frames:
        lines += [
            "    frames per crossfade: separate runs, one per side and dwell, not the measured ones above. Chromium: "
            "requestAnimationFrame callbacks from the class change to transitionend (frames its renderer began; "
            "the compositor draws them in software and puts them to Xvfb); player: paint events of its window "
            "from the slide change to the first paint after the fade (each one drawn and flushed to Xvfb). "
            "Xvfb has no display, so nothing is 'presented' beyond reaching the X server.",
        ]
    return lines


def headline(
    runs: Sequence[Run],
    frames: Frames,
    dwells: Sequence[float],
    seconds: float,
    argv: Sequence[str] | None,
    sync_note: str | None = None,
) -> list[Figure]:
    """The figures for ``docs/benchmarks.md``: each ratio against its target, and frames per crossfade."""
    command = command_line("bench.chromium", argv)
    found: list[Figure] = []
    for dwell in dwells:
        middle = medians(runs, dwell)
        for name, figure, target in (
            (
                f"Peak PSS including Xvfb, {dwell:g} s dwell, Chromium / player",
                "PSS peak, tree + Xvfb",
                MEMORY_TARGET,
            ),
            (
                f"Steady PSS including Xvfb, {dwell:g} s dwell, Chromium / player",
                "PSS steady, tree + Xvfb",
                MEMORY_TARGET,
            ),
            (f"Steady PSS of the process trees, {dwell:g} s dwell, Chromium / player", "PSS steady", None),
            (f"CPU of the process trees, {dwell:g} s dwell, Chromium / player", "CPU s, tree", CPU_TARGET),
            (f"CPU including Xvfb, {dwell:g} s dwell, Chromium / player", "CPU s, tree + Xvfb", CPU_TARGET),
        ):
            values = middle[figure]
            ratio = _ratio(values)
            if figure.startswith("PSS"):
                both = f"Chromium {values['chromium'] / 2**20:.1f} MiB, player {values['player'] / 2**20:.1f} MiB"
            else:
                both = f"Chromium {values['chromium']:.1f} s, player {values['player']:.1f} s of CPU in {seconds:g} s"
            if target is None:
                found.append(Figure(SECTION, name, f"{ratio:.2f}× ({both})", command))
                continue
            met, shortfall = at_least(ratio, target)
            found.append(
                Figure(SECTION, name, f"{ratio:.2f}× ({both})", command, f"≥ {target:g}×", met, shortfall)
            )
        counted = {side: frames.get((side, dwell), []) for side in SIDES}
        if all(counted.values()):
            count = min(len(values) for values in counted.values())
            found.append(
                Figure(
                    SECTION,
                    f"Frames per {TRANSITION_SECONDS:g} s crossfade, {dwell:g} s dwell",
                    f"Chromium {statistics.median(counted['chromium']):g}, player "
                    f"{statistics.median(counted['player']):g} (median of {count} crossfades each: Chromium's "
                    "requestAnimationFrame callbacks, the player's paint events; drawn for Xvfb)",
                    command,
                )
            )
    service = sync_service_figures(runs)
    if service is None:
        found.append(
            Figure(SECTION, "Sync service (signage sync) steady PSS", sync_note or "not measured", command)
        )
        return found
    steady, peak, cpu_seconds = service
    count = sum(1 for run in runs if run.side == SYNC_SIDE)
    found.append(
        Figure(
            SECTION,
            "Sync service (signage sync) steady PSS, beside the player",
            f"{steady / 2**20:.1f} MiB (peak {peak / 2**20:.1f} MiB; CPU {cpu_seconds:.1f} s in {seconds:g} s; "
            f"median of {count} runs against a live hub)",
            command,
        )
    )
    for dwell in dwells:
        chromium = medians(runs, dwell)["PSS steady"]["chromium"]
        player = medians(runs, dwell)["PSS steady"]["player"]
        found.append(
            Figure(
                SECTION,
                f"Steady PSS, {dwell:g} s dwell, Chromium / (player + sync service), for information",
                f"{chromium / (player + steady):.2f}× (Chromium {chromium / 2**20:.1f} MiB, player "
                f"{player / 2**20:.1f} + sync service {steady / 2**20:.1f} MiB)",
                command,
            )
        )
    return found


def sync_service_report(runs: Sequence[Run], note: str | None) -> list[str]:
    """The sync service's line of the detailed report."""
    service = sync_service_figures(runs)
    if service is None:
        return ["", f"sync service (signage sync --config): {note or 'not measured'}"]
    each = " ".join(f"{run.steady / 2**20:.1f}" for run in runs if run.side == SYNC_SIDE)
    steady, peak, cpu_seconds = service
    return [
        "",
        f"sync service (signage sync --config, against a live hub, no X server): steady PSS "
        f"{steady / 2**20:.1f} MiB (each run {each}), peak {peak / 2**20:.1f} MiB, CPU {cpu_seconds:.1f} s",
    ]


def _chromium_version() -> str:
    done = subprocess.run(["chromium", "--version"], capture_output=True, text=True, check=False)
    return done.stdout.strip() or "chromium (version unknown)"


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and print a table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each run (default 60)")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each side per dwell (default 2)")
    parser.add_argument("--dwell", type=float, nargs="+", default=[2.0, 10.0], help="dwells (default 2 10)")
    parser.add_argument("--interval", type=float, default=2.0, help="PSS sampling interval (default 2)")
    parser.add_argument(
        "--crossfades",
        type=int,
        default=5,
        help="crossfades whose frames are counted, per side and dwell, in extra runs (default 5; 0: none)",
    )
    parser.add_argument("--work", type=Path, default=OUT, help=f"scratch folder (default {OUT})")
    parser.add_argument(
        "--figures", type=Path, default=None, help="also write the headline figures as JSON to this file"
    )
    arguments = parser.parse_args(argv)
    if shutil.which("chromium") is None:
        raise SystemExit("chromium is not installed (apt-get install chromium)")
    load_at_start = os.getloadavg()[0]
    work = arguments.work.resolve()
    config = prepare(work / "screen")
    print(f"published the sample channel and filled a screen cache; player config {config}", file=sys.stderr)
    runs: list[Run] = []
    frames: Frames = {}
    sync_note = sync_service_missing()
    if sync_note is not None:
        print(f"sync service: {sync_note}", file=sys.stderr)
    with (
        tempfile.TemporaryDirectory(prefix="kiosk-", dir=work) as scratch,
        sample_hub(work / "screen" / "repo" / "public") as hub_url,
    ):
        folder = Path(scratch)
        service_config = sync_service_config(config, hub_url, folder) if sync_note is None else None
        for dwell in arguments.dwell:
            page, count = build_page(config, work / "screen" / "repo", folder / f"page-{dwell:g}", dwell)
            dwell_config = player_config(config, dwell)
            print(f"dwell {dwell:g} s: {count} slides in {page}", file=sys.stderr)
            for round_ in range(arguments.rounds):
                for side in SIDES:
                    run = run_side(
                        side, dwell, arguments.seconds, arguments.interval, page, dwell_config, folder
                    )
                    runs.append(run)
                    print(
                        f"dwell {dwell:g} s, round {round_ + 1}/{arguments.rounds}, {side}: peak "
                        f"{run.peak / 2**20:.1f} MiB, steady {run.steady / 2**20:.1f} MiB, CPU {run.tree_cpu:.1f} s, "
                        f"Xvfb {run.xvfb_cpu:.1f} s, {run.processes} processes",
                        file=sys.stderr,
                        flush=True,
                    )
                if service_config is not None and dwell == arguments.dwell[0]:
                    run = run_sync_service(arguments.seconds, arguments.interval, service_config, folder)
                    runs.append(run)
                    print(
                        f"round {round_ + 1}/{arguments.rounds}, sync service: peak {run.peak / 2**20:.1f} MiB, "
                        f"steady {run.steady / 2**20:.1f} MiB, CPU {run.tree_cpu:.1f} s",
                        file=sys.stderr,
                        flush=True,
                    )
            if arguments.crossfades > 0:
                for side in SIDES:
                    counted = count_frames(side, dwell, arguments.crossfades, page, dwell_config, folder)
                    frames[side, dwell] = counted
                    print(
                        f"dwell {dwell:g} s, {side}: frames per crossfade {' '.join(map(str, counted))}",
                        file=sys.stderr,
                        flush=True,
                    )
    lines = [
        *machine(load_at_start),
        f"browser: {_chromium_version()}, flags {' '.join(CHROMIUM_FLAGS)}",
        f"command: {command_line('bench.chromium', argv)}",
        "",
        *report(runs, frames, arguments.dwell, arguments.seconds, arguments.interval),
        *sync_service_report(runs, sync_note),
    ]
    print("\n".join(lines))
    write(arguments.figures, headline(runs, frames, arguments.dwell, arguments.seconds, argv, sync_note))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
