"""Records plays in a loop until killed; ``tests/telemetry/test_crash.py`` sends it SIGKILL.

Usage: ``python play_worker.py DATABASE FIRST_NUMBER``

The worker opens the log, prints ``ready``, and then loops: it records play number *n* and prints
``recorded n`` only after :meth:`PlayLog.record` returned (committed and synced). Every seventh play it asks
for a batch of at most five and prints ``batch <id> <entry ids...>``; every third such batch it acknowledges
and prints ``acked <id>``. Nothing is patched: this is the production code path.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

from signage.sync.telemetry.plays import Play, PlayLog

START = dt.datetime(2026, 11, 26, 8, 0, tzinfo=dt.UTC)


def entry_id(number: int) -> str:
    """The entry id of play ``number``; the test parses it back."""
    return f"E{number:07d}"


def main(argv: list[str]) -> int:
    """Record until killed."""
    database, first = Path(argv[0]), int(argv[1])
    log = PlayLog(database, clock=lambda: dt.datetime.now(dt.UTC))
    print("ready", flush=True)
    count = 0
    while True:
        number = first + count
        count += 1
        log.record(
            Play(
                "crash-worker",
                entry_id(number),
                f"{number:064x}",
                1,
                START + dt.timedelta(seconds=10 * number),
                10_000,
            )
        )
        print(f"recorded {number}", flush=True)
        if count % 7 == 0:
            batch = log.next_batch(limit=5)
            if batch is not None:
                print("batch", batch.batch_id, *(play.entry_id for play in batch.plays), flush=True)
                if count % 21 == 0:
                    log.acknowledge(batch.batch_id)
                    print(f"acked {batch.batch_id}", flush=True)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
