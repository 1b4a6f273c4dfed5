"""The exposure report: per entry by name and case number, per China-local day, over a date range; as a page,
CSV with a BOM and XLSX; plays stored as the ingest stores them."""

from __future__ import annotations

import csv
import datetime as dt
import io
from urllib.parse import quote_from_bytes

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from signage.operator.hub.console.views.reports import safe_cell
from signage.operator.hub.screens import records
from signage.operator.hub.screens.ingest import Play
from tests.console import ops
from tests.console.ops import NOW, ROWS, add_screen
from tests.helpers import entry_id_of

clock, hub, make_user, login = ops.clock, ops.hub, ops.make_user, ops.login

pytestmark = pytest.mark.django_db

LIN, ZHANG = entry_id_of(ROWS[0]), entry_id_of(ROWS[1])


def play(screen_id: str, entry_id: str, started: dt.datetime, seconds: int = 10) -> Play:
    return Play(screen_id, entry_id, "", 1, started, seconds * 1000)


@pytest.fixture
def plays(hub):
    add_screen("bus-0412", "示例 K12 路公交", "示例东湖站")
    add_screen("hall-1", "示例法院大厅", "示例一楼")
    # 2026-11-25 23:30 UTC is 2026-11-26 07:30 in China: counted for the 26th.
    late = dt.datetime(2026, 11, 25, 23, 30, tzinfo=dt.UTC)
    records.record_batch(
        "bus-0412",
        "b1",
        [
            play("bus-0412", LIN, late),
            play("bus-0412", LIN, late + dt.timedelta(minutes=1)),
            play("bus-0412", ZHANG, late),
        ],
        received_at=NOW,
    )
    records.record_batch(
        "hall-1",
        "h1",
        [
            play("hall-1", LIN, NOW, 8),
            play("hall-1", "standby", NOW),
            play("hall-1", ZHANG, NOW - dt.timedelta(days=3)),
        ],
        received_at=NOW,
    )


def test_the_page_names_entries_and_counts_per_day(plays, login):
    page = login("lin", "clerk").get("/reports/exposure/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="exposure"' in html and 'id="download-csv"' in html and 'id="download-xlsx"' in html
    assert "示例林小雨" in html and "（2025）鲁0102执1001号" in html and "待机画面" in html
    assert LIN not in html and ZHANG not in html
    assert "共曝光 6 次" in html  # the last 7 days: everything


def test_csv_has_a_bom_names_and_case_numbers(plays, login):
    response = login("lin", "clerk").get(
        "/reports/exposure.csv", {"date_from": "2026-11-26", "date_to": "2026-11-26"}
    )
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="exposure-20261126-20261126.csv"' in response["Content-Disposition"]
    body = response.content
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0] == ["日期", "姓名", "案号", "曝光次数", "展示时长（秒）", "屏幕数"]
    assert rows[1:] == [
        ["2026-11-26", "示例林小雨", "（2025）鲁0102执1001号", "3", "28.0", "2"],
        ["2026-11-26", "待机画面", "", "1", "10.0", "1"],
        ["2026-11-26", "示例张三", "（2025）鲁0102执1002号", "1", "10.0", "1"],
    ]
    assert LIN.encode() not in body


def test_xlsx_holds_the_same_rows_with_real_dates(plays, login):
    response = login("lin", "clerk").get(
        "/reports/exposure.xlsx", {"date_from": "2026-11-20", "date_to": "2026-11-26"}
    )
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("日期", "姓名", "案号", "曝光次数", "展示时长（秒）", "屏幕数")
    assert rows[1] == (dt.datetime(2026, 11, 23), "示例张三", "（2025）鲁0102执1002号", 1, 10, 1)
    assert len(rows) == 5


def test_the_date_range_filters(plays, login):
    clerk = login("lin", "clerk")
    html = clerk.get(
        "/reports/exposure/", {"date_from": "2026-11-23", "date_to": "2026-11-23"}
    ).content.decode()
    assert "共曝光 1 次" in html and "示例林小雨" not in html
    html = clerk.get(
        "/reports/exposure/", {"date_from": "2026-11-01", "date_to": "2026-11-02"}
    ).content.decode()
    assert "这段时间没有播放记录" in html


@pytest.mark.parametrize(
    "query",
    [
        "date_from=2026-02-30",
        "date_from=2026-11-26&date_to=2026-11-01",
        "date_from=2020-01-01&date_to=2026-01-01",
        "date_to=%ff",
        "date_from=2020-01-01",  # alone, it reaches today: more than 366 days
    ],
)
def test_garbage_ranges_fall_back_to_the_last_week(plays, login, query):
    clerk = login("lin", "clerk")
    response = clerk.get("/reports/exposure/?" + query)
    assert response.status_code == 200 and "共曝光 6 次" in response.content.decode()
    assert clerk.get("/reports/exposure.csv?" + query).status_code == 200


EXTREMES = [
    "date_to=0001-01-01",
    "date_to=0001-01-02",
    "date_from=0001-01-01",
    "date_to=9999-12-31",
    "date_from=9999-12-31",
    "date_from=0001-01-01&date_to=0001-01-07",
    "date_from=9999-12-25&date_to=9999-12-31",
    "date_from=1999-12-31&date_to=2000-01-01",
    "date_from=2100-12-31&date_to=2101-01-01",
]


@pytest.mark.parametrize("query", EXTREMES)
def test_dates_out_of_bounds_are_a_form_error_and_the_last_week(plays, login, query):
    clerk = login("lin", "clerk")
    page = clerk.get("/reports/exposure/?" + query)
    html = page.content.decode()
    assert page.status_code == 200 and "共曝光 6 次" in html
    assert "日期须在 2000-01-01 至 2100-12-31 之间。" in html
    for fmt in ("csv", "xlsx"):
        download = clerk.get(f"/reports/exposure.{fmt}?" + query)
        assert download.status_code == 200
        assert 'filename="exposure-20261120-20261126.' in download["Content-Disposition"]


def test_the_bounds_themselves_are_counted(plays, login):
    clerk = login("lin", "clerk")
    for start, end in (("2000-01-01", "2000-01-01"), ("2100-12-25", "2100-12-31")):
        query = f"date_from={start}&date_to={end}"
        assert f"{start} 至 {end}" in clerk.get("/reports/exposure/?" + query).content.decode()
        response = clerk.get("/reports/exposure.xlsx?" + query)
        assert response.status_code == 200
        name = f"exposure-{start.replace('-', '')}-{end.replace('-', '')}.xlsx"
        assert f'filename="{name}"' in response["Content-Disposition"]


_KEYS = st.sampled_from(["date_from", "date_to", "date_from[]", "", "x"]) | st.text(max_size=10)
_DATES = st.dates().map(dt.date.isoformat)
_VALUES = (
    _DATES
    | st.builds("{}-{}-{}".format, st.integers(-99, 100_000), st.integers(-1, 13), st.integers(-1, 32))
    | st.text(max_size=20)
    | st.binary(max_size=12).map(quote_from_bytes)
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    path=st.sampled_from(["/reports/exposure/", "/reports/exposure.csv", "/reports/exposure.xlsx"]),
    pairs=st.lists(st.tuples(_KEYS, _VALUES), max_size=4),
)
def test_no_query_string_gives_a_500(plays, reviewer, path, pairs):
    # Values already percent-encoded stay as they are, so that bytes which are not UTF-8 reach Django too.
    query = "&".join(f"{quote_from_bytes(key.encode())}={value}" for key, value in pairs)
    assert reviewer.get(f"{path}?{query}").status_code == 200


@pytest.fixture
def reviewer(login):
    return login("wang", "reviewer")


def test_formula_like_text_is_never_a_formula():
    assert [safe_cell(text) for text in ("=HYPERLINK(1)", "+1", "-2", "@SUM", "\tx", "示例", "（2025）")] == [
        "'=HYPERLINK(1)",
        "'+1",
        "'-2",
        "'@SUM",
        "'\tx",
        "示例",
        "（2025）",
    ]


def test_permissions(hub, client, make_user):
    response = client.get("/reports/exposure.csv")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    user = make_user("nobody", "clerk")
    user.groups.clear()
    client.force_login(user)
    assert client.get("/reports/exposure/").status_code == 403
    assert client.get("/reports/exposure.xlsx").status_code == 403
