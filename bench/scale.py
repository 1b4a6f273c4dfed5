"""Scale: a 35,000-record channel from the operator's publish to the player's memory and rotation cost.

The fictional export of :mod:`bench.import_speed` (35,000 rows by default, a distinct 358×441 portrait for
about 85 % of them, generated once under ``bench/out/import-<rows>/``) is published into a fresh
repository under ``bench/out/scale/``, served by a real Hub on 127.0.0.1 in a process of its own (a screen's
hub is another machine: in one interpreter the hub's threads and the screen's photo workers would share its
lock), and measured:

1. **Publish**: ``publish_channel`` (import with photos, playlist, photo re-encoding, signing) of the whole
   export, once; then a republish of the same export with one row's amount changed, once.
2. **Sync and verify, empty cache**: a new screen's ``sync_once()`` into an empty cache (TUF refresh, the
   playlist, every photo downloaded and hash-checked by the screen's pool of ``photo_downloads`` parallel
   downloads, the set switched in), ``--rounds`` times, each into a new empty cache. Against the **floor**
   (issue 15): the sync's bytes over the loopback bandwidth, measured in the same run by downloading one
   ``--probe-mib`` MiB file from the same Hub through the screen's own HTTP client (``HttpFetcher``), as many
   times as there are rounds (median), just before the syncs; the figure is the sync's time, the floor,
   and their ratio.
3. **Sync and verify, one record changed**: after the republish, ``sync_once()`` of a screen whose cache
   holds the first version (a hard-linked copy of the first round's cache, so each round starts alike),
   ``--rounds`` times.
4. **Rotation cost per slide**, in this process: the filtering of the day's records (what
   ``ScreenSync.snapshot()`` does in the sync thread after a sync that changed the set, timed on a copy
   of the snapshot without them), ``ContentSnapshot.display_set(now)`` from the synced cache and a :class:`~signage.core.rotation.Rotation` built as ``signage.kiosk.app`` builds it; the first
   ``next_slide`` of a new Rotation (it hashes and sorts the day's order) and then ``--calls`` calls of
   ``next_slide`` alone and of ``display_set`` + ``next_slide`` (what the player runs per slide), each call
   timed; for the 35,000-record cache and for the fictional sample channel (``assets/sample``, 73 rows,
   64 records and one notice, published as :func:`bench.player.prepare` does), alternating, ``--rounds``
   rounds with a fresh snapshot and Rotation each.
5. **Player PSS**: the player (:mod:`bench.player`'s instrumented child: ``signage play``'s own
   ``run_player`` plus a hook that logs the first debtor slide's paint) on its own Xvfb 1920×1080, playing
   offline from the synced cache (the hub is stopped first), dwell 2 s; PSS from
   ``/proc/<pid>/smaps_rollup`` every second for ``--seconds`` after the first debtor slide is painted;
   the steady PSS is the median of those samples. The 35,000-record channel and the sample channel
   alternate, ``--rounds`` runs each; figures are medians over the runs. Issue 15's target: the painting
   process at most 120 MiB PSS with 35,000 records (met or missed on the page; at other ``--rows`` the
   figure is still given against it, under its own row count).

Usage: ``python -m bench.scale [--rows N] [--rounds R] [--calls C] [--seconds S] [--probe-mib M]
[--figures PATH]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import shutil
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench import player as bench_player
from bench.figures import Figure, at_most, command_line, machine, write
from bench.import_speed import prepare as prepare_photo_export
from bench.player import _mib as mib
from bench.player import _table as text_table
from bench.sync_cost import (
    CHANGED_AMOUNT,
    CHANNEL,
    Step,
    change_one_row,
    new_repository,
    now,
    playlist_bytes,
    publish,
    read_rows,
    serve_apart,
    sync_into,
)
from signage.core.rotation import QuietHours, QuietMode, Rotation
from signage.sync.client import ContentSnapshot, ScreenSync
from signage.sync.config import PlayerConfig, load_player_config
from signage.sync.fetcher import HttpFetcher
from signage.sync.photos import DEFAULT_WORKERS

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "scale"
SECTION = "Scale: 35,000 records and their photos"
MODULE = "bench.scale"
SAMPLE_LABEL = "sample"
#: Seconds a player may take to paint its first debtor slide.
START_TIMEOUT = 180.0
PSS_INTERVAL = 1.0
#: Issue 15: the painting process with 35,000 records.
PAINTER_PSS_TARGET_MIB = 120.0
PROBE_NAME = "bandwidth-probe"


# --- 1-3. publish and sync ------------------------------------------------------------------------------


@dataclass
class Publishing:
    """The large channel as published and synced, and the player config left pointing at its cache."""

    rows: int
    photos_in_export: int
    publish: Step
    republish: Step
    playlist_bytes: int
    empty: list[Step] = field(default_factory=list)
    changed: list[Step] = field(default_factory=list)
    config: Path | None = None
    #: Loopback bandwidth from the same hub (bytes per second), one per round, and the probe's size.
    bandwidth: list[float] = field(default_factory=list)
    probe_bytes: int = 0

    @property
    def floor(self) -> float:
        """Seconds the empty-cache sync's bytes take at the measured loopback bandwidth."""
        return self.empty[0].bytes / statistics.median(self.bandwidth)


def loopback_bandwidth(hub_url: str, public: Path, size: int, rounds: int) -> list[float]:
    """Bytes per second of one ``size``-byte download from the hub, ``rounds`` times, through HttpFetcher.

    The file is served from ``photos/`` like a photo (the hub serves nothing else but metadata and
    targets), random so nothing on the way can shrink it, and deleted afterwards.
    """
    import requests

    probe = public / "photos" / PROBE_NAME
    probe.parent.mkdir(parents=True, exist_ok=True)
    probe.write_bytes(os.urandom(size))
    speeds = []
    try:
        with requests.Session() as session:
            session.trust_env = False  # a proxy in the environment must not see 127.0.0.1
            with HttpFetcher(session, deadline=600.0, read_timeout=60.0) as fetcher:
                for _ in range(rounds):
                    started = time.perf_counter()
                    received = sum(len(chunk) for chunk in fetcher.fetch(hub_url + f"photos/{PROBE_NAME}"))
                    seconds = time.perf_counter() - started
                    if received != size:
                        raise RuntimeError(f"the probe came back with {received} bytes, not {size}")
                    speeds.append(size / seconds)
    finally:
        probe.unlink(missing_ok=True)
    return speeds


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def publish_and_sync(work: Path, rows: int, rounds: int, probe_bytes: int) -> Publishing:
    """Publish ``rows`` fictional rows with photos, sync screens from a Hub, leave a player config behind."""
    source, photos = prepare_photo_export(rows)
    repository, root = new_repository(work)
    _progress(f"publishing {rows:,} rows with photos ...")
    published = publish(repository, source, photos)
    _progress(f"published in {published.seconds:.1f} s ({published.photos:,} photos)")
    result = Publishing(
        rows=rows,
        photos_in_export=sum(1 for _ in photos.iterdir()),
        publish=published,
        republish=Step(),
        playlist_bytes=playlist_bytes(repository),
    )
    base = work / "screen-v1"
    with serve_apart(repository.public) as hub_url:
        result.probe_bytes = probe_bytes
        result.bandwidth = loopback_bandwidth(hub_url, repository.public, probe_bytes, rounds)
        _progress(
            "loopback bandwidth from the hub: "
            + " ".join(f"{speed / 1e6:.0f}" for speed in result.bandwidth)
            + " MB/s"
        )
        for round_ in range(rounds):
            cache = base if round_ == 0 else work / f"screen-empty-{round_}"
            result.empty.append(sync_into(hub_url, root, cache))
            _progress(
                f"sync from an empty cache, round {round_ + 1}/{rounds}: {result.empty[-1].seconds:.1f} s"
            )
            if cache != base:
                shutil.rmtree(cache)
        changed = change_one_row(source, work / "changed.csv", CHANGED_AMOUNT)
        result.republish = publish(repository, changed, photos)
        _progress(f"republished with one row changed in {result.republish.seconds:.1f} s")
        cache = base
        for round_ in range(rounds):
            if round_:
                shutil.rmtree(cache)
            cache = work / f"screen-v2-{round_}"
            # Hard links: every cache file is replaced by rename, never written in place, so the copy is
            # a cache in the first version's state, made in a moment.
            shutil.copytree(base, cache, copy_function=os.link)
            result.changed.append(sync_into(hub_url, root, cache))
            _progress(
                f"sync of the one-row change, round {round_ + 1}/{rounds}: {result.changed[-1].seconds:.2f} s"
            )
        shutil.rmtree(base)
        result.config = _player_config(work / "player.toml", hub_url, root, cache)
    return result  # the hub is stopped: the config points at a hub that is gone, the player plays offline


def _player_config(path: Path, hub_url: str, root: Path, cache: Path) -> Path:
    """A screen config for the large channel, timed like :func:`bench.player.prepare`'s."""
    values: dict[str, str | float] = {
        "screen_id": "bench-screen",
        "hub_url": hub_url,
        "channel": CHANNEL,
        "root": str(root),
        "cache_dir": str(cache),
        "dwell_seconds": bench_player.DWELL_SECONDS,
        "transition_seconds": bench_player.TRANSITION_SECONDS,
    }
    # JSON strings and numbers are TOML values too.
    path.write_text(
        "".join(f"{key} = {json.dumps(value)}\n" for key, value in values.items()), encoding="utf-8"
    )
    load_player_config(path)  # fails here rather than in the player
    return path


# --- 4. rotation cost --------------------------------------------------------------------------------------


@dataclass
class RotationCost:
    """Per channel: records, and per round the first calls (ns) and the median of the timed calls (ns)."""

    records: int = 0
    notices: int = 0
    first_display_set: list[int] = field(default_factory=list)
    first_next_slide: list[int] = field(default_factory=list)
    next_slide: list[float] = field(default_factory=list)
    per_slide: list[float] = field(default_factory=list)


def _rotation(config: PlayerConfig) -> Rotation:
    # As signage.kiosk.app.run_player builds it.
    return Rotation(
        config.screen_id,
        resume_slot=dt.timedelta(seconds=config.dwell_seconds),
        notice_every=config.notice_every,
        quiet_hours=tuple(QuietHours(start, end) for start, end in config.quiet_hours),
        quiet_mode=QuietMode(config.quiet_mode),
    )


def _timed_calls(calls: int, action: Callable[[], object]) -> float:
    """The median of ``calls`` timed calls of ``action``, in ns."""
    timings: list[int] = []
    for _ in range(calls):
        started = time.perf_counter_ns()
        action()
        timings.append(time.perf_counter_ns() - started)
    return statistics.median(timings)


def measure_rotation(configs: dict[str, Path], calls: int, rounds: int) -> dict[str, RotationCost]:
    """Rotation cost for each channel's cache, the channels alternating round by round."""
    screens: dict[str, tuple[PlayerConfig, ScreenSync]] = {}
    for label, path in configs.items():
        config = load_player_config(path)
        with HttpFetcher() as fetcher:  # never used: nothing here syncs
            screens[label] = (config, ScreenSync(config, fetcher=fetcher, clock=now))
        screens[label][1].snapshot()  # the playlist is decoded once, untimed (the player does it on load)
    costs = {label: RotationCost() for label in configs}
    for _ in range(rounds):
        for label, (config, screen) in screens.items():
            _rotation_round(label, config, screen.snapshot(), costs[label], calls)
    return costs


def _rotation_round(
    label: str, config: PlayerConfig, snapshot: ContentSnapshot, cost: RotationCost, calls: int
) -> None:
    # ScreenSync.snapshot() filters the day's records in the sync thread (reused while nothing changes);
    # a copy without them times that filtering, as after a sync that changed the set.
    snapshot = dataclasses.replace(snapshot, _eligible={})
    moment = now()
    started = time.perf_counter_ns()
    display = snapshot.display_set(moment)
    cost.first_display_set.append(time.perf_counter_ns() - started)
    cost.records, cost.notices = len(display.records), len(display.notices)
    if not display.records:
        raise RuntimeError(f"{label}: nothing displayable ({display.withheld})")
    rotation = _rotation(config)
    started = time.perf_counter_ns()
    rotation.next_slide(display, moment)
    cost.first_next_slide.append(time.perf_counter_ns() - started)
    cost.next_slide.append(_timed_calls(calls, lambda: rotation.next_slide(display, moment)))
    cost.per_slide.append(
        _timed_calls(calls, lambda: rotation.next_slide(snapshot.display_set(moment), moment))
    )


# --- 5. player PSS -----------------------------------------------------------------------------------------


@dataclass
class PssRun:
    """One player run: seconds to the first debtor slide, and PSS samples (bytes) after it."""

    startup: float
    samples: list[int]

    @property
    def steady(self) -> float:
        """The median sample."""
        return statistics.median(self.samples)


def measure_pss(config: Path, seconds: float) -> PssRun:
    """Run the player on a fresh Xvfb and sample its PSS every second for ``seconds`` after a debtor slide."""
    with bench_player.player(config, instrumented=True) as running:
        painted = running.lines.wait_for(bench_player.DEBTOR_PAINTED, running.started + START_TIMEOUT)
        if painted is None:
            raise RuntimeError(f"no debtor slide within {START_TIMEOUT:g} s:\n{running.lines.tail()}")
        samples: list[int] = []
        first = time.perf_counter()
        for tick in range(1, round(seconds / PSS_INTERVAL) + 1):
            running.lines.read_until(first + tick * PSS_INTERVAL)
            if running.process.poll() is not None:
                raise RuntimeError(
                    f"the player exited ({running.process.returncode}):\n{running.lines.tail()}"
                )
            samples.append(bench_player.pss_bytes(running.process.pid))
    return PssRun(painted - running.started, samples)


def measure_players(configs: dict[str, Path], seconds: float, rounds: int) -> dict[str, list[PssRun]]:
    """``rounds`` runs of the player per channel, alternating."""
    runs: dict[str, list[PssRun]] = {label: [] for label in configs}
    for round_ in range(rounds):
        for label, config in configs.items():
            runs[label].append(measure_pss(config, seconds))
            _progress(
                f"player, {label}, round {round_ + 1}/{rounds}: first debtor slide after "
                f"{runs[label][-1].startup:.1f} s, steady PSS {runs[label][-1].steady / 2**20:.1f} MiB"
            )
    return runs


# --- the report --------------------------------------------------------------------------------------------


def _us(value: float) -> str:
    return f"{value / 1000:.1f} µs"


def _ms(value: float) -> str:
    return f"{value / 1e6:.1f} ms"


def _each(values: Sequence[float], show: Callable[[float], str]) -> str:
    return " ".join(show(value) for value in values)


def _median_seconds(steps: Sequence[Step]) -> float:
    return statistics.median(step.seconds for step in steps)


@dataclass
class Results:
    """Everything measured, with what is needed to name it."""

    publishing: Publishing
    rotation: dict[str, RotationCost]
    players: dict[str, list[PssRun]]
    large: str
    rounds: int
    calls: int
    seconds: float


def report(results: Results) -> list[str]:
    """The detailed report, after the machine lines."""
    pub, large = results.publishing, results.large
    traffic = pub.empty[0]
    lines = [
        f"hub and screens on 127.0.0.1; {pub.rows:,} fictional rows, {pub.publish.photos:,} photos published "
        f"({pub.photos_in_export:,} portrait files in the export); medians of {results.rounds} rounds "
        "where repeated",
        "",
        "1-3. publish and sync",
        *text_table(
            [
                ("figure", "median", "each round"),
                ("publish (import with photos, sign)", f"{pub.publish.seconds:.1f} s", "1 round"),
                ("republish, one row changed", f"{pub.republish.seconds:.1f} s", "1 round"),
                (
                    "sync + verify, empty cache",
                    f"{_median_seconds(pub.empty):.1f} s",
                    _each([s.seconds for s in pub.empty], lambda v: f"{v:.1f}"),
                ),
                (
                    "  traffic",
                    f"{traffic.bytes / 1e6:.1f} MB in {traffic.requests:,} requests",
                    f"{traffic.photos:,} photos, {DEFAULT_WORKERS} downloads at once",
                ),
                (
                    "  loopback bandwidth (same hub)",
                    f"{statistics.median(pub.bandwidth) / 1e6:.0f} MB/s",
                    _each(pub.bandwidth, lambda v: f"{v / 1e6:.0f}")
                    + f" (one {pub.probe_bytes / 2**20:.0f} MiB download each)",
                ),
                (
                    "  floor (bytes / bandwidth)",
                    f"{pub.floor:.2f} s",
                    f"sync = {_median_seconds(pub.empty) / pub.floor:.1f}x the floor",
                ),
                (
                    "sync + verify, one record changed",
                    f"{_median_seconds(pub.changed):.2f} s",
                    _each([s.seconds for s in pub.changed], lambda v: f"{v:.2f}"),
                ),
                (
                    "  traffic",
                    f"{pub.changed[0].bytes / 1e6:.2f} MB in {pub.changed[0].requests} requests",
                    f"playlist {pub.playlist_bytes / 1e6:.2f} MB",
                ),
            ]
        ),
        "",
        f"4. rotation cost per slide ({results.calls:,} timed calls per round, median per round; "
        "a new snapshot and Rotation each round)",
    ]
    rows = [("figure", *(f"{label} ({cost.records:,} records)" for label, cost in results.rotation.items()))]
    measures: list[tuple[str, str, Callable[[float], str]]] = [
        ("filtering the day's records (sync thread)", "first_display_set", _ms),
        ("first next_slide (hashes, sorts the day)", "first_next_slide", _ms),
        ("next_slide, median", "next_slide", _us),
        ("display_set + next_slide, median", "per_slide", _us),
    ]
    for name, attribute, show in measures:

        def pick(cost: RotationCost, attribute: str = attribute) -> list[float]:
            values: list[float] = getattr(cost, attribute)
            return values

        rows.append(
            (
                name,
                *(
                    f"{show(statistics.median(pick(c)))} ({_each(pick(c), show)})"
                    for c in results.rotation.values()
                ),
            )
        )
    lines += text_table(rows)
    lines += [
        "",
        f"5. player PSS, Xvfb 1920x1080, offline from the cache, dwell {bench_player.DWELL_SECONDS:g} s, "
        f"sampled every {PSS_INTERVAL:g} s for {results.seconds:g} s after the first debtor slide "
        "(steady = median sample; channels alternate)",
    ]
    rows = [("channel", "steady PSS", "each run", "max sample", "first debtor slide after")]
    for label, runs in results.players.items():
        rows.append(
            (
                label,
                mib(statistics.median(run.steady for run in runs)),
                _each([run.steady for run in runs], lambda v: f"{v / 2**20:.1f}"),
                mib(max(max(run.samples) for run in runs)),
                f"{statistics.median(run.startup for run in runs):.1f} s",
            )
        )
    lines += text_table(rows)
    big = statistics.median(run.steady for run in results.players[large])
    small = statistics.median(run.steady for run in results.players[SAMPLE_LABEL])
    lines.append(f"    difference: {(big - small) / 2**20:+.1f} MiB, ratio {big / small:.2f}x")
    return lines


def figures_of(results: Results, command: str) -> list[Figure]:
    """The headline figures for docs/benchmarks.md."""
    pub, rounds = results.publishing, results.rounds
    rows = f"{pub.rows:,} rows"

    def figure(name: str, value: str) -> Figure:
        return Figure(SECTION, name, value, command)

    big = statistics.median(run.steady for run in results.players[results.large])
    small = statistics.median(run.steady for run in results.players[SAMPLE_LABEL])
    large_cost, sample_cost = results.rotation[results.large], results.rotation[SAMPLE_LABEL]
    sample_records = f"{sample_cost.records} records"
    sample_rows = len(read_rows(bench_player.SAMPLE / "records.csv"))
    changed = pub.changed[0]
    return [
        figure(f"Publish, {rows} with {pub.publish.photos:,} photos", f"{pub.publish.seconds:.1f} s"),
        figure(f"Republish, {rows}, one row changed", f"{pub.republish.seconds:.1f} s"),
        figure(
            f"Sync and verify on a screen, empty cache ({pub.empty[0].photos:,} photos)",
            f"{_median_seconds(pub.empty):.1f} s (median of {rounds}; {pub.empty[0].bytes / 1e6:.1f} MB "
            f"in {pub.empty[0].requests:,} requests)",
        ),
        figure(
            f"Sync with photos, empty cache, against the loopback floor ({pub.empty[0].photos:,} photos, "
            f"{DEFAULT_WORKERS} downloads at once)",
            f"{_median_seconds(pub.empty):.1f} s = {_median_seconds(pub.empty) / pub.floor:.1f}× the floor of "
            f"{pub.floor:.2f} s ({pub.empty[0].bytes / 1e6:.1f} MB at {statistics.median(pub.bandwidth) / 1e6:.0f} "
            f"MB/s, one {pub.probe_bytes / 2**20:.0f} MiB download from the same hub; median of {rounds})",
        ),
        figure(
            "Sync and verify on a screen, one record changed",
            f"{_median_seconds(pub.changed):.2f} s (median of {rounds}; {changed.bytes / 1e6:.2f} MB "
            f"in {changed.requests} requests)",
        ),
        Figure(
            SECTION,
            f"Painter (signage play) steady PSS, {large_cost.records:,}-record channel",
            f"{mib(big)} ({(big - small) / 2**20:+.1f} MiB, {big / small:.2f}× the sample's {mib(small)}; "
            f"median of {rounds} runs)",
            command,
            f"≤ {PAINTER_PSS_TARGET_MIB:g} MiB at 35,000 records",
            *at_most(big / 2**20, PAINTER_PSS_TARGET_MIB, "MiB"),
        ),
        figure(
            f"Player steady PSS, sample channel ({sample_rows} rows, {sample_records})",
            f"{mib(small)} (median of {rounds} runs)",
        ),
        figure(
            "Rotation.next_slide per slide, median",
            f"{_us(statistics.median(large_cost.next_slide))} at {large_cost.records:,} records; "
            f"{_us(statistics.median(sample_cost.next_slide))} at {sample_records}",
        ),
        figure(
            "Rotation.next_slide, first call of a day (sorts the order)",
            f"{_ms(statistics.median(large_cost.first_next_slide))} at {large_cost.records:,} records; "
            f"{_ms(statistics.median(sample_cost.first_next_slide))} at {sample_records}",
        ),
        figure(
            "Filtering the day's records (in the sync thread, after a sync that changed the set)",
            f"{_ms(statistics.median(large_cost.first_display_set))} at {large_cost.records:,} records; "
            f"{_ms(statistics.median(sample_cost.first_display_set))} at {sample_records}",
        ),
        figure(
            "display_set + next_slide per slide (as the player calls them), median",
            f"{_us(statistics.median(large_cost.per_slide))} at {large_cost.records:,} records; "
            f"{_us(statistics.median(sample_cost.per_slide))} at {sample_records}",
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the report, write the figures."""
    parser = argparse.ArgumentParser(
        prog=f"python -m {MODULE}", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--rows", type=int, default=35_000, help="fictional rows in the channel (default 35,000)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each repeated measure (default 3)")
    parser.add_argument(
        "--calls", type=int, default=2000, help="timed next_slide calls per round (default 2000)"
    )
    parser.add_argument(
        "--seconds", type=float, default=30.0, help="PSS sampling after the first debtor slide (default 30)"
    )
    parser.add_argument(
        "--probe-mib",
        type=int,
        default=256,
        help="size of the download that measures the loopback bandwidth, MiB (default 256)",
    )
    parser.add_argument("--figures", type=Path, help="write the headline figures as JSON to this file")
    parser.add_argument("--work", type=Path, default=OUT, help=f"scratch folder (default {OUT})")
    arguments = parser.parse_args(argv)
    if (
        min(arguments.rows, arguments.rounds, arguments.calls, arguments.probe_mib) < 1
        or arguments.seconds < PSS_INTERVAL
    ):
        parser.error(
            f"--rows, --rounds, --calls and --probe-mib must be at least 1, --seconds at least {PSS_INTERVAL:g}"
        )
    load_at_start = os.getloadavg()[0]
    work: Path = arguments.work.resolve()

    publishing = publish_and_sync(
        work / "channel", arguments.rows, arguments.rounds, arguments.probe_mib * 2**20
    )
    assert publishing.config is not None
    sample = bench_player.prepare(work / SAMPLE_LABEL)
    large = f"{arguments.rows:,} rows"
    configs = {large: publishing.config, SAMPLE_LABEL: sample}
    _progress("timing the rotation ...")
    rotation = measure_rotation(configs, arguments.calls, arguments.rounds)
    players = measure_players(configs, arguments.seconds, arguments.rounds)
    results = Results(
        publishing, rotation, players, large, arguments.rounds, arguments.calls, arguments.seconds
    )
    print("\n".join([*machine(load_at_start), *report(results)]))
    write(arguments.figures, figures_of(results, command_line(MODULE, argv)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
