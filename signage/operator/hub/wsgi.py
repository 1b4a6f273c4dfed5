"""The hub's WSGI application: the TUF repository's static files, and Django for everything else.

Screens fetch ``/metadata/``, ``/targets/`` and ``/photos/`` far more often than anything else; those go to
:mod:`signage.operator.hub.files` (read-only, hardened paths, HTTP validators) without entering Django, just as nginx
serves them from ``public/`` in production. Every other path goes to Django.

A path (with its query) over :data:`MAX_PATH_BYTES` is answered 414 here, before either: no route of the hub
is that long, and nginx's default ``large_client_header_buffers`` refuses the same in production. waitress
refuses a request whose headers (request line included) exceed ``max_request_header_size`` with 431 (414 for
a request line that long) before the application sees it (:mod:`signage.operator.hub.server`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Final
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from signage.operator.hub.files import logged_path, make_app

logger = logging.getLogger(__name__)

#: The first path component of everything the static repository serves.
STATIC_PREFIXES: Final = ("/metadata/", "/targets/", "/photos/")
#: The longest path, query included, in bytes (as WSGI carries it, latin-1): nginx's default 8 KB buffer.
MAX_PATH_BYTES: Final = 8 * 1024
_TOO_LONG_BODY: Final = b"request path too long\n"


def make_hub_application(public_dir: Path) -> WSGIApplication:
    """``public_dir``'s files under :data:`STATIC_PREFIXES`, Django for the rest (Django must be set up)."""
    from django.core.wsgi import get_wsgi_application

    files = make_app(public_dir)
    django_app = get_wsgi_application()

    def application(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if len(path) + len(environ.get("QUERY_STRING", "")) > MAX_PATH_BYTES:
            logger.warning("%s %r 414 (path too long)", environ.get("REQUEST_METHOD"), logged_path(path))
            headers = [
                ("Content-Type", "text/plain; charset=utf-8"),
                ("Content-Length", str(len(_TOO_LONG_BODY))),
                ("Cache-Control", "no-store"),
            ]
            start_response("414 URI Too Long", headers)
            return [_TOO_LONG_BODY]
        if path.startswith(STATIC_PREFIXES):
            return files(environ, start_response)
        return django_app(environ, start_response)

    return application
