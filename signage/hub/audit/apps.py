"""The audit app's configuration."""

from __future__ import annotations

from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "signage.hub.audit"
    label = "audit"
    verbose_name = "审计日志 / Audit log"
