"""The audit app's configuration: logins and failed logins are recorded from Django's signals."""

from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "signage.operator.hub.audit"
    label = "audit"
    verbose_name = _("审计日志")

    def ready(self) -> None:
        from signage.operator.hub.audit.signals import connect

        connect()
