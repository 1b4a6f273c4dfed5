"""``signage doctor --hub DIR`` on a real repository: key modes, keys at rest, the root key, the secret key,
and the database files' modes (as a real first start of the hub leaves them)."""

from __future__ import annotations

import datetime as dt
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from signage.cli import main
from signage.operator.hub.doctor import hub_checks
from signage.operator.publish.repo import OperatorRepository

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
        "hub-database": (True, False),
        "hub-debug": (True, False),
        "hub-owners": (True, False),
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


def start_hub_database(repo_dir: Path) -> None:
    """Start Django for ``repo_dir`` in a fresh process, as every hub command does (umask 022)."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    env.pop("DATABASE_URL", None)
    env.pop("SIGNAGE_SECRET_KEY", None)
    env.pop("SIGNAGE_AUDIT_KEY", None)
    code = "import os, sys; os.umask(0o022); from signage.cli import main; sys.exit(main(sys.argv[1:]))"
    completed = subprocess.run(
        [sys.executable, "-c", code, "users", "list", "--repo", str(repo_dir)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr


def modes(repo_dir: Path) -> dict[str, int]:
    return {
        path.name: stat.S_IMODE(path.stat().st_mode)
        for path in sorted(repo_dir.iterdir())
        if path.name.startswith("hub.sqlite3") or path.name in {"audit.key", "secret_key"}
    }


def test_the_hub_keeps_its_database_and_keys_private_and_the_doctor_checks_it(repo_dir: Path):
    start_hub_database(repo_dir)
    created = modes(repo_dir)
    assert "hub.sqlite3" in created and "audit.key" in created
    assert set(created.values()) == {0o600}, created
    assert verdicts(repo_dir)["hub-database"] == (True, False)
    # An older hub left them readable; the doctor says so, and the next start repairs them.
    for name in ("hub.sqlite3", "hub.sqlite3-wal", "hub.sqlite3-shm"):
        (repo_dir / name).touch()
        (repo_dir / name).chmod(0o644)
    found = {check.name: check for check in hub_checks(repo_dir)}
    assert not found["hub-database"].ok
    assert (
        "hub.sqlite3 (644)" in found["hub-database"].en
        and "hub.sqlite3-wal (644)" in found["hub-database"].en
    )
    assert found["hub-database"].fix.startswith("chmod 600")
    start_hub_database(repo_dir)
    assert set(modes(repo_dir).values()) == {0o600}, modes(repo_dir)
    assert verdicts(repo_dir)["hub-database"] == (True, False)


# --- issue 14: owners and folders of the keys; nginx in front of a hub on a public address ---------------


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_key_folders_writable_by_others_or_keys_of_another_user_fail(repo_dir: Path):
    repo_dir.chmod(0o775)
    found = {check.name: check for check in hub_checks(repo_dir)}
    assert not found["hub-owners"].ok and f"{repo_dir} (775)" in found["hub-owners"].en
    assert found["hub-owners"].fix == f"chmod go-w {repo_dir}"
    repo_dir.chmod(0o755)
    os.chown(repo_dir / "keys" / "targets.pem", 65534, -1)
    found = {check.name: check for check in hub_checks(repo_dir)}
    assert not found["hub-owners"].ok and "targets.pem (uid 65534)" in found["hub-owners"].en


def _never(host: str, port: int) -> tuple[str | None, str]:
    raise AssertionError("a loopback address is not probed")


@pytest.mark.parametrize(
    ("answer", "ok", "warning", "words"),
    [
        (("signage-hub", ""), False, False, "with no nginx in front"),
        (("nginx", ""), True, False, "nginx answers"),
        (("nginx/1.22.1", ""), True, False, "nginx answers"),
        (("Apache", ""), False, True, "not nginx"),
        ((None, "timed out"), False, False, "cannot reach"),
    ],
)
def test_a_hub_reached_at_a_public_address_needs_nginx_in_front(
    repo_dir: Path, answer: tuple[str | None, str], ok: bool, warning: bool, words: str
):
    asked: list[tuple[str, int]] = []

    def probe(host: str, port: int) -> tuple[str | None, str]:
        asked.append((host, port))
        return answer

    # 203.0.113.0/24 is documentation space: the probe is given, nothing is sent there.
    (front,) = [
        c for c in hub_checks(repo_dir, listen=("203.0.113.7", 443), probe=probe) if c.name == "hub-front"
    ]
    assert (front.ok, front.warning) == (ok, warning) and words in front.en
    assert asked == [("203.0.113.7", 443)]
    (local,) = [
        c for c in hub_checks(repo_dir, listen=("127.0.0.1", 8080), probe=_never) if c.name == "hub-front"
    ]
    assert local.ok and "this machine only" in local.en


def test_the_probe_reads_the_embedded_hubs_server_header(repo_dir: Path, tmp_path: Path):
    from signage.operator.hub.doctor import server_header
    from signage.operator.hub.files import make_app
    from signage.operator.hub.server import Hub

    hub = Hub(make_app(repo_dir / "public"), lambda: None, host="127.0.0.1", port=0)
    hub.start()
    try:
        assert server_header("127.0.0.1", hub.port) == ("signage-hub", "")
        main_status = main(["doctor", "--hub", str(repo_dir), "--listen", f"127.0.0.1:{hub.port}"])
        assert main_status == 0
    finally:
        hub.stop()
    server, error = server_header("127.0.0.1", hub.port)
    assert server is None and error
