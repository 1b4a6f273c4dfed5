"""The operators' roles as Django groups with permissions: clerk (书记员), reviewer (审核员), admin (管理员).

- A **clerk** uploads lists and submits them for review, takes entries down, and sees the fleet, the reports
  and the audit log.
- A **reviewer** can do all of that, and also approves or rejects submissions (never their own), reinstates
  entries (never ones they took down themselves) and rolls back to an earlier version.
- An **admin** has every permission and the Django admin (``/admin/``), for users and screens.

Views check permissions, never group names, so a site can shape its own groups in the admin.
"""

from __future__ import annotations

import enum
from typing import Any, Final


class Role(enum.StrEnum):
    CLERK = "clerk"
    REVIEWER = "reviewer"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        """The role's name in the page's language (书记员 or clerk)."""
        from signage.operator.hub.i18n import in_language

        zh = {"clerk": "书记员", "reviewer": "审核员", "admin": "管理员"}[self.value]
        return in_language(zh, self.value)


_CLERK: Final = (
    "console.submit_list",
    "console.take_down",
    "console.view_fleet",
    "console.view_reports",
    "audit.view_audit",
)
_REVIEWER: Final = (*_CLERK, "console.review_list", "console.reinstate", "console.rollback")

#: The permissions of each role's group ("app_label.codename").
ROLE_PERMISSIONS: Final[dict[Role, tuple[str, ...]]] = {
    Role.CLERK: _CLERK,
    Role.REVIEWER: _REVIEWER,
    Role.ADMIN: _REVIEWER,
}


def ensure_roles(**_kwargs: Any) -> None:
    """Create the role groups and give them their permissions (idempotent; runs after ``migrate``)."""
    from django.contrib.auth.models import Group, Permission

    for role, names in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=role.value)
        permissions = []
        for name in names:
            app_label, codename = name.split(".")
            found = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
            if found is not None:
                permissions.append(found)
        group.permissions.set(permissions)


def role_of(user: Any) -> Role | None:
    """The highest role ``user`` holds, or None."""
    if getattr(user, "is_superuser", False):
        return Role.ADMIN
    names = (
        set(user.groups.values_list("name", flat=True)) if getattr(user, "is_authenticated", False) else set()
    )
    for role in (Role.ADMIN, Role.REVIEWER, Role.CLERK):
        if role.value in names:
            return role
    return None
