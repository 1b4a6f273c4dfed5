"""Acts done with the command line on the hub machine land in the hub's hash-chained audit log too.

Every command runs as its own process, as an operator types it, on a repository whose hub database exists
(``signage users add`` made it); the log is then read back with ``signage audit verify`` and the console's
versions page, and a repository without a hub keeps working without one.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.console.browser import signage

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
