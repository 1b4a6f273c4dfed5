"""The console's first page: what waits for this operator, and the latest acts.

An account without any console permission (made, but given no role yet) sees only a page saying so: the
waiting lists and the latest acts are for operators.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.views.generic import TemplateView

from signage.operator.hub.audit.models import AuditEvent
from signage.operator.hub.console.models import Submission

#: Any one of these makes an account an operator (see the console contract).
CONSOLE_PERMISSIONS = (
    "console.submit_list",
    "console.review_list",
    "console.take_down",
    "console.reinstate",
    "console.rollback",
    "console.view_fleet",
    "console.view_reports",
    "audit.view_audit",
)


class HomeView(LoginRequiredMixin, TemplateView):
    template_name = "console/home.html"

    def get_template_names(self) -> list[str]:
        if not any(self.request.user.has_perm(permission) for permission in CONSOLE_PERMISSIONS):
            return ["console/no_role.html"]
        return [self.template_name]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        if self.get_template_names() != [self.template_name]:
            return context
        context["waiting"] = Submission.objects.filter(status=Submission.Status.SUBMITTED).select_related(
            "uploaded_by"
        )[:20]
        context["mine"] = Submission.objects.filter(uploaded_by=self.request.user).exclude(
            status__in=[Submission.Status.PUBLISHED, Submission.Status.WITHDRAWN]
        )[:20]
        context["recent"] = AuditEvent.objects.all()[:10]
        return context
