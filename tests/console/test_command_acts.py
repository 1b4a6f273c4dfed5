"""Acts done with the command line on the hub machine land in the hub's hash-chained audit log too.

Every command runs as its own process, as an operator types it, on a repository whose hub database exists
(``signage users add`` made it); the log is then read back with ``signage audit verify`` and the console's
versions page, and a repository without a hub keeps working without one.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.console.browser import _environment, signage

SAMPLE = Path(__file__).resolve().parents[2] / "assets" / "sample"
EVENTS = re.compile(r"intact: (\d+) events")


def _events(repo: Path) -> int:
    result = signage("audit", "verify", "--repo", repo)
    assert result.returncode == 0, result.stdout + result.stderr
    found = EVENTS.search(result.stdout)
    assert found, result.stdout
    return int(found.group(1))


def test_publish_revoke_and_reinstate_from_the_command_line_are_audited(tmp_path: Path):
    repo = tmp_path / "DIR"
    assert signage("repo", "init", repo).returncode == 0
    added = signage(
        "users",
        "add",
        "审核员甲",
        "--role",
        "reviewer",
        "--repo",
        repo,
        "--password-stdin",
        stdin="示例-sample-passphrase-2026\n",
    )
    assert added.returncode == 0, added.stderr
    before = _events(repo)
    published = signage(
        "publish",
        "--repo",
        repo,
        "--channel",
        "sample",
        SAMPLE / "records.csv",
        "--photos",
        SAMPLE / "photos",
        "--allow-partial",
        "--operator",
        "书记员乙",
    )
    assert published.returncode == 0, published.stdout + published.stderr
    # The sample's first entry, by its case number in the other bracket width.
    case_number = re.search("2025.鲁0192执5258号", (SAMPLE / "records.csv").read_text(encoding="utf-8-sig"))
    assert case_number
    revoked = signage(
        "revoke",
        "--repo",
        repo,
        "--channel",
        "sample",
        "(2025)鲁0192执5258号",
        "--reason",
        "已履行（示例）",
        "--operator",
        "书记员乙",
    )
    assert revoked.returncode == 0, revoked.stdout + revoked.stderr
    reinstated = signage(
        "reinstate",
        "--repo",
        repo,
        "--channel",
        "sample",
        "(2025)鲁0192执5258号",
        "--reason",
        "撤回有误（示例）",
        "--operator",
        "审核员甲",
    )
    assert reinstated.returncode == 0, reinstated.stdout + reinstated.stderr
    # publish, takedown, reinstate: three more events, and the chain is still whole.
    assert _events(repo) == before + 3
    # The command-line publish is a version the console can roll back to, its photos kept privately.
    assert any((repo / "console" / "photos").iterdir())


def test_a_repository_without_a_hub_publishes_without_one(tmp_path: Path):
    repo = tmp_path / "DIR"
    assert signage("repo", "init", repo).returncode == 0
    published = signage(
        "publish",
        "--repo",
        repo,
        "--channel",
        "sample",
        SAMPLE / "records.csv",
        "--photos",
        SAMPLE / "photos",
        "--allow-partial",
    )
    assert published.returncode == 0, published.stdout + published.stderr
    assert not (repo / "hub.sqlite3").exists()
    assert not (repo / "console").exists()


#: Stores heartbeats in a repository's hub database as the ingest does once it has checked them (argv: DIR,
#: then screen id and playlist_layout pairs, "-" for a heartbeat without one: a screen before issue 15).
_HEARTBEATS = """
import datetime as dt, sys
from pathlib import Path
from signage.operator.hub import bootstrap
bootstrap.setup(Path(sys.argv[1]))
from signage.operator.hub.screens import records
now = dt.datetime.now(dt.UTC)
for screen_id, layout in zip(sys.argv[2::2], sys.argv[3::2]):
    body = {"screen_id": screen_id, "channel": "sample", "sent_at": now.isoformat()}
    if layout != "-":
        body["playlist_layout"] = layout
    records.record_heartbeat(screen_id, body, now)
"""


def test_publishing_with_the_single_file_off_warns_naming_the_screens_that_still_read_it(tmp_path: Path):
    repo = tmp_path / "DIR"
    assert signage("repo", "init", repo).returncode == 0
    for screen_id, name, location in (
        ("bus-0412", "示例 K12 路公交", "示例东湖站"),
        ("hall-1", "示例法院大厅", "示例一楼"),
    ):
        added = signage("screens", "add", "--repo", repo, screen_id, "--name", name, "--location", location)
        assert added.returncode == 0, added.stderr
    stored = subprocess.run(
        [sys.executable, "-c", _HEARTBEATS, str(repo), "bus-0412", "sharded", "hall-1", "-"],
        capture_output=True,
        text=True,
        timeout=60,
        env=_environment(),
        check=False,
    )
    assert stored.returncode == 0, stored.stderr
    publish = ("publish", "--repo", repo, "--channel", "sample", SAMPLE / "records.csv", "--allow-partial")

    # legacy_playlist on (the default): the single file is still published, nothing to warn of.
    on = signage(*publish, "--photos", SAMPLE / "photos")
    assert on.returncode == 0, on.stdout + on.stderr
    assert "legacy_playlist" not in on.stdout + on.stderr

    (repo / "channels").mkdir(exist_ok=True)
    (repo / "channels" / "sample.toml").write_text(
        "sample = true\nlegacy_playlist = false\n", encoding="utf-8"
    )
    off = signage(*publish, "--photos", SAMPLE / "photos")
    # A warning, not a refusal: the list is published without the single file.
    assert off.returncode == 0, off.stdout + off.stderr
    for text in (off.stderr, off.stdout.split("published channel sample")[1]):
        assert (
            "警告：频道 sample 的 legacy_playlist 已关闭" in text
            and "Warning: legacy_playlist is off" in text
        )
        assert "  - 示例法院大厅 (示例一楼)" in text
        assert "K12" not in text and "hall-1" not in text and "bus-0412" not in text
