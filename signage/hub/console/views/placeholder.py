"""A page not built yet (removed as the console's pages land)."""

from __future__ import annotations

from django.contrib.auth.mixins import LoginRequiredMixin
from django.views.generic import TemplateView


class PlaceholderView(LoginRequiredMixin, TemplateView):
    template_name = "console/placeholder.html"
