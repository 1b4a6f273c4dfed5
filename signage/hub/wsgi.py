"""The hub's WSGI application: the TUF repository's static files, and Django for everything else.

Screens fetch ``/metadata/``, ``/targets/`` and ``/photos/`` far more often than anything else; those go to
:mod:`signage.hub.files` (read-only, hardened paths, HTTP validators) without entering Django, just as nginx
serves them from ``public/`` in production. Every other path goes to Django.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Final
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from signage.hub.files import make_app

#: The first path component of everything the static repository serves.
STATIC_PREFIXES: Final = ("/metadata/", "/targets/", "/photos/")


def make_hub_application(public_dir: Path) -> WSGIApplication:
    """``public_dir``'s files under :data:`STATIC_PREFIXES`, Django for the rest (Django must be set up)."""
    from django.core.wsgi import get_wsgi_application

    files = make_app(public_dir)
    django_app = get_wsgi_application()

    def application(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith(STATIC_PREFIXES):
            return files(environ, start_response)
        return django_app(environ, start_response)

    return application
