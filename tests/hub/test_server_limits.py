"""Request bodies are bounded per path by waitress itself, from the headers, before any body is read.

Only ``POST /upload/`` (the console's upload) may carry an upload-sized body; every other path keeps the
telemetry's 2 MiB, so that an anonymous client cannot make the hub spool hundreds of megabytes to disk per
connection. The hub is the Django hub beside the static files (:func:`signage.operator.hub.serve.make_hub`) served
by waitress as ``signage hub`` does, and every request goes over a real socket on 127.0.0.1, written by
hand so that the test decides exactly which bytes are sent and when.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import socket
from collections.abc import Iterator

import pytest

from signage.operator.hub.console.uploads import MAX_UPLOAD_BYTES
from signage.operator.hub.screens.ingest import MAX_REQUEST_BODY_BYTES
from signage.operator.hub.serve import make_hub
from signage.operator.hub.server import Hub
from tests.helpers import WAIT_SECONDS

from .conftest import Repository

NOW = dt.datetime(2026, 11, 26, 8, 0, tzinfo=dt.UTC)
HUNDRED_MB = 100 * 1024 * 1024
CHUNK = 64 * 1024
# A real server thread answers: the test database's rows must be committed for it to see them.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def hub(repository: Repository) -> Iterator[Hub]:
    started = make_hub(
        repository.root, clock=lambda: NOW, refresh=lambda: None, port=0, channels=dict, setup=False
    )
    started.start()
    yield started
    started.stop()


def connect(hub: Hub) -> socket.socket:
    # The timeout only guards the test against a hang: waitress waiting for a body it should have refused
    # would otherwise keep the test for its channel timeout.
    return socket.create_connection(("127.0.0.1", hub.port), timeout=WAIT_SECONDS)


def head(method: str, path: str, *headers: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *headers, "", ""]
    return "\r\n".join(lines).encode()


def status_of(connection: socket.socket) -> int:
    """The status of the first answer on ``connection``, read up to the end of its status line."""
    received = b""
    while b"\r\n" not in received:
        data = connection.recv(4096)
        if not data:
            break
        received += data
    assert received.startswith(b"HTTP/1.1 "), received[:200]
    return int(received[9:12])


def send_chunks(connection: socket.socket, total: int, *, last: bool) -> None:
    """``total`` bytes of chunked body, ending it with the zero-length chunk only when ``last``."""
    chunk = b"%x\r\n" % CHUNK + b"x" * CHUNK + b"\r\n"
    for _ in range(total // CHUNK):
        connection.sendall(chunk)
    if last:
        connection.sendall(b"0\r\n\r\n")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/telemetry/heartbeat"),
        ("POST", "/telemetry/plays"),
        ("POST", "/login/"),
        ("POST", "/upload/x"),
        ("PUT", "/upload/"),  # the large limit is the upload's POST only
        ("POST", "/upload"),
    ],
)
def test_a_100_mb_content_length_is_413_at_once_with_no_body_sent(hub: Hub, method: str, path: str):
    with connect(hub) as connection:
        # Only the headers are sent: an answer at all means waitress did not wait for the body.
        connection.sendall(head(method, path, f"Content-Length: {HUNDRED_MB}"))
        assert status_of(connection) == 413


def test_a_refused_body_is_not_invited_by_100_continue(hub: Hub):
    with connect(hub) as connection:
        connection.sendall(head("POST", "/login/", f"Content-Length: {HUNDRED_MB}", "Expect: 100-continue"))
        assert status_of(connection) == 413  # not "100 Continue" first


def test_the_upload_path_is_413_at_once_just_above_the_upload_limit(hub: Hub):
    with connect(hub) as connection:
        connection.sendall(head("POST", "/upload/", f"Content-Length: {MAX_UPLOAD_BYTES + 1}"))
        assert status_of(connection) == 413


def test_a_chunked_body_to_login_is_cut_at_2_mib(hub: Hub):
    with connect(hub) as connection:
        connection.sendall(head("POST", "/login/", "Transfer-Encoding: chunked"))
        # The body never ends (no zero-length chunk), so Django never sees the request: any answer is
        # waitress cutting it. It may close the connection while the last chunks are still on their way.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            send_chunks(connection, MAX_REQUEST_BODY_BYTES + 4 * CHUNK, last=False)
        assert status_of(connection) == 413


def test_a_chunked_body_under_2_mib_reaches_django(hub: Hub):
    with connect(hub) as connection:
        connection.sendall(head("POST", "/login/", "Transfer-Encoding: chunked"))
        send_chunks(connection, MAX_REQUEST_BODY_BYTES // 2, last=True)
        assert status_of(connection) == 403  # Django's CSRF check: the body got through waitress


def test_a_chunked_body_over_2_mib_to_upload_reaches_django(hub: Hub):
    with connect(hub) as connection:
        connection.sendall(head("POST", "/upload/", "Transfer-Encoding: chunked"))
        send_chunks(connection, 2 * MAX_REQUEST_BODY_BYTES, last=True)
        assert status_of(connection) in (302, 403)  # Django: not signed in, or no CSRF token


def test_an_upload_sized_body_to_upload_reaches_django(hub: Hub):
    block = memoryview(bytes(1024 * 1024))
    with connect(hub) as connection:
        connection.sendall(
            head(
                "POST",
                "/upload/",
                f"Content-Length: {MAX_UPLOAD_BYTES}",
                "Content-Type: application/octet-stream",
            )
        )
        remaining = MAX_UPLOAD_BYTES
        while remaining:
            part = block[: min(remaining, len(block))]
            connection.sendall(part)
            remaining -= len(part)
        # waitress read every byte and handed the request on: Django refuses an anonymous upload itself.
        assert status_of(connection) in (302, 403)


@pytest.mark.parametrize("length", ["Content-Length: 0", ""])
def test_expect_100_continue_without_a_body_is_answered_at_once(hub: Hub, length: str):
    # waitress sent "100 Continue" for a request with no body and then waited for that body forever.
    headers = ["Expect: 100-continue", *([length] if length else [])]
    with connect(hub) as connection:
        connection.sendall(head("GET", "/telemetry/plays", *headers))
        answer = b""
        while answer.count(b"\r\n\r\n") < 1 or (
            answer.startswith(b"HTTP/1.1 100") and answer.count(b"\r\n\r\n") < 2
        ):
            chunk = connection.recv(4096)
            assert chunk, answer
            answer += chunk
    assert b"HTTP/1.1 100" not in answer and b" 405 " in answer.split(b"\r\n", 1)[0]
