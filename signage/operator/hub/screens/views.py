"""The screens' telemetry endpoints and the ``/fleet`` page, as Django views.

- ``POST /telemetry/plays``: a batch of plays under an idempotency key ``batch_id``;
  200 ``{"accepted": n, "duplicate": bool, "refused": {reason: n}}``. Only plays of a version published to
  the screen's channel, at times between its publication and now plus a small skew, are stored; the rest are
  refused one by one and counted per screen and day (:mod:`signage.operator.hub.screens.provenance`). The batch is
  still answered 200, so the screen deletes it and never sends the refused plays again. Before the screen's
  first heartbeat the hub does not know its channel: 409 with ``Retry-After`` (the screen keeps the batch).
- ``POST /telemetry/heartbeat``: the screen's state once a minute; 200 ``{"hub_time": iso}``.

Each screen has a quota per China-local day (``Limits.plays_per_day``, ``Limits.heartbeats_per_day``); a
request over it gets 429 with ``Retry-After`` until the next China-local midnight, and is counted.
- ``GET /fleet``: the status page (template ``screens/fleet.html``), by default to the hub's own machine only.

Screens authenticate with bearer tokens, never with Django's authentication: these views are CSRF-exempt and
never touch ``request.user``, so django-axes cannot lock a screen out. Every refusal is a short JSON body
``{"error": "...", "zh": "..."}`` with one log line: 401 (no token, or one the hub does not know), 403 (the
token of another screen), 400 (not JSON, or a field of the wrong type or out of bounds: the message names the
field), 413 (too large: judged from ``Content-Length`` before anything is read, and reading is capped as well),
429 (a flood: a token bucket per token, decided in memory before any database work, and for failed
authentications one per presented token and one for the whole hub, never per client address), 405, 404; 503 when the database is busy or the telemetry share of the workers is
taken (try again later), 500 for a bug. A flood's 429s are logged at WARNING once, then at DEBUG until it
subsides, so that a flood cannot fill the journal.

Telemetry must never hold back the files screens need: at most ``Limits.concurrent`` telemetry requests touch
the database at once (the others get 503 at once, they do not wait), and every database call is one short
transaction.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from signage.core.playlist import CHINA_STANDARD_TIME
from signage.operator.hub.context import hub_context
from signage.operator.hub.fleet import (
    HEADERS,
    HEADERS_ZH,
    PAGE_REFRESH_S,
    ChannelState,
    ScreenStatus,
    cells,
    channel_forms,
    display_text,
    summary,
)
from signage.operator.hub.screens import ingest, provenance, queries, records
from signage.operator.hub.screens.ingest import Limits, RateLimiter, Refused, client_address
from signage.operator.hub.screens.provenance import Issued

logger = logging.getLogger(__name__)

_MAX_NAMES = 100_000
#: The key of the hub-wide failure bucket.
_ALL = "*"
_JSON = "application/json; charset=utf-8"

Channels = Callable[[], Mapping[str, ChannelState]]
#: ``(channel, version)`` -> what it published (:class:`signage.operator.hub.screens.provenance.PublishedVersions`).
Versions = Callable[[str, int], Issued | None]


class Telemetry:
    """The ingest's state shared by every request: the rate limiters, the concurrency gate, flood notes.

    Args:
        limits: Bounds of the ingest.
        channels: The repository's current versions by channel, for the fleet page.
        fleet_page_public: Serve ``/fleet`` to every client, not only to loopback addresses.
        monotonic: The time the rate limits count in.
        versions: What each channel's versions published, to judge plays by.
    """

    def __init__(
        self,
        *,
        limits: Limits,
        channels: Channels,
        fleet_page_public: bool,
        monotonic: Callable[[], float],
        versions: Versions,
    ) -> None:
        self.limits = limits
        self.channels = channels
        self.versions = versions
        self.fleet_page_public = fleet_page_public
        self._tokens = RateLimiter(limits.burst, limits.refill_seconds, monotonic=monotonic)
        self._failures = RateLimiter(limits.failure_burst, limits.failure_refill_seconds, monotonic=monotonic)
        self._all_failures = RateLimiter(
            limits.global_failure_burst, limits.global_failure_refill_seconds, monotonic=monotonic
        )
        self._gate = threading.BoundedSemaphore(limits.concurrent)
        self._flooding: set[str] = set()
        #: Token hash -> screen id of recent successful authentications, for naming floods in the log.
        self._names: dict[str, str] = {}
        self._lock = threading.Lock()

    # --- authentication: failures limited per credential and globally, never per address (issue 14) ---

    def bearer(self, request: HttpRequest) -> str:
        """The hash of the request's bearer token; 401 without one, 429 for a token that keeps failing.

        Failures are counted per presented token (its hash) and for all clients together, never per client
        address: a bus fleet reaches the hub from one address behind its mobile operator's NAT, and a broken
        or hostile client there must not lock the other screens out. A missing token costs no database work,
        so it is answered 401 without counting.
        """
        match = ingest.BEARER.fullmatch(str(request.META.get("HTTP_AUTHORIZATION", "")).strip())
        if match is None:
            raise Refused(
                401,
                "missing or malformed token: send 'Authorization: Bearer <token>'",
                "缺少令牌或格式错误：请发送 Authorization: Bearer <令牌>",
                [("WWW-Authenticate", 'Bearer realm="signage"')],
            )
        token_hash = ingest.hash_token(match.group(1))
        with self._lock:
            known = token_hash in self._names
        if not known:
            key = f"token sha256 {token_hash[:12]}…"
            if not self._failures.has_tokens(token_hash):
                raise self._flood(key, "too many failed authentications with this token")
            self._flood_over(key)
            if not self._all_failures.has_tokens(_ALL):
                # Unknown tokens from everywhere at once (a guessing run): refused before the database.
                raise self._flood("every client", "too many failed authentications on this hub")
            self._flood_over("every client")
        return token_hash

    def authenticate(self, request: HttpRequest, token_hash: str) -> str:
        """The screen the token belongs to; 401 for an unknown token, counted against it and the hub."""
        screen_id = records.check_token(token_hash)
        if screen_id is None:
            self._failures.take(token_hash)
            self._all_failures.take(_ALL)
            with self._lock:
                # A token removed from the register is a stranger again.
                self._names.pop(token_hash, None)
            raise Refused(
                401,
                "unknown token: register the screen with 'signage screens add' and install its token",
                "令牌无效：请用 signage screens add 登记屏幕并安装其令牌",
                [("WWW-Authenticate", 'Bearer realm="signage", error="invalid_token"')],
            )
        with self._lock:
            if len(self._names) >= _MAX_NAMES:
                self._names.clear()
            self._names[token_hash] = screen_id
        return screen_id

    def throttle(self, token_hash: str) -> None:
        """429 for a token over its rate, decided in memory before any database work."""
        with self._lock:
            # Only to name the screen in the log line; authentication is always the database's answer.
            name = self._names.get(token_hash, f"with token sha256 {token_hash[:12]}…")
        key = f"screen {name}"
        if not self._tokens.take(token_hash):
            raise self._flood(key, "too many requests from this screen")
        self._flood_over(key)

    @contextmanager
    def working(self) -> Iterator[None]:
        """Hold one of the telemetry slots, or answer 503 at once: a waiting request would hold a worker."""
        if not self._gate.acquire(blocking=False):
            raise Refused(
                503,
                "the hub is busy with other telemetry; try again later",
                "集线器正忙，请稍后重试",
                [("Retry-After", "5")],
            )
        try:
            yield
        finally:
            self._gate.release()

    def _flood_over(self, key: str) -> None:
        """``key`` is within its limit again: its next flood is logged at WARNING once more."""
        with self._lock:
            self._flooding.discard(key)

    def _flood(self, key: str, en: str) -> Refused:
        """A 429, logged at WARNING once per flood and at DEBUG while it lasts."""
        with self._lock:
            repeated = key in self._flooding
            self._flooding.add(key)
        return Refused(
            429,
            f"{en}; slow down and retry later",
            "请求过于频繁，请稍后重试",
            [("Retry-After", str(max(1, round(self.limits.refill_seconds / self.limits.burst))))],
            quiet=repeated,
        )


_telemetry: Telemetry | None = None
_telemetry_lock = threading.Lock()


def configure(
    *,
    limits: Limits | None = None,
    channels: Channels | None = None,
    fleet_page_public: bool = False,
    monotonic: Callable[[], float] = time.monotonic,
    versions: Versions | None = None,
) -> Telemetry:
    """Set up the ingest (fresh limiters) for this process; by whoever starts the hub, or a test.

    ``versions`` defaults to the repository's playlist files and the console's published versions.
    """
    global _telemetry
    with _telemetry_lock:
        _telemetry = Telemetry(
            limits=limits or Limits(),
            channels=channels or dict,
            fleet_page_public=fleet_page_public,
            monotonic=monotonic,
            versions=versions or provenance.default_versions(hub_context().repo_dir, monotonic=monotonic),
        )
        return _telemetry


def telemetry() -> Telemetry:
    """The ingest :func:`configure` set up; by default one for ``hub_context()``'s repository.

    The default reads ``DIR/hub.toml`` for ``fleet_page_public`` and the repository's channels for the page.
    """
    global _telemetry
    with _telemetry_lock:
        if _telemetry is None:
            from signage.operator.hub.channels import RepositoryChannels
            from signage.operator.hub.options import load_options

            repo_dir = hub_context().repo_dir
            _telemetry = Telemetry(
                limits=Limits(),
                channels=RepositoryChannels(repo_dir),
                fleet_page_public=load_options(repo_dir).fleet_page_public,
                monotonic=time.monotonic,
                versions=provenance.default_versions(repo_dir, monotonic=time.monotonic),
            )
        return _telemetry


# --- the views ----------------------------------------------------------------------------------------


def _answering(methods: tuple[str, ...]) -> Callable[[Callable[[HttpRequest], HttpResponse]], Any]:
    """Wrap a view: 405 for other methods, every :class:`Refused` and failure as a JSON answer; never raises."""

    def wrap(view: Callable[[HttpRequest], HttpResponse]) -> Any:
        def answer(request: HttpRequest) -> HttpResponse:
            try:
                if request.method not in methods:
                    raise Refused(
                        405,
                        f"method {request.method} not allowed here; use {' or '.join(methods)}",
                        f"此地址不接受 {request.method} 请求；请用 {' 或 '.join(methods)}",
                        [("Allow", ", ".join(methods))],
                    )
                return view(request)
            except Refused as refusal:
                _log(logging.DEBUG if refusal.quiet else logging.WARNING, request, refusal.status, refusal.en)
                return _error(refusal)
            except records.StoreUnavailable as error:
                _log(logging.WARNING, request, 503, error.en)
                busy = Refused(
                    503,
                    "the telemetry database is busy; try again later",
                    "遥测数据库繁忙，请稍后重试",
                    [("Retry-After", "10")],
                )
                return _error(busy)
            except Exception:
                # A bug: the traceback is for whoever fixes it; the screen gets a 500 and retries later.
                logger.exception(
                    "telemetry request %s %r from %s failed",
                    request.method,
                    request.path,
                    client_address(request.META),
                )
                return _error(Refused(500, "internal error", "内部错误"))

        answer.__doc__ = view.__doc__
        answer.__name__ = view.__name__
        return csrf_exempt(answer)

    return wrap


def _read_body(request: HttpRequest, limit: int) -> bytes:
    """The body, never reading more than ``limit + 1`` bytes whatever the headers said."""
    data = request.read(limit + 1)
    if len(data) > limit:
        raise ingest.too_large(limit)
    return bytes(data)


@_answering(("POST",))
def plays(request: HttpRequest) -> HttpResponse:
    """``POST /telemetry/plays``: record a batch of plays once; refuse, one by one, those not believed."""
    state = telemetry()
    limits = state.limits
    ingest.check_length(str(request.META.get("CONTENT_LENGTH") or ""), limits.plays_body_bytes)
    token_hash = state.bearer(request)
    state.throttle(token_hash)
    with state.working():
        screen_id = state.authenticate(request, token_hash)
        document = ingest.parse(_read_body(request, limits.plays_body_bytes))
        now = hub_context().clock()
        batch_id, batch = ingest.batch(document, screen_id, now=now, limits=limits)
        believed, refused = _judge(state, screen_id, batch, now)
        today = ingest.china_day(now)
        try:
            result = records.record_batch(
                screen_id,
                batch_id,
                believed,
                received_at=now,
                refused=refused,
                day=today,
                quota=limits.plays_per_day,
            )
        except records.QuotaExceeded:
            records.count_over_quota(screen_id, today)
            raise _over_quota(now, f"{limits.plays_per_day} plays") from None
    duplicate = " (duplicate)" if result.duplicate else ""
    refusals = f", refused {dict(result.refused)}" if result.refused else ""
    _log(
        logging.DEBUG,
        request,
        200,
        f"{screen_id} batch {batch_id}: {result.accepted} plays{refusals}{duplicate}",
    )
    return _json(
        {"accepted": result.accepted, "duplicate": result.duplicate, "refused": dict(result.refused)}
    )


def _judge(
    state: Telemetry, screen_id: str, batch: list[ingest.Play], now: dt.datetime
) -> tuple[list[ingest.Play], dict[str, int]]:
    """The plays of ``batch`` the hub believes, and reason -> plays refused (:mod:`provenance`)."""
    channel = records.screen_channel(screen_id)
    if channel is None:
        raise Refused(
            409,
            "the hub does not know this screen's channel yet: send a heartbeat first, then the plays again",
            "集线器尚不知道这块屏幕的频道：请先发送心跳，再重新上传播放记录",
            [("Retry-After", "60")],
        )
    believed: list[ingest.Play] = []
    refused: dict[str, int] = {}
    for play in batch:
        issued = state.versions(channel, play.playlist_version) if play.playlist_version else None
        reason = provenance.judge(play, issued, now=now, skew=state.limits.play_skew)
        if reason is None:
            believed.append(play)
        else:
            refused[reason.value] = refused.get(reason.value, 0) + 1
    return believed, refused


def _over_quota(now: dt.datetime, quota: str) -> Refused:
    """429 until the next China-local midnight, when the screen's quota starts again."""
    tomorrow = ingest.china_day(now) + dt.timedelta(days=1)
    midnight = dt.datetime.combine(tomorrow, dt.time(), tzinfo=dt.timezone(CHINA_STANDARD_TIME))
    seconds = max(1, int((midnight - now).total_seconds()) + 1)
    return Refused(
        429,
        f"this screen has sent its quota of {quota} for today (China Standard Time); retry after midnight",
        f"这块屏幕今天（北京时间）的配额（{quota}）已用完；请在午夜之后重试",
        [("Retry-After", str(seconds))],
    )


@_answering(("POST",))
def heartbeat(request: HttpRequest) -> HttpResponse:
    """``POST /telemetry/heartbeat``: keep the screen's state; answer the hub's time."""
    state = telemetry()
    limits = state.limits
    ingest.check_length(str(request.META.get("CONTENT_LENGTH") or ""), limits.heartbeat_body_bytes)
    token_hash = state.bearer(request)
    state.throttle(token_hash)
    with state.working():
        screen_id = state.authenticate(request, token_hash)
        document = ingest.parse(_read_body(request, limits.heartbeat_body_bytes))
        now = hub_context().clock()
        body = ingest.heartbeat(document, screen_id, now=now, limits=limits)
        today = ingest.china_day(now)
        try:
            records.record_heartbeat(screen_id, body, now, day=today, quota=limits.heartbeats_per_day)
        except records.QuotaExceeded:
            records.count_over_quota(screen_id, today)
            raise _over_quota(now, f"{limits.heartbeats_per_day} heartbeats") from None
    _log(logging.DEBUG, request, 200, f"{screen_id} heartbeat")
    hub_time = now.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return _json({"hub_time": hub_time})


@_answering(("GET", "HEAD"))
def fleet(request: HttpRequest) -> HttpResponse:
    """``GET /fleet``: every screen's status, unhealthy first; to loopback clients unless made public."""
    state = telemetry()
    if not state.fleet_page_public and not ingest.LOOPBACK.fullmatch(client_address(request.META)):
        # The same answer as any unknown path: the page is for the operator's own machine.
        raise Refused(404, "not found", "没有这个地址")
    now = hub_context().clock()
    note = ""
    try:
        channels = state.channels()
    except Exception as error:
        # The page is most needed when something is wrong: show the screens anyway.
        logger.warning("fleet page: cannot read the repository's current versions: %s", error)
        channels, note = {}, _("无法读取当前版本：%(error)s") % {"error": error}
    with state.working():
        statuses = queries.fleet_statuses(now, channels)
        days = records.screen_days(ingest.china_day(now))
    context = fleet_page_context(statuses, now=now, note=note, days=days)
    response = render(request, "screens/fleet.html", context)
    response["Cache-Control"] = "no-store"
    return response


def fleet_page_context(
    statuses: list[ScreenStatus],
    *,
    now: dt.datetime,
    note: str = "",
    days: Mapping[str, records.ScreenDayCounts] | None = None,
) -> dict[str, Any]:
    """What ``screens/fleet.html`` shows: one row of plain text cells per screen (the template escapes them).

    ``days`` has what each screen sent today (China Standard Time): its refused plays and 429s are shown.
    """
    refusals = {
        screen_id: provenance.refusal_text(counts.refused, counts.over_quota)
        for screen_id, counts in (days or {}).items()
    }
    rows = [
        {
            "presence": status.presence.value,
            "cells": cells(status, now),
            "attention": "; ".join(status.attention()),
            "pending": ", ".join(status.unacknowledged),
            "exact": status.unacknowledged_exact,
            "name": status.name,
            "location": status.location,
            "display": "" if status.display is None else display_text(status.display),
            "refused": refusals.get(status.screen_id, ("", "")),
        }
        for status in statuses
    ]
    return {
        "headers": list(zip(HEADERS_ZH, HEADERS, strict=True)),
        "rows": rows,
        "summary": summary(statuses),
        # Per channel, which screens still read the single file (issue 15), in both languages.
        "forms": [forms.texts() for forms in channel_forms(statuses, now=now)],
        "now": now.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "note": note,
        "refresh": PAGE_REFRESH_S,
    }


def not_found(request: HttpRequest) -> HttpResponse:
    """Any other path under ``/telemetry/``: a JSON 404 like every other refusal there."""
    _log(logging.WARNING, request, 404, "not found")
    return _error(Refused(404, "not found", "没有这个地址"))


# --- answers ------------------------------------------------------------------------------------------


def _json(payload: Mapping[str, Any]) -> HttpResponse:
    response = JsonResponse(dict(payload), content_type=_JSON, json_dumps_params={"ensure_ascii": False})
    response["Cache-Control"] = "no-store"
    return response


def _error(refusal: Refused) -> HttpResponse:
    response = JsonResponse(
        {"error": refusal.en, "zh": refusal.zh},
        status=refusal.status,
        content_type=_JSON,
        json_dumps_params={"ensure_ascii": False},
    )
    response["Cache-Control"] = "no-store"
    for name, value in refusal.headers:
        response[name] = value
    return response


def _log(level: int, request: HttpRequest, status: int, note: str) -> None:
    # %r keeps control characters of a hostile path or message out of the log as raw bytes.
    logger.log(
        level,
        "%s %r %s from %s: %s",
        request.method,
        request.path,
        status,
        client_address(request.META),
        note,
    )
