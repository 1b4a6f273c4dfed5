"""The screens' HTTP client: python-tuf's fetcher interface over ``requests``, with hard limits.

A screen must never hang because a hub, a captive portal or an attacker on the bus's mobile link
answers slowly. Every request is therefore bounded three ways: a connect timeout, a read timeout (the
longest silence between two packets) and a total deadline, checked between chunks and used to shorten
the socket's wait, so a server trickling one byte every few seconds is cut off too. Sizes are bounded by
the caller (TUF's ``max_length``, or ``get_bytes``'s) and, when the server announces a Content-Length
over ``max_content_length``, before the body is read at all.

Bodies are requested with ``Accept-Encoding: identity`` and read undecoded: TUF hashes the bytes as
published, and a compressed answer could otherwise expand far beyond the size that was checked.
Redirects are not followed: the hub's address is configured, and a redirect body is read by requests
without any limit.

The fetcher also records what the sync layer needs besides the bytes: the HTTP ``Date`` of the last
successful response (a trusted-time floor, but only once TUF has verified what came with it) and
counters of requests and body bytes for the benchmarks.

One fetcher serves one thread at a time: its counters and ``last_date`` are plain attributes, and a
``requests.Session`` is not documented as thread-safe. Threads that download side by side (the photo pool,
:mod:`signage.sync.photos`) each take their own copy from :meth:`HttpFetcher.for_another_thread`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import socket
import time
from collections.abc import Callable, Generator, Iterator
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any

import requests
import urllib3
from tuf.api.exceptions import (
    DownloadError,
    DownloadHTTPError,
    DownloadLengthMismatchError,
    SlowRetrievalError,
)
from tuf.ngclient import FetcherInterface

from signage import __version__

DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 10.0
DEFAULT_DEADLINE = 30.0
DEFAULT_CHUNK_SIZE = 64 * 1024


def screen_user_agent(screen_id: str | None = None) -> str:
    """The User-Agent a screen sends, e.g. ``signage-screen/0.1.0 (bus-0412)``; the hub logs it."""
    base = f"signage-screen/{__version__}"
    return f"{base} ({screen_id})" if screen_id else base


class HttpFetcher(FetcherInterface):
    """A :class:`tuf.ngclient.FetcherInterface` over a :class:`requests.Session`, bounded in time and size.

    Args:
        session: The session to use (its connection pool, proxies and TLS settings). When omitted, one
            is created and :meth:`close` closes it.
        connect_timeout: Seconds to wait for the TCP (and TLS) connection.
        read_timeout: Seconds of silence allowed while waiting for headers or between body packets.
        deadline: Seconds a whole request may take, headers and body, however steadily data trickles.
        max_content_length: Refuse at once any response announcing a larger Content-Length; ``None``
            leaves the limit to the caller's ``max_length``.
        user_agent: The User-Agent header; see :func:`screen_user_agent`.
        chunk_size: The most bytes read from the socket at once.
        clock: Monotonic seconds, for the deadline; passed in so tests can drive it.

    Attributes:
        last_date: The ``Date`` header of the most recent 2xx or 304 response, as aware UTC, or
            ``None`` when it had none (or an unparsable one). Only trust it after TUF has verified the
            metadata that came with it.
        bytes_received: Body bytes read since the last :meth:`reset_counters`.
        requests_made: Requests sent since the last :meth:`reset_counters`, failed ones included.
    """

    def __init__(
        self,
        session: requests.Session | None = None,
        *,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        deadline: float = DEFAULT_DEADLINE,
        max_content_length: int | None = None,
        user_agent: str | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._owns_session = session is None
        self._session = requests.Session() if session is None else session
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.deadline = deadline
        self.max_content_length = max_content_length
        self.chunk_size = chunk_size
        self._clock = clock
        # Per request rather than on the session, so a session passed in is left as it was.
        self._headers = {
            "User-Agent": user_agent or screen_user_agent(),
            "Accept-Encoding": "identity",
        }
        self.last_date: dt.datetime | None = None
        self.bytes_received = 0
        self.requests_made = 0

    def reset_counters(self) -> None:
        """Start counting requests and bytes from zero (``last_date`` is kept)."""
        self.bytes_received = 0
        self.requests_made = 0

    def for_another_thread(self) -> HttpFetcher:
        """A fetcher with the same limits, headers and clock but its own session and counters.

        The new session copies what decides where requests go and how they are checked (proxies and
        whether the environment may set them, TLS verification, client certificate), so a copy never
        sends a request the original would not. Close it when done; its counters are its own.
        """
        session = requests.Session()
        session.trust_env = self._session.trust_env
        session.proxies = dict(self._session.proxies)
        session.verify = self._session.verify
        session.cert = self._session.cert
        copy = HttpFetcher(
            session,
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            deadline=self.deadline,
            max_content_length=self.max_content_length,
            user_agent=self._headers["User-Agent"],
            chunk_size=self.chunk_size,
            clock=self._clock,
        )
        copy._owns_session = True
        return copy

    def close(self) -> None:
        """Close the session if this fetcher created it."""
        if self._owns_session:
            self._session.close()

    def __enter__(self) -> HttpFetcher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _fetch(self, url: str) -> Iterator[bytes]:
        """Open ``url`` and return its body in chunks; the size limit is TUF's ``download_bytes``.

        Raises:
            DownloadHTTPError: the status was not 2xx or 304.
            DownloadLengthMismatchError: the announced Content-Length is over ``max_content_length``.
            SlowRetrievalError: a timeout or the deadline passed (also later, while iterating).
            DownloadError: the connection failed or broke (also later, while iterating).
        """
        response, started = self._open(url, self.max_content_length)
        return self._chunks(response, url, started, limit=None)

    def get_bytes(self, url: str, max_length: int) -> bytes:
        """Download at most ``max_length`` bytes, for content addressed outside TUF (photos by sha256).

        The caller still checks the hash; this only bounds what an unverified server can make a screen
        read and wait for.

        Raises:
            DownloadLengthMismatchError: more than ``max_length`` bytes were announced or sent.
            DownloadHTTPError: the status was not 2xx or 304.
            SlowRetrievalError: a timeout or the deadline passed.
            DownloadError: anything else went wrong on the way.
        """
        try:
            response, started = self._open(url, max_length)
            with contextlib.closing(self._chunks(response, url, started, limit=max_length)) as chunks:
                return b"".join(chunks)
        except DownloadError:
            raise
        except Exception as error:
            # The same guarantee as FetcherInterface.fetch(): callers handle DownloadError only.
            raise DownloadError(f"failed to download {url}") from error

    def _open(self, url: str, cap: int | None) -> tuple[requests.Response, float]:
        started = self._clock()
        self.requests_made += 1
        try:
            response = self._session.get(
                url,
                headers=self._headers,
                stream=True,
                allow_redirects=False,
                timeout=(self.connect_timeout, min(self.read_timeout, self.deadline)),
            )
        except requests.exceptions.Timeout as error:
            raise SlowRetrievalError(f"{url}: no answer within the timeout") from error
        except requests.exceptions.RequestException as error:
            raise DownloadError(f"{url}: {error}") from error
        try:
            self._check_head(response, url, cap, started)
        except BaseException:
            response.close()
            raise
        return response, started

    def _check_head(self, response: requests.Response, url: str, cap: int | None, started: float) -> None:
        status = response.status_code
        if not (200 <= status < 300 or status == 304):
            where = response.headers.get("Location")
            moved = f" to {where}; configure that address instead" if where and 300 <= status < 400 else ""
            _release_after_short_body(response)
            raise DownloadHTTPError(f"{url}: HTTP {status} {response.reason}{moved}", status)
        self.last_date = _http_date(response.headers.get("Date"))
        announced = response.headers.get("Content-Length")
        if announced is not None:
            if not announced.strip().isdigit():
                raise DownloadError(f"{url}: invalid Content-Length {announced!r}")
            if cap is not None and int(announced) > cap:
                raise DownloadLengthMismatchError(
                    f"{url}: the server announces {int(announced)} bytes, over the limit of {cap}"
                )
        if self._clock() - started > self.deadline:
            raise SlowRetrievalError(f"{url}: headers took longer than the {self.deadline} s deadline")

    def _chunks(
        self, response: requests.Response, url: str, started: float, *, limit: int | None
    ) -> Generator[bytes, None, None]:
        # A generator, so that fetch() returns after the headers and TUF can tell "cannot connect"
        # from "broke while downloading", as tuf's own fetchers do.
        raw: Any = response.raw
        received = 0
        try:
            while True:
                remaining = self.deadline - (self._clock() - started)
                if remaining <= 0:
                    raise SlowRetrievalError(
                        f"{url}: not complete after {self.deadline} s ({received} bytes received)"
                    )
                _limit_socket_wait(raw, min(self.read_timeout, remaining))
                # Ask for one byte past the limit, enough to tell "exactly the limit" from "too long".
                amount = self.chunk_size if limit is None else min(self.chunk_size, limit - received + 1)
                # read1 returns as soon as any bytes arrive (read() would wait to fill the chunk), so
                # the deadline is checked between packets, not only between full chunks.
                chunk: bytes = raw.read1(amount, decode_content=False)
                if not chunk:
                    return
                received += len(chunk)
                self.bytes_received += len(chunk)
                if limit is not None and received > limit:
                    raise DownloadLengthMismatchError(f"{url}: more than {limit} bytes sent")
                yield chunk
        except urllib3.exceptions.ReadTimeoutError as error:
            raise SlowRetrievalError(f"{url}: the server went silent after {received} bytes") from error
        except (urllib3.exceptions.HTTPError, requests.exceptions.RequestException, OSError) as error:
            # IncompleteRead (a body shorter than its Content-Length) arrives here as ProtocolError.
            raise DownloadError(f"{url}: the connection broke after {received} bytes: {error}") from error
        finally:
            response.close()


def _limit_socket_wait(raw: Any, seconds: float) -> None:
    # The read timeout is per socket read; shortening it to the time left makes the deadline hold
    # even while one read is waiting. Without a plain socket (e.g. TLS through a proxy) the deadline
    # is still checked between reads, so it can be overrun by at most one read timeout.
    connection = getattr(raw, "connection", None)
    sock = getattr(connection, "sock", None)
    if isinstance(sock, socket.socket):
        sock.settimeout(max(seconds, 0.001))


def _http_date(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    # HTTP dates are always GMT; "-0000" parses as naive, which here still means UTC.
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


#: An error answer announcing at most this many bytes, arriving within this many seconds, is read to its
#: end before it is dropped.
SHORT_ERROR_BODY = 4096
SHORT_ERROR_WAIT = 1.0


def _release_after_short_body(response: requests.Response) -> None:
    """Read a short error answer to its end and give its connection back to the pool.

    Every poll asks for the next root version and gets a 404; closed unread, that answer takes its
    connection with it, and the next request pays a new TCP (and, over TLS, handshake) set-up: more than
    the poll itself on a metered bus link. Longer, unannounced or slow bodies are not read: the connection
    is then closed with the response, as before.
    """
    announced = response.headers.get("Content-Length", "").strip()
    if not announced.isdigit() or int(announced) > SHORT_ERROR_BODY:
        return
    raw: Any = response.raw
    left = int(announced)
    give_up = time.monotonic() + SHORT_ERROR_WAIT
    # A failure here only means the connection is not reused; the error answer stands either way.
    with contextlib.suppress(urllib3.exceptions.HTTPError, OSError):
        while left > 0:
            remaining = give_up - time.monotonic()
            if remaining <= 0:
                return
            _limit_socket_wait(raw, remaining)
            chunk: bytes = raw.read1(left, decode_content=False)
            if not chunk:
                return
            left -= len(chunk)
        raw.release_conn()
