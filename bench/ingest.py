"""Hub ingest throughput on this machine: heartbeats/s and plays/s, over real HTTP on 127.0.0.1.

Starts a real hub (waitress, the Django hub beside the files as ``signage hub`` wires it, the default
SQLite database with WAL and ``synchronous=FULL``, or ``DATABASE_URL``'s) in this process, registers ``--screens`` screens, then runs ``--clients`` client
*processes* (so the clients do not share the hub's interpreter lock), each posting with keep-alive for
``--seconds``:

1. heartbeats, spread over all screens;
2. batches of ``--batch`` plays (distinct batch ids), spread over all screens.

The per-screen rate limit is switched off (``Limits(burst=...)`` very large), since it would measure
the limiter instead of the ingest; everything else is as ``signage hub`` runs it, including the cap on
concurrent telemetry requests, whose 503s are counted. Meanwhile this process fetches
``metadata/timestamp.json`` every 100 ms, to show what the ingest costs the files screens need.
Usage: ``python -m bench.ingest [--screens N] [--clients C] [--seconds S] [--batch B]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import requests

from signage.hub.screens.ingest import Limits, hash_token, new_token
from signage.hub.serve import make_hub

HASH = "ab" * 32


def _heartbeat(screen_id: str, sent_at: str) -> dict[str, Any]:
    return {
        "screen_id": screen_id,
        "channel": "bench",
        "playlist_version": 3,
        "revocations_version": 1,
        "verified_until": "2030-01-01T00:00:00Z",
        "last_sync": {"state": "unchanged", "message": "nothing new"},
        "uptime_s": 3600,
        "rss_bytes": 180_000_000,
        "free_disk_bytes": 20_000_000_000,
        "disk_read_only": False,
        "clock_offset_s": 0.1,
        "on_screen": "A1",
        "sent_at": sent_at,
    }


def _batch(screen_id: str, batch_id: str, size: int, day: str) -> dict[str, Any]:
    return {
        "batch_id": batch_id,
        "screen_id": screen_id,
        "plays": [
            {
                "screen_id": screen_id,
                "entry_id": f"E{index % 50}",
                "entry_hash": HASH,
                "playlist_version": 3,
                "started": f"{day}T00:{index // 60 % 60:02d}:{index % 60:02d}Z",
                "duration_ms": 10_000,
            }
            for index in range(size)
        ],
    }


def _client(job: tuple[str, str, list[tuple[str, str]], float, int, int]) -> Counter[int]:
    """One client process: post ``kind`` requests until the deadline; count the answers by status."""
    base, kind, screens, deadline, batch_size, number = job
    session = requests.Session()
    session.trust_env = False  # a proxy in the environment must not see 127.0.0.1
    statuses: Counter[int] = Counter()
    now = dt.datetime.now(dt.UTC)
    sent_at, day = now.strftime("%Y-%m-%dT%H:%M:%SZ"), now.strftime("%Y-%m-%d")
    index = 0
    while time.time() < deadline:
        screen_id, token = screens[index % len(screens)]
        headers = {"Authorization": f"Bearer {token}"}
        if kind == "heartbeat":
            response = session.post(
                f"{base}/telemetry/heartbeat",
                json=_heartbeat(screen_id, sent_at),
                headers=headers,
                timeout=30,
            )
        else:
            body = _batch(screen_id, f"{number:08x}{index:024x}", batch_size, day)
            response = session.post(f"{base}/telemetry/plays", json=body, headers=headers, timeout=30)
        statuses[response.status_code] += 1
        index += 1
    session.close()
    return statuses


def _phase(
    base: str, kind: str, screens: list[tuple[str, str]], arguments: argparse.Namespace
) -> tuple[Counter[int], float, list[float]]:
    """Run the clients for one kind of request; the statuses, the seconds, and file GET latencies."""
    # Spawned, not forked: this process runs the hub's threads, which a fork would copy mid-flight.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(arguments.clients, mp_context=context) as pool:
        # Warm the workers up (imports) before the clock starts.
        list(pool.map(time.sleep, [0.0] * arguments.clients))
        started = time.time()
        deadline = started + arguments.seconds
        jobs = [
            (base, kind, screens[number :: arguments.clients], deadline, arguments.batch, number)
            for number in range(arguments.clients)
        ]
        futures = [pool.submit(_client, job) for job in jobs]
        latencies = _probe_files(base, deadline)
        statuses: Counter[int] = Counter()
        for future in futures:
            statuses.update(future.result())
        elapsed = time.time() - started
    return statuses, elapsed, latencies


def _probe_files(base: str, deadline: float) -> list[float]:
    """GET timestamp.json every 100 ms until ``deadline``; the latencies in seconds."""
    latencies = []
    with requests.Session() as session:
        session.trust_env = False
        while time.time() < deadline:
            started = time.perf_counter()
            response = session.get(f"{base}/metadata/timestamp.json", timeout=30)
            latencies.append(time.perf_counter() - started)
            response.raise_for_status()
            time.sleep(0.1)
    return latencies


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--screens", type=int, default=200)
    parser.add_argument("--clients", type=int, default=4, help="client processes")
    parser.add_argument("--seconds", type=float, default=10.0, help="per phase")
    parser.add_argument("--batch", type=int, default=100, help="plays per batch")
    arguments = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="signage-bench-ingest-") as folder:
        root = Path(folder)
        (root / "public" / "metadata").mkdir(parents=True)
        (root / "public" / "metadata" / "timestamp.json").write_bytes(b'{"signed": {"_type": "timestamp"}}\n')
        now = dt.datetime.now(dt.UTC)
        # No scheduled refresh and no channels: there is no repository to sign here, only its public/.
        hub = make_hub(
            root,
            clock=lambda: dt.datetime.now(dt.UTC),
            refresh=lambda: None,
            port=0,
            limits=Limits(burst=10**9, refill_seconds=1.0),
            channels=dict,
        )
        from signage.hub.screens import records

        screens = [(f"bench-{number:04d}", new_token()) for number in range(arguments.screens)]
        for screen_id, token in screens:
            records.add_screen(screen_id, hash_token(token), added_at=now)
        hub.start()
        base = f"http://127.0.0.1:{hub.port}"
        try:
            beats, beat_seconds, beat_latencies = _phase(base, "heartbeat", screens, arguments)
            plays, play_seconds, play_latencies = _phase(base, "plays", screens, arguments)
            today = now.date()
            rows = records.exposure(today - dt.timedelta(days=1), today + dt.timedelta(days=1))
            stored = sum(row.plays for row in rows)
        finally:
            hub.stop()

    heartbeats_per_s = beats[200] / beat_seconds
    plays_per_s = plays[200] * arguments.batch / play_seconds
    assert stored == plays[200] * arguments.batch, (stored, plays)
    command = "python -m bench.ingest " + " ".join(sys.argv[1:] if argv is None else argv)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.platform()}"
    )
    print(f"date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC")
    print(f"command: {command.strip()}")
    print(
        f"hub: waitress 8 threads, SQLite (WAL, synchronous=FULL), {arguments.screens} screens, "
        f"{arguments.clients} client processes, {arguments.seconds:g} s per phase, rate limit off"
    )
    print()
    print(f"{'phase':<22}{'answered 200':>14}{'other':>18}{'throughput':>22}{'GET timestamp.json':>28}")
    for label, statuses, rate, unit, latencies in (
        ("heartbeats", beats, heartbeats_per_s, "heartbeats/s", beat_latencies),
        (f"plays ({arguments.batch}/batch)", plays, plays_per_s, "plays/s", play_latencies),
    ):
        other = (
            ", ".join(f"{status}: {count}" for status, count in sorted(statuses.items()) if status != 200)
            or "-"
        )
        median_ms = statistics.median(latencies) * 1000
        worst_ms = max(latencies) * 1000
        print(
            f"{label:<22}{statuses[200]:>14}{other:>18}{rate:>14,.0f} {unit:<8}"
            f"{f'median {median_ms:.1f} ms, max {worst_ms:.0f} ms':>28}"
        )
    print(f"plays stored: {stored} (= accepted, each batch once)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
