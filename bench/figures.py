"""The figures every benchmark hands to ``make bench``, and the machine they were measured on.

Each ``bench.<name>`` module prints its own detailed report and, given ``--figures PATH``, also writes the
few headline figures it measured as JSON (:func:`write`). ``python -m bench`` (``make bench``) runs the
modules one after another in separate processes and turns their figures into the table of
``docs/benchmarks.md`` (:mod:`bench.__main__`). A figure carries the command that reproduces it, so a
reader can rerun any line alone.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shlex
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Figure:
    """One line of the benchmarks table.

    Attributes:
        section: The issue's heading it answers, e.g. ``"Against a Chromium kiosk"``.
        name: What was measured, e.g. ``"Steady PSS, 2 s dwell, Chromium / player"``.
        value: The measured value as shown, with its unit and the medians behind a ratio,
            e.g. ``"3.21× (412.0 MiB / 128.4 MiB)"``.
        target: The target it is held to, if any, e.g. ``"≥ 4×"``.
        met: Whether the target was met; ``None`` when there is no target.
        shortfall: When missed, by how much, e.g. ``"0.79× short (20 %)"``.
        command: The command that reproduces it, from the repository root.
    """

    section: str
    name: str
    value: str
    command: str
    target: str = ""
    met: bool | None = None
    shortfall: str = ""


def command_line(module: str, argv: Sequence[str] | None) -> str:
    """The command that reruns ``module`` with the arguments it was given (``--figures`` left out)."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    kept: list[str] = []
    skip = False
    for argument in arguments:
        if skip:
            skip = False
            continue
        if argument == "--figures":
            skip = True
            continue
        if argument.startswith("--figures="):
            continue
        kept.append(argument)
    return shlex.join(["python", "-m", module, *kept])


def at_least(ratio: float, target: float) -> tuple[bool, str]:
    """Whether ``ratio`` meets "at least ``target``×", and the shortfall text when it does not."""
    if ratio >= target:
        return True, ""
    return False, f"{target - ratio:.2f}× short ({(target - ratio) / target:.0%} below the target)"


def at_most(value: float, limit: float, unit: str) -> tuple[bool, str]:
    """Whether ``value`` is within ``limit``, and the excess text when it is not."""
    if value <= limit:
        return True, ""
    return False, f"{value - limit:.2f} {unit} over ({(value - limit) / limit:.0%} above the limit)"


def write(path: Path | None, figures: Sequence[Figure]) -> None:
    """Write ``figures`` as JSON to ``path`` (nothing when ``path`` is ``None``)."""
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([asdict(figure) for figure in figures], ensure_ascii=False, indent=1) + "\n")


def read(path: Path) -> list[Figure]:
    """The figures a module wrote with :func:`write`."""
    return [Figure(**item) for item in json.loads(path.read_text(encoding="utf-8"))]


def machine(load_at_start: float | None = None) -> list[str]:
    """Lines describing the machine, the software and the date, for the head of a report."""
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "?",
    )
    memory = next(
        int(line.split()[1]) * 1024
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    try:
        from PyQt6.QtCore import PYQT_VERSION_STR, QT_VERSION_STR  # noqa: TID251 - bench code

        qt = f"Qt {QT_VERSION_STR} (PyQt6 {PYQT_VERSION_STR})"
    except ImportError:  # pragma: no cover - PyQt6 is a dependency
        qt = "Qt (not importable)"
    package = subprocess.run(
        ["dpkg-query", "--show", "--showformat=${Version}", "xvfb"],
        capture_output=True,
        text=True,
        check=False,
    )
    xserver = f"Xvfb {package.stdout.strip() or '(version unknown)'}"
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT)
    dirty = subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True, cwd=ROOT)
    load = "" if load_at_start is None else f"; load average (1 min) {load_at_start:.2f} at the start, "
    load += "" if load_at_start is None else f"{os.getloadavg()[0]:.2f} at the end"
    return [
        f"machine: {platform.machine()}, {model}, {os.cpu_count()} cores, {memory / 2**30:.1f} GiB RAM, "
        f"Linux {platform.release()}",
        f"software: Python {platform.python_version()}, {qt}, {xserver}",
        f"date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; signage at {head.stdout.strip() or '?'}"
        f"{' with uncommitted changes' if dirty.stdout.strip() else ''}{load}",
    ]
