"""The distribution commands end to end: ``repo``, ``publish``, ``revoke``, ``sync`` and ``status``.

Everything goes through ``main(argv)`` in-process, as an operator and an installer would type it, on a
real repository, with a real hub on 127.0.0.1 and a real screen cache. The command line reads the clock
itself (it has no option for the time), so the lists here are dated relative to today.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from signage.cli import build_parser, main
from signage.operator.hub.files import make_app
from signage.operator.hub.server import Hub
from signage.operator.publish.repo import OperatorRepository, header_path, playlist_path
from tests.helpers import person_row, write_csv

CHANNEL = "jinan-station"
OPERATOR_GUIDE = Path(__file__).resolve().parent.parent / "docs" / "operator-guide.md"


def run(*argv: str | Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main([str(arg) for arg in argv], stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


def dated(entry_id: str, **overrides: str) -> dict[str, str]:
    """A valid row listed a month ago for two years, whatever day the test runs on."""
    today = dt.date.today()
    return person_row(
        entry_id,
        发布日期=(today - dt.timedelta(days=30)).isoformat(),
        期限截止日期=(today + dt.timedelta(days=700)).isoformat(),
        **overrides,
    )


@pytest.fixture
def repo_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "DIR"
    status, _, err = run("repo", "init", directory)
    assert status == 0, err
    return directory


@pytest.fixture
def source(tmp_path: Path) -> Path:
    rows = [
        dated("A1", 证件号码="9999991980****1234"),
        dated("A2", 姓名="张三", 证件号码="9999991975****5678"),
    ]
    return write_csv(tmp_path / "list.csv", rows)


@pytest.fixture
def hub(repo_dir: Path) -> Iterator[Hub]:
    server = Hub(make_app(repo_dir / "public"), refresh=lambda: None, host="127.0.0.1", port=0)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def player(tmp_path: Path, repo_dir: Path, hub: Hub) -> Path:
    path = tmp_path / "player.toml"
    path.write_text(
        f'screen_id = "test-screen-1"\n'
        f'hub_url = "http://127.0.0.1:{hub.port}/"\n'
        f'channel = "{CHANNEL}"\n'
        f'root = "{repo_dir / "public/metadata/1.root.json"}"\n'
        f'cache_dir = "{tmp_path / "cache"}"\n',
        encoding="utf-8",
    )
    return path


def publish(repo_dir: Path, source: Path, *extra: str) -> tuple[int, str, str]:
    return run("publish", "--repo", repo_dir, "--channel", CHANNEL, source, *extra)


def status_json(player: Path, *extra: str) -> dict[str, Any]:
    code, out, err = run("status", "--config", player, "--json", *extra)
    assert code == 0, err
    document: dict[str, Any] = json.loads(out)
    return document


def displayable(player: Path) -> list[str]:
    """The names a screen may show now (entries are named by name, never by internal id)."""
    return [entry["name"] for entry in status_json(player)["displayable"]]


# --- repo ----------------------------------------------------------------------------------------------


def test_repo_init_prints_what_to_give_screens_and_refuses_a_second_time(tmp_path):
    directory = tmp_path / "DIR"
    status, out, _ = run("repo", "init", directory)
    assert status == 0
    assert str(directory / "public/metadata/1.root.json") in out and "keys/root.pem" in out
    assert (directory / "public/metadata/1.root.json").is_file()
    status, out, err = run("repo", "init", directory)
    assert status == 3 and out == ""
    assert "already holds a repository" in err and "已经是发布目录" in err


def test_repo_init_freshness_option(tmp_path):
    status, _, _ = run("repo", "init", tmp_path / "A", "--freshness-hours", "6")
    assert status == 0
    assert json.loads((tmp_path / "A/repo.json").read_text())["freshness_seconds"] == 6 * 3600
    status, _, err = run("repo", "init", tmp_path / "B", "--freshness-hours", "73")
    assert status == 3 and "2 to 72 hours" in err
    assert not (tmp_path / "B").exists()


def test_repo_init_with_keys_elsewhere(tmp_path):
    status, out, _ = run("repo", "init", tmp_path / "DIR", "--keys", tmp_path / "usb")
    assert status == 0 and str(tmp_path / "usb") in out
    assert sorted(p.name for p in (tmp_path / "usb").iterdir())[0] == "root.pem"
    assert not (tmp_path / "DIR/keys").exists()
    # Without --keys the commands say where they looked and what to do.
    status, _, err = run("repo", "refresh", tmp_path / "DIR")
    assert status == 3 and "--keys" in err
    assert run("repo", "refresh", tmp_path / "DIR", "--keys", tmp_path / "usb")[0] == 0


def test_repo_refresh_and_rotate(repo_dir):
    status, out, _ = run("repo", "refresh", repo_dir)
    assert status == 0 and out.startswith("timestamp v2, verified until ")
    status, out, _ = run("repo", "rotate", repo_dir, "targets")
    assert status == 0 and "new targets key" in out and "root v2" in out
    assert (repo_dir / "public/metadata/2.root.json").is_file()
    assert run("repo", "rotate", repo_dir, "mirror")[0] == 2
    assert run("repo", "refresh", repo_dir.parent / "nothing")[0] == 3


# --- publish and revoke --------------------------------------------------------------------------------


def test_publish_a_clean_list(repo_dir, source):
    status, out, _ = publish(repo_dir, source)
    assert status == 0
    assert f"published channel {CHANNEL} version 1: 2 entries, 0 photos" in out
    assert f"已发布频道 {CHANNEL} 第 1 版" in out
    status, out, _ = publish(repo_dir, source)
    assert status == 0 and "version 2" in out


def test_publish_with_refused_rows_publishes_nothing_unless_allowed(repo_dir, tmp_path):
    csv = write_csv(tmp_path / "mixed.csv", [dated("A1"), dated("A2", 案号="2025-1")])
    status, out, _ = publish(repo_dir, csv)
    assert status == 1
    assert "[REFUSED] row 3 (序号 A2), column '案号'" in out and "nothing was published" in out
    assert not (repo_dir / "public/targets/channels").exists()

    status, out, _ = publish(repo_dir, csv, "--allow-partial")
    assert status == 0 and "version 1: 1 entries" in out
    assert len(list((repo_dir / f"public/targets/channels/{CHANNEL}").glob("*.playlist.json"))) == 1


def test_publish_reads_the_channel_settings_file(repo_dir, source):
    (repo_dir / "channels").mkdir()
    (repo_dir / "channels" / f"{CHANNEL}.toml").write_text("sampel = true\n", encoding="utf-8")
    status, _, err = publish(repo_dir, source)
    assert status == 3 and "sampel" in err
    (repo_dir / "channels" / f"{CHANNEL}.toml").write_text("sample = true\n", encoding="utf-8")
    assert publish(repo_dir, source)[0] == 0
    data = OperatorRepository(repo_dir).read_target(playlist_path(CHANNEL))
    assert data is not None and json.loads(data)["sample"] is True


def test_publish_refuses_a_bad_channel_id(repo_dir, source):
    status, _, err = run("publish", "--repo", repo_dir, "--channel", "Jinan Station", source)
    assert status == 2 and "lower-case" in err


def test_revoke(repo_dir, source):
    publish(repo_dir, source)
    status, out, _ = run(
        "revoke", "--repo", repo_dir, "--channel", CHANNEL, "林小雨", "--reason", "已全部履行"
    )
    assert status == 0 and "revocations version 2" in out and "林小雨" in out
    ledger = json.loads((repo_dir / "revoked.json").read_text(encoding="utf-8"))["channels"]
    [taken] = ledger[CHANNEL].values()
    assert taken["name"] == "林小雨" and taken["reason"] == "已全部履行" and taken["by"]

    status, _, err = run("revoke", "--repo", repo_dir, "--channel", CHANNEL, "Z9", "--reason", "已全部履行")
    assert status == 2 and "Z9" in err
    # argparse refuses a missing --reason (its message goes to the process's stderr)
    assert run("revoke", "--repo", repo_dir, "--channel", CHANNEL, "张三")[0] == 2
    assert run("reinstate", "--repo", repo_dir, "--channel", CHANNEL, "林小雨")[0] == 2
    status, out, _ = run(
        "reinstate",
        "--repo",
        repo_dir,
        "--channel",
        CHANNEL,
        "林小雨",
        "--reason",
        "误撤回",
        "--operator",
        "王书记员",
    )
    assert status == 0 and "reinstated 1 entries" in out and "(UTC+08:00)" in out
    assert json.loads((repo_dir / "revoked.json").read_text(encoding="utf-8"))["channels"][CHANNEL] == {}


def test_publish_after_a_revoke_reports_the_entries_it_published(repo_dir, source):
    publish(repo_dir, source)
    run("revoke", "--repo", repo_dir, "--channel", CHANNEL, "林小雨", "--reason", "已全部履行")
    status, out, _ = publish(repo_dir, source)
    assert status == 0 and "was taken down" in out and "已全部履行" in out
    assert "version 2: 1 entries" in out


# --- a screen against a real hub -----------------------------------------------------------------------


def test_sync_and_status_end_to_end(repo_dir, source, player, hub):
    assert publish(repo_dir, source)[0] == 0

    status, out, err = run("sync", "--config", player, "--once")
    assert status == 0, out + err
    assert out.startswith("updated: ") and "playlist v1, revocations v1" in out
    status, out, _ = run("sync", "--config", player, "--once")
    assert status == 0 and out.startswith("unchanged: ")

    document = status_json(player)
    assert set(document) == {
        "channel",
        "playlist_version",
        "revocations_version",
        "verified_until",
        "fresh",
        "displayable",
        "pages",
        "loop_hours",
        "slide_size",
    }
    # No player has run in this cache: the page plan assumes 1920×1080 and says so.
    assert document["slide_size"] is None and document["loop_hours"] == document["pages"]["loop_hours"]
    assert document["channel"] == CHANNEL and document["fresh"] is True
    assert (document["playlist_version"], document["revocations_version"]) == (1, 1)
    verified_until = dt.datetime.fromisoformat(document["verified_until"])
    now = dt.datetime.now(dt.UTC)
    assert now + dt.timedelta(hours=23) < verified_until <= now + dt.timedelta(hours=24)
    assert [(entry["name"], entry["id_masked"]) for entry in document["displayable"]] == [
        ("林小雨", "9999991980****1234"),
        ("张三", "9999991975****5678"),
    ]
    assert all(entry["id"].startswith("e-") for entry in document["displayable"])
    status, out, _ = run("status", "--config", player)
    assert status == 0 and "张三\t9999991975****5678" in out and "fresh / 有效" in out

    # A takedown reaches the screen at its next sync, without a new playlist.
    run("revoke", "--repo", repo_dir, "--channel", CHANNEL, "林小雨", "--reason", "已全部履行")
    status, out, _ = run("sync", "--config", player, "--once")
    assert status == 0 and out.startswith("updated: ") and "playlist v1, revocations v2" in out
    assert displayable(player) == ["张三"]

    # Three days on, without a fresh timestamp, every debtor slide is hidden.
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(days=3)).isoformat()
    document = status_json(player, "--at", later)
    assert document["fresh"] is False and document["displayable"] == []
    status, out, _ = run("status", "--config", player, "--at", later)
    assert status == 0 and "NOT fresh" in out and "(stale)" in out
    status, _, err = run("status", "--config", player, "--at", "2020-01-01T08:00+08:00")
    assert status == 2 and "--at must be later than now" in err

    # Key rotation: the screen follows the root chain on its own.
    assert run("repo", "rotate", repo_dir, "root")[0] == 0
    assert run("repo", "rotate", repo_dir, "timestamp")[0] == 0
    status, out, err = run("sync", "--config", player, "--once")
    assert status == 0, out + err
    assert displayable(player) == ["张三"]

    # The hub is gone: the sync fails with the network exit status, and the last set stays.
    hub.stop()
    status, out, _ = run("sync", "--config", player, "--once")
    assert status == 6 and out.startswith("offline: ")
    assert displayable(player) == ["张三"]


def test_a_new_publish_replaces_the_screens_list(repo_dir, source, player, tmp_path):
    publish(repo_dir, source)
    run("sync", "--config", player, "--once")
    replacement = write_csv(tmp_path / "new.csv", [dated("B1", 姓名="赵六", 证件号码="9999991970****1111")])
    publish(repo_dir, replacement)
    status, out, _ = run("sync", "--config", player, "--once")
    assert status == 0 and "playlist v2, revocations v2" in out
    assert displayable(player) == ["赵六"]


def test_a_screen_for_another_channel_sees_nothing(repo_dir, source, player):
    publish(repo_dir, source)
    player.write_text(player.read_text().replace(CHANNEL, "bus-12"))
    status, _, _ = run("sync", "--config", player, "--once")
    assert status == 0
    document = status_json(player)
    assert document["channel"] == "bus-12" and document["playlist_version"] is None
    assert document["displayable"] == []


def test_a_revoked_entry_stays_hidden_while_the_new_playlist_cannot_be_fetched(repo_dir, source, player):
    publish(repo_dir, source)
    assert run("sync", "--config", player, "--once")[0] == 0
    # The screen is offline while the operator revokes A1 and then publishes again (A1 left out).
    run("revoke", "--repo", repo_dir, "--channel", CHANNEL, "林小雨", "--reason", "已全部履行")
    publish(repo_dir, source)
    # Back online, the screen gets the small revocations target, but the playlist download breaks off
    # (a bus losing its mobile link mid-download; here the file is simply not there).
    # Both forms: the screen reads the sharded header, an older one the single file.
    targets = OperatorRepository(repo_dir).targets().signed.targets
    for path in (playlist_path(CHANNEL), header_path(CHANNEL)):
        name = f"{targets[path].hashes['sha256']}.{path.rsplit('/', 1)[1]}"
        new_playlist = repo_dir / f"public/targets/channels/{CHANNEL}/{name}"
        new_playlist.rename(new_playlist.with_name(f"elsewhere-{name}"))
    status, _, _ = run("sync", "--config", player, "--once")
    assert status == 6
    assert "林小雨" not in displayable(player)


# --- help and documentation ----------------------------------------------------------------------------


def test_every_command_in_the_operator_guide_parses():
    text = OPERATOR_GUIDE.read_text(encoding="utf-8")
    blocks = re.findall(r"```(?:sh|cron)\n(.*?)```", text, re.DOTALL)
    # "signage ACTION …" at the start of a line, after a path ending in /signage (the cron line), or after a
    # pipe (a password piped into `signage users add`).
    command = re.compile(
        r"(?:^|/|\| )signage ((?:repo|publish|revoke|reinstate|find|hub|sync|status|check|render|play|screens|fleet|report|doctor|users|audit)\b.*)$"
    )
    commands = [
        match.group(1)
        for block in blocks
        for line in block.splitlines()
        if (match := command.search(line.strip()))
    ]
    assert len(commands) >= 10
    # The console's accounts and audit commands are there too.
    assert any(line.startswith("users add ") for line in commands)
    assert any(line.startswith("audit verify ") for line in commands)
    parser = build_parser()
    for line in commands:
        try:
            parser.parse_args(shlex.split(line, comments=True))
        except SystemExit:
            pytest.fail(f"the operator guide shows a command the CLI refuses: signage {line}")


def test_sync_help_lists_the_exit_statuses_sync_returns(capsys):
    assert main(["sync", "--help"]) == 0
    out = capsys.readouterr().out
    for code in (5, 6, 7):
        assert re.search(rf"^\s*{code}\s", out, re.MULTILINE), code


def test_a_revoked_debtor_never_comes_back_through_a_re_export_spelt_differently(
    repo_dir, player, hub, tmp_path
):
    # Last week's export writes the case number with full-width brackets; this week's with half-width
    # ones, a space and no 号. Same debtor, same case: the takedown must hold, on the screen too.
    last_week = [
        dated("1", 案号="（2025）鲁0102执1234号"),
        dated("2", 姓名="张三", 证件号码="9999991975****5678"),
    ]
    assert publish(repo_dir, write_csv(tmp_path / "last.csv", last_week))[0] == 0
    status, out, _ = run(
        "revoke",
        "--repo",
        repo_dir,
        "--channel",
        CHANNEL,
        "(2025)鲁0102执1234号",
        "--reason",
        "已全部履行",
        "--operator",
        "王书记员",
    )
    assert status == 0 and "林小雨" in out

    this_week = [
        dated("7", 案号="(2025) 鲁0102执1234"),
        dated("8", 姓名="张三", 证件号码="9999991975****5678"),
    ]
    status, out, _ = publish(repo_dir, write_csv(tmp_path / "this.csv", this_week))
    # The rest is published; the revoked row is refused, and the output says when, why and by whom.
    assert status == 0 and "version 2: 1 entries" in out
    assert "[REFUSED] row 2 (序号 7)" in out and "was taken down on" in out
    assert "by 王书记员 (已全部履行)" in out and "(UTC+08:00)" in out

    assert run("sync", "--config", player, "--once")[0] == 0
    assert displayable(player) == ["张三"]

    # signage find sees it as revoked under either spelling, and by name.
    for query in ("（2025）鲁0102执1234号", "(2025) 鲁0102执1234", "林小雨"):
        status, out, _ = run("find", "--repo", repo_dir, query)
        assert status == 0 and "已撤回 revoked" in out and "王书记员" in out, query
    status, out, _ = run("find", "--repo", repo_dir, "张三", "--json")
    [match] = json.loads(out)
    assert match["status"] == "live" and match["version"] == 2 and match["name"] == "张三"
    assert run("find", "--repo", repo_dir, "无此人")[0] == 1

    # A typo in the case number (one digit off) is held back too, unless the operator confirms.
    typo = [dated("9", 案号="（2025）鲁0102执1235号")]
    status, out, _ = publish(repo_dir, write_csv(tmp_path / "typo.csv", typo))
    assert "[REFUSED] row 2 (序号 9)" in out and "one character of the case number" in out
    assert "version 3: 0 entries" in out
    status, out, _ = publish(
        repo_dir, write_csv(tmp_path / "typo.csv", typo), "--confirm-distinct", "（2025）鲁0102执1235号"
    )
    assert status == 0 and "version 4: 1 entries" in out

    # Only an explicit, recorded reinstate lets it back.
    assert (
        run("reinstate", "--repo", repo_dir, "--channel", CHANNEL, "林小雨", "--reason", "法院撤销履行认定")[
            0
        ]
        == 0
    )
    status, out, _ = publish(repo_dir, write_csv(tmp_path / "this.csv", this_week))
    assert status == 0 and "version 5: 2 entries" in out
    history = [
        json.loads(line) for line in (repo_dir / "history.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    acts = ["publish", "revoke", "publish", "publish", "publish", "reinstate", "publish"]
    assert [act["act"] for act in history] == acts
    assert history[1]["by"] == "王书记员" and history[1]["entries"][0]["name"] == "林小雨"
