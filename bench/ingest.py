"""Hub ingest throughput on this machine: heartbeats/s and plays/s, over real HTTP on 127.0.0.1, embedded and
through nginx.

Starts a real hub (waitress, the Django hub beside the files as ``signage hub`` wires it, the default
SQLite database with WAL and ``synchronous=FULL``, or ``DATABASE_URL``'s) in this process, registers
``--screens`` screens (each sends one heartbeat first, so the hub knows its channel), then runs
``--clients`` client *processes* (so the clients do not share the hub's interpreter lock), each posting with
keep-alive for ``--seconds``:

1. heartbeats, spread over all screens;
2. batches of ``--batch`` plays (distinct batch ids), spread over all screens; every play names an entry of
   the version its channel published, so every play is checked and stored (none refused).

``--through embedded`` posts to the hub itself (``signage hub`` as ``make demo`` runs it); ``--through
nginx`` to Debian's nginx running the file ``signage hub nginx-config`` prints, unprivileged, in front of
it (skipped when ``/usr/sbin/nginx`` is missing). nginx limits requests per client address (20 a second for
the hub, sized for 200 buses behind one NAT address): each screen posts from an address of its own
(127.0.x.y), as screens on mobile SIMs do, so the figure is the hub's intake, not one address's allowance.

The hub's per-screen rate limit is switched off (``Limits(burst=...)`` very large), since it would measure
the limiter instead of the ingest; everything else is as ``signage hub`` runs it, including the cap on
concurrent telemetry requests, whose 503s are counted. Meanwhile this process fetches
``metadata/timestamp.json`` every 100 ms, to show what the ingest costs the files screens need.
Usage: ``python -m bench.ingest [--screens N] [--clients C] [--seconds S] [--batch B]
[--through embedded|nginx|both] [--figures PATH]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import signal
import statistics
import subprocess
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from bench import figures
from bench.figures import Figure
from signage.operator.hub.screens.ingest import Limits, hash_token, new_token
from signage.operator.hub.screens.provenance import Issued
from signage.operator.hub.serve import make_hub

HASH = "ab" * 32
SECTION = "Hub intake (telemetry)"
NGINX = Path("/usr/sbin/nginx")
CHANNEL = "bench"
VERSION = 3
#: What the bench channel published: version 3, long ago, with entries E0 to E49.
PUBLISHED = Issued(dt.datetime(2020, 1, 1, tzinfo=dt.UTC), frozenset(f"E{n}" for n in range(50)))


def _published(channel: str, version: int) -> Issued | None:
    return PUBLISHED if (channel, version) == (CHANNEL, VERSION) else None


class _From(HTTPAdapter):
    """Connections from one local address (127.0.x.y): a screen of its own, for nginx's per-address limits."""

    def __init__(self, address: str) -> None:
        self._address = address
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["source_address"] = (self._address, 0)
        super().init_poolmanager(*args, **kwargs)


def _address(index: int) -> str:
    return f"127.0.{1 + index // 250}.{1 + index % 250}"


def _heartbeat(screen_id: str, sent_at: str) -> dict[str, Any]:
    return {
        "screen_id": screen_id,
        "channel": CHANNEL,
        "playlist_version": VERSION,
        "revocations_version": 1,
        # A day ahead, as a fresh playlist's expiry: the hub refuses times far outside a plausible range.
        "verified_until": (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "last_sync": {"state": "unchanged", "message": "nothing new"},
        "uptime_s": 3600,
        "rss_bytes": 180_000_000,
        "free_disk_bytes": 20_000_000_000,
        "disk_read_only": False,
        "clock_offset_s": 0.1,
        "on_screen": "A1",
        "sent_at": sent_at,
    }


def _batch(screen_id: str, batch_id: str, size: int, start: dt.datetime) -> dict[str, Any]:
    return {
        "batch_id": batch_id,
        "screen_id": screen_id,
        "plays": [
            {
                "screen_id": screen_id,
                "entry_id": f"E{index % 50}",
                "entry_hash": HASH,
                "playlist_version": VERSION,
                "started": (start + dt.timedelta(seconds=index)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "duration_ms": 10_000,
            }
            for index in range(size)
        ],
    }


def _sessions(screens: list[tuple[str, str, int]], own_addresses: bool) -> dict[str, requests.Session]:
    """A keep-alive session per screen; from the screen's own local address when ``own_addresses``."""
    sessions = {}
    for screen_id, _, index in screens:
        session = requests.Session()
        session.trust_env = False  # a proxy in the environment must not see 127.0.0.1
        if own_addresses:
            adapter = _From(_address(index))
            session.mount("http://", adapter)
        sessions[screen_id] = session
    return sessions


def _client(job: tuple[str, str, list[tuple[str, str, int]], float, int, int, bool]) -> Counter[int]:
    """One client process: post ``kind`` requests until the deadline; count the answers by status."""
    base, kind, screens, deadline, batch_size, number, own_addresses = job
    sessions = _sessions(screens, own_addresses)
    statuses: Counter[int] = Counter()
    now = dt.datetime.now(dt.UTC)
    sent_at = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    start = now - dt.timedelta(hours=2)
    index = 0
    while time.time() < deadline:
        screen_id, token, _ = screens[index % len(screens)]
        session = sessions[screen_id]
        headers = {"Authorization": f"Bearer {token}"}
        if kind == "heartbeat":
            response = session.post(
                f"{base}/telemetry/heartbeat",
                json=_heartbeat(screen_id, sent_at),
                headers=headers,
                timeout=30,
            )
        else:
            body = _batch(screen_id, f"{number:08x}{index:024x}", batch_size, start)
            response = session.post(f"{base}/telemetry/plays", json=body, headers=headers, timeout=30)
        statuses[response.status_code] += 1
        index += 1
    for session in sessions.values():
        session.close()
    return statuses


def _phase(
    base: str,
    kind: str,
    screens: list[tuple[str, str, int]],
    arguments: argparse.Namespace,
    own_addresses: bool,
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
            (
                base,
                kind,
                screens[number :: arguments.clients],
                deadline,
                arguments.batch,
                # Distinct batch ids in every run: a batch id seen before would be a duplicate, not counted.
                number + (1000 if own_addresses else 0),
                own_addresses,
            )
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


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start_nginx(root: Path, hub_port: int) -> tuple[subprocess.Popen[bytes], str]:
    """nginx with the generated configuration in front of the hub, unprivileged, in ``root/nginx``."""
    from signage.operator.hub.console.uploads import MAX_UPLOAD_BYTES
    from signage.operator.hub.nginx import STATUS_PATH, make_site, render

    port = _free_port()
    site = make_site(
        root / "public",
        upstream=f"127.0.0.1:{hub_port}",
        listen=f"127.0.0.1:{port}",
        upload_bytes=MAX_UPLOAD_BYTES,
    )
    prefix = root / "nginx"
    prefix.mkdir()
    (prefix / "nginx.conf").write_text(render(site), encoding="utf-8")
    directives = "daemon off;" + (" user root;" if os.geteuid() == 0 else "")
    with (prefix / "stderr.log").open("ab") as log:
        process = subprocess.Popen(
            [str(NGINX), "-c", str(prefix / "nginx.conf"), "-p", f"{prefix}/", "-g", directives],
            stdout=log,
            stderr=log,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if requests.get(url + STATUS_PATH, timeout=5).status_code == 200:
                return process, url
        except requests.ConnectionError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"nginx did not start: {(prefix / 'stderr.log').read_text(errors='replace')[-2000:]}")


def _stop_nginx(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGQUIT)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _warm_up(base: str, screens: list[tuple[str, str, int]], own_addresses: bool) -> None:
    """One heartbeat per screen: the hub learns each screen's channel before its plays."""
    sessions = _sessions(screens, own_addresses)
    sent_at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    for screen_id, token, _ in screens:
        response = sessions[screen_id].post(
            f"{base}/telemetry/heartbeat",
            json=_heartbeat(screen_id, sent_at),
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        response.raise_for_status()
    for session in sessions.values():
        session.close()


def _run(
    base: str, screens: list[tuple[str, str, int]], arguments: argparse.Namespace, own_addresses: bool
) -> dict[str, Any]:
    from signage.operator.hub.screens import records

    today = dt.datetime.now(dt.UTC).date()

    def stored() -> int:
        rows = records.exposure(today - dt.timedelta(days=2), today + dt.timedelta(days=2))
        return sum(row.plays for row in rows)

    _warm_up(base, screens, own_addresses)
    before = stored()
    beats, beat_seconds, beat_latencies = _phase(base, "heartbeat", screens, arguments, own_addresses)
    plays, play_seconds, play_latencies = _phase(base, "plays", screens, arguments, own_addresses)
    added = stored() - before
    assert added == plays[200] * arguments.batch, (added, plays)
    return {
        "beats": beats,
        "beats_per_s": beats[200] / beat_seconds,
        "beat_latencies": beat_latencies,
        "plays": plays,
        "plays_per_s": plays[200] * arguments.batch / play_seconds,
        "play_latencies": play_latencies,
        "stored": added,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--screens", type=int, default=200)
    parser.add_argument("--clients", type=int, default=4, help="client processes")
    parser.add_argument("--seconds", type=float, default=10.0, help="per phase")
    parser.add_argument("--batch", type=int, default=100, help="plays per batch")
    parser.add_argument("--through", choices=("embedded", "nginx", "both"), default="both")
    parser.add_argument("--figures", type=Path, help="write the figures as JSON here")
    arguments = parser.parse_args(argv)
    command = figures.command_line("bench.ingest", argv)
    ways = ["embedded", "nginx"] if arguments.through == "both" else [arguments.through]
    results: dict[str, dict[str, Any] | str] = {}

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
            versions=_published,
        )
        from signage.operator.hub.screens import records

        screens = [(f"bench-{number:04d}", new_token(), number) for number in range(arguments.screens)]
        for screen_id, token, _ in screens:
            records.add_screen(screen_id, hash_token(token), added_at=now)
        hub.start()
        try:
            for way in ways:
                if way == "embedded":
                    results[way] = _run(f"http://127.0.0.1:{hub.port}", screens, arguments, False)
                elif not NGINX.exists():
                    results[way] = f"skipped: {NGINX} is not installed"
                else:
                    process, url = _start_nginx(root, hub.port)
                    try:
                        results[way] = _run(url, screens, arguments, True)
                    finally:
                        _stop_nginx(process)
        finally:
            hub.stop()

    print("\n".join(figures.machine()))
    print(f"command: {command}")
    print(
        f"hub: waitress 8 threads, SQLite (WAL, synchronous=FULL), {arguments.screens} screens, "
        f"{arguments.clients} client processes, {arguments.seconds:g} s per phase, rate limit off"
    )
    found: list[Figure] = []
    for way, result in results.items():
        label = "embedded (signage hub)" if way == "embedded" else "through nginx"
        print()
        if isinstance(result, str):
            print(f"{label}: {result}")
            found.append(Figure(SECTION, label, result, command))
            continue
        print(f"{label}")
        print(f"{'phase':<22}{'answered 200':>14}{'other':>18}{'throughput':>22}{'GET timestamp.json':>28}")
        for phase, statuses, rate, unit, latencies in (
            ("heartbeats", result["beats"], result["beats_per_s"], "heartbeats/s", result["beat_latencies"]),
            (
                f"plays ({arguments.batch}/batch)",
                result["plays"],
                result["plays_per_s"],
                "plays/s",
                result["play_latencies"],
            ),
        ):
            other = (
                ", ".join(f"{status}: {count}" for status, count in sorted(statuses.items()) if status != 200)
                or "-"
            )
            median_ms = statistics.median(latencies) * 1000
            worst_ms = max(latencies) * 1000
            print(
                f"{phase:<22}{statuses[200]:>14}{other:>18}{rate:>14,.0f} {unit:<8}"
                f"{f'median {median_ms:.1f} ms, max {worst_ms:.0f} ms':>28}"
            )
            found.append(
                Figure(
                    SECTION,
                    f"{label}: {phase}",
                    f"{rate:,.0f} {unit} (other answers: {other}); GET timestamp.json meanwhile: median "
                    f"{median_ms:.1f} ms, max {worst_ms:.0f} ms",
                    command,
                )
            )
        print(f"plays stored: {result['stored']} (= accepted, each batch once)")
    figures.write(arguments.figures, found)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
