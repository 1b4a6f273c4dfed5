"""``signage doctor --hub DIR``: is this hub safe to face the internet? Its keys, its secret key, DEBUG.

Each check returns a :class:`signage.sync.doctor.Check`, like the screen's checks, and reads only files and
settings (nothing is created or changed; the fix is printed):

- ``hub-keys``: the online keys' folder and files give no access to group or others (0700 and 0600);
- ``hub-keys-encrypted``: the keys are encrypted at rest with a passphrase (a warning if not);
- ``hub-root-key``: the root key is not on the hub (a warning: it belongs offline, see docs/deploy.md);
- ``hub-secret-key``: the session-signing key exists, is long enough and is private;
- ``hub-database``: the SQLite database and its ``-wal``/``-shm`` files (sessions, password and token hashes)
  give no access to group or others;
- ``hub-debug``: Django's DEBUG is off (a debug page shows settings and stack frames to anyone);
- ``hub-owners``: the keys, their folder and the secret key belong to the hub's user (the owner of ``DIR``),
  and neither ``DIR`` nor the keys' folder nor its parent can be written by group or others (whoever may
  write a folder may swap the key files in it);
- ``hub-front`` (with ``--listen HOST:PORT``, the address screens and browsers use, as in the players'
  ``hub_url``): a loopback address reaches only this machine and passes; any other address must be answered
  by nginx (its ``Server`` header), not by the embedded waitress server (``Server: signage-hub``), which has
  no per-address request rate limits and serves the files from Python. The doctor sends one HEAD request to
  that address; it cannot see a proxy that hides its name, and says so.
"""

from __future__ import annotations

import http.client
import importlib
import ipaddress
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Final

from signage.sync.doctor import Check

#: What an encrypted PKCS#8 key file starts with (``-----BEGIN PRIVATE KEY-----`` when it is not).
_ENCRYPTED_PEM: Final = b"-----BEGIN ENCRYPTED PRIVATE KEY-----"
_MIN_SECRET_LENGTH: Final = 50


#: What answers at an address: the ``Server`` header, or None when nothing answered (with the error).
ServerProbe = Callable[[str, int], tuple[str | None, str]]


def hub_checks(
    repo_dir: Path,
    keys_dir: Path | None = None,
    *,
    listen: tuple[str, int] | None = None,
    probe: ServerProbe | None = None,
) -> list[Check]:
    """Every hub check for repository ``DIR`` (keys in ``DIR/keys`` unless ``keys_dir`` is given); with
    ``listen``, the address clients use, whether nginx answers there (``probe`` asks, :func:`server_header`
    by default)."""
    keys = keys_dir or repo_dir / "keys"
    checks = [
        check_key_modes(keys),
        check_keys_encrypted(keys),
        check_no_root_key(keys),
        check_secret_key(repo_dir),
        check_database_files(repo_dir),
        check_debug(repo_dir),
        check_owners(repo_dir, keys),
    ]
    if listen is not None:
        checks.append(check_front(*listen, probe=probe or server_header))
    return checks


def check_owners(repo_dir: Path, keys: Path) -> Check:
    """The keys, their folder and the secret key belong to the owner of ``DIR`` (the hub's user); ``DIR``,
    the keys' folder and its parent are not writable by group or others."""
    try:
        owner = repo_dir.stat().st_uid
        secret = repo_dir / "secret_key"
        owned = [keys, *sorted(keys.glob("*.pem")), *([secret] if secret.exists() else [])]
        strangers = [path for path in owned if path.stat().st_uid != owner]
        folders = dict.fromkeys([repo_dir, keys, keys.parent])
        writable = [folder for folder in folders if folder.is_dir() and folder.stat().st_mode & 0o022]
    except OSError as error:
        return Check("hub-owners", False, f"无法检查（{error}）", f"cannot check ({error})")
    if strangers:
        listed = ", ".join(f"{path} (uid {path.stat().st_uid})" for path in strangers)
        return Check(
            "hub-owners",
            False,
            f"以下文件不属于集线器的用户（{repo_dir} 的所有者 uid {owner}）：{listed}",
            f"these do not belong to the hub's user (the owner of {repo_dir}, uid {owner}): {listed}",
            f"sudo chown -R {owner} {keys}",
        )
    if writable:
        listed = ", ".join(f"{folder} ({stat.S_IMODE(folder.stat().st_mode):o})" for folder in writable)
        return Check(
            "hub-owners",
            False,
            f"以下目录可被同组或其他用户写入，他们可以替换其中的密钥：{listed}",
            f"these folders can be written by group or others, who could swap the keys in them: {listed}",
            "chmod go-w " + " ".join(str(folder) for folder in writable),
        )
    return Check(
        "hub-owners",
        True,
        f"密钥与会话密钥属于集线器的用户，目录只有它能写入（uid {owner}）",
        f"the keys and the secret key belong to the hub's user, and only it can write their folders (uid {owner})",
    )


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or ``localhost``) reaches only this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def server_header(host: str, port: int) -> tuple[str | None, str]:
    """The ``Server`` header of a HEAD / at ``host:port`` (plain HTTP), or None and why nothing answered."""
    connection = http.client.HTTPConnection(host, port, timeout=5)
    try:
        connection.request("HEAD", "/")
        return connection.getresponse().getheader("Server", ""), ""
    except (OSError, http.client.HTTPException) as error:
        return None, str(error) or type(error).__name__
    finally:
        connection.close()


def check_front(host: str, port: int, *, probe: ServerProbe) -> Check:
    """A hub reached at a non-loopback ``host:port`` must be answered there by nginx, not by waitress."""
    where = f"{host}:{port}"
    if is_loopback(host):
        return Check(
            "hub-front",
            True,
            f"{where} 只能从本机访问",
            f"{where} is reachable from this machine only",
        )
    server, error = probe(host, port)
    if server is None:
        return Check(
            "hub-front",
            False,
            f"无法连接 {where}（{error}），不能确认前面有 nginx",
            f"cannot reach {where} ({error}), so cannot tell whether nginx is in front",
        )
    if server.lower().startswith("nginx"):
        return Check("hub-front", True, f"{where} 由 nginx 应答", f"nginx answers at {where}")
    fix = "signage hub --host 127.0.0.1 ... && signage hub nginx-config --listen " + where
    if server.startswith("signage-hub"):
        return Check(
            "hub-front",
            False,
            f"集线器在 {where} 直接面对客户端，前面没有 nginx；请让集线器只监听 127.0.0.1，并按 docs/deploy.md 配置 nginx",
            f"the hub faces clients directly at {where}, with no nginx in front; listen on 127.0.0.1 only and put "
            "nginx in front as docs/deploy.md says",
            fix,
        )
    return Check(
        "hub-front",
        False,
        f"{where} 由 “{server[:40]}” 应答，不是 nginx；无法确认",
        f"{where} is answered by '{server[:40]}', not nginx; cannot confirm the front",
        warning=True,
    )


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
    debug = bool(importlib.import_module("signage.operator.hub.settings").DEBUG)
    if debug:
        return Check(
            "hub-debug",
            False,
            "DEBUG 已开启：出错页面会向任何人显示设置与调用栈",
            "DEBUG is on: an error page shows settings and stack frames to anyone",
        )
    return Check("hub-debug", True, "DEBUG 已关闭", "DEBUG is off")
