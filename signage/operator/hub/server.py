"""The hub process: a WSGI application served by waitress, and the repository refresh on a schedule.

Why waitress: it is a production WSGI server in pure Python (nothing to compile on a court's mini-PC),
and it protects the application from slow clients itself: each connection is buffered by its own
channel in an event loop, idle channels are closed after ``channel_timeout``, the number of open
connections is bounded by ``connection_limit``, and a file handed over as ``wsgi.file_wrapper`` is sent
from the event loop without holding a worker thread. The stdlib's ``wsgiref`` has none of this.

Threads, and what each may touch:

- ``signage-hub-http`` (ours) runs waitress's event loop; after :meth:`Hub.stop` asks it to leave, it
  closes every connection and shuts the worker pool down itself, so no socket is closed under a
  running ``select``.
- waitress's workers call the application, which only reads files.
- APScheduler's single worker runs ``refresh``, whose failure is logged and retried at the next
  interval; serving never depends on it.

Request bodies are bounded per method and path (:class:`BodyLimits`) by waitress's parser on the loop
thread, from the headers, before any of the body is read or spooled to disk.

Slow and many clients (issue 14), which waitress alone does not hold off: a connection must complete each
request's headers within ``header_timeout`` seconds of their first byte (of accepting it, for the first),
however steadily it trickles them, or it is closed; one address may hold ``per_address_limit`` connections
(generous: a bus fleet of 200 screens behind one NAT), further ones are closed on accepting them; and the
headers, request line included, may not exceed :data:`MAX_HEADER_BYTES` (waitress answers 431, or 414 when the request line alone is that long). So 260 or
400 trickling connections from one address cannot take every connection of the hub. In production nginx is
in front as well (``signage hub nginx-config``, docs/deploy.md).

The scheduler keeps its own clock (it is the shell around the core, not the core), so
``refresh_interval`` is the only time this module is given.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import logging
import resource
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import Any, Final
from wsgiref.types import WSGIApplication

# Neither ships type information (types-waitress in the test extras would cover waitress).
import waitress  # type: ignore[import-untyped]
from apscheduler.executors.pool import ThreadPoolExecutor  # type: ignore[import-untyped]
from apscheduler.schedulers.background import BackgroundScheduler  # type: ignore[import-untyped]
from waitress import trigger as waitress_trigger
from waitress import wasyncore
from waitress.channel import HTTPChannel  # type: ignore[import-untyped]
from waitress.parser import HTTPRequestParser  # type: ignore[import-untyped]
from waitress.server import BaseWSGIServer  # type: ignore[import-untyped]
from waitress.utilities import BadRequest, RequestHeaderFieldsTooLarge  # type: ignore[import-untyped]

from signage.core.errors import ConfigError, SignageError

logger = logging.getLogger(__name__)

DEFAULT_REFRESH_INTERVAL: Final = dt.timedelta(hours=1)
#: Seconds an idle connection may stay open: long enough for keep-alive between the few requests of one
#: update, short enough that a thousand sleeping screens do not pin connections.
DEFAULT_CHANNEL_TIMEOUT: Final = 30
#: Open connections at once. waitress stops accepting above it (the kernel backlog queues the rest), so
#: a burst of screens waking together slows down instead of running the hub out of descriptors: each
#: connection streaming a file holds two.
DEFAULT_CONNECTION_LIMIT: Final = 1000
#: Connections one client address may hold at once: a NAT in front of 200 buses, each with a connection or
#: two during a sync, fits; one host cannot take all of :data:`DEFAULT_CONNECTION_LIMIT`.
DEFAULT_PER_ADDRESS_LIMIT: Final = 300
#: Seconds a client has to send a request's headers, from their first byte (nginx's client_header_timeout
#: counts the same way in production: for the whole header, not between two reads).
DEFAULT_HEADER_TIMEOUT: Final = 10.0
#: The largest request header, request line included; waitress answers 431 above it (its default is 256 KB).
MAX_HEADER_BYTES: Final = 64 * 1024
DEFAULT_THREADS: Final = 8
#: How long the loop may sleep in select(); stop() wakes it at once anyway, through waitress's trigger.
_LOOP_TIMEOUT_SECONDS: Final = 1.0
_JOIN_TIMEOUT_SECONDS: Final = 15.0
#: How often the loop looks for connections past the header deadline; a deadline is met within this much.
_SWEEP_SECONDS: Final = 0.5
#: A body's limit when nothing else is said: the screens' telemetry never needs more.
DEFAULT_MAX_BODY_BYTES: Final = 2 * 1024 * 1024


@dataclass(frozen=True)
class BodyLimits:
    """The largest request body waitress accepts, by method and path.

    waitress judges a request from its headers alone, so the limit can only depend on what they carry:
    the method and the path, never the session. A path given a larger limit therefore admits that much
    from anyone, signed in or not; the per-path rule is the bound, not the application's check behind
    it. nginx's per-location ``client_max_body_size`` draws the same line in production.

    Attributes:
        default: Bytes allowed for every request not listed in ``larger``.
        larger: ``(method, path)`` to the bytes allowed there; the path as sent, without its query.
    """

    default: int = DEFAULT_MAX_BODY_BYTES
    larger: Mapping[tuple[str, str], int] = field(default_factory=dict)

    def for_request(self, method: str, path: str) -> int:
        """The largest body, in bytes, that ``method path`` may carry."""
        return self.larger.get((method, path), self.default)


class _PathLimitedParser(HTTPRequestParser):
    """waitress's request parser, with the body limit of the request's own method and path.

    waitress compares a declared ``Content-Length`` with ``adj.max_request_body_size`` right after
    ``parse_header`` (answering 413 without reading the body), and a chunked body's running size with
    the same attribute as it arrives. Giving this request its own copy of ``adj`` with its own limit
    moves both checks to the per-path limit, and nothing else of waitress changes.
    """

    adj: Any  # waitress's Adjustments
    error: Any  # waitress's Error, or None
    body_rcv: Any  # waitress's body receiver, None for a request without a body

    def __init__(self, adj: Any, limits: BodyLimits) -> None:
        super().__init__(adj)
        self._limits = limits
        #: Bytes of the request line seen so far, until its end arrives (then None).
        self._line_bytes: int | None = 0

    def parse_header(self, header_plus: bytes) -> None:
        super().parse_header(header_plus)
        adj = copy.copy(self.adj)
        # waitress refuses a body of max_request_body_size bytes or more; the limit itself is allowed.
        adj.max_request_body_size = self._limits.for_request(self.command, self.path) + 1
        self.adj = adj
        if self.body_rcv is None:
            # No body to invite: waitress would answer "Expect: 100-continue" anyway and, in doing so, mark the
            # request incomplete again, so that it never reached a worker and the client waited until the
            # idle timeout (found by tests/hub/test_fuzz.py).
            self.expect_continue = False

    def received(self, data: bytes) -> int:
        if self._line_bytes is not None:
            end = data.find(b"\n")
            self._line_bytes = None if end >= 0 else self._line_bytes + len(data)
        consumed: int = super().received(data)
        if isinstance(self.error, RequestHeaderFieldsTooLarge) and self._line_bytes is not None:
            # The request line alone is over the header limit: the path is what is too long (414, as nginx).
            self.error = _URITooLong(f"the request line exceeds {MAX_HEADER_BYTES} bytes")
        if self.error is not None:
            # The channel would otherwise answer "Expect: 100-continue" and invite the body it refuses.
            self.expect_continue = False
        return consumed


class _URITooLong(BadRequest):
    """waitress's error answer for a request line over the header limit."""

    code = 414
    reason = "URI Too Long"


class _Connections:
    """Open connections by client address, for the per-address limit; touched on the loop thread only."""

    def __init__(self, per_address: int) -> None:
        self.per_address = per_address
        self._open: Counter[str] = Counter()
        self._refusing: set[str] = set()

    def admit(self, host: str) -> bool:
        """Count a new connection from ``host``; False (nothing counted) when it holds its limit already."""
        if self._open[host] >= self.per_address:
            if host not in self._refusing:
                # Once per flood: a flood must not fill the journal.
                self._refusing.add(host)
                logger.warning(
                    "%s holds %d connections, the limit; closing its new ones", host, self.per_address
                )
            return False
        self._refusing.discard(host)
        self._open[host] += 1
        return True

    def closed(self, host: str) -> None:
        self._open[host] -= 1
        if self._open[host] <= 0:
            del self._open[host]


class _Channel(HTTPChannel):
    """waitress's connection, parsing each request with :class:`_PathLimitedParser`, and knowing since when
    it has been sending the headers of a request (:attr:`header_since`)."""

    def __init__(
        self,
        server: Any,
        sock: Any,
        addr: Any,
        adj: Any,
        map: Any = None,
        *,
        limits: BodyLimits,
        connections: _Connections,
    ) -> None:
        self._body_limits = limits
        self._connections = connections
        self._host = str(addr[0]) if isinstance(addr, tuple) else str(addr)
        self._counted = True
        #: When the headers now arriving began (monotonic), or None between requests and once they are in.
        self.header_since: float | None = time.monotonic()
        super().__init__(server, sock, addr, adj, map=map)

    def parser_class(self, adj: Any) -> _PathLimitedParser:
        # waitress calls self.parser_class(adj) for every request, and for the error it answers.
        return _PathLimitedParser(adj, self._body_limits)

    def received(self, data: bytes) -> bool:
        before = self.request
        result: bool = super().received(data)
        request = self.request
        if request is None or request.headers_finished or request.error is not None:
            # Complete (queued for a worker), or on to its body: the header deadline is met.
            self.header_since = None
        elif request is not before or self.header_since is None:
            # The headers of a new request began in this data.
            self.header_since = time.monotonic()
        return result

    def del_channel(self, map: Any = None) -> None:
        super().del_channel(map)
        if self._counted:
            self._counted = False
            self._connections.closed(self._host)


def _channel_factory(limits: BodyLimits, connections: _Connections) -> Callable[..., _Channel | None]:
    """What waitress calls for each accepted socket: a :class:`_Channel`, or nothing for an address at its
    limit (the socket is closed at once; waitress ignores the return value)."""

    def make(server: Any, sock: Any, addr: Any, adj: Any, map: Any = None) -> _Channel | None:
        host = str(addr[0]) if isinstance(addr, tuple) else str(addr)
        if not connections.admit(host):
            with contextlib.suppress(OSError):
                sock.close()
            return None
        return _Channel(server, sock, addr, adj, map=map, limits=limits, connections=connections)

    return make


class Hub:
    """Serves ``app`` on ``host:port`` and calls ``refresh`` at start and every ``refresh_interval``.

    Args:
        app: The WSGI application, normally :func:`signage.operator.hub.files.make_app` of ``DIR/public``.
        refresh: Re-signs what expires (``signage repo refresh DIR``); it may raise, the hub logs it.
        host: Address to listen on; ``127.0.0.1`` unless screens reach the hub directly.
        port: TCP port; 0 picks a free one, readable afterwards from :attr:`port`.
        refresh_interval: Time between two refreshes.
        threads: waitress worker threads.
        connection_limit: Connections open at once before waitress stops accepting.
        channel_timeout: Seconds before an idle connection is closed.
        per_address_limit: Connections one client address may hold; more are closed on accepting them.
        header_timeout: Seconds from a request's first byte by which its headers must be complete.
        body_limits: The largest request body by method and path, refused (413) from its headers.
    """

    def __init__(
        self,
        app: WSGIApplication,
        refresh: Callable[[], None],
        *,
        host: str = "127.0.0.1",
        port: int = 8080,
        refresh_interval: dt.timedelta = DEFAULT_REFRESH_INTERVAL,
        threads: int = DEFAULT_THREADS,
        connection_limit: int = DEFAULT_CONNECTION_LIMIT,
        channel_timeout: int = DEFAULT_CHANNEL_TIMEOUT,
        per_address_limit: int = DEFAULT_PER_ADDRESS_LIMIT,
        header_timeout: float = DEFAULT_HEADER_TIMEOUT,
        body_limits: BodyLimits | None = None,
    ) -> None:
        if refresh_interval <= dt.timedelta(0):
            raise ConfigError(
                f"刷新间隔必须大于零，而不是 {refresh_interval}",
                f"the refresh interval must be positive, not {refresh_interval}",
            )
        self._app = app
        self._refresh = refresh
        self._host = host
        self._requested_port = port
        self._refresh_interval = refresh_interval
        self._threads = threads
        self._connection_limit = connection_limit
        self._channel_timeout = channel_timeout
        self._connections = _Connections(per_address_limit)
        self._header_timeout = header_timeout
        self._body_limits = BodyLimits() if body_limits is None else body_limits
        self._lock = threading.Lock()
        self._stop_requested = threading.Event()
        self._started = False
        self._stopped = False
        self._map: dict[int, Any] = {}
        self._server: Any = None
        self._loop_thread: threading.Thread | None = None
        self._scheduler: Any = None
        self._addresses: list[tuple[str, int]] = []

    @property
    def port(self) -> int:
        """The port actually bound (the first, if the host name gave several addresses).

        Raises:
            RuntimeError: the hub has not been started.
        """
        return self.addresses[0][1]

    @property
    def addresses(self) -> list[tuple[str, int]]:
        """Every ``(host, port)`` listened on; ``localhost`` may give both IPv4 and IPv6.

        Raises:
            RuntimeError: the hub has not been started.
        """
        if not self._addresses:
            raise RuntimeError("the hub is not listening; call start() first")
        return list(self._addresses)

    def start(self) -> None:
        """Listen, serve in a background thread and start the refresh schedule; return once listening.

        Raises:
            ConfigError: the address cannot be listened on (in use, not ours, not resolvable).
            RuntimeError: the hub was started before (a stopped hub is not restarted; make a new one).
        """
        with self._lock:
            if self._started:
                raise RuntimeError("a Hub is started once; create a new one to serve again")
            self._started = True
            _raise_descriptor_limit(2 * self._connection_limit + 256)
            try:
                self._server = self._listen()
            except BaseException:
                self._stopped = True  # nothing runs yet, so there is nothing for stop() to do
                raise
            self._loop_thread = threading.Thread(target=self._run_loop, name="signage-hub-http", daemon=True)
            self._loop_thread.start()
            self._scheduler = self._schedule()
        logger.info(
            "hub serving on %s; refresh every %s",
            ", ".join(f"http://{_bracketed(host)}:{port}" for host, port in self._addresses),
            self._refresh_interval,
        )

    def stop(self) -> None:
        """Stop serving and the schedule, waiting for a running request batch and refresh; idempotent."""
        with self._lock:
            if not self._started or self._stopped:
                return
            self._stopped = True
            self._stop_requested.set()
            self._wake_loop()
            loop_thread, scheduler = self._loop_thread, self._scheduler
        if loop_thread is not None:
            loop_thread.join(_JOIN_TIMEOUT_SECONDS)
            if loop_thread.is_alive():
                logger.warning("the hub's HTTP thread did not finish within %s s", _JOIN_TIMEOUT_SECONDS)
        if scheduler is not None:
            scheduler.shutdown(wait=True)
        logger.info("hub stopped")

    def serve_forever(self, stop_signals: Sequence[signal.Signals] = (signal.SIGINT, signal.SIGTERM)) -> None:
        """Start, block until one of ``stop_signals`` arrives (or :meth:`stop` is called), then stop.

        Must be called from the main thread: only it may install signal handlers. The previous handlers
        are put back before returning.
        """
        received: list[int] = []

        def on_signal(number: int, frame: FrameType | None) -> None:
            # Only a list append here: a handler that took a lock could deadlock against the main
            # thread interrupted while holding it. The loop below sees the append within a tick.
            received.append(number)

        previous = {number: signal.signal(number, on_signal) for number in stop_signals}
        try:
            self.start()
            while not received and not self._stop_requested.wait(0.2):
                pass
            if received:
                logger.info("hub received %s, stopping", signal.Signals(received[0]).name)
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)
            self.stop()

    def _listen(self) -> Any:
        """The waitress server, already bound and listening, driven later by our own loop."""
        try:
            server = waitress.create_server(
                self._app,
                map=self._map,
                host=self._host,
                port=self._requested_port,
                threads=self._threads,
                connection_limit=self._connection_limit,
                channel_timeout=self._channel_timeout,
                # Each request gets its own limit from _PathLimitedParser; this one is what a request
                # whose headers cannot be parsed is held to.
                max_request_body_size=self._body_limits.default + 1,
                max_request_header_size=MAX_HEADER_BYTES,
                # poll() has no FD_SETSIZE ceiling of 1024 descriptors, unlike select().
                asyncore_use_poll=True,
                ident="signage-hub",
            )
        except (OSError, ValueError) as error:
            # waitress creates its trigger pipe and socket before bind() fails; they are in our map.
            wasyncore.close_all(self._map, ignore_all=True)
            raise ConfigError(
                f"无法在 {self._host}:{self._requested_port} 上监听：{error}（端口被占用或地址不属于本机？）",
                f"cannot listen on {self._host}:{self._requested_port}: {error} "
                "(is the port in use, or the address not this machine's?)",
            ) from error
        for dispatcher in self._map.values():
            if isinstance(dispatcher, BaseWSGIServer):
                # Set before the loop runs, so every connection accepted gets the per-path limits.
                dispatcher.channel_class = _channel_factory(self._body_limits, self._connections)
        listening = getattr(server, "effective_listen", None)
        self._addresses = (
            [(str(host), int(port)) for host, port in listening]
            if listening is not None
            else [(str(server.effective_host), int(server.effective_port))]
        )
        return server

    def _run_loop(self) -> None:
        """waitress's event loop, one poll at a time so that a stop request is seen; then clean up."""
        use_poll = bool(self._server.adj.asyncore_use_poll)
        try:
            next_sweep = 0.0
            while not self._stop_requested.is_set():
                try:
                    wasyncore.loop(timeout=_LOOP_TIMEOUT_SECONDS, map=self._map, use_poll=use_poll, count=1)
                    now = time.monotonic()
                    if now >= next_sweep:
                        next_sweep = now + _SWEEP_SECONDS
                        self._close_late_headers(now)
                except Exception:
                    # waitress handles errors of one connection itself; what reaches here is the loop's
                    # own failure. Keep serving, but not in a tight loop if it persists.
                    logger.exception("the hub's HTTP loop failed; continuing")
                    self._stop_requested.wait(1.0)
        finally:
            self._close_server()

    def _close_late_headers(self, now: float) -> None:
        """Close every connection whose request headers began more than ``header_timeout`` ago (loop thread)."""
        late = [
            channel
            for channel in list(self._map.values())
            if isinstance(channel, _Channel)
            and channel.header_since is not None
            and now - channel.header_since > self._header_timeout
            and not channel.requests
        ]
        for channel in late:
            try:
                channel.handle_close()
            except Exception:
                logger.debug("closing %r failed", channel, exc_info=True)
        if late:
            logger.info("closed %d connections that did not send their headers in time", len(late))

    def _close_server(self) -> None:
        """Close every connection and the listening sockets, then let the workers finish."""
        # handle_close() (not close()) wakes a worker blocked writing to a full channel, which then
        # sees the client as disconnected instead of waiting for a loop that is no longer running.
        for dispatcher in list(self._map.values()):
            if isinstance(dispatcher, HTTPChannel):
                try:
                    dispatcher.handle_close()
                except Exception:
                    logger.debug("closing %r failed", dispatcher, exc_info=True)
        # The listening sockets and the trigger are closed plainly: their handle_close() only warns.
        wasyncore.close_all(self._map, ignore_all=True)
        self._server.task_dispatcher.shutdown()

    def _wake_loop(self) -> None:
        """Interrupt the loop's select() so that it sees the stop request now."""
        for dispatcher in list(self._map.values()):
            if isinstance(dispatcher, waitress_trigger.trigger):
                # OSError: already closed, because the loop is leaving anyway.
                with contextlib.suppress(OSError):
                    dispatcher.pull_trigger()
                return

    def _schedule(self) -> Any:
        """The started scheduler, with the refresh due now and then every interval."""
        # One worker: two refreshes must never sign at the same time. coalesce and max_instances=1 turn
        # a backlog (machine asleep, a slow refresh) into one run, and misfire_grace_time=None runs a
        # late refresh however late rather than skipping it.
        scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(max_workers=1)},
            timezone=dt.UTC,
        )
        scheduler.start()
        scheduler.add_job(
            self._run_refresh,
            trigger="interval",
            seconds=self._refresh_interval.total_seconds(),
            next_run_time=dt.datetime.now(dt.UTC),
            id="signage-repo-refresh",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
        )
        return scheduler

    def _run_refresh(self) -> None:
        """Call ``refresh``; any failure becomes one log line, never an exception in the scheduler."""
        try:
            self._refresh()
        except SignageError as error:
            logger.error(
                "repository refresh failed, retrying in %s: %s / %s",
                self._refresh_interval,
                error.zh,
                error.en,
            )
        except Exception as error:
            logger.error(
                "repository refresh failed, retrying in %s: %s: %s",
                self._refresh_interval,
                type(error).__name__,
                error,
            )
            # The traceback is for whoever debugs it; the line above is for whoever runs the hub.
            logger.debug("refresh traceback", exc_info=True)


def _raise_descriptor_limit(needed: int) -> None:
    """Raise this process's soft limit of open files towards ``needed`` (within the hard limit): Debian's
    default soft limit, 1,024, is below what the connection limit needs."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return
    target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    if target > soft:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def _bracketed(host: str) -> str:
    """``host`` as it is written in a URL (IPv6 addresses in brackets)."""
    return f"[{host}]" if ":" in host else host
