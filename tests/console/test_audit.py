"""The audit log: ``signage audit verify`` on an intact and a tampered chain, and the audit page's filters."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest
from django.db import connection
from django.test import Client

from signage.operator.hub.audit.models import (
    Action,
    AppendOnly,
    AuditEvent,
    AuditHead,
    forget_checkpoint,
    record,
)
from tests.console import ops
from tests.console.ops import NOW, run_cli

clock, hub, make_user, login = ops.clock, ops.hub, ops.make_user, ops.login

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_checkpoint():
    """Each test's log is new: the page's incremental check starts from the beginning."""
    forget_checkpoint()


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


def forge_with_sha256(from_sequence: int) -> None:
    """What someone with only the database can do: recompute every digest from ``from_sequence`` on with plain
    SHA-256 (the old, keyless chain), relink the events and move the head."""
    events = list(AuditEvent.objects.order_by("sequence"))
    previous = events[from_sequence - 2].digest if from_sequence > 1 else "0" * 64
    with connection.cursor() as cursor:
        for event in events[from_sequence - 1 :]:
            document = {**event.chain_fields(), "previous": previous}
            canonical = json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
            digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
            cursor.execute(
                "UPDATE audit_auditevent SET previous = %s, digest = %s WHERE sequence = %s",
                [previous, digest, event.sequence],
            )
            previous = digest
        cursor.execute("UPDATE audit_audithead SET digest = %s WHERE id = 1", [previous])


def test_an_edited_event_with_every_later_hash_recomputed_is_caught(hub):
    some_events()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET reason = %s WHERE sequence = 2", ["改过"])
    forge_with_sha256(2)
    status, out, _ = run_cli("audit", "verify", "--repo", str(hub.directory))
    assert status == 5
    assert "event 2 was changed after it was written" in out
    assert "event 3 was changed after it was written" in out


def test_removing_the_last_event_and_moving_the_head_back_is_caught(hub):
    some_events()
    second = AuditEvent.objects.get(sequence=2)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE sequence = 3")
        cursor.execute("UPDATE audit_audithead SET sequence = 2, digest = %s WHERE id = 1", [second.digest])
    status, out, _ = run_cli("audit", "verify", "--repo", str(hub.directory))
    assert status == 5
    assert "the head (event 2) was changed: events were removed from its end" in out


def test_the_orm_refuses_bulk_updates_and_deletes(hub):
    some_events()
    with pytest.raises(AppendOnly):
        AuditEvent.objects.all().delete()
    with pytest.raises(AppendOnly):
        AuditEvent.objects.filter(sequence=1).update(reason="改过")
    with pytest.raises(AppendOnly):
        AuditEvent.objects.get(sequence=1).delete()
    assert AuditEvent.objects.count() == 3
    assert AuditHead.objects.get(pk=1).sequence == 3


def test_the_page_checks_only_the_events_written_since_its_last_check(hub, login):
    some_events()
    clerk = login("lin", "clerk")
    assert "哈希链校验通过" in clerk.get("/audit/").content.decode()
    # Older events are left to ``signage audit verify``; a new event is checked on the next view.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET actor = %s WHERE sequence = 1", ["someone"])
    assert "哈希链校验通过" in clerk.get("/audit/").content.decode()
    record(str(Action.TAKEDOWN), actor="zhao", at=NOW, channel="c", entries=[ZHANG], reason="新的")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET reason = %s WHERE sequence = 5", ["改过"])
    html = clerk.get("/audit/").content.decode()
    assert "哈希链已断裂" in html and "event 5 was changed after it was written" in html
    assert "event 1" not in html
    status, out, _ = run_cli("audit", "verify", "--repo", str(hub.directory))
    assert status == 5 and "event 1 was changed after it was written" in out


def failed_logins() -> list[str]:
    return list(AuditEvent.objects.filter(action=Action.LOGIN_FAILED).values_list("actor", flat=True))


def test_failed_logins_are_recorded_for_real_accounts_once_per_lockout_window(hub, make_user, clock):
    make_user("lin", "clerk")
    browser = Client()
    for number in range(3):
        browser.post("/login/", {"username": f"nobody{number}", "password": "wrong-password-1"})
    assert failed_logins() == []
    for _ in range(7):  # locked after the fifth; the attempts go on
        browser.post("/login/", {"username": "lin", "password": "wrong-password-1"})
    assert failed_logins() == ["lin"]
    clock.now = NOW + dt.timedelta(minutes=16)
    browser.post("/login/", {"username": "lin", "password": "wrong-password-1"})
    assert failed_logins() == ["lin", "lin"]
