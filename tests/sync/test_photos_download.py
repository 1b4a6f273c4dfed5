"""Photos of a new set: parallel but bounded, refused on the first bad one, resumed after a kill.

A screen syncs a publish with two dozen new photos from the real fault server on 127.0.0.1. The server is
watched (not the client): every photo request is logged as it arrives, and a gate in the server's lookup
of what to serve holds photo requests back where a test needs them held. Nothing in the sync is patched.

- Overlap: the first photo requests are held until four are waiting at once, so a client that fetched
  one photo at a time would never get past the first; no more than the pool's four are ever under way;
  and when a request arrives, the photos already sent but not yet in the cache are fewer than the pool
  (each worker stores its photo before it asks for another: memory is the pool's worth, not the set's).
- A photo that does not match its signed hash refuses the new set, the old one plays on, and no worker
  starts another download after it.
- A real subprocess (``crash_worker.py``, the production sync) killed with SIGKILL after ten photos keeps
  those ten, and the next sync asks for exactly the others.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from signage.sync.client import SyncState
from tests.sync.conftest import FaultServer, Request
from tests.sync.fixtures import (  # noqa: F401 (the *_fixture names are fixtures)
    FIRST_ROWS,
    Operator,
    Screen,
    hub_fixture,
    make_screen_fixture,
    mark,
    operator_fixture,
    refused,
    requested,
    row,
    screen_fixture,
)

#: The pool a screen uses by default (PlayerConfig.photo_downloads).
WORKERS = 4
NEW_PHOTOS = 24
WORKER = Path(__file__).with_name("crash_worker.py")
#: Long enough for anything on a loaded machine; a test that waits this long has failed.
PATIENCE = 30.0


def publish_many(operator: Operator) -> list[str]:
    """Publish the first rows plus ``NEW_PHOTOS`` people with their own photos; their photos' URL paths.

    In the order of the playlist's records, which is the order a screen fetches them in.
    """
    rows = list(FIRST_ROWS)
    for number in range(3, 3 + NEW_PHOTOS):
        name = f"q{number}.jpg"
        Image.new("RGB", (48, 64), (number * 7, 255 - number * 5, number * 3)).save(operator.photos / name)
        rows.append(row(number, name))
    operator.publish(rows)
    first = {operator.photo_sha("A1"), operator.photo_sha("A2")}
    return [
        f"/photos/{record.photo.sha256}"
        for record in operator.playlist().records
        if record.photo is not None and record.photo.sha256 not in first
    ]


class Watch:
    """Wraps the server's lookup of what to serve: logs photo requests on arrival, holds some back.

    Attributes:
        arrived: Photo paths in order of arrival.
        most_at_once: The most photo requests under way at the same time.
        most_unstored: The most photos sent in full but not yet in the screen's cache, seen on arrival.
    """

    def __init__(self, server: FaultServer, monkeypatch: pytest.MonkeyPatch, objects: Path | None) -> None:
        self._server = server
        self._objects = objects
        self._lookup: Callable[[str], bytes | None] = server.content
        self._finished: Callable[[Request], None] = server._answer_finished
        self._changed = threading.Condition()
        self.arrived: list[str] = []
        self._under_way = 0
        self.most_at_once = 0
        self.most_unstored = 0
        #: Hold every photo request until this many are waiting (0: no such gate).
        self.gather = 0
        #: Paths held until :meth:`release`, or until the answer to ``release_after`` is sent.
        self.held: set[str] = set()
        self.release_after: str | None = None
        self._released = threading.Event()
        monkeypatch.setattr(server, "content", self._content)
        monkeypatch.setattr(server, "_answer_finished", self._answer_finished)

    def release(self) -> None:
        """Let every held request go, and hold no more."""
        self._released.set()
        with self._changed:
            self.gather = 0
            self.held = set()
            self._changed.notify_all()

    def wait_arrived(self, count: int) -> bool:
        """Wait until ``count`` photo requests have arrived."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self.arrived) >= count, PATIENCE)

    def _content(self, path: str) -> bytes | None:
        if not path.startswith("/photos/"):
            return self._lookup(path)
        unstored = self._unstored()
        with self._changed:
            self.arrived.append(path)
            self._under_way += 1
            self.most_at_once = max(self.most_at_once, self._under_way)
            self.most_unstored = max(self.most_unstored, unstored)
            self._changed.notify_all()
            # Gathering ends for good once the pool's worth has met here.
            self._changed.wait_for(lambda: self._under_way >= self.gather, PATIENCE)
            self.gather = 0
            self._changed.notify_all()
            self._changed.wait_for(lambda: path not in self.held, PATIENCE)
        return self._lookup(path)

    def _unstored(self) -> int:
        if self._objects is None:
            return 0
        with self._changed:
            sent = {
                request.path
                for request in list(self._server.requests)
                if request.path.startswith("/photos/") and request.status == 200
            }
        stored = {f"/photos/{entry.name}" for entry in self._objects.iterdir()}
        return len(sent - stored)

    def _answer_finished(self, request: Request) -> None:
        self._finished(request)
        if request.path.startswith("/photos/"):
            with self._changed:
                self._under_way -= 1
                if request.path == self.release_after:
                    self.held = set()
                self._changed.notify_all()


def test_photos_download_in_parallel_within_the_pool(operator, hub, screen, monkeypatch):
    photos = publish_many(operator)
    watch = Watch(hub, monkeypatch, screen.cache_dir / "objects")
    watch.gather = WORKERS
    result = screen.poll()
    assert result.state is SyncState.UPDATED, result
    assert result.photos_downloaded == NEW_PHOTOS
    assert sorted(watch.arrived) == sorted(photos)  # each photo once
    # The first four met at the server: they were under way together. Never more than the pool.
    assert watch.most_at_once == WORKERS
    # Each worker stores its photo before asking for the next: photos in memory <= the pool's worth.
    assert watch.most_unstored <= WORKERS - 1, watch.most_unstored
    assert len(screen.shown()) == 2 + NEW_PHOTOS


def test_a_bad_photo_refuses_the_set_and_stops_the_other_downloads(
    operator, hub, screen, caplog, monkeypatch
):
    photos = publish_many(operator)
    bad = photos[0]
    served = operator.public / bad.lstrip("/")
    original = served.read_bytes()
    served.write_bytes(bytes(reversed(original)))  # same length, another picture
    watch = Watch(hub, monkeypatch, None)
    # The bad photo is answered first; the others of the first batch only once it has been sent. Those
    # then succeed, and their workers would go on to the next photos, were the batch not stopped by the
    # bad one (checked the moment it arrives, long before a good one is stored with its fsync).
    watch.held = set(photos[1:])
    watch.release_after = bad
    since = mark(hub)
    refused(screen, caplog, state=SyncState.REFUSED, says="does not match its signed hash")
    arrived = list(watch.arrived)
    watch.release()
    # Under load some workers start only after the failure, and then fetch nothing: at most the pool.
    assert bad in arrived and set(arrived) <= set(photos[:WORKERS]), arrived
    assert not (screen.cache_dir / "objects" / bad.rsplit("/", 1)[1]).exists()
    assert screen.shown() == ["A1", "A2"]
    served.write_bytes(original)
    requested(hub, since)  # the held answers have gone out to the closed connections
    assert screen.poll().state is SyncState.UPDATED
    assert len(screen.shown()) == 2 + NEW_PHOTOS


@pytest.mark.parametrize("takedown_check_between", [False, True], ids=["resumed", "takedown-check-between"])
def test_a_sync_killed_mid_photos_keeps_them_and_the_next_fetches_only_the_rest(
    operator, hub, make_screen, monkeypatch, tmp_path, takedown_check_between
):
    photos = publish_many(operator)
    done = 10
    cache = tmp_path / "killed"
    objects = cache / "objects"
    # An empty cache fetches every photo, in the order of the playlist's records.
    order = [f"/photos/{r.photo.sha256}" for r in operator.playlist().records if r.photo is not None]
    assert set(photos) < set(order)
    watch = Watch(hub, monkeypatch, None)
    watch.held = set(order[done:])
    root = operator.metadata / "1.root.json"
    command = [sys.executable, str(WORKER), hub.url, "c1", str(root), str(cache)]
    pipe = subprocess.PIPE
    with subprocess.Popen(command, stdin=pipe, stdout=pipe, stderr=pipe, text=True) as process:
        try:
            assert process.stdout is not None and process.stdin is not None
            assert process.stdout.readline() == "ready\n"
            process.stdin.write("go\n")
            process.stdin.flush()
            # Ten photos answered, and the pool's four next ones waiting at the server: the sync is
            # mid-photos and can go no further. Then SIGKILL.
            assert watch.wait_arrived(done + WORKERS), watch.arrived
            # Each worker stored its photo before asking for the held one: the ten are on disk.
            assert _stored(objects, order) == order[:done]
            process.send_signal(signal.SIGKILL)
            process.wait(PATIENCE)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == -signal.SIGKILL, process.stderr.read() if process.stderr else ""
    assert _stored(objects, order) == order[:done]
    watch.release()
    requested(hub)  # the held answers went out to the dead connections

    arrived_before = len(watch.arrived)
    screen: Screen = make_screen(cache_dir=cache, name="resumed")
    revoked = 0
    if takedown_check_between:
        # The service's frequent takedown check runs before the next full sync, with a new takedown in it:
        # it must not collect what the killed sync had fetched for the set not yet switched in.
        operator.revoke("A1")
        assert screen.poll(full=False).ok
        assert _stored(objects, order) == order[:done]
        revoked = 1
    result = screen.poll()
    assert result.state is SyncState.UPDATED, result
    again = watch.arrived[arrived_before:]
    assert sorted(again) == sorted(order[done:])  # only the missing ones, each once
    assert result.photos_downloaded == len(order) - done
    assert len(screen.shown()) == 2 + NEW_PHOTOS - revoked


def _stored(objects: Path, order: list[str]) -> list[str]:
    """The photos of ``order`` present in the cache, in that order."""
    present = {entry.name for entry in objects.iterdir()} if objects.is_dir() else set()
    return [path for path in order if path.rsplit("/", 1)[1] in present]
