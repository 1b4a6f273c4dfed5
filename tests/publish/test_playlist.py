"""The signed documents: playlist and revocations encode deterministically, decode strictly, round-trip.

Every record here is fictional (region 999999 exists nowhere). Refusal cases start from a valid
document and change one field, so each case shows exactly which rule the screen enforces.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from signage.core.display import compute_display_set
from signage.core.errors import ContentError
from signage.core.playlist import (
    FORMAT_VERSION,
    MAX_PLAYLIST_BYTES,
    MAX_REVOCATIONS_BYTES,
    Daypart,
    Playlist,
    Revocation,
    Revocations,
    decode_playlist,
    decode_revocations,
    encode_playlist,
    encode_revocations,
)
from signage.core.records import DebtorRecord, Notice, Organisation, Person, PhotoRef, Sex, Status

CHANNEL = "jinan-station"
ISSUED = dt.datetime(2026, 11, 26, 4, 0, tzinfo=dt.UTC)
CST = dt.timezone(dt.timedelta(hours=8))
PHOTO = PhotoRef(sha256="ab" * 32, length=12_345)


def person(entry_id: str = "P1", **changes: Any) -> DebtorRecord:
    fields: dict[str, Any] = {
        "entry_id": entry_id,
        "debtor": Person(name="林小雨", id_masked="9999991980****1234", sex=Sex.FEMALE, age=46),
        "court": "青川市东湖区人民法院",
        "case_number": "（2025）鲁0102执1234号",
        "amount": Decimal("1048.67"),
        "status": Status.UNFULFILLED,
        "listed_on": dt.date(2026, 3, 1),
        "term_ends": dt.date(2028, 3, 1),
        "photo": PHOTO,
        "qr_url": "https://zxgk.court.gov.cn/shixin/",
        "court_phone": "0531-12368",
    }
    fields.update(changes)
    return DebtorRecord(**fields)


def organisation(entry_id: str = "O1") -> DebtorRecord:
    return DebtorRecord(
        entry_id=entry_id,
        debtor=Organisation(
            name="青川市星河示例贸易有限公司", code="99999999-X", legal_representative="蒋岚"
        ),
        court="青川市中级人民法院",
        case_number="（2014）青中法执字第00232号",
        amount=Decimal("235000000.00"),
        status=Status.PARTIALLY_FULFILLED,
        listed_on=dt.date(2026, 7, 27),
        term_ends=dt.date(2031, 7, 27),
    )


def playlist(**changes: Any) -> Playlist:
    fields: dict[str, Any] = {
        "channel": CHANNEL,
        "version": 7,
        "issued": ISSUED,
        "records": (
            person("P1"),
            person(
                "P2",
                debtor=Person(name="古丽扎尔·吐尔逊", id_masked="999999********567X"),
                photo=None,
                qr_url=None,
                court_phone=None,
            ),
            organisation("O1"),
        ),
        "notices": (
            Notice(
                notice_id="n1",
                title="示例通知",
                body="第一行\n第二行",
                starts=dt.datetime(2026, 12, 1, 8, 0, tzinfo=CST),
                ends=dt.datetime(2026, 12, 31, 0, 0, tzinfo=dt.UTC),
            ),
            Notice(notice_id="n2", title="长期通知", body="内容"),
        ),
        "dayparts": (
            Daypart(dt.time(6, 30), dt.time(23, 0)),
            Daypart(dt.time(22, 0), dt.time(2, 0), frozenset({5, 6})),
        ),
        "qr_hosts": frozenset({"zxgk.court.gov.cn", "court.example.org"}),
        "utc_offset": dt.timedelta(hours=8),
        "sample": True,
    }
    fields.update(changes)
    return Playlist(**fields)


def revocations() -> Revocations:
    return Revocations(
        channel=CHANNEL,
        version=3,
        issued=ISSUED,
        playlist_version=7,
        entries=(
            Revocation("P1", "已全部履行", dt.datetime(2026, 11, 26, 9, 30, tzinfo=CST)),
            Revocation("O1", "corrected", ISSUED),
        ),
    )


def document() -> dict[str, Any]:
    """The JSON object of :func:`playlist`, for changing one field at a time."""
    doc: dict[str, Any] = json.loads(encode_playlist(playlist()))
    return doc


def dumps(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


# --- round trip and encoding ---------------------------------------------------------------------------


def test_playlist_round_trips():
    original = playlist()
    assert decode_playlist(encode_playlist(original), channel=CHANNEL) == original


def test_revocations_round_trip():
    original = revocations()
    decoded = decode_revocations(encode_revocations(original), channel=CHANNEL)
    assert decoded == original
    assert decoded.entry_ids() == {"P1", "O1"}


def test_encoding_is_deterministic_and_compact():
    first = encode_playlist(playlist())
    # Same content, sets built in another order: the same bytes, so the same hash.
    again = encode_playlist(playlist(qr_hosts=frozenset(["court.example.org", "zxgk.court.gov.cn"])))
    assert first == again
    assert b": " not in first and b", " not in first
    assert "林小雨".encode() in first  # UTF-8, not \u escapes
    assert (
        json.dumps(json.loads(first), ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
        == first
    )
    assert encode_revocations(revocations()) == encode_revocations(revocations())


def test_playlist_document_fields():
    doc = document()
    assert doc["format"] == "signage.playlist" and doc["format_version"] == FORMAT_VERSION == 1
    assert doc["channel"] == CHANNEL and doc["version"] == 7
    assert doc["issued"] == "2026-11-26T04:00:00Z"
    assert doc["sample"] is True and doc["utc_offset_minutes"] == 480
    assert doc["qr_hosts"] == ["court.example.org", "zxgk.court.gov.cn"]
    assert doc["dayparts"][1] == {"start": "22:00", "end": "02:00", "days": ["fri", "sat"]}
    assert doc["notices"][0]["starts"] == "2026-12-01T00:00:00Z"  # 08:00 in China is midnight UTC
    assert doc["notices"][1]["starts"] is None
    first, second, org = doc["records"]
    assert first == {
        "id": "P1",
        "debtor": {
            "kind": "person",
            "name": "林小雨",
            "id_masked": "9999991980****1234",
            "sex": "女",
            "age": 46,
        },
        "court": "青川市东湖区人民法院",
        "court_phone": "0531-12368",
        "case_number": "（2025）鲁0102执1234号",
        "amount": "1048.67",
        "status": "全部未履行",
        "listed_on": "2026-03-01",
        "term_ends": "2028-03-01",
        "photo": {"sha256": "ab" * 32, "length": 12345},
        "qr_url": "https://zxgk.court.gov.cn/shixin/",
        "unpaid": None,
        "filed_on": None,
        "conduct": None,
    }
    assert second["photo"] is None and second["debtor"]["sex"] is None and second["debtor"]["age"] is None
    assert org["debtor"] == {
        "kind": "organisation",
        "name": "青川市星河示例贸易有限公司",
        "code": "99999999-X",
        "legal_representative": "蒋岚",
    }
    assert org["amount"] == "235000000.00" and org["status"] == "部分未履行"


def test_revocations_document_fields():
    doc = json.loads(encode_revocations(revocations()))
    assert doc == {
        "format": "signage.revocations",
        "format_version": 1,
        "channel": CHANNEL,
        "version": 3,
        "issued": "2026-11-26T04:00:00Z",
        "playlist_version": 7,
        "revoked": [
            {"id": "P1", "reason": "已全部履行", "revoked_at": "2026-11-26T01:30:00Z"},
            {"id": "O1", "reason": "corrected", "revoked_at": "2026-11-26T04:00:00Z"},
        ],
    }


# --- refusals ------------------------------------------------------------------------------------------


def test_a_playlist_for_another_channel_is_refused():
    # Mix-and-match: a correctly signed playlist of one channel must not play on another.
    with pytest.raises(ContentError) as caught:
        decode_playlist(encode_playlist(playlist()), channel="bus-12")
    assert "not this screen's 'bus-12'" in caught.value.en
    with pytest.raises(ContentError):
        decode_revocations(encode_revocations(revocations()), channel="bus-12")


def test_a_revocations_document_is_not_a_playlist():
    with pytest.raises(ContentError) as caught:
        decode_playlist(encode_revocations(revocations()), channel=CHANNEL)
    assert "format 'signage.revocations'" in caught.value.en
    with pytest.raises(ContentError):
        decode_revocations(encode_playlist(playlist()), channel=CHANNEL)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"{", "not valid JSON"),
        (b"\xff\xfe{}", "not valid JSON"),
        (b"[]", "not a JSON object"),
        (b"[" * 100_000, "not valid JSON"),
    ],
)
def test_bytes_that_are_not_a_json_object_are_refused(data, message):
    with pytest.raises(ContentError) as caught:
        decode_playlist(data, channel=CHANNEL)
    assert message in caught.value.en


def test_oversize_documents_are_refused_before_parsing():
    with pytest.raises(ContentError) as caught:
        decode_playlist(bytes(MAX_PLAYLIST_BYTES + 1), channel=CHANNEL)
    assert f"over the {MAX_PLAYLIST_BYTES}-byte limit" in caught.value.en
    with pytest.raises(ContentError):
        decode_revocations(bytes(MAX_REVOCATIONS_BYTES + 1), channel=CHANNEL)


def _set(path: str, value: object) -> Callable[[dict[str, Any]], None]:
    """A change that sets the field at a dotted ``path`` (list indices as numbers)."""

    def change(doc: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = doc
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[int(last) if last.isdigit() else last] = value

    return change


def _duplicate_first_record(doc: dict[str, Any]) -> None:
    doc["records"].append(copy.deepcopy(doc["records"][0]))


REFUSALS = {
    "format_version 2": (_set("format_version", 2), "version 2"),
    "another format": (_set("format", "signage.playlist2"), "format 'signage.playlist2'"),
    "version 0": (_set("version", 0), "version must be a whole number"),
    "version true": (_set("version", True), "version must be a whole number"),
    "issued not in UTC": (_set("issued", "2026-11-26 04:00:00Z"), "issued must be a UTC time"),
    "duplicate entry id": (_duplicate_first_record, "entry id P1 appears twice"),
    "unlawful mask": (_set("records.0.debtor.id_masked", "99999919800101**34"), "not a lawfully masked"),
    "full ID number": (_set("records.0.debtor.id_masked", "999999198001011234"), "not a lawfully masked"),
    "minor by age": (_set("records.0.debtor.age", 17), "age must be a whole number from 18"),
    "amount with separators": (_set("records.0.amount", "1,048.67"), "amount is not"),
    "amount with one decimal": (_set("records.0.amount", "1048.6"), "amount is not in canonical form"),
    "amount with three decimals": (_set("records.0.amount", "1048.670"), "amount is not"),
    "amount with a unit": (_set("records.0.amount", "12.5万元"), "amount is not"),
    "sha256 upper case": (_set("records.0.photo.sha256", "AB" * 32), "64 lower-case hex"),
    "sha256 too short": (_set("records.0.photo.sha256", "ab" * 31 + "a"), "sha256 must be text"),
    "photo over 1 MiB": (_set("records.0.photo.length", 1024 * 1024 + 1), "length must be"),
    "status fulfilled": (_set("records.0.status", "已履行"), "status '已履行' is not allowed"),
    "unknown debtor kind": (_set("records.0.debtor.kind", "robot"), "unknown kind 'robot'"),
    "bad case number": (_set("records.0.case_number", "2025-1234"), "case_number"),
    "name with a zero-width space": (_set("records.0.debtor.name", "林\u200b小雨"), "name"),
    "entry id with a slash": (_set("records.0.id", "../P1"), "id is not a valid id"),
    "listing date not a date": (_set("records.0.listed_on", "2026-02-30"), "listed_on is not a date"),
    "daypart of no length": (_set("dayparts.0.end", "06:30"), "must be different HH:MM"),
    "daypart on an unknown day": (_set("dayparts.0.days", ["mon", "xyz"]), "days must be some of"),
    "qr host with a scheme": (_set("qr_hosts", ["https://zxgk.court.gov.cn"]), "not a lower-case host"),
    "notice id in Chinese": (_set("notices.0.id", "通知1"), "id is not a valid id"),
    "utc offset beyond 14 h": (_set("utc_offset_minutes", 15 * 60), "utc_offset_minutes"),
    "records not a list": (_set("records", {"P1": {}}), "records must be a list"),
}


@pytest.mark.parametrize("case", REFUSALS)
def test_decode_refuses_a_document_breaking_one_rule(case):
    change, message = REFUSALS[case]
    doc = document()
    change(doc)
    with pytest.raises(ContentError) as caught:
        decode_playlist(dumps(doc), channel=CHANNEL)
    assert message in caught.value.en
    assert caught.value.zh  # bilingual, like every error


@pytest.mark.parametrize("value", [True, 1.0])
def test_format_version_must_be_the_integer_one(value):
    doc = document()
    doc["format_version"] = value
    with pytest.raises(ContentError):
        decode_playlist(dumps(doc), channel=CHANNEL)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_set("revoked.0.id", "P 1"), "id is not a valid id"),
        (_set("revoked.0.revoked_at", "2026-11-26"), "revoked_at must be text of 20"),
        (_set("revoked.0.revoked_at", "2026-13-26T04:00:00Z"), "revoked_at must be a UTC time"),
        (_set("playlist_version", -1), "playlist_version must be"),
        (_set("revoked", "P1"), "revoked must be a list"),
    ],
)
def test_decode_refuses_malformed_revocations(change, message):
    doc = json.loads(encode_revocations(revocations()))
    change(doc)
    with pytest.raises(ContentError) as caught:
        decode_revocations(dumps(doc), channel=CHANNEL)
    assert message in caught.value.en


# --- what decode leaves to the display decision ---------------------------------------------------------


def _display(decoded: Playlist, at: dt.datetime = ISSUED) -> tuple[DebtorRecord, ...]:
    return compute_display_set(
        channel=CHANNEL,
        playlist=decoded,
        revoked=frozenset(),
        revocations_version=None,
        verified_until=at + dt.timedelta(hours=1),
        at=at,
    ).records


def test_qr_scheme_and_host_are_filtered_at_display_time_not_at_decode():
    links = {
        "P1": "http://zxgk.court.gov.cn/shixin/",  # not https
        "P2": "https://evil.example.net/",  # https, but not an allowed host
        "P3": "https://zxgk.court.gov.cn/shixin/",
    }
    records = tuple(person(entry_id, qr_url=url) for entry_id, url in links.items())
    decoded = decode_playlist(encode_playlist(playlist(records=records, dayparts=())), channel=CHANNEL)
    # decode keeps every link as signed ...
    assert {record.entry_id: record.qr_url for record in decoded.records} == links
    # ... and the display drops those that are not https to an allowed host; the record itself stays.
    shown = {record.entry_id: record.qr_url for record in _display(decoded)}
    assert shown == {"P1": None, "P2": None, "P3": "https://zxgk.court.gov.cn/shixin/"}


def test_a_birth_year_showing_a_minor_decodes_but_is_never_displayed():
    young = person("Y1", debtor=Person(name="林小雨", id_masked="9999992012****1234"))
    decoded = decode_playlist(
        encode_playlist(playlist(records=(young, person("P1")), dayparts=())), channel=CHANNEL
    )
    assert [record.entry_id for record in decoded.records] == ["Y1", "P1"]
    assert [record.entry_id for record in _display(decoded)] == ["P1"]


# --- dayparts ------------------------------------------------------------------------------------------

# 2026-11-27 is a Friday, 2026-11-28 a Saturday.
FRIDAY, SATURDAY, SUNDAY, MONDAY = 5, 6, 7, 1


def local(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute)


@pytest.mark.parametrize(
    ("daypart", "moment", "inside"),
    [
        # Same-day window: start inclusive, end exclusive, seconds ignored.
        (Daypart(dt.time(7, 0), dt.time(22, 0)), local(27, 7, 0), True),
        (Daypart(dt.time(7, 0), dt.time(22, 0)), local(27, 6, 59), False),
        (Daypart(dt.time(7, 0), dt.time(22, 0)), local(27, 21, 59).replace(second=59), True),
        (Daypart(dt.time(7, 0), dt.time(22, 0)), local(27, 22, 0), False),
        # Weekdays only.
        (Daypart(dt.time(7, 0), dt.time(22, 0), frozenset({MONDAY})), local(30, 12), True),
        (Daypart(dt.time(7, 0), dt.time(22, 0), frozenset({MONDAY})), local(27, 12), False),
        # Past midnight: Friday 22:00 to Saturday 02:00 belongs to Friday.
        (Daypart(dt.time(22, 0), dt.time(2, 0), frozenset({FRIDAY})), local(27, 23, 30), True),
        (Daypart(dt.time(22, 0), dt.time(2, 0), frozenset({FRIDAY})), local(28, 1, 59), True),
        (Daypart(dt.time(22, 0), dt.time(2, 0), frozenset({FRIDAY})), local(28, 2, 0), False),
        (Daypart(dt.time(22, 0), dt.time(2, 0), frozenset({FRIDAY})), local(27, 1, 0), False),
        (Daypart(dt.time(22, 0), dt.time(2, 0), frozenset({FRIDAY})), local(28, 22, 30), False),
        (Daypart(dt.time(22, 0), dt.time(2, 0), frozenset({SATURDAY})), local(29, 0, 30), True),
        (Daypart(dt.time(22, 0), dt.time(2, 0), frozenset({SUNDAY})), local(30, 1, 0), True),
        (Daypart(dt.time(22, 0), dt.time(2, 0), frozenset({SUNDAY})), local(30, 12, 0), False),
        # A window ending at midnight.
        (Daypart(dt.time(20, 0), dt.time(0, 0)), local(27, 23, 59), True),
        (Daypart(dt.time(20, 0), dt.time(0, 0)), local(28, 0, 0), False),
    ],
)
def test_daypart_contains(daypart, moment, inside):
    assert daypart.contains(moment) is inside


def test_dayparts_are_read_in_the_channels_local_time():
    decoded = decode_playlist(
        encode_playlist(
            playlist(records=(person("P1"),), dayparts=(Daypart(dt.time(7, 0), dt.time(22, 0)),))
        ),
        channel=CHANNEL,
    )
    # 22:30 UTC is 06:30 in China: before the window opens; 23:00 UTC is 07:00 there.
    assert _display(decoded, dt.datetime(2026, 11, 26, 22, 30, tzinfo=dt.UTC)) == ()
    assert [r.entry_id for r in _display(decoded, dt.datetime(2026, 11, 26, 23, 0, tzinfo=dt.UTC))] == ["P1"]
