"""The fleet view: pure status rules and renderings, then the commands on a real repository.

The pure part passes fixed times and plain heartbeats. The command part publishes and revokes on a real
repository (so the current versions and the revocations documents on disk are the publisher's own), keeps
heartbeats in the hub's test database through the ORM, and runs ``screens``, ``fleet`` and the Django hub
through the parsers :func:`signage.operator.hub.commands.add_fleet_commands` builds.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest
from django.template.loader import render_to_string

from signage.core.errors import ConfigError, RepositoryError, UsageError
from signage.operator.hub.channels import RepositoryChannels
from signage.operator.hub.commands import add_fleet_commands
from signage.operator.hub.fleet import (
    Acknowledgement,
    ChannelState,
    Heartbeat,
    Presence,
    ScreenStatus,
    acknowledgements,
    as_json,
    channel_forms,
    fleet_status,
    render_acknowledgements,
    render_text,
    single_file_warning,
)
from signage.operator.hub.screens import records
from signage.operator.hub.screens.ingest import Play, hash_token
from signage.operator.hub.screens.models import Screen
from signage.operator.hub.screens.views import fleet_page_context
from signage.operator.hub.serve import make_hub
from signage.operator.hub.wsgi import make_hub_application
from signage.operator.publish.channel import ChannelSettings, publish_channel, revoke_entries
from signage.operator.publish.repo import OperatorRepository
from tests.helpers import case_number_for, entry_id_of, person_row, write_csv

NOW = dt.datetime(2026, 11, 26, 8, 0, tzinfo=dt.UTC)
CHANNEL = "jinan-station"
# Revocations v2..v5 on one channel, each adding one takedown (cumulative, as the publisher writes them);
# the documents of v1 and v2 are no longer on disk.
SETS = {3: frozenset({"A1", "A2"}), 4: frozenset({"A1", "A2", "A3"}), 5: frozenset({"A1", "A2", "A3", "A4"})}
CHANNELS = {CHANNEL: ChannelState(playlist_version=12, revocations_version=5, revocation_sets=SETS)}


def seen(
    minutes_ago: float, *, playlist: int | None = 12, revocations: int | None = 5, **fields: Any
) -> tuple[dt.datetime, Heartbeat]:
    fields.setdefault("channel", CHANNEL)
    fields.setdefault("verified_until", NOW + dt.timedelta(hours=20))
    heartbeat = Heartbeat(playlist_version=playlist, revocations_version=revocations, **fields)
    return NOW - dt.timedelta(minutes=minutes_ago), heartbeat


def one(latest: tuple[dt.datetime, Heartbeat] | None) -> ScreenStatus:
    heartbeats = {"s1": latest} if latest is not None else {}
    (status,) = fleet_status(heartbeats, screens=["s1"], now=NOW, channels=CHANNELS)
    return status


# --- the rules ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minutes_ago", "presence"),
    [
        (0, "online"),
        (2.99, "online"),
        (3, "stale"),
        (29.99, "stale"),
        (30, "offline"),
        (60 * 24 * 9, "offline"),
    ],
)
def test_presence_is_online_stale_or_offline_by_the_last_heartbeats_age(minutes_ago: float, presence: str):
    assert one(seen(minutes_ago)).presence == Presence(presence)


def test_a_screen_that_never_sent_a_heartbeat_is_offline_and_seen_never():
    status = one(None)
    assert status.presence is Presence.OFFLINE and status.last_seen is None
    assert render_text([status], now=NOW).splitlines()[2].split()[:3] == ["s1", "offline", "never"]


def test_version_lag_counts_playlist_versions_behind():
    assert one(seen(1, playlist=12)).playlist_lag == 0
    assert one(seen(1, playlist=9)).playlist_lag == 3
    assert one(seen(1, playlist=None)).playlist_lag is None
    unknown = one(seen(1, channel="elsewhere"))
    assert unknown.playlist_lag is None and not unknown.channel_known
    assert "unknown channel elsewhere" in unknown.attention()


def test_freshness_is_verified_until_against_now():
    assert one(seen(1)).fresh_for == dt.timedelta(hours=20)
    expired = one(seen(1, verified_until=NOW - dt.timedelta(hours=2)))
    assert expired.fresh_for == -dt.timedelta(hours=2)
    assert "content expired" in expired.attention()
    assert one(seen(1, verified_until=None)).fresh_for is None


@pytest.mark.parametrize(
    ("offset", "skewed"), [(None, False), (0.4, False), (-30.0, False), (30.5, True), (-125, True)]
)
def test_clock_skew_is_flagged_beyond_thirty_seconds(offset: float | None, skewed: bool):
    assert one(seen(1, clock_offset_s=offset)).skewed is skewed


@pytest.mark.parametrize(
    ("applied", "pending", "exact"),
    [
        (5, (), True),
        (6, (), True),  # ahead of what is on disk (a publish under way): nothing pending
        (4, ("A4",), True),
        (3, ("A3", "A4"), True),
        # v2's document is gone: v3's gives a lower bound (A2 may or may not be applied).
        (2, ("A3", "A4"), False),
        (0, ("A1", "A2", "A3", "A4"), True),
        (None, ("A1", "A2", "A3", "A4"), True),
    ],
)
def test_unacknowledged_takedowns_are_those_revoked_after_the_applied_version(
    applied: int | None, pending: tuple[str, ...], exact: bool
):
    status = one(seen(1, revocations=applied))
    assert status.unacknowledged == pending
    assert status.unacknowledged_exact is exact
    assert status.revocations_behind == max(5 - (applied or 0), 0)


def test_which_screens_have_and_have_not_applied_one_takedown():
    heartbeats = {
        "at-5": seen(1, revocations=5),
        "at-3": seen(1, revocations=3),
        "at-2": seen(40, revocations=2),
        "at-0": seen(1, revocations=0),
        "other": seen(1, channel="elsewhere", revocations=1),
    }
    statuses = fleet_status(heartbeats, screens=[*heartbeats, "silent"], now=NOW, channels=CHANNELS)
    answers = {s.screen_id: a for s, a in acknowledgements(statuses, CHANNELS, "A2")}
    assert answers == {
        "at-5": Acknowledgement.APPLIED,
        "at-3": Acknowledgement.APPLIED,
        "at-2": Acknowledgement.UNKNOWN,
        "at-0": Acknowledgement.NOT_APPLIED,
    }
    answers = {s.screen_id: a for s, a in acknowledgements(statuses, CHANNELS, "A4")}
    assert answers["at-5"] is Acknowledgement.APPLIED and answers["at-2"] is Acknowledgement.NOT_APPLIED
    text = render_acknowledgements(acknowledgements(statuses, CHANNELS, "A4"), "A4")
    assert "1 of 4 screens have applied it" in text
    assert "no channel revokes A9" in render_acknowledgements(
        acknowledgements(statuses, CHANNELS, "A9"), "A9"
    )


def test_a_stored_heartbeat_is_read_leniently():
    heartbeat = Heartbeat.from_document(
        {
            "channel": 5,
            "playlist_version": True,
            "verified_until": "not a time",
            "last_sync": "x",
            "clock_offset_s": 1,
        }
    )
    assert heartbeat == Heartbeat(clock_offset_s=1.0)
    full = Heartbeat.from_document(
        {
            "channel": CHANNEL,
            "last_sync": {"state": "updated", "message": "新版本"},
            "sent_at": "2026-11-26T07:59:59Z",
        }
    )
    assert full.last_sync_state == "updated" and full.sent_at == NOW - dt.timedelta(seconds=1)


# --- renderings -----------------------------------------------------------------------------------------


def test_the_text_table():
    heartbeats = {
        "bus-0412": seen(0.5, clock_offset_s=0.4, last_sync_state="unchanged"),
        "bus-0413": seen(12, playlist=10, revocations=3, clock_offset_s=-95.0),
        "bus-0414": seen(60 * 5, verified_until=NOW - dt.timedelta(hours=3)),
    }
    text = render_text(fleet_status(heartbeats, screens=heartbeats, now=NOW, channels=CHANNELS), now=NOW)
    lines = text.splitlines()
    assert lines[0].split() == [
        "SCREEN",
        "STATE",
        "LAST",
        "SEEN",
        "CHANNEL",
        "PLAYLIST",
        "TAKEDOWNS",
        "FRESH",
        "SKEW",
        "SYNC",
        "LIST",
        "PAGES",
    ]
    assert lines[2].split() == [
        "bus-0412",
        "online",
        "30s",
        "ago",
        CHANNEL,
        "v12",
        "v5",
        "ok",
        "20h",
        "+0.4s",
        "unchanged",
        "single",
        "-",
    ]
    assert lines[3].split() == [
        "bus-0413",
        "stale",
        "12m",
        "ago",
        CHANNEL,
        "v10",
        "(-2)",
        "v3:",
        "2",
        "pending",
        "20h",
        "-95.0s",
        "!",
        "-",
        "single",
        "-",
    ]
    assert "expired 3h ago" in lines[4] and "offline" in lines[4]
    assert "3 screens: 1 online, 1 stale, 1 offline; 1 with takedowns not applied" in text
    assert "bus-0413 has not applied: A3, A4" in text
    assert "no screens registered" in render_text([], now=NOW)


def test_the_html_page_escapes_what_screens_send_and_reloads_itself():
    hostile = seen(1, last_sync_state='"><script>alert(1)</script>', channel="<i>x</i>")
    statuses = fleet_status({"s1": hostile}, screens=["s1"], now=NOW, channels=CHANNELS)
    page = render_to_string("screens/fleet.html", fleet_page_context(statuses, now=NOW, note="<b>"))
    assert "<script>" not in page and "<i>" not in page and "<b>" not in page
    assert "&lt;script&gt;" in page and "&lt;i&gt;x&lt;/i&gt;" in page and "&lt;b&gt;" in page
    assert '<meta http-equiv="refresh" content="30">' in page
    assert "<script" not in page.lower()


def test_the_json_form():
    status = one(seen(1, revocations=3, clock_offset_s=2.0))
    document = json.loads(json.dumps(as_json(status)))
    assert document["presence"] == "online" and document["unacknowledged"] == ["A3", "A4"]
    assert document["fresh_for_s"] == 72000.0 and document["heartbeat"]["clock_offset_s"] == 2.0
    assert document["last_seen"] == "2026-11-26T07:59:00+00:00"


# --- the commands on a real repository ------------------------------------------------------------------


def run(*argv: str | Path, now: dt.datetime = NOW) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="signage")
    add_fleet_commands(parser.add_subparsers(dest="command", required=True), clock=lambda: now)
    arguments = parser.parse_args([str(arg) for arg in argv])
    out, err = io.StringIO(), io.StringIO()
    status = arguments.handler(arguments, out, err)
    return int(status), out.getvalue(), err.getvalue()


#: Serial -> the entry id derived from the row's case number and ID.
E = {f"A{n}": entry_id_of(person_row(f"A{n}")) for n in range(1, 6)}


@pytest.fixture
def repo_dir(tmp_path: Path) -> Path:
    """A channel published once (playlist v1, revocations v1) and four takedowns (revocations v2..v5)."""
    repository = OperatorRepository.init(tmp_path / "DIR", now=NOW - dt.timedelta(days=1))
    source = write_csv(tmp_path / "list.csv", [person_row(f"A{n}") for n in range(1, 6)])
    publish_channel(
        repository, CHANNEL, source, photos=None, now=NOW - dt.timedelta(hours=5), settings=ChannelSettings()
    )
    for number in range(1, 5):
        revoke_entries(
            repository,
            CHANNEL,
            [case_number_for(f"A{number}")],
            reason="已履行",
            now=NOW - dt.timedelta(hours=4 - number),
        )
    return repository.directory


def test_repository_channels_reads_the_current_versions_and_the_revocations_on_disk(repo_dir: Path):
    channels = RepositoryChannels(repo_dir)()
    state = channels[CHANNEL]
    assert (state.playlist_version, state.revocations_version) == (1, 5)
    assert state.revoked == {E["A1"], E["A2"], E["A3"], E["A4"]}
    # The publisher keeps the current document and one before it (KEEP_PLAYLISTS); older ones are gone.
    assert state.revocation_sets == {4: {E["A1"], E["A2"], E["A3"]}, 5: {E["A1"], E["A2"], E["A3"], E["A4"]}}
    assert RepositoryChannels(repo_dir)() == channels


@pytest.mark.django_db
def test_screens_add_prints_the_token_once_on_stdout_and_keeps_only_its_hash(repo_dir: Path):
    status, out, err = run("screens", "add", "--repo", repo_dir, "bus-0412")
    assert status == 0
    token = out.strip()
    assert out == token + "\n" and len(token) == 43
    assert "shown this once" in err and "0640" in err  # the mode make install gives it, as the docs say
    assert records.check_token(hash_token(token)) == "bus-0412"
    assert not [row for row in Screen.objects.values_list() if token in "".join(map(str, row))]
    with pytest.raises(UsageError, match="--replace"):
        run("screens", "add", "--repo", repo_dir, "bus-0412")
    status, replaced, _ = run("screens", "add", "--repo", repo_dir, "bus-0412", "--replace")
    assert status == 0 and replaced.strip() != token


@pytest.mark.django_db
def test_report_names_entries_and_takes_a_case_number_in_any_spelling(repo_dir: Path):
    records.add_screen("bus-0412", hash_token("t" * 43), added_at=NOW)
    plays = [
        Play("bus-0412", E[serial], "0" * 64, 1, dt.datetime(2026, 11, 26, 1, 0, tzinfo=dt.UTC), 10_000)
        for serial in ("A1", "A5", "A5")
    ]
    records.record_batch("bus-0412", "1" * 32, plays, received_at=NOW)
    case = case_number_for("A5")
    status, out, _ = run("report", "--repo", repo_dir, "--from", "2026-11-26", "--to", "2026-11-26")
    rows = [line.split()[2:] for line in out.splitlines() if line.startswith("2026-11-26")]
    assert status == 0 and sorted(rows) == sorted(
        [["林小雨", case, "2", "20"], ["林小雨", case_number_for("A1"), "1", "10"]]
    )
    spelt = case.replace("（", "(").replace("）", ") ").removesuffix("号")
    status, out, _ = run(
        "report", "--repo", repo_dir, "--from", "2026-11-26", "--to", "2026-11-26", "--entry", spelt, "--csv"
    )
    assert status == 0
    assert out.splitlines()[1:] == [f"2026-11-26,bus-0412,{E['A5']},林小雨,{case},2,20.000"]


@pytest.mark.django_db
def test_screens_list_and_remove(repo_dir: Path):
    assert "no screens registered" in run("screens", "list", "--repo", repo_dir)[1]
    run("screens", "add", "--repo", repo_dir, "bus-0412")
    run("screens", "add", "--repo", repo_dir, "bus-0413", now=NOW + dt.timedelta(hours=1))
    lines = run("screens", "list", "--repo", repo_dir)[1].splitlines()
    assert lines[2].split() == ["bus-0412", "-", "-", "2026-11-26", "08:00:00", "never"]
    assert lines[3].split() == ["bus-0413", "-", "-", "2026-11-26", "09:00:00", "never"]
    status, out, _ = run("screens", "remove", "--repo", repo_dir, "bus-0412")
    assert status == 0 and "removed bus-0412" in out
    with pytest.raises(UsageError, match="no screen bus-0412"):
        run("screens", "remove", "--repo", repo_dir, "bus-0412")


@pytest.mark.django_db
def test_screens_have_a_name_and_a_location(repo_dir: Path):
    run(
        "screens",
        "add",
        "--repo",
        repo_dir,
        "bus-0412",
        "--name",
        "济南站 1 号屏",
        "--location",
        "候车大厅东侧",
    )
    assert run("screens", "list", "--repo", repo_dir)[1].splitlines()[2].split()[:4] == [
        "bus-0412",
        "济南站",
        "1",
        "号屏",
    ]
    (screen,) = records.screens()
    assert (screen.name, screen.location) == ("济南站 1 号屏", "候车大厅东侧")
    with pytest.raises(UsageError, match="--name"):
        run("screens", "add", "--repo", repo_dir, "bus-0413", "--name", "two\nlines")


@pytest.mark.django_db
def test_screens_need_a_valid_id_and_a_repository(repo_dir: Path, tmp_path: Path):
    with pytest.raises(UsageError, match="not valid"):
        run("screens", "add", "--repo", repo_dir, "Bus 0412")
    with pytest.raises(RepositoryError):
        run("screens", "add", "--repo", tmp_path / "nowhere", "bus-0412")
    assert not (tmp_path / "nowhere").exists()


@pytest.mark.django_db
def test_signage_fleet_shows_each_screen_against_the_repository(repo_dir: Path):
    for screen_id in ("bus-0412", "bus-0413", "bus-0414"):
        run("screens", "add", "--repo", repo_dir, screen_id)
    beat = {
        "channel": CHANNEL,
        "playlist_version": 1,
        "verified_until": "2026-11-27T08:00:00Z",
        "clock_offset_s": 0.2,
    }
    records.record_heartbeat("bus-0412", {**beat, "revocations_version": 5}, NOW - dt.timedelta(seconds=40))
    records.record_heartbeat("bus-0413", {**beat, "revocations_version": 4}, NOW - dt.timedelta(minutes=10))

    status, out, _ = run("fleet", "--repo", repo_dir)
    assert status == 0
    lines = out.splitlines()
    assert lines[2].split()[:2] == ["bus-0412", "online"] and "v5 ok" in lines[2]
    assert lines[3].split()[:2] == ["bus-0413", "stale"] and "v4: 1 pending" in lines[3]
    assert lines[4].split()[:3] == ["bus-0414", "offline", "never"]
    assert f"bus-0413 has not applied: 林小雨 {case_number_for('A4')}" in out

    document = json.loads(run("fleet", "--repo", repo_dir, "--json")[1])
    assert [screen["screen_id"] for screen in document] == ["bus-0412", "bus-0413", "bus-0414"]
    assert document[1]["unacknowledged"] == [E["A4"]]

    out = run("fleet", "--repo", repo_dir, "--entry", case_number_for("A4").replace("（", "("))[1]
    assert f"林小雨 {case_number_for('A4')}" in out
    assert "bus-0412  applied" in out and "bus-0413  not applied" in out and "1 of 2 screens" in out


@pytest.mark.django_db
def test_signage_fleet_says_which_screen_cannot_cover_its_list(repo_dir: Path):
    for screen_id in ("bus-0412", "hall-1"):
        run("screens", "add", "--repo", repo_dir, screen_id)
    beat = {"channel": CHANNEL, "playlist_version": 1, "revocations_version": 5, "clock_offset_s": 0.2}
    coverage = {"entries_per_page": 12, "loop_hours": 30.5, "covered": False, "capacity": 12}
    display = {"width": 1920, "height": 1080, "layout": "landscape"}
    records.record_heartbeat(
        "bus-0412", {**beat, "coverage": {**coverage, "loop_hours": 3.2, "covered": True}}, NOW
    )
    records.record_heartbeat("hall-1", {**beat, "coverage": coverage, "display": display}, NOW)

    status, out, _ = run("fleet", "--repo", repo_dir)
    assert status == 0, out
    lines = out.splitlines()
    # By screen id, as the rest of the table; the PAGES column ends each row, "!" when not covered.
    assert lines[2].split()[0] == "bus-0412" and lines[2].endswith("12/page 3.2h")
    assert lines[3].split()[0] == "hall-1" and lines[3].endswith("12/page 30.5h !")
    assert "1 not covering their list" in out
    assert "hall-1 not covered: 12 entries per page, loop 30.5 h > 24 h" in out

    document = json.loads(run("fleet", "--repo", repo_dir, "--json")[1])
    bus, hall = document
    assert hall["screen_id"] == "hall-1" and hall["coverage"] == coverage and hall["display"] == display
    assert "not covered: 12 entries per page, loop 30.5 h > 24 h" in hall["attention"]
    assert bus["display"] is None and bus["attention"] == [] and bus["coverage"]["covered"] is True


def test_stored_coverage_and_display_are_read_leniently():
    odd = Heartbeat.from_document({"coverage": {"entries_per_page": "12"}, "display": [1920, 1080]})
    assert odd.coverage is None and odd.display is None
    never = Heartbeat.from_document(
        {"coverage": {"entries_per_page": 1, "loop_hours": None, "covered": False, "capacity": 1}}
    )
    assert never.coverage is not None and never.coverage.note() == (
        "not covered: 1 entries per page, loop never completes > 24 h"
    )


# --- which form of the channel each screen reads (issue 15) --------------------------------------------


def test_a_screen_reads_the_sharded_form_only_when_its_heartbeat_says_so():
    assert one(seen(1, playlist_layout="sharded")).playlist_form == "sharded"
    single = one(seen(1, playlist_layout="single"))
    assert single.playlist_form == "single" and not single.older_software
    older = one(seen(1))  # no playlist_layout: software before the sharded form, which reads the single file
    assert older.playlist_form == "single" and older.older_software
    assert one(None).playlist_form is None and not one(None).older_software
    assert Heartbeat.from_document({"playlist_layout": "sharded"}).playlist_layout == "sharded"
    for odd in ("SHARDED", 1, None, ["sharded"]):
        assert Heartbeat.from_document({"playlist_layout": odd}).playlist_layout is None


def form_statuses() -> list[ScreenStatus]:
    heartbeats = {
        "bus-0412": seen(1, playlist_layout="sharded"),
        "bus-0413": seen(60 * 24 * 6),  # six days ago, older software
        "bus-0414": seen(60 * 24 * 8),  # eight days ago: says nothing of the software it runs now
        "hall-1": seen(2, playlist_layout="single", channel="hall"),
    }
    names = {"bus-0413": ("12 路 2 号车", "后门上方"), "hall-1": ("诉讼服务中心", "")}
    return [
        dataclasses.replace(
            status,
            name=names.get(status.screen_id, ("", ""))[0],
            location=names.get(status.screen_id, ("", ""))[1],
        )
        for status in fleet_status(heartbeats, screens=[*heartbeats, "never"], now=NOW, channels=CHANNELS)
    ]


def test_per_channel_the_screens_of_the_last_seven_days_that_still_read_the_single_file():
    forms = channel_forms(form_statuses(), now=NOW)
    assert [(f.channel, f.screens, [s.screen_id for s in f.single]) for f in forms] == [
        ("hall", 1, ["hall-1"]),
        (CHANNEL, 2, ["bus-0413"]),
    ]
    text = render_text(form_statuses(), now=NOW)
    assert (
        f"频道 {CHANNEL}：近 7 天的 2 台屏幕中 1 台仍读取单文件（旧版软件）：12 路 2 号车 (后门上方) / channel "
        f"{CHANNEL}: 1 of 2 screens of the last 7 days still read the single file (older software): "
        "12 路 2 号车 (后门上方)"
    ) in text


def test_the_warning_names_the_screens_by_name_and_location_never_by_id():
    warning = single_file_warning(CHANNEL, form_statuses(), now=NOW)
    assert "12 路 2 号车 (后门上方)" in warning and "bus-0413" not in warning and "bus-0414" not in warning
    assert warning.startswith(f"警告：频道 {CHANNEL} 的 legacy_playlist 已关闭") and "Warning:" in warning
    assert single_file_warning("hall", form_statuses(), now=NOW).count("诉讼服务中心") == 2
    moved = [s for s in form_statuses() if s.screen_id != "bus-0413"]
    assert single_file_warning(CHANNEL, moved, now=NOW) == ""
    assert single_file_warning("nobody", form_statuses(), now=NOW) == ""


@pytest.mark.django_db
def test_signage_fleet_shows_the_form_each_screen_reads(repo_dir: Path):
    run("screens", "add", "--repo", repo_dir, "bus-0412", "--name", "1 号车", "--location", "前门")
    run("screens", "add", "--repo", repo_dir, "bus-0413", "--name", "2 号车", "--location", "后门")
    beat = {"channel": CHANNEL, "playlist_version": 1, "revocations_version": 5}
    records.record_heartbeat("bus-0412", {**beat, "playlist_layout": "sharded"}, NOW)
    records.record_heartbeat("bus-0413", beat, NOW)

    out = run("fleet", "--repo", repo_dir)[1]
    lines = out.splitlines()
    assert lines[0].split()[-2:] == ["LIST", "PAGES"]
    assert lines[2].split()[0] == "bus-0412" and lines[2].split()[-2:] == ["sharded", "-"]
    assert lines[3].split()[0] == "bus-0413" and lines[3].split()[-2:] == ["single", "-"]
    assert f"channel {CHANNEL}: 1 of 2 screens of the last 7 days still read the single file" in out
    assert "(older software): 2 号车 (后门)" in out

    document = json.loads(run("fleet", "--repo", repo_dir, "--json")[1])
    assert [screen["playlist_form"] for screen in document] == ["sharded", "single"]


# Requests in-process open and close their own connections, as under waitress: the rows must be committed.
@pytest.mark.django_db(transaction=True)
def test_the_hub_reads_the_repository_and_hub_toml(repo_dir: Path):
    token = run("screens", "add", "--repo", repo_dir, "bus-0412")[1].strip()
    make_hub(repo_dir, clock=lambda: NOW, refresh=lambda: None, port=0)
    app = make_hub_application(repo_dir / "public")
    body = json.dumps(
        {
            "screen_id": "bus-0412",
            "channel": CHANNEL,
            "playlist_version": 1,
            "revocations_version": 3,
            "sent_at": "2026-11-26T08:00:00Z",
        }
    ).encode()
    status, answer = call(app, "POST", "/telemetry/heartbeat", body, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert status == "200 OK" and json.loads(answer) == {"hub_time": "2026-11-26T08:00:00.000Z"}
    status, page = call(app, "GET", "/fleet")
    assert status == "200 OK"
    # v3's document is no longer on disk: v4's gives a lower bound.
    assert "v3: &gt;=1 pending" in page.decode() and E["A4"] in page.decode()
    (repo_dir / "hub.toml").write_text("telemetry_store = 'sqlite'\n")
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        make_hub(repo_dir, clock=lambda: NOW, refresh=lambda: None, port=0)


def call(app: Any, method: str, path: str, body: bytes = b"", **environ: str) -> tuple[str, bytes]:
    """One in-process WSGI request from 127.0.0.1."""
    request: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        **environ,
    }
    setup_testing_defaults(request)
    statuses: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        statuses.append(status)

    answer = b"".join(app(request, start_response))
    return statuses[0], answer


def test_the_fleet_page_says_per_channel_who_still_reads_the_single_file():
    page = render_to_string("screens/fleet.html", fleet_page_context(form_statuses(), now=NOW))
    assert "<th>名单形式</th>" in page and "<td>sharded</td>" in page and "<td>single</td>" in page
    assert (
        f"频道 {CHANNEL}：近 7 天的 2 台屏幕中 1 台仍读取单文件（旧版软件）：12 路 2 号车 (后门上方)" in page
    )
