"""The console app's configuration: the three roles are (re)created after every migration."""

from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class ConsoleConfig(AppConfig):
    name = "signage.operator.hub.console"
    label = "console"
    verbose_name = _("操作台")

    def ready(self) -> None:
        from signage.operator.hub.console.roles import ensure_roles

        post_migrate.connect(ensure_roles, sender=self)
