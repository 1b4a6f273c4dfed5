"""Template context: the signed-in operator's role, for the navigation bar."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from signage.operator.hub.console.roles import role_of


def roles(request: HttpRequest) -> dict[str, Any]:
    """``role`` (the :class:`~signage.operator.hub.console.roles.Role` of the user, or None)."""
    user = getattr(request, "user", None)
    return {"role": role_of(user) if user is not None else None}
