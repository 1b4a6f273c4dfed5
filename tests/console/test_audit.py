"""The audit log: ``signage audit verify`` on an intact and a tampered chain, and the audit page's filters."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from signage.hub.audit.models import Action, record
from tests.console import ops
from tests.console.ops import NOW, run_cli

clock, hub, make_user, login = ops.clock, ops.hub, ops.make_user, ops.login

pytestmark = pytest.mark.django_db

LIN = {"id": "e1", "name": "示例林小雨", "case_number": "（2025）鲁0102执1001号"}
ZHANG = {"id": "e2", "name": "示例张三", "case_number": "（2025）鲁0102执1002号"}


def some_events() -> None:
    record(
        str(Action.TAKEDOWN),
        actor="lin",
        at=NOW - dt.timedelta(days=2),
        channel="c",
        entries=[LIN],
        reason="已履行",
    )
    record(
        str(Action.TAKEDOWN),
        actor="zhao",
        at=NOW - dt.timedelta(days=1),
        channel="c",
        entries=[ZHANG],
        reason="错误",
    )
    record(str(Action.REINSTATE), actor="zhao", at=NOW, channel="c", entries=[LIN], reason="撤回有误")


def test_verify_passes_on_an_intact_chain(hub):
    some_events()
    status, out, _ = run_cli("audit", "verify", "--repo", str(hub.directory))
    assert status == 0
    assert "3 events" in out and "审计日志完整" in out


def test_verify_names_each_problem_of_a_tampered_chain(hub):
    some_events()
    # Someone with the database changes the reason of event 2 and deletes event 3 behind Django's back.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET reason = %s WHERE sequence = 2", ["改过"])
        cursor.execute("DELETE FROM audit_auditevent WHERE sequence = 3")
    status, out, _ = run_cli("audit", "verify", "--repo", str(hub.directory))
    assert status == 5
    assert "event 2 was changed after it was written" in out
    assert "events were removed from its end" in out


def rows(response) -> list[str]:
    html = response.content.decode()
    assert 'id="audit-events"' in html or "没有符合条件的记录" in html
    return [reason for reason in ("已履行", "错误", "撤回有误") if f"<td>{reason}</td>" in html]


def test_the_page_filters_by_person_entry_and_date(hub, login):
    some_events()
    clerk = login("lin", "clerk")
    page = clerk.get("/audit/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="audit-filter"' in html and "哈希链校验通过" in html
    assert rows(page) == ["已履行", "错误", "撤回有误"]
    assert rows(clerk.get("/audit/", {"actor": "zhao"})) == ["错误", "撤回有误"]
    assert rows(clerk.get("/audit/", {"entry": "示例林小雨"})) == ["已履行", "撤回有误"]
    # The case number in the other bracket width, and with a space in it.
    assert rows(clerk.get("/audit/", {"entry": "(2025)鲁0102执1002号"})) == ["错误"]
    assert rows(clerk.get("/audit/", {"entry": "(2025) 鲁0102执1002"})) == ["错误"]
    # Days are China-local: NOW is 12:00 on 2026-11-26 in Shanghai.
    assert rows(clerk.get("/audit/", {"date_from": "2026-11-25"})) == ["错误", "撤回有误"]
    assert rows(clerk.get("/audit/", {"date_from": "2026-11-24", "date_to": "2026-11-25"})) == [
        "已履行",
        "错误",
    ]


def test_a_broken_chain_is_shown_at_the_top(hub, login):
    some_events()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET actor = %s WHERE sequence = 1", ["someone"])
    html = login("lin", "clerk").get("/audit/").content.decode()
    assert "哈希链已断裂" in html and "event 1 was changed after it was written" in html


def test_pages_of_fifty(hub, login):
    for number in range(60):
        record(str(Action.LOGIN), actor=f"user{number}", at=NOW)
    clerk = login("lin", "clerk")  # one more LOGIN
    first = clerk.get("/audit/").content.decode()
    assert first.count("<tr>") == 51 and "第 1 / 2 页" in first
    assert clerk.get("/audit/", {"page": "2"}).content.decode().count("<tr>") == 12
    assert clerk.get("/audit/", {"page": "99"}).status_code == 200


@pytest.mark.parametrize(
    "query",
    ["date_from=2026-13-45", "date_to=yesterday&page=-1", "page=abc", "entry=%00%ff", "actor=" + "x" * 400],
)
def test_garbage_query_strings_never_give_a_500(hub, login, query):
    assert login("lin", "clerk").get("/audit/?" + query).status_code == 200


def test_anonymous_goes_to_login_and_no_role_gets_403(hub, client, make_user):
    response = client.get("/audit/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    nobody = make_user("nobody", "clerk")
    nobody.groups.clear()
    client.force_login(nobody)
    assert client.get("/audit/").status_code == 403
