"""SIGKILL a screen recording plays, many times; every play it reported recorded is still there.

The issue asks: "Nothing is lost on a power cut, except at most the slide on screen at that moment."
``play_worker.py`` records plays in a loop (and batches and acknowledges some) and prints each step only
after it returned. Each trial starts the worker on the same database, kills it with SIGKILL a random delay
after it reported a random number of plays (counted, so every trial gets somewhere on a slow machine),
and then checks the file from this process against what the worker printed:

- the database opens without being moved aside, and holds no play twice;
- every play reported recorded and not reported acknowledged is there; at most the one play in flight
  (the number after the last one reported) is there without having been reported;
- an acknowledgement in flight has happened wholly or not at all (all of the batch's plays or none);
- a reported, unacknowledged batch still holds its plays under the same id: after the restart the retry
  carries the id the hub may already have seen.

A kill only tests the process dying; the power-cut half of the guarantee is ``synchronous=FULL`` (see
``signage/sync/telemetry/plays.py``), which a test without pulling the plug cannot show.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from signage.sync.telemetry.plays import PlayLog
from tests.telemetry.conftest import utc_now

WORKER = Path(__file__).with_name("play_worker.py")
TRIALS = 10
SEED = 20261126


def entry_id(number: int) -> str:
    return f"E{number:07d}"


@dataclass
class Model:
    """What the worker has reported, over all trials."""

    present: set[str] = field(default_factory=set)
    batches: dict[str, list[str]] = field(default_factory=dict)


def _run_trial(database: Path, first: int, after: int, delay: float) -> list[str]:
    """Start the worker, kill it ``delay`` seconds after it reported ``after`` plays recorded; its complete
    output lines. Counted in plays, so that a slow disk or a busy CPU still gets each trial that far."""
    with subprocess.Popen(
        [sys.executable, str(WORKER), str(database), str(first)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as worker:
        assert worker.stdout is not None
        ready = worker.stdout.readline()
        assert ready == "ready\n", worker.stderr.read() if worker.stderr else ready
        seen: list[str] = []
        while sum(line.startswith("recorded ") for line in seen) < after:
            line = worker.stdout.readline()
            assert line, worker.stderr.read() if worker.stderr else "the worker ended"
            seen.append(line)
        time.sleep(delay)  # deliberate: the kill lands at a random point after that, not a wait
        os.kill(worker.pid, signal.SIGKILL)
        # Not communicate(): it reads the pipe directly and would skip what readline() already buffered.
        output = "".join(seen) + worker.stdout.read()
        errors = worker.stderr.read() if worker.stderr else ""
        worker.wait(timeout=10)
    assert worker.returncode == -signal.SIGKILL, errors
    # A line cut off by the kill was never complete: the step it reports may or may not have happened.
    return [line for line in output.splitlines(keepends=True) if line.endswith("\n")]


def _stored(database: Path) -> list[tuple[str, str | None]]:
    with sqlite3.connect(database) as connection:
        return connection.execute("SELECT entry_id, batch_id FROM plays ORDER BY seq").fetchall()


def test_sigkill_loses_at_most_the_play_in_flight(tmp_path: Path) -> None:
    database = tmp_path / "plays.db"
    rng = random.Random(SEED)
    model = Model()
    recorded_total = 0
    for trial in range(TRIALS):
        first = trial * 100_000
        lines = _run_trial(database, first, rng.randint(1, 10), rng.uniform(0.0, 0.2))
        last_number = first - 1
        last_batch: str | None = None
        for line in lines:
            kind, *rest = line.split()
            if kind == "recorded":
                last_number = int(rest[0])
                model.present.add(entry_id(last_number))
                recorded_total += 1
            elif kind == "batch":
                batch_id, *ids = rest
                # A batch asked for again must come back with the same plays.
                assert model.batches.setdefault(batch_id, ids) == ids
                last_batch = batch_id
            elif kind == "acked":
                model.present.difference_update(model.batches.pop(rest[0]))
                last_batch = None
        in_flight = entry_id(last_number + 1)
        # An acknowledgement directly after the last reported batch may have been under way.
        maybe_acked: list[str] = []
        if last_batch is not None and lines and lines[-1].startswith("batch"):
            maybe_acked = model.batches[last_batch]

        with PlayLog(database, clock=utc_now) as log:
            assert not log.moved_aside, f"trial {trial}: the database was unusable after SIGKILL"
        rows = _stored(database)
        ids = [row[0] for row in rows]
        assert len(ids) == len(set(ids)), f"trial {trial}: a play is stored twice"
        stored = set(ids)
        required = model.present - set(maybe_acked)
        assert required <= stored, f"trial {trial}: lost reported plays {sorted(required - stored)[:5]}"
        unexpected = stored - model.present - {in_flight}
        assert not unexpected, f"trial {trial}: unexpected plays {sorted(unexpected)[:5]}"
        if maybe_acked:
            kept = set(maybe_acked) & stored
            assert kept in (set(), set(maybe_acked)), f"trial {trial}: half an acknowledgement"
            if not kept:
                model.batches.pop(last_batch or "")  # a batch acknowledged as the worker died
                model.present.difference_update(maybe_acked)
        if in_flight in stored:
            model.present.add(in_flight)
        batch_of = dict(rows)
        for batch_id, batch_ids in model.batches.items():
            assert {batch_of[entry] for entry in batch_ids} == {batch_id}, (
                f"trial {trial}: batch {batch_id} lost its id"
            )
        assert len({batch for batch in batch_of.values() if batch is not None}) <= 1

    assert recorded_total >= TRIALS  # by construction: every trial recorded at least one play
    # Finally the survivors upload as usual, each exactly once.
    sent: list[str] = []
    with PlayLog(database, clock=utc_now) as log:
        while (batch := log.next_batch()) is not None:
            sent.extend(play.entry_id for play in batch.plays)
            log.acknowledge(batch.batch_id)
    assert len(sent) == len(set(sent))
    assert set(sent) == model.present
