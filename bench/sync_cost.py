"""What a screen's sync costs, on 127.0.0.1 against a real Hub: bytes per poll, per takedown, per publish.

Two channels of the same size (35,000 fictional records by default) are published into fresh repositories
under ``bench/out/sync-cost/``: one without photos, one with the portraits :mod:`bench.import_speed`
generates (reused from ``bench/out/import-<rows>/`` when it exists). For each, a screen with an empty
cache syncs and then:

- polls with nothing new (the same timestamp), and again after an hourly re-sign of the timestamp;
- applies one revocation with the cheap check (``sync_once(full=False)``), then runs a full sync;
- syncs a republish in which one row changed;
- answers ``current(now)`` in a new process (the first call decodes the playlist) and again (cached).

Bytes are HTTP body bytes counted by :class:`~signage.sync.fetcher.HttpFetcher` (headers not included),
requests include failed ones (python-tuf asks for the next root version and gets a 404 on every refresh).
Usage: ``python -m bench.sync_cost [--rows N] [--no-photos]``. Its building blocks (a screen with counters,
a Hub on 127.0.0.1, publish, a one-row change) are shared with :mod:`bench.scale` and :mod:`bench.metered`.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from bench.figures import machine
from bench.import_speed import prepare as prepare_photo_export
from bench.player import _table as text_table
from signage.operator.fictional import fictional_rows, write_csv
from signage.operator.hub.files import make_app
from signage.operator.hub.server import Hub
from signage.operator.publish.channel import ChannelSettings, publish_channel, revoke_entries
from signage.operator.publish.repo import OperatorRepository, playlist_path
from signage.sync.client import ScreenSync, SyncResult, SyncState
from signage.sync.config import PlayerConfig
from signage.sync.fetcher import HttpFetcher

OUT = Path(__file__).resolve().parent / "out" / "sync-cost"
CHANNEL = "bench"
SEED = 35_000
#: The row changed in the republish, and the entry taken down (both exist in every fictional export).
CHANGED_ROW = 99
#: The row (by its 编号 serial) taken down, by its case number as an operator would.
REVOKED = "S000100"
#: The amount the changed row gets (another one per round when a benchmark republishes several times).
CHANGED_AMOUNT = "1,234.56元"


def now() -> dt.datetime:
    """The wall clock, aware UTC (what publish, sync and the player are given)."""
    return dt.datetime.now(dt.UTC)


@dataclass
class Step:
    """One measured operation: wall time, and what the screen's fetcher counted during it."""

    seconds: float = 0.0
    bytes: int = 0
    requests: int = 0
    photos: int = 0


@dataclass
class Figures:
    """Everything measured for one channel."""

    records: int = 0
    photos: int = 0
    playlist_bytes: int = 0
    timestamp_bytes: int = 0
    cache_bytes: int = 0
    publish: Step | None = None
    first_sync: Step | None = None
    unchanged_poll: Step | None = None
    resigned_poll: Step | None = None
    revocation: Step | None = None
    full_after_revocation: Step | None = None
    republish: Step | None = None
    changed_sync: Step | None = None
    current_first: Step | None = None
    current_cached: Step | None = None


class Screen:
    """A screen syncing ``channel`` from ``hub_url`` into ``cache_dir``, its fetcher's counters at hand."""

    def __init__(
        self, hub_url: str, root: Path, cache_dir: Path, channel: str = CHANNEL, *, sharded: bool = True
    ) -> None:
        self._session = requests.Session()
        self._session.trust_env = False  # a proxy in the environment must not see 127.0.0.1
        self.fetcher = HttpFetcher(self._session)
        config = PlayerConfig("bench-screen", hub_url, channel, root, cache_dir)
        self.sync = ScreenSync(config, fetcher=self.fetcher, clock=now, sharded=sharded)

    def close(self) -> None:
        """Close the fetcher and its session."""
        self.fetcher.close()
        self._session.close()

    def measure(self, *, full: bool = True) -> Step:
        """One ``sync_once``; raises if it did not succeed."""
        before_bytes, before_requests = self.fetcher.bytes_received, self.fetcher.requests_made
        started = time.perf_counter()
        result = self.sync.sync_once(full=full)
        seconds = time.perf_counter() - started
        _require(result)
        return Step(
            seconds,
            self.fetcher.bytes_received - before_bytes,
            self.fetcher.requests_made - before_requests,
            result.photos_downloaded,
        )


def _require(result: SyncResult) -> None:
    if result.state not in (SyncState.UPDATED, SyncState.UNCHANGED):
        raise RuntimeError(f"sync failed: {result.state}: {result.en}")


def _timed(action: Callable[[], object]) -> Step:
    started = time.perf_counter()
    action()
    return Step(seconds=time.perf_counter() - started)


def sync_into(hub_url: str, root: Path, cache_dir: Path) -> Step:
    """One full sync of a new screen into ``cache_dir`` (empty or not), measured."""
    screen = Screen(hub_url, root, cache_dir)
    try:
        return screen.measure()
    finally:
        screen.close()


@contextmanager
def serve(public: Path) -> Iterator[str]:
    """A real :class:`Hub` serving ``public`` on 127.0.0.1 while the block runs; yields its URL."""
    # No scheduled refresh: the benchmark re-signs when it means to, never in the middle of a step.
    hub = Hub(make_app(public), lambda: None, host="127.0.0.1", port=0)
    hub.start()
    try:
        yield f"http://127.0.0.1:{hub.port}/"
    finally:
        hub.stop()


@contextmanager
def serve_apart(public: Path) -> Iterator[str]:
    """The same hub as :func:`serve`, in a process of its own (as a screen's hub is another machine), so the
    screen's sync measured here does not share this interpreter's lock with the hub's threads; yields its URL.
    """
    script = (
        "import sys, pathlib\n"
        "from bench.sync_cost import serve\n"
        "with serve(pathlib.Path(sys.argv[1])) as url:\n"
        "    print(url, flush=True)\n"
        "    sys.stdin.read()\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script, str(public)],
        cwd=Path(__file__).resolve().parent.parent,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        if not url.startswith("http://127.0.0.1:"):
            raise RuntimeError(f"the hub process did not start (exit {process.poll()})")
        yield url
    finally:
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def new_repository(work: Path) -> tuple[OperatorRepository, Path]:
    """A fresh repository in ``work`` (emptied first) and a copy of its root, as installed on a screen."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    repository = OperatorRepository.init(work / "repo", now=now())
    root = work / "root.json"
    shutil.copyfile(repository.metadata_dir / "1.root.json", root)
    return repository, root


def publish(
    repository: OperatorRepository,
    source: Path,
    photos: Path | None,
    *,
    channel: str = CHANNEL,
    settings: ChannelSettings | None = None,
) -> Step:
    """Publish ``source`` (refused rows left out) and time it; ``photos`` counts the photos published."""
    started = time.perf_counter()
    result = publish_channel(
        repository,
        channel,
        source,
        photos=photos,
        now=now(),
        settings=settings or ChannelSettings(),
        allow_partial=True,
    )
    seconds = time.perf_counter() - started
    if result.version is None:
        raise RuntimeError(f"nothing published: {len(result.report.refused_rows)} rows refused")
    return Step(seconds=seconds, photos=result.photos)


def read_rows(source: Path) -> list[dict[str, str]]:
    """The rows of a CSV written by :func:`signage.operator.fictional.write_csv`."""
    with source.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def change_one_row(source: Path, target: Path, amount: str = CHANGED_AMOUNT) -> Path:
    """``source`` with the amount of one row changed to ``amount``, written the same way."""
    rows = read_rows(source)
    rows[CHANGED_ROW]["执行标的"] = amount
    return write_csv(rows, target)


def measure_channel(work: Path, source: Path, photos: Path | None) -> Figures:
    """Publish ``source`` into a new repository under ``work`` and measure a screen syncing it."""
    repository, root = new_repository(work)
    figures = Figures()
    figures.publish = publish(repository, source, photos)
    figures.photos = figures.publish.photos
    figures.playlist_bytes = playlist_bytes(repository)
    with serve(repository.public) as hub_url:
        screen = Screen(hub_url, root, work / "cache")
        try:
            figures.first_sync = screen.measure()
            figures.records = len(screen.sync.current(now()).records)
            figures.cache_bytes = sum(p.stat().st_size for p in (work / "cache").rglob("*") if p.is_file())
            figures.unchanged_poll = screen.measure()
            with repository.locked():
                repository.refresh(now=now())
            figures.timestamp_bytes = (repository.metadata_dir / "timestamp.json").stat().st_size
            figures.resigned_poll = screen.measure()
            [revoked_case] = [row["案号"] for row in read_rows(source) if row["编号"] == REVOKED]
            revoke_entries(repository, CHANNEL, [revoked_case], reason="法院撤回", now=now())
            figures.revocation = screen.measure(full=False)
            figures.full_after_revocation = screen.measure()
            changed = change_one_row(source, work / "changed.csv")
            figures.republish = publish(repository, changed, photos)
            figures.changed_sync = screen.measure()
        finally:
            screen.close()
        # A player that starts afresh decodes the playlist once; later calls use the parsed copy.
        player = Screen(hub_url, root, work / "cache")
        try:
            figures.current_first = _timed(lambda: player.sync.current(now()))
            figures.current_cached = _timed(lambda: player.sync.current(now()))
        finally:
            player.close()
    return figures


def playlist_bytes(repository: OperatorRepository, channel: str = CHANNEL) -> int:
    """The size of the channel's signed playlist, as targets.json names it."""
    return repository.targets().signed.targets[playlist_path(channel)].length


def _seconds(step: Step | None) -> str:
    return "-" if step is None else f"{step.seconds:.2f} s"


def _millis(step: Step | None) -> str:
    return "-" if step is None else f"{step.seconds * 1000:.1f} ms"


def _traffic(step: Step | None) -> str:
    if step is None:
        return "-"
    photos = f", {step.photos} photos" if step.photos else ""
    return f"{step.bytes:,} B / {step.requests} req{photos}"


def _rows(figures: Figures) -> list[tuple[str, str]]:
    return [
        ("records shown / photos", f"{figures.records:,} / {figures.photos:,}"),
        ("playlist size", f"{figures.playlist_bytes:,} B"),
        ("timestamp.json size", f"{figures.timestamp_bytes:,} B"),
        ("publish (import, sign)", _seconds(figures.publish)),
        ("sync + verify, empty cache", _seconds(figures.first_sync)),
        ("  traffic", _traffic(figures.first_sync)),
        ("  screen cache on disk", f"{figures.cache_bytes:,} B"),
        ("poll, nothing new", _traffic(figures.unchanged_poll)),
        ("poll after hourly re-sign", _traffic(figures.resigned_poll)),
        ("one revocation, full=False", _traffic(figures.revocation)),
        ("  time", _seconds(figures.revocation)),
        ("full sync after it", _traffic(figures.full_after_revocation)),
        ("republish, one row changed", _seconds(figures.republish)),
        ("sync after that change", _seconds(figures.changed_sync)),
        ("  traffic", _traffic(figures.changed_sync)),
        ("current(now), first (decodes)", _millis(figures.current_first)),
        ("current(now), again (cached)", _millis(figures.current_cached)),
    ]


def print_table(columns: dict[str, Figures]) -> None:
    """Print one row per measure and one column per channel."""
    names = list(columns)
    table = [("", *names)]
    per_column = [_rows(figures) for figures in columns.values()]
    for index, (label, _) in enumerate(per_column[0]):
        table.append((label, *(rows[index][1] for rows in per_column)))
    print("\n".join(text_table(table, indent="")))


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--rows", type=int, default=35_000, help="fictional rows per channel (default 35,000)"
    )
    parser.add_argument("--no-photos", action="store_true", help="skip the channel with photos")
    arguments = parser.parse_args(argv)
    load_at_start = os.getloadavg()[0]
    columns: dict[str, Figures] = {}

    bare = OUT / f"rows-{arguments.rows}.csv"
    bare.parent.mkdir(parents=True, exist_ok=True)
    write_csv(fictional_rows(arguments.rows, SEED, photos=False), bare)
    columns["no photos"] = measure_channel(OUT / "bare", bare, None)
    print(f"measured the channel without photos ({arguments.rows:,} rows)", flush=True)
    if not arguments.no_photos:
        source, photos = prepare_photo_export(arguments.rows)
        columns["with photos"] = measure_channel(OUT / "photos", source, photos)
        print("measured the channel with photos", flush=True)

    print("\n".join(machine(load_at_start)))
    print(f"hub and screen on 127.0.0.1; {arguments.rows:,} fictional rows; bytes are HTTP bodies")
    print_table(columns)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
