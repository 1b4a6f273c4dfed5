"""The fleet page and the takedowns' per-screen status, from heartbeats stored as the ingest stores them."""

from __future__ import annotations

import datetime as dt

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
