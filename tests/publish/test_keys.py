"""Keys encrypted at rest: a real repository signs with encrypted keys, refuses clearly without the passphrase,
and plain keys are encrypted in place; the passphrase comes from a file, a systemd credential or the environment.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from signage.core.errors import ConfigError, RepositoryError
from signage.operator.publish.keys import (
    MAX_PASSPHRASE_BYTES,
    encrypt_keys,
    is_encrypted,
    read_passphrase,
)
from signage.operator.publish.repo import ROLES, OperatorRepository, playlist_path

NOW = dt.datetime(2026, 11, 26, 4, 0, tzinfo=dt.UTC)
SECRET = "法院 hub 口令 2026".encode()
PLAYLIST = playlist_path("jinan-station")


def pem_files(repo: OperatorRepository) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(repo.keys.glob("*.pem"))}


def test_init_with_a_passphrase_writes_every_key_encrypted_and_signs_with_them(tmp_path):
    repo = OperatorRepository.init(tmp_path / "DIR", now=NOW, passphrase=SECRET)
    files = pem_files(repo)
    assert sorted(files) == sorted(f"{role}.pem" for role in ROLES)
    assert all(is_encrypted(data) and b"BEGIN ENCRYPTED PRIVATE KEY" in data for data in files.values())
    assert all((repo.keys / name).stat().st_mode & 0o777 == 0o600 for name in files)
    reopened = OperatorRepository(repo.directory, passphrase=SECRET)
    reopened.check_keys()
    reopened.put_targets({PLAYLIST: b"list"}, now=NOW)
    assert reopened.read_target(PLAYLIST) == b"list"
    # A rotation writes the new key encrypted too.
    reopened.rotate("targets", now=NOW)
    assert is_encrypted((repo.keys / "targets.pem").read_bytes())
    reopened.put_targets({PLAYLIST: b"list 2"}, now=NOW)


@pytest.mark.parametrize("passphrase", [None, b"wrong passphrase"])
def test_an_encrypted_key_without_its_passphrase_is_a_clear_error_and_changes_nothing(tmp_path, passphrase):
    repo = OperatorRepository.init(tmp_path / "DIR", now=NOW, passphrase=SECRET)
    before = repo.timestamp().signed.version
    locked = OperatorRepository(repo.directory, passphrase=passphrase)
    with pytest.raises(RepositoryError) as caught:
        locked.refresh(now=NOW)
    message = caught.value
    assert "timestamp.pem" in message.en and "timestamp" in message.zh
    assert "--passphrase-file" in message.en and "SIGNAGE_KEYS_PASSPHRASE" in message.en
    assert "signage-keys" in message.zh
    assert ("wrong" in message.en) == (passphrase is not None)
    with pytest.raises(RepositoryError):
        locked.check_keys()
    assert repo.timestamp().signed.version == before


def test_encrypting_existing_plain_keys_in_place(tmp_path):
    repo = OperatorRepository.init(tmp_path / "DIR", now=NOW)
    assert not any(is_encrypted(data) for data in pem_files(repo).values())
    repo.rotate("snapshot", now=NOW)  # leaves a retired key beside the new one: it is private too
    names = sorted(pem_files(repo))
    assert len(names) == 5

    done = encrypt_keys(repo.keys, SECRET)
    assert sorted(path.name for path in done) == names
    assert all(is_encrypted(data) for data in pem_files(repo).values())
    assert all(path.stat().st_mode & 0o777 == 0o600 for path in repo.keys.glob("*.pem"))
    assert not [path for path in repo.keys.iterdir() if path.name.endswith(".tmp")]
    OperatorRepository(repo.directory, passphrase=SECRET).refresh(now=NOW)
    with pytest.raises(RepositoryError):
        OperatorRepository(repo.directory).refresh(now=NOW)
    # Running it again (after a power cut, say) changes nothing.
    assert encrypt_keys(repo.keys, SECRET) == []


def test_a_wrong_passphrase_for_half_encrypted_keys_changes_nothing(tmp_path):
    repo = OperatorRepository.init(tmp_path / "DIR", now=NOW)
    # A power cut after the first file: one key encrypted, the others plain. The job finishes with the same
    # passphrase, and a different one touches nothing (keys under two passphrases would be a trap).
    first = repo.keys / "root.pem"
    encrypt_keys_dir = tmp_path / "one"
    encrypt_keys_dir.mkdir()
    (encrypt_keys_dir / "root.pem").write_bytes(first.read_bytes())
    encrypt_keys(encrypt_keys_dir, SECRET)
    first.write_bytes((encrypt_keys_dir / "root.pem").read_bytes())
    before = pem_files(repo)
    with pytest.raises(RepositoryError, match="wrong"):
        encrypt_keys(repo.keys, b"another one")
    assert pem_files(repo) == before
    assert sorted(path.name for path in encrypt_keys(repo.keys, SECRET)) == [
        "snapshot.pem",
        "targets.pem",
        "timestamp.pem",
    ]


def test_encrypt_keys_refuses_an_empty_folder_and_an_empty_passphrase(tmp_path):
    with pytest.raises(RepositoryError, match="no keys"):
        encrypt_keys(tmp_path, SECRET)
    repo = OperatorRepository.init(tmp_path / "DIR", now=NOW)
    with pytest.raises(ConfigError, match="empty"):
        encrypt_keys(repo.keys, b"")
    with pytest.raises(ConfigError, match="empty"):
        OperatorRepository.init(tmp_path / "OTHER", now=NOW, passphrase=b"")


def test_read_passphrase_takes_the_file_then_the_credential_then_the_environment(tmp_path):
    given = tmp_path / "given"
    given.write_bytes(SECRET + b"\n")
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "signage-keys").write_bytes(b"from systemd\r\n")
    environ = {"CREDENTIALS_DIRECTORY": str(credentials), "SIGNAGE_KEYS_PASSPHRASE": "from env"}

    assert read_passphrase(given, environ=environ) == SECRET
    assert read_passphrase(None, environ=environ) == b"from systemd"
    (credentials / "signage-keys").unlink()
    assert read_passphrase(None, environ=environ) == b"from env"
    assert read_passphrase(None, environ={}) is None
    # Only one line ending goes: spaces and a second newline are part of the passphrase.
    given.write_bytes(b" spaced \n\n")
    assert read_passphrase(given, environ={}) == b" spaced \n"


def test_read_passphrase_refuses_what_cannot_be_a_passphrase(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        read_passphrase(tmp_path / "missing", environ={})
    huge = tmp_path / "huge"
    with huge.open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)  # a sparse 50 MB file: only the first bytes are ever read
    with pytest.raises(ConfigError, match=f"over {MAX_PASSPHRASE_BYTES}"):
        read_passphrase(huge, environ={})
    empty = tmp_path / "empty"
    empty.write_bytes(b"\n")
    with pytest.raises(ConfigError, match="empty"):
        read_passphrase(empty, environ={})
    if os.geteuid() != 0:  # root reads any file
        unreadable = tmp_path / "unreadable"
        unreadable.write_bytes(b"x")
        unreadable.chmod(0)
        with pytest.raises(ConfigError):
            read_passphrase(unreadable, environ={})


def test_a_damaged_key_file_is_named(tmp_path):
    repo = OperatorRepository.init(tmp_path / "DIR", now=NOW)
    (repo.keys / "targets.pem").write_bytes(b"not a key")
    with pytest.raises(RepositoryError, match="not a usable private key") as caught:
        repo.check_keys()
    assert str(Path(repo.keys / "targets.pem")) in caught.value.en
