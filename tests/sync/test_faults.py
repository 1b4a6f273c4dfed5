"""A screen against a broken hub and a broken disk: every failure is one log line, the old set plays on.

The hub's failures come from the fault-injecting server (real sockets: truncation and timeouts only show
there). The disk's come from real filesystems: a tiny tmpfs filled to the last block, a read-only remount
and a read-only bind mount; nothing in the cache is mocked.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from signage.operator.publish.repo import playlist_path
from signage.sync.client import SyncState
from tests.sync.conftest import MAX_HANG_SECONDS, Fault
from tests.sync.fixtures import (  # noqa: F401 (the *_fixture names are fixtures)
    CHANNEL,
    FIRST_ROWS,
    hub_fixture,
    make_screen_fixture,
    old_screen_fixture,
    operator_fixture,
    refused,
    row,
    screen_fixture,
    tiny_tmpfs_fixture,
)

TIMESTAMP = "/metadata/timestamp.json"
CAPTIVE_PORTAL = b"<!DOCTYPE html><html><body>Welcome aboard! Accept the terms to browse.</body></html>"

# (fault on timestamp.json, state, what the one log line says)
TIMESTAMP_FAULTS = {
    "500": (Fault(status=500), SyncState.OFFLINE, "HTTP 500"),
    "503": (Fault(status=503), SyncState.OFFLINE, "HTTP 503"),
    "404": (Fault(status=404), SyncState.OFFLINE, "HTTP 404"),
    "403": (Fault(status=403), SyncState.OFFLINE, "HTTP 403"),
    "truncated": (Fault(send_bytes=40), SyncState.OFFLINE, "connection broke after 40 bytes"),
    "truncated, no length": (Fault(send_bytes=40, content_length=-1), SyncState.REFUSED, "refused"),
    # The screens' deadline is 5 s and their read timeout 2 s: a ~370-byte timestamp at 4 bytes every
    # 0.15 s takes 14 s, a hang or a silence 30 s.
    "slow body": (Fault(chunk_size=4, chunk_delay=0.15), SyncState.OFFLINE, "too slow or hung"),
    "hang after headers": (Fault(hang=True), SyncState.OFFLINE, "too slow or hung"),
    "no answer": (Fault(header_delay=MAX_HANG_SECONDS), SyncState.OFFLINE, "too slow or hung"),
    "garbage JSON": (Fault(body=b'{"signed": {"_type": "timest'), SyncState.REFUSED, "refused"),
    "binary garbage": (Fault(body=bytes(range(256))), SyncState.REFUSED, "refused"),
    "captive portal": (Fault(body=CAPTIVE_PORTAL), SyncState.REFUSED, "refused"),
    "redirect": (
        Fault(status=302, headers={"Location": "http://portal.example/login"}),
        SyncState.OFFLINE,
        "HTTP 302",
    ),
}


@pytest.mark.parametrize("name", TIMESTAMP_FAULTS)
def test_broken_timestamp_answers_keep_the_last_set(operator, hub, screen, caplog, name):
    fault, state, says = TIMESTAMP_FAULTS[name]
    operator.publish([*FIRST_ROWS, row(3, "p3.jpg")])
    hub.set_fault(TIMESTAMP, fault)
    refused(screen, caplog, state=state, says=says)
    assert screen.shown() == ["A1", "A2"]
    # The hub recovers and so does the screen, at the next poll.
    hub.clear_faults()
    assert screen.poll().state is SyncState.UPDATED
    assert screen.shown() == ["A1", "A2", "A3"]


def test_a_wrong_metadata_file_as_timestamp_is_refused(operator, hub, screen, caplog):
    snapshot = operator.metadata / f"{operator.repo.snapshot().signed.version}.snapshot.json"
    hub.set_fault(TIMESTAMP, Fault(body=snapshot.read_bytes()))
    refused(screen, caplog, state=SyncState.REFUSED, says="refused")


def test_a_server_error_for_the_next_root_is_not_taken_for_no_new_root(operator, hub, screen, caplog):
    # 404 means "no newer root"; a 500 might hide a key rotation, so the poll fails instead.
    hub.set_fault("/metadata/2.root.json", Fault(status=500))
    refused(screen, caplog, state=SyncState.OFFLINE, says="HTTP 500")


@pytest.mark.parametrize(
    ("what", "fault", "state", "says"),
    [
        ("snapshot", Fault(status=500), SyncState.OFFLINE, "HTTP 500"),
        ("snapshot", Fault(body=b"[]"), SyncState.REFUSED, "refused"),
        ("targets", Fault(send_bytes=100), SyncState.OFFLINE, "connection broke"),
        ("playlist", Fault(status=404), SyncState.OFFLINE, "HTTP 404"),
        ("playlist", Fault(hang=True), SyncState.OFFLINE, "too slow or hung"),
        ("photo", Fault(status=500), SyncState.OFFLINE, "HTTP 500"),
        ("photo", Fault(send_bytes=10), SyncState.OFFLINE, "connection broke"),
        ("photo", Fault(content_length=10**9), SyncState.OFFLINE, "length limit"),
        ("photo", Fault(body=CAPTIVE_PORTAL), SyncState.REFUSED, "does not match its signed hash"),
    ],
)
def test_broken_answers_further_down_keep_the_last_set(
    operator, hub, screen, old_screen, caplog, what, fault, state, says
):
    # The single file is fetched only by screens not yet on the sharded form (test_shards.py has the rest).
    screen = old_screen if what == "playlist" else screen
    operator.publish([*FIRST_ROWS, row(3, "p3.jpg")])
    paths = {
        "snapshot": f"/metadata/{operator.repo.snapshot().signed.version}.snapshot.json",
        "targets": f"/metadata/{operator.repo.targets().signed.version}.targets.json",
        "playlist": "/"
        + operator.target_file(playlist_path(CHANNEL)).relative_to(operator.public).as_posix(),
        "photo": f"/photos/{operator.photo_sha('A3')}",
    }
    hub.set_fault(paths[what], fault)
    refused(screen, caplog, state=state, says=says)
    assert screen.shown() == ["A1", "A2"]
    hub.clear_faults()
    assert screen.poll().state is SyncState.UPDATED
    assert screen.shown() == ["A1", "A2", "A3"]


def test_a_lasting_fault_is_logged_once_and_the_recovery_once(hub, screen, caplog):
    hub.set_fault(TIMESTAMP, Fault(status=503))
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="tests.screen"):
        states = [screen.poll().state for _ in range(3)]
        hub.clear_faults()
        states += [screen.poll().state for _ in range(2)]
    assert states == [SyncState.OFFLINE] * 3 + [SyncState.UNCHANGED] * 2
    assert [(record.levelname, record.getMessage()) for record in caplog.records] == [
        ("WARNING", "sync offline: the hub answered HTTP 503"),
        ("INFO", "sync unchanged: nothing new; freshness extended"),
    ]


# --- the disk ----------------------------------------------------------------------------------------


def _fill(folder: Path) -> Path:
    """Write a file into ``folder`` until its filesystem is full."""
    filler = folder / "filler"
    with contextlib.suppress(OSError), filler.open("wb", buffering=0) as handle:
        while True:
            handle.write(b"\0" * 1024)
    return filler


@contextlib.contextmanager
def read_only_bind(folder: Path) -> Iterator[None]:
    """Make ``folder`` read-only with a bind mount; skip where mounting is not permitted."""
    try:
        subprocess.run(["mount", "--bind", str(folder), str(folder)], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as error:
        pytest.skip(f"cannot bind-mount here (needs root and CAP_SYS_ADMIN): {error}")
    try:
        subprocess.run(
            ["mount", "-o", "remount,bind,ro", str(folder), str(folder)], check=True, capture_output=True
        )
        yield
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False, capture_output=True)


@pytest.fixture
def screen_on_tmpfs(make_screen, tiny_tmpfs):
    """A screen whose cache lives on a 64 KiB tmpfs, synced once (A1 and A2)."""
    screen = make_screen(cache_dir=tiny_tmpfs.path / "cache")
    assert screen.poll().state is SyncState.UPDATED
    return screen


def test_full_disk_is_reported_and_the_set_stays(operator, hub, screen_on_tmpfs, tiny_tmpfs, caplog):
    screen = screen_on_tmpfs
    operator.publish([*FIRST_ROWS, row(3, "p3.jpg")])
    filler = _fill(tiny_tmpfs.path)
    refused(screen, caplog, state=SyncState.DISK, says="the disk is full")
    assert screen.shown() == ["A1", "A2"]
    filler.unlink(missing_ok=True)
    assert screen.poll().state is SyncState.UPDATED
    assert screen.shown() == ["A1", "A2", "A3"]


def test_read_only_cache_is_reported_and_the_set_stays(operator, hub, screen_on_tmpfs, tiny_tmpfs, caplog):
    screen = screen_on_tmpfs
    operator.publish([*FIRST_ROWS, row(3, "p3.jpg")])
    tiny_tmpfs.remount("ro")
    refused(screen, caplog, state=SyncState.DISK, says="read-only")
    assert screen.shown() == ["A1", "A2"]
    tiny_tmpfs.remount("rw")
    assert screen.poll().state is SyncState.UPDATED


def test_read_only_content_store_while_fetching_photos_is_reported(operator, hub, screen, caplog):
    """A photo download failed, then the card turned read-only (the kernel remounts a failing card)."""
    operator.publish([*FIRST_ROWS, row(3, "p3.jpg")])
    hub.set_fault(f"/photos/{operator.photo_sha('A3')}", Fault(status=503, times=1))
    refused(screen, caplog, state=SyncState.OFFLINE, says="HTTP 503")
    # The new playlist is already verified and stored; only the photo still has to be written.
    with read_only_bind(screen.cache_dir / "objects"):
        with pytest.raises(OSError) as caught:
            (screen.cache_dir / "objects" / "probe").write_bytes(b"")
        assert caught.value.errno == errno.EROFS
        refused(screen, caplog, state=SyncState.DISK, says="the filesystem is read-only")
        assert screen.shown() == ["A1", "A2"]
    assert screen.poll().state is SyncState.UPDATED
    assert screen.shown() == ["A1", "A2", "A3"]


def test_read_only_content_store_while_fetching_a_playlist_is_reported(operator, hub, screen, caplog):
    operator.publish([*FIRST_ROWS, row(3, "p3.jpg")])
    with read_only_bind(screen.cache_dir / "objects"):
        refused(screen, caplog, state=SyncState.DISK, says="the filesystem is read-only")
        assert screen.shown() == ["A1", "A2"]


def test_a_cache_folder_that_cannot_be_created_is_a_disk_failure(make_screen, caplog):
    # /proc accepts no new folders: a configuration pointing the cache somewhere impossible.
    screen = make_screen(cache_dir=Path("/proc/signage-cache"))
    result = screen.poll()
    assert result.state is SyncState.DISK, result
    assert "could not create the cache folders" in result.en
    assert screen.current().playlist_version is None


def test_every_disk_error_reads_whole_in_chinese():
    """Each thing the cache can fail at, as its callers name it, reads in Chinese (no English inside the zh)."""
    import re

    import signage.sync as package
    from signage.sync.cache import disk_error

    phrases = set()
    for path in Path(package.__file__).parent.rglob("*.py"):
        phrases.update(
            re.findall(r'(?:_disk|disk_error)\((?:error, )?"([a-z][^"]*)"', path.read_text("utf-8"))
        )
    assert len(phrases) >= 6
    for phrase in sorted(phrases):
        error = disk_error(OSError(errno.ENOSPC, "No space left on device"), phrase)
        assert not re.search(r"[A-Za-z]", error.zh), error.zh
        assert phrase in error.en
