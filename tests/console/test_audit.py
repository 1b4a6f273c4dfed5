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

LIN = {"id": "e1", "name": "示例林小雨", "case_number": "(2025)鲁0102执1001号"}
ZHANG = {"id": "e2", "name": "示例张三", "case_number": "(2025)鲁0102执1002号"}


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
