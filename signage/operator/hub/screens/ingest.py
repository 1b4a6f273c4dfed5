"""The telemetry ingest's pure parts: its bounds, the rate limiter, and the checks of every field a screen sends.

Nothing here touches Django, the database or the clock: the views (:mod:`signage.operator.hub.screens.views`) pass the
time and the request's headers in, and turn a :class:`Refused` into a short JSON answer
``{"error": "...", "zh": "..."}`` with one log line.

Tokens are 32 random bytes (:func:`new_token`) and only their SHA-256 is stored (:func:`hash_token`). A slow
password hash (bcrypt, scrypt) exists to make guessing a *low-entropy* secret expensive; a 256-bit random token
cannot be guessed at any speed, so a plain hash is enough and keeps every request cheap. A copy of the database
therefore lets nobody post as a screen.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import secrets
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from signage.core.pages import LAYOUTS
from signage.core.playlist import CHINA_STANDARD_TIME, is_channel_id
from signage.sync.config import ID_RE
from signage.sync.telemetry.heartbeat import (
    DISPLAY_SIDE_PX,
    MAX_CAPACITY,
    MAX_ENTRIES_PER_PAGE,
    MAX_LOOP_HOURS,
    PLAYLIST_LAYOUTS,
)

#: What waitress should refuse on its own, from Content-Length, before buffering a body for the
#: application (``Hub(max_request_body_size=...)``): above the largest body any route accepts, so that
#: bodies between the two still get the ingest's JSON 413.
MAX_REQUEST_BODY_BYTES: Final = 2 * 1024 * 1024
#: Random bytes in a token; ``secrets.token_urlsafe`` turns them into 43 URL-safe characters.
TOKEN_BYTES: Final = 32

_BATCH_ID: Final = re.compile(r"[0-9a-f]{32}")
_ENTRY_HASH: Final = re.compile(r"[0-9a-f]{64}")
# A debtor entry id as the playlist writes it (signage.core.playlist._ID), a notice, or the standby slide.
_ENTRY_ID: Final = re.compile(r"(notice:)?[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_STANDBY: Final = "standby"
BEARER: Final = re.compile(r"Bearer +([A-Za-z0-9_-]{16,128})", re.IGNORECASE)
_MAX_VERSION: Final = 2**53
_MAX_DURATION_MS: Final = 86_400_000
_TEN_YEARS_S: Final = 10 * 366 * 86400
_EARLIEST: Final = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
#: No time a screen sends is later: far inside what ``datetime`` can hold whatever the zone and the arithmetic
#: (``9999-12-31T23:59:59-23:59`` parses, but moving it to UTC overflows).
_LATEST: Final = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
_ADDRESS: Final = re.compile(r"[0-9A-Fa-f.:]{2,45}")
LOOPBACK: Final = re.compile(r"127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+")


@dataclass(frozen=True)
class Play:
    """One slide shown on one screen (proof of play), as validated by the ingest.

    Attributes:
        screen_id: The screen that showed it.
        entry_id: A debtor entry id, ``notice:<id>`` or ``standby``.
        entry_hash: :func:`signage.core.playlist.record_hash` of the entry; empty for notices and standby.
        playlist_version: The playlist the slide came from.
        started: When it appeared, timezone-aware.
        duration_ms: How long it stayed.
    """

    screen_id: str
    entry_id: str
    entry_hash: str
    playlist_version: int
    started: dt.datetime
    duration_ms: int

    @property
    def day(self) -> dt.date:
        """The China Standard Time (UTC+8) date the play started on: the day exposure is counted for."""
        return china_day(self.started)


def new_token() -> str:
    """A new screen token: 32 random bytes, URL-safe base64 (43 characters)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    """The SHA-256 (hex) under which a token is stored and looked up."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def china_day(moment: dt.datetime) -> dt.date:
    """The date of ``moment`` (timezone-aware) in China Standard Time, UTC+8 all year."""
    return (moment.astimezone(dt.UTC) + CHINA_STANDARD_TIME).date()


# --- daily quotas (issue 14), from what a real screen can produce ---------------------------------------
#: Pages a screen can show in a day at the shortest dwell its settings allow (2 s).
_PAGES_PER_DAY: Final = 86_400 // 2
#: Entries on the densest page of a common panel (1080×1920 portrait: 27, ``signage.core.pages.page_capacity``);
#: every entry on a page is one play.
_DENSEST_PAGE: Final = 27
#: Plays per screen per day: 43,200 pages × 27 = 1,166,400 at the very most, with a little margin.
PLAYS_PER_DAY: Final = max(1_200_000, _PAGES_PER_DAY * _DENSEST_PAGE)
#: Heartbeats per screen per day: one a minute is 1,440; a screen back online sends its queue (up to 60) at
#: once, and a restart sends one more, so about 7 times that.
HEARTBEATS_PER_DAY: Final = 10_000


@dataclass(frozen=True)
class Limits:
    """Bounds of the ingest.

    Attributes:
        plays_body_bytes: Largest body of a plays batch.
        heartbeat_body_bytes: Largest body of a heartbeat.
        max_plays: Most plays in one batch.
        burst: Requests one screen may make at once; refilled evenly over ``refill_seconds``.
        refill_seconds: Time for an empty bucket to fill up again (10 per 10 s: one a second).
        failure_burst: Failed authentications with one token (by its hash) before that token gets 429 …
        failure_refill_seconds: … refilled evenly over this long. Never per client address: a bus fleet
            shares one address behind its mobile operator's NAT, and one broken screen must not lock out the rest.
        global_failure_burst: Failed authentications of all clients together before unknown tokens get 429
            without a database lookup (tokens that authenticated since the hub started are never held back) …
        global_failure_refill_seconds: … refilled evenly over this long.
        concurrent: Telemetry requests working at once; keep it below the hub's waitress threads.
        max_ahead: How far after the hub's time a play may start or a heartbeat be sent (clock trouble).
        max_fresh_for: How far after the hub's time a heartbeat's ``verified_until`` may be (the TUF
            metadata a screen verified expires within days; a year and a month is generous).
        plays_per_day: Plays one screen may send per China-local day (:data:`PLAYS_PER_DAY`).
        heartbeats_per_day: Heartbeats one screen may send per China-local day (:data:`HEARTBEATS_PER_DAY`).
        play_skew: How far after the hub's time a play may start and still be believed.
    """

    plays_body_bytes: int = 1024 * 1024
    heartbeat_body_bytes: int = 16 * 1024
    max_plays: int = 5000
    burst: int = 10
    refill_seconds: float = 10.0
    failure_burst: int = 20
    failure_refill_seconds: float = 60.0
    global_failure_burst: int = 600
    global_failure_refill_seconds: float = 60.0
    concurrent: int = 4
    max_ahead: dt.timedelta = dt.timedelta(days=1)
    max_fresh_for: dt.timedelta = dt.timedelta(days=400)
    plays_per_day: int = PLAYS_PER_DAY
    heartbeats_per_day: int = HEARTBEATS_PER_DAY
    play_skew: dt.timedelta = dt.timedelta(minutes=5)


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


class Refused(Exception):
    """A request answered with an error status; ``en`` and ``zh`` go into the body and the log line."""

    def __init__(
        self, status: int, en: str, zh: str, headers: Iterable[tuple[str, str]] = (), *, quiet: bool = False
    ) -> None:
        super().__init__(en)
        self.status = status
        self.en = en
        self.zh = zh
        self.headers = list(headers)
        #: Logged at DEBUG: the same refusal repeated (a flood), already logged once at WARNING.
        self.quiet = quiet


def client_address(meta: Mapping[str, Any]) -> str:
    """The client's address: ``X-Real-IP`` when a proxy on this machine set it, else the peer's.

    Behind nginx on the same host every request comes from 127.0.0.1; nginx's
    ``proxy_set_header X-Real-IP $remote_addr`` then names the screen. The header is believed only from a
    loopback peer, so a screen talking to the hub directly cannot pretend to be the hub's own machine
    (and so reach the fleet page, or escape its address's limit).

    Args:
        meta: The WSGI environment (Django's ``request.META``).
    """
    peer = str(meta.get("REMOTE_ADDR", "?"))
    forwarded = str(meta.get("HTTP_X_REAL_IP", "")).strip()
    if forwarded and LOOPBACK.fullmatch(peer) and _ADDRESS.fullmatch(forwarded):
        return forwarded
    return peer


# --- reading the request ------------------------------------------------------------------------------


def too_large(limit: int) -> Refused:
    """The 413 of a body above ``limit`` bytes."""
    return Refused(413, f"the body is larger than {limit} bytes", f"请求内容超过 {limit} 字节")


def check_length(content_length: str, limit: int) -> int | None:
    """The announced length; 413 from ``Content-Length`` alone, before anything is read; 400 for a bad one."""
    text = content_length.strip()
    if not text:
        return None
    if not text.isdigit():
        raise Refused(400, f"bad Content-Length {text[:20]!r}", "Content-Length 无效")
    if int(text) > limit:
        raise too_large(limit)
    return int(text)


def parse(data: bytes) -> dict[str, Any]:
    """The JSON object in ``data``; 400 for anything else (NaN, Infinity and lone surrogates included)."""
    try:
        document = json.loads(data.decode("utf-8"), parse_constant=_no_constant)
        # JSON's "\ud800" escapes decode to a lone surrogate, which no UTF-8 column, log line or answer
        # can hold; refused here, it is a 400 the screen drops instead of a 500 it retries forever.
        json.dumps(document, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise _bad(
            "the JSON holds a lone surrogate (an invalid \\uD800-\\uDFFF escape); send valid Unicode",
            "JSON 中含有孤立的代理字符（无效的 \\uD800-\\uDFFF 转义）；请发送有效的 Unicode",
        ) from None
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


def _bad(en: str, zh: str) -> Refused:
    return Refused(400, en, zh)


def _field_error(where: str, en: str, zh: str) -> Refused:
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
        """A required ISO 8601 time with a zone, from 2020 to 2100 and not after ``latest``."""
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
        # Compared, never converted: aware comparison cannot overflow, astimezone() at year 9999 can.
        if not _EARLIEST <= moment < _LATEST or (latest is not None and moment > latest):
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
        raise Refused(
            403,
            f"this token belongs to another screen, not {claimed!r}",
            f"此令牌属于另一块屏幕，而不是 {claimed!r}",
        )
    return claimed


def batch(
    document: dict[str, Any], screen_id: str, *, now: dt.datetime, limits: Limits
) -> tuple[str, list[Play]]:
    """The batch id and the plays of a plays body sent with the token of ``screen_id``; 400/403 otherwise."""
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


def heartbeat(
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
    fields.optional_moment("verified_until", latest=now + limits.max_fresh_for)
    fields.moment("sent_at", latest=now + limits.max_ahead)
    extras = {
        key: value
        for key, value in (
            ("coverage", _coverage(fields)),
            ("display", _display(fields)),
            ("playlist_layout", _playlist_layout(fields)),
        )
        if value is not None
    }
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
        # Stored only when sent, so a heartbeat from an older screen reads back as it came (no
        # playlist_layout: a screen before issue 15, which reads the single file).
        **extras,
    }


def _coverage(fields: _Fields) -> dict[str, Any] | None:
    """The optional page plan: entries per page within the capacity, the loop's hours (null: it never
    completes, e.g. quiet all day), whether it is within the target."""
    if fields.raw("coverage", optional=True) is None:
        return None
    coverage = _Fields(fields.raw("coverage"), "coverage")
    capacity = int(coverage.integer("capacity", 1, MAX_CAPACITY))
    return {
        "entries_per_page": coverage.integer("entries_per_page", 1, min(capacity, MAX_ENTRIES_PER_PAGE)),
        "loop_hours": coverage.number("loop_hours", 0, MAX_LOOP_HOURS, optional=True),
        "covered": coverage.boolean("covered"),
        "capacity": capacity,
    }


def _display(fields: _Fields) -> dict[str, Any] | None:
    """The optional slide size in pixels and the layout the player chose for it."""
    if fields.raw("display", optional=True) is None:
        return None
    display = _Fields(fields.raw("display"), "display")
    low, high = DISPLAY_SIDE_PX
    layout = display.text("layout", 20)
    if layout not in LAYOUTS:
        raise _field_error(
            display.name("layout"),
            f"{str(layout)[:20]!r} is not one of {', '.join(LAYOUTS)}",
            f"{str(layout)[:20]!r} 不是 {', '.join(LAYOUTS)} 之一",
        )
    return {
        "width": display.integer("width", low, high),
        "height": display.integer("height", low, high),
        "layout": layout,
    }


def _playlist_layout(fields: _Fields) -> str | None:
    """The optional form of the channel the screen reads (issue 15): ``single`` or ``sharded``."""
    layout = fields.text("playlist_layout", 20, optional=True)
    if layout is not None and layout not in PLAYLIST_LAYOUTS:
        raise _field_error(
            "playlist_layout",
            f"{str(layout)[:20]!r} is not one of {', '.join(PLAYLIST_LAYOUTS)}",
            f"{str(layout)[:20]!r} 不是 {', '.join(PLAYLIST_LAYOUTS)} 之一",
        )
    return None if layout is None else str(layout)
