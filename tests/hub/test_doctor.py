"""``signage doctor --hub DIR`` on a real repository: key modes, keys at rest, the root key, the secret key."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from signage.cli import main
from signage.hub.doctor import hub_checks
from signage.publish.repo import OperatorRepository

NOW = dt.datetime(2026, 11, 26, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def repo_dir(tmp_path: Path) -> Path:
    OperatorRepository.init(tmp_path / "DIR", now=NOW)
    (tmp_path / "DIR" / "secret_key").write_text("k" * 60)
    (tmp_path / "DIR" / "secret_key").chmod(0o600)
    return tmp_path / "DIR"


def verdicts(repo_dir: Path) -> dict[str, tuple[bool, bool]]:
    return {check.name: (check.ok, check.warning) for check in hub_checks(repo_dir)}


def test_a_fresh_repository_passes_with_warnings_for_plain_keys_and_the_root_key(
    repo_dir: Path, capsys: pytest.CaptureFixture[str]
):
    assert verdicts(repo_dir) == {
        "hub-keys": (True, False),
        "hub-keys-encrypted": (False, True),
        "hub-root-key": (False, True),
        "hub-secret-key": (True, False),
        "hub-debug": (True, False),
    }
    assert main(["doctor", "--hub", str(repo_dir)]) == 0
    out = capsys.readouterr().out
    assert "[WARN] 密钥加密存放 / keys encrypted at rest" in out and "root.pem" in out


def test_open_key_modes_and_a_readable_secret_key_fail(repo_dir: Path, capsys: pytest.CaptureFixture[str]):
    (repo_dir / "keys" / "targets.pem").chmod(0o640)
    (repo_dir / "secret_key").chmod(0o644)
    found = {check.name: check for check in hub_checks(repo_dir)}
    assert not found["hub-keys"].ok and "targets.pem (640)" in found["hub-keys"].en
    assert found["hub-keys"].fix.startswith("chmod 700")
    assert not found["hub-secret-key"].ok and "644" in found["hub-secret-key"].en
    assert main(["doctor", "--hub", str(repo_dir)]) == 1
    assert "hub-keys, hub-secret-key" in capsys.readouterr().out


def test_a_key_folder_open_to_others_and_a_missing_secret_key_fail(repo_dir: Path):
    (repo_dir / "keys").chmod(0o755)
    (repo_dir / "secret_key").unlink()
    found = {check.name: check for check in hub_checks(repo_dir)}
    assert not found["hub-keys"].ok and "(755)" in found["hub-keys"].en
    assert not found["hub-secret-key"].ok and "first starts" in found["hub-secret-key"].en


def test_encrypted_keys_without_the_root_key_pass_cleanly(repo_dir: Path):
    for key in (repo_dir / "keys").glob("*.pem"):
        if key.name == "root.pem":
            key.unlink()
        else:
            # Only the PEM label is read: the doctor never decrypts a key.
            key.write_bytes(
                b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n"
            )
    assert all(ok for ok, _ in verdicts(repo_dir).values())
