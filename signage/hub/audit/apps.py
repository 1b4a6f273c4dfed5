"""The audit app's configuration: logins and failed logins are recorded from Django's signals."""

from __future__ import annotations

from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "signage.hub.audit"
    label = "audit"
    verbose_name = "审计日志 / Audit log"

    def ready(self) -> None:
        from signage.hub.audit.signals import connect

        connect()
