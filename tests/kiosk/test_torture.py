"""Torture: kill -9 the player at random moments, many times; and a hub that is down or answers garbage.

The issue asks: "kill -9 the player at random moments, many times: during sync, during a proof-of-play
write, during a transition. After each restart: the cache verifies; no play is counted twice; at most the
play in flight is lost; the first slide is painted within a few seconds. Hub down, or hub returning garbage,
for the whole test: the screen keeps playing and the heartbeats queue without bound errors."

Once per module: a repository with the fictional sample published (``allow_partial``, as ``signage demo``
does it), a hub on 127.0.0.1 with telemetry and a registered screen token, a ``player.toml`` with
``dwell_seconds = 2``, ``transition_seconds = 1``, takedown checks every 5 s, a full sync every minute and a
heartbeat every 10 s, and one Xvfb at 1920×1080 for every player.

**The kill cycles** (:func:`tortured`, :data:`CYCLES` of them, seeded). Each starts the player in a fresh
process (``torture_support``: ``signage play`` with one log line per slide shown, the only exact record of
what was on screen), reads its stderr until "first slide painted" (the restart-to-first-slide time is from
``Popen``), then aims the SIGKILL:

- ``sync``: after new content was published (the sample and a subset of it in turn, so photos are
  downloaded again and collected again), at a random moment inside the full sync the player starts a
  second after it comes up; the first cycle starts from an empty cache, so its kill lands in the first
  download;
- ``in-write``: the player kills itself inside its first, second or third play-log write, while the INSERT
  runs (``torture_support``: a play-log write takes a fraction of a millisecond, too short to hit from
  outside); the play being written is lost, and only that one besides the slide on screen;
- ``transition``: 1-4 s in, 0-0.9 s after the next slide went on screen, inside the 1 s crossfade;
- ``random``: 1-6 s after the first slide.

The slide on screen at a kill is never a play: the Telemetry records a play when its slide leaves the
screen. So a kill loses that slide by design, and the accounting counts it apart ("in flight").

Entries are also taken down between some cycles, so the takedown checks download too. After each kill: every
object the cache pointer names verifies (the playlist, the revocations, the photo of every record not
revoked, re-hashed) and ``ScreenSync.current`` shows records; the play log passes ``PRAGMA
integrity_check`` and opens with ``PlayLog`` without being moved aside; and the plays stored so far (the
hub's store and the local log together) account for every slide that left the screen, none twice.

A last, clean cycle runs long enough for two heartbeats and is stopped with SIGTERM: every batch the kills
left behind has reached the hub by then. The rest of the local log is uploaded with the player's own
``Uploader`` and the totals must match exactly: the hub's batches, its exposure report and the slides shown.

**Outage** (:func:`test_hub_down_or_answering_garbage_the_screen_plays_on`): four plain ``signage play``
processes at once from a synced cache, whose hub is, for the whole run: not listening; a 200 of random
bytes to every request; a 500 to every request; either of the two at random (flapping). All must keep
painting slides and recording plays and stop cleanly on SIGTERM; all but the flapping one log at most
:data:`MAX_WARNINGS` warnings.

``pytest -s`` prints the figures. ``SIGNAGE_TORTURE_CYCLES`` and ``SIGNAGE_TORTURE_SEED`` change the run.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import logging
import os
import random
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from signage.core.errors import UsageError
from signage.demo import xvfb
from signage.operator.hub.screens.ingest import hash_token, new_token
from signage.operator.hub.serve import make_hub
from signage.operator.publish.channel import (
    ChannelSettings,
    current_playlist,
    publish_channel,
    revoke_entries,
)
from signage.operator.publish.repo import OperatorRepository
from signage.operator.publish.sharded import live_info
from signage.sync.client import ScreenSync, StateLog, SyncResult, SyncState
from signage.sync.config import PlayerConfig, load_player_config
from signage.sync.fetcher import HttpFetcher
from signage.sync.telemetry.plays import PlayLog
from signage.sync.telemetry.uploader import Uploader
from tests.kiosk.torture_support import (
    FIRST_PAINTED,
    IN_WRITE_ENV,
    KILLING,
    SHOWN,
    SYNC_FINISHED,
    SYNC_STARTED,
    Accounting,
    CacheCheck,
    GarbageHub,
    HubPlays,
    Lines,
    LogCheck,
    Run,
    account,
    check_play_log,
    hub_plays,
    kill9,
    now,
    player,
    shown_slides,
    verify_cache,
    write_config,
)

pytestmark = [
    pytest.mark.skipif(shutil.which("Xvfb") is None, reason="Xvfb is not installed (apt-get install xvfb)"),
    # The hub writes from its own threads: committed for real; and pytest-django creates the test database
    # only for a session that has tests marked so.
    pytest.mark.django_db(transaction=True),
]

SAMPLE = Path(__file__).resolve().parents[2] / "assets" / "sample"
CHANNEL = "sample"
SCREEN_ID = "torture-screen"
SCREEN = (1920, 1080)
CYCLES = int(os.environ.get("SIGNAGE_TORTURE_CYCLES", "12"))
SEED = int(os.environ.get("SIGNAGE_TORTURE_SEED", "20261126"))
DWELL = 2.0
TRANSITION = 1.0
#: Every wait for the player is bounded by these.
PAINT_TIMEOUT = 20.0
STOP_TIMEOUT = 15.0
#: A slide that left the screen less than this before the kill, without a play: its write was in flight.
WRITE_WINDOW = 0.5
#: How long after its first slide the clean cycle runs: two heartbeats (5 s and 10 s after start).
CLEAN_SECONDS = 12.0
#: How long the outage players run after their first slide, and the warnings allowed each.
OUTAGE_SECONDS = 20.0
MAX_WARNINGS = 5
#: Spread of the kills after the sync job started (a sync downloading a dozen photos takes ~0.1-0.2 s here).
SYNC_SPREAD = 0.12
MODES = ("in-write", "transition", "random", "sync")


@dataclass
class World:
    """The repository, the hub and the screen's files, shared by every test of the module."""

    repository: OperatorRepository
    hub_url: str
    token: str
    token_file: Path
    root: Path
    work: Path
    display: str
    seed_cache: Path
    full: Path
    subset: Path

    def settings(self, cache: Path, hub_url: str | None = None) -> dict[str, object]:
        return {
            "screen_id": SCREEN_ID,
            "hub_url": hub_url or self.hub_url,
            "channel": CHANNEL,
            "root": self.root,
            "cache_dir": cache,
            "token_file": self.token_file,
            "dwell_seconds": DWELL,
            "transition_seconds": TRANSITION,
            "revocation_poll_seconds": 5.0,
            "sync_minutes": 1.0,
            "heartbeat_seconds": 10.0,
        }

    def publish(self, source: Path) -> int:
        result = publish_channel(
            self.repository,
            CHANNEL,
            source,
            photos=SAMPLE / "photos",
            now=now(),
            settings=ChannelSettings(sample=True),
            allow_partial=True,
        )
        assert result.version is not None
        return result.version

    def published(self) -> tuple[str, list[str]]:
        """The live playlist target's sha256 (its header's, as screens that moved over name it) and its entry
        ids."""
        target = live_info(self.repository, CHANNEL)
        playlist = current_playlist(self.repository, CHANNEL)
        assert target is not None and playlist is not None
        return target.hashes["sha256"], [record.entry_id for record in playlist.records]


def _subset(source: Path, target: Path) -> Path:
    """The sample without every third row: switching between the two downloads and collects photos."""
    with source.open(encoding="utf-8-sig", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    with target.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(row for number, row in enumerate(rows) if number % 3 != 2)
    return target


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory, django_db_setup: None, django_db_blocker: Any
) -> Iterator[World]:
    # The hub's test database, used for real by the hub's threads for the whole module; emptied afterwards.
    with django_db_blocker.unblock():
        try:
            yield from _world(tmp_path_factory)
        finally:
            from signage.operator.hub.screens import models

            for model in (models.Play, models.Batch, models.Heartbeat, models.Screen):
                model.objects.all().delete()


def _world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    from signage.operator.hub.screens import records

    work = tmp_path_factory.mktemp("torture")
    repository = OperatorRepository.init(work / "repo", now=now())
    token = new_token()
    token_file = work / "screen.token"
    token_file.write_text(token + "\n", encoding="utf-8")
    token_file.chmod(0o600)
    root = work / "root.json"

    def refresh() -> None:
        with repository.locked():
            repository.refresh(now=now())

    # pytest-django made the database: the hub is wired for this repository without setting Django up again.
    hub = make_hub(repository.directory, clock=now, refresh=refresh, port=0, setup=False)
    records.add_screen(SCREEN_ID, hash_token(token), added_at=now())
    hub.start()
    try:
        with xvfb(SCREEN) as display:
            world = World(
                repository=repository,
                hub_url=f"http://127.0.0.1:{hub.port}/",
                token=token,
                token_file=token_file,
                root=root,
                work=work,
                display=display,
                seed_cache=work / "seed-cache",
                full=SAMPLE / "records.csv",
                subset=_subset(SAMPLE / "records.csv", work / "subset.csv"),
            )
            world.publish(world.full)
            shutil.copyfile(repository.metadata_dir / "1.root.json", root)
            # A synced cache for the outage test, whose players never reach a working hub.
            config = PlayerConfig(SCREEN_ID, world.hub_url, CHANNEL, root, world.seed_cache)
            with requests.Session() as session, HttpFetcher(session) as fetcher:
                session.trust_env = False
                assert ScreenSync(config, fetcher=fetcher, clock=now).sync_once().ok
            yield world
    finally:
        hub.stop()


# --- the kill cycles ----------------------------------------------------------------------------------------


@dataclass
class Cycle:
    """One kill cycle's run and what the checks found afterwards."""

    run: Run
    cache: CacheCheck
    log: LogCheck
    accounting: Accounting
    own: Accounting
    started_with: tuple[str | None, int | None]
    changed_before: bool
    #: The player's last lines before the kill, each with its time relative to the kill.
    last_lines: list[str] = field(default_factory=list)


@dataclass
class Torture:
    """Everything the kill cycles and the clean cycle found."""

    cycles: list[Cycle] = field(default_factory=list)
    clean: Run | None = None
    clean_exit: int | None = None
    clean_log: LogCheck | None = None
    heartbeat_at: dt.datetime | None = None
    clean_started: dt.datetime | None = None
    final: Accounting | None = None
    hub_plays: int = 0
    hub_batch_plays: int = 0
    exposure_plays: int = 0
    drained: int = 0
    published: int = 0
    revoked: int = 0
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    resent_batches: set[str] = field(default_factory=set)
    final_leftovers: tuple[str, ...] = ()

    @property
    def survived(self) -> int:
        """Kill cycles after which every check passed."""
        return sum(
            1
            for cycle in self.cycles
            if cycle.run.to_first_slide is not None
            and not cycle.cache.problems
            and cycle.log.integrity.startswith("ok")
            and not cycle.log.moved_aside
            and not cycle.own.lost
            and not cycle.accounting.duplicates
            and (cycle.run.mode != "in-write" or len(cycle.own.lost_in_write) >= 1)
        )

    @property
    def runs(self) -> list[Run]:
        return [cycle.run for cycle in self.cycles] + ([self.clean] if self.clean is not None else [])


def _aim(mode: str, lines: Lines, painted: float, rng: random.Random, *, first: bool = False) -> None:
    """Wait until the moment this cycle's kill is aimed at (every wait bounded).

    ``first``: the first cycle's sync is killed as soon as it has started, so that at least one kill lands
    inside a full sync on any machine, however fast its syncs; the later ones spread over a sync's length.
    """
    if mode == "random":
        lines.read_until(time.perf_counter() + rng.uniform(1.0, 6.0))
    elif mode == "transition":
        lines.read_until(time.perf_counter() + rng.uniform(1.0, 4.0))
        lines.drain()
        mark = len(lines.seen)
        if lines.wait_for(SHOWN, time.perf_counter() + 3 * DWELL + 2, after=mark) is not None:
            lines.read_until(time.perf_counter() + rng.uniform(0.0, 0.9))
    elif mode == "sync":
        if lines.wait_for(SYNC_STARTED, painted + PAINT_TIMEOUT) is not None:
            lines.read_until(time.perf_counter() + (0.0 if first else rng.uniform(0.0, SYNC_SPREAD)))
    else:
        raise AssertionError(mode)


def _phase(run: Run, lines: Lines, published: str, cache: CacheCheck) -> str:
    """Where the kill landed: in a sync, a play-log write, a transition, or while a slide stood."""
    started = [(at, line) for at, line in lines.matching(SYNC_STARTED) if at < run.stopped]
    finished = [at for at, _ in lines.matching(SYNC_FINISHED) if at < run.stopped]
    if len(started) > len(finished):
        kind = "full sync" if started[-1][1].endswith("full") else "takedown check"
        outcome = "new set already in" if cache.playlist == published else "old set kept"
        return f"during a {kind} ({outcome})"
    if run.mode == "in-write":
        return "inside a play-log write" if lines.matching(KILLING) else "in-write kill missed"
    if not run.shown:
        return "before any slide"
    since = run.stopped - run.shown[-1].at
    if since < TRANSITION:
        return "during a transition"
    return "while a slide stood"


def _kill_cycle(
    world: World, config_path: Path, index: int, mode: str, rng: random.Random
) -> tuple[Run, Lines]:
    extra = {IN_WRITE_ENV: str(rng.randint(1, 3))} if mode == "in-write" else None
    with player(config_path, world.display, instrumented=True, extra=extra) as child:
        painted = child.lines.wait_for(FIRST_PAINTED, child.started + PAINT_TIMEOUT)
        if painted is not None and mode == "in-write":
            # The child kills itself in its first to third play-log write: 2 to 6 s after the first slide.
            killed = child.lines.wait_for(KILLING, painted + 4 * DWELL + PAINT_TIMEOUT)  # a hang-guard
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.process.wait(timeout=5)
            stopped = (
                killed if killed is not None and child.process.returncode == -signal.SIGKILL else kill9(child)
            )
        else:
            if painted is not None:
                _aim(mode, child.lines, painted, rng, first=index == 0)
            stopped = kill9(child)
    run = Run(
        index=index,
        mode=mode,
        to_first_slide=None if painted is None else painted - child.started,
        killed=True,
        stopped=stopped,
        shown=shown_slides(child.lines),
    )
    return run, child.lines


@pytest.fixture(scope="module")
def tortured(world: World) -> Torture:
    began = time.perf_counter()
    rng = random.Random(SEED)
    result = Torture()
    cache_dir = world.work / "screen-cache"
    config_path = write_config(world.work / "player.toml", world.settings(cache_dir))
    config = load_player_config(config_path)
    modes = ["sync"] + [MODES[number % len(MODES)] for number in range(1, CYCLES)]
    tail = modes[1:]
    rng.shuffle(tail)
    modes[1:] = tail
    variants = [world.subset, world.full]
    revoked: set[str] = set()
    previous: tuple[str | None, int | None] = (None, None)
    for index, mode in enumerate(modes):
        changed = index == 0
        if index and mode == "sync":
            world.publish(variants[result.published % 2])
            result.published += 1
            changed = True
        elif index % 4 == 2:
            _, ids = world.published()
            candidates = [entry for entry in ids if entry not in revoked]
            if candidates:
                victim = rng.choice(candidates)
                with contextlib.suppress(UsageError):
                    revoke_entries(
                        world.repository, CHANNEL, [victim], reason="已履行 / paid (torture)", now=now()
                    )
                    revoked.add(victim)
                    result.revoked += 1
                    changed = True
        published, _ = world.published()
        run, lines = _kill_cycle(world, config_path, index, mode, rng)
        cache = verify_cache(config)
        run.phase = _phase(run, lines, published, cache)
        log = check_play_log(cache_dir)
        hub = hub_plays(SCREEN_ID)
        runs = [cycle.run for cycle in result.cycles] + [run]
        accounting = account(runs, hub, log.plays, write_window=WRITE_WINDOW)
        own = account([run], hub, log.plays, write_window=WRITE_WINDOW)
        result.resent_batches |= {play.batch_id for play in log.plays if play.batch_id in hub.batches}
        last_lines = [
            f"{at - run.stopped:+.3f} s {line[24:]}"
            for at, line in lines.seen
            if at <= run.stopped + 0.01 and "apscheduler" not in line
        ][-6:]
        cycle = Cycle(run, cache, log, accounting, own, previous, changed, last_lines)
        result.cycles.append(cycle)
        previous = (cache.playlist, cache.revocations_version)
        where = f"cycle {index} ({mode}, {run.phase})"
        if mode == "in-write" and (run.phase != "inside a play-log write" or not own.lost_in_write):
            result.problems.append(
                f"{where}: expected the one play being written lost, got {own.lost_in_write}"
            )
        if run.to_first_slide is None:
            result.problems.append(f"{where}: no first slide within {PAINT_TIMEOUT:g} s:\n{lines.tail()}")
        result.problems += [f"{where}: cache: {problem}" for problem in cache.problems]
        if log.integrity not in ("ok", "ok (no file yet)") or log.moved_aside:
            result.problems.append(f"{where}: play log: {log.integrity}; moved aside {log.moved_aside}")
        if log.batches > 1:
            result.problems.append(f"{where}: {log.batches} unacknowledged batches (at most one expected)")
        if accounting.duplicates or accounting.lost or accounting.unknown:
            result.problems.append(
                f"{where}: duplicates {accounting.duplicates}, lost {accounting.lost}, unknown {accounting.unknown}"
            )
        if sum(hub.batches.values()) != len(hub.plays):
            result.problems.append(
                f"{where}: the hub's batches say {sum(hub.batches.values())} plays, it holds {len(hub.plays)}"
            )
        errors = [line for _, line in lines.seen if " ERROR " in line or "Traceback" in line]
        if errors:
            result.problems.append(f"{where}: the player logged errors: {errors}")
    _clean_cycle(world, config_path, result)
    _drain_and_count(world, config, result)
    result.seconds = time.perf_counter() - began
    return result


def _clean_cycle(world: World, config_path: Path, result: Torture) -> None:
    """Run long enough for two heartbeats, then SIGTERM: the player records the slide on screen and exits."""
    result.clean_started = now().replace(microsecond=0)
    with player(config_path, world.display, instrumented=True) as child:
        painted = child.lines.wait_for(FIRST_PAINTED, child.started + PAINT_TIMEOUT)
        if painted is not None:
            child.lines.read_until(painted + CLEAN_SECONDS)
        stopped = time.perf_counter()
        child.process.send_signal(signal.SIGTERM)
        try:
            result.clean_exit = child.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            result.problems.append(f"clean cycle: still running {STOP_TIMEOUT:g} s after SIGTERM")
    result.clean = Run(
        index=len(result.cycles),
        mode="clean",
        to_first_slide=None if painted is None else painted - child.started,
        killed=False,
        stopped=stopped,
        shown=shown_slides(child.lines),
        phase="SIGTERM",
    )
    if painted is None:
        result.problems.append(f"clean cycle: no first slide:\n{child.lines.tail()}")
    from signage.operator.hub.screens import records

    beats = [beat for beat in records.latest_heartbeats() if beat.screen_id == SCREEN_ID]
    result.heartbeat_at = beats[0].received_at if beats else None
    result.clean_log = check_play_log(Path(load_player_config(config_path).cache_dir))


def _drain_and_count(world: World, config: PlayerConfig, result: Torture) -> None:
    """Upload what the clean cycle recorded after its last heartbeat, with the player's own Uploader."""
    with requests.Session() as session, PlayLog(config.cache_dir / "plays.sqlite", clock=now) as play_log:
        session.trust_env = False
        uploader = Uploader(world.hub_url, world.token, session=session, clock=now, screen_id=SCREEN_ID)
        upload = uploader.upload(play_log)
        if not upload.ok:
            result.problems.append(f"the final upload failed: {upload.state}: {upload.en}")
        result.drained = upload.plays
    result.final_leftovers = verify_cache(config).leftovers
    log = check_play_log(config.cache_dir)
    if log.plays:
        result.problems.append(f"{len(log.plays)} plays still in the local log after the final upload")
    hub = hub_plays(SCREEN_ID)
    result.final = account(result.runs, hub, log.plays, write_window=WRITE_WINDOW)
    result.hub_plays = len(hub.plays)
    result.hub_batch_plays = sum(hub.batches.values())
    from signage.operator.hub.screens import records

    rows = records.exposure(dt.date(2000, 1, 1), dt.date(2100, 1, 1))
    result.exposure_plays = sum(row.plays for row in rows if row.screen_id == SCREEN_ID)


def _summary(result: Torture) -> str:
    times = [run.to_first_slide for run in result.runs if run.to_first_slide is not None]
    restarts = [
        cycle.run.to_first_slide for cycle in result.cycles[1:] if cycle.run.to_first_slide is not None
    ]
    final = result.final
    assert final is not None
    phases = Counter(cycle.run.phase for cycle in result.cycles)
    modes = Counter(cycle.run.mode for cycle in result.cycles)
    leftovers = sorted({name for cycle in result.cycles for name in cycle.cache.leftovers})
    resent = len(result.resent_batches)
    lines = [
        "",
        f"torture: {len(result.cycles)} kill -9 cycles (seed {SEED}; aimed {dict(sorted(modes.items()))}), "
        f"{result.survived} survived every check; then one clean SIGTERM cycle; {result.seconds:.1f} s in all",
        "  cycle  aimed       to 1st slide  slides  lost(written)  pointer after  kill landed  (* new content)",
    ]
    for cycle in result.cycles:
        run = cycle.run
        first = "-" if run.to_first_slide is None else f"{run.to_first_slide:.2f} s"
        lines.append(
            f"  {run.index:4d}{'*' if cycle.changed_before else ' '}  {run.mode:10s}  {first:>12s}  {len(run.shown):6d}  "
            f"{len(cycle.own.lost) + len(cycle.own.lost_in_write):4d} ({len(cycle.own.lost_in_write)})      "
            f"{f'v{cycle.cache.playlist_version}/r{cycle.cache.revocations_version}':13s}  {run.phase}"
        )
    lines += [
        f"  kills landed: {dict(sorted(phases.items()))}",
        f"  content changed between cycles: {result.published} publishes (sample <-> subset), "
        f"{result.revoked} takedowns",
        f"  restart to first slide (Popen to 'first slide painted', 1920x1080 Xvfb): "
        f"min {min(restarts):.2f} s, median {statistics.median(restarts):.2f} s, max {max(restarts):.2f} s "
        f"over {len(restarts)} restarts after kill -9 (first start, empty cache: {times[0]:.2f} s; "
        f"clean cycle: {times[-1]:.2f} s)",
        f"  slides shown {final.shown}; left the screen {final.expected}; on screen at a kill, never a play "
        f"(by design) {final.in_flight}",
        f"  plays stored {final.stored} (all at the hub; {result.drained} uploaded after the clean cycle); "
        f"lost while being written {len(final.lost_in_write)} ({_outside_cuts(result)}); "
        f"lost otherwise {len(final.lost)}; "
        f"duplicated {len(final.duplicates)}; stored but never shown {len(final.unknown)}",
        f"  hub: batches say {result.hub_batch_plays} plays, exposure report {result.exposure_plays}; "
        f"batches the hub had counted but a kill kept from being acknowledged (sent again, answered "
        f"duplicate, not recounted): {resent}",
        f"  temporary files left in the cache by kills: {len(leftovers)} {leftovers}; still there at the "
        f"end: {list(result.final_leftovers)}",
    ]
    for cycle in result.cycles:
        if cycle.run.mode != "in-write" and cycle.own.lost_in_write:
            lines.append(f"  cycle {cycle.run.index}: the player's last lines before the kill:")
            lines += [f"    {line[:150]}" for line in cycle.last_lines]
    return "\n".join(lines)


def _outside_cuts(result: Torture) -> str:
    """The plays an outside kill cut while they were being written, with how soon after the slide change."""
    gaps = [
        f"cycle {cycle.run.index} {gap * 1000:.0f} ms"
        for cycle in result.cycles
        if cycle.run.mode != "in-write"
        for gap in cycle.own.write_gaps
    ]
    in_write = sum(1 for cycle in result.cycles if cycle.run.mode == "in-write")
    return f"{in_write} by the in-write kills; by outside kills, after the slide change: {gaps or 'none'}"


def test_kill_9_many_times_the_cache_verifies_and_no_play_is_lost_or_counted_twice(tortured: Torture) -> None:
    result = tortured
    print(_summary(result))
    assert not result.problems, "\n".join(result.problems)
    assert len(result.cycles) == CYCLES
    assert result.survived == CYCLES
    # Every restart painted a first slide (within PAINT_TIMEOUT, a hang-guard). How fast is timed by the
    # cold-start benchmark (bench/), not here: on a loaded machine it is the machine's speed.
    assert None not in [run.to_first_slide for run in result.runs]
    final = result.final
    assert final is not None
    # No play counted twice, by the hub or across hub and local log; the hub's three counts agree.
    assert final.duplicates == {}
    assert result.hub_plays == result.hub_batch_plays == result.exposure_plays == final.stored
    # At a kill the slide on screen is lost (it becomes a play only when it leaves), and the plays whose
    # write the kill cut: handed to the telemetry thread less than WRITE_WINDOW before, not yet committed.
    # One for each in-write kill; an outside kill lands in that window rarely (two plays when a slide
    # replaced at once is covered by standby for a few milliseconds). Nothing older is ever lost.
    in_write = sum(1 for cycle in result.cycles if cycle.run.mode == "in-write")
    assert final.lost == [] and final.unknown == []
    assert len(final.lost_in_write) >= in_write
    assert final.stored == final.expected - len(final.lost_in_write)
    assert final.in_flight == CYCLES
    # The clean cycle: exit 0, the screen's heartbeat reached the hub, and every batch the kills left
    # behind was uploaded by the time it stopped (what remains is its own last few slides, unbatched).
    assert result.clean_exit == 0
    assert result.heartbeat_at is not None and result.clean_started is not None
    assert result.heartbeat_at >= result.clean_started
    clean_log = result.clean_log
    assert clean_log is not None and clean_log.batches == 0
    clean = result.clean
    assert clean is not None
    clean_keys = {slide.key for slide in clean.shown}
    assert all(play.key in clean_keys for play in clean_log.plays), clean_log.plays
    # A temporary file a kill left among the objects is gone after the next sync (collect); the ones beside
    # the pointer are swept once ten minutes old (signage/sync/cache.py), so they may still be there.
    assert not [name for name in result.final_leftovers if name.startswith("objects/")], (
        result.final_leftovers
    )
    # The kills landed where they were aimed, each kind at least once.
    phases = Counter(cycle.run.phase.split(" (")[0] for cycle in result.cycles)
    assert phases["inside a play-log write"] >= 1, phases
    assert phases["during a transition"] >= 1, phases
    assert phases["during a full sync"] >= 1, phases


#: Restarts this far apart resume in different slots of the day's order. The slot is the time the rotation
#: resumed divided by the dwell (signage/core/rotation.py). ``Shown.started`` is whole seconds, so first slides
#: two dwells (4 s) apart went on screen more than 3 s apart; the time from resuming to the first slide
#: varies by well under a second between runs, so the resumes were more than one dwell apart. (A kill
#: during the start-up sync often restarts the player within one slot: it then begins with the same slide,
#: by design, where a screen playing all along would be.) Under a minute apart, the slot cannot have come
#: round to the same slide again (the subset has 40-odd).
RESUME_APART = (2 * DWELL, 60.0)


def test_a_restart_resumes_the_rotation_where_it_stopped(tortured: Torture) -> None:
    # Pairs of consecutive kill cycles that started from the same set (same playlist, same takedowns) and
    # in different slots of the day: a rotation that resumes does not begin the second with the slide it
    # began the first with (a cycle of the sample is 60-odd slides; a run shows a handful). Two starts
    # within one dwell slot begin with the same slide by design: where a screen playing all along would be.
    pairs = []
    for before, after in zip(tortured.cycles, tortured.cycles[1:], strict=False):
        same_set = before.started_with == after.started_with and before.started_with[0] is not None
        if not same_set or not before.run.shown or not after.run.shown:
            continue
        first, second = before.run.shown[0], after.run.shown[0]
        if not _debtor(first.entry_id) or not _debtor(second.entry_id):
            continue
        if not RESUME_APART[0] <= second.started - first.started < RESUME_APART[1]:
            continue
        pairs.append(
            (
                before.run.index,
                first.entry_id,
                after.run.index,
                second.entry_id,
                second.started - first.started,
            )
        )
    if len(pairs) < 2:
        pytest.skip(f"only {len(pairs)} pairs of restarts from an unchanged set; run more cycles")
    repeated = [pair for pair in pairs if pair[1] == pair[3]]
    assert not repeated, f"restarts began with the same slide as the start before: {repeated}"


def _debtor(entry_id: str) -> bool:
    return entry_id != "standby" and not entry_id.startswith("notice:")


# --- outage ---------------------------------------------------------------------------------------------


def _plays_now(cache: Path) -> int:
    path = cache / "plays.sqlite"
    if not path.exists():
        return 0
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
        try:
            return int(connection.execute("SELECT count(*) FROM plays").fetchone()[0])
        except sqlite3.OperationalError:
            return 0  # the player has not created the table yet


@dataclass
class Outage:
    """One player against one broken hub, and what it did."""

    name: str
    hub_url: str
    cache: Path
    config: Path
    painted: float | None = None
    mid_plays: int = 0
    alive: bool = False
    exit_code: int | None = None
    stop_seconds: float | None = None
    warnings: list[str] = field(default_factory=list)
    log: LogCheck | None = None
    cache_check: CacheCheck | None = None
    run: Run | None = None
    tail: str = ""


#: The broken hubs; ``hang`` is the instrumented player, killed with SIGKILL while its upload waits.
OUTAGE_HUBS = ("down", "junk", "error", "flapping", "hang")
#: When the hanging hub's player is killed: its first heartbeat (5 s) and upload wait 10 s each meanwhile.
HANG_KILL_AFTER = 14.0


@pytest.fixture(scope="module")
def outages(world: World) -> dict[str, Outage]:
    """Five players at once from a synced cache, each with a broken hub for the whole run."""
    hubs = {mode: GarbageHub(SEED + number, mode) for number, mode in enumerate(OUTAGE_HUBS[1:])}
    # Bound but not listening: every connection is refused, and no other test can take the port meanwhile.
    down = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    found: dict[str, Outage] = {}
    children = []
    try:
        down.bind(("127.0.0.1", 0))
        urls = {"down": f"http://127.0.0.1:{down.getsockname()[1]}/"}
        for mode, hub in hubs.items():
            hub.start()
            urls[mode] = hub.url
        for name in OUTAGE_HUBS:
            cache = world.work / f"outage-{name}"
            shutil.copytree(world.seed_cache, cache)
            config = write_config(world.work / f"outage-{name}.toml", world.settings(cache, urls[name]))
            found[name] = Outage(name, urls[name], cache, config)
        with contextlib.ExitStack() as stack:
            children = [
                stack.enter_context(player(outage.config, world.display, instrumented=outage.name == "hang"))
                for outage in found.values()
            ]
            for outage, child in zip(found.values(), children, strict=True):
                outage.painted = child.lines.wait_for(FIRST_PAINTED, child.started + PAINT_TIMEOUT)
                assert outage.painted is not None, f"{outage.name}: no first slide:\n{child.lines.tail()}"
            start = max(outage.painted for outage in found.values() if outage.painted is not None)
            for child in children:
                child.lines.read_until(start + OUTAGE_SECONDS / 2)
            for outage in found.values():
                outage.mid_plays = _plays_now(outage.cache)
            hang, hanging = found["hang"], children[OUTAGE_HUBS.index("hang")]
            assert hang.painted is not None
            hanging.lines.read_until(hang.painted + HANG_KILL_AFTER)
            hang.alive = hanging.process.poll() is None
            hang.run = Run(0, "hang", hang.painted - hanging.started, True, kill9(hanging))
            for child in children:
                child.lines.read_until(start + OUTAGE_SECONDS)
            for outage, child in zip(found.values(), children, strict=True):
                if outage.name == "hang":
                    continue
                outage.alive = child.process.poll() is None
                stopping = time.perf_counter()
                child.process.send_signal(signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    outage.exit_code = child.process.wait(timeout=STOP_TIMEOUT)
                    outage.stop_seconds = time.perf_counter() - stopping
    finally:
        down.close()
        for hub in hubs.values():
            hub.stop()
    for outage, child in zip(found.values(), children, strict=True):
        outage.warnings = [
            line
            for _, line in child.lines.seen
            if " WARNING " in line or " ERROR " in line or "Traceback" in line
        ]
        outage.tail = child.lines.tail()
        outage.log = check_play_log(outage.cache)
        outage.cache_check = verify_cache(load_player_config(outage.config))
        if outage.run is not None:
            outage.run.shown = shown_slides(child.lines)

    print()
    for outage in found.values():
        assert outage.log is not None
        debtor = sum(1 for play in outage.log.plays if _debtor(play.entry_id))
        ending = (
            "killed"
            if outage.name == "hang"
            else f"SIGTERM to exit {'-' if outage.stop_seconds is None else f'{outage.stop_seconds:.2f} s'}"
        )
        print(
            f"outage, hub {outage.name}: plays recorded {outage.mid_plays} at {OUTAGE_SECONDS / 2:g} s, "
            f"{len(outage.log.plays)} at the end ({debtor} debtor slides), {outage.log.batches} batch waiting; "
            f"{len(outage.warnings)} warning/error lines; {ending}"
        )
        for line in outage.warnings:
            print(f"    {line[:200]}")
    for mode, hub in hubs.items():
        answered = Counter((method, status) for method, _, status in hub.answered)
        print(
            f"  the {mode} hub answered {sum(answered.values())} requests: {dict(sorted(answered.items()))}"
        )
    return found


def test_hub_down_or_answering_garbage_the_screen_plays_on(outages: dict[str, Outage]) -> None:
    """Nothing listening, a 200 of random bytes to every request, a 500 to every request, or either at random
    (flapping), for the whole run: the player paints, records plays, keeps one batch waiting, stops on
    SIGTERM."""
    for name in ("down", "junk", "error", "flapping"):
        outage = outages[name]
        assert outage.log is not None and outage.cache_check is not None
        assert outage.alive, f"{name}: the player died:\n{outage.tail}"
        assert outage.exit_code == 0, f"{name}: exit {outage.exit_code} after SIGTERM"
        # Still painting: plays keep being recorded, debtor slides among them, about one per dwell.
        assert 0 < outage.mid_plays < len(outage.log.plays), name
        assert len(outage.log.plays) >= OUTAGE_SECONDS / DWELL - 3, name
        assert any(_debtor(play.entry_id) for play in outage.log.plays), name
        # Nothing acknowledged, nothing lost: at most one batch waits under its id for the hub's return.
        assert outage.log.batches <= 1, name
        assert outage.log.integrity == "ok" and not outage.log.moved_aside, name
        assert not outage.cache_check.problems, outage.cache_check.problems
        assert not [line for line in outage.warnings if " ERROR " in line or "Traceback" in line], (
            outage.warnings
        )
        if name != "flapping":
            assert len(outage.warnings) <= MAX_WARNINGS, f"{name}: {outage.warnings}"


def test_a_hub_that_does_not_answer_costs_no_play_at_a_kill(outages: dict[str, Outage]) -> None:
    outage = outages["hang"]
    assert outage.run is not None and outage.log is not None
    assert outage.alive, f"the player died before the kill:\n{outage.tail}"
    accounting = account([outage.run], HubPlays((), {}), outage.log.plays, write_window=WRITE_WINDOW)
    assert accounting.duplicates == {} and accounting.unknown == []
    assert len(accounting.lost_in_write) <= 1
    assert accounting.lost == [], (
        f"a kill {HANG_KILL_AFTER:g} s after the first slide lost {len(accounting.lost)} plays of slides that had "
        f"left the screen (of {accounting.expected}): {accounting.lost}"
    )


def test_a_hub_flapping_between_two_failures_is_not_logged_at_every_poll() -> None:
    # The two outcomes the flapping hub of the outage test produced, one after the other, as the takedown
    # check (every revocation_poll_seconds) would meet them for an hour at the default 30 s: 120 polls.
    messages = [
        SyncResult(SyncState.OFFLINE, "集线器返回 HTTP 500", "the hub answered HTTP 500"),
        SyncResult(SyncState.REFUSED, "拒绝：无法解析 JSON", "refused: Failed to deserialize JSON"),
    ]
    logger = logging.getLogger("tests.torture.flapping")
    logger.propagate = False  # counted, not printed
    logger.addHandler(logging.NullHandler())
    state_log = StateLog(logger)
    logged = sum(state_log.record(messages[poll % 2]) for poll in range(120))
    assert logged <= MAX_WARNINGS, f"{logged} warnings for 120 polls of a hub flapping between two failures"


class _Watchdog:
    """A datagram socket standing in for systemd's ``$NOTIFY_SOCKET``: the painter's pings, timed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.pings: list[float] = []
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._socket.bind(str(path))
        self._socket.settimeout(0.2)
        self._stop = False
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        while not self._stop:
            try:
                message = self._socket.recv(4096)
            except TimeoutError:
                continue
            if b"WATCHDOG=1" in message:
                self.pings.append(time.perf_counter())

    def close(self) -> None:
        self._stop = True
        self._thread.join(5)
        self._socket.close()


def _last_shown(lines: Lines) -> int:
    """The number of lines up to and including the last "shown" line."""
    return next(
        (number + 1 for number in range(len(lines.seen) - 1, -1, -1) if SHOWN in lines.seen[number][1]), 0
    )


def test_a_stopped_or_killed_sync_service_never_touches_the_screen(world: World, tmp_path: Path) -> None:
    """SIGSTOP the sync service (a hang), then SIGKILL it (a crash): the painter keeps changing slides and
    its watchdog pings never pause."""
    cache = tmp_path / "cache"
    shutil.copytree(world.seed_cache, cache)
    config_path = write_config(tmp_path / "player.toml", world.settings(cache))
    watchdog = _Watchdog(tmp_path / "notify")
    extra = {"NOTIFY_SOCKET": str(watchdog.path), "WATCHDOG_USEC": "2000000"}
    try:
        with player(config_path, world.display, instrumented=True, extra=extra) as child:
            assert child.service is not None
            painted = child.lines.wait_for(FIRST_PAINTED, child.started + PAINT_TIMEOUT)
            assert painted is not None, child.lines.tail()
            assert child.lines.wait_for(SYNC_FINISHED, painted + PAINT_TIMEOUT) is not None, (
                child.lines.tail()
            )
            for hurt in (signal.SIGSTOP, signal.SIGKILL):
                child.service.send_signal(hurt)
                hurt_at = time.perf_counter()
                child.lines.drain()
                # Four more slides at a 2 s dwell: the screen goes on as if nothing happened.
                for _ in range(4):
                    after = _last_shown(child.lines)
                    arrived = child.lines.wait_for(SHOWN, hurt_at + 4 * DWELL + PAINT_TIMEOUT, after=after)
                    assert arrived is not None, child.lines.tail()
                during = [at for at in watchdog.pings if at > hurt_at]
                # Pings every second (half of WATCHDOG_USEC): never a gap near the 2 s timeout.
                assert len(during) >= 4, (hurt, len(during))
                assert max(b - a for a, b in zip([hurt_at, *during], during, strict=False)) < 1.9
                assert child.process.poll() is None
            child.service.wait(timeout=10)
            assert child.service.returncode == -signal.SIGKILL
    finally:
        watchdog.close()
