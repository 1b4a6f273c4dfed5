"""The player against a Chromium kiosk showing the same slides: memory (PSS) and CPU, same screen, same time.

The sample channel is published and a screen cache filled as ``bench.player`` does it (hub stopped after the
sync). The same displayable records and notices become a static page (``bench/html/kiosk.html`` filled in:
one ``<section>`` per slide with the player's fields — name, masked ID or credit code and legal
representative, amount via :func:`signage.rules.amount.display_amount`, status badge, court, case number,
listing date, photo — Noto Sans CJK SC, the player's dark palette, 1920×1080, a 1 s CSS opacity crossfade,
advancing every dwell seconds), written to a temporary folder with copies of the photos and opened from a
``file://`` URL.

Each run starts a fresh Xvfb 1920×1080x24 and one side on it, in its own session:

* ``chromium --kiosk --no-sandbox --disable-gpu ... file:///.../index.html`` (Debian's chromium);
* ``python -m signage play --config <cfg>`` with the same dwell and ``transition_seconds = 1``.

For ``--seconds`` S from ``Popen`` (start-up included, on both sides) the whole process tree (the root, its
descendants, and anything left in its session) is sampled every ``--interval`` s: PSS summed over the tree
from ``/proc/<pid>/smaps_rollup``. At the end, CPU seconds of the tree (utime+stime+cutime+cstime of every
live tree process, so reaped children count through their parent) and of the Xvfb server. Peak PSS is the
largest sample; steady PSS the median of the last half of the samples. Then the session is killed.

Runs alternate chromium, player, chromium, player… for ``--rounds`` R rounds × each dwell; the table gives
medians per side and the ratio chromium / player. Usage:
``python -m bench.chromium [--seconds S] [--rounds R] [--dwell 2 10] [--interval I]``.
"""

from __future__ import annotations

import argparse
import html
import os
import shlex
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

from bench.player import OUT as PLAYER_OUT
from bench.player import ROOT, SCREEN, TRANSITION_SECONDS, _child_named, _machine, _now, _table, prepare

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
FIGURES = ("PSS peak", "PSS steady", "CPU s, tree", "CPU s, Xvfb")


# --- the page ---------------------------------------------------------------------------------------------


def build_page(config_path: Path, repo: Path, folder: Path, dwell: float) -> tuple[Path, int]:
    """Write the kiosk page for the screen cache of ``config_path`` into ``folder``; (page, slide count)."""
    from signage.config import load_player_config
    from signage.publish.repo import OperatorRepository
    from signage.records import Organisation, Person, Status
    from signage.rules.amount import display_amount
    from signage.sync.client import ScreenSync
    from signage.sync.fetcher import HttpFetcher

    config = load_player_config(config_path)
    with HttpFetcher() as fetcher:  # never used: nothing here syncs
        screen = ScreenSync(config, fetcher=fetcher, clock=_now)
    shown = screen.snapshot().display_set(_now())
    photos = OperatorRepository(repo).photos_dir
    (folder / "photos").mkdir(parents=True, exist_ok=True)
    data_date = _now().date().isoformat()
    mark = f"{config.screen_id} · v{shown.playlist_version}"
    sample = '<span class="sample">示例 / SAMPLE</span>' if shown.sample else ""
    e = html.escape
    sections: list[str] = []
    for record in shown.records:
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
    processes: int = 0
    tree_cpu: float = 0.0
    xvfb_cpu: float = float("nan")

    @property
    def peak(self) -> float:
        return float(max(self.samples))

    @property
    def steady(self) -> float:
        return float(statistics.median(self.samples[len(self.samples) // 2 :]))

    def figures(self) -> tuple[float, float, float, float]:
        return self.peak, self.steady, self.tree_cpu, self.xvfb_cpu


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


def run_side(
    side: str, dwell: float, seconds: float, interval: float, page: Path, config: Path, work: Path
) -> Run:
    """One side on a fresh Xvfb for ``seconds`` from ``Popen``, sampled every ``interval`` s."""
    from signage.demo import xvfb

    figures = Run(side, dwell)
    with xvfb(SCREEN) as display:
        xvfb_pid = _child_named("Xvfb")
        env = {k: v for k, v in os.environ.items() if k not in ("WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
        env["DISPLAY"] = display
        if side == "chromium":
            profile = Path(tempfile.mkdtemp(prefix="profile-", dir=work))
            command = ["chromium", *CHROMIUM_FLAGS, f"--user-data-dir={profile}", page.as_uri()]
        else:
            env |= {"QT_QPA_PLATFORM": "xcb", "PYTHONUNBUFFERED": "1"}
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
                figures.processes = max(figures.processes, len(procs))
            figures.tree_cpu = cpu(tree(process.pid))
            if xvfb_pid is not None:
                figures.xvfb_cpu = cpu([proc for proc in _procs().values() if proc.pid == xvfb_pid])
    return figures


# --- the report -------------------------------------------------------------------------------------------


def report(runs: Sequence[Run], dwells: Sequence[float], seconds: float, interval: float) -> list[str]:
    rows = [
        ("dwell", "figure", "chromium (median)", "player (median)", "chromium / player", "each run c | p")
    ]
    for dwell in dwells:
        by_side = {side: [run for run in runs if run.side == side and run.dwell == dwell] for side in SIDES}
        for index, name in enumerate(FIGURES):
            values = {side: [run.figures()[index] for run in by_side[side]] for side in SIDES}
            medians = {side: statistics.median(values[side]) for side in SIDES}
            memory = name.startswith("PSS")

            def show(value: float, memory: bool = memory) -> str:
                return f"{value / 2**20:.1f} MiB" if memory else f"{value:.1f} s"

            ratio = medians["chromium"] / medians["player"] if medians["player"] else float("nan")
            each = (
                " ".join(show(v) for v in values["chromium"])
                + " | "
                + " ".join(show(v) for v in values["player"])
            )
            rows.append(
                (
                    f"{dwell:g} s",
                    name,
                    show(medians["chromium"]),
                    show(medians["player"]),
                    f"{ratio:.2f}×",
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
    return [
        f"Chromium kiosk vs player: {seconds:g} s per run from Popen (start-up included), Xvfb {SCREEN[0]}x{SCREEN[1]}x24 "
        f"per run, crossfade {TRANSITION_SECONDS:g} s, PSS of the whole tree every {interval:g} s "
        "(steady = median of the last half), CPU = whole life of tree and of its Xvfb",
        *_table(rows),
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
    parser.add_argument("--work", type=Path, default=OUT, help=f"scratch folder (default {OUT})")
    arguments = parser.parse_args(argv)
    if shutil.which("chromium") is None:
        raise SystemExit("chromium is not installed (apt-get install chromium)")
    load_at_start = os.getloadavg()[0]
    work = arguments.work.resolve()
    config = prepare(work / "screen")
    print(f"published the sample channel and filled a screen cache; player config {config}", file=sys.stderr)
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="kiosk-", dir=work) as scratch:
        folder = Path(scratch)
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
    command = shlex.join(["python", "-m", "bench.chromium", *(argv if argv is not None else sys.argv[1:])])
    lines = [
        *_machine(load_at_start),
        f"browser: {_chromium_version()}, flags {' '.join(CHROMIUM_FLAGS)}",
        f"command: {command}",
        "",
        *report(runs, arguments.dwell, arguments.seconds, arguments.interval),
    ]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
