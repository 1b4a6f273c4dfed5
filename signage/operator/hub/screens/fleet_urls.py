"""The URL of the ``/fleet`` status page."""

from __future__ import annotations

from django.urls import path

from signage.operator.hub.screens import views

urlpatterns = [path("", views.fleet, name="fleet")]
