"""Logins into the audit log: LOGIN and LOGIN_FAILED, from Django's authentication signals.

Only the user name is recorded (cut to the column's 150 characters), never the password: Django passes the
failed credentials with the password already blanked, and this module reads nothing but ``username``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.utils import timezone

from signage.errors import ConfigError
from signage.hub.audit.models import Action, record
from signage.hub.context import hub_context


def _now() -> dt.datetime:
    try:
        return hub_context().clock()
    except ConfigError:
        # A login outside a started hub (a Django shell, a test that set no context) is still recorded.
        return timezone.now()


def _logged_in(sender: Any, request: Any = None, user: Any = None, **kwargs: Any) -> None:
    record(str(Action.LOGIN), actor=str(user.get_username())[:150], at=_now())


def _login_failed(sender: Any, credentials: Any = None, request: Any = None, **kwargs: Any) -> None:
    name = credentials.get("username") if isinstance(credentials, dict) else None
    record(str(Action.LOGIN_FAILED), actor=str(name or "")[:150], at=_now())


def connect() -> None:
    """Connect the receivers (once, from the app's ``ready``)."""
    user_logged_in.connect(_logged_in, dispatch_uid="signage.audit.login")
    user_login_failed.connect(_login_failed, dispatch_uid="signage.audit.login_failed")
