"""The audit page's URLs (namespace ``audit``)."""

from __future__ import annotations

from django.urls import path

from signage.operator.hub.audit.views import AuditEventsView

app_name = "audit"

urlpatterns = [
    path("", AuditEventsView.as_view(), name="events"),
]
