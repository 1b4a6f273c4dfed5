"""The hub's URLs: the screens' telemetry, the fleet page, the operator console, the admin and i18n.

The TUF repository (``/metadata/``, ``/targets/``, ``/photos/``) never reaches Django: :mod:`signage.operator.hub.wsgi`
hands those paths to the static file application (:mod:`signage.operator.hub.files`), as nginx does in production.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.views import defaults

from signage.operator.hub.console.forms import LoginForm

urlpatterns = [
    path("telemetry/", include("signage.operator.hub.screens.urls")),
    path("fleet", include("signage.operator.hub.screens.fleet_urls")),
    path("login/", auth_views.LoginView.as_view(authentication_form=LoginForm), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("audit/", include("signage.operator.hub.audit.urls")),
    path("", include("signage.operator.hub.console.urls")),
]


def not_found(request: HttpRequest, exception: Exception) -> Any:
    """Django's 404 page without its ``requires_csrf_token``: that decorator runs the CSRF check, which reads
    ``request.POST``, and a POST with a malformed multipart body to an unknown path then raised inside the 404
    handler and became a 500 (found by tests/hub/test_fuzz.py). The page needs no CSRF token."""
    response: HttpResponse = defaults.page_not_found.__wrapped__(request, exception)
    return response


handler404 = not_found
