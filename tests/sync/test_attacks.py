"""Every applicable TUF attack against a screen, over real HTTP with real signatures.

Each test first lets the screen sync the operator's first publish (A1 and A2), then mounts one attack and
checks three things: the poll is refused (or fails as offline where the attack is indistinguishable from
a broken link), it says so in one log line, and the screen still shows the set it had.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json

import pytest
from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import Metadata, MetaFile, Root, TargetFile
from tuf.api.serialization.json import JSONSerializer

from signage.core.playlist import Revocation, decode_revocations, encode_revocations
from signage.operator.publish.repo import playlist_path, revocations_path
from signage.sync.client import UPDATER_LIMITS, SyncState
from tests.sync.conftest import Fault
from tests.sync.fixtures import (  # noqa: F401 (the *_fixture names are fixtures)
    CHANNEL,
    FIRST_ROWS,
    OTHER_CHANNEL,
    forge_playlist,
    hub_fixture,
    make_screen_fixture,
    mark,
    old_screen_fixture,
    operator_fixture,
    real_now,
    refused,
    requested,
    row,
    screen_fixture,
    serial,
    sign_timestamp,
)

COMPACT = JSONSerializer(compact=True)
#: The first publish plus A3, whose photo the screen does not have yet.
SECOND_ROWS = (*FIRST_ROWS, row(3, "p3.jpg"))


def metadata_path(name: str) -> str:
    return f"/metadata/{name}"


def served_path(operator, target: str) -> str:
    """The URL path of a target's current version."""
    return "/" + operator.target_file(target).relative_to(operator.public).as_posix()


# --- arbitrary content -------------------------------------------------------------------------------


def test_playlist_changed_on_the_hub_is_refused(operator, hub, old_screen, caplog):
    operator.publish(SECOND_ROWS)
    served = operator.target_file(playlist_path(CHANNEL))
    original = served.read_bytes()
    # Same length, one name changed: only the signed hash can tell.
    served.write_bytes(original.replace("林小雨".encode(), "林小云".encode(), 1))
    since = mark(hub)
    refused(old_screen, caplog, state=SyncState.REFUSED, says="length or hash mismatch")
    assert not [path for path in requested(hub, since) if path.startswith("/photos/")]
    served.write_bytes(original)
    assert old_screen.poll().state is SyncState.UPDATED
    assert old_screen.shown() == ["A1", "A2", "A3"]


def test_playlist_grown_on_the_hub_is_cut_off_at_its_signed_length(operator, hub, old_screen, caplog):
    operator.publish(SECOND_ROWS)
    served = operator.target_file(playlist_path(CHANNEL))
    served.write_bytes(served.read_bytes() + b" " * 4096)
    result = refused(old_screen, caplog, state=SyncState.OFFLINE, says="length limit")
    assert result.bytes_received < 64 * 1024


@pytest.mark.parametrize("role", ["timestamp", "snapshot", "targets"])
def test_metadata_signed_by_an_unknown_key_is_refused(operator, hub, screen, caplog, role):
    operator.publish(SECOND_ROWS)
    stranger = CryptoSigner.generate_ed25519()
    if role == "timestamp":
        hub.set_fault(metadata_path("timestamp.json"), Fault(body=sign_timestamp(operator, stranger)))
    else:
        current = operator.repo.snapshot() if role == "snapshot" else operator.repo.targets()
        current.signatures.clear()
        current.sign(stranger)
        name = f"{current.signed.version}.{role}.json"
        hub.set_fault(metadata_path(name), Fault(body=current.to_bytes(COMPACT)))
    refused(screen, caplog, state=SyncState.REFUSED, says="bad signature or unknown key")
    assert screen.shown() == ["A1", "A2"]


def test_targets_edited_after_signing_is_refused(operator, hub, screen, caplog):
    operator.publish(SECOND_ROWS)
    targets = operator.repo.targets()
    path = operator.metadata / f"{targets.signed.version}.targets.json"
    document = json.loads(path.read_bytes())
    # Point c1's playlist at a forged document without the targets key: the signature no longer fits.
    forged = forge_playlist(operator.playlist())
    info = TargetFile.from_data(playlist_path(CHANNEL), forged, ["sha256"])
    document["signed"]["targets"][playlist_path(CHANNEL)] = info.to_dict()
    hub.serve_bytes(f"/targets/channels/{CHANNEL}/{info.hashes['sha256']}.playlist.json", forged)
    hub.set_fault(metadata_path(path.name), Fault(body=json.dumps(document).encode()))
    refused(screen, caplog, state=SyncState.REFUSED, says="bad signature or unknown key")


# --- rollback and freeze -----------------------------------------------------------------------------


@pytest.mark.parametrize("local_copy", ["kept", "lost"])
def test_rollback_to_an_older_timestamp_is_refused(operator, hub, screen, caplog, local_copy):
    old_timestamp = (operator.metadata / "timestamp.json").read_bytes()
    operator.publish(SECOND_ROWS)
    assert screen.poll().state is SyncState.UPDATED
    if local_copy == "lost":
        # python-tuf's own copy is gone (a damaged card); the screen's fsynced pointer still knows better.
        for name in ("timestamp.json", "snapshot.json", "targets.json"):
            (screen.cache_dir / "tuf" / name).unlink()
    hub.set_fault(metadata_path("timestamp.json"), Fault(body=old_timestamp))
    result = refused(screen, caplog, state=SyncState.REFUSED, says="rollback")
    assert result.playlist_version == 2
    assert screen.shown() == ["A1", "A2", "A3"]


def test_playlist_re_signed_at_an_older_version_is_refused(operator, hub, old_screen, caplog):
    first = operator.playlist_bytes()
    operator.publish(SECOND_ROWS)
    assert old_screen.poll().state is SyncState.UPDATED
    # A repository restored from an old backup, or a stolen targets key: the old list, freshly signed.
    with operator.repo.locked():
        operator.repo.put_targets({playlist_path(CHANNEL): first}, now=operator.now)
    refused(old_screen, caplog, state=SyncState.REFUSED, says="older than the playing 2")
    assert old_screen.shown() == ["A1", "A2", "A3"]


def test_expired_timestamp_is_refused_and_the_old_bound_still_holds(operator, hub, screen, caplog):
    verified_until = screen.current().verified_until
    assert verified_until is not None
    # A frozen hub: the newest timestamp it offers expired an hour ago.
    operator.repo.refresh(now=real_now() - dt.timedelta(hours=25))
    refused(screen, caplog, state=SyncState.REFUSED, says="expired metadata")
    screen.clock.now = verified_until
    stale = screen.current()
    assert (stale.fresh, stale.records, stale.notices) == (False, (), operator.playlist().notices)


@pytest.mark.parametrize("attack", ["photo swapped", "playlist cut off"])
def test_a_blocked_new_set_does_not_keep_the_old_one_fresh(operator, hub, old_screen, attack):
    """Breaking only the big downloads must not freeze a screen on a superseded list for good."""
    verified_until = old_screen.current().verified_until
    # A corrected export drops A2; it is signed an hour later, so its timestamp expires later too.
    operator.publish([row(1, "p1.jpg"), row(3, "p3.jpg")], now=operator.now + dt.timedelta(hours=1))
    if attack == "photo swapped":
        photo = operator.public / "photos" / operator.photo_sha("A3")
        photo.write_bytes(bytes(reversed(photo.read_bytes())))
    else:
        hub.set_fault(served_path(operator, playlist_path(CHANNEL)), Fault(endless=True))
    assert old_screen.poll().state in (SyncState.REFUSED, SyncState.OFFLINE)
    assert old_screen.shown() == ["A1", "A2"]
    assert old_screen.current().verified_until == verified_until


# --- mix and match -----------------------------------------------------------------------------------


def test_another_channels_playlist_at_this_channels_path_is_refused(operator, hub, old_screen, caplog):
    operator.publish([row(7, "p4.jpg")], channel=OTHER_CHANNEL)
    operator.publish(SECOND_ROWS)
    # A hub (or a man in the middle) answers c1's request with c2's genuine, signed playlist.
    hub.set_fault(
        served_path(operator, playlist_path(CHANNEL)),
        Fault(body=operator.playlist_bytes(OTHER_CHANNEL)),
    )
    refused(old_screen, caplog, state=SyncState.REFUSED, says="length or hash mismatch")


@pytest.mark.parametrize("document", ["playlist", "revocations"])
def test_another_channels_document_signed_for_this_channel_is_refused(
    operator, hub, old_screen, caplog, document
):
    operator.publish([row(7, "p4.jpg")], channel=OTHER_CHANNEL)
    # The operator's mistake (or a stolen targets key): c2's document signed under c1's target path.
    path = playlist_path if document == "playlist" else revocations_path
    other = operator.repo.read_target(path(OTHER_CHANNEL))
    assert other is not None
    with operator.repo.locked():
        operator.repo.put_targets({path(CHANNEL): other}, now=operator.now)
    refused(old_screen, caplog, state=SyncState.REFUSED, says=f"not this screen's '{CHANNEL}'")
    assert "A7" not in old_screen.shown()


def test_old_snapshot_at_the_new_snapshots_path_is_refused(operator, hub, screen, caplog):
    old = operator.repo.snapshot()
    operator.publish(SECOND_ROWS)
    new_version = operator.repo.snapshot().signed.version
    hub.set_fault(metadata_path(f"{new_version}.snapshot.json"), Fault(body=old.to_bytes(COMPACT)))
    refused(screen, caplog, state=SyncState.REFUSED, says="rollback to an older version")


# --- endless data ------------------------------------------------------------------------------------


@pytest.mark.parametrize("what", ["next root", "timestamp", "snapshot", "targets", "playlist", "photo"])
def test_endless_data_is_cut_off(operator, hub, old_screen, caplog, what):
    operator.publish(SECOND_ROWS)
    snapshot = operator.repo.snapshot().signed
    targets = operator.repo.targets().signed
    photo = next(record.photo for record in operator.playlist().records if serial(record.entry_id) == "A3")
    assert photo is not None
    # Each endless answer's path and the limit the screen reads it under: python-tuf's, which is the
    # length signed in the referring metadata when it gives one, else the screen's UPDATER_LIMITS; a
    # target's signed length; a photo's length in the signed playlist.
    cases = {
        "next root": (metadata_path("2.root.json"), UPDATER_LIMITS.root_max_length),
        "timestamp": (metadata_path("timestamp.json"), UPDATER_LIMITS.timestamp_max_length),
        "snapshot": (
            metadata_path(f"{snapshot.version}.snapshot.json"),
            operator.repo.timestamp().signed.snapshot_meta.length or UPDATER_LIMITS.snapshot_max_length,
        ),
        "targets": (
            metadata_path(f"{targets.version}.targets.json"),
            snapshot.meta["targets.json"].length or UPDATER_LIMITS.targets_max_length,
        ),
        "playlist": (
            served_path(operator, playlist_path(CHANNEL)),
            targets.targets[playlist_path(CHANNEL)].length,
        ),
        "photo": (f"/photos/{photo.sha256}", photo.length),
    }
    path, limit = cases[what]
    hub.set_fault(path, Fault(endless=True))
    since = mark(hub)
    result = refused(old_screen, caplog, state=SyncState.OFFLINE, says="length limit")
    assert requested(hub, since).count(path) == 1
    # bytes_received counts the whole sync; the other answers of this poll were read whole (timestamp,
    # snapshot, ... before the endless one), so what was read of the endless answer alone is the rest.
    whole = sum(r.bytes_sent for r in hub.requests[since:] if r.path != path and 200 <= r.status < 300)
    endless = result.bytes_received - whole
    # Read past its limit, and by at most one read: python-tuf stops at the first chunk that goes over
    # (one read is at most the fetcher's chunk_size); a photo's read asks for one byte past its length.
    over = 1 if what == "photo" else old_screen.fetcher.chunk_size
    assert limit < endless <= limit + over, (whole, endless, limit)


# --- photos ------------------------------------------------------------------------------------------


def test_photo_swapped_on_the_hub_is_refused(operator, hub, screen, caplog):
    operator.publish(SECOND_ROWS)
    digest = operator.photo_sha("A3")
    photo = operator.public / "photos" / digest
    original = photo.read_bytes()
    # Same length, different picture: a wrong face next to a real name is the harm to prevent.
    photo.write_bytes(bytes(reversed(original)))
    refused(screen, caplog, state=SyncState.REFUSED, says="does not match its signed hash")
    assert not (screen.cache_dir / "objects" / digest).exists()
    photo.write_bytes(original)
    assert screen.poll().state is SyncState.UPDATED
    assert screen.shown() == ["A1", "A2", "A3"]
    assert hashlib.sha256((screen.cache_dir / "objects" / digest).read_bytes()).hexdigest() == digest


# --- compromised online keys -------------------------------------------------------------------------


@pytest.mark.parametrize("targets_signer", ["snapshot", "timestamp", "random"])
def test_stolen_online_keys_cannot_add_a_person(operator, hub, screen, caplog, targets_signer):
    """With DIR/keys/snapshot.pem and timestamp.pem, a thief signs everything except targets properly."""
    snapshot_key, timestamp_key = operator.signer("snapshot"), operator.signer("timestamp")
    forged_playlist = forge_playlist(operator.playlist())
    targets = operator.repo.targets()
    info = TargetFile.from_data(playlist_path(CHANNEL), forged_playlist, ["sha256"])
    targets.signed.targets[playlist_path(CHANNEL)] = info
    targets.signed.version += 1
    targets.signatures.clear()
    targets.sign(
        {"snapshot": snapshot_key, "timestamp": timestamp_key}.get(targets_signer)
        or CryptoSigner.generate_ed25519()
    )
    snapshot = operator.repo.snapshot()
    snapshot.signed.version += 1
    snapshot.signed.meta["targets.json"] = MetaFile(version=targets.signed.version)
    snapshot.signatures.clear()
    snapshot.sign(snapshot_key)
    forged = {
        metadata_path(f"{targets.signed.version}.targets.json"): targets.to_bytes(COMPACT),
        metadata_path(f"{snapshot.signed.version}.snapshot.json"): snapshot.to_bytes(COMPACT),
        metadata_path("timestamp.json"): sign_timestamp(
            operator, timestamp_key, snapshot_version=snapshot.signed.version
        ),
    }
    for path, body in forged.items():
        hub.set_fault(path, Fault(body=body))
    forged_path = f"/targets/channels/{CHANNEL}/{info.hashes['sha256']}.playlist.json"
    hub.serve_bytes(forged_path, forged_playlist)
    since = mark(hub)
    refused(screen, caplog, state=SyncState.REFUSED, says="bad signature or unknown key")
    assert forged_path not in requested(hub, since)
    assert screen.shown() == ["A1", "A2"]


def test_stolen_online_keys_cannot_bring_back_a_revoked_person(operator, hub, screen, caplog):
    before_revocation = operator.repo.targets().signed.version
    operator.revoke("A1")
    assert screen.poll(full=False).state is SyncState.UPDATED
    assert screen.shown() == ["A2"]
    # The thief points a new snapshot at the genuine, older targets that predate the takedown.
    snapshot = operator.repo.snapshot()
    snapshot.signed.version += 1
    snapshot.signed.meta["targets.json"] = MetaFile(version=before_revocation)
    snapshot.signatures.clear()
    snapshot.sign(operator.signer("snapshot"))
    hub.set_fault(
        metadata_path(f"{snapshot.signed.version}.snapshot.json"), Fault(body=snapshot.to_bytes(COMPACT))
    )
    hub.set_fault(
        metadata_path("timestamp.json"),
        Fault(
            body=sign_timestamp(
                operator, operator.signer("timestamp"), snapshot_version=snapshot.signed.version
            )
        ),
    )
    refused(screen, caplog, state=SyncState.REFUSED, says="rollback to an older version")
    assert screen.shown() == ["A2"]


def test_stolen_online_keys_cannot_sign_revocations_either(operator, hub, screen, caplog):
    """Revocations are targets too: a thief cannot take a person down (or up) without the targets key."""
    current = operator.repo.read_target(revocations_path(CHANNEL))
    assert current is not None
    genuine = decode_revocations(current, channel=CHANNEL)
    forged = encode_revocations(
        dataclasses.replace(
            genuine,
            version=genuine.version + 1,
            entries=(Revocation("A2", "伪造的撤回", operator.now),),
        )
    )
    targets = operator.repo.targets()
    targets.signed.targets[revocations_path(CHANNEL)] = TargetFile.from_data(
        revocations_path(CHANNEL), forged, ["sha256"]
    )
    targets.signed.version += 1
    targets.signatures.clear()
    targets.sign(operator.signer("snapshot"))
    snapshot = operator.repo.snapshot()
    snapshot.signed.version += 1
    snapshot.signed.meta["targets.json"] = MetaFile(version=targets.signed.version)
    snapshot.signatures.clear()
    snapshot.sign(operator.signer("snapshot"))
    hub.set_fault(
        metadata_path(f"{targets.signed.version}.targets.json"), Fault(body=targets.to_bytes(COMPACT))
    )
    hub.set_fault(
        metadata_path(f"{snapshot.signed.version}.snapshot.json"), Fault(body=snapshot.to_bytes(COMPACT))
    )
    hub.set_fault(
        metadata_path("timestamp.json"),
        Fault(
            body=sign_timestamp(
                operator, operator.signer("timestamp"), snapshot_version=snapshot.signed.version
            )
        ),
    )
    refused(screen, caplog, state=SyncState.REFUSED, says="bad signature or unknown key", full=False)
    assert screen.shown() == ["A1", "A2"]


# --- key rotation ------------------------------------------------------------------------------------


def test_key_rotation_of_every_role_keeps_screens_in_sync(operator, hub, make_screen, screen, caplog):
    sleeper = make_screen(name="sleeper")
    assert sleeper.poll().state is SyncState.UPDATED
    rows = list(FIRST_ROWS)
    for number, role in enumerate(("targets", "snapshot", "timestamp", "root"), start=3):
        retired = operator.signer(role)
        operator.repo.rotate(role, now=operator.now)
        rows.append(row(number))
        operator.publish(rows)
        result = screen.poll()
        assert result.state is SyncState.UPDATED, (role, result)
        assert screen.shown() == [f"A{n}" for n in range(1, number + 1)]
        if role == "timestamp":
            # The retired key signs nothing any more.
            hub.set_fault(metadata_path("timestamp.json"), Fault(body=sign_timestamp(operator, retired)))
            refused(screen, caplog, state=SyncState.REFUSED, says="bad signature or unknown key")
            hub.clear_faults()
    trusted = Metadata[Root].from_file(str(screen.cache_dir / "tuf" / "root.json"))
    assert trusted.signed.version == 5
    # A screen that slept through all four rotations walks the chain of roots in one poll.
    assert sleeper.poll().state is SyncState.UPDATED
    assert sleeper.shown() == screen.shown()
