"""The Django admin's acts in the audit log under the admin's name (accounts, roles, screens), the login name
fixed once made, logouts audited, and the home page of an account with no role."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from signage.operator.hub.audit.models import Action, AuditEvent
from tests.console import ops
from tests.console.ops import PASSWORD, add_screen

clock, hub, make_user, login = ops.clock, ops.hub, ops.make_user, ops.login

pytestmark = pytest.mark.django_db

ADMIN_ACTIONS = [Action.USER_ADDED, Action.USER_CHANGED, Action.ROLE_CHANGED, Action.SCREEN_CHANGED]


def admin_events() -> list[tuple[str, str, dict]]:
    events = AuditEvent.objects.filter(action__in=ADMIN_ACTIONS).order_by("sequence")
    return [(event.action, event.actor, event.details) for event in events]


def change_form(user, **fields) -> dict:
    """What the admin's user change form posts for ``user``, with ``fields`` changed."""
    return {
        "first_name": "",
        "last_name": "",
        "email": "",
        "is_active": "on",
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
        **fields,
    }


def test_an_account_made_a_reviewer_in_the_admin_is_audited_under_the_admins_name(hub, login):
    admin = login("root1", "admin")
    added = admin.post(
        "/admin/auth/user/add/",
        {"username": "adm2", "usable_password": "true", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert added.status_code == 302, added.content.decode()[:2000]
    adm2 = get_user_model().objects.get(username="adm2")
    reviewer = Group.objects.get(name="reviewer")
    changed = admin.post(
        f"/admin/auth/user/{adm2.pk}/change/",
        change_form(adm2, groups=[str(reviewer.pk)]),
    )
    assert changed.status_code == 302, changed.content.decode()[:2000]
    assert get_user_model().objects.get(pk=adm2.pk).has_perm("console.review_list")
    events = admin_events()
    assert events[0] == (
        Action.USER_ADDED,
        "root1",
        {"user": "adm2", "active": True, "staff": False, "superuser": False},
    )
    assert (
        Action.ROLE_CHANGED,
        "root1",
        {"user": "adm2", "groups": ["reviewer"], "permissions": []},
    ) in events
    assert all(actor == "root1" for _, actor, _ in events)


def test_a_group_given_a_permission_in_the_admin_is_audited(hub, login):
    admin = login("root1", "admin")
    clerk = Group.objects.get(name="clerk")
    from django.contrib.auth.models import Permission

    rollback = Permission.objects.get(codename="rollback")
    clerk.permissions.add(rollback)  # as the group's change form does, inside the admin's request
    assert admin_events() == []  # not a request: the migration's and the tests' own changes are not acts
    page = admin.post(
        f"/admin/auth/group/{clerk.pk}/change/",
        {"name": "clerk", "permissions": [str(p.pk) for p in clerk.permissions.all()]},
    )
    assert page.status_code == 302
    assert (
        admin.post(
            f"/admin/auth/group/{clerk.pk}/change/",
            {"name": "clerk", "permissions": [str(p.pk) for p in clerk.permissions.exclude(pk=rollback.pk)]},
        ).status_code
        == 302
    )
    (action, actor, details), *_ = [e for e in admin_events() if e[2].get("group") == "clerk"]
    assert (action, actor) == (Action.ROLE_CHANGED, "root1") and "rollback" not in details["permissions"]


def test_the_login_name_cannot_be_changed_in_the_admin(hub, login, make_user):
    admin = login("root1", "admin")
    lin = make_user("lin", "clerk")
    page = admin.get(f"/admin/auth/user/{lin.pk}/change/").content.decode()
    assert 'name="username"' not in page
    answer = admin.post(
        f"/admin/auth/user/{lin.pk}/change/",
        change_form(lin, username="zhao", groups=[str(Group.objects.get(name="clerk").pk)]),
    )
    assert answer.status_code == 302
    assert get_user_model().objects.get(pk=lin.pk).username == "lin"
    assert (Action.USER_CHANGED, "root1") in [(a, actor) for a, actor, _ in admin_events()]


def test_a_screen_renamed_in_the_admin_is_audited(hub, login):
    add_screen("bus-0412", "示例 K12 路公交", "示例东湖站")
    admin = login("root1", "admin")
    answer = admin.post(
        "/admin/screens/screen/bus-0412/change/", {"name": "示例 K13 路公交", "location": "示例西湖站"}
    )
    assert answer.status_code == 302
    assert admin_events() == [
        (
            Action.SCREEN_CHANGED,
            "root1",
            {"screen": "bus-0412", "name": "示例 K13 路公交", "location": "示例西湖站"},
        )
    ]


def test_a_login_and_a_logout_are_audited_but_a_logins_own_saves_are_not_acts(hub, client, make_user):
    make_user("lin", "clerk")
    assert client.post("/login/", {"username": "lin", "password": PASSWORD}).status_code == 302
    assert client.post("/logout/").status_code == 302
    actions = list(AuditEvent.objects.order_by("sequence").values_list("action", "actor"))
    assert actions == [(Action.LOGIN, "lin"), (Action.LOGOUT, "lin")]


def test_an_account_without_a_role_sees_only_that_it_has_none(hub, client, make_user, login):
    clerk = login("zhao", "clerk")
    assert "最近的操作" in clerk.get("/").content.decode()
    nobody = make_user("nobody", "clerk")
    nobody.groups.clear()
    client.force_login(nobody)
    page = client.get("/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="no-role"' in html and "还没有角色" in html and "has no role yet" in html
    assert "最近的操作" not in html and "等待审核" not in html and "zhao" not in html
