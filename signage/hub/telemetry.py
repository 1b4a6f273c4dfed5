"""The hub's telemetry ingest: proof-of-play batches and heartbeats from screens, and the fleet page.

Routes (everything else under ``/telemetry/`` is a 404):

- ``POST /telemetry/plays``: a batch of plays under an idempotency key ``batch_id``;
  200 ``{"accepted": n, "duplicate": bool}``.
- ``POST /telemetry/heartbeat``: the screen's state once a minute; 200 ``{"hub_time": iso}``.
- ``GET /fleet``: the plain HTML status page (:mod:`signage.hub.fleet`), by default to the hub's own
  machine only.

Every refusal is a short JSON body ``{"error": "...", "zh": "..."}`` with one log line: 401 (no token,
or one the hub does not know), 403 (the token of another screen), 400 (not JSON, or a field of the
wrong type or out of bounds: the message names the field), 413 (too large: judged from
``Content-Length`` before anything is read, and reading is capped as well), 429 (a flood: a token
bucket per token, decided in memory before any database work, and one per client address for failed
authentications), 405, 404; 503 when the database is busy or the telemetry share of the workers is
taken (try again later), 500 for a bug. A flood's 429s are logged at WARNING once, then at DEBUG until
it subsides, so that a flood cannot fill the journal.

Telemetry must never hold back the files screens need. waitress calls this application on its worker
threads, the same ones that serve ``public/``; so at most ``Limits.concurrent`` telemetry requests
touch the database at once (the others get 503 at once, they do not wait), every database call is one
short transaction with a bounded wait, and nothing here can raise into waitress. What waitress itself
does before the application runs (it buffers the whole body) is bounded by its
``max_request_body_size``, which the hub should set to :data:`MAX_REQUEST_BODY_BYTES`.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from signage.config import ID_RE
from signage.hub.fleet import ChannelState, Heartbeat, fleet_status, render_html
from signage.hub.store import Play, StoreUnavailable, TelemetryStore, hash_token
from signage.playlist import is_channel_id

logger = logging.getLogger(__name__)

PLAYS_PATH: Final = "/telemetry/plays"
HEARTBEAT_PATH: Final = "/telemetry/heartbeat"
FLEET_PATH: Final = "/fleet"
#: What waitress should refuse on its own, from Content-Length, before buffering a body for the
#: application (``Hub(max_request_body_size=...)``): above the largest body any route accepts, so that
#: bodies between the two still get this module's JSON 413.
MAX_REQUEST_BODY_BYTES: Final = 2 * 1024 * 1024

_BATCH_ID: Final = re.compile(r"[0-9a-f]{32}")
_ENTRY_HASH: Final = re.compile(r"[0-9a-f]{64}")
# A debtor entry id as the playlist writes it (signage.playlist._ID), a notice, or the standby slide.
_ENTRY_ID: Final = re.compile(r"(notice:)?[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_STANDBY: Final = "standby"
_BEARER: Final = re.compile(r"Bearer +([A-Za-z0-9_-]{16,128})", re.IGNORECASE)
_MAX_VERSION: Final = 2**53
_MAX_DURATION_MS: Final = 86_400_000
_TEN_YEARS_S: Final = 10 * 366 * 86400
_EARLIEST: Final = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
_MAX_NAMES: Final = 100_000
_ADDRESS: Final = re.compile(r"[0-9A-Fa-f.:]{2,45}")
_LOOPBACK: Final = re.compile(r"127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+")


@dataclass(frozen=True)
class Limits:
    """Bounds of the ingest.

    Attributes:
        plays_body_bytes: Largest body of a plays batch.
        heartbeat_body_bytes: Largest body of a heartbeat.
        max_plays: Most plays in one batch.
        burst: Requests one screen may make at once; refilled evenly over ``refill_seconds``.
        refill_seconds: Time for an empty bucket to fill up again (10 per 10 s: one a second).
        failure_burst: Failed authentications one client address may make before it gets 429 …
        failure_refill_seconds: … refilled evenly over this long.
        concurrent: Telemetry requests working at once; keep it below the hub's waitress threads.
        max_ahead: How far after the hub's time a play may start or a heartbeat be sent (clock trouble).
    """

    plays_body_bytes: int = 1024 * 1024
    heartbeat_body_bytes: int = 16 * 1024
    max_plays: int = 5000
    burst: int = 10
    refill_seconds: float = 10.0
    failure_burst: int = 20
    failure_refill_seconds: float = 60.0
    concurrent: int = 4
    max_ahead: dt.timedelta = dt.timedelta(days=1)


class RateLimiter:
    """Token buckets by key, in memory: ``capacity`` at once, refilled evenly over ``refill_seconds``.

    Keys are screen ids (bounded by the registered screens) or client addresses; past ``max_keys`` the
    full buckets are forgotten (a full bucket is the same as no bucket), then the oldest.
    """

    def __init__(
        self,
        capacity: int,
        refill_seconds: float,
        *,
        monotonic: Callable[[], float],
        max_keys: int = 10_000,
    ) -> None:
        self._capacity = float(capacity)
        self._rate = capacity / refill_seconds
        self._monotonic = monotonic
        self._max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> bool:
        """Spend one token of ``key``'s bucket; False (and nothing spent) when it is empty."""
        with self._lock:
            tokens, now = self._level(key)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                return False
            self._buckets[key] = (tokens - 1.0, now)
            self._prune(now)
            return True

    def has_tokens(self, key: str) -> bool:
        """Whether ``key``'s bucket has a token left, without spending it."""
        with self._lock:
            return self._level(key)[0] >= 1.0

    def _level(self, key: str) -> tuple[float, float]:
        now = self._monotonic()
        tokens, then = self._buckets.get(key, (self._capacity, now))
        return min(self._capacity, tokens + (now - then) * self._rate), now

    def _prune(self, now: float) -> None:
        if len(self._buckets) <= self._max_keys:
            return
        full = [
            key
            for key, (tokens, then) in self._buckets.items()
            if tokens + (now - then) * self._rate >= self._capacity
        ]
        for key in full:
            del self._buckets[key]
        if len(self._buckets) > self._max_keys:
            # Dicts keep insertion order, and a bucket is re-inserted only when new: drop the oldest half.
            for key in list(self._buckets)[: len(self._buckets) // 2]:
                del self._buckets[key]


class _Refused(Exception):
    """A request answered with an error status; ``en`` and ``zh`` go into the body and the log line."""

    def __init__(
        self, status: str, en: str, zh: str, headers: Iterable[tuple[str, str]] = (), *, quiet: bool = False
    ) -> None:
        super().__init__(en)
        self.status = status
        self.en = en
        self.zh = zh
        self.headers = list(headers)
        #: Logged at DEBUG: the same refusal repeated (a flood), already logged once at WARNING.
        self.quiet = quiet


@dataclass(frozen=True)
class _Answer:
    status: str
    body: bytes
    content_type: str
    note: str = ""


class TelemetryApp:
    """The WSGI application of the telemetry routes; see :func:`make_telemetry_app`."""

    def __init__(
        self,
        store: TelemetryStore,
        *,
        clock: Callable[[], dt.datetime],
        limits: Limits,
        channels: Callable[[], Mapping[str, ChannelState]],
        fleet_page_public: bool,
        monotonic: Callable[[], float],
    ) -> None:
        self._store = store
        self._clock = clock
        self._limits = limits
        self._channels = channels
        self._fleet_page_public = fleet_page_public
        self._tokens = RateLimiter(limits.burst, limits.refill_seconds, monotonic=monotonic)
        self._failures = RateLimiter(limits.failure_burst, limits.failure_refill_seconds, monotonic=monotonic)
        self._gate = threading.BoundedSemaphore(limits.concurrent)
        self._flooding: set[str] = set()
        #: Token hash -> screen id of recent successful authentications, for naming floods in the log.
        self._names: dict[str, str] = {}
        self._flooding_lock = threading.Lock()

    def close(self) -> None:
        """Close the store this application was given."""
        self._store.close()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Answer one request; never raises."""
        who = client_address(environ)
        try:
            answer = self._route(environ)
        except _Refused as refusal:
            level = logging.DEBUG if refusal.quiet else logging.WARNING
            self._log(level, environ, refusal.status, refusal.en)
            return self._error(environ, start_response, refusal)
        except StoreUnavailable as error:
            self._log(logging.WARNING, environ, "503", error.en)
            busy = _Refused(
                "503 Service Unavailable",
                "the telemetry database is busy; try again later",
                "遥测数据库繁忙，请稍后重试",
                [("Retry-After", "10")],
            )
            return self._error(environ, start_response, busy)
        except Exception:
            # A bug: the traceback is for whoever fixes it; the screen gets a 500 and retries later.
            logger.exception(
                "telemetry request %s %r from %s failed",
                environ.get("REQUEST_METHOD"),
                environ.get("PATH_INFO"),
                who,
            )
            failed = _Refused("500 Internal Server Error", "internal error", "内部错误")
            return self._error(environ, start_response, failed)
        self._log(logging.DEBUG, environ, answer.status, answer.note)
        headers = [
            ("Content-Type", answer.content_type),
            ("Content-Length", str(len(answer.body))),
            ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"),
        ]
        start_response(answer.status, headers)
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [answer.body]

    # --- routing -------------------------------------------------------------------------------------

    def _route(self, environ: WSGIEnvironment) -> _Answer:
        path = str(environ.get("PATH_INFO", ""))
        method = str(environ.get("REQUEST_METHOD", ""))
        routes: dict[str, tuple[tuple[str, ...], Callable[[WSGIEnvironment], _Answer]]] = {
            PLAYS_PATH: (("POST",), self._plays),
            HEARTBEAT_PATH: (("POST",), self._heartbeat),
            FLEET_PATH: (("GET", "HEAD"), self._fleet_page),
        }
        route = routes.get(path)
        if route is None:
            raise _Refused("404 Not Found", "not found", "没有这个地址")
        methods, handler = route
        if method not in methods:
            raise _Refused(
                "405 Method Not Allowed",
                f"method {method} not allowed here; use {' or '.join(methods)}",
                f"此地址不接受 {method} 请求；请用 {' 或 '.join(methods)}",
                [("Allow", ", ".join(methods))],
            )
        return handler(environ)

    def _plays(self, environ: WSGIEnvironment) -> _Answer:
        limits = self._limits
        _check_length(environ, limits.plays_body_bytes)
        token_hash = self._bearer(environ)
        self._throttle(token_hash)
        with self._working():
            screen_id = self._authenticate(environ, token_hash)
            document = _parse(_read_body(environ, limits.plays_body_bytes))
            now = self._clock()
            batch_id, plays = _batch(document, screen_id, now=now, limits=limits)
            result = self._store.record_batch(screen_id, batch_id, plays, received_at=now)
        note = f"{screen_id} batch {batch_id}: {result.accepted} plays{' (duplicate)' if result.duplicate else ''}"
        return _json_answer({"accepted": result.accepted, "duplicate": result.duplicate}, note)

    def _heartbeat(self, environ: WSGIEnvironment) -> _Answer:
        _check_length(environ, self._limits.heartbeat_body_bytes)
        token_hash = self._bearer(environ)
        self._throttle(token_hash)
        with self._working():
            screen_id = self._authenticate(environ, token_hash)
            document = _parse(_read_body(environ, self._limits.heartbeat_body_bytes))
            now = self._clock()
            heartbeat = _heartbeat(document, screen_id, now=now, limits=self._limits)
            self._store.record_heartbeat(screen_id, heartbeat, now)
        hub_time = now.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return _json_answer({"hub_time": hub_time}, f"{screen_id} heartbeat")

    def _fleet_page(self, environ: WSGIEnvironment) -> _Answer:
        if not self._fleet_page_public and not _LOOPBACK.fullmatch(client_address(environ)):
            # The same answer as any unknown path: the page is for the operator's own machine.
            raise _Refused("404 Not Found", "not found", "没有这个地址")
        now = self._clock()
        note = ""
        try:
            channels = self._channels()
        except Exception as error:
            # The page is most needed when something is wrong: show the screens anyway.
            logger.warning("fleet page: cannot read the repository's current versions: %s", error)
            channels, note = {}, f"cannot read the repository's current versions / 无法读取当前版本: {error}"
        with self._working():
            screens = [record.screen_id for record in self._store.screens()]
            latest = {
                stored.screen_id: (stored.received_at, Heartbeat.from_document(stored.heartbeat))
                for stored in self._store.latest_heartbeats()
            }
        statuses = fleet_status(latest, screens=screens, now=now, channels=channels)
        page = render_html(statuses, now=now, note=note).encode("utf-8")
        return _Answer("200 OK", page, "text/html; charset=utf-8")

    # --- guards --------------------------------------------------------------------------------------

    def _bearer(self, environ: WSGIEnvironment) -> str:
        """The hash of the request's bearer token; 401 without one, 429 for an address that keeps failing."""
        address = client_address(environ)
        if not self._failures.has_tokens(address):
            raise self._flood(f"address {address}", "too many failed authentications from this address")
        self._flood_over(f"address {address}")
        header = str(environ.get("HTTP_AUTHORIZATION", ""))
        match = _BEARER.fullmatch(header.strip())
        if match is None:
            self._failures.take(address)
            raise _Refused(
                "401 Unauthorized",
                "missing or malformed token: send 'Authorization: Bearer <token>'",
                "缺少令牌或格式错误：请发送 Authorization: Bearer <令牌>",
                [("WWW-Authenticate", 'Bearer realm="signage"')],
            )
        return hash_token(match.group(1))

    def _authenticate(self, environ: WSGIEnvironment, token_hash: str) -> str:
        """The screen the token belongs to; 401 for an unknown token."""
        screen_id = self._store.check_token(token_hash)
        if screen_id is None:
            self._failures.take(client_address(environ))
            raise _Refused(
                "401 Unauthorized",
                "unknown token: register the screen with 'signage screens add' and install its token",
                "令牌无效：请用 signage screens add 登记屏幕并安装其令牌",
                [("WWW-Authenticate", 'Bearer realm="signage", error="invalid_token"')],
            )
        with self._flooding_lock:
            if len(self._names) >= _MAX_NAMES:
                self._names.clear()
            self._names[token_hash] = screen_id
        return screen_id

    def _throttle(self, token_hash: str) -> None:
        """429 for a token over its rate, decided in memory before any database work."""
        with self._flooding_lock:
            # Only to name the screen in the log line; authentication is always the store's answer.
            name = self._names.get(token_hash, f"with token sha256 {token_hash[:12]}…")
        key = f"screen {name}"
        if not self._tokens.take(token_hash):
            raise self._flood(key, "too many requests from this screen")
        self._flood_over(key)

    def _flood_over(self, key: str) -> None:
        """``key`` is within its limit again: its next flood is logged at WARNING once more."""
        with self._flooding_lock:
            self._flooding.discard(key)

    def _flood(self, key: str, en: str) -> _Refused:
        """A 429, logged at WARNING once per flood and at DEBUG while it lasts."""
        with self._flooding_lock:
            repeated = key in self._flooding
            self._flooding.add(key)
        return _Refused(
            "429 Too Many Requests",
            f"{en}; slow down and retry later",
            "请求过于频繁，请稍后重试",
            [("Retry-After", str(max(1, round(self._limits.refill_seconds / self._limits.burst))))],
            quiet=repeated,
        )

    @contextmanager
    def _working(self) -> Iterator[None]:
        """Hold one of the telemetry slots, or answer 503 at once: a waiting request would hold a worker."""
        if not self._gate.acquire(blocking=False):
            raise _Refused(
                "503 Service Unavailable",
                "the hub is busy with other telemetry; try again later",
                "集线器正忙，请稍后重试",
                [("Retry-After", "5")],
            )
        try:
            yield
        finally:
            self._gate.release()

    # --- responses -----------------------------------------------------------------------------------

    @staticmethod
    def _error(environ: WSGIEnvironment, start_response: StartResponse, refusal: _Refused) -> Iterable[bytes]:
        body = json.dumps({"error": refusal.en, "zh": refusal.zh}, ensure_ascii=False).encode("utf-8")
        headers = [
            ("Content-Type", "application/json; charset=utf-8"),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"),
            *refusal.headers,
        ]
        start_response(refusal.status, headers)
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [body]

    @staticmethod
    def _log(level: int, environ: WSGIEnvironment, status: str, note: str) -> None:
        # %r keeps control characters of a hostile path or message out of the log as raw bytes.
        logger.log(
            level,
            "%s %r %s from %s: %s",
            environ.get("REQUEST_METHOD"),
            environ.get("PATH_INFO"),
            status[:3],
            client_address(environ),
            note,
        )


def make_telemetry_app(
    store: TelemetryStore,
    *,
    clock: Callable[[], dt.datetime],
    limits: Limits | None = None,
    channels: Callable[[], Mapping[str, ChannelState]] | None = None,
    fleet_page_public: bool = False,
    monotonic: Callable[[], float] = time.monotonic,
) -> TelemetryApp:
    """The WSGI application of ``/telemetry/plays``, ``/telemetry/heartbeat`` and ``/fleet``.

    Args:
        store: Where screens, plays and heartbeats are kept; :meth:`TelemetryApp.close` closes it.
        clock: The hub's time (timezone-aware): received times, ``hub_time``, the fleet page.
        limits: Bounds of the ingest; :class:`Limits` by default.
        channels: The repository's current versions by channel, for the fleet page; none by default.
        fleet_page_public: Serve ``/fleet`` to every client, not only to loopback addresses.
        monotonic: The time the rate limits count in.
    """
    return TelemetryApp(
        store,
        clock=clock,
        limits=limits or Limits(),
        channels=channels or dict,
        fleet_page_public=fleet_page_public,
        monotonic=monotonic,
    )


def client_address(environ: WSGIEnvironment) -> str:
    """The client's address: ``X-Real-IP`` when a proxy on this machine set it, else the peer's.

    Behind nginx on the same host every request comes from 127.0.0.1; nginx's
    ``proxy_set_header X-Real-IP $remote_addr`` then names the screen. The header is believed only from a
    loopback peer, so a screen talking to the hub directly cannot pretend to be the hub's own machine
    (and so reach the fleet page, or escape its address's limit).
    """
    peer = str(environ.get("REMOTE_ADDR", "?"))
    forwarded = str(environ.get("HTTP_X_REAL_IP", "")).strip()
    if forwarded and _LOOPBACK.fullmatch(peer) and _ADDRESS.fullmatch(forwarded):
        return forwarded
    return peer


def compose(files_app: WSGIApplication, telemetry_app: WSGIApplication) -> WSGIApplication:
    """One application: ``/telemetry/*`` and ``/fleet`` to ``telemetry_app``, everything else to ``files_app``."""

    def application(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO", ""))
        if path in (FLEET_PATH, "/telemetry") or path.startswith("/telemetry/"):
            return telemetry_app(environ, start_response)
        return files_app(environ, start_response)

    return application


# --- reading the request ------------------------------------------------------------------------------


def _too_large(limit: int) -> _Refused:
    return _Refused(
        "413 Content Too Large",
        f"the body is larger than {limit} bytes",
        f"请求内容超过 {limit} 字节",
    )


def _check_length(environ: WSGIEnvironment, limit: int) -> None:
    """413 from ``Content-Length`` alone, before anything is read; 400 for a length that is not one."""
    text = str(environ.get("CONTENT_LENGTH") or "").strip()
    if not text:
        return
    if not text.isdigit():
        raise _Refused("400 Bad Request", f"bad Content-Length {text[:20]!r}", "Content-Length 无效")
    if int(text) > limit:
        raise _too_large(limit)


def _read_body(environ: WSGIEnvironment, limit: int) -> bytes:
    """The body, never reading more than ``limit + 1`` bytes whatever the headers said."""
    text = str(environ.get("CONTENT_LENGTH") or "").strip()
    stream = environ["wsgi.input"]
    data = bytes(stream.read(int(text))) if text else bytes(stream.read(limit + 1))
    if len(data) > limit:
        raise _too_large(limit)
    return data


def _parse(data: bytes) -> dict[str, Any]:
    """The JSON object in ``data``; 400 for anything else (NaN and Infinity included)."""
    try:
        document = json.loads(data.decode("utf-8"), parse_constant=_no_constant)
    except UnicodeDecodeError:
        raise _bad("the body is not UTF-8", "请求内容不是 UTF-8 编码") from None
    except (ValueError, RecursionError) as error:
        # RecursionError: "[[[[…" nested thousands deep fits in a small body.
        raise _bad(f"malformed JSON: {error}", f"JSON 格式错误：{error}") from None
    if not isinstance(document, dict):
        raise _bad("the body must be a JSON object", "请求内容必须是 JSON 对象")
    return document


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def _bad(en: str, zh: str) -> _Refused:
    return _Refused("400 Bad Request", en, zh)


def _field_error(where: str, en: str, zh: str) -> _Refused:
    return _bad(f"field '{where}': {en}", f"字段 {where}：{zh}")


# --- validating fields --------------------------------------------------------------------------------


class _Fields:
    """Typed, bounded access to one JSON object; every error names the field (``plays[3].started``)."""

    def __init__(self, value: object, where: str) -> None:
        if not isinstance(value, dict):
            raise _field_error(where, "must be a JSON object", "必须是 JSON 对象")
        self._value: dict[str, Any] = value
        self._where = where

    def name(self, key: str) -> str:
        return f"{self._where}.{key}" if self._where else key

    def raw(self, key: str, *, optional: bool = False) -> Any:
        if key not in self._value or (optional and self._value[key] is None):
            if optional:
                return None
            raise _field_error(self.name(key), "is missing", "缺失")
        return self._value[key]

    def text(
        self, key: str, high: int, *, pattern: re.Pattern[str] | None = None, optional: bool = False
    ) -> Any:
        value = self.raw(key, optional=optional)
        if value is None:
            return None
        if not isinstance(value, str) or len(value) > high:
            raise _field_error(
                self.name(key),
                f"must be a string of at most {high} characters",
                f"必须是不超过 {high} 个字符的字符串",
            )
        if pattern is not None and not pattern.fullmatch(value):
            raise _field_error(
                self.name(key), f"{value[:80]!r} has the wrong form", f"{value[:80]!r} 格式不对"
            )
        return value

    def integer(self, key: str, low: int, high: int, *, optional: bool = False) -> Any:
        value = self.raw(key, optional=optional)
        if value is None:
            return None
        # bool is an int in Python, and 1.0 == 1: neither is an integer in this protocol.
        if type(value) is not int or not low <= value <= high:
            raise _field_error(
                self.name(key),
                f"must be an integer from {low} to {high}",
                f"必须是 {low} 到 {high} 之间的整数",
            )
        return value

    def number(self, key: str, low: float, high: float, *, optional: bool = False) -> Any:
        value = self.raw(key, optional=optional)
        if value is None:
            return None
        if type(value) not in (int, float) or not low <= value <= high:
            raise _field_error(
                self.name(key),
                f"must be a number from {low:g} to {high:g}",
                f"必须是 {low:g} 到 {high:g} 之间的数",
            )
        return value

    def boolean(self, key: str, *, optional: bool = False) -> Any:
        value = self.raw(key, optional=optional)
        if value is None:
            return None
        if type(value) is not bool:
            raise _field_error(self.name(key), "must be true or false", "必须是 true 或 false")
        return value

    def moment(self, key: str, *, latest: dt.datetime | None = None) -> dt.datetime:
        """A required ISO 8601 time with a zone, not before 2020 and not after ``latest``."""
        moment = self.optional_moment(key, latest=latest)
        if moment is None:
            raise _field_error(self.name(key), "is missing", "缺失")
        return moment

    def optional_moment(self, key: str, *, latest: dt.datetime | None = None) -> dt.datetime | None:
        """Like :meth:`moment`, but missing or null is None."""
        text = self.text(key, 40, optional=True)
        if text is None:
            return None
        try:
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None:
            raise _field_error(
                self.name(key),
                f"{text!r} is not an ISO 8601 time with a zone, like 2026-11-26T08:00:00Z",
                f"{text!r} 不是带时区的 ISO 8601 时间，例如 2026-11-26T08:00:00Z",
            )
        if moment < _EARLIEST or (latest is not None and moment > latest):
            raise _field_error(
                self.name(key),
                f"{text!r} is out of range (is the screen's clock wrong?)",
                f"{text!r} 超出合理范围（屏幕时钟错误？）",
            )
        return moment


def _screen_field(fields: _Fields, screen_id: str, key: str = "screen_id") -> str:
    """The body's screen id, which must be the token's screen (403 otherwise)."""
    claimed = str(fields.text(key, 64, pattern=ID_RE))
    if claimed != screen_id:
        raise _Refused(
            "403 Forbidden",
            f"this token belongs to another screen, not {claimed!r}",
            f"此令牌属于另一块屏幕，而不是 {claimed!r}",
        )
    return claimed


def _batch(
    document: dict[str, Any], screen_id: str, *, now: dt.datetime, limits: Limits
) -> tuple[str, list[Play]]:
    fields = _Fields(document, "")
    _screen_field(fields, screen_id)
    batch_id = str(fields.text("batch_id", 32, pattern=_BATCH_ID))
    items = fields.raw("plays")
    if not isinstance(items, list) or len(items) > limits.max_plays:
        raise _field_error(
            "plays",
            f"must be a list of at most {limits.max_plays} plays",
            f"必须是不超过 {limits.max_plays} 条的列表",
        )
    latest = now + limits.max_ahead
    plays = []
    for index, item in enumerate(items):
        play = _Fields(item, f"plays[{index}]")
        _screen_field(play, screen_id)
        entry_id = str(play.text("entry_id", 71, pattern=_ENTRY_ID))
        entry_hash = str(play.text("entry_hash", 64))
        special = entry_id == _STANDBY or entry_id.startswith("notice:")
        if not (_ENTRY_HASH.fullmatch(entry_hash) or (special and entry_hash == "")):
            raise _field_error(
                play.name("entry_hash"),
                "must be the record's SHA-256 (64 lowercase hex digits); empty only for notices and standby",
                "必须是记录的 SHA-256（64 位小写十六进制）；仅公告和待机画面可为空",
            )
        started = play.moment("started", latest=latest)
        plays.append(
            Play(
                screen_id=screen_id,
                entry_id=entry_id,
                entry_hash=entry_hash,
                playlist_version=int(play.integer("playlist_version", 0, _MAX_VERSION)),
                started=started.astimezone(dt.UTC),
                duration_ms=int(play.integer("duration_ms", 0, _MAX_DURATION_MS)),
            )
        )
    return batch_id, plays


def _heartbeat(
    document: dict[str, Any], screen_id: str, *, now: dt.datetime, limits: Limits
) -> dict[str, Any]:
    """The heartbeat as it is stored: known fields only, each checked; missing optional ones are null."""
    fields = _Fields(document, "")
    _screen_field(fields, screen_id)
    channel = fields.text("channel", 64)
    if not is_channel_id(str(channel)):
        raise _field_error(
            "channel", f"{str(channel)[:80]!r} is not a channel id", f"{str(channel)[:80]!r} 不是频道编号"
        )
    last_sync = None
    if fields.raw("last_sync", optional=True) is not None:
        sync = _Fields(fields.raw("last_sync"), "last_sync")
        last_sync = {
            "state": sync.text("state", 32),
            "message": sync.text("message", 1000, optional=True) or "",
        }
    fields.optional_moment("verified_until")
    fields.moment("sent_at", latest=now + limits.max_ahead)
    return {
        "screen_id": screen_id,
        "channel": channel,
        "playlist_version": fields.integer("playlist_version", 0, _MAX_VERSION, optional=True),
        "revocations_version": fields.integer("revocations_version", 0, _MAX_VERSION, optional=True),
        "verified_until": fields.text("verified_until", 40, optional=True),
        "last_sync": last_sync,
        "uptime_s": fields.number("uptime_s", 0, _TEN_YEARS_S, optional=True),
        "rss_bytes": fields.integer("rss_bytes", 0, 2**63 - 1, optional=True),
        "free_disk_bytes": fields.integer("free_disk_bytes", 0, 2**63 - 1, optional=True),
        "disk_read_only": fields.boolean("disk_read_only", optional=True),
        "clock_offset_s": fields.number("clock_offset_s", -_TEN_YEARS_S, _TEN_YEARS_S, optional=True),
        "on_screen": fields.text("on_screen", 200, optional=True),
        "sent_at": fields.text("sent_at", 40),
    }


def _json_answer(payload: Mapping[str, Any], note: str) -> _Answer:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return _Answer("200 OK", body, "application/json; charset=utf-8", note)
