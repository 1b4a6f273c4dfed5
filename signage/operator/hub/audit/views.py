"""The audit page (``audit:events``): the log, newest first, filtered by person, entry and date, with the
chain's verdict at the top: the events written since the last intact check of this process are checked on
every view (the whole chain the first time); ``signage audit verify`` checks the whole chain every time."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _
from django.views.generic import ListView

from signage.core.rules.caseno import normalise_case_number
from signage.operator.hub.audit.models import AuditEvent, verify_recent
from signage.operator.hub.console.views.common import PermittedMixin

#: Events per page.
PAGE_SIZE = 50


class AuditFilter(forms.Form):
    actor = forms.CharField(label=_("操作人"), required=False, max_length=150)
    entry = forms.CharField(label=_("条目（姓名或案号）"), required=False, max_length=100)
    date_from = forms.DateField(
        label=_("起始日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("截止日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


def filter_events(events: QuerySet[AuditEvent], data: dict[str, Any]) -> QuerySet[AuditEvent]:
    """``events`` narrowed by the valid fields of an :class:`AuditFilter` (dates are China-local days)."""
    if data.get("actor"):
        events = events.filter(actor=data["actor"].strip())
    query = (data.get("entry") or "").strip()
    # A case number is one term whatever its spaces; a name and a case number may be given together.
    terms = [query] if "执" in query and ("(" in query or "（" in query or "〔" in query) else query.split()
    for term in terms:
        events = events.filter(
            Q(entry_text__icontains=term) | Q(entry_text__icontains=normalise_case_number(term))
        )
    day_from: dt.date | None = data.get("date_from")
    day_to: dt.date | None = data.get("date_to")
    if day_from:
        events = events.filter(at__date__gte=day_from)
    if day_to:
        events = events.filter(at__date__lte=day_to)
    return events


class AuditEventsView(PermittedMixin, ListView):
    permission_required = "audit.view_audit"
    template_name = "audit/events.html"
    context_object_name = "events"
    paginate_by = PAGE_SIZE

    def get_queryset(self) -> QuerySet[AuditEvent]:
        self.form = AuditFilter(self.request.GET or None)
        events = AuditEvent.objects.order_by("-sequence")
        if self.form.is_bound:
            self.form.is_valid()  # invalid fields are shown as errors and left out of the filter
            events = filter_events(events, self.form.cleaned_data)
        return events

    def paginate_queryset(self, queryset: Any, page_size: int) -> Any:
        # A page number past the end or not a number shows the last or the first page, never a 404.
        page = self.request.GET.get(self.page_kwarg, "1")
        paginator = self.get_paginator(queryset, page_size)
        number = int(page) if page.isdigit() else 1
        current = paginator.get_page(number)
        return paginator, current, current.object_list, current.has_other_pages()

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        query = self.request.GET.copy()
        query.pop(self.page_kwarg, None)
        context.update(form=self.form, verdict=verify_recent(), query=query.urlencode())
        return context
