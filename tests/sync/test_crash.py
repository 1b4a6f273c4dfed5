"""Crash consistency: SIGKILL a syncing screen at random points, many times; the set on disk survives.

The issue asks: "kill -9 a syncing subprocess at random points, many times. Afterwards the on-disk set is
always exactly the old one or exactly the new one, and verifies."

A screen holds version A of a channel. The operator publishes B (other people, other photos) and then
revokes one of B's entries. Each trial copies the A cache, lets ``crash_worker.py`` sync the copy, sends
SIGKILL after a delay and then inspects the copy from this process:

- ``current.json`` names A's playlist or B's, and A's revocations or B's. Revocations are switched in
  ahead of the playlist on purpose (``signage/sync/client.py``: a takedown never waits behind a
  download), so "A's playlist with B's revocations" is the one legitimate pointer between the two; B's
  takedown names none of A's people, so it still shows exactly A's records.
- Every object the pointer names (playlist, revocations, the photo of every record not revoked) is
  present and matches its sha256.
- ``current(now)`` shows exactly A's records or exactly B's minus the revoked one, never a mix.
- A follow-up sync succeeds, reaches B and leaves exactly B's objects: no debris of the killed sync.

The kill points are counted in progress, not in seconds, so that a loaded machine moves none of them: the
worker's server counts the body chunks it sends, a measured sync takes a known number of them, and each
trial is killed once the server holds back its k-th chunk (the worker has everything before it, and may
still be writing or checking the last one). The points are spread over 1.3 times the sync's chunks, one
drawn at random (seeded) inside each of N equal slices, so that early kills (old set), kills between the
takedown and the new playlist, and late ones (after the sync returned: new set) all happen on every run.
The server sends the timestamp, the two targets and every photo (in 4 KiB chunks) after short pauses, so
kills also land inside downloads; the follow-up syncs go through a real :class:`Hub` on the same folder.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from tuf.api.metadata import Metadata, Timestamp

from signage.core.playlist import Playlist
from signage.operator.fictional import portrait
from signage.operator.hub.files import make_app
from signage.operator.hub.server import Hub
from signage.operator.publish.channel import ChannelSettings, publish_channel, revoke_entries
from signage.operator.publish.repo import OperatorRepository, header_path, revocations_path
from signage.operator.publish.sharded import read_header, read_playlist
from signage.sync.cache import ContentCache, ObjectRef
from signage.sync.client import ScreenSync, SyncState
from signage.sync.config import PlayerConfig
from signage.sync.fetcher import HttpFetcher
from signage.sync.snapshot import SnapshotReader
from tests.helpers import HEADERS, entry_id_of, person_row, write_csv
from tests.sync.conftest import Fault, FaultServer

CHANNEL = "c1"
WORKER = Path(__file__).with_name("crash_worker.py")
TRIALS = 25
SEED = 20261126
#: Kills are spread over this multiple of the measured sync's body chunks, so the last few land after it.
SPREAD = 1.3
#: The entry of export B's third row (serial B03), revoked by its case number.
REVOKED_CASE = "（2025）鲁0102执2003号"
REVOKED = entry_id_of(person_row("B03", 案号=REVOKED_CASE))
# Pauses before each body chunk, in seconds: the worker goes on with the chunk before while one is held.
METADATA_PAUSE = 0.05
TARGET_PAUSE = 0.08
PHOTO_PAUSE = 0.01
PHOTO_CHUNK = 4096
#: The pointer between the two sets: A's playlist with B's revocations (takedowns go first, by design).
TAKEDOWN_FIRST = "old+takedown"
CACHE_FILES = frozenset({"tuf", "objects", "current.json", "clock.json"})
TUF_FILES = frozenset({"root.json", "root_history", "timestamp.json", "snapshot.json", "targets.json"})
#: python-tuf's copies of the hashed bins it followed to the shards.
BIN_FILE = re.compile(r"bins-[0-9a-f]{2}\.json")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Version:
    """What a screen holds once it has applied one published version.

    Attributes:
        playlist: The playlist's header target (screens read the sharded form).
        parts: Its shards.
        revocations: The revocations target.
        decoded: The playlist itself.
        shown: The entry ids ``current()`` shows, in order.
        objects: Every object the cache keeps for it.
    """

    playlist: ObjectRef
    parts: tuple[ObjectRef, ...]
    revocations: ObjectRef
    decoded: Playlist
    shown: tuple[str, ...]
    objects: frozenset[str]


@dataclass(frozen=True)
class World:
    """The published versions, the screen's root and A cache, and the two servers' URLs."""

    old: Version
    new: Version
    root: Path
    cache_a: Path
    slow_url: str
    hub_url: str
    work: Path


def _write_export(folder: Path, prefix: str, seed: int) -> tuple[Path, Path]:
    """A court export of a dozen people, each with a distinct portrait."""
    photos = folder / "photos"
    photos.mkdir(parents=True)
    rows = []
    for number in range(1, 13):
        entry = f"{prefix}{number:02d}"
        name = f"{entry.lower()}.jpg"
        portrait(seed + number, (240, 320)).save(photos / name, format="JPEG", quality=90)
        rows.append(person_row(entry, 案号=f"（2025）鲁0102执{seed + number}号", 照片=name))
    return write_csv(folder / "records.csv", rows, headers=(*HEADERS, "照片")), photos


def _published(repository: OperatorRepository, revoked: frozenset[str]) -> Version:
    targets = repository.targets().signed.targets
    playlist, revocations = (
        ObjectRef(targets[path].hashes["sha256"], targets[path].length)
        for path in (header_path(CHANNEL), revocations_path(CHANNEL))
    )
    header = read_header(repository, CHANNEL)
    decoded = read_playlist(repository, CHANNEL)
    assert header is not None and decoded is not None
    parts = tuple(ObjectRef(ref.sha256, ref.length) for ref in header.shards if ref is not None)
    kept = [record for record in decoded.records if record.entry_id not in revoked]
    photos = {record.photo.sha256 for record in kept if record.photo is not None}
    return Version(
        playlist=playlist,
        parts=parts,
        revocations=revocations,
        decoded=decoded,
        shown=tuple(record.entry_id for record in kept),
        objects=frozenset({playlist.sha256, revocations.sha256} | {part.sha256 for part in parts} | photos),
    )


@contextlib.contextmanager
def _screen(root: Path, cache: Path, hub_url: str) -> Iterator[ScreenSync]:
    with requests.Session() as session:
        session.trust_env = False  # a proxy in the environment must not see requests for 127.0.0.1
        with HttpFetcher(session) as fetcher:
            config = PlayerConfig("crash-test", hub_url, CHANNEL, root, cache)
            yield ScreenSync(config, fetcher=fetcher, clock=_now)


@pytest.fixture
def world(tmp_path: Path, fault_server: FaultServer) -> Iterator[World]:
    repository = OperatorRepository.init(tmp_path / "repo", now=_now())
    settings = ChannelSettings()
    source, photos = _write_export(tmp_path / "export-a", "A", 1000)
    published = publish_channel(repository, CHANNEL, source, photos=photos, now=_now(), settings=settings)
    assert published.version == 1 and published.photos == 12
    # The installer copies the first root to the screen; later roots are fetched and verified.
    root = tmp_path / "root.json"
    shutil.copyfile(repository.metadata_dir / "1.root.json", root)
    hub = Hub(make_app(repository.public), lambda: None, host="127.0.0.1", port=0)
    hub.start()
    try:
        hub_url = f"http://127.0.0.1:{hub.port}/"
        cache_a = tmp_path / "cache-a"
        with _screen(root, cache_a, hub_url) as screen:
            assert screen.sync_once().state is SyncState.UPDATED
        old = _published(repository, frozenset())

        source, photos = _write_export(tmp_path / "export-b", "B", 2000)
        published = publish_channel(repository, CHANNEL, source, photos=photos, now=_now(), settings=settings)
        assert published.version == 2
        revoke_entries(repository, CHANNEL, [REVOKED_CASE], reason="法院撤回", now=_now())
        new = _published(repository, frozenset({REVOKED}))
        assert set(old.shown).isdisjoint(new.shown) and len(new.shown) == 11

        fault_server.serve_dir(repository.public)
        fault_server.set_fault("/metadata/timestamp.json", Fault(chunk_delay=METADATA_PAUSE))
        for path, ref in (
            (header_path(CHANNEL), new.playlist),
            (revocations_path(CHANNEL), new.revocations),
        ):
            folder, name = path.rsplit("/", 1)
            fault_server.set_fault(f"/targets/{folder}/{ref.sha256}.{name}", Fault(chunk_delay=TARGET_PAUSE))
        for photo in new.decoded.photos():
            fault_server.set_fault(f"/photos/{photo}", Fault(chunk_delay=PHOTO_PAUSE, chunk_size=PHOTO_CHUNK))
        yield World(old, new, root, cache_a, fault_server.url, hub_url, tmp_path)
    finally:
        hub.stop()


@contextlib.contextmanager
def _worker(world: World, cache: Path) -> Iterator[subprocess.Popen[str]]:
    """A started worker on ``cache``, waiting for ``go``; killed on the way out if still running."""
    command = [sys.executable, str(WORKER), world.slow_url, CHANNEL, str(world.root), str(cache)]
    pipe = subprocess.PIPE
    with subprocess.Popen(command, stdin=pipe, stdout=pipe, stderr=pipe, text=True) as process:
        try:
            yield process
        finally:
            if process.poll() is None:
                process.kill()


def _go(process: subprocess.Popen[str]) -> None:
    """Wait for the worker to be ready and start its sync."""
    assert process.stdout is not None and process.stdin is not None
    line = process.stdout.readline()
    assert line == "ready\n", line
    process.stdin.write("go\n")
    process.stdin.flush()


def _measure(world: World, server: FaultServer, cache: Path) -> int:
    """Body chunks the slow server sends for an uninterrupted sync of a copy of the A cache."""
    shutil.copytree(world.cache_a, cache)
    server.wait_idle()
    base = server.chunks_sent
    with _worker(world, cache) as process:
        assert process.stdout is not None and process.stdin is not None
        _go(process)
        line = process.stdout.readline()
        assert line.startswith(f"done {SyncState.UPDATED} "), line
        process.stdin.close()
        process.wait(10)
    assert process.returncode == 0
    assert _check_set(world, cache) == "new"
    _assert_only(world.new, cache)
    server.wait_idle()
    return server.chunks_sent - base


def _check_set(world: World, cache: Path) -> str:
    """Assert that the cache holds one whole, verified set; returns which (old, old+takedown, new)."""
    store = ContentCache(cache)
    state = store.load_state(CHANNEL)
    assert state.playlist is not None and state.revocations is not None
    old, new = world.old, world.new
    kinds = {
        (old.playlist.sha256, old.revocations.sha256): "old",
        (old.playlist.sha256, new.revocations.sha256): TAKEDOWN_FIRST,
        (new.playlist.sha256, new.revocations.sha256): "new",
    }
    kind = kinds.get((state.playlist.sha256, state.revocations.sha256))
    assert kind is not None, f"the pointer names neither set: {state}"
    version = new if kind == "new" else old
    assert state.revoked == (frozenset() if kind == "old" else {REVOKED}), f"{kind}: revoked {state.revoked}"
    named = [state.playlist, state.revocations, *version.parts]
    named += [
        ObjectRef(record.photo.sha256, record.photo.length)
        for record in version.decoded.records
        if record.photo is not None and record.entry_id not in state.revoked
    ]
    for ref in named:
        assert store.has(ref), f"{kind}: {ref.sha256[:12]} is missing"
        data = store.object_path(ref.sha256).read_bytes()
        assert hashlib.sha256(data).hexdigest() == ref.sha256, f"{kind}: {ref.sha256[:12]} is damaged"
        assert store.read(ref) == data
    with _screen(world.root, cache, world.hub_url) as screen:
        shown = tuple(record.entry_id for record in screen.current(_now()).records)
    assert shown == version.shown, f"{kind}: shows {shown}"
    # The painter reads the same set through the compact index the pointer names, never a half-built one.
    assert state.index is not None and state.index_of == state.playlist.sha256, f"{kind}: no index"
    painted = SnapshotReader(store, CHANNEL, _now).read()
    assert painted.index is not None, f"{kind}: the index does not open"
    assert tuple(entry.entry_id for entry in painted.display_set(_now()).records) == version.shown
    return kind


def _check_recovers(world: World, cache: Path) -> list[str]:
    """A normal sync afterwards reaches B and keeps exactly B's objects.

    Returns the temporary files left outside ``objects/``: python-tuf's ``tuf/tmp*`` and
    :func:`~signage.core.fsutil.atomic_write`'s ``.current.json.*.tmp`` and ``.clock.json.*.tmp`` (a kill
    between creating and renaming one leaves it, and nothing removes it later). Counted, not failed:
    each is under a kilobyte and at most one per kill.
    """
    with _screen(world.root, cache, world.hub_url) as screen:
        result = screen.sync_once()
    assert result.ok, result
    assert _check_set(world, cache) == "new"
    _assert_only(world.new, cache)
    leftovers = [
        f"tuf/{path.name}"
        for path in (cache / "tuf").iterdir()
        if path.name not in TUF_FILES and not BIN_FILE.fullmatch(path.name)
    ]
    return leftovers + [path.name for path in cache.iterdir() if path.name not in CACHE_FILES]


def _assert_only(version: Version, cache: Path) -> None:
    left = {path.name for path in (cache / "objects").iterdir()}
    # Beside the version's own objects, the painter's compact index of it, which the pointer names.
    state = ContentCache(cache).load_state(CHANNEL)
    assert state.index is not None and state.playlist is not None
    assert state.index_of == state.playlist.sha256
    expected = version.objects | {state.index.sha256}
    assert left == expected, f"debris in objects/: {sorted(left - expected)}"


def test_sigkill_at_random_points_leaves_the_old_or_the_new_set(
    world: World, fault_server: FaultServer
) -> None:
    started = time.monotonic()
    total = max(_measure(world, fault_server, world.work / f"measure-{attempt}") for attempt in range(2))
    rng = random.Random(SEED)
    window = total * SPREAD
    points = [int((slot + rng.random()) * window / TRIALS) for slot in range(TRIALS)]
    rng.shuffle(points)

    outcomes: Counter[str] = Counter()
    unswitched_downloads = 0
    leftovers: list[str] = []
    with contextlib.ExitStack() as workers:

        def prepare(index: int) -> tuple[Path, subprocess.Popen[str]]:
            cache = world.work / f"trial-{index:02d}"
            shutil.copytree(world.cache_a, cache)
            return cache, workers.enter_context(_worker(world, cache))

        # One worker is always starting up while the previous one syncs, so start-up costs no time.
        upcoming = prepare(0)
        for index, point in enumerate(points):
            cache, process = upcoming
            if index + 1 < TRIALS:
                upcoming = prepare(index + 1)
            assert process.stdout is not None
            fault_server.wait_idle()  # the last trial's answers are over: chunks count from here
            if point < total:
                # Killed once the sync has received every body chunk before this one, and not this one.
                fault_server.hold_chunk(fault_server.chunks_sent + point)
                _go(process)
                held = fault_server.wait_held(timeout=60)
                process.send_signal(signal.SIGKILL)
                fault_server.release_chunk()
                assert held, f"trial {index}: chunk {point} of {total} never asked for"
                returned = ""
            else:
                # Late: the sync returned; the worker lives on, like a player, and is killed then.
                _go(process)
                returned = process.stdout.readline()
                process.send_signal(signal.SIGKILL)
            output, errors = process.communicate(timeout=10)
            output = returned + output
            assert process.returncode == -signal.SIGKILL, (
                f"trial {index}: exit {process.returncode}: {errors}"
            )
            kind = _check_set(world, cache)
            assert not output or kind == "new", f"trial {index}: the sync returned ({output}) but left {kind}"
            outcomes[_phase(world, cache, kind, returned=bool(output))] += 1
            # Files the killed sync downloaded (or began to) that the pointer does not name yet.
            version = world.new if kind == "new" else world.old
            unswitched_downloads += any(p.name not in version.objects for p in (cache / "objects").iterdir())
            leftovers += _check_recovers(world, cache)
            shutil.rmtree(cache)

    elapsed = time.monotonic() - started
    print(
        f"\nsync {total} chunks, kills spread over {window:.0f}: {dict(sorted(outcomes.items()))}; "
        f"{unswitched_downloads} left downloads the pointer did not name yet, temporary files left outside "
        f"objects/: {leftovers}; {elapsed:.1f} s in all"
    )
    before = sum(count for phase, count in outcomes.items() if phase.startswith("old"))
    after = sum(count for phase, count in outcomes.items() if phase.startswith("new"))
    assert before >= 1 and outcomes[TAKEDOWN_FIRST] >= 1 and after >= 1, outcomes
    assert before + after == TRIALS, outcomes


def _phase(world: World, cache: Path, kind: str, *, returned: bool) -> str:
    """Where the kill landed, as far as the disk tells."""
    if kind == "new":
        return "new, after the sync returned" if returned else "new, sync still running"
    if kind == "old":
        pointer = ContentCache(cache).load_state(CHANNEL).timestamp_version
        held = Metadata[Timestamp].from_file(str(cache / "tuf" / "timestamp.json")).signed.version
        return "old, TUF metadata already new" if held > pointer else "old, TUF metadata untouched"
    return kind


# The worker, killed by itself at one exact point: just before a temporary file is renamed over ``TARGET``.
_KILLED_BEFORE_RENAME = """
import os, runpy, signal, sys
target, worker, *arguments = sys.argv[1:]
rename = os.replace
def replace(source, destination, *rest, **options):
    if os.fspath(destination).endswith(target):
        os.kill(os.getpid(), signal.SIGKILL)
    return rename(source, destination, *rest, **options)
os.replace = replace
sys.argv = [worker, *arguments]
runpy.run_path(worker, run_name="__main__")
"""


@pytest.mark.parametrize("target", ["/current.json", "/tuf/timestamp.json"])
def test_a_kill_before_a_rename_leaves_no_temporary_file_for_ever(world: World, target: str) -> None:
    cache = world.work / "cache"
    shutil.copytree(world.cache_a, cache)
    arguments = [target, str(WORKER), world.hub_url, CHANNEL, str(world.root), str(cache)]
    killed = subprocess.run(
        [sys.executable, "-c", _KILLED_BEFORE_RENAME, *arguments],
        input="go\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert _check_set(world, cache) == "old"
    # The sweep spares temp files younger than ten minutes (another writer may still own them); age them.
    leftovers = [
        p for p in cache.rglob("*") if p.is_file() and (p.name.endswith(".tmp") or p.name.startswith("tmp"))
    ]
    assert leftovers, "the kill should have left a temporary file behind"
    for path in leftovers:
        os.utime(path, (time.time() - 3600, time.time() - 3600))
    assert _check_recovers(world, cache) == []
