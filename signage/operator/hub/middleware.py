"""The hub's one place that turns an error a view did not handle into an answer, never a 500 with a trace.

Views handle what they expect (bad forms, refusals) themselves. What is left here is what the operator cannot
fix from the page: the database is locked or unreachable, the repository or its keys cannot be used. Those
get a 503 page that says what happened, in Chinese and English, and a log line; the request changed
nothing it did not commit. Anything else is a bug, and Django's own handler logs it and shows ``500.html``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from signage.core.errors import SignageError

logger = logging.getLogger("signage.operator.hub")


class UnavailableMiddleware:
    """Answer 503 with a bilingual page when the database or the repository fails under a view."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, DatabaseError):
            zh = "数据库暂时无法使用（可能正忙或无法连接），操作没有完成。请稍后重试。"
            en = "The database is busy or unreachable, so nothing was done. Please try again in a moment."
        elif isinstance(exception, SignageError):
            zh, en = exception.zh, exception.en
        else:
            return None
        logger.warning("%s %s answered 503: %s", request.method, request.path[:200], en)
        response = render(request, "unavailable.html", {"zh": zh, "en": en}, status=503)
        response["Retry-After"] = "30"
        return response
