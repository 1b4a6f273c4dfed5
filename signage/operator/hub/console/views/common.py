"""Small helpers shared by the console's operations pages (takedowns, versions, fleet, reports)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


class PermittedMixin(LoginRequiredMixin, PermissionRequiredMixin):
    """Login required (anonymous: sent to the login page), then the permission (missing: the 403 page)."""

    raise_exception = True

    def handle_no_permission(self) -> HttpResponse:
        if not self.request.user.is_authenticated:
            return redirect_to_login(self.request.get_full_path())
        return super().handle_no_permission()


def refused(request: HttpRequest, message: str) -> HttpResponse:
    """A 403 page that says why, in the console's frame."""
    return render(request, "console/refused.html", {"message": message}, status=403)


def entry_of(item: Any) -> dict[str, str]:
    """``{"id", "name", "case_number"}`` of a record, a takedown or an entry match, for the audit log."""
    entry_id = getattr(item, "entry_id", "")
    debtor = getattr(item, "debtor", None)
    name = debtor.name if debtor is not None else getattr(item, "name", "")
    return {"id": entry_id, "name": name, "case_number": getattr(item, "case_number", "")}
