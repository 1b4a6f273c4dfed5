"""The audit log in the Django admin: to look at, never to add, change or delete (the chain would break)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from signage.operator.hub.audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("sequence", "at", "actor", "action", "channel", "version", "entry_text", "reason")
    list_filter = ("action",)
    search_fields = ("actor", "entry_text", "reason")
    ordering = ("-sequence",)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
