"""Sending telemetry to the hub: batches of plays and heartbeats, bounded in time and size.

The contract with the hub (its side is built against exactly this)::

    POST {hub_url}telemetry/plays       Authorization: Bearer <token>, Content-Type: application/json
        {"batch_id": "<uuid4 hex>", "screen_id": "...", "plays": [play, ...]}   <= 5000 plays, <= 1 MiB
        200 {"accepted": n, "duplicate": true|false, "refused": {reason: n, ...}}
            (a batch id seen before: 200, duplicate, not recounted; ``refused``, which an older hub leaves out,
            counts the plays the hub did not believe, such as an entry its channel never published: they are
            deleted with the batch like the others, since sending them again would change nothing)
        401 unknown token, 409 the hub has no heartbeat from this screen yet, 413 too large, 400 malformed,
        429 too many requests (``Retry-After``; until the hub's next day when the daily quota is spent), 5xx
    POST {hub_url}telemetry/heartbeat   the same headers; the heartbeat's JSON, <= 16 KiB
        200 {"hub_time": "<ISO 8601>"}

Nothing here raises for network trouble or for a hub that answers garbage: :meth:`Uploader.upload` returns
an :class:`UploadResult` (counts, a state and a short bilingual message) and
:meth:`Uploader.send_heartbeat` returns ``None``. Plays are acknowledged, and so deleted, only after a 200
with a well-formed answer; any other outcome leaves the batch on disk under the same id, so a retry can
never be counted twice (see :mod:`signage.sync.telemetry.plays`).

Every request is bounded like the sync fetcher's (``signage/sync/fetcher.py``): a connect timeout, a read
timeout and a total deadline that also shortens the socket's wait while the answer trickles in. Answers are
read only for a 200, undecoded (``Accept-Encoding: identity``) and at most :data:`MAX_ANSWER_BYTES`; a
longer one is a bad answer. Redirects are not followed: the hub's address is configured.

One :class:`Uploader` and one :class:`HeartbeatQueue` serve one worker thread (the player's scheduler
worker); neither locks.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import enum
import json
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
import urllib3

from signage.core.errors import DiskError
from signage.sync.fetcher import DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT, screen_user_agent
from signage.sync.telemetry.heartbeat import Heartbeat, clock_offset
from signage.sync.telemetry.plays import MAX_BATCH_PLAYS, PlayLog

#: The most bytes of an answer a screen reads; the contract's answers are a few dozen.
MAX_ANSWER_BYTES = 64 * 1024
#: Seconds one request may take in all: a heartbeat must not delay the next one by minutes.
DEFAULT_DEADLINE = 20.0
#: Unsent heartbeats kept while the hub is unreachable: an hour of one a minute.
DEFAULT_QUEUE_LENGTH = 60
_MAX_RETRY_AFTER = 3600.0
_CHUNK = 16 * 1024


class UploadState(enum.StrEnum):
    """How an upload (or a heartbeat) ended."""

    #: Batches were acknowledged (or the heartbeat was taken).
    SENT = "sent"
    #: Nothing was waiting.
    IDLE = "idle"
    #: The hub could not be reached, or did not answer in time.
    OFFLINE = "offline"
    #: The hub refused the request: unknown token, malformed, too large, or another 4xx.
    REFUSED = "refused"
    #: The hub asked for fewer requests (429).
    THROTTLED = "throttled"
    #: The hub failed (5xx).
    HUB_ERROR = "hub-error"
    #: A 200 whose body is not the contract's answer, too long, compressed, or a redirect.
    BAD_ANSWER = "bad-answer"
    #: The play log could not be read or written.
    DISK = "disk"


@dataclass(frozen=True)
class UploadResult:
    """The outcome of :meth:`Uploader.upload` (or of the last heartbeat).

    Attributes:
        state: How it ended; after some batches went through, the state of the last attempt.
        zh: What happened, in Chinese.
        en: The same in English.
        batches: Batches acknowledged by the hub.
        plays: Plays in them (deleted from the log).
        duplicates: Of the batches, those the hub had already counted (retries of a lost answer).
        retry_after: Seconds the hub asked to wait (429 with ``Retry-After``), else ``None``.
        refused: Of the plays, those the hub refused (not published to this screen's channel, or at
            impossible times); deleted all the same.
    """

    state: UploadState
    zh: str
    en: str
    batches: int = 0
    plays: int = 0
    duplicates: int = 0
    retry_after: float | None = None
    refused: int = 0

    @property
    def ok(self) -> bool:
        """Whether everything attempted went through (or nothing was waiting)."""
        return self.state in (UploadState.SENT, UploadState.IDLE)


class _Failed(Exception):
    """One request did not end in a usable 200."""

    def __init__(
        self,
        state: UploadState,
        zh: str,
        en: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(en)
        self.state = state
        self.zh = zh
        self.en = en
        self.status = status
        self.retry_after = retry_after


class Uploader:
    """Posts play batches and heartbeats to the hub.

    Args:
        hub_url: The hub's base URL (the config's ``hub_url``; a missing final ``/`` is added).
        token: This screen's bearer token.
        session: The HTTP session (connection pool, proxies, TLS settings); the caller owns and closes it.
        clock: Returns the local time, aware; used to measure the clock offset around a heartbeat.
        connect_timeout: Seconds to wait for the connection.
        read_timeout: Seconds of silence allowed while waiting for the answer.
        deadline: Seconds a whole request may take.
        user_agent: The User-Agent; see :func:`signage.sync.fetcher.screen_user_agent`.
        screen_id: The screen the token belongs to; when given, only its plays are sent. The hub refuses
            another screen's plays (403), so after a rename the old id's plays would otherwise block every
            upload behind them until pruned.
        batch_plays: The most plays in a new batch (the contract allows 5000).
        monotonic: Monotonic seconds, for the deadline.

    Attributes:
        last_heartbeat: The outcome of the most recent :meth:`send_heartbeat`, or ``None``.
        last_clock_offset_s: Local clock minus the hub's, measured at the most recent heartbeat taken by
            the hub (against the exchange's midpoint), or ``None``.

    Raises:
        ValueError: the token is empty or contains characters a header cannot carry, or ``batch_plays`` is
            out of range.
    """

    def __init__(
        self,
        hub_url: str,
        token: str,
        *,
        session: requests.Session,
        clock: Callable[[], dt.datetime],
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        deadline: float = DEFAULT_DEADLINE,
        user_agent: str | None = None,
        screen_id: str | None = None,
        batch_plays: int = MAX_BATCH_PLAYS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 1 <= batch_plays <= MAX_BATCH_PLAYS:
            raise ValueError(f"a batch holds 1 to {MAX_BATCH_PLAYS} plays, not {batch_plays}")
        if not token or not token.isascii() or not token.isprintable() or " " in token:
            raise ValueError("the hub token must be printable ASCII without spaces")
        self._hub = hub_url.rstrip("/") + "/"
        self._session = session
        self._clock = clock
        self._monotonic = monotonic
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.deadline = deadline
        self._headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Accept-Encoding": "identity",
            "User-Agent": user_agent or screen_user_agent(),
        }
        # Lowered after a 413, for the rest of this uploader's life: the hub's limit is below the contract's.
        self._batch_limit = batch_plays
        self._screen_id = screen_id
        self.last_heartbeat: UploadResult | None = None
        self.last_clock_offset_s: float | None = None

    # --- plays ---------------------------------------------------------------------------------------

    def upload(self, log: PlayLog, max_batches: int = 10) -> UploadResult:
        """Send batches from ``log`` until none is left, an attempt fails, or ``max_batches`` were tried.

        A batch is acknowledged in the log only after the hub's 200 with ``{"accepted", "duplicate"}``.
        After a 413 the batch is dissolved and its plays are sent again in halves (the hub counted none).
        Never raises for network trouble, hub errors or a full disk.
        """
        batches = plays = duplicates = refused = 0

        def result(state: UploadState, zh: str, en: str, retry_after: float | None = None) -> UploadResult:
            return UploadResult(state, zh, en, batches, plays, duplicates, retry_after, refused)

        for _attempt in range(max_batches):
            try:
                batch = log.next_batch(self._batch_limit, screen_id=self._screen_id)
            except DiskError as error:
                return result(UploadState.DISK, error.zh, error.en)
            if batch is None:
                break
            try:
                duplicate, not_believed = _plays_answer(self._post("telemetry/plays", batch.body()))
            except _Failed as failure:
                if failure.status == 413 and len(batch.plays) > 1:
                    self._batch_limit = max(1, len(batch.plays) // 2)
                    try:
                        log.release(batch.batch_id)
                    except DiskError as error:
                        return result(UploadState.DISK, error.zh, error.en)
                    continue
                return result(failure.state, failure.zh, failure.en, failure.retry_after)
            try:
                log.acknowledge(batch.batch_id)
            except DiskError as error:
                # The hub has the batch; it is sent again later and answered "duplicate".
                return result(UploadState.DISK, error.zh, error.en)
            batches += 1
            plays += len(batch.plays)
            duplicates += duplicate
            refused += not_believed
        if batches:
            return result(
                UploadState.SENT,
                f"已上传 {plays} 条播放记录（{batches} 批）"
                + (f"，其中 {refused} 条被运营方服务器拒收" if refused else ""),
                f"uploaded {plays} plays in {batches} batches"
                + (f"; the hub refused {refused} of them" if refused else ""),
            )
        return result(UploadState.IDLE, "没有待上传的播放记录", "no plays waiting")

    # --- heartbeats ----------------------------------------------------------------------------------

    def send_heartbeat(self, heartbeat: Heartbeat) -> dt.datetime | None:
        """Post one heartbeat; returns the hub's time (aware UTC), or ``None`` if it did not go through.

        Never raises for network trouble; :attr:`last_heartbeat` says what happened. A ``hub_time``
        without a zone is read as UTC.
        """
        before = self._clock()
        try:
            hub_time = _heartbeat_answer(self._post("telemetry/heartbeat", heartbeat.encode()))
        except _Failed as failure:
            self.last_heartbeat = UploadResult(failure.state, failure.zh, failure.en)
            return None
        after = self._clock()
        self.last_clock_offset_s = clock_offset(before + (after - before) / 2, hub_time)
        self.last_heartbeat = UploadResult(UploadState.SENT, "心跳已送达", "heartbeat delivered")
        return hub_time

    # --- HTTP ----------------------------------------------------------------------------------------

    def _post(self, path: str, body: bytes) -> bytes:
        """POST ``body``; the answer's body if the status is 200, else :class:`_Failed`."""
        url = self._hub + path
        started = self._monotonic()
        try:
            response = self._session.post(
                url,
                data=body,
                headers=self._headers,
                stream=True,
                allow_redirects=False,
                timeout=(self.connect_timeout, min(self.read_timeout, self.deadline)),
            )
        except requests.exceptions.Timeout:
            raise _offline(
                f"没有在 {self.read_timeout:g} 秒内应答", f"no answer within {self.read_timeout:g} s"
            ) from None
        except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError, OSError) as error:
            raise _offline("无法连接", f"cannot connect ({type(error).__name__})") from None
        with contextlib.closing(response):
            if response.status_code != 200:
                raise _status_failure(response)
            return self._read(response, started)

    def _read(self, response: requests.Response, started: float) -> bytes:
        encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            raise _bad_answer(f"应答经过 {encoding} 压缩", f"the answer is {encoding}-encoded")
        announced = response.headers.get("Content-Length", "").strip()
        if announced.isdigit() and int(announced) > MAX_ANSWER_BYTES:
            raise _bad_answer(f"应答长达 {announced} 字节", f"the answer announces {announced} bytes")
        raw: Any = response.raw
        chunks: list[bytes] = []
        received = 0
        try:
            while True:
                remaining = self.deadline - (self._monotonic() - started)
                if remaining <= 0:
                    raise _offline(
                        f"应答在 {self.deadline:g} 秒内没有传完", f"the answer took over {self.deadline:g} s"
                    )
                _limit_socket_wait(raw, min(self.read_timeout, remaining))
                # read1 returns as soon as any bytes arrive, so the deadline is checked between packets;
                # one byte past the cap tells "exactly the cap" from "too long".
                chunk: bytes = raw.read1(min(_CHUNK, MAX_ANSWER_BYTES + 1 - received), decode_content=False)
                if not chunk:
                    return b"".join(chunks)
                received += len(chunk)
                if received > MAX_ANSWER_BYTES:
                    raise _bad_answer("应答过长", f"the answer is longer than {MAX_ANSWER_BYTES} bytes")
                chunks.append(chunk)
        except urllib3.exceptions.ReadTimeoutError:
            raise _offline("应答中途停止", f"the answer stopped after {received} bytes") from None
        except (urllib3.exceptions.HTTPError, requests.exceptions.RequestException, OSError):
            raise _offline("应答中途断开", f"the connection broke after {received} bytes") from None


class HeartbeatQueue:
    """Heartbeats not yet delivered, bounded: the newest :data:`DEFAULT_QUEUE_LENGTH` are kept.

    In memory, not on disk. A heartbeat is about the present: after a restart the next one says what
    matters (``uptime_s`` shows the restart), and writing a file a minute for a hub that is down would wear
    an SD card for nothing. When the queue is full the oldest heartbeat is dropped and counted.

    :meth:`flush` sends the newest first, so the fleet page shows the screen's present state as soon as the
    hub is back; the older ones then fill in its history, each with its own ``sent_at``. A flush stops at
    the first failure, so a hub that is down costs one timeout per flush, not one per queued heartbeat.

    Args:
        maxlen: How many heartbeats to keep.

    Attributes:
        dropped: Heartbeats dropped because the queue was full.
    """

    def __init__(self, maxlen: int = DEFAULT_QUEUE_LENGTH) -> None:
        if maxlen < 1:
            raise ValueError("the queue must hold at least one heartbeat")
        self._queue: collections.deque[Heartbeat] = collections.deque(maxlen=maxlen)
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._queue)

    def put(self, heartbeat: Heartbeat) -> None:
        """Queue a heartbeat, dropping the oldest if full."""
        if len(self._queue) == self._queue.maxlen:
            self.dropped += 1
        self._queue.append(heartbeat)

    def flush(self, send: Callable[[Heartbeat], dt.datetime | None]) -> int:
        """Send queued heartbeats newest first until one fails; returns how many were delivered.

        Args:
            send: Delivers one heartbeat and returns ``None`` on failure (:meth:`Uploader.send_heartbeat`).
        """
        delivered = 0
        while self._queue:
            if send(self._queue[-1]) is None:
                break
            self._queue.pop()
            delivered += 1
        return delivered


def _plays_answer(data: bytes) -> tuple[bool, int]:
    """Whether the hub's answer to a batch says "duplicate", and how many plays it refused.

    :class:`_Failed` if it is not the contract's. ``refused`` is optional (older hubs do not send it).
    """
    document = _json_object(data)
    accepted, duplicate = document.get("accepted"), document.get("duplicate")
    if type(accepted) is not int or accepted < 0 or type(duplicate) is not bool:
        raise _bad_answer("应答缺少 accepted/duplicate", 'the answer lacks "accepted" and "duplicate"')
    refused = document.get("refused", {})
    if not isinstance(refused, dict) or not all(type(n) is int and n >= 0 for n in refused.values()):
        raise _bad_answer("应答中的 refused 格式错误", 'the answer\'s "refused" is not a count per reason')
    return duplicate, sum(refused.values())


def _heartbeat_answer(data: bytes) -> dt.datetime:
    document = _json_object(data)
    value = document.get("hub_time")
    try:
        if not isinstance(value, str):
            raise ValueError
        hub_time = dt.datetime.fromisoformat(value)
    except ValueError:
        raise _bad_answer("应答缺少有效的 hub_time", 'the answer has no valid "hub_time"') from None
    if hub_time.utcoffset() is None:
        hub_time = hub_time.replace(tzinfo=dt.UTC)
    return hub_time.astimezone(dt.UTC)


def _json_object(data: bytes) -> dict[str, Any]:
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):
        raise _bad_answer("应答不是 JSON", "the answer is not JSON") from None
    if not isinstance(document, dict):
        raise _bad_answer("应答不是 JSON 对象", "the answer is not a JSON object")
    return document


def _status_failure(response: requests.Response) -> _Failed:
    status = response.status_code
    if status == 401:
        return _Failed(
            UploadState.REFUSED,
            "运营方服务器不认可本屏的令牌（HTTP 401）；请检查配置中的令牌，记录保存在本机",
            "the hub does not know this screen's token (HTTP 401); check the token; records are kept",
            status=status,
        )
    if status == 403:
        return _Failed(
            UploadState.REFUSED,
            "运营方服务器认为本屏的令牌属于另一块屏幕（HTTP 403）；请检查屏幕编号和令牌，记录保存在本机",
            "the hub says this token belongs to another screen (HTTP 403); check screen_id and the token; "
            "records are kept",
            status=status,
        )
    if status == 429:
        return _Failed(
            UploadState.THROTTLED,
            "运营方服务器请求过多（HTTP 429），稍后再传",
            "the hub asks for fewer requests (HTTP 429); sending later",
            status=status,
            retry_after=_retry_after(response.headers.get("Retry-After")),
        )
    if 500 <= status < 600:
        return _Failed(
            UploadState.HUB_ERROR,
            f"运营方服务器出错（HTTP {status}），稍后再传",
            f"the hub failed (HTTP {status}); sending later",
            status=status,
        )
    if 300 <= status < 400:
        return _bad_answer(f"运营方服务器要求重定向（HTTP {status}）", f"the hub redirects (HTTP {status})")
    return _Failed(
        UploadState.REFUSED,
        f"运营方服务器拒绝了请求（HTTP {status}），记录保存在本机",
        f"the hub refused the request (HTTP {status}); records are kept",
        status=status,
    )


def _offline(zh: str, en: str) -> _Failed:
    return _Failed(
        UploadState.OFFLINE,
        f"运营方服务器{zh}，记录保存在本机，稍后再传",
        f"hub unreachable: {en}; records are kept and sent later",
    )


def _bad_answer(zh: str, en: str) -> _Failed:
    return _Failed(
        UploadState.BAD_ANSWER,
        f"运营方服务器的应答无效：{zh}；记录保存在本机",
        f"the hub's answer is unusable: {en}; records are kept",
    )


def _retry_after(value: str | None) -> float | None:
    # Only the seconds form; an HTTP date there is rare and a guess of "later" is as good.
    if value is None or not value.strip().isdigit():
        return None
    return min(float(value.strip()), _MAX_RETRY_AFTER)


def _limit_socket_wait(raw: Any, seconds: float) -> None:
    # As in signage/sync/fetcher.py: the read timeout applies per socket read, so shortening it to the
    # time left makes the deadline hold even while one read is waiting.
    connection = getattr(raw, "connection", None)
    sock = getattr(connection, "sock", None)
    if isinstance(sock, socket.socket):
        sock.settimeout(max(seconds, 0.001))
