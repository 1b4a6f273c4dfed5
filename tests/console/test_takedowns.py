"""The takedown page: find by name or by a case number spelt differently, take down at once, see which
screens applied it, and reinstate only as another reviewer; with a real repository and real SQLite."""

from __future__ import annotations

import pytest

from signage.core.playlist import decode_revocations
from signage.operator.hub.audit.models import Action, AuditEvent
from signage.operator.publish.ledger import Ledger
from signage.operator.publish.repo import revocations_path
from tests.console import ops
from tests.console.ops import CHANNEL, NOW, ROWS
from tests.helpers import entry_id_of

clock, hub, make_user, login = ops.clock, ops.hub, ops.make_user, ops.login

pytestmark = pytest.mark.django_db

LIN_ID = entry_id_of(ROWS[0])


def revoked_on_screens(repo) -> set[str]:
    data = repo.read_target(revocations_path(CHANNEL))
    return set() if data is None else set(decode_revocations(data, channel=CHANNEL).entry_ids())


def take_down(browser, query: str, reason: str = "已履行完毕（示例）", **extra: str):
    return browser.post("/takedowns/", {"channel": CHANNEL, "query": query, "reason": reason, **extra})


def test_anonymous_is_sent_to_login(hub, client):
    response = client.get("/takedowns/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_a_clerk_takes_an_entry_down_by_name_at_once(hub, login):
    clerk = login("lin", "clerk")
    page = clerk.get("/takedowns/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="takedown-form"' in html and 'id="id_query"' in html and 'id="takedown-submit"' in html

    response = take_down(clerk, "示例林小雨")
    assert response.status_code == 302
    assert revoked_on_screens(hub) == {LIN_ID}
    taken = Ledger(hub.directory / "revoked.json").takedowns(CHANNEL)[LIN_ID]
    assert taken.by == "lin" and taken.at == NOW and taken.reason == "已履行完毕（示例）"
    event = AuditEvent.objects.get(action=Action.TAKEDOWN)
    assert event.actor == "lin" and event.channel == CHANNEL
    assert event.entries == [{"id": LIN_ID, "name": "示例林小雨", "case_number": "（2025）鲁0102执1001号"}]

    listing = clerk.get("/takedowns/").content.decode()
    assert 'id="takedowns"' in listing and "示例林小雨" in listing and "（2025）鲁0102执1001号" in listing
    assert LIN_ID not in listing.replace(f'value="{LIN_ID}"', "")  # the id only as a form value, never shown


@pytest.mark.parametrize(
    "query", ["(2025)鲁0102执1002号", "（2025）鲁0102执1002号", "〔2025〕鲁0102执1002号"]
)
def test_a_case_number_in_any_bracket_width_finds_the_entry(hub, login, query):
    clerk = login("lin", "clerk")
    assert take_down(clerk, query).status_code == 302
    assert revoked_on_screens(hub) == {entry_id_of(ROWS[1])}


def test_nothing_found_and_a_short_reason_are_form_errors(hub, login):
    clerk = login("lin", "clerk")
    response = take_down(clerk, "示例不存在")
    assert response.status_code == 400 and "没有找到" in response.content.decode()
    response = take_down(clerk, "示例张三", reason="x")
    assert response.status_code == 400
    assert revoked_on_screens(hub) == set()
    assert not AuditEvent.objects.filter(action=Action.TAKEDOWN).exists()


def test_several_matches_are_listed_by_name_case_number_and_court_to_choose_from(hub, login):
    clerk = login("lin", "clerk")
    response = take_down(clerk, "示例")  # all three names start with 示例
    html = response.content.decode()
    assert response.status_code == 400 and 'id="matches"' in html
    assert all(row["姓名"] in html for row in ROWS) and "青川市东湖区人民法院" in html
    assert revoked_on_screens(hub) == set()
    chosen = entry_id_of(ROWS[2])
    assert take_down(clerk, "示例", entry=chosen).status_code == 302
    assert revoked_on_screens(hub) == {chosen}


def test_reinstating_needs_another_person(hub, login):
    zhao = login("zhao", "reviewer")
    qian = login("qian", "reviewer")
    assert take_down(zhao, "示例林小雨").status_code == 302
    listing = zhao.get("/takedowns/").content.decode()
    assert "本人撤回" in listing and 'class="reinstate"' not in listing

    form = {"channel": CHANNEL, "entry": LIN_ID, "reason": "撤回有误（示例）"}
    refused = zhao.post("/takedowns/reinstate/", form)
    assert refused.status_code == 403 and "另一位审核员" in refused.content.decode()
    assert LIN_ID in Ledger(hub.directory / "revoked.json").takedowns(CHANNEL)

    assert 'class="reinstate"' in qian.get("/takedowns/").content.decode()
    assert qian.post("/takedowns/reinstate/", form).status_code == 302
    assert LIN_ID not in Ledger(hub.directory / "revoked.json").takedowns(CHANNEL)
    event = AuditEvent.objects.get(action=Action.REINSTATE)
    assert event.actor == "qian" and event.reason == "撤回有误（示例）"
    assert event.entries[0]["name"] == "示例林小雨" and event.details == {"taken_down_by": "zhao"}


def test_a_clerk_cannot_reinstate(hub, login):
    zhao = login("zhao", "reviewer")
    take_down(zhao, "示例林小雨")
    clerk = login("lin", "clerk")
    response = clerk.post(
        "/takedowns/reinstate/", {"channel": CHANNEL, "entry": LIN_ID, "reason": "示例原因"}
    )
    assert response.status_code == 403
    assert LIN_ID in Ledger(hub.directory / "revoked.json").takedowns(CHANNEL)


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"channel": "nope", "query": "示例", "reason": "示例原因"},
        {"channel": CHANNEL, "query": "x" * 5000, "reason": "示例原因"},
        {"channel": CHANNEL, "query": "\x00\u202e", "reason": "示例原因", "entry": "../../etc"},
    ],
)
def test_garbage_never_gives_a_500(hub, login, data):
    clerk = login("lin", "clerk")
    assert clerk.post("/takedowns/", data).status_code == 400
    assert clerk.get("/takedowns/?query=%ff%fe&x[]=1").status_code == 200
    reviewer = login("zhao", "reviewer")
    assert reviewer.post("/takedowns/reinstate/", data).status_code == 302


def test_a_takedown_whose_audit_cannot_be_written_says_it_is_in_force(hub, login, caplog):
    from django.db import connection

    clerk = login("lin", "clerk")
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_auditevent RENAME TO audit_auditevent_away")
    try:
        response = clerk.post(
            "/takedowns/",
            {"channel": CHANNEL, "query": "示例林小雨", "reason": "已履行完毕（示例）"},
            follow=True,
        )
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE audit_auditevent_away RENAME TO audit_auditevent")
    text = response.content.decode()
    assert (
        response.status_code == 200 and "已撤回" in text and "审计记录写入失败" in text and "已经生效" in text
    )
    assert revoked_on_screens(hub) == {LIN_ID}
    assert any(r.levelname == "ERROR" and "示例林小雨" in r.getMessage() for r in caplog.records)
