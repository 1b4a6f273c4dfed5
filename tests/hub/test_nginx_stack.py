"""The production stack for real: Debian's nginx, run with the file ``signage hub nginx-config`` prints, in
front of a ``signage hub`` process, attacked and used from 127.0.0.1.

- 1,000 slowloris connections (each trickles a header byte every two seconds and never ends its header)
  while a screen syncs through nginx with ``signage sync --once`` and sends its proof of play and
  heartbeat with its own uploader; then nginx drops every slowloris at its header deadline.
- The files come from disk with the caching headers of docs/deploy.md; dotfiles are 404; ``/upload/``
  takes a large body while ``/login/`` gets 413 from nginx above 2 MB; a client's ``X-Real-IP`` is
  replaced, so ``/fleet`` judges nginx's real client.

nginx runs as this user with an unprivileged prefix in ``tmp_path``; as root, ``-g 'user root;'`` keeps its
workers as root (the generated file has no ``user`` directive, so nobody's workers could not read
``tmp_path``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import os
import re
import resource
import selectors
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from signage.cli import main
from signage.operator.hub import nginx
from tests.console.browser import ACCEPTED, Console, Screen, _free_port, console, court_export, signage
from tests.helpers import TIMEOUT_SLACK, WAIT_SECONDS, wait_until

__all__ = ["console"]  # the fixture, imported for pytest

NGINX = Path("/usr/sbin/nginx")
pytestmark = pytest.mark.skipif(
    not NGINX.exists(),
    reason="Debian's nginx is not installed (/usr/sbin/nginx); `make test` as root installs it",
)

SLOWLORIS = 1000
#: Seconds between two header bytes of one slowloris connection: well inside the header deadline, so only
#: a deadline for the whole header (not one between two reads) drops them.
TRICKLE_SECONDS = 2.0
HEARTBEAT_SECONDS = 2.0
CHANNEL = "nginx-test"


@dataclass
class Front:
    """nginx started with the generated file, in front of the hub of ``console``."""

    url: str
    prefix: Path
    process: subprocess.Popen[bytes]

    def status(self) -> dict[str, int]:
        """nginx's counters (``stub_status``): active, reading, writing, waiting."""
        text = requests.get(self.url + nginx.STATUS_PATH, timeout=WAIT_SECONDS).text
        numbers = re.search(
            r"Active connections: (\d+).*Reading: (\d+) Writing: (\d+) Waiting: (\d+)", text, re.S
        )
        assert numbers, text
        return dict(zip(("active", "reading", "writing", "waiting"), map(int, numbers.groups()), strict=True))


def _render(repo: Path, upstream: str, listen: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    status = main(
        ["hub", "nginx-config", "--repo", str(repo), "--upstream", upstream, "--listen", listen],
        stdout=out,
        stderr=err,
    )
    assert status == 0, err.getvalue()
    return out.getvalue()


def start_nginx(config_text: str, prefix: Path, url: str) -> subprocess.Popen[bytes]:
    """Run ``nginx -c FILE -p PREFIX`` in the foreground until it answers ``url``; None if it exited."""
    prefix.mkdir(parents=True, exist_ok=True)
    config = prefix / "nginx.conf"
    config.write_text(config_text, encoding="utf-8")
    directives = "daemon off;" + (" user root;" if os.geteuid() == 0 else "")
    with (prefix / "stderr.log").open("ab") as log:
        process = subprocess.Popen(
            [str(NGINX), "-c", str(config), "-p", f"{prefix}/", "-g", directives], stdout=log, stderr=log
        )

    def answers() -> bool:
        if process.poll() is not None:
            return True
        try:
            return requests.get(url + nginx.STATUS_PATH, timeout=5).status_code == 200
        except requests.ConnectionError:
            return False

    wait_until(answers, interval=0.05, what="nginx answers")
    return process


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGQUIT)  # graceful: the workers finish, then the master leaves
        try:
            process.wait(WAIT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def front(console: Console, tmp_path: Path) -> Iterator[Front]:
    """nginx on a free port of 127.0.0.1 in front of the console's hub; stopped after the test."""
    upstream = console.url.removeprefix("http://")
    for attempt in range(3):
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        prefix = tmp_path / f"nginx-{attempt}"
        process = start_nginx(_render(console.repo, upstream, f"127.0.0.1:{port}"), prefix, url)
        if process.poll() is None:
            break
    else:
        raise AssertionError((prefix / "stderr.log").read_text() + (prefix / "error.log").read_text())
    try:
        yield Front(url, prefix, process)
    finally:
        stop(process)


class Slowloris:
    """``count`` connections from this machine that send a request line and then one header byte every
    ``interval`` seconds, never ending the header; all driven by one thread with non-blocking sockets.

    Counts what the server does to them: how many it closed, and how long each had lived by then.
    """

    def __init__(self, port: int, count: int, interval: float, *, source: str = "127.0.0.1") -> None:
        self._port = port
        #: The loopback address the connections come from (any of 127.0.0.0/8 reaches this machine).
        self._source = source
        self._count = count
        self._interval = interval
        self._selector = selectors.DefaultSelector()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.opened = 0
        self.lifetimes: list[float] = []
        self._thread = threading.Thread(target=self._run, name="slowloris", daemon=True)

    def __enter__(self) -> Slowloris:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(WAIT_SECONDS)
        for key in list(self._selector.get_map().values()):
            key.fileobj.close()  # type: ignore[union-attr]
        self._selector.close()

    @property
    def closed_by_server(self) -> int:
        with self._lock:
            return len(self.lifetimes)

    def _run(self) -> None:
        # The request line at once (so nginx counts the connection as reading a header), then a header
        # line that never ends: "X: aaaa..." one byte at a time.
        first = b"GET /telemetry/heartbeat HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
        started: dict[socket.socket, float] = {}
        next_byte: dict[socket.socket, float] = {}
        for index in range(self._count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((self._source, 0))
            sock.setblocking(False)
            sock.connect_ex(("127.0.0.1", self._port))
            self._selector.register(sock, selectors.EVENT_WRITE)
            # Spread the trickle over the interval, so that sends are steady rather than in waves.
            next_byte[sock] = time.monotonic() + self._interval * (index / self._count)
        while not self._stop.is_set():
            for key, events in self._selector.select(timeout=0.05):
                sock = key.fileobj  # type: ignore[assignment]
                assert isinstance(sock, socket.socket)
                if events & selectors.EVENT_WRITE and sock not in started:
                    try:
                        sock.send(first)
                    except OSError:
                        continue  # refused or reset: seen as readable below
                    started[sock] = time.monotonic()
                    with self._lock:
                        self.opened += 1
                    self._selector.modify(sock, selectors.EVENT_READ)
                elif events & selectors.EVENT_READ:
                    try:
                        data = sock.recv(4096)
                    except OSError:
                        data = b""
                    if not data:
                        with self._lock:
                            self.lifetimes.append(time.monotonic() - started.get(sock, time.monotonic()))
                        self._selector.unregister(sock)
                        sock.close()
                        next_byte.pop(sock, None)
            now = time.monotonic()
            for sock, due in list(next_byte.items()):
                if due <= now and sock in started:
                    # OSError: the server closed it, which the selector reports as readable.
                    with contextlib.suppress(OSError):
                        sock.send(b"a")
                    next_byte[sock] = due + self._interval


def _enough_descriptors(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            pytest.skip(f"1,000 sockets need {needed} descriptors; the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


def publish(console: Console) -> None:
    """Publish the accepted rows of a court's export to ``CHANNEL`` from the command line."""
    export = court_export(console.scratch / "export.xlsx", dt.date.today())
    published = signage("publish", "--repo", console.repo, "--channel", CHANNEL, "--allow-partial", export)
    assert published.returncode in (0, 1), published.stdout + published.stderr  # 1: the refused row


def _nginx_screen(console: Console, front: Front) -> Screen:
    """A screen of ``CHANNEL`` that reaches the hub only through nginx."""
    folder = console.scratch / "bus-0412"
    folder.mkdir()
    config = folder / "player.toml"
    config.write_text(
        'screen_id = "bus-0412"\n'
        f'hub_url = "{front.url}/"\n'
        f'channel = "{CHANNEL}"\n'
        f'root = "{console.repo / "public" / "metadata" / "1.root.json"}"\n'
        f'cache_dir = "{folder / "cache"}"\n',
        encoding="utf-8",
    )
    return Screen(config, folder / "cache")


def test_a_heartbeat_and_a_sync_get_through_nginx_while_1000_slowloris_connections_are_open(
    console: Console, front: Front
):
    publish(console)
    token = console.register_screen("bus-0412", "示例 1 路公交 / SAMPLE bus 1", "示例车队")
    screen = _nginx_screen(console, front)
    port = int(front.url.rsplit(":", 1)[1])
    _enough_descriptors(SLOWLORIS + 1024)

    with Slowloris(port, SLOWLORIS, TRICKLE_SECONDS) as attack:
        held = wait_until(
            lambda: (counts := front.status())["reading"] >= SLOWLORIS and counts,
            what="nginx holds the 1,000 slowloris connections",
        )
        synced = screen.sync()
        assert synced.returncode == 0, synced.stdout + synced.stderr
        assert sorted(screen.shown_names()) == sorted(debtor.name for debtor in ACCEPTED)
        began = time.monotonic()
        screen.report(front.url, token, plays_each=1)
        reported = time.monotonic() - began
        during = front.status()
        # Nothing but the header deadline closes them, and that deadline is for the whole header: each
        # lived about HEADER_TIMEOUT_SECONDS, although it sent a byte every TRICKLE_SECONDS.
        wait_until(
            lambda: attack.closed_by_server >= SLOWLORIS,
            timeout=nginx.HEADER_TIMEOUT_SECONDS + WAIT_SECONDS,
            interval=0.1,
            what="nginx drops every slowloris at its header deadline",
        )
        lifetimes = sorted(attack.lifetimes)
    print(
        f"\nnginx held {held['reading']} connections reading a header ({held['active']} active); "
        f"{during['reading']} still after the sync; proof of play and heartbeat through nginx in "
        f"{reported:.3f} s; slowloris lifetimes {lifetimes[0]:.1f} to {lifetimes[-1]:.1f} s"
    )
    assert reported < HEARTBEAT_SECONDS
    assert lifetimes[0] >= nginx.HEADER_TIMEOUT_SECONDS - TRICKLE_SECONDS
    assert lifetimes[SLOWLORIS - 1] <= nginx.HEADER_TIMEOUT_SECONDS + TIMEOUT_SLACK
    fleet = requests.get(front.url + "/fleet", timeout=WAIT_SECONDS)
    assert fleet.status_code == 200 and "示例 1 路公交" in fleet.text and "online" in fleet.text


def test_nginx_serves_the_files_with_their_caching_and_limits_bodies_per_location(
    console: Console, front: Front
):
    publish(console)
    public = console.repo / "public"
    (public / "metadata" / ".timestamp.json.abc123.tmp").write_bytes(b'{"half": ')
    (public / "photos").mkdir(exist_ok=True)
    (public / "photos" / ("ab" * 32)).write_bytes(b"\xff\xd8\xff\xd9")
    (public / "targets" / "link.json").symlink_to(console.repo / "keys" / "targets.pem")
    get = requests.Session()
    get.trust_env = False

    def answer(path: str) -> requests.Response:
        return get.get(front.url + path, timeout=WAIT_SECONDS)

    timestamp = answer("/metadata/timestamp.json")
    assert timestamp.status_code == 200 and timestamp.headers["Cache-Control"] == "no-cache"
    assert timestamp.headers["Content-Type"] == "application/json" and timestamp.headers["Server"] == "nginx"
    root = answer("/metadata/1.root.json")
    assert root.status_code == 200 and root.headers["Cache-Control"] == nginx.IMMUTABLE
    next_root = answer("/metadata/99.root.json")
    assert next_root.status_code == 404 and next_root.headers["Cache-Control"] == "no-cache"
    photo = answer("/photos/" + "ab" * 32)
    assert photo.status_code == 200 and photo.headers["Cache-Control"] == nginx.IMMUTABLE
    assert photo.headers["Content-Type"] == "image/jpeg"
    target = next(path for path in (public / "targets").rglob("*.json") if not path.is_symlink())
    served = answer("/" + str(target.relative_to(public)))
    assert served.status_code == 200 and served.headers["Cache-Control"] == nginx.IMMUTABLE
    again = get.get(served.url, headers={"If-None-Match": served.headers["ETag"]}, timeout=WAIT_SECONDS)
    assert again.status_code == 304 and again.headers["Cache-Control"] == nginx.IMMUTABLE
    for hidden in ("/metadata/.timestamp.json.abc123.tmp", "/metadata/%2etimestamp.json.abc123.tmp"):
        refused = answer(hidden)
        assert refused.status_code == 404 and b"half" not in refused.content
        assert refused.headers["Cache-Control"] == "no-cache"
    assert answer("/targets/link.json").status_code in (403, 404)  # disable_symlinks
    assert b"PRIVATE" not in answer("/targets/link.json").content
    assert answer("/metadata/").status_code in (403, 404)  # no listing
    assert answer("/keys/targets.pem").status_code == 404  # the hub's own 404: keys are not under public/

    # The console's login page is the hub's; above 2 MB nginx answers 413 from Content-Length alone.
    assert answer("/login/").status_code == 200
    big = nginx.DEFAULT_BODY_BYTES + 1
    assert _declared_post(front, "/login/", big) == 413
    # The upload takes a body above 2 MB: nginx reads it whole and the hub answers (403: no CSRF token).
    upload = get.post(front.url + "/upload/", data=b"x" * (3 * 1024 * 1024), timeout=WAIT_SECONDS)
    assert upload.status_code == 403 and upload.headers["X-Frame-Options"] == "DENY"  # Django's answer
    # A client's X-Real-IP is replaced by nginx: the hub sees 127.0.0.1 (this machine) and shows /fleet.
    fleet = get.get(front.url + "/fleet", headers={"X-Real-IP": "203.0.113.9"}, timeout=WAIT_SECONDS)
    assert fleet.status_code == 200
    # A path as long as the one that gave a 500 from the hub is answered by nginx (414), never reaching it.
    assert _raw_status(front, b"GET /" + b"a" * 250_000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n") == 414


def _declared_post(front: Front, path: str, length: int) -> int:
    """POST announcing ``length`` bytes without sending them: the status nginx answers at once."""
    return _raw_status(
        front,
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n"
        f"Content-Length: {length}\r\n\r\n".encode(),
    )


def _raw_status(front: Front, request: bytes) -> int:
    """The status nginx answers to ``request`` sent as written (as much as nginx reads of it)."""
    port = int(front.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT_SECONDS) as sock:
        # OSError: nginx answered and closed before reading it all; its answer is still there to read.
        with contextlib.suppress(OSError):
            sock.sendall(request)
        head = sock.recv(4096).decode("latin-1")
    return int(head.split(" ", 2)[1])
