"""A hub's telemetry endpoints on 127.0.0.1, implementing the contract, with scripted faults.

:class:`HubStub` is what the hub side is built to: ``POST /telemetry/plays`` checks the bearer token, the
size (413), the body's shape (400), that the plays are the token's screen's (403), and counts each batch id once (a retried id is answered 200 with
``"duplicate": true``); ``POST /telemetry/heartbeat`` checks the same and answers ``{"hub_time": ...}``.
Tests script the next answers for a path (:meth:`HubStub.script`): a status, a body, a delay, an endless
body, or a fault *after* the batch was counted (an answer lost on the way back, the case idempotency
exists for). :func:`closed_port_url` gives an address where nothing listens.

Also here: :func:`make_play`, plays that differ from each other, and :func:`tmpfs_python`, which runs a
Python script inside a private mount namespace on a tiny tmpfs, so tests can fill a real disk or remount
a real filesystem read-only without touching the machine's mounts.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import http.server
import json
import re
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from signage.sync.telemetry.plays import MAX_BATCH_BYTES, MAX_BATCH_PLAYS, Play

TOKEN = "screen-token-0412"
#: The screen :data:`TOKEN` belongs to; the hub refuses other screens' plays under it (403).
SCREEN = "bus-0412"
START = dt.datetime(2026, 11, 26, 8, 0, tzinfo=dt.UTC)
PLAY_KEYS = {"screen_id", "entry_id", "entry_hash", "playlist_version", "started", "duration_ms"}
HEARTBEAT_KEYS = {
    "screen_id",
    "channel",
    "playlist_version",
    "revocations_version",
    "verified_until",
    "last_sync",
    "uptime_s",
    "rss_bytes",
    "free_disk_bytes",
    "disk_read_only",
    "clock_offset_s",
    "on_screen",
    "sent_at",
}
_STARTED = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
_BATCH_ID = re.compile(r"[0-9a-f]{32}")
MAX_HEARTBEAT_BYTES = 16 * 1024


def make_play(number: int, *, screen_id: str = SCREEN, version: int = 3) -> Play:
    """The ``number``-th of a sequence of distinct debtor plays, ten seconds apart."""
    return Play(
        screen_id=screen_id,
        entry_id=f"E{number:06d}",
        entry_hash=f"{number:064x}",
        playlist_version=version,
        started=START + dt.timedelta(seconds=10 * number),
        duration_ms=10_000,
    )


def utc_now() -> dt.datetime:
    """The real clock, for code under test that needs one."""
    return dt.datetime.now(dt.UTC)


@dataclass
class Answer:
    """How to answer the next request to a path instead of the contract's normal answer.

    Attributes:
        status: The status to send.
        body: The body; ``None`` sends the normal answer's body (with ``status``).
        process: Handle the request normally first (count the batch), then answer this way: an answer lost
            on its way back to the screen.
        headers: Extra headers.
        delay: Seconds to wait before answering at all.
        endless: Send ``x`` bytes without a Content-Length until the client goes away.
        no_length: Send the body without a Content-Length; closing the connection ends it.
        trickle: Seconds between single bytes of the body.
    """

    status: int = 200
    body: bytes | None = None
    process: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    endless: bool = False
    no_length: bool = False
    trickle: float = 0.0


class HubStub:
    """The contract's hub, in memory.

    Attributes:
        url: Base URL ending in ``/``.
        batches: Plays accepted per batch id.
        counted: How many times each play (its JSON, as a sorted tuple of items) was counted.
        attempts: Every batch id received, in order, retries included.
        heartbeats: Every heartbeat accepted, in order.
        statuses: ``(path, status)`` of every answer.
        headers: The headers of every request.
        max_batch_plays: The most plays a batch may hold before the stub answers 413.
    """

    def __init__(self) -> None:
        self.batches: dict[str, int] = {}
        self.counted: collections.Counter[tuple[tuple[str, object], ...]] = collections.Counter()
        self.attempts: list[str] = []
        self.heartbeats: list[dict[str, object]] = []
        self.statuses: list[tuple[str, int]] = []
        self.headers: list[dict[str, str]] = []
        self.max_batch_plays = MAX_BATCH_PLAYS
        self._scripts: dict[str, collections.deque[Answer]] = collections.defaultdict(collections.deque)
        self._lock = threading.Lock()
        self.stopping = threading.Event()
        self._httpd = _Server(("127.0.0.1", 0), _Handler, self)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    def start(self) -> None:
        """Serve in a background thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and wait for the handlers."""
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def script(self, path: str, *answers: Answer) -> None:
        """Answer the next requests to ``path`` (e.g. ``/telemetry/plays``) with ``answers``, in order."""
        with self._lock:
            self._scripts[path].extend(answers)

    def next_script(self, path: str) -> Answer | None:
        with self._lock:
            queue = self._scripts.get(path)
            return queue.popleft() if queue else None

    def handle_plays(self, body: bytes) -> tuple[int, dict[str, object]]:
        """The contract: 400 malformed, 403 another screen's, 413 too many, else 200 (counted once per id)."""
        document = _parse(body)
        plays = document.get("plays") if document else None
        if (
            document is None
            or set(document) != {"batch_id", "screen_id", "plays"}
            or not isinstance(document["batch_id"], str)
            or not _BATCH_ID.fullmatch(document["batch_id"])
            or not isinstance(plays, list)
            or not all(_valid_play(play, document["screen_id"]) for play in plays)
        ):
            return 400, {"error": "malformed"}
        if document["screen_id"] != SCREEN:
            return 403, {"error": "this token belongs to another screen"}
        if len(plays) > self.max_batch_plays:
            return 413, {"error": "too large"}
        batch_id = document["batch_id"]
        with self._lock:
            self.attempts.append(batch_id)
            if batch_id in self.batches:
                return 200, {"accepted": self.batches[batch_id], "duplicate": True}
            self.batches[batch_id] = len(plays)
            for play in plays:
                self.counted[tuple(sorted(play.items()))] += 1
        return 200, {"accepted": len(plays), "duplicate": False}

    def handle_heartbeat(self, body: bytes) -> tuple[int, dict[str, object]]:
        """The contract: 400 unless exactly the heartbeat's keys, else 200 with the hub's time."""
        document = _parse(body)
        if document is None or set(document) != HEARTBEAT_KEYS:
            return 400, {"error": "malformed"}
        with self._lock:
            self.heartbeats.append(document)
        return 200, {"hub_time": utc_now().isoformat()}


def _parse(body: bytes) -> dict[str, object] | None:
    try:
        document = json.loads(body)
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def _valid_play(play: object, screen_id: object) -> bool:
    return (
        isinstance(play, dict)
        and set(play) == PLAY_KEYS
        and play["screen_id"] == screen_id
        and isinstance(play["started"], str)
        and _STARTED.fullmatch(play["started"]) is not None
        and type(play["duration_ms"]) is int
        and type(play["playlist_version"]) is int
    )


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = False
    block_on_close = True

    def __init__(self, address: tuple[str, int], handler: type[_Handler], hub: HubStub) -> None:
        self.hub = hub
        super().__init__(address, handler)

    def handle_error(self, request: object, client_address: object) -> None:
        # Clients that give up mid-answer are what these tests provoke.
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 10
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without this, Nagle and delayed ACKs add 40 ms to each.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        hub = self.server.hub
        path = self.path.split("?", 1)[0]
        hub.headers.append(dict(self.headers.items()))
        limit = MAX_BATCH_BYTES if path == "/telemetry/plays" else MAX_HEARTBEAT_BYTES
        length = int(self.headers.get("Content-Length", "0"))
        if length > limit:
            self.close_connection = True
            self._send(path, 413, json.dumps({"error": "too large"}).encode(), {"Connection": "close"})
            return
        body = self.rfile.read(length)
        answer = hub.next_script(path)
        if answer is not None and answer.delay and hub.stopping.wait(answer.delay):
            return
        if answer is not None and not answer.process:
            self._scripted(path, answer, None)
            return
        document: dict[str, object]
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            status, document = 401, {"error": "unknown token"}
        elif path == "/telemetry/plays":
            status, document = hub.handle_plays(body)
        elif path == "/telemetry/heartbeat":
            status, document = hub.handle_heartbeat(body)
        else:
            status, document = 404, {"error": "not found"}
        normal = json.dumps(document).encode()
        if answer is not None:
            self._scripted(path, answer, normal)
        else:
            self._send(path, status, normal, {})

    def _scripted(self, path: str, answer: Answer, normal: bytes | None) -> None:
        body = answer.body if answer.body is not None else (normal or b"{}")
        if answer.endless:
            self.close_connection = True
            self._start(path, answer.status, {"Connection": "close", **answer.headers})
            with contextlib.suppress(OSError):
                while not self.server.hub.stopping.is_set():
                    self.wfile.write(b"x" * 16384)
            return
        if answer.no_length:
            self.close_connection = True
            self._start(path, answer.status, {"Connection": "close", **answer.headers})
            with contextlib.suppress(OSError):
                self.wfile.write(body)
            return
        if answer.trickle:
            self._start(path, answer.status, {"Content-Length": str(len(body)), **answer.headers})
            with contextlib.suppress(OSError):
                for index in range(len(body)):
                    if self.server.hub.stopping.wait(answer.trickle):
                        break
                    self.wfile.write(body[index : index + 1])
                    self.wfile.flush()
            self.close_connection = True
            return
        self._send(path, answer.status, body, answer.headers)

    def _start(self, path: str, status: int, headers: dict[str, str]) -> None:
        self.server.hub.statuses.append((path, status))
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.flush()

    def _send(self, path: str, status: int, body: bytes, headers: dict[str, str]) -> None:
        with contextlib.suppress(OSError):
            self._start(path, status, {"Content-Length": str(len(body)), **headers})
            self.wfile.write(body)
            self.wfile.flush()


@pytest.fixture
def hub() -> Iterator[HubStub]:
    """A started :class:`HubStub`, stopped after the test."""
    stub = HubStub()
    stub.start()
    try:
        yield stub
    finally:
        stub.stop()


@pytest.fixture
def session() -> Iterator[requests.Session]:
    """A session that ignores proxies in the environment (they must not see requests for 127.0.0.1)."""
    with requests.Session() as http_session:
        http_session.trust_env = False
        yield http_session


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens: connections are refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def tmpfs_python(
    mount_point: Path, script: str, *args: str, size: str = "256k"
) -> subprocess.CompletedProcess[str]:
    """Run ``script`` with Python in a private mount namespace where ``mount_point`` is a fresh tmpfs.

    The mount is visible to that process only and disappears with it. Skips the test where user or mount
    namespaces are not allowed (some CI containers).
    """
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("unshare(1) is not installed")
    probe = subprocess.run(
        [
            unshare,
            "--user",
            "--map-root-user",
            "--mount",
            "sh",
            "-c",
            f"mount -t tmpfs -o size=16k none {mount_point}",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode != 0:
        pytest.skip(f"cannot mount a private tmpfs here: {probe.stderr.strip()}")
    command = f'mount -t tmpfs -o size={size} none "$1" && shift && exec "$@"'
    return subprocess.run(
        [
            unshare,
            "--user",
            "--map-root-user",
            "--mount",
            "sh",
            "-c",
            command,
            "sh",
            str(mount_point),
            sys.executable,
            "-c",
            script,
            *args,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
