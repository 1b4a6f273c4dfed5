"""The hub's URLs: the screens' telemetry, the fleet page, the operator console, the admin and i18n.

The TUF repository (``/metadata/``, ``/targets/``, ``/photos/``) never reaches Django: :mod:`signage.hub.wsgi`
hands those paths to the static file application (:mod:`signage.hub.files`), as nginx does in production.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from signage.hub.console.forms import LoginForm

urlpatterns = [
    path("telemetry/", include("signage.hub.screens.urls")),
    path("fleet", include("signage.hub.screens.fleet_urls")),
    path("login/", auth_views.LoginView.as_view(authentication_form=LoginForm), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("audit/", include("signage.hub.audit.urls")),
    path("", include("signage.hub.console.urls")),
]
