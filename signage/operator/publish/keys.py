"""Private keys at rest: plain or passphrase-encrypted PEM, and where the passphrase comes from.

The hub holds the targets, snapshot and timestamp keys (issue 12), so they may be stored encrypted: PKCS#8
PEM with cryptography's ``BestAvailableEncryption`` under an operator's passphrase. The passphrase is never
a command-line argument (other users see those in ``ps``); :func:`read_passphrase` takes it from, in order,
a file named on the command line, the systemd credential ``signage-keys`` (``LoadCredential=``, which
systemd places in ``$CREDENTIALS_DIRECTORY``), or the environment variable ``SIGNAGE_KEYS_PASSPHRASE``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption,
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from signage.core.errors import ConfigError, RepositoryError
from signage.core.fsutil import atomic_write

#: The systemd credential name (``LoadCredential=signage-keys:/etc/signage/keys-passphrase``).
CREDENTIAL_NAME = "signage-keys"
PASSPHRASE_ENV = "SIGNAGE_KEYS_PASSPHRASE"
#: A passphrase is a line of text; anything longer is the wrong file.
MAX_PASSPHRASE_BYTES = 1024
#: A key file is a few hundred bytes; a larger one is not a key.
MAX_KEY_BYTES = 64 * 1024
_HOW = (
    "用 --passphrase-file 指定口令文件，或通过 systemd 凭据 signage-keys（LoadCredential=）"
    "或环境变量 SIGNAGE_KEYS_PASSPHRASE 提供口令",
    "give it with --passphrase-file FILE, the systemd credential signage-keys (LoadCredential=), "
    "or the environment variable SIGNAGE_KEYS_PASSPHRASE",
)


def is_encrypted(pem: bytes) -> bool:
    """Whether ``pem`` is an encrypted private key (PKCS#8 ``ENCRYPTED PRIVATE KEY`` or a legacy
    ``Proc-Type: 4,ENCRYPTED`` header)."""
    return b"-----BEGIN ENCRYPTED PRIVATE KEY-----" in pem or b"Proc-Type: 4,ENCRYPTED" in pem


def load_private_key(path: Path, passphrase: bytes | None, role: str = "") -> PrivateKeyTypes:
    """The private key in ``path``, decrypted with ``passphrase`` when it is encrypted.

    A plain key loads whatever the passphrase (a repository part-way through ``encrypt-keys`` still works).
    ``role`` (``targets``…) names the key in messages.

    Raises:
        RepositoryError: the file is missing, is not a key, or is encrypted and the passphrase is missing or
            wrong; the message says what to do.
    """
    key_zh, key_en = (f"{role} 密钥", f"the {role} key") if role else ("密钥", "the key")
    try:
        with path.open("rb") as handle:
            pem = handle.read(MAX_KEY_BYTES + 1)
    except FileNotFoundError:
        raise RepositoryError(
            f"找不到 {key_zh} {path}；请用 --keys 指定密钥目录",
            f"{key_en} {path} is missing; point --keys at the keys directory",
        ) from None
    encrypted = is_encrypted(pem)
    if encrypted and passphrase is None:
        raise RepositoryError(
            f"{key_zh} {path} 已加密，需要口令：{_HOW[0]}",
            f"{key_en} {path} is encrypted and needs its passphrase: {_HOW[1]}",
        )
    try:
        return load_pem_private_key(pem, passphrase if encrypted else None)
    except (ValueError, TypeError):
        if encrypted:
            raise RepositoryError(
                f"{key_zh} {path} 的口令不对；请使用加密时设定的口令（{_HOW[0]}）",
                f"the passphrase for {key_en} {path} is wrong; use the one the keys were encrypted with ({_HOW[1]})",
            ) from None
        raise RepositoryError(
            f"{path} 不是可用的私钥文件", f"{path} is not a usable private key file"
        ) from None


def private_pem(key: PrivateKeyTypes, passphrase: bytes | None) -> bytes:
    """PKCS#8 PEM of ``key``, encrypted when a passphrase is given."""
    encryption = (
        NoEncryption() if passphrase is None else BestAvailableEncryption(check_passphrase(passphrase))
    )
    return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, encryption)


def check_passphrase(passphrase: bytes) -> bytes:
    """Refuse an empty or oversized passphrase.

    Raises:
        ConfigError: empty, or over :data:`MAX_PASSPHRASE_BYTES`.
    """
    if not passphrase:
        raise ConfigError("密钥口令为空", "the keys passphrase is empty")
    if len(passphrase) > MAX_PASSPHRASE_BYTES:
        raise ConfigError(
            f"密钥口令超过 {MAX_PASSPHRASE_BYTES} 字节，可能指定了错误的文件",
            f"the keys passphrase is over {MAX_PASSPHRASE_BYTES} bytes; is it the wrong file?",
        )
    return passphrase


def encrypt_keys(keys_dir: Path, passphrase: bytes) -> list[Path]:
    """Encrypt every plain private key (``*.pem``) in ``keys_dir`` in place with ``passphrase``.

    Every key is read (and every already-encrypted one decrypted with ``passphrase``) before any file is
    written, so a wrong passphrase or a damaged key changes nothing. Each file is then replaced atomically
    (mode 0600); after a power cut, running it again finishes the job. Returns the files encrypted now.

    Raises:
        RepositoryError: no keys in ``keys_dir``, a damaged key, or an encrypted key the passphrase does not
            open (keys encrypted under another passphrase are never mixed in).
        ConfigError: an empty or oversized passphrase.
    """
    check_passphrase(passphrase)
    paths = sorted(keys_dir.glob("*.pem"))
    if not paths:
        raise RepositoryError(f"{keys_dir} 中没有密钥（*.pem）", f"there are no keys (*.pem) in {keys_dir}")
    plain = [(path, load_private_key(path, passphrase)) for path in paths]
    done = []
    for path, key in plain:
        if not is_encrypted(path.read_bytes()):
            atomic_write(path, private_pem(key, passphrase), mode=0o600)
            done.append(path)
    return done


def read_passphrase(file: Path | None = None, *, environ: Mapping[str, str] | None = None) -> bytes | None:
    """The keys passphrase, from ``file``, else the systemd credential, else the environment; else ``None``.

    One trailing line break is stripped (``echo secret > file``); nothing else is.

    Raises:
        ConfigError: ``file`` (or the credential) cannot be read, or the passphrase is empty or too long.
    """
    environ = os.environ if environ is None else environ
    if file is None and environ.get("CREDENTIALS_DIRECTORY"):
        credential = Path(environ["CREDENTIALS_DIRECTORY"]) / CREDENTIAL_NAME
        if credential.exists():
            file = credential
    if file is not None:
        try:
            with file.open("rb") as handle:
                data = handle.read(MAX_PASSPHRASE_BYTES + 3)
        except OSError as error:
            raise ConfigError(
                f"无法读取口令文件 {file}：{error.strerror}",
                f"cannot read the passphrase file {file}: {error.strerror}",
            ) from None
    elif environ.get(PASSPHRASE_ENV):
        data = environ[PASSPHRASE_ENV].encode()
    else:
        return None
    for ending in (b"\r\n", b"\n"):
        if data.endswith(ending):
            data = data[: -len(ending)]
            break
    return check_passphrase(data)
