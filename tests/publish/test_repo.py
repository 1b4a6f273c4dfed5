"""The operator's TUF repository on disk: layout, keys, signing, expiry, rotation, lock and pruning.

Signatures are checked with python-tuf's own verification (``verify_delegate``), and once through a real
ngclient ``Updater`` reading from a real hub on 127.0.0.1, so "verifies" means what a screen means by it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from tuf.api.exceptions import UnsignedMetadataError
from tuf.api.metadata import Metadata, Root
from tuf.ngclient import Updater

from signage.core.errors import ConfigError, RepositoryError
from signage.operator.hub.files import make_app
from signage.operator.hub.server import Hub
from signage.operator.publish.repo import (
    KEEP_PLAYLISTS,
    ROLES,
    SNAPSHOT_LIFETIME,
    OperatorRepository,
    playlist_path,
    revocations_path,
)

NOW = dt.datetime(2026, 11, 26, 4, 0, tzinfo=dt.UTC)
PLAYLIST = playlist_path("jinan-station")


@pytest.fixture
def repo(tmp_path: Path) -> OperatorRepository:
    return OperatorRepository.init(tmp_path / "DIR", now=NOW)


def versions(repo: OperatorRepository) -> tuple[int, int, int]:
    """(targets, snapshot, timestamp) versions currently in effect."""
    return repo.targets().signed.version, repo.snapshot().signed.version, repo.timestamp().signed.version


def assert_verifies(root: Metadata[Root], repo: OperatorRepository) -> None:
    """Every role below root is signed by the keys ``root`` trusts (raises otherwise)."""
    root.verify_delegate("targets", repo.targets())
    root.verify_delegate("snapshot", repo.snapshot())
    root.verify_delegate("timestamp", repo.timestamp())


# --- init ----------------------------------------------------------------------------------------------


def test_init_creates_the_layout(repo):
    directory = repo.directory
    root = Metadata[Root].from_file(str(directory / "public/metadata/1.root.json"))
    assert root.signed.version == 1 and root.signed.consistent_snapshot is True
    assert root.signed.expires == NOW + dt.timedelta(days=365)
    root.verify_delegate("root", root)
    # One distinct key per role.
    keyids = [root.signed.roles[role].keyids for role in ROLES]
    assert all(len(ids) == 1 for ids in keyids) and len({ids[0] for ids in keyids}) == 4
    assert_verifies(root, repo)
    assert versions(repo) == (1, 1, 1)
    assert sorted(p.name for p in (directory / "public/metadata").iterdir()) == [
        "1.root.json",
        "1.snapshot.json",
        "1.targets.json",
        "timestamp.json",
    ]
    assert sorted(p.name for p in (directory / "public").iterdir()) == ["metadata", "photos", "targets"]
    assert json.loads((directory / "repo.json").read_text()) == {"freshness_seconds": 24 * 3600}


def test_keys_are_private_and_never_under_public(repo):
    keys = repo.directory / "keys"
    assert keys.stat().st_mode & 0o777 == 0o700
    assert sorted(p.name for p in keys.iterdir()) == sorted(f"{role}.pem" for role in ROLES)
    for key in keys.iterdir():
        assert key.stat().st_mode & 0o777 == 0o600
        assert b"PRIVATE KEY" in key.read_bytes()
    served = [p for p in (repo.directory / "public").rglob("*") if p.is_file()]
    assert served
    for path in served:
        assert b"PRIVATE KEY" not in path.read_bytes() and path.suffix != ".pem"


def test_init_refuses_an_existing_repository(repo):
    root = (repo.metadata_dir / "1.root.json").read_bytes()
    key = (repo.keys / "root.pem").read_bytes()
    with pytest.raises(RepositoryError) as caught:
        OperatorRepository.init(repo.directory, now=NOW + dt.timedelta(days=1))
    assert "already holds a repository" in caught.value.en
    assert (repo.metadata_dir / "1.root.json").read_bytes() == root
    assert (repo.keys / "root.pem").read_bytes() == key


def test_init_never_overwrites_existing_keys(repo, tmp_path):
    before = {p.name: p.read_bytes() for p in repo.keys.iterdir()}
    with pytest.raises(RepositoryError):
        OperatorRepository.init(tmp_path / "second", now=NOW, keys=repo.keys)
    assert {p.name: p.read_bytes() for p in repo.keys.iterdir()} == before
    repo.refresh(now=NOW)


@pytest.mark.parametrize("hours", [2, 6, 72])
def test_freshness_bound_within_2_to_72_hours(tmp_path, hours):
    repo = OperatorRepository.init(tmp_path / "DIR", now=NOW, freshness=dt.timedelta(hours=hours))
    assert repo.freshness == dt.timedelta(hours=hours)
    # The timestamp a screen trusts expires exactly one freshness bound after signing.
    assert repo.timestamp().signed.expires == NOW + dt.timedelta(hours=hours)
    assert OperatorRepository(tmp_path / "DIR").freshness == dt.timedelta(hours=hours)


@pytest.mark.parametrize("hours", [1, 1.99, 72.01, 73])
def test_freshness_bound_outside_2_to_72_hours_is_refused(tmp_path, hours):
    with pytest.raises(ConfigError) as caught:
        OperatorRepository.init(tmp_path / "DIR", now=NOW, freshness=dt.timedelta(hours=hours))
    assert "2 to 72 hours" in caught.value.en
    assert not (tmp_path / "DIR").exists()


def test_opening_a_folder_that_is_no_repository_says_what_to_run(tmp_path):
    with pytest.raises(RepositoryError) as caught:
        OperatorRepository(tmp_path / "nothing")
    assert "signage repo init" in caught.value.en


# --- signing -------------------------------------------------------------------------------------------


def test_put_targets_writes_hash_prefixed_files_and_bumps_every_version(repo):
    data = b'{"hello": "world"}'
    digest = hashlib.sha256(data).hexdigest()
    later = NOW + dt.timedelta(hours=5)
    targets = repo.put_targets({PLAYLIST: data}, now=later)
    path = repo.directory / f"public/targets/channels/jinan-station/{digest}.playlist.json"
    assert path.read_bytes() == data
    assert versions(repo) == (2, 2, 2)
    assert targets.signed.targets[PLAYLIST].hashes == {"sha256": digest}
    assert targets.signed.targets[PLAYLIST].length == len(data)
    assert repo.targets().signed.expires == later + dt.timedelta(days=90)
    assert repo.snapshot().signed.meta["targets.json"].version == 2
    assert repo.snapshot().signed.expires == later + SNAPSHOT_LIFETIME
    assert repo.timestamp().signed.snapshot_meta.version == 2
    assert repo.timestamp().signed.expires == later + dt.timedelta(hours=24)
    assert repo.read_target(PLAYLIST) == data
    assert repo.read_target(revocations_path("jinan-station")) is None
    # Versioned files are written once: version 1 is still there for screens part-way through.
    for name in ("1.targets.json", "2.targets.json", "1.snapshot.json", "2.snapshot.json"):
        assert (repo.metadata_dir / name).is_file()
    assert_verifies(repo.root(), repo)


def test_refresh_resigns_only_the_timestamp_until_half_the_snapshot_lifetime(repo):
    snapshot_file = (repo.metadata_dir / "1.snapshot.json").read_bytes()
    result = repo.refresh(now=NOW + dt.timedelta(days=3))
    assert not result.snapshot_resigned
    assert result.timestamp_version == 2
    assert result.verified_until == NOW + dt.timedelta(days=3, hours=24)
    assert result.targets_expires == NOW + dt.timedelta(days=90)
    assert versions(repo) == (1, 1, 2)
    assert (repo.metadata_dir / "1.snapshot.json").read_bytes() == snapshot_file

    # Past half of the snapshot's seven days, the snapshot is re-signed too; targets never is.
    result = repo.refresh(now=NOW + dt.timedelta(days=4))
    assert result.snapshot_resigned and result.timestamp_version == 3
    assert versions(repo) == (1, 2, 3)
    assert repo.snapshot().signed.expires == NOW + dt.timedelta(days=4) + SNAPSHOT_LIFETIME
    assert_verifies(repo.root(), repo)

    result = repo.refresh(now=NOW + dt.timedelta(days=5))
    assert not result.snapshot_resigned and versions(repo) == (1, 2, 4)


def test_refresh_counts_the_freshness_bound_from_its_own_now(tmp_path):
    repo = OperatorRepository.init(tmp_path / "DIR", now=NOW, freshness=dt.timedelta(hours=6))
    result = repo.refresh(now=NOW + dt.timedelta(hours=1))
    assert result.verified_until == NOW + dt.timedelta(hours=7) == repo.timestamp().signed.expires


# --- rotation ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_rotate_makes_a_new_root_version_trusting_only_the_new_key(repo, role):
    old_root = repo.root()
    old_keyid = old_root.signed.roles[role].keyids[0]
    old_key = (repo.keys / f"{role}.pem").read_bytes()
    later = NOW + dt.timedelta(days=10)
    before = versions(repo)

    new_keyid = repo.rotate(role, now=later)

    new_root = repo.root()
    assert (repo.metadata_dir / "2.root.json").is_file() and new_root.signed.version == 2
    assert new_root.signed.roles[role].keyids == [new_keyid] and new_keyid != old_keyid
    assert old_keyid not in new_root.signed.keys
    assert new_root.signed.expires == later + dt.timedelta(days=365)
    # A screen accepts root 2 only if root 1's keys sign it, and root 2's own keys sign it.
    old_root.verify_delegate("root", new_root)
    new_root.verify_delegate("root", new_root)
    # Everything below root was signed again, now with the keys root 2 trusts.
    assert versions(repo) == (before[0] + 1, before[1] + 1, before[2] + 1)
    assert_verifies(new_root, repo)
    if role != "root":
        # ... and the retired key no longer signs them: root 1 does not accept them.
        current = {"targets": repo.targets(), "snapshot": repo.snapshot(), "timestamp": repo.timestamp()}
        with pytest.raises(UnsignedMetadataError):
            old_root.verify_delegate(role, current[role])
    # The retired key is kept aside, private, for the operator to destroy knowingly.
    retired = list(repo.keys.glob(f"{role}.retired-*.pem"))
    assert len(retired) == 1 and retired[0].read_bytes() == old_key
    assert retired[0].stat().st_mode & 0o777 == 0o600
    assert (repo.keys / f"{role}.pem").read_bytes() != old_key


def test_rotating_the_root_key_needs_both_signatures(repo):
    old_root = repo.root()
    repo.rotate("root", now=NOW)
    new_root = repo.root()
    assert len(new_root.signatures) == 2
    assert set(new_root.signatures) == {
        old_root.signed.roles["root"].keyids[0],
        new_root.signed.roles["root"].keyids[0],
    }


def test_rotate_refuses_an_unknown_role(repo):
    with pytest.raises(ConfigError) as caught:
        repo.rotate("mirror", now=NOW)
    assert "unknown role mirror" in caught.value.en
    assert repo.root().signed.version == 1


def real_now() -> dt.datetime:
    # ngclient checks expiry against the machine's clock and has no parameter for it, so what the real
    # updater reads is signed at the real time; this is the one place these tests read the clock.
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[OperatorRepository, str]]:
    repo = OperatorRepository.init(tmp_path / "DIR", now=real_now())
    hub = Hub(make_app(repo.public), refresh=lambda: None, host="127.0.0.1", port=0)
    hub.start()
    try:
        yield repo, f"http://127.0.0.1:{hub.port}/"
    finally:
        hub.stop()


def test_a_real_updater_follows_every_rotation(served, tmp_path):
    repo, url = served
    client = tmp_path / "client"
    client.mkdir()
    bootstrap = (repo.metadata_dir / "1.root.json").read_bytes()

    def update() -> Updater:
        updater = Updater(
            metadata_dir=str(client),
            metadata_base_url=url + "metadata/",
            target_base_url=url + "targets/",
            bootstrap=bootstrap,
        )
        updater.refresh()
        return updater

    repo.put_targets({PLAYLIST: b"first"}, now=real_now())
    update()
    for number, role in enumerate(ROLES, start=2):
        repo.rotate(role, now=real_now())
        repo.put_targets({PLAYLIST: role.encode()}, now=real_now())
        updater = update()
        assert Metadata[Root].from_file(str(client / "root.json")).signed.version == number
        info = updater.get_targetinfo(PLAYLIST)
        assert info is not None and info.hashes["sha256"] == hashlib.sha256(role.encode()).hexdigest()
        downloaded = updater.download_target(info, filepath=str(tmp_path / "playlist.json"))
        assert Path(downloaded).read_bytes() == role.encode()


# --- lock and keys -------------------------------------------------------------------------------------


def test_the_lock_refuses_a_concurrent_command(repo):
    other = OperatorRepository(repo.directory)
    with repo.locked():
        with pytest.raises(RepositoryError) as caught, other.locked():
            pass
        assert "another signage command" in caught.value.en
    with other.locked():  # released: the next command goes ahead
        pass


def test_a_missing_key_file_is_a_clear_error_and_changes_nothing(repo):
    (repo.keys / "targets.pem").unlink()
    with pytest.raises(RepositoryError) as caught:
        repo.put_targets({PLAYLIST: b"x"}, now=NOW)
    assert "the targets key" in caught.value.en and "--keys" in caught.value.en
    assert "targets.pem" in caught.value.en
    assert versions(repo) == (1, 1, 1)
    (repo.keys / "timestamp.pem").unlink()
    with pytest.raises(RepositoryError, match="timestamp"):
        repo.refresh(now=NOW)


def test_keys_can_live_elsewhere_but_must_be_the_trusted_ones(repo, tmp_path):
    usb = tmp_path / "usb"
    shutil.copytree(repo.keys, usb)
    shutil.rmtree(repo.keys)
    with pytest.raises(RepositoryError):
        OperatorRepository(repo.directory).refresh(now=NOW)
    assert OperatorRepository(repo.directory, keys=usb).refresh(now=NOW).timestamp_version == 2
    # Another repository's keys are refused by name, not used to sign something screens would reject.
    stranger = OperatorRepository.init(tmp_path / "OTHER", now=NOW)
    with pytest.raises(RepositoryError) as caught:
        OperatorRepository(repo.directory, keys=stranger.keys).refresh(now=NOW)
    assert "is not the timestamp key the current root trusts" in caught.value.en


# --- pruning -------------------------------------------------------------------------------------------


def test_pruning_keeps_the_last_two_files_of_each_target(repo):
    folder = repo.targets_dir / "channels/jinan-station"
    other = playlist_path("bus-12")
    repo.put_targets({other: b"bus"}, now=NOW)
    contents = [f"playlist {n}".encode() for n in range(5)]
    for number, data in enumerate(contents):
        repo.put_targets(
            {PLAYLIST: data, revocations_path("jinan-station"): f"rev {number}".encode()}, now=NOW
        )
    kept = {p.name for p in folder.iterdir()}
    expected = {f"{hashlib.sha256(data).hexdigest()}.playlist.json" for data in contents[-KEEP_PLAYLISTS:]}
    expected |= {f"{hashlib.sha256(f'rev {n}'.encode()).hexdigest()}.revocations.json" for n in (3, 4)}
    assert kept == expected
    # Another channel's files are untouched, and the current one is always readable.
    assert repo.read_target(other) == b"bus"
    assert repo.read_target(PLAYLIST) == contents[-1]
