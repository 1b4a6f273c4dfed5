"""URLs of the screens' telemetry under ``/telemetry/``; anything else there is a JSON 404."""

from __future__ import annotations

from django.urls import path, re_path

from signage.operator.hub.screens import views

urlpatterns = [
    path("plays", views.plays, name="telemetry-plays"),
    path("heartbeat", views.heartbeat, name="telemetry-heartbeat"),
    re_path(r"^.*$", views.not_found),
]
