"""The screens app's configuration."""

from __future__ import annotations

from django.apps import AppConfig


class ScreensConfig(AppConfig):
    name = "signage.hub.screens"
    label = "screens"
    verbose_name = "屏幕 / Screens"
