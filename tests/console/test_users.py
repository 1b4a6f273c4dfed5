"""``signage users add|list|unlock`` run in-process against a real SQLite database, and the login events."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from signage.operator.hub.audit.models import Action, AuditEvent
from tests.console import ops
from tests.console.ops import PASSWORD, run_cli

clock, hub, make_user, login = ops.clock, ops.hub, ops.make_user, ops.login

pytestmark = pytest.mark.django_db


def test_adding_a_clerk_reads_the_password_from_stdin_and_records_it(hub):
    status, out, err = run_cli(
        "users",
        "add",
        "lin",
        "--role",
        "clerk",
        "--repo",
        str(hub.directory),
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert status == 0, err
    assert "created user lin (clerk)" in out
    user = get_user_model().objects.get(username="lin")
    assert user.check_password(PASSWORD) and user.password.startswith("argon2")
    assert not user.is_staff and not user.is_superuser
    assert user.has_perm("console.take_down") and not user.has_perm("console.rollback")
    event = AuditEvent.objects.get(action=Action.USER_ADDED)
    assert event.details == {"user": "lin", "role": "clerk"}
    assert PASSWORD not in str(event.chain_fields())


def test_an_admin_gets_the_django_admin(hub):
    status, _, err = run_cli(
        "users",
        "add",
        "root1",
        "--role",
        "admin",
        "--repo",
        str(hub.directory),
        "--password-stdin",
        stdin=PASSWORD,
    )
    assert status == 0, err
    user = get_user_model().objects.get(username="root1")
    assert user.is_staff and user.is_superuser


@pytest.mark.parametrize(
    ("password", "zh", "en"),
    [
        ("short1", "至少需要 10 个字符", "too short"),
        ("1234567890123", "不能全是数字", "entirely numeric"),
        ("password1234", "太常见", "too common"),
        ("", "标准输入中没有密码", "no password on standard input"),
    ],
)
def test_weak_passwords_are_refused_in_both_languages(hub, password, zh, en):
    status, out, err = run_cli(
        "users",
        "add",
        "wang",
        "--role",
        "reviewer",
        "--repo",
        str(hub.directory),
        "--password-stdin",
        stdin=password + "\n",
    )
    assert status == 2 and out == ""
    assert zh in err and en in err
    assert not get_user_model().objects.filter(username="wang").exists()


def test_a_name_taken_or_malformed_is_refused(hub):
    argv = ["users", "add", "lin", "--role", "clerk", "--repo", str(hub.directory), "--password-stdin"]
    assert run_cli(*argv, stdin=PASSWORD)[0] == 0
    status, _, err = run_cli(*argv, stdin=PASSWORD)
    assert status == 2 and "已存在" in err and "already exists" in err
    argv[2] = "lin xiao"
    status, _, err = run_cli(*argv, stdin=PASSWORD)
    assert status == 2 and "cannot be used" in err


def test_list_shows_names_and_roles(hub):
    for name, role in (("lin", "clerk"), ("zhao", "reviewer")):
        run_cli(
            "users",
            "add",
            name,
            "--role",
            role,
            "--repo",
            str(hub.directory),
            "--password-stdin",
            stdin=PASSWORD,
        )
    status, out, _ = run_cli("users", "list", "--repo", str(hub.directory))
    assert status == 0
    assert out.splitlines() == ["lin\tclerk", "zhao\treviewer"]


def test_unlock_lifts_the_lockout_after_failed_logins(hub, client):
    run_cli(
        "users",
        "add",
        "lin",
        "--role",
        "clerk",
        "--repo",
        str(hub.directory),
        "--password-stdin",
        stdin=PASSWORD,
    )
    for _ in range(5):
        client.post("/login/", {"username": "lin", "password": "wrong-password"})
    locked = client.post("/login/", {"username": "lin", "password": PASSWORD})
    assert locked.status_code == 429 and "已暂时锁定" in locked.content.decode()

    status, out, _ = run_cli("users", "unlock", "lin", "--repo", str(hub.directory))
    assert status == 0 and "unlocked lin" in out
    unlocked = AuditEvent.objects.get(action=Action.USER_UNLOCKED)
    assert unlocked.actor == "signage users" and unlocked.details == {"user": "lin", "cleared": 1}
    assert client.post("/login/", {"username": "lin", "password": PASSWORD}).status_code == 302
    status, _, err = run_cli("users", "unlock", "nobody", "--repo", str(hub.directory))
    assert status == 2 and "no user named nobody" in err


def test_logins_and_failures_are_audited_without_the_password(hub, client):
    run_cli(
        "users",
        "add",
        "lin",
        "--role",
        "clerk",
        "--repo",
        str(hub.directory),
        "--password-stdin",
        stdin=PASSWORD,
    )
    client.post("/login/", {"username": "lin", "password": "wrong-password-示例"})
    client.post("/login/", {"username": "lin", "password": PASSWORD})
    events = list(
        AuditEvent.objects.filter(action__in=[Action.LOGIN, Action.LOGIN_FAILED]).order_by("sequence")
    )
    assert [(e.action, e.actor) for e in events] == [(Action.LOGIN_FAILED, "lin"), (Action.LOGIN, "lin")]
    for event in events:
        assert "wrong-password" not in str(event.chain_fields()) and PASSWORD not in str(event.chain_fields())


def test_the_admin_is_for_admins_only_and_records_are_read_only(hub, login):
    from signage.operator.hub.audit.models import record

    record(str(Action.LOGIN), actor="someone", at=ops.NOW)
    clerk = login("lin", "clerk")
    assert clerk.get("/admin/").status_code == 302  # to the admin's login: a clerk is not staff
    reviewer = login("zhao", "reviewer")
    assert reviewer.get("/admin/auth/user/").status_code == 302

    admin = login("root1", "admin")
    index = admin.get("/admin/")
    assert index.status_code == 200
    html = index.content.decode()
    for section in (
        "/admin/auth/user/",
        "/admin/screens/screen/",
        "/admin/console/submission/",
        "/admin/audit/auditevent/",
    ):
        assert section in html
    assert admin.get("/admin/auth/user/add/").status_code == 200
    event = AuditEvent.objects.get(actor="someone")
    assert admin.get("/admin/audit/auditevent/").status_code == 200
    assert admin.get("/admin/audit/auditevent/add/").status_code == 403
    assert admin.get(f"/admin/audit/auditevent/{event.pk}/delete/").status_code == 403
    # The change page only shows the event; a POST changes nothing.
    admin.post(f"/admin/audit/auditevent/{event.pk}/change/", {"actor": "forged"})
    assert AuditEvent.objects.get(pk=event.pk).actor == "someone"
    assert admin.get("/admin/console/publishedversion/add/").status_code == 403


def test_a_screens_token_hash_is_shown_never_editable(hub, login):
    from tests.console.ops import add_screen

    add_screen("bus-0412", "示例 K12 路公交", "示例东湖站")
    admin = login("root1", "admin")
    page = admin.get("/admin/screens/screen/bus-0412/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="token_hash"' not in html and 'name="location"' in html
    assert admin.get("/admin/screens/screen/add/").status_code == 403
