"""The audit page's URLs (namespace ``audit``)."""

from __future__ import annotations

from django.urls import path

from signage.hub.console.views.placeholder import PlaceholderView

app_name = "audit"

urlpatterns = [
    path("", PlaceholderView.as_view(), name="events"),
]
