"""The operator's TUF repository: keys, metadata, and the files screens download.

Layout of a repository directory ``DIR``::

    DIR/repo.json          settings (freshness bound), never served
    DIR/revoked.json       the operator's ledger of revoked entries, never served
    DIR/keys/              private keys, mode 0700, files 0600, never served; plain or encrypted
                           with a passphrase (``signage.operator.publish.keys``)
    DIR/public/            everything the hub serves
        metadata/          N.root.json, N.targets.json, N.snapshot.json, timestamp.json,
                           N.bins-XX.json (the hashed bins, below)
        targets/           channels/<ID>/<sha256>.header.json, …/shards/<sha256>.NNNN.json (the playlist,
                           sharded), …/<sha256>.playlist.json (the same list as one file, for screens
                           not yet moved over), …/<sha256>.revocations.json
        photos/<sha256>    content-addressed JPEGs, referenced from playlists by hash and length

Roles and keys (Ed25519): *root* (keep it offline; only init and key rotation need it), *targets* (the
operator's approval: every publish and revoke), *snapshot* and *timestamp* (online keys the hub uses to
re-sign every hour). Only targets-signed content names people, so a stolen online key cannot add anyone.

Hashed bins (TUF's hashed-bin delegation, PEP 458): the top-level targets metadata lists the small
targets (headers, revocations, single-file playlists) and delegates every other path, by the SHA-256 of
the path, to :data:`BINS` succinct roles ``bins-00`` … ``bins-3f``; the shards live there. A publish that
changes one shard re-signs one bin, so a screen downloads that bin's metadata, not a list of every shard
of every channel. The bins are signed with the targets key, not a key of their own: what they list names
people, so signing them is the operator's approval exactly as signing targets is (PyPI gives its bins an
online key because it publishes unattended; a court clerk publishes by hand). A key rotation of targets
moves the delegation to the new key and re-signs every bin.

Every file is written atomically, and in the order screens read backwards: target files first, then the
bins, targets, snapshot, and ``timestamp.json`` last, so a screen never sees metadata naming a missing
file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import (
    Delegations,
    Metadata,
    MetaFile,
    Root,
    Snapshot,
    SuccinctRoles,
    TargetFile,
    Targets,
    Timestamp,
)
from tuf.api.serialization.json import JSONSerializer

from signage.core.errors import ConfigError, RepositoryError
from signage.core.fsutil import atomic_write, fsync_directory
from signage.core.playlist import header_path as header_path

# Re-exported: the operator side has always asked the repository for these paths.
from signage.core.playlist import playlist_path as playlist_path
from signage.core.playlist import revocations_path as revocations_path
from signage.core.playlist import shard_path as shard_path
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
#: Hashed bins: 2**6 = 64 succinct roles. A screen fetches only the bins holding shards it lacks; the
#: snapshot lists every bin (about 40 bytes each), and with 256 shards a channel puts some 4 in each bin.
BIN_BITS = 6
BINS = 2**BIN_BITS
BIN_PREFIX = "bins"
#: Bins outlive the top-level targets by 30 days and are re-signed once less than a targets lifetime is
#: left, so a bin untouched by publishes never expires before the targets metadata that delegates to it.
BINS_LIFETIME = TARGETS_LIFETIME + dt.timedelta(days=30)
_DELEGATED = re.compile(r"channels/[^/]+/shards/[^/]+")


def is_delegated(path: str) -> bool:
    """Whether a target path is listed in a hashed bin rather than the top-level targets."""
    return _DELEGATED.fullmatch(path) is not None


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

    def bin(self, name: str) -> Metadata[Targets]:
        """The current metadata of hashed bin ``name`` (``bins-3f``), the version the snapshot names."""
        version = self.snapshot().signed.meta[f"{name}.json"].version
        return Metadata[Targets].from_file(str(self.metadata_dir / f"{version}.{name}.json"))

    def target_info(self, path: str) -> TargetFile | None:
        """The current signed entry of a target, from the top-level targets or its hashed bin."""
        targets = self.targets().signed
        if not is_delegated(path):
            return targets.targets.get(path)
        roles = _succinct(targets)
        if roles is None:
            return None
        return self.bin(roles.get_role_for_target(path)).signed.targets.get(path)

    def target_file(self, path: str, info: TargetFile) -> Path:
        """Where the target file ``info`` of ``path`` is served from."""
        folder, name = os.path.split(path)
        return self.targets_dir / folder / f"{info.hashes['sha256']}.{name}"

    def read_target(self, path: str) -> bytes | None:
        """The current content of a target (``channels/<ID>/playlist.json``), or ``None``."""
        info = self.target_info(path)
        return None if info is None else self.target_file(path, info).read_bytes()

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

    def put_targets(
        self, files: dict[str, bytes], *, now: dt.datetime, remove: Iterable[str] = ()
    ) -> Metadata[Targets]:
        """Add or replace target files, drop others, and sign new metadata: the hashed bins that changed
        (or near expiry), targets, snapshot and timestamp.

        Args:
            files: Target path -> content. Shard paths (:func:`is_delegated`) go to their hashed bin.
            now: The signing time; expiries count from it.
            remove: Target paths to delist (their files stay until pruned).
        """
        targets = self.targets()
        delegated = [path for path in (*files, *remove) if is_delegated(path)]
        bins: dict[str, Metadata[Targets]] = {}
        roles = _succinct(targets.signed)
        if delegated and roles is None:
            roles = self._delegate(targets, bins, now=now)
        for path, data in files.items():
            info = TargetFile.from_data(path, data, ["sha256"])
            destination = self.target_file(path, info)
            destination.parent.mkdir(parents=True, exist_ok=True)
            # Named by its hash: a file already there is this content, written whole (an unchanged shard).
            if not destination.exists():
                atomic_write(destination, data)
            if not is_delegated(path):
                targets.signed.targets[path] = info
                continue
            assert roles is not None
            holder = self._bin_for_change(roles.get_role_for_target(path), bins)
            if holder.signed.targets.get(path) != info:
                holder.signed.targets[path] = info
                holder.signatures.clear()  # marks the bin changed: it is signed again
        for path in remove:
            if not is_delegated(path):
                targets.signed.targets.pop(path, None)
            elif roles is not None:
                holder = self._bin_for_change(roles.get_role_for_target(path), bins)
                if holder.signed.targets.pop(path, None) is not None:
                    holder.signatures.clear()
        if roles is not None:
            for name in roles.get_roles():
                holder = self._bin_for_change(name, bins)
                if holder.signed.expires - now < TARGETS_LIFETIME:
                    holder.signatures.clear()
        changed = {name: holder for name, holder in bins.items() if not holder.signatures}
        for holder in changed.values():
            holder.signed.version += 1
            holder.signed.expires = now + BINS_LIFETIME
        targets.signed.version += 1
        targets.signed.expires = now + TARGETS_LIFETIME
        self._commit(targets, now=now, bins=changed)
        self._prune_targets()
        return targets

    def _bin_for_change(self, name: str, bins: dict[str, Metadata[Targets]]) -> Metadata[Targets]:
        if name not in bins:
            bins[name] = self.bin(name)
        return bins[name]

    def _delegate(
        self, targets: Metadata[Targets], bins: dict[str, Metadata[Targets]], *, now: dt.datetime
    ) -> SuccinctRoles:
        """Delegate to the hashed bins (a repository made before them): every bin starts empty."""
        keyid = self._signer("targets").public_key.keyid
        roles = SuccinctRoles(keyids=[keyid], threshold=1, bit_length=BIN_BITS, name_prefix=BIN_PREFIX)
        targets.signed.delegations = Delegations(
            keys={keyid: self.root().signed.keys[keyid]}, roles=None, succinct_roles=roles
        )
        for name in roles.get_roles():
            # No signature yet marks each as changed, so all are written, at version 0 + 1.
            holder = Metadata(Targets(expires=now + BINS_LIFETIME))
            holder.signed.version = 0
            bins[name] = holder
        return roles

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
        bins: dict[str, Metadata[Targets]] = {}
        roles = _succinct(targets.signed)
        if role == "targets" and roles is not None:
            # The bins are signed with the targets key: the delegation moves to the new key, every bin too.
            keyid = new_signer.public_key.keyid
            assert targets.signed.delegations is not None
            targets.signed.delegations.keys = {keyid: root.signed.keys[keyid]}
            roles.keyids = [keyid]
            for name in roles.get_roles():
                holder = self.bin(name)
                holder.signed.version += 1
                bins[name] = holder
        self._commit(targets, now=now, bins=bins)
        return new_signer.public_key.keyid

    # --- internals -----------------------------------------------------------------------------------

    def _commit(
        self,
        targets: Metadata[Targets],
        *,
        now: dt.datetime,
        bins: Mapping[str, Metadata[Targets]] | None = None,
    ) -> None:
        signer = self._signer("targets")
        previous = 0
        meta: dict[str, MetaFile] = {}
        if (self.metadata_dir / "timestamp.json").exists():
            previous = self.timestamp().signed.snapshot_meta.version
            meta = dict(self.snapshot().signed.meta)
        # The bins before the targets that delegate to them: a screen never learns of a missing file.
        for name, holder in (bins or {}).items():
            holder.signatures.clear()
            holder.sign(signer)
            data = holder.to_bytes(_SERIALIZER)
            atomic_write(self.metadata_dir / f"{holder.signed.version}.{name}.json", data)
            # The length bounds the screen's download of the bin (python-tuf reads no byte past it).
            meta[f"{name}.json"] = MetaFile(version=holder.signed.version, length=len(data))
        targets.signatures.clear()
        targets.sign(signer)
        self._write_versioned(targets)
        meta["targets.json"] = MetaFile(version=targets.signed.version)
        snapshot = Metadata(Snapshot(version=previous + 1, expires=now + SNAPSHOT_LIFETIME, meta=meta))
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

    def all_targets(self) -> dict[str, TargetFile]:
        """Every current target: the top-level targets' and every hashed bin's."""
        targets = self.targets().signed
        found = dict(targets.targets)
        roles = _succinct(targets)
        if roles is not None:
            for name in roles.get_roles():
                found.update(self.bin(name).signed.targets)
        return found

    def _prune_targets(self) -> None:
        """Delete target files older than the last :data:`KEEP_PLAYLISTS` of each target path.

        Shards go with their headers instead: a shard file stays while a kept header names it (the
        current one, or the previous, for screens part-way through a sync of the previous version), so an
        unchanged shard keeps its one file however many publishes pass.
        """
        infos = self.all_targets()
        current = {f"{info.hashes['sha256']}.{Path(path).name}" for path, info in infos.items()}
        folders = {str(Path(path).parent) for path in infos if not is_delegated(path)}
        for folder in folders:
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
        for folder in folders:
            shards = self.targets_dir / folder / "shards"
            if shards.is_dir():
                self._prune_shards(shards)

    def _prune_shards(self, shards: Path) -> None:
        named: set[str] = set()
        for header in shards.parent.glob("*.header.json"):
            for index, ref in enumerate(json.loads(header.read_bytes())["shards"]):
                if ref is not None:
                    named.add(f"{ref['sha256']}.{index:04d}.json")
        for path in shards.iterdir():
            if path.is_file() and not path.name.startswith(".") and path.name not in named:
                path.unlink()
        fsync_directory(shards)


def check_freshness(freshness: dt.timedelta) -> None:
    """Refuse a freshness bound outside 2 to 72 hours."""
    if not MIN_FRESHNESS <= freshness <= MAX_FRESHNESS:
        raise ConfigError(
            f"时效上限须在 2 到 72 小时之间，现为 {freshness.total_seconds() / 3600:g} 小时",
            f"the freshness bound must be 2 to 72 hours, not {freshness.total_seconds() / 3600:g}",
        )


def _succinct(targets: Targets) -> SuccinctRoles | None:
    """The hashed bins ``targets`` delegates to, or ``None`` (a repository with no shard yet)."""
    return None if targets.delegations is None else targets.delegations.succinct_roles
