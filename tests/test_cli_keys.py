"""Encrypted keys from the command line: ``repo init --encrypt``, ``repo encrypt-keys`` and ``--passphrase-file``
on every command that signs, through ``main(argv)`` on a real repository.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from signage.core.errors import ExitStatus
from signage.operator.publish.keys import is_encrypted
from tests.helpers import write_csv
from tests.test_cli_distribution import CHANNEL, dated, run


@pytest.fixture(autouse=True)
def no_ambient_passphrase(monkeypatch: pytest.MonkeyPatch) -> None:
    # Whatever the machine running the tests has set, each test says where its passphrase comes from.
    monkeypatch.delenv("SIGNAGE_KEYS_PASSPHRASE", raising=False)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)


@pytest.fixture
def passphrase_file(tmp_path: Path) -> Path:
    path = tmp_path / "passphrase"
    path.write_text("示例口令 correct horse\n", encoding="utf-8")
    path.chmod(0o600)
    return path


def keys_encrypted(directory: Path) -> list[bool]:
    return [is_encrypted(path.read_bytes()) for path in sorted((directory / "keys").glob("*.pem"))]


def test_an_encrypted_repository_works_with_the_passphrase_file_only(tmp_path, passphrase_file):
    directory = tmp_path / "DIR"
    status, out, err = run("repo", "init", directory, "--encrypt", "--passphrase-file", passphrase_file)
    assert status == 0, err
    assert "encrypted / 已加密" in out and keys_encrypted(directory) == [True] * 4
    source = write_csv(tmp_path / "list.csv", [dated("A1", 证件号码="9999991980****1234")])

    status, _, err = run("publish", "--repo", directory, "--channel", CHANNEL, source)
    assert status == ExitStatus.CONFIG
    assert "encrypted and needs its passphrase" in err and "--passphrase-file" in err and "已加密" in err

    passphrase = ("--passphrase-file", passphrase_file)
    assert run("publish", "--repo", directory, "--channel", CHANNEL, source, *passphrase)[0] == 0
    assert (
        run("revoke", "--repo", directory, "--channel", CHANNEL, "林小雨", "--reason", "已履行", *passphrase)[
            0
        ]
        == 0
    )
    assert run("repo", "refresh", directory, *passphrase)[0] == 0
    assert run("repo", "rotate", directory, "timestamp", *passphrase)[0] == 0
    assert keys_encrypted(directory) == [True] * 5  # the retired timestamp key too


def test_the_environment_gives_the_passphrase_when_no_file_does(tmp_path, monkeypatch):
    directory = tmp_path / "DIR"
    monkeypatch.setenv("SIGNAGE_KEYS_PASSPHRASE", "from the environment")
    assert run("repo", "init", directory, "--encrypt")[0] == 0
    assert run("repo", "refresh", directory)[0] == 0
    monkeypatch.delenv("SIGNAGE_KEYS_PASSPHRASE")
    status, _, err = run("repo", "refresh", directory)
    assert status != 0 and "SIGNAGE_KEYS_PASSPHRASE" in err


def test_init_encrypt_without_any_passphrase_is_a_usage_error(tmp_path):
    status, _, err = run("repo", "init", tmp_path / "DIR", "--encrypt")
    assert status == ExitStatus.USAGE and "--passphrase-file" in err
    assert not (tmp_path / "DIR").exists()


def test_encrypt_keys_of_an_existing_repository(tmp_path, passphrase_file):
    directory = tmp_path / "DIR"
    assert run("repo", "init", directory)[0] == 0
    status, out, err = run("repo", "encrypt-keys", directory, "--passphrase-file", passphrase_file)
    assert status == 0, err
    assert "encrypted 4 keys" in out and "targets.pem" in out and keys_encrypted(directory) == [True] * 4
    assert run("repo", "refresh", directory)[0] != 0
    assert run("repo", "refresh", directory, "--passphrase-file", passphrase_file)[0] == 0
    wrong = tmp_path / "wrong"
    wrong.write_text("not it\n", encoding="utf-8")
    status, _, err = run("repo", "encrypt-keys", directory, "--passphrase-file", wrong)
    assert status != 0 and "wrong" in err
    assert run("repo", "encrypt-keys", directory)[0] == ExitStatus.USAGE


def test_keys_elsewhere_are_encrypted_where_they_are(tmp_path, passphrase_file):
    directory, keys = tmp_path / "DIR", tmp_path / "usb"
    assert run("repo", "init", directory, "--keys", keys)[0] == 0
    assert (
        run("repo", "encrypt-keys", directory, "--keys", keys, "--passphrase-file", passphrase_file)[0] == 0
    )
    assert all(is_encrypted(path.read_bytes()) for path in keys.glob("*.pem"))
    assert run("repo", "refresh", directory, "--keys", keys, "--passphrase-file", passphrase_file)[0] == 0
