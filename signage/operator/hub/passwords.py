"""Password checks that a login flood cannot turn into a stalled hub: a lighter Argon2id and a gate.

Every login attempt costs one Argon2 hash, unknown user names included (Django hashes a dummy password so
that the answer takes as long). With Django's defaults (100 MiB, 8 lanes) two dozen anonymous clients took
~900 MB and every waitress thread, so the screens' ``/metadata`` requests waited for seconds. Two parts:

- :class:`HubArgon2PasswordHasher`: Argon2id with OWASP's parameters (19 MiB, 2 passes, 1 lane). It keeps
  Django's algorithm name, so existing ``argon2`` hashes are still read and rehashed at the next login.
- :class:`PasswordGateMiddleware`: at most :data:`CONCURRENT_CHECKS` login POSTs (the console's and the
  admin's) run at once in the process; one more is answered 503 with ``Retry-After`` at once, never queued,
  so the threads stay free for the screens.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Final

from django.contrib.auth.hashers import Argon2PasswordHasher
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve

logger = logging.getLogger("signage.operator.hub")

#: Password checks allowed at once: two keep memory near 2 x 19 MiB and leave the other threads to the screens.
CONCURRENT_CHECKS: Final = 2
#: Seconds a refused login is asked to wait.
RETRY_AFTER: Final = 5


class HubArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2id, m=19456 KiB, t=2, p=1 (OWASP's first recommendation)."""

    memory_cost = 19456
    time_cost = 2
    parallelism = 1


class PasswordGate:
    """A non-blocking cap on concurrent password checks."""

    def __init__(self, limit: int) -> None:
        self._slots = threading.BoundedSemaphore(limit)

    @contextlib.contextmanager
    def slot(self) -> Iterator[bool]:
        """Yield True holding a slot, or False at once when every slot is taken."""
        admitted = self._slots.acquire(blocking=False)
        try:
            yield admitted
        finally:
            if admitted:
                self._slots.release()


#: The process's gate, shared by the console's and the admin's login.
GATE = PasswordGate(CONCURRENT_CHECKS)


def _is_login(request: HttpRequest) -> bool:
    if request.method != "POST":
        return False
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return False
    return match.url_name == "login"  # ``login`` and ``admin:login``


class PasswordGateMiddleware:
    """Run a login POST only with a free slot of :data:`GATE`; otherwise answer 503 straight away."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not _is_login(request):
            return self.get_response(request)
        with GATE.slot() as admitted:
            if admitted:
                return self.get_response(request)
        logger.warning("login refused: %d password checks already running", CONCURRENT_CHECKS)
        response = render(
            request,
            "unavailable.html",
            {
                "zh": f"此刻登录的人太多，请 {RETRY_AFTER} 秒后重试。",
                "en": f"Too many logins at this moment; please try again in {RETRY_AFTER} seconds.",
            },
            status=503,
        )
        response["Retry-After"] = str(RETRY_AFTER)
        return response
