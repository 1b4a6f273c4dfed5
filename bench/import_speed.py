"""Import time for a large court export, with and without photos (issue 2, section 6).

Generates 35,000 fictional rows and a distinct portrait file for every person row (cached under
``bench/out/`` so later runs skip it), then times ``import_file`` on the same CSV with photos and without,
alternating the two in each round so both see the same machine load. Reports medians, the ratio and the
per-photo cost. Usage: ``python -m bench.import_speed [--rows N] [--rounds R]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from bench import figures
from bench.figures import Figure, command_line, machine
from signage.operator.fictional import fictional_rows, portrait, write_csv
from signage.operator.importer import ImportOptions, import_file

OUT = Path(__file__).resolve().parent / "out"
SEED = 35_000
# Court portraits are ID-card sized; 358×441 is the size of a second-generation ID card photo.
PHOTO_SIZE = (358, 441)
# Distinct drawings are slow to make; each file is one of these, with its own number stamped into its
# pixels, so every file differs and is decoded for real.
DISTINCT_DRAWINGS = 300


def _write_photos(job: tuple[Path, list[tuple[int, str]]]) -> int:
    folder, items = job
    bases = {seed: portrait(seed, PHOTO_SIZE) for seed in range(DISTINCT_DRAWINGS)}
    for index, name in items:
        image = bases[index % DISTINCT_DRAWINGS].copy()
        for bit in range(17):  # the index in black and white squares along the bottom edge
            colour = (0, 0, 0) if index >> bit & 1 else (255, 255, 255)
            image.paste(colour, (bit * 8, PHOTO_SIZE[1] - 8, bit * 8 + 8, PHOTO_SIZE[1]))
        image.save(folder / name, format="JPEG", quality=88)
    return len(items)


def prepare(rows_count: int) -> tuple[Path, Path]:
    """The CSV and the photo folder, generated once per row count."""
    folder = OUT / f"import-{rows_count}"
    csv_path, photos = folder / "records.csv", folder / "photos"
    if csv_path.exists():
        return csv_path, photos
    photos.mkdir(parents=True, exist_ok=True)
    rows = fictional_rows(rows_count, SEED, photos=True)
    names = [(i, row["照片"]) for i, row in enumerate(rows) if row.get("照片")]
    workers = os.cpu_count() or 1
    chunks = [(photos, names[start::workers]) for start in range(workers)]
    with ProcessPoolExecutor(workers) as pool:
        written = sum(pool.map(_write_photos, chunks))
    print(f"generated {rows_count} rows and {written} portraits in {folder}")
    write_csv(rows, csv_path)  # last: its presence means the set is complete
    return csv_path, photos


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=35_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--figures", type=Path, default=None, help="also write the headline figures as JSON here"
    )
    arguments = parser.parse_args(argv)
    csv_path, photos = prepare(arguments.rows)
    today = dt.date(2026, 11, 26)
    timings: dict[str, list[float]] = {"without photos": [], "with photos": []}
    accepted = photographed = 0
    for _ in range(arguments.rounds):
        for label, folder in (("without photos", None), ("with photos", photos)):
            started = time.perf_counter()
            report = import_file(csv_path, ImportOptions(today=today, photos=folder))
            timings[label].append(time.perf_counter() - started)
            accepted = len(report.records)
            photographed = max(photographed, sum(record.photo is not None for record in report.records))
    bare = statistics.median(timings["without photos"])
    full = statistics.median(timings["with photos"])
    print("\n".join(machine()))
    print(
        f"rows: {arguments.rows} ({accepted} accepted), photos: {photographed} at {PHOTO_SIZE[0]}x{PHOTO_SIZE[1]}"
    )
    print(f"rounds: {arguments.rounds}, alternating; medians below")
    print(f"  import without photos: {bare:7.2f} s  ({arguments.rows / bare:,.0f} rows/s)")
    print(
        f"  import with photos:    {full:7.2f} s  ({(full - bare) / max(photographed, 1) * 1000:.2f} ms per photo)"
    )
    print(f"  ratio with/without:    {full / bare:7.1f}x")
    command = command_line("bench.import_speed", argv)
    section = f"Import ({arguments.rows:,} rows)"
    figures.write(
        arguments.figures,
        [
            Figure(
                section,
                "Import without photos",
                f"{bare:.2f} s ({arguments.rows / bare:,.0f} rows/s)",
                command,
            ),
            Figure(
                section,
                f"Import with {photographed:,} photos",
                f"{full:.2f} s ({(full - bare) / max(photographed, 1) * 1000:.2f} ms per photo)",
                command,
            ),
        ],
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
