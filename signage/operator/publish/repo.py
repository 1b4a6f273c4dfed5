"""The operator's TUF repository: keys, metadata, and the files screens download.

Layout of a repository directory ``DIR``::

    DIR/repo.json          settings (freshness bound), never served
    DIR/revoked.json       the operator's ledger of revoked entries, never served
    DIR/keys/              private keys, mode 0700, files 0600, never served; plain or encrypted
                           with a passphrase (``signage.operator.publish.keys``)
    DIR/public/            everything the hub serves
        metadata/          N.root.json, N.targets.json, N.snapshot.json, timestamp.json
        targets/           channels/<ID>/<sha256>.playlist.json, …/<sha256>.revocations.json
        photos/<sha256>    content-addressed JPEGs, referenced from playlists by hash and length

Roles and keys (Ed25519): *root* (keep it offline; only init and key rotation need it), *targets* (the
operator's approval: every publish and revoke), *snapshot* and *timestamp* (online keys the hub uses to
re-sign every hour). Only targets-signed content names people, so a stolen online key cannot add anyone.

Every file is written atomically, and in the order screens read backwards: target files first, then
targets, snapshot, and ``timestamp.json`` last, so a screen never sees metadata naming a missing file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import (
    Metadata,
    MetaFile,
    Root,
    Snapshot,
    TargetFile,
    Targets,
    Timestamp,
)
from tuf.api.serialization.json import JSONSerializer

from signage.core.errors import ConfigError, RepositoryError
from signage.core.fsutil import atomic_write, fsync_directory

# Re-exported: the operator side has always asked the repository for these paths.
from signage.core.playlist import playlist_path as playlist_path
from signage.core.playlist import revocations_path as revocations_path
from signage.operator.publish.keys import check_passphrase, load_private_key, private_pem

ROLES = ("root", "targets", "snapshot", "timestamp")
ONLINE_ROLES = ("snapshot", "timestamp")
DEFAULT_FRESHNESS = dt.timedelta(hours=24)
#: Issue 3: the freshness bound is configurable, but never more than 72 hours.
MAX_FRESHNESS = dt.timedelta(hours=72)
MIN_FRESHNESS = dt.timedelta(hours=2)
ROOT_LIFETIME = dt.timedelta(days=365)
#: The operator must publish (or revoke) at least this often; refresh warns two weeks ahead.
TARGETS_LIFETIME = dt.timedelta(days=90)
TARGETS_WARNING = dt.timedelta(days=14)
SNAPSHOT_LIFETIME = dt.timedelta(days=7)
#: Previous playlists (and their photos) kept for screens still part-way through a sync.
KEEP_PLAYLISTS = 2
_SERIALIZER = JSONSerializer(compact=True)
_VERSIONED = re.compile(r"(\d+)\.root\.json")


@dataclass(frozen=True)
class RefreshResult:
    """What ``refresh`` did.

    Attributes:
        timestamp_version: The new timestamp version.
        snapshot_resigned: Whether the snapshot was re-signed too (it was near expiry).
        verified_until: When the new timestamp expires: the screens' freshness bound.
        targets_expires: When targets metadata expires; a publish renews it.
        root_expires: When the root expires; a key rotation (``repo rotate``) renews it.
    """

    timestamp_version: int
    snapshot_resigned: bool
    verified_until: dt.datetime
    targets_expires: dt.datetime
    root_expires: dt.datetime


class OperatorRepository:
    """An initialised repository directory, opened for signing.

    Args:
        directory: The repository directory ``DIR``.
        keys: The keys directory; ``DIR/keys`` by default.
        passphrase: Opens the keys stored encrypted; plain keys need none.
    """

    def __init__(self, directory: Path, keys: Path | None = None, passphrase: bytes | None = None) -> None:
        self.directory = directory
        self.keys = keys or directory / "keys"
        self.passphrase = passphrase
        self.public = directory / "public"
        self.metadata_dir = self.public / "metadata"
        self.targets_dir = self.public / "targets"
        self.photos_dir = self.public / "photos"
        settings_file = directory / "repo.json"
        if not (settings_file.is_file() and self.metadata_dir.is_dir()):
            raise RepositoryError(
                f"{directory} 不是已初始化的发布目录；请先运行 signage repo init {directory}",
                f"{directory} is not an initialised repository; run: signage repo init {directory}",
            )
        settings = json.loads(settings_file.read_text(encoding="utf-8"))
        self.freshness = dt.timedelta(seconds=int(settings["freshness_seconds"]))

    # --- creating ------------------------------------------------------------------------------------

    @classmethod
    def init(
        cls,
        directory: Path,
        *,
        now: dt.datetime,
        freshness: dt.timedelta = DEFAULT_FRESHNESS,
        keys: Path | None = None,
        passphrase: bytes | None = None,
    ) -> OperatorRepository:
        """Create keys and version 1 of every role in an empty (or new) ``directory``.

        With a ``passphrase`` every key (root too) is written encrypted with it.

        Raises:
            RepositoryError: the directory already holds a repository.
            ConfigError: the freshness bound is outside 2 to 72 hours, or the passphrase is empty.
        """
        check_freshness(freshness)
        if passphrase is not None:
            check_passphrase(passphrase)
        keys = keys or directory / "keys"
        if (directory / "repo.json").exists() or (directory / "public").exists():
            raise RepositoryError(
                f"{directory} 已经是发布目录，不会覆盖",
                f"{directory} already holds a repository; not overwriting it",
            )
        if keys.exists() and any(keys.glob("*.pem")):
            raise RepositoryError(
                f"密钥目录 {keys} 中已有密钥，不会覆盖；请指定一个新的空目录",
                f"the keys folder {keys} already holds keys; not overwriting them: name a new, empty folder",
            )
        if keys.resolve().is_relative_to((directory / "public").resolve()):
            raise RepositoryError(
                f"密钥目录 {keys} 位于对外提供的 public/ 中；私钥绝不能被公开",
                f"the keys folder {keys} is inside the served public/ folder; private keys must never be served",
            )
        for folder in ("public/metadata", "public/targets", "public/photos"):
            (directory / folder).mkdir(parents=True, exist_ok=True)
        keys.mkdir(mode=0o700, parents=True, exist_ok=True)
        keys.chmod(0o700)
        private_keys = {role: Ed25519PrivateKey.generate() for role in ROLES}
        signers = {role: CryptoSigner(key) for role, key in private_keys.items()}
        for role, key in private_keys.items():
            atomic_write(keys / f"{role}.pem", private_pem(key, passphrase), mode=0o600)

        root = Root(expires=now + ROOT_LIFETIME, consistent_snapshot=True)
        for role, signer in signers.items():
            root.add_key(signer.public_key, role)
        root_md = Metadata(root)
        root_md.sign(signers["root"])
        atomic_write(directory / "public/metadata/1.root.json", root_md.to_bytes(JSONSerializer()))
        atomic_write(
            directory / "repo.json",
            json.dumps({"freshness_seconds": int(freshness.total_seconds())}).encode(),
        )
        repository = cls(directory, keys, passphrase)
        targets = Metadata(Targets(expires=now + TARGETS_LIFETIME))
        repository._commit(targets, now=now)
        return repository

    # --- reading -------------------------------------------------------------------------------------

    def root(self) -> Metadata[Root]:
        """The newest root metadata."""
        versions = [
            int(m.group(1)) for p in self.metadata_dir.iterdir() if (m := _VERSIONED.fullmatch(p.name))
        ]
        return Metadata[Root].from_file(str(self.metadata_dir / f"{max(versions)}.root.json"))

    def timestamp(self) -> Metadata[Timestamp]:
        """The current timestamp metadata."""
        return Metadata[Timestamp].from_file(str(self.metadata_dir / "timestamp.json"))

    def snapshot(self) -> Metadata[Snapshot]:
        """The snapshot the current timestamp names."""
        version = self.timestamp().signed.snapshot_meta.version
        return Metadata[Snapshot].from_file(str(self.metadata_dir / f"{version}.snapshot.json"))

    def targets(self) -> Metadata[Targets]:
        """The targets metadata the current snapshot names."""
        version = self.snapshot().signed.meta["targets.json"].version
        return Metadata[Targets].from_file(str(self.metadata_dir / f"{version}.targets.json"))

    def read_target(self, path: str) -> bytes | None:
        """The current content of a target (``channels/<ID>/playlist.json``), or ``None``."""
        info = self.targets().signed.targets.get(path)
        if info is None:
            return None
        folder, name = os.path.split(path)
        return (self.targets_dir / folder / f"{info.hashes['sha256']}.{name}").read_bytes()

    # --- writing -------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the repository's lock: publish, revoke, refresh and rotate never interleave."""
        with (self.directory / ".lock").open("w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise RepositoryError(
                    "另一个 signage 命令正在使用此发布目录，请稍后再试",
                    "another signage command is using this repository; try again in a moment",
                ) from None
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def put_targets(self, files: dict[str, bytes], *, now: dt.datetime) -> Metadata[Targets]:
        """Add or replace target files and sign new targets, snapshot and timestamp metadata.

        Args:
            files: Target path -> content.
            now: The signing time; expiries count from it.
        """
        targets = self.targets()
        for path, data in files.items():
            folder, name = os.path.split(path)
            info = TargetFile.from_data(path, data, ["sha256"])
            destination = self.targets_dir / folder
            destination.mkdir(parents=True, exist_ok=True)
            atomic_write(destination / f"{info.hashes['sha256']}.{name}", data)
            targets.signed.targets[path] = info
        targets.signed.version += 1
        targets.signed.expires = now + TARGETS_LIFETIME
        self._commit(targets, now=now)
        self._prune_targets(targets.signed)
        return targets

    def refresh(self, *, now: dt.datetime) -> RefreshResult:
        """Re-sign timestamp (and snapshot when half its lifetime has passed) with the online keys."""
        snapshot = self.snapshot()
        resign = snapshot.signed.expires - now < SNAPSHOT_LIFETIME / 2
        if resign:
            snapshot.signed.version += 1
            snapshot.signed.expires = now + SNAPSHOT_LIFETIME
            snapshot.sign(self._signer("snapshot"))
            self._write_versioned(snapshot)
        timestamp = self._sign_timestamp(snapshot.signed.version, now=now)
        return RefreshResult(
            timestamp_version=timestamp.signed.version,
            snapshot_resigned=resign,
            verified_until=timestamp.signed.expires,
            targets_expires=self.targets().signed.expires,
            root_expires=self.root().signed.expires,
        )

    def rotate(self, role: str, *, now: dt.datetime) -> str:
        """Replace ``role``'s key through a new root version; returns the new key id.

        Screens follow the chain of root versions, so they keep working across a rotation. Rotating the
        root key itself has the new root signed by both the old and the new key.
        """
        if role not in ROLES:
            raise ConfigError(f"未知角色 {role}", f"unknown role {role}; use one of {', '.join(ROLES)}")
        root = self.root()
        old_root_signer = self._signer("root")
        old_key_path = self.keys / f"{role}.pem"
        new_key = Ed25519PrivateKey.generate()
        new_signer = CryptoSigner(new_key)
        for keyid in list(root.signed.roles[role].keyids):
            root.signed.revoke_key(keyid, role)
        root.signed.add_key(new_signer.public_key, role)
        root.signed.version += 1
        root.signed.expires = now + ROOT_LIFETIME
        root.signatures.clear()
        root.sign(old_root_signer, append=True)
        if role == "root":
            root.sign(new_signer, append=True)
        # Keep the retired key beside the new one until the operator has destroyed it knowingly.
        retired = self.keys / f"{role}.retired-{now.strftime('%Y%m%dT%H%M%S')}.pem"
        atomic_write(retired, old_key_path.read_bytes(), mode=0o600)
        # The new key is stored as the repository's keys are: encrypted when it was opened with a passphrase.
        atomic_write(old_key_path, private_pem(new_key, self.passphrase), mode=0o600)
        self._write_versioned(root)
        # Re-sign everything below root with the keys now trusted, so screens verify with the new key.
        targets = self.targets()
        targets.signed.version += 1
        self._commit(targets, now=now)
        return new_signer.public_key.keyid

    # --- internals -----------------------------------------------------------------------------------

    def _commit(self, targets: Metadata[Targets], *, now: dt.datetime) -> None:
        targets.signatures.clear()
        targets.sign(self._signer("targets"))
        self._write_versioned(targets)
        previous = 0
        if (self.metadata_dir / "timestamp.json").exists():
            previous = self.timestamp().signed.snapshot_meta.version
        snapshot = Metadata(
            Snapshot(
                version=previous + 1,
                expires=now + SNAPSHOT_LIFETIME,
                meta={"targets.json": MetaFile(version=targets.signed.version)},
            )
        )
        snapshot.sign(self._signer("snapshot"))
        self._write_versioned(snapshot)
        self._sign_timestamp(snapshot.signed.version, now=now)

    def _sign_timestamp(self, snapshot_version: int, *, now: dt.datetime) -> Metadata[Timestamp]:
        version = 1
        if (self.metadata_dir / "timestamp.json").exists():
            version = self.timestamp().signed.version + 1
        timestamp = Metadata(
            Timestamp(
                version=version,
                expires=now + self.freshness,
                snapshot_meta=MetaFile(version=snapshot_version),
            )
        )
        timestamp.sign(self._signer("timestamp"))
        atomic_write(self.metadata_dir / "timestamp.json", timestamp.to_bytes(_SERIALIZER))
        return timestamp

    def _write_versioned(self, metadata: Metadata[Root] | Metadata[Targets] | Metadata[Snapshot]) -> None:
        name = f"{metadata.signed.version}.{metadata.signed.type}.json"
        serializer = JSONSerializer() if metadata.signed.type == Root.type else _SERIALIZER
        atomic_write(self.metadata_dir / name, metadata.to_bytes(serializer))

    def check_keys(self, roles: tuple[str, ...] = ("targets", *ONLINE_ROLES)) -> None:
        """Open the keys of ``roles`` now (the hub does at start), so a missing key or passphrase is told
        at once rather than at the first publish or hourly refresh.

        Raises:
            RepositoryError: a key is missing, is not the one the root trusts, or is encrypted and the
                passphrase is missing or wrong.
        """
        for role in roles:
            self._signer(role)

    def _signer(self, role: str) -> CryptoSigner:
        path = self.keys / f"{role}.pem"
        signer = CryptoSigner(load_private_key(path, self.passphrase, role))
        trusted = self.root().signed.roles[role]
        if signer.public_key.keyid not in trusted.keyids:
            raise RepositoryError(
                f"{path} 不是当前根元数据信任的 {role} 密钥",
                f"{path} is not the {role} key the current root trusts",
            )
        return signer

    def _prune_targets(self, targets: Targets) -> None:
        """Delete target files older than the last :data:`KEEP_PLAYLISTS` of each target path."""
        current = {f"{info.hashes['sha256']}.{Path(path).name}" for path, info in targets.targets.items()}
        for folder in {str(Path(path).parent) for path in targets.targets}:
            directory = self.targets_dir / folder
            files = sorted(
                (p for p in directory.iterdir() if p.is_file() and not p.name.startswith(".")),
                key=lambda p: p.stat().st_mtime_ns,
                reverse=True,
            )
            by_name: dict[str, list[Path]] = {}
            for path in files:
                by_name.setdefault(path.name.split(".", 1)[1], []).append(path)
            for same in by_name.values():
                keep = 0
                for path in same:
                    if path.name in current or keep < KEEP_PLAYLISTS:
                        keep += 1
                        continue
                    path.unlink()
            fsync_directory(directory)


def check_freshness(freshness: dt.timedelta) -> None:
    """Refuse a freshness bound outside 2 to 72 hours."""
    if not MIN_FRESHNESS <= freshness <= MAX_FRESHNESS:
        raise ConfigError(
            f"时效上限须在 2 到 72 小时之间，现为 {freshness.total_seconds() / 3600:g} 小时",
            f"the freshness bound must be 2 to 72 hours, not {freshness.total_seconds() / 3600:g}",
        )
