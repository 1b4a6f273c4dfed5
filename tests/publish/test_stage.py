"""Publishing in two steps, as the console does: stage (import and check), then publish what was approved.

Real CSV exports and JPEGs (``tests.helpers``), a real repository; the records go through JSON as they would
through the console's database. What is checked is what ends up in ``DIR/public``.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from signage.core.errors import ContentError, RepositoryError
from signage.core.playlist import decode_revocations
from signage.operator.publish.channel import (
    ChannelSettings,
    StagedList,
    publish_records,
    records_from_json,
    records_to_json,
    revoke_entries,
    stage_list,
)
from signage.operator.publish.ledger import read_history
from signage.operator.publish.repo import OperatorRepository, revocations_path
from signage.operator.report import Severity
from tests.helpers import HEADERS, person_row, write_csv
from tests.publish import test_channel
from tests.publish.test_channel import CASE, CHANNEL, ID, NOW, current_playlist, publish, served_photos

# The same repository and three-row export (two photos) as test_channel's publishing tests.
repo = test_channel.repo
source = test_channel.source

LATER = NOW + dt.timedelta(days=1)


def stage(repo: OperatorRepository, source: Path, staging: Path, **options: object) -> StagedList:
    return stage_list(
        repo,
        CHANNEL,
        source,
        photos=source.parent / "photos",
        now=LATER,
        settings=ChannelSettings(),
        staging=staging,
        **options,  # type: ignore[arg-type]
    )


def approve(repo: OperatorRepository, staged_json: list[dict[str, object]], staging: Path, **options: object):
    """What the console does on approval: the records come back from the database as JSON."""
    stored = json.loads(json.dumps(staged_json, ensure_ascii=False))
    options.setdefault("now", LATER)
    return publish_records(
        repo,
        CHANNEL,
        records_from_json(stored),
        photos_from=staging,
        settings=ChannelSettings(),
        by="审核员乙",
        source_name="list.csv",
        **options,  # type: ignore[arg-type]
    )


def test_staging_signs_nothing_and_keeps_the_photos_content_addressed(repo, source, tmp_path):
    before = repo.timestamp().signed.version
    staged = stage(repo, source, tmp_path / "staging")
    assert [record.entry_id for record in staged.records] == [ID["A1"], ID["A2"], ID["A3"]]
    assert not staged.import_refused and staged.report.refused_rows == []
    assert (
        repo.timestamp().signed.version == before
        and repo.read_target(f"channels/{CHANNEL}/playlist.json") is None
    )
    assert served_photos(repo) == set()
    photos = {record.photo.sha256 for record in staged.records if record.photo is not None}
    assert {path.name for path in (tmp_path / "staging").iterdir()} == photos and len(photos) == 2


def test_approving_publishes_the_stored_records_and_copies_the_photos(repo, source, tmp_path):
    staging = tmp_path / "staging"
    staged = stage(repo, source, staging)
    result = approve(repo, records_to_json(staged.records), staging)
    assert (result.version, result.published, result.photos) == (1, 3, 2)
    playlist = current_playlist(repo)
    assert playlist.records == staged.records and playlist.issued == LATER
    # Copied, not moved: the console keeps its copies to roll back to this version later.
    assert served_photos(repo) == {path.name for path in staging.iterdir()} == set(playlist.photos())
    act = read_history(repo.directory / "history.jsonl")[-1]
    assert (act["act"], act["by"], act["version"], act["source"], act["entries"]) == (
        "publish",
        "审核员乙",
        1,
        "list.csv",
        3,
    )


def test_a_takedown_between_staging_and_approval_is_never_published(repo, source, tmp_path):
    publish(repo, source)
    staging = tmp_path / "staging"
    staged = stage(repo, source, staging)
    stored = records_to_json(staged.records)
    # Someone takes 王五 down while the list waits for its reviewer.
    revoke_entries(
        repo, CHANNEL, ["王五"], reason="已全部履行", now=NOW + dt.timedelta(hours=3), by="书记员甲"
    )

    result = approve(repo, stored, staging)
    assert result.version == 2 and result.published == 2
    assert [record.entry_id for record in current_playlist(repo).records] == [ID["A1"], ID["A2"]]
    refused = [problem for problem in result.report.problems if problem.finding.code == "entry.revoked"]
    assert len(refused) == 1 and refused[0].severity is Severity.REFUSED and refused[0].value == CASE["A3"]
    assert "书记员甲" in refused[0].finding.zh and "已全部履行" in refused[0].finding.en
    revocations = decode_revocations(repo.read_target(revocations_path(CHANNEL)), channel=CHANNEL)
    assert revocations.entry_ids() == {ID["A3"]} and revocations.playlist_version == 2


def test_staging_refuses_revoked_rows_and_their_one_character_typos(repo, tmp_path, source):
    publish(repo, source)
    revoke_entries(repo, CHANNEL, ["王五"], reason="已全部履行", now=NOW)
    # The same 王五 re-exported with half-width brackets, and a row one digit away from A1 after A1 is revoked.
    revoke_entries(repo, CHANNEL, [CASE["A1"]], reason="案件已结", now=NOW)
    typo = CASE["A1"].replace("执", "执1")
    rows = [
        person_row(
            "A3",
            姓名="王五",
            证件号码="9999991990****4321",
            案号=CASE["A3"].replace("（", "(").replace("）", ")"),
        ),
        person_row("A1", 证件号码="9999991980****1234", 案号=typo),
        person_row("B1", 姓名="赵六", 证件号码="9999991985****2468"),
    ]
    export = write_csv(tmp_path / "again.csv", rows, headers=HEADERS)
    staged = stage_list(
        repo, CHANNEL, export, photos=None, now=LATER, settings=ChannelSettings(), staging=tmp_path / "s"
    )
    codes = {(p.row, p.finding.code) for p in staged.report.problems if p.finding.code.startswith("entry.")}
    assert codes == {(2, "entry.revoked"), (3, "entry.revoked_similar")}
    assert [record.debtor.name for record in staged.records] == ["赵六"]
    # Those refusals never hold the rest back: the import itself refused nothing.
    assert not staged.import_refused

    confirmed = stage_list(
        repo,
        CHANNEL,
        export,
        photos=None,
        now=LATER,
        settings=ChannelSettings(),
        staging=tmp_path / "s",
        confirmed=frozenset({typo.replace("（", "(")}),
    )
    assert [record.debtor.name for record in confirmed.records] == ["林小雨", "赵六"]


def test_rolling_back_republishes_old_records_as_a_new_version(repo, source, tmp_path):
    staging = tmp_path / "staging"
    first = stage(repo, source, staging)
    approve(repo, records_to_json(first.records), staging)
    kept = records_to_json(current_playlist(repo).records)

    smaller = write_csv(tmp_path / "v2.csv", [person_row("C1", 姓名="钱七")], headers=HEADERS)
    second = stage_list(
        repo, CHANNEL, smaller, photos=None, now=LATER, settings=ChannelSettings(), staging=tmp_path / "s2"
    )
    approve(repo, records_to_json(second.records), tmp_path / "s2")
    approve(repo, records_to_json(second.records), tmp_path / "s2")
    # Two versions later the first one's photos have left the served folder; the console kept its copies.
    assert served_photos(repo) == set()

    result = approve(repo, kept, staging, now=LATER + dt.timedelta(hours=1))
    assert result.version == 4
    playlist = current_playlist(repo)
    assert playlist.version == 4 and playlist.records == first.records
    assert served_photos(repo) == set(playlist.photos())


def test_a_missing_or_damaged_photo_publishes_nothing(repo, source, tmp_path):
    staging = tmp_path / "staging"
    staged = stage(repo, source, staging)
    victim = sorted(staging.iterdir())[0]
    victim.write_bytes(victim.read_bytes()[:-10])
    with pytest.raises(RepositoryError) as raised:
        approve(repo, records_to_json(staged.records), staging)
    assert victim.name in raised.value.en and "upload" in raised.value.en
    assert repo.read_target(f"channels/{CHANNEL}/playlist.json") is None and served_photos(repo) == set()
    victim.unlink()
    with pytest.raises(RepositoryError):
        approve(repo, records_to_json(staged.records), staging)
    assert served_photos(repo) == set()


def test_records_round_trip_through_json(repo, source, tmp_path):
    staged = stage(repo, source, tmp_path / "staging")
    stored = json.dumps(records_to_json(staged.records), ensure_ascii=False)
    assert "林小雨" in stored and "1980****1234" in stored
    assert records_from_json(json.loads(stored)) == staged.records


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda items: items[0]["debtor"].update(id_masked="999999198001011234"), "lawfully masked"),
        (lambda items: items.append(dict(items[0])), "appears twice"),
        (lambda items: items[1].update(case_number="<b>2025</b>"), "case_number"),
        (lambda items: items[2].update(amount="1e9"), "amount"),
        (lambda items: items[0].pop("listed_on"), "missing listed_on"),
    ],
)
def test_records_from_json_checks_like_a_screen(repo, source, tmp_path, change, message):
    items = json.loads(json.dumps(records_to_json(stage(repo, source, tmp_path / "s").records)))
    change(items)
    with pytest.raises(ContentError) as raised:
        records_from_json(items)
    assert message in raised.value.en


@pytest.mark.parametrize("value", [None, {"records": []}, "[]", [1]])
def test_records_from_json_refuses_what_is_not_a_list_of_records(value):
    with pytest.raises(ContentError):
        records_from_json(value)
