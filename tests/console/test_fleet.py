"""The fleet page and the takedowns' per-screen status, from heartbeats stored as the ingest stores them."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from tests.console import ops
from tests.console.ops import CHANNEL, NOW, add_screen, heartbeat

clock, hub, make_user, login = ops.clock, ops.hub, ops.make_user, ops.login

pytestmark = pytest.mark.django_db


@pytest.fixture
def fleet(hub, login, clock):
    """Two screens on the channel; 示例林小雨 is taken down at NOW (revocations version 2); the bus applies it
    two minutes later, the hall is still on version 1."""
    add_screen("bus-0412", "示例 K12 路公交", "示例东湖站")
    add_screen("hall-1", "示例法院大厅", "示例东湖区人民法院一楼")
    add_screen("spare-9", "示例备用屏", "示例仓库")
    clerk = login("lin", "clerk")
    assert (
        clerk.post(
            "/takedowns/", {"channel": CHANNEL, "query": "示例林小雨", "reason": "已履行（示例）"}
        ).status_code
        == 302
    )
    heartbeat("hall-1", NOW + dt.timedelta(minutes=1))
    heartbeat("bus-0412", NOW + dt.timedelta(seconds=30))
    heartbeat("bus-0412", NOW + dt.timedelta(minutes=2), revocations_version=2)
    heartbeat("bus-0412", NOW + dt.timedelta(minutes=3), revocations_version=2)
    clock.now = NOW + dt.timedelta(minutes=3, seconds=20)
    return clerk


def test_the_takedown_list_shows_which_screens_applied_it_and_when(fleet):
    html = fleet.get("/takedowns/").content.decode()
    # Applied since the first heartbeat that reported version 2: 12:02 China time.
    assert '<li class="screen-state applied">示例 K12 路公交：已生效 2026-11-26 12:02</li>' in html
    assert '<li class="screen-state pending">示例法院大厅：尚未生效</li>' in html
    assert "1/2 块屏幕已生效" in html


def test_the_fleet_lists_screens_that_need_attention_first(fleet):
    response = fleet.get("/screens/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="screens"' in html
    # The hall has a takedown not applied: first; the spare never sent a heartbeat (offline): next; the bus last.
    order = [html.index(name) for name in ("示例法院大厅", "示例备用屏", "示例 K12 路公交")]
    assert order == sorted(order)
    hall_row = html[order[0] : order[1]]
    assert (
        "示例东湖区人民法院一楼" in hall_row and "示例林小雨" in hall_row and "unhealthy" in html[: order[0]]
    )
    assert "从未" in html[order[1] : order[2]]
    bus_row = html[order[2] :]
    assert "2026-11-26 12:03" in bus_row and "示例林小雨" not in bus_row.split("</tr>")[0]


def test_a_clerk_without_fleet_rights_gets_403_and_anonymous_goes_to_login(hub, client, make_user):
    response = client.get("/screens/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    user = make_user("nobody", "clerk")
    user.groups.clear()
    client.force_login(user)
    assert client.get("/screens/").status_code == 403
    assert client.get("/takedowns/").status_code == 403


def test_no_screens_is_said_plainly(hub, login):
    html = login("lin", "clerk").get("/screens/").content.decode()
    assert "还没有登记的屏幕" in html


# --- coverage and screen shapes (issue 13) --------------------------------------------------------------

UNCOVERED = {"entries_per_page": 12, "loop_hours": 30.5, "covered": False, "capacity": 12}


def _post_heartbeat(client, screen_id: str, **fields):
    """Register ``screen_id`` with a token and post a heartbeat through the real ingest endpoint."""
    from signage.operator.hub.screens import records
    from signage.operator.hub.screens.ingest import hash_token, new_token

    token = new_token()
    records.add_screen(screen_id, hash_token(token), added_at=NOW, name=f"示例 {screen_id}", replace=True)
    body = {"screen_id": screen_id, "channel": CHANNEL, "sent_at": NOW.isoformat(), **fields}
    return client.post(
        "/telemetry/heartbeat",
        json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )


def test_a_screen_that_cannot_cover_its_list_is_among_those_needing_attention(hub, login, client, clock):
    clerk = login("lin", "clerk")
    covered = {**UNCOVERED, "loop_hours": 20.0, "covered": True}
    assert _post_heartbeat(client, "hall-1", coverage=covered).status_code == 200
    portrait = {"width": 1080, "height": 1920, "layout": "portrait"}
    assert _post_heartbeat(client, "hall-2", coverage=UNCOVERED, display=portrait).status_code == 200
    refused = _post_heartbeat(client, "hall-3", display={**portrait, "layout": "sideways"})
    assert refused.status_code == 400 and "'display.layout'" in refused.json()["error"]
    html = clerk.get("/screens/").content.decode()
    first, second = html.index("示例 hall-2"), html.index("示例 hall-1")
    assert first < second  # needing attention first, though its id sorts after
    row = html[first:second]
    assert "未覆盖：每屏 12 条，轮播一遍 30.5 小时 &gt; 24 小时" in row and "1080×1920 portrait" in row
    assert "每屏 12 条，20.0 小时轮播一遍" in html[second:]
    # hall-3 (registered, its only heartbeat refused: offline) and hall-2 need attention.
    assert 'class="unhealthy"' in html[:first] and "<b>2</b>需要关注" in html.replace("\n", "")


def test_the_fleets_screen_shapes_most_common_first(hub, client):
    from signage.operator.hub.screens.shapes import fleet_screen_sizes

    assert fleet_screen_sizes() == [(1920, 1080), (1920, 360)]
    shapes = [(1920, 1080), (1080, 1920), (1920, 1080), (1920, 360), (1366, 768), (3840, 2160), (1080, 1920)]
    for number, (width, height) in enumerate(shapes):
        display = {"width": width, "height": height, "layout": "landscape"}
        assert _post_heartbeat(client, f"s-{number}", display=display).status_code == 200
    # A player before issue 13 says nothing of its size.
    assert _post_heartbeat(client, "old-player").status_code == 200
    assert fleet_screen_sizes() == [(1080, 1920), (1920, 1080), (1366, 768), (1920, 360)]


def test_the_fleet_shows_a_screens_refused_plays_and_requests_over_its_quota_today(fleet):
    from signage.operator.hub.screens import records
    from signage.operator.hub.screens.ingest import china_day

    day = china_day(NOW)
    records.record_batch("bus-0412", "r" * 32, [], received_at=NOW, refused={"future": 2}, day=day)
    records.count_over_quota("bus-0412", day)
    html = fleet.get("/screens/").content.decode()
    bus_row = html[html.index("示例 K12 路公交") :].split("</tr>")[0]
    assert "今日拒收" in html and "拒收 2 条播放（晚于当前时间 2）；超出每日配额被拒 1 次" in bus_row
    hall_row = html[html.index("示例法院大厅") :].split("</tr>")[0]
    assert "拒收" not in hall_row


# --- which form of the channel each screen reads (issue 15) ---------------------------------------------


def test_the_fleet_shows_which_form_each_screen_reads_and_who_still_reads_the_single_file(fleet, client):
    from tests.console.test_i18n import english

    # Through the real ingest: a screen of issue 15 on the sharded form, one before it (no playlist_layout).
    assert _post_heartbeat(client, "bus-0500", playlist_layout="sharded").status_code == 200
    refused = _post_heartbeat(client, "bus-0501", playlist_layout="bins")
    assert refused.status_code == 400 and "'playlist_layout'" in refused.json()["error"]
    html = fleet.get("/screens/").content.decode()
    row = html[html.index("示例 bus-0500") :].split("</tr>")[0]
    assert '<span class="badge ok">分片</span>' in row
    hall = html[html.index("示例法院大厅<br>") :].split("</tr>")[0]
    assert '<span class="badge warn">单文件（旧版软件）</span>' in hall
    # The channel: bus-0412, hall-1 and bus-0500 heard from; bus-0501 (refused) and the spare never.
    forms = html[html.index('id="forms"') :].split("</ul>")[0]
    assert f"频道 {CHANNEL}：近 7 天有心跳的 3 台屏幕中 2 台仍读取单文件（旧版软件）：" in forms
    assert "示例 K12 路公交 (示例东湖站)、示例法院大厅 (示例东湖区人民法院一楼)" in forms
    assert "hall-1" not in forms and "bus-0412" not in forms

    english(fleet)
    html = fleet.get("/screens/").content.decode()
    assert "Sharded" in html and "Single file (older software)" in html
    assert (
        f"Channel {CHANNEL}: 2 of the 3 screens heard from in the last 7 days still read the single file"
        in html
    )
