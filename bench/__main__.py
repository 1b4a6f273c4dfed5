"""``make bench``: run every benchmark, one process each, and rewrite ``docs/benchmarks.md``.

Each step runs ``python -m bench.<module> <arguments> --figures bench/out/figures/<module>.json``; its
full report (stdout and stderr) is kept in ``bench/out/<module>.txt``. The figures of all steps become one
table per section, issue 15's targets (a lean player beside Chromium, 35,000 records, photos against the
loopback floor, the one-row change) first and issue 6's after them, followed by the targets that were missed and
``bench/analysis.md`` (the hand-written explanation of those misses and of the profiles behind them). A
step that fails is named in the page with its exit status and the tail of its output; the others still
run. Each step's figures and outcome (exit status, time, the commit measured) stay in ``bench/out/figures/``,
so ``--only MODULE ... --keep-others`` reruns some steps and rewrites the page with the others' last figures;
the "Run times" table says when and at which commit each step ran. Usage:
``python -m bench [--only MODULE ...] [--keep-others] [--output PATH]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench import figures
from bench.figures import ROOT, Figure

OUT = ROOT / "bench" / "out"
OUTPUT = ROOT / "docs" / "benchmarks.md"
ANALYSIS = ROOT / "bench" / "analysis.md"


@dataclass(frozen=True)
class Step:
    """One benchmark module and the arguments ``make bench`` gives it."""

    module: str
    arguments: tuple[str, ...] = ()


#: In the order of issue 6's list, then the importer's figures from issues 2 and 10, then the hub's telemetry
#: (issue 14). Issue 15's targets are in ``chromium`` (memory and CPU against Chromium, the sync service on
#: its own line) and ``scale`` (painter PSS at 35,000 records, the photo sync against the loopback floor).
#: The arguments trade length for a ``make bench`` of about an hour on two cores; each module's ``--help``
#: says how to go longer. ``chromium``'s runs are 40 s (start-up included, steady PSS from the last 20 s)
#: with 3 counted crossfades: about 12 minutes with the sync service's runs, 15 before at 60 s.
STEPS = (
    Step("chromium", ("--seconds", "40", "--rounds", "3", "--dwell", "2", "10", "--crossfades", "3")),
    Step("profile", ("--seconds", "60", "--dwell", "2")),
    Step("player", ("--only", "startup", "--runs", "7")),
    Step("scale"),
    # Issue 15's one-row change: < 200 KB on a 35,000-record channel, metadata included, sharded against
    # the single file in the same run.
    Step("delta"),
    Step("takedown"),
    Step("day"),
    Step("metered"),
    Step("import_speed", ("--rounds", "3")),
    Step("import_bombs", ("--before",)),
    Step("ingest", ("--through", "both")),
    Step("telemetry_disk", ("--batch-minutes", "5", "--postgres")),
)

#: Section titles in the order the page shows them (issue 15's targets first, then issue 6's and the
#: others); any other section follows, in the order met.
SECTIONS = (
    "Against a Chromium kiosk",
    "Scale: 35,000 records and their photos",
    "Playlist by delta (sharded channel)",
    "Profile of the player (py-spy)",
    "Cold start",
    "Takedown latency",
    "A day compressed",
    "Metered link",
    "Hub intake (telemetry)",
    "Telemetry on disk: one screen-year",
)


@dataclass(frozen=True)
class Outcome:
    """What one step produced."""

    step: Step
    status: int
    seconds: float
    figures: tuple[Figure, ...]
    tail: str
    #: When it ended (UTC) and the commit it measured (``+changes`` when the tree was not clean).
    finished: str = ""
    commit: str = ""


def run_step(step: Step, out: Path) -> Outcome:
    """Run one module in its own process; its figures, or why there are none."""
    target = out / "figures" / f"{step.module}.json"
    target.unlink(missing_ok=True)
    log = out / f"{step.module}.txt"
    command = [sys.executable, "-m", f"bench.{step.module}", *step.arguments, "--figures", str(target)]
    print(f"bench: {' '.join(command[1:])} (report in {log.relative_to(ROOT)})", file=sys.stderr, flush=True)
    started = time.monotonic()
    with log.open("w", encoding="utf-8") as handle:
        status = subprocess.run(
            command, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT, check=False
        ).returncode
    seconds = time.monotonic() - started
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    found = tuple(figures.read(target)) if status == 0 and target.exists() else ()
    print(f"bench: {step.module} exit {status} after {seconds:.0f} s, {len(found)} figures", file=sys.stderr)
    finished = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M")
    outcome = Outcome(step, status, seconds, found, "\n".join(lines[-15:]), finished, _commit())
    record = {"status": status, "seconds": seconds, "tail": outcome.tail, "finished": finished}
    (out / "figures" / f"{step.module}.run.json").write_text(json.dumps({**record, "commit": outcome.commit}))
    return outcome


def kept(step: Step, out: Path) -> Outcome | None:
    """What an earlier ``python -m bench`` left for ``step``, if anything."""
    target, run = out / "figures" / f"{step.module}.json", out / "figures" / f"{step.module}.run.json"
    if not run.exists():
        return None
    record = json.loads(run.read_text(encoding="utf-8"))
    found = tuple(figures.read(target)) if target.exists() else ()
    return Outcome(
        step, record["status"], record["seconds"], found, record["tail"], record["finished"], record["commit"]
    )


def _commit() -> str:
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT)
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True, cwd=ROOT
    )
    return (head.stdout.strip() or "?") + ("+changes" if dirty.stdout.strip() else "")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(machine: Sequence[str], outcomes: Sequence[Outcome], analysis: str) -> str:
    """The Markdown page: machine, one table per section, missed targets, failures, analysis."""
    every = [figure for outcome in outcomes for figure in outcome.figures]
    order = [*SECTIONS, *dict.fromkeys(f.section for f in every if f.section not in SECTIONS)]
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`python -m bench`); do not edit by hand, rerun it. Every comparison ran both",
        "sides in the same run, alternating, several times; values are medians unless a line says otherwise.",
        "The machine is shared and noisy: absolute times are indicative, ratios measured side by side are the",
        "figures to quote. Each line's command reruns it alone, from the repository root, in the venv.",
        "",
        *(f"- {line}" for line in machine),
        "",
    ]
    for section in order:
        rows = [figure for figure in every if figure.section == section]
        if not rows:
            continue
        lines += [
            f"## {section}",
            "",
            "| Figure | Value | Target | Met | Reproduce |",
            "|---|---|---|---|---|",
        ]
        for figure in rows:
            met = "" if figure.met is None else ("yes" if figure.met else f"**no**: {figure.shortfall}")
            lines.append(
                f"| {_cell(figure.name)} | {_cell(figure.value)} | {_cell(figure.target)} | {_cell(met)} "
                f"| `{_cell(figure.command)}` |"
            )
        lines.append("")
    missed = [figure for figure in every if figure.met is False]
    lines += ["## Targets missed", ""]
    if missed:
        lines += [f"- {f.section}, {f.name}: {f.value}; target {f.target}; {f.shortfall}." for f in missed]
    else:
        lines.append("None." if every else "No figures were measured.")
    lines.append("")
    failed = [outcome for outcome in outcomes if outcome.status != 0 or not outcome.figures]
    if failed:
        lines += ["## Steps that failed", ""]
        for outcome in failed:
            lines += [
                f"`python -m bench.{outcome.step.module}` ended with exit status {outcome.status} after "
                f"{outcome.seconds:.0f} s and no figures; the end of its output:",
                "",
                "```",
                outcome.tail,
                "```",
                "",
            ]
    lines += ["## Run times", "", "| Step | Seconds | Exit | Ended (UTC) | Commit |", "|---|---|---|---|---|"]
    lines += [
        f"| `bench.{o.step.module}` | {o.seconds:.0f} | {o.status} | {o.finished} | {o.commit} |"
        for o in outcomes
    ]
    lines.append("")
    if analysis.strip():
        lines += [analysis.strip(), ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the steps and write the page; exit 1 when a step failed."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    names = [step.module for step in STEPS]
    parser.add_argument("--only", nargs="+", choices=names, help="run only these modules")
    parser.add_argument(
        "--keep-others",
        action="store_true",
        help="with --only: put the other modules' figures from their last run on the page too",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help=f"the page to write (default {OUTPUT.relative_to(ROOT)}, or bench/out/benchmarks.md with --only)",
    )
    arguments = parser.parse_args(argv)
    steps = [step for step in STEPS if arguments.only is None or step.module in arguments.only]
    (OUT / "figures").mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()[0]
    outcomes = []
    for step in STEPS:
        if step in steps:
            outcomes.append(run_step(step, OUT))
        elif arguments.keep_others and (earlier := kept(step, OUT)) is not None:
            outcomes.append(earlier)
    analysis = ANALYSIS.read_text(encoding="utf-8") if ANALYSIS.exists() else ""
    page = render(figures.machine(load), outcomes, analysis)
    # A partial run does not overwrite the page of a whole one, unless it keeps the other figures.
    whole = arguments.only is None or arguments.keep_others
    output = arguments.output or (OUTPUT if whole else OUT / "benchmarks.md")
    output.parent.mkdir(parents=True, exist_ok=True)
    temporary = output.with_name(f".{output.name}.tmp")
    temporary.write_text(page, encoding="utf-8")
    temporary.replace(output)
    print(f"bench: wrote {output}", file=sys.stderr)
    return 0 if all(o.status == 0 and o.figures for o in outcomes if o.step in steps) else 1


if __name__ == "__main__":
    raise SystemExit(main())
