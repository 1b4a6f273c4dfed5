"""The Django admin (``/admin/``, admins only: only the admin role is ``is_staff``): accounts (Django's own
user admin, with the login name fixed once made: the four-eyes rules compare names, so a renamed account
could review its own takedown; every change is audited by :mod:`signage.operator.hub.audit.signals`), screens (name and location editable; the token hash shown, never changed here), and the
console's submissions and published versions, which are read-only: they are changed only by the acts the
console records in the audit log.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from signage.operator.hub.console.models import PublishedVersion, Submission
from signage.operator.hub.screens.models import Screen

admin.site.site_header = _("失信被执行人公示 · 管理")
admin.site.site_title = _("管理")
admin.site.index_title = _("账号、屏幕与记录")


class HubUserAdmin(UserAdmin):
    """Django's user admin, except that an existing account's name cannot be changed."""

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = tuple(super().get_readonly_fields(request, obj))
        return fields if obj is None else (*fields, "username")


admin.site.unregister(get_user_model())
admin.site.register(get_user_model(), HubUserAdmin)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Look, never touch."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Submission)
class SubmissionAdmin(ReadOnlyAdmin):
    list_display = (
        "channel",
        "source_name",
        "status",
        "uploaded_by",
        "created_at",
        "reviewed_by",
        "published_version",
    )
    list_filter = ("status", "channel")
    search_fields = ("source_name", "channel")
    exclude = ("records", "report", "diff", "thumbnails")


@admin.register(PublishedVersion)
class PublishedVersionAdmin(ReadOnlyAdmin):
    list_display = ("channel", "version", "entry_count", "published_by", "published_at", "rollback_of")
    list_filter = ("channel",)
    exclude = ("records",)


@admin.register(Screen)
class ScreenAdmin(admin.ModelAdmin):
    """Screens are added and removed with ``signage screens add|remove`` (which prints the token once)."""

    list_display = ("screen_id", "name", "location", "added_at")
    search_fields = ("screen_id", "name", "location")
    fields = ("screen_id", "name", "location", "added_at", "token_hash")
    readonly_fields = ("screen_id", "added_at", "token_hash")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
