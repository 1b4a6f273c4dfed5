"""``signage hub`` as operators run it: a real process on 127.0.0.1 serving the files, the telemetry and /fleet
from the Django hub over its own SQLite database ``DIR/hub.sqlite3``, stopped with SIGTERM."""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from signage.operator.publish.repo import OperatorRepository
from tests.helpers import WAIT_SECONDS, wait_until

SIGNAGE = [sys.executable, "-m", "signage"]


def environment() -> dict[str, str]:
    """This process's environment without a database URL: the hub uses DIR/hub.sqlite3."""
    return {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")
    }


PASSPHRASE = "示例 sample passphrase"


@pytest.fixture
def repo_dir(tmp_path: Path) -> Path:
    """A repository whose keys are encrypted at rest, as docs/deploy.md sets the hub up."""
    OperatorRepository.init(tmp_path / "DIR", now=dt.datetime.now(dt.UTC), passphrase=PASSPHRASE.encode())
    return tmp_path / "DIR"


@pytest.fixture
def hub_process(repo_dir: Path, tmp_path: Path) -> Iterator[Callable[[], subprocess.Popen[str]]]:
    """Starts ``signage hub --repo DIR --port 0`` when called; stops it with SIGTERM afterwards."""
    started: list[subprocess.Popen[str]] = []

    def start() -> subprocess.Popen[str]:
        passphrase = tmp_path / "passphrase"
        passphrase.write_text(PASSPHRASE + "\n")
        command = [
            *SIGNAGE,
            "hub",
            "--repo",
            str(repo_dir),
            "--port",
            "0",
            "--passphrase-file",
            str(passphrase),
        ]
        process = subprocess.Popen(
            command, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        process.wait(WAIT_SECONDS)
        assert process.stdout is not None and process.stderr is not None
        process.stdout.close()
        process.stderr.close()


def serving_url(process: subprocess.Popen[str], lines: list[str]) -> str:
    """The hub's URL from its log line ``hub serving on http://127.0.0.1:PORT``."""
    assert process.stderr is not None
    for line in process.stderr:
        lines.append(line)
        found = re.search(r"hub serving on (http://127\.0\.0\.1:\d+)", line)
        if found:
            return found.group(1)
    raise AssertionError(f"the hub never served: {''.join(lines)}")


def test_signage_hub_serves_files_telemetry_and_the_fleet_page(repo_dir: Path, hub_process):
    added = subprocess.run(
        [*SIGNAGE, "screens", "add", "--repo", str(repo_dir), "bus-0412", "--name", "济南站 1 号屏"],
        env=environment(),
        capture_output=True,
        text=True,
        check=True,
    )
    token = added.stdout.strip()
    process = hub_process()
    url = serving_url(process, [])
    assert requests.get(f"{url}/metadata/timestamp.json", timeout=WAIT_SECONDS).status_code == 200
    beat = {
        "screen_id": "bus-0412",
        "channel": "jinan-station",
        "sent_at": dt.datetime.now(dt.UTC).isoformat(),
    }
    answer = requests.post(
        f"{url}/telemetry/heartbeat",
        json=beat,
        headers={"Authorization": f"Bearer {token}"},
        timeout=WAIT_SECONDS,
    )
    assert answer.status_code == 200 and "hub_time" in answer.json()
    refused = requests.post(f"{url}/telemetry/heartbeat", json=beat, timeout=WAIT_SECONDS)
    assert refused.status_code == 401 and refused.json()["zh"]
    page = requests.get(f"{url}/fleet", timeout=WAIT_SECONDS)
    assert page.status_code == 200 and "济南站 1 号屏" in page.text and "online" in page.text
    assert (repo_dir / "hub.sqlite3").is_file()
    process.send_signal(signal.SIGTERM)
    wait_until(lambda: process.poll() is not None, what="the hub stops on SIGTERM")
    assert process.returncode == 0


def test_a_hub_toml_with_telemetry_store_stops_the_hub_with_what_to_do(repo_dir: Path):
    (repo_dir / "hub.toml").write_text('telemetry_store = "postgresql://signage@/signage"\n')
    result = subprocess.run(
        [*SIGNAGE, "hub", "--repo", str(repo_dir), "--port", "0"],
        # The passphrase from the environment, the third of the ways the hub takes it.
        env={**environment(), "SIGNAGE_KEYS_PASSPHRASE": PASSPHRASE},
        capture_output=True,
        text=True,
        timeout=WAIT_SECONDS,
        check=False,
    )
    assert result.returncode == 3, result.stderr
    assert "DATABASE_URL" in result.stderr


def test_a_wrong_key_passphrase_stops_the_hub_at_start_with_what_to_do(repo_dir: Path, tmp_path: Path):
    wrong = tmp_path / "wrong"
    wrong.write_text("not the passphrase\n")
    result = subprocess.run(
        [*SIGNAGE, "hub", "--repo", str(repo_dir), "--port", "0", "--passphrase-file", str(wrong)],
        env=environment(),
        capture_output=True,
        text=True,
        timeout=WAIT_SECONDS,
    )
    assert result.returncode != 0
    assert "passphrase" in result.stderr
    assert "Traceback" not in result.stderr
    # Without any passphrase the encrypted keys cannot be opened either, and the hub says so.
    bare = {
        k: v
        for k, v in environment().items()
        if k not in ("SIGNAGE_KEYS_PASSPHRASE", "CREDENTIALS_DIRECTORY")
    }
    result = subprocess.run(
        [*SIGNAGE, "hub", "--repo", str(repo_dir), "--port", "0"],
        env=bare,
        capture_output=True,
        text=True,
        timeout=WAIT_SECONDS,
    )
    assert result.returncode != 0
    assert "--passphrase-file" in result.stderr
