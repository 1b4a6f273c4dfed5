"""A real HTTP server on 127.0.0.1 that misbehaves on request: the ``fault_server`` fixture.

Screens meet slow, broken and hostile servers; the fetcher and (next) the TUF updater are tested against
a real socket rather than a mock, because timeouts and truncation only show on a real connection.

Usage::

    def test_something(fault_server):
        fault_server.serve_dir(repository_dir)             # files under their relative paths
        fault_server.serve_bytes("/photo/ab12", b"...")     # or single in-memory files
        fault_server.set_fault("/metadata/timestamp.json", Fault(chunk_delay=0.3, chunk_size=1))
        url = fault_server.url + "metadata/timestamp.json"
        ...
        fault_server.wait_idle()
        assert fault_server.requests[-1].status == 200

A :class:`Fault` changes how one path is answered; fields combine (a 200 with a fixed Date header,
a body sent one byte every 0.3 s, a Content-Length that lies, ...). ``times`` limits a fault to the
first n requests, after which the path is served normally again (for retry and recovery tests).
"""

from __future__ import annotations

import contextlib
import http.server
import socket
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import pytest

# Long enough for any test, short enough that a forgotten hang cannot stall the run.
MAX_HANG_SECONDS = 30.0


@dataclass(frozen=True)
class Fault:
    """How to answer one path instead of serving it normally.

    Attributes:
        status: The status code to send.
        body: The body to send; ``None`` sends what the path normally serves (or a short text for a
            path that has nothing).
        headers: Extra headers; they replace the server's own (``Date``, even ``Content-Length``).
        omit_headers: Header names not to send at all, e.g. ``("Date",)``.
        content_length: The Content-Length to announce instead of the true one (a lie);
            ``-1`` sends no Content-Length, and the end of the body is the end of the connection.
        send_bytes: Send only this many body bytes, then close the connection (truncation).
        chunk_size: Body bytes per write.
        chunk_delay: Seconds to sleep before each body write (a slow or trickling server).
        header_delay: Seconds to sleep before sending anything at all.
        hang: After the headers, send nothing until the server stops (or MAX_HANG_SECONDS).
        endless: Ignore ``body`` and send chunks of ``b"x"`` until the client goes away; announces no
            Content-Length unless ``content_length`` is given.
        times: Apply the fault to the first ``times`` requests only; ``None`` means always.
    """

    status: int = 200
    body: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    omit_headers: tuple[str, ...] = ()
    content_length: int | None = None
    send_bytes: int | None = None
    chunk_size: int = 64 * 1024
    chunk_delay: float = 0.0
    header_delay: float = 0.0
    hang: bool = False
    endless: bool = False
    times: int | None = None


class Request(NamedTuple):
    """One request as the server saw it, logged when its answer is finished."""

    method: str
    path: str
    status: int
    bytes_sent: int


class FaultServer:
    """A threaded HTTP/1.1 server on 127.0.0.1 with per-path faults.

    Attributes:
        url: The base URL, ending in ``/`` (e.g. ``http://127.0.0.1:41234/``).
        requests: Every finished request, in order of completion.
    """

    def __init__(self) -> None:
        self._files: dict[str, bytes] = {}
        self._roots: list[Path] = []
        self._faults: dict[str, _Armed] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._in_flight = 0
        self._idle = threading.Condition(self._lock)
        self._connections: set[socket.socket] = set()
        #: How many TCP connections clients opened (keep-alive reuses one).
        self.connections_opened = 0
        # Body chunks claimed for writing since the start, and the one to hold back (see hold_chunk).
        self._progress = threading.Condition()
        self._chunks = 0
        self._hold: int | None = None
        self._holding = False
        self.requests: list[Request] = []
        #: The request headers of each request, in order of arrival.
        self.request_headers: list[dict[str, str]] = []
        self._httpd = _Server(("127.0.0.1", 0), _Handler, self)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), name="fault-server", daemon=True
        )

    def start(self) -> None:
        """Start serving in a background thread."""
        self._thread.start()

    def stop(self) -> None:
        """Release hanging answers, close every connection and wait for the handler threads."""
        self._stopping.set()
        self.release_chunk()
        self._httpd.shutdown()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            # shutdown() wakes a handler blocked reading the next keep-alive request; close() would not.
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def serve_dir(self, directory: Path) -> None:
        """Serve the files under ``directory`` at ``/`` + their relative path (the first directory wins)."""
        self._roots.append(directory)

    def serve_bytes(self, path: str, data: bytes) -> None:
        """Serve ``data`` at the URL path ``path`` (e.g. ``/photos/ab12``)."""
        self._files[path] = data

    def set_fault(self, path: str, fault: Fault) -> None:
        """Answer ``path`` according to ``fault`` (replacing any earlier fault for it)."""
        with self._lock:
            self._faults[path] = _Armed(fault)

    def clear_faults(self) -> None:
        """Serve every path normally again."""
        with self._lock:
            self._faults.clear()

    @property
    def chunks_sent(self) -> int:
        """Body chunks of every answer so far (each ``Fault.chunk_size`` bytes at most), held ones included."""
        with self._progress:
            return self._chunks

    def hold_chunk(self, number: int) -> None:
        """Hold back body chunk ``number`` (counted as :attr:`chunks_sent`) until :meth:`release_chunk`.

        For killing a client at an exact point of its progress: once :meth:`wait_held` returns, the client
        has received every chunk before that one, and not that one.
        """
        with self._progress:
            self._hold = number

    def wait_held(self, timeout: float) -> bool:
        """Wait until the held chunk is reached; False if ``timeout`` seconds pass first."""
        with self._progress:
            return self._progress.wait_for(lambda: self._holding, timeout)

    def release_chunk(self) -> None:
        """Let the held chunk go (and hold nothing)."""
        with self._progress:
            self._hold = None
            self._holding = False
            self._progress.notify_all()

    def _claim_chunk(self) -> None:
        with self._progress:
            number = self._chunks
            self._chunks += 1
            if number == self._hold:
                self._holding = True
                self._progress.notify_all()
                self._progress.wait_for(lambda: self._hold != number or self._stopping.is_set())

    def wait_idle(self, timeout: float = 5.0) -> None:
        """Wait until no answer is being sent, so :attr:`requests` is complete."""
        end = time.monotonic() + timeout
        with self._idle:
            while self._in_flight:
                left = end - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{self._in_flight} answers still being sent after {timeout} s")
                self._idle.wait(left)

    def content(self, path: str) -> bytes | None:
        """What ``path`` serves without a fault, or ``None``."""
        if path in self._files:
            return self._files[path]
        relative = path.lstrip("/")
        for root in self._roots:
            candidate = (root / relative).resolve()
            # Refuse ../ escapes: this server also serves attack tests.
            if candidate.is_relative_to(root.resolve()) and candidate.is_file():
                return candidate.read_bytes()
        return None

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            armed = self._faults.get(path)
            if armed is None or (armed.fault.times is not None and armed.used >= armed.fault.times):
                return None
            armed.used += 1
            return armed.fault

    def _began(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.add(connection)
            self.connections_opened += 1

    def _ended(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.discard(connection)

    def _answer_started(self) -> None:
        with self._lock:
            self._in_flight += 1

    def _answer_finished(self, request: Request) -> None:
        with self._idle:
            self.requests.append(request)
            self._in_flight -= 1
            self._idle.notify_all()


@dataclass
class _Armed:
    fault: Fault
    used: int = 0


class _Server(http.server.ThreadingHTTPServer):
    # Not daemons: server_close() joins every handler, so no thread outlives its test.
    daemon_threads = False
    block_on_close = True

    def __init__(self, address: tuple[str, int], handler: type[_Handler], owner: FaultServer) -> None:
        self.owner = owner
        super().__init__(address, handler)

    def handle_error(self, request: object, client_address: object) -> None:
        # Clients that hang up mid-answer are what these tests provoke; anything else is a bug here.
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # A socket timeout, so that no handler can block forever on a client that stopped reading.
    timeout = 10
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.owner._began(self.connection)

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()
        self.server.owner._ended(self.connection)

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def _answer(self, *, send_body: bool) -> None:
        owner = self.server.owner
        path = self.path.split("?", 1)[0]
        owner.request_headers.append(dict(self.headers.items()))
        normal = owner.content(path)
        fault = owner._take_fault(path) or (Fault() if normal is not None else Fault(status=404))
        status = fault.status
        body = fault.body if fault.body is not None else normal
        if body is None or (fault.body is None and status >= 400):
            # An error answer does not carry the file it refuses.
            body = f"{status} {path}\n".encode()
        owner._answer_started()
        sent = 0
        try:
            sent = self._send(fault, status, body, send_body)
        except OSError:
            self.close_connection = True
        finally:
            owner._answer_finished(Request(self.command, path, status, sent))

    def _send(self, fault: Fault, status: int, body: bytes, send_body: bool) -> int:
        stopping = self.server.owner._stopping
        if fault.header_delay and stopping.wait(fault.header_delay):
            return 0
        self.send_response_only(status)
        headers = {
            "Server": "fault-server",
            "Date": self.date_time_string(),
            "Content-Type": "application/octet-stream",
        }
        length = (
            fault.content_length if fault.content_length is not None else (-1 if fault.endless else len(body))
        )
        if length >= 0:
            headers["Content-Length"] = str(length)
        headers.update(fault.headers)
        for name in fault.omit_headers:
            headers.pop(name, None)
        truthful = headers.get("Content-Length") == str(len(body))
        if fault.endless or fault.send_bytes is not None or not truthful:
            # Without a true length the connection cannot be reused: its end marks the body's end.
            headers["Connection"] = "close"
            self.close_connection = True
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.flush()
        if not send_body:
            return 0
        if fault.hang:
            stopping.wait(MAX_HANG_SECONDS)
            self.close_connection = True
            return 0
        return self._send_body(fault, body)

    def _send_body(self, fault: Fault, body: bytes) -> int:
        stopping = self.server.owner._stopping
        to_send = body if fault.send_bytes is None else body[: fault.send_bytes]
        sent = 0
        chunks = _endless(fault.chunk_size) if fault.endless else _slices(to_send, fault.chunk_size)
        for chunk in chunks:
            if fault.chunk_delay and stopping.wait(fault.chunk_delay):
                break
            if stopping.is_set():
                break
            self.server.owner._claim_chunk()
            self.wfile.write(chunk)
            self.wfile.flush()
            sent += len(chunk)
        return sent


def _slices(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def _endless(size: int) -> Iterator[bytes]:
    chunk = b"x" * size
    while True:
        yield chunk


@pytest.fixture
def fault_server() -> Iterator[FaultServer]:
    """A started :class:`FaultServer`, stopped after the test."""
    server = FaultServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
