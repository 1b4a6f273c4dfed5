"""The console's first page: what waits for this operator, and the latest acts."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.views.generic import TemplateView

from signage.hub.audit.models import AuditEvent
from signage.hub.console.models import Submission


class HomeView(LoginRequiredMixin, TemplateView):
    template_name = "console/home.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["waiting"] = Submission.objects.filter(status=Submission.Status.SUBMITTED).select_related(
            "uploaded_by"
        )[:20]
        context["mine"] = Submission.objects.filter(uploaded_by=self.request.user).exclude(
            status__in=[Submission.Status.PUBLISHED, Submission.Status.WITHDRAWN]
        )[:20]
        context["recent"] = AuditEvent.objects.all()[:10]
        return context
