"""``signage doctor --hub DIR``: is this hub safe to face the internet? Its keys, its secret key, DEBUG.

Each check returns a :class:`signage.doctor.Check`, like the screen's checks, and reads only files and
settings (nothing is created or changed; the fix is printed):

- ``hub-keys``: the online keys' folder and files give no access to group or others (0700 and 0600);
- ``hub-keys-encrypted``: the keys are encrypted at rest with a passphrase (a warning if not);
- ``hub-root-key``: the root key is not on the hub (a warning: it belongs offline, see docs/deploy.md);
- ``hub-secret-key``: the session-signing key exists, is long enough and is private;
- ``hub-database``: the SQLite database and its ``-wal``/``-shm`` files (sessions, password and token hashes)
  give no access to group or others;
- ``hub-debug``: Django's DEBUG is off (a debug page shows settings and stack frames to anyone).
"""

from __future__ import annotations

import importlib
import os
import stat
from pathlib import Path
from typing import Final

from signage.doctor import Check

#: What an encrypted PKCS#8 key file starts with (``-----BEGIN PRIVATE KEY-----`` when it is not).
_ENCRYPTED_PEM: Final = b"-----BEGIN ENCRYPTED PRIVATE KEY-----"
_MIN_SECRET_LENGTH: Final = 50


def hub_checks(repo_dir: Path, keys_dir: Path | None = None) -> list[Check]:
    """Every hub check for repository ``DIR`` (keys in ``DIR/keys`` unless ``keys_dir`` is given)."""
    keys = keys_dir or repo_dir / "keys"
    return [
        check_key_modes(keys),
        check_keys_encrypted(keys),
        check_no_root_key(keys),
        check_secret_key(repo_dir),
        check_database_files(repo_dir),
        check_debug(repo_dir),
    ]


def _open_to_others(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode) & 0o077


def check_key_modes(keys: Path) -> Check:
    """The keys' folder is 0700 and every key file 0600 (no group or other bits)."""
    if not keys.is_dir():
        return Check("hub-keys", False, f"没有密钥目录 {keys}", f"no key folder at {keys}")
    loose = [path for path in [keys, *sorted(keys.glob("*.pem"))] if _open_to_others(path)]
    if loose:
        listed = ", ".join(f"{path} ({stat.S_IMODE(path.stat().st_mode):o})" for path in loose)
        return Check(
            "hub-keys",
            False,
            f"以下密钥文件或目录对同组或其他用户开放：{listed}；私钥只应由集线器的用户读取",
            f"these key files or folders are open to group or others: {listed}; private keys must be readable "
            "by the hub's user only",
            f"chmod 700 {keys} && chmod 600 {keys}/*.pem",
        )
    return Check("hub-keys", True, f"{keys} 及其中的密钥仅本用户可读", f"{keys} and its keys are private")


def check_keys_encrypted(keys: Path) -> Check:
    """Every key file is an encrypted PKCS#8 PEM (a warning otherwise)."""
    plain = [
        path.name for path in sorted(keys.glob("*.pem")) if not path.read_bytes().startswith(_ENCRYPTED_PEM)
    ]
    if plain:
        return Check(
            "hub-keys-encrypted",
            False,
            f"以下密钥未加密存放：{', '.join(plain)}；磁盘或备份被拷走即可签发内容。请用口令加密",
            f"these keys are not encrypted at rest: {', '.join(plain)}; a stolen disk or backup could sign "
            "content. Encrypt them with a passphrase",
            "signage repo encrypt-keys --repo DIR --passphrase-file FILE",
            warning=True,
        )
    return Check("hub-keys-encrypted", True, "密钥均已用口令加密", "every key is encrypted with a passphrase")


def check_no_root_key(keys: Path) -> Check:
    """The root key is kept offline, not on the hub (a warning otherwise)."""
    root = keys / "root.pem"
    if root.exists():
        return Check(
            "hub-root-key",
            False,
            f"根密钥 {root} 在集线器上；它应离线保存（见 docs/deploy.md），集线器只需 targets 与 snapshot 密钥",
            f"the root key {root} is on the hub; keep it offline (see docs/deploy.md): the hub needs only the "
            "targets and snapshot keys",
            warning=True,
        )
    return Check("hub-root-key", True, "集线器上没有根密钥", "the root key is not on the hub")


def check_secret_key(repo_dir: Path) -> Check:
    """The session-signing key: ``SIGNAGE_SECRET_KEY``, or ``DIR/secret_key`` private and long enough."""
    if os.environ.get("SIGNAGE_SECRET_KEY"):
        if len(os.environ["SIGNAGE_SECRET_KEY"]) < _MIN_SECRET_LENGTH:
            return Check(
                "hub-secret-key",
                False,
                f"SIGNAGE_SECRET_KEY 太短（至少 {_MIN_SECRET_LENGTH} 个字符）",
                f"SIGNAGE_SECRET_KEY is too short (at least {_MIN_SECRET_LENGTH} characters)",
            )
        return Check(
            "hub-secret-key",
            True,
            "会话密钥来自 SIGNAGE_SECRET_KEY",
            "the secret key comes from SIGNAGE_SECRET_KEY",
        )
    path = repo_dir / "secret_key"
    if not path.is_file():
        return Check(
            "hub-secret-key",
            False,
            f"没有会话密钥文件 {path}；集线器首次启动时会创建它",
            f"no secret key file at {path}; the hub creates it when it first starts",
            f"signage hub --repo {repo_dir}",
        )
    if _open_to_others(path):
        return Check(
            "hub-secret-key",
            False,
            f"{path} 的权限是 {stat.S_IMODE(path.stat().st_mode):o}；会话密钥只应由集线器的用户读取",
            f"{path} has mode {stat.S_IMODE(path.stat().st_mode):o}; the secret key must be private",
            f"chmod 600 {path}",
        )
    if len(path.read_bytes().strip()) < _MIN_SECRET_LENGTH:
        return Check(
            "hub-secret-key",
            False,
            f"{path} 太短（至少 {_MIN_SECRET_LENGTH} 个字符）；删除它，集线器下次启动时会重新生成",
            f"{path} is too short (at least {_MIN_SECRET_LENGTH} characters); delete it and the hub makes a new one",
        )
    return Check("hub-secret-key", True, f"会话密钥 {path} 仅本用户可读", f"the secret key {path} is private")


def check_database_files(repo_dir: Path) -> Check:
    """``DIR/hub.sqlite3`` and its companion files, where they exist, are 0600 (no group or other bits)."""
    files = [repo_dir / f"hub.sqlite3{suffix}" for suffix in ("", "-wal", "-shm", "-journal")]
    loose = [path for path in files if path.exists() and _open_to_others(path)]
    if loose:
        listed = ", ".join(f"{path} ({stat.S_IMODE(path.stat().st_mode):o})" for path in loose)
        return Check(
            "hub-database",
            False,
            f"以下数据库文件对同组或其他用户开放：{listed}；其中有会话、密码与令牌的哈希，只应由集线器的用户读取",
            f"these database files are open to group or others: {listed}; they hold sessions and password and "
            "token hashes, and must be readable by the hub's user only",
            f"chmod 600 {repo_dir}/hub.sqlite3*",
        )
    return Check("hub-database", True, "数据库文件仅本用户可读", "the database files are private")


def check_debug(repo_dir: Path) -> Check:
    """Django's DEBUG as the hub's settings module computes it for ``DIR`` (without starting Django)."""
    os.environ.setdefault("SIGNAGE_HUB_REPO", str(repo_dir))
    debug = bool(importlib.import_module("signage.hub.settings").DEBUG)
    if debug:
        return Check(
            "hub-debug",
            False,
            "DEBUG 已开启：出错页面会向任何人显示设置与调用栈",
            "DEBUG is on: an error page shows settings and stack frames to anyone",
        )
    return Check("hub-debug", True, "DEBUG 已关闭", "DEBUG is off")
