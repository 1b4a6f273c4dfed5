"""Acts recorded from Django's signals: logins, logouts, failed logins, and the admin's changes to accounts,
roles and screens.

Only the user name is recorded (cut to the column's 150 characters), never the password: Django passes the
failed credentials with the password already blanked, and this module reads nothing but ``username``.

A failed login is recorded only for an existing account, and once per lockout window (django-axes keeps
every attempt): otherwise anyone could grow the log without limit by posting random names.

Changes to users, group membership, permissions and screens made through a signed-in request (the Django
admin) are recorded under that request's user, set for the request's thread by :class:`ActingUserMiddleware`.
The command line records its own acts (``signage users``, ``signage screens``); a login's own saves
(``last_login``, a rehashed password) are not acts of anyone.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from signage.core.errors import ConfigError
from signage.operator.hub.audit.models import Action, AuditEvent, record
from signage.operator.hub.context import hub_context

#: Saves that only a login makes.
_LOGIN_FIELDS = frozenset({"last_login", "password"})

_acting = threading.local()


class ActingUserMiddleware:
    """Remember the request's user for this thread while the view runs (after AuthenticationMiddleware)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        _acting.request = request
        try:
            return self.get_response(request)
        finally:
            _acting.request = None


def acting_user() -> str | None:
    """The user name of the signed-in user whose request runs in this thread, if any."""
    request = getattr(_acting, "request", None)
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    return str(user.get_username())[:150]


def _now() -> dt.datetime:
    try:
        return hub_context().clock()
    except ConfigError:
        # A login outside a started hub (a Django shell, a test that set no context) is still recorded.
        return timezone.now()


def _logged_in(sender: Any, request: Any = None, user: Any = None, **kwargs: Any) -> None:
    record(str(Action.LOGIN), actor=str(user.get_username())[:150], at=_now())


def _logged_out(sender: Any, request: Any = None, user: Any = None, **kwargs: Any) -> None:
    if user is not None:
        record(str(Action.LOGOUT), actor=str(user.get_username())[:150], at=_now())


def _login_failed(sender: Any, credentials: Any = None, request: Any = None, **kwargs: Any) -> None:
    name = str((credentials.get("username") if isinstance(credentials, dict) else None) or "")[:150]
    if not name or not get_user_model().objects.filter(username=name).exists():
        return
    now = _now()
    window: dt.timedelta = settings.AXES_COOLOFF_TIME
    if AuditEvent.objects.filter(actor=name, action=Action.LOGIN_FAILED, at__gt=now - window).exists():
        return
    record(str(Action.LOGIN_FAILED), actor=name, at=now)


def _role(user: Any) -> list[str]:
    return sorted(user.groups.values_list("name", flat=True))


def _user_saved(sender: Any, instance: Any, created: bool, update_fields: Any = None, **kwargs: Any) -> None:
    actor = acting_user()
    if actor is None or (update_fields and set(update_fields) <= _LOGIN_FIELDS):
        return
    details = {
        "user": instance.get_username(),
        "active": instance.is_active,
        "staff": instance.is_staff,
        "superuser": instance.is_superuser,
    }
    record(
        str(Action.USER_ADDED if created else Action.USER_CHANGED), actor=actor, at=_now(), details=details
    )


def _user_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    actor = acting_user()
    if actor is not None:
        record(str(Action.USER_REMOVED), actor=actor, at=_now(), details={"user": instance.get_username()})


def _membership_changed(sender: Any, instance: Any, action: str, reverse: bool, **kwargs: Any) -> None:
    """Groups or direct permissions of a user, or the permissions of a group, after a change."""
    actor = acting_user()
    if actor is None or action not in {"post_add", "post_remove", "post_clear"}:
        return
    if isinstance(instance, Group):
        if reverse:  # users added to the group from its side
            for user in get_user_model().objects.filter(pk__in=kwargs.get("pk_set") or ()):
                _record_role(actor, user)
            return
        details: dict[str, Any] = {
            "group": instance.name,
            "permissions": sorted(instance.permissions.values_list("codename", flat=True)),
        }
        record(str(Action.ROLE_CHANGED), actor=actor, at=_now(), details=details)
    elif isinstance(instance, get_user_model()):
        _record_role(actor, instance)


def _record_role(actor: str, user: Any) -> None:
    details = {
        "user": user.get_username(),
        "groups": _role(user),
        "permissions": sorted(user.user_permissions.values_list("codename", flat=True)),
    }
    record(str(Action.ROLE_CHANGED), actor=actor, at=_now(), details=details)


def _screen_saved(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    actor = acting_user()
    if actor is None or created:
        return
    details = {"screen": instance.screen_id, "name": instance.name, "location": instance.location}
    record(str(Action.SCREEN_CHANGED), actor=actor, at=_now(), details=details)


def connect() -> None:
    """Connect the receivers (once, from the app's ``ready``)."""
    from signage.operator.hub.screens.models import Screen

    user = get_user_model()
    user_logged_in.connect(_logged_in, dispatch_uid="signage.audit.login")
    user_logged_out.connect(_logged_out, dispatch_uid="signage.audit.logout")
    user_login_failed.connect(_login_failed, dispatch_uid="signage.audit.login_failed")
    post_save.connect(_user_saved, sender=user, dispatch_uid="signage.audit.user_saved")
    post_delete.connect(_user_deleted, sender=user, dispatch_uid="signage.audit.user_deleted")
    for through in (user.groups.through, user.user_permissions.through, Group.permissions.through):
        m2m_changed.connect(_membership_changed, sender=through, dispatch_uid=f"signage.audit.m2m.{through}")
    post_save.connect(_screen_saved, sender=Screen, dispatch_uid="signage.audit.screen_saved")
