"""What a one-row change costs a screen, single file against sharded, side by side in one run.

A fresh repository under ``bench/out/delta/`` publishes a channel of fictional records (35,000 by default,
no photos: photos are content-addressed and unchanged rows' photos are never fetched again either way)
in both forms, as a publisher does while ``legacy_playlist`` is on. Two screens on 127.0.0.1 against a
real :class:`~signage.operator.hub.server.Hub` sync it from empty caches: one reading only the single file (as
screens before the sharded form do), one reading the header and shards. Then one row's amount changes,
the channel is republished, and each screen syncs again. Bytes are HTTP body bytes counted by
:class:`~signage.sync.fetcher.HttpFetcher`, metadata included; requests include python-tuf's 404 for the
next root version.

Target (issue 15): a one-row change downloads < 200 KB, metadata included, on a 35,000-record channel.
Usage: ``python -m bench.delta [--rows N] [--figures PATH]``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from bench.figures import Figure, at_most, command_line, machine, write
from bench.player import _table as text_table
from bench.sync_cost import SEED, Screen, Step, change_one_row, new_repository, publish, serve
from signage.operator.fictional import fictional_rows, write_csv
from signage.operator.publish.repo import BIN_PREFIX, header_path, playlist_path
from signage.operator.publish.sharded import read_header

OUT = Path(__file__).resolve().parent / "out" / "delta"
TARGET_BYTES = 200 * 1024
SECTION = "Playlist by delta (sharded channel)"


def measure(rows: int) -> dict[str, Step]:
    """The first sync and the one-row-change sync of each kind of screen."""
    work = OUT / f"rows-{rows}"
    repository, root = new_repository(work)
    source = write_csv(fictional_rows(rows, SEED, photos=False), work / "list.csv")
    publish(repository, source, None)
    header = read_header(repository, "bench")
    assert header is not None
    targets = repository.targets().signed.targets
    print(
        f"{rows:,} records: single file {targets[playlist_path('bench')].length:,} bytes; "
        f"header {targets[header_path('bench')].length:,} bytes, {len(header.shards)} shards, "
        f"{sum(1 for name in repository.snapshot().signed.meta if name.startswith(BIN_PREFIX))} bins"
    )
    steps: dict[str, Step] = {}
    with serve(repository.public) as url:
        screens = {
            "single file": Screen(url, root, work / "cache-single", sharded=False),
            "sharded": Screen(url, root, work / "cache-sharded", sharded=True),
        }
        try:
            for name, screen in screens.items():
                steps[f"{name}: first sync"] = screen.measure()
            publish(repository, change_one_row(source, work / "changed.csv"), None)
            for name, screen in screens.items():
                steps[f"{name}: one-row change"] = screen.measure()
                records = len(screen.sync.current(screen.sync.trusted_now()).records)
                print(f"{name}: {records:,} records on show after the change")
        finally:
            for screen in screens.values():
                screen.close()
    return steps


def main(argv: Sequence[str] | None = None) -> int:
    """Measure and print; with ``--figures`` also write the headline figure."""
    parser = argparse.ArgumentParser(prog="python -m bench.delta", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=35_000)
    parser.add_argument("--figures", type=Path)
    arguments = parser.parse_args(argv)
    print("\n".join(machine()))
    steps = measure(arguments.rows)
    rows = [["sync", "bytes", "requests", "seconds"]]
    rows += [[name, f"{s.bytes:,}", str(s.requests), f"{s.seconds:.2f}"] for name, s in steps.items()]
    print("\n".join(text_table(rows)))
    before, after = steps["single file: one-row change"], steps["sharded: one-row change"]
    met, shortfall = at_most(after.bytes / 1024, TARGET_BYTES / 1024, "KB")
    write(
        arguments.figures,
        [
            Figure(
                section=SECTION,
                name=f"One-row change, {arguments.rows:,} records, bytes downloaded (metadata included)",
                value=f"{after.bytes / 1024:,.1f} KB in {after.requests} requests "
                f"(single file: {before.bytes / 1024:,.1f} KB in {before.requests})",
                target="< 200 KB",
                met=met,
                shortfall=shortfall,
                command=command_line("bench.delta", argv),
            )
        ],
    )
    print(
        f"one-row change: {after.bytes:,} bytes sharded vs {before.bytes:,} single file; "
        f"target < {TARGET_BYTES:,}: {'met' if met else 'missed'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
