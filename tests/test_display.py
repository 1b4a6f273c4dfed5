"""The lawful-display decision: freshness, revocations, terms, minors, dayparts and QR hosts, time passed in."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

import pytest

from signage.core.display import Withheld, compute_display_set, qr_allowed
from signage.core.playlist import Daypart, Playlist
from signage.core.records import DebtorRecord, Notice, Person, Status
from signage.sync.client import StateLog, SyncResult, SyncState

UTC = dt.UTC
AT = dt.datetime(2026, 11, 26, 4, 0, tzinfo=UTC)  # 12:00 in China, a Thursday
FRESH_UNTIL = AT + dt.timedelta(hours=20)


def record(
    entry_id: str, *, masked: str = "9999991980****1234", qr: str | None = None, **changes
) -> DebtorRecord:
    fields = {
        "entry_id": entry_id,
        "debtor": Person("林小雨", masked),
        "court": "青川市东湖区人民法院",
        "case_number": "（2025）鲁0102执1号",
        "amount": Decimal("1048.67"),
        "status": Status.UNFULFILLED,
        "listed_on": dt.date(2026, 3, 1),
        "term_ends": dt.date(2028, 3, 1),
        "qr_url": qr,
    }
    fields.update(changes)
    return DebtorRecord(**fields)


def playlist(*records: DebtorRecord, **changes) -> Playlist:
    fields = {
        "channel": "c1",
        "version": 3,
        "issued": AT,
        "records": records,
        "qr_hosts": frozenset({"zxgk.court.gov.cn"}),
    }
    fields.update(changes)
    return Playlist(**fields)


def decide(
    plist: Playlist | None, *, at: dt.datetime = AT, revoked: frozenset[str] = frozenset(), until=FRESH_UNTIL
):
    return compute_display_set(
        channel="c1", playlist=plist, revoked=revoked, revocations_version=2, verified_until=until, at=at
    )


def test_fresh_verified_records_are_shown():
    shown = decide(playlist(record("a"), record("b")))
    assert [r.entry_id for r in shown.records] == ["a", "b"]
    assert shown.fresh and shown.withheld is None and shown.playlist_version == 3


@pytest.mark.parametrize("until", [None, AT, AT - dt.timedelta(seconds=1)])
def test_stale_or_never_verified_sets_hide_every_debtor_but_keep_notices(until):
    notice = Notice("n1", "通知", "名单更新中")
    shown = decide(playlist(record("a"), notices=(notice,)), until=until)
    assert shown.records == () and shown.withheld is Withheld.STALE and not shown.fresh
    assert shown.notices == (notice,)


def test_nothing_published():
    assert decide(None).withheld is Withheld.NOTHING_PUBLISHED


def test_revoked_entries_are_never_shown():
    shown = decide(playlist(record("a"), record("b")), revoked=frozenset({"a"}))
    assert [r.entry_id for r in shown.records] == ["b"]


@pytest.mark.parametrize(
    ("changes", "shown"),
    [
        ({}, True),
        ({"term_ends": dt.date(2026, 11, 26)}, False),  # the term ends today (China time)
        ({"listed_on": dt.date(2026, 11, 27)}, False),  # not yet listed
        ({"masked": "99999919800101**34"}, False),  # an unlawful mask slipped through
        ({"masked": "9999992009****1234"}, False),  # could still be 17
        ({"masked": "999999********1234"}, True),  # stricter mask: allowed
    ],
)
def test_the_screen_rechecks_each_record(changes, shown):
    masked = changes.pop("masked", "9999991980****1234")
    result = decide(playlist(record("a", masked=masked, **changes)))
    assert bool(result.records) is shown


def test_dayparts_use_the_channels_local_time_and_cross_midnight():
    night = Daypart(start=dt.time(22, 0), end=dt.time(6, 0), weekdays=frozenset({3}))  # Wednesday night
    day = Daypart(start=dt.time(9, 0), end=dt.time(17, 0), weekdays=frozenset({4}))
    plist = playlist(record("a"), dayparts=(night, day))
    assert decide(plist).records  # 12:00 Thursday in China
    thursday_early = dt.datetime(
        2026, 11, 25, 20, 0, tzinfo=UTC
    )  # 04:00 Thursday in China, Wednesday's night
    assert decide(plist, at=thursday_early).records
    evening = dt.datetime(2026, 11, 26, 11, 0, tzinfo=UTC)  # 19:00 Thursday in China
    assert decide(plist, at=evening).withheld is Withheld.OUTSIDE_DAYPART


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("https://zxgk.court.gov.cn/shixin/", True),
        ("http://zxgk.court.gov.cn/shixin/", False),
        ("https://evil.example/zxgk.court.gov.cn", False),
        ("https://zxgk.court.gov.cn.evil.example/", False),
        ("https://user@zxgk.court.gov.cn/", False),
    ],
)
def test_qr_links_only_to_allowed_https_hosts(url, kept):
    [shown] = decide(playlist(record("a", qr=url))).records
    assert (shown.qr_url == url) is kept
    assert qr_allowed(url, frozenset({"zxgk.court.gov.cn"})) is kept


def test_state_log_logs_changes_only_and_not_a_flapping_hub_at_every_poll(caplog):
    clock = [0.0]
    log = StateLog(logging.getLogger("test.sync"), repeat_after=600, monotonic=lambda: clock[0])
    offline = SyncResult(SyncState.OFFLINE, "无法连接", "cannot reach the hub")
    ok = SyncResult(SyncState.UNCHANGED, "无变化", "nothing new")
    with caplog.at_level(logging.INFO, logger="test.sync"):
        results = [log.record(r) for r in (offline, offline, offline, ok, ok, offline, ok, offline)]
        clock[0] = 601.0  # ten minutes on, the same flapping is worth a line again
        results += [log.record(ok), log.record(offline)]
    assert results == [True, False, False, True, False, False, False, False, True, True]
    assert len(caplog.records) == 4
