"""Peak memory and time of ``signage check`` on hostile files and on realistic 20 MB exports (issue 10).

Issue 10 asks that any input up to 20 MB is processed in under 500 MB of memory and 60 s, and that
neither of its two bombs can exhaust memory. Each input is checked by the real command line
(``python -m signage check --json FILE``) in a child process; the child's peak resident set size comes
from ``wait4`` and its time from the wall clock. The inputs:

* the bombs of ``tests/bombs.py`` (a 30-million-cell row in 875 KB, 30 million shared strings,
  a member whose declared size lies, a value in column XFD, billion laughs, and 12 million tiny
  elements, the slowest a part can be to parse per byte);
* a realistic CSV and a realistic XLSX of 100,000 fictional rows (the row limit), padded with an
  ignored 备注 column of varied text to about 20 MB each;
* a CSV of 100,000 refused rows, for the bounded report.

With ``--before`` it also reads each .xlsx input the way the importer did before this issue (openpyxl in
read-only mode, every row), under an address-space limit of ``--before-limit`` MiB so a bomb cannot take
the machine with it; a MemoryError there is reported as "over the limit".
Usage: ``python -m bench.import_bombs [--before] [--figures PATH]``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench import figures
from bench.figures import ROOT, Figure, command_line, machine
from signage.operator.fictional import fictional_rows, write_csv
from tests import bombs

OUT = ROOT / "bench" / "out" / "import-bombs"
SECTION = "Hostile and large imports"
LIMIT_MIB = 500
LIMIT_S = 60.0
ROWS = 100_000
TARGET_BYTES = 20 * 1024 * 1024
SEED = 10
# Varied Han text for the padding column: common characters, so the file compresses as real text does.
_HAN = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可也你能而子那得"

_READ_WITH_OPENPYXL = """
import sys, openpyxl
book = openpyxl.load_workbook(sys.argv[1], read_only=True, data_only=True)
rows = 0
for _ in book.worksheets[0].iter_rows(values_only=True):
    rows += 1
print(rows, "rows")
"""


@dataclass(frozen=True)
class Run:
    """One child process: its peak RSS, its time and how it ended."""

    peak_mib: float
    seconds: float
    outcome: str


def child(argv: list[str], *, address_limit_mib: int | None = None) -> Run:
    """Run ``argv`` and measure it; the peak RSS is the child's own, from ``wait4``."""

    def limit() -> None:
        if address_limit_mib is not None:
            size = address_limit_mib * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (size, size))

    started = time.perf_counter()
    process = subprocess.Popen(
        argv,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=limit,  # the child runs no threads before exec
    )
    assert process.stdout is not None and process.stderr is not None
    stdout = process.stdout.read()
    stderr = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    return Run(usage.ru_maxrss / 1024, seconds, _outcome(process.returncode, stdout, stderr))


def _outcome(code: int, stdout: bytes, stderr: bytes) -> str:
    if b"MemoryError" in stderr:
        return "MemoryError (over the address-space limit)"
    try:
        document = json.loads(stdout)
    except ValueError:
        lines = (stdout + b"\n" + stderr).decode(errors="replace").strip().splitlines()
        return f"exit {code}: {lines[-1][:150] if lines else 'no output'}"
    return (
        f"{document['rows_read']:,} rows read, {document['accepted']:,} accepted, "
        f"{document['refused_row_count']:,} refused, report {len(stdout) / 1024:,.0f} KiB"
    )


def _note(rng: random.Random, low: int = 40, high: int = 80) -> str:
    return "".join(rng.choice(_HAN) for _ in range(rng.randint(low, high)))


def realistic_rows(seed: int) -> list[dict[str, str]]:
    """100,000 fictional rows with an ignored 备注 column of varied text."""
    rng = random.Random(seed)
    rows = fictional_rows(ROWS, seed, photos=False)
    for row in rows:
        row["备注"] = _note(rng)
    return rows


def realistic_csv(path: Path) -> Path:
    """About 20 MB of CSV: 100,000 fictional rows, the 备注 column sized so the file is that large."""
    rows = realistic_rows(SEED)
    notes = [row.pop("备注") for row in rows]
    write_csv([{**row, "备注": ""} for row in rows], path)
    budget = (TARGET_BYTES - path.stat().st_size) // (3 * len(rows))  # 3 bytes a character in UTF-8
    for row, note in zip(rows, notes, strict=True):
        row["备注"] = (note * (budget // len(note) + 1))[: max(budget, 0)]
    return write_csv(rows, path)


def realistic_xlsx(path: Path) -> Path:
    """About 20 MB of .xlsx: the same rows, a longer 备注 to reach the size.

    openpyxl writes inline strings, as Apache POI's streaming writer (common in court systems) does; it
    makes a larger worksheet part than Excel's shared strings.
    """
    import openpyxl

    rng = random.Random(SEED + 1)
    rows = fictional_rows(ROWS, SEED, photos=False)
    headers = [*rows[0], "备注"]
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("名单")
    sheet.append(headers)
    for row in rows:
        sheet.append([*row.values(), _note(rng, 40, 112)])
    book.save(path)
    return path


def refused_rows_csv(path: Path) -> Path:
    """100,000 rows, each refused (a court name too short): the report must stay bounded."""
    rows = fictional_rows(ROWS, SEED, photos=False)
    for row in rows:
        row["执行法院"] = "法院"
    return write_csv(rows, path)


INPUTS: dict[str, tuple[str, Callable[[Path], Path]]] = {
    "row": ("one row of 30 million cells (.xlsx)", bombs.one_row_of_cells),
    "strings": ("30 million shared strings (.xlsx)", bombs.shared_strings_bomb),
    "lies": ("a member whose declared size lies (.xlsx)", bombs.lying_size),
    "wide": ("a value in column XFD (.xlsx)", bombs.wide_sheet),
    "laughs": ("billion laughs (.xlsx)", bombs.billion_laughs),
    "elements": ("12 million empty elements in one row (.xlsx)", bombs.element_flood),
    "realistic-xlsx": ("realistic export, 100,000 rows (.xlsx)", realistic_xlsx),
    "realistic-csv": ("realistic export, 100,000 rows (.csv)", realistic_csv),
    "refused-csv": ("100,000 refused rows (.csv)", refused_rows_csv),
}


def prepare(name: str) -> Path:
    """The input file, built once under ``bench/out/import-bombs``."""
    _, build = INPUTS[name]
    suffix = ".csv" if name.endswith("csv") else ".xlsx"
    path = OUT / f"{name}{suffix}"
    if not path.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.stem + ".partial" + suffix)
        build(partial)
        partial.rename(path)  # last: its presence means the file is complete
    return path


def main(argv: list[str] | None = None) -> int:
    """Build the inputs, check each in a child process, print a table and write the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=sorted(INPUTS), help="check only these inputs")
    parser.add_argument("--before", action="store_true", help="also read each .xlsx with openpyxl, as before")
    parser.add_argument("--before-limit", type=int, default=1024, help="address space for --before, MiB")
    parser.add_argument(
        "--figures", type=Path, default=None, help="also write the headline figures as JSON here"
    )
    arguments = parser.parse_args(argv)
    command = command_line("bench.import_bombs", argv)
    found: list[Figure] = []
    print("\n".join(machine()))
    print(f"target: every input under {LIMIT_MIB} MiB peak RSS and {LIMIT_S:.0f} s\n")
    for name in arguments.only or list(INPUTS):
        label, _ = INPUTS[name]
        path = prepare(name)
        size = path.stat().st_size
        run = child([sys.executable, "-m", "signage", "check", "--json", str(path)])
        met_memory, _ = figures.at_most(run.peak_mib, LIMIT_MIB, "MiB")
        met_time, _ = figures.at_most(run.seconds, LIMIT_S, "s")
        shortfall = "" if met_memory and met_time else f"{run.peak_mib:.0f} MiB, {run.seconds:.1f} s"
        print(f"{label} ({size / 1024:,.0f} KiB)")
        print(f"  signage check: {run.peak_mib:7.1f} MiB peak, {run.seconds:6.2f} s  ({run.outcome})")
        found.append(
            Figure(
                SECTION,
                f"signage check, {label}, {size / 1_048_576:.2f} MB",
                f"{run.peak_mib:.0f} MiB peak, {run.seconds:.1f} s ({run.outcome})",
                command,
                target=f"≤ {LIMIT_MIB} MiB, ≤ {LIMIT_S:.0f} s",
                met=met_memory and met_time,
                shortfall=shortfall,
            )
        )
        if arguments.before and path.suffix == ".xlsx":
            before = child(
                [sys.executable, "-c", _READ_WITH_OPENPYXL, str(path)],
                address_limit_mib=arguments.before_limit,
            )
            over = "MemoryError" in before.outcome
            shown = f"over {arguments.before_limit:,} MiB" if over else f"{before.peak_mib:.0f} MiB peak"
            print(f"  openpyxl read-only (before): {shown}, {before.seconds:6.2f} s  ({before.outcome})")
            found.append(
                Figure(
                    SECTION,
                    f"before: openpyxl read-only reading {label}",
                    f"{shown}, {before.seconds:.1f} s ({before.outcome})",
                    command,
                )
            )
    figures.write(arguments.figures, found)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
