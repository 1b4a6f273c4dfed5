"""Publishing use cases on a real repository: publish, revoke, reinstate, channel settings, photo cleanup.

Sources are real CSV files (``tests.helpers``) and real JPEGs; what is checked is what ends up in
``DIR/public`` and what a screen would decode from it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from signage.cli import SAMPLE_DIR
from signage.core.errors import ConfigError, ContentError, RepositoryError, UsageError
from signage.core.playlist import Daypart, Playlist, decode_playlist, decode_revocations
from signage.operator.publish.channel import (
    ChannelSettings,
    PublishResult,
    check_channel_id,
    collect_photos,
    load_channel_settings,
    publish_channel,
    reinstate_entries,
    revoke_entries,
)
from signage.operator.publish.ledger import read_history
from signage.operator.publish.repo import OperatorRepository, playlist_path, revocations_path
from signage.operator.report import Severity
from tests.helpers import HEADERS, entry_id_of, person_row, write_csv

NOW = dt.datetime(2026, 11, 26, 4, 0, tzinfo=dt.UTC)
CHANNEL = "jinan-station"
CST = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture
def repo(tmp_path: Path) -> OperatorRepository:
    return OperatorRepository.init(tmp_path / "DIR", now=NOW)


def write_photo(path: Path, colour: tuple[int, int, int]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (60, 80), colour).save(path, format="JPEG")
    return path


ROWS = {
    "A1": person_row("A1", 证件号码="9999991980****1234", 照片="shared.jpg"),
    "A2": person_row("A2", 姓名="张三", 证件号码="9999991975****5678", 照片="shared.jpg"),
    "A3": person_row("A3", 姓名="王五", 证件号码="9999991990****4321", 照片="own.jpg"),
}
#: Serial -> the entry id derived from the row's case number and ID, and -> its case number.
ID = {serial: entry_id_of(row) for serial, row in ROWS.items()}
CASE = {serial: row["案号"] for serial, row in ROWS.items()}


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """A clean list of three: A1 and A2 share one photo file, A3 has its own."""
    photos = tmp_path / "src" / "photos"
    write_photo(photos / "shared.jpg", (200, 30, 30))
    write_photo(photos / "own.jpg", (30, 30, 200))
    return write_csv(tmp_path / "src" / "list.csv", list(ROWS.values()), headers=(*HEADERS, "照片"))


def publish(repo: OperatorRepository, source: Path, **options: Any) -> PublishResult:
    options.setdefault("settings", ChannelSettings())
    options.setdefault("now", NOW)
    return publish_channel(repo, CHANNEL, source, photos=source.parent / "photos", **options)


def current_playlist(repo: OperatorRepository, channel: str = CHANNEL) -> Playlist:
    data = repo.read_target(playlist_path(channel))
    assert data is not None
    return decode_playlist(data, channel=channel)


def served_photos(repo: OperatorRepository) -> set[str]:
    return {p.name for p in repo.photos_dir.iterdir()}


def staging_leftovers(repo: OperatorRepository) -> list[Path]:
    staging = repo.directory / ".staging-photos"
    return list(staging.iterdir()) if staging.exists() else []


# --- publish -------------------------------------------------------------------------------------------


def test_publishing_the_sample_with_allow_partial(repo):
    result = publish_channel(
        repo,
        "sample",
        SAMPLE_DIR / "records.csv",
        photos=SAMPLE_DIR / "photos",
        now=NOW,
        settings=ChannelSettings(sample=True),
        allow_partial=True,
    )
    assert result.version == 1
    assert result.report.refused_rows and len(result.report.records) == 64
    playlist = current_playlist(repo, "sample")
    assert playlist.version == 1 and playlist.sample and len(playlist.records) == 64
    assert playlist.issued == NOW
    # Photos are content-addressed: the name is the hash of the bytes, and every one is referenced.
    assert served_photos(repo) == set(playlist.photos()) and result.photos == len(playlist.photos()) > 0
    for photo in repo.photos_dir.iterdir():
        data = photo.read_bytes()
        assert hashlib.sha256(data).hexdigest() == photo.name
        assert len(data) == playlist.photos()[photo.name].length
    assert staging_leftovers(repo) == []
    revocations = decode_revocations(repo.read_target(revocations_path("sample")), channel="sample")
    assert revocations.playlist_version == 1 and revocations.entries == ()


def test_refused_rows_publish_nothing(repo):
    before = repo.timestamp().signed.version
    result = publish_channel(
        repo,
        "sample",
        SAMPLE_DIR / "records.csv",
        photos=SAMPLE_DIR / "photos",
        now=NOW,
        settings=ChannelSettings(),
    )
    assert result.version is None and result.photos == 0
    assert len(result.report.refused_rows) == 9
    assert repo.read_target(playlist_path("sample")) is None
    assert not (repo.targets_dir / "channels").exists()
    assert repo.timestamp().signed.version == before
    assert served_photos(repo) == set() and staging_leftovers(repo) == []


def test_each_publish_raises_the_version_and_keeps_the_ledgers_takedowns_listed(repo, source):
    assert publish(repo, source).version == 1
    first = decode_revocations(repo.read_target(revocations_path(CHANNEL)), channel=CHANNEL)
    assert (first.version, first.playlist_version, first.entries) == (1, 1, ())
    revoke_entries(repo, CHANNEL, [CASE["A3"]], reason="已全部履行", now=NOW + dt.timedelta(hours=1))

    result = publish(repo, source, now=NOW + dt.timedelta(days=1))
    assert result.version == 2 and current_playlist(repo).version == 2
    revocations = decode_revocations(repo.read_target(revocations_path(CHANNEL)), channel=CHANNEL)
    # The takedown is folded into the new playlist (A3 is left out) and stays listed, so a screen that
    # cannot fetch the new playlist yet still hides A3 from its older one.
    assert revocations.version == 3 and revocations.playlist_version == 2
    assert [entry.entry_id for entry in revocations.entries] == [ID["A3"]]
    assert revocations.issued == NOW + dt.timedelta(days=1)
    assert [record.entry_id for record in current_playlist(repo).records] == [ID["A1"], ID["A2"]]


def test_publish_carries_the_channel_settings(repo, source):
    settings = ChannelSettings(
        qr_hosts=frozenset({"court.example.org"}),
        sample=True,
        utc_offset=dt.timedelta(hours=8),
        dayparts=(Daypart(dt.time(6, 0), dt.time(23, 0)),),
    )
    publish(repo, source, settings=settings)
    playlist = current_playlist(repo)
    assert playlist.qr_hosts == {"court.example.org"} and playlist.sample
    assert playlist.dayparts == settings.dayparts


def test_refused_row_without_allow_partial_but_clean_rows_with_it(repo, tmp_path):
    rows = [person_row("A1"), person_row("A2", 案号="2025-1")]
    csv = write_csv(tmp_path / "mixed.csv", rows)
    assert (
        publish_channel(repo, CHANNEL, csv, photos=None, now=NOW, settings=ChannelSettings()).version is None
    )
    result = publish_channel(
        repo, CHANNEL, csv, photos=None, now=NOW, settings=ChannelSettings(), allow_partial=True
    )
    assert result.version == 1
    assert [record.entry_id for record in current_playlist(repo).records] == [entry_id_of(rows[0])]


def test_publish_is_refused_while_another_command_holds_the_lock(repo, source):
    with repo.locked(), pytest.raises(RepositoryError):
        publish(repo, source)
    assert repo.read_target(playlist_path(CHANNEL)) is None and staging_leftovers(repo) == []


def test_a_failed_publish_serves_no_photos(repo, source):
    with repo.locked(), pytest.raises(RepositoryError):
        publish(repo, source)
    assert served_photos(repo) == set()


@pytest.mark.parametrize("channel", ["Jinan", "jinan station", "../x", ""])
def test_channel_ids_are_lower_case_and_path_safe(channel):
    with pytest.raises(UsageError):
        check_channel_id(channel)


# --- revoke and reinstate ------------------------------------------------------------------------------


def test_revoking_an_unknown_entry_names_it_and_changes_nothing(repo, source):
    publish(repo, source)
    before = repo.read_target(revocations_path(CHANNEL))
    with pytest.raises(UsageError) as caught:
        revoke_entries(repo, CHANNEL, [CASE["A1"], "B9"], reason="已全部履行", now=NOW)
    assert "B9" in caught.value.en and "B9" in caught.value.zh and "signage find" in caught.value.en
    assert repo.read_target(revocations_path(CHANNEL)) == before
    assert not (repo.directory / "revoked.json").exists()


def test_revoking_on_a_channel_never_published_is_a_usage_error(repo):
    with pytest.raises(UsageError) as caught:
        revoke_entries(repo, "bus-12", [CASE["A1"]], reason="已全部履行", now=NOW)
    assert "never been published" in caught.value.en


def test_revoke_publishes_the_takedown_records_it_and_deletes_the_photo(repo, source):
    publish(repo, source)
    photos = {
        record.entry_id: record.photo.sha256
        for record in current_playlist(repo).records
        if record.photo is not None
    }
    shared, own = photos[ID["A1"]], photos[ID["A3"]]
    assert photos[ID["A2"]] == shared and served_photos(repo) == {shared, own}
    at = NOW + dt.timedelta(hours=2)

    revocations, taken = revoke_entries(
        repo, CHANNEL, [CASE["A1"], "王五"], reason="已全部履行", now=at, by="书记员甲"
    )
    assert [record.debtor.name for record in taken] == ["林小雨", "王五"]

    signed = decode_revocations(repo.read_target(revocations_path(CHANNEL)), channel=CHANNEL)
    assert signed == revocations
    assert signed.entry_ids() == {ID["A1"], ID["A3"]} and signed.version == 2 and signed.playlist_version == 1
    assert {entry.reason for entry in signed.entries} == {"已全部履行"} and signed.entries[0].revoked_at == at
    ledger = json.loads((repo.directory / "revoked.json").read_text(encoding="utf-8"))["channels"]
    assert set(ledger[CHANNEL]) == {ID["A1"], ID["A3"]}
    assert (
        ledger[CHANNEL][ID["A1"]]["reason"] == "已全部履行" and ledger[CHANNEL][ID["A1"]]["by"] == "书记员甲"
    )
    assert ledger[CHANNEL][ID["A1"]]["case_number"] == CASE["A1"]
    assert ledger[CHANNEL][ID["A1"]]["identifier"] == "999999********1234"  # no birth year, no full ID
    assert (repo.directory / "revoked.json").stat().st_mode & 0o777 == 0o600
    # A3's photo leaves the served folder at once; the one A2 still shows stays.
    assert served_photos(repo) == {shared}
    # The playlist itself is unchanged: screens apply the small revocations target on top of it.
    assert current_playlist(repo).version == 1

    revoke_entries(repo, CHANNEL, [CASE["A2"]], reason="已全部履行", now=at)
    assert served_photos(repo) == set()
    signed = decode_revocations(repo.read_target(revocations_path(CHANNEL)), channel=CHANNEL)
    assert [entry.entry_id for entry in signed.entries] == [
        ID["A1"],
        ID["A3"],
        ID["A2"],
    ] and signed.version == 3


def test_a_later_publish_leaves_a_revoked_entry_out_until_reinstated(repo, source):
    publish(repo, source)
    revoke_entries(repo, CHANNEL, [CASE["A3"]], reason="已全部履行", now=NOW)

    result = publish(repo, source, now=NOW + dt.timedelta(days=1))
    assert [record.entry_id for record in current_playlist(repo).records] == [ID["A1"], ID["A2"]]
    refused = [problem for problem in result.report.problems if problem.finding.code == "entry.revoked"]
    assert len(refused) == 1 and refused[0].value == CASE["A3"] and refused[0].severity is Severity.REFUSED
    assert refused[0].row == 4 and refused[0].serial == "A3"
    assert "signage reinstate" in refused[0].finding.fix_en and "已全部履行" in refused[0].finding.zh
    own = next(r.photo for r in result.report.records if r.entry_id == ID["A3"])
    assert own is not None
    own_photo = own.sha256
    assert own_photo not in served_photos(repo) and staging_leftovers(repo) == []

    reinstate_entries(repo, CHANNEL, ["王五"], reason="法院撤销了履行认定", now=NOW, by="书记员乙")
    assert (
        json.loads((repo.directory / "revoked.json").read_text(encoding="utf-8"))["channels"][CHANNEL] == {}
    )
    acts = read_history(repo.directory / "history.jsonl")
    assert [(act["act"], act["by"]) for act in acts][-2:] == [("publish", ""), ("reinstate", "书记员乙")]
    result = publish(repo, source, now=NOW + dt.timedelta(days=2))
    assert [record.entry_id for record in current_playlist(repo).records] == [ID["A1"], ID["A2"], ID["A3"]]
    assert not any(problem.finding.code == "entry.revoked" for problem in result.report.problems)
    assert own_photo in served_photos(repo)


def test_publish_result_counts_only_the_photos_the_playlist_references(repo, source):
    publish(repo, source)
    revoke_entries(repo, CHANNEL, [CASE["A3"]], reason="已全部履行", now=NOW)
    result = publish(repo, source, now=NOW + dt.timedelta(days=1))
    assert result.photos == len(current_playlist(repo).photos()) == 1


def test_a_failed_revoke_leaves_the_ledger_alone(repo, source):
    publish(repo, source)
    with repo.locked(), pytest.raises(RepositoryError):
        revoke_entries(repo, CHANNEL, [CASE["A1"]], reason="已全部履行", now=NOW)
    assert repo.read_target(revocations_path(CHANNEL)) is not None
    ledger = repo.directory / "revoked.json"
    assert not ledger.exists() or ID["A1"] not in ledger.read_text(encoding="utf-8")


# --- photos --------------------------------------------------------------------------------------------


def test_collect_photos_deletes_only_unreferenced_photos(repo, source):
    publish(repo, source)
    kept = served_photos(repo)
    stray = repo.photos_dir / ("0" * 64)
    stray.write_bytes(b"left over from an interrupted publish")
    (repo.photos_dir / ".half-written.tmp").write_bytes(b"")
    assert collect_photos(repo) == 1
    assert served_photos(repo) == kept | {".half-written.tmp"}


def test_photos_of_the_previous_playlist_stay_for_screens_mid_sync(repo, source, tmp_path):
    publish(repo, source)
    old = served_photos(repo)
    other = write_csv(tmp_path / "src" / "other.csv", [person_row("B1")])
    publish(repo, other)
    # The previous playlist is still kept (and may still be fetched), so are its photos.
    assert served_photos(repo) == old
    third = write_csv(tmp_path / "src" / "third.csv", [person_row("C1")])
    publish(repo, third)
    assert served_photos(repo) == set()


# --- channel settings ----------------------------------------------------------------------------------


def test_a_missing_settings_file_means_the_defaults(tmp_path):
    settings = load_channel_settings(tmp_path / "none.toml")
    assert settings == ChannelSettings()
    assert settings.qr_hosts == {"zxgk.court.gov.cn"} and settings.utc_offset == dt.timedelta(hours=8)


def test_channel_settings_file(tmp_path):
    path = tmp_path / "jinan-station.toml"
    path.write_text(
        """
qr_hosts = ["zxgk.court.gov.cn", "Court.Example.org"]
sample = true
utc_offset_hours = 8

[[daypart]]
start = "06:30"
end = "23:00"

[[daypart]]
start = "22:00"
end = "02:00"
days = ["fri", "sat"]

[[notice]]
id = "holiday-2027"
title = "春节期间窗口安排"
body = "2月10日至2月17日暂停对外办公。\\n如有疑问请致电 12368。"
starts = 2027-02-01T08:00:00+08:00
ends = 2027-02-18T00:00:00+08:00

[[notice]]
id = "hotline"
title = "举报电话"
body = "12368"
""",
        encoding="utf-8",
    )
    settings = load_channel_settings(path)
    assert settings.qr_hosts == {"zxgk.court.gov.cn", "court.example.org"}
    assert settings.sample is True and settings.utc_offset == dt.timedelta(hours=8)
    assert settings.dayparts == (
        Daypart(dt.time(6, 30), dt.time(23, 0)),
        Daypart(dt.time(22, 0), dt.time(2, 0), frozenset({5, 6})),
    )
    first, second = settings.notices
    assert first.notice_id == "holiday-2027" and first.body.endswith("12368。")
    assert first.starts == dt.datetime(2027, 2, 1, 0, 0, tzinfo=dt.UTC)
    assert first.ends == dt.datetime(2027, 2, 17, 16, 0, tzinfo=dt.UTC)
    assert second.starts is None and second.ends is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('qr_host = ["zxgk.court.gov.cn"]', "unknown keys: qr_host"),
        ("sample = yes", "is not valid TOML"),
        ('sample = "true"', "sample must be true or false"),
        ('qr_hosts = "zxgk.court.gov.cn"', "qr_hosts must be a list"),
        ('[[daypart]]\nstart = "06:30"', "bad value"),
        ('[[daypart]]\nstart = "6:30"\nend = "23:00"', "bad value"),
        ('[[daypart]]\nstart = "06:30"\nend = "23:00"\ndays = ["monday"]', "bad value"),
        ('[[notice]]\nid = "n"\ntitle = "t"\nbody = "b"\nstarts = 2027-02-01T08:00:00', "with its offset"),
        ('[[notice]]\nid = "n"\ntitle = "t\\u200b"\nbody = "b"', "bad value"),
    ],
)
def test_bad_channel_settings_are_config_errors_naming_the_problem(tmp_path, text, message):
    path = tmp_path / "c.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_channel_settings(path)
    assert message in caught.value.en and str(path) in caught.value.en


def test_a_daypart_written_as_text_is_a_config_error(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('daypart = ["07:00-22:00"]', encoding="utf-8")
    with pytest.raises(ConfigError):
        load_channel_settings(path)


SCREEN_REFUSED_SETTINGS = {
    "qr host without a dot": 'qr_hosts = ["localhost"]',
    "qr host with a scheme": 'qr_hosts = ["https://zxgk.court.gov.cn"]',
    "daypart of no length": '[[daypart]]\nstart = "08:00"\nend = "08:00"',
    "notice id in Chinese": '[[notice]]\nid = "通知1"\ntitle = "通知"\nbody = "内容"',
    "utc offset beyond 14 h": "utc_offset_hours = 15",
}


@pytest.mark.parametrize("case", SCREEN_REFUSED_SETTINGS)
def test_settings_accepted_at_publish_give_a_playlist_screens_accept(repo, source, tmp_path, case):
    path = tmp_path / "c.toml"
    path.write_text(SCREEN_REFUSED_SETTINGS[case], encoding="utf-8")
    try:
        settings = load_channel_settings(path)
    except ConfigError:
        return  # refusing the file is the right answer
    publish(repo, source, settings=settings)
    try:
        current_playlist(repo)
    except ContentError as error:
        pytest.fail(f"published a playlist the screens refuse: {error.en}")
