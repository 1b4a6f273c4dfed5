"""The screens app's configuration."""

from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ScreensConfig(AppConfig):
    name = "signage.operator.hub.screens"
    label = "screens"
    verbose_name = _("屏幕")
