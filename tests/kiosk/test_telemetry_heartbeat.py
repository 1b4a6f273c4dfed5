"""The player's heartbeat carries its page plan and slide size (issue 13), and the hub's checks accept it.

The real player (window, render thread, a rotation paging a list too long for its screen) runs with the real
Telemetry; its heartbeats go over a socket to a small HTTP server on 127.0.0.1 that keeps each body, and
each body is then put through the hub's own ingest check (:func:`signage.operator.hub.screens.ingest.heartbeat`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from signage.core.pages import plan_pages
from signage.core.rotation import Paging, Rotation
from signage.kiosk.telemetry import Telemetry
from signage.operator.hub.screens import ingest
from signage.sync.config import PlayerConfig
from signage.sync.telemetry.heartbeat import Display
from tests.helpers import WAIT_SECONDS
from tests.kiosk.test_player import DWELL, SCREEN, Rig, records, rig, snapshot

__all__ = ["rig"]  # the fixture, imported for this module's tests

TOKEN = "t" * 43


class _Hub(BaseHTTPRequestHandler):
    bodies: list[dict[str, Any]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.endswith("/telemetry/heartbeat"):
            self.server.bodies.append(json.loads(body))  # type: ignore[attr-defined]
            answer = b'{"hub_time": "2026-11-26T04:00:00.000Z"}'
        else:
            answer = b'{"accepted": 0, "duplicate": false}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def hub() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hub)
    server.bodies = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_the_heartbeat_says_the_list_is_not_covered_and_gives_the_slide_size(
    rig: Callable[..., Rig], hub: ThreadingHTTPServer, tmp_path: Path
) -> None:
    # 1,500 entries at one a minute, at most one a page: the loop is 25 hours, over the day.
    paging = Paging(capacity=1, dwell_s=DWELL.total_seconds())
    rotation = Rotation(SCREEN, paging=paging)
    built = rig(rotation)
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    config = PlayerConfig(
        SCREEN,
        f"http://127.0.0.1:{hub.server_port}/",
        "c1",
        tmp_path / "root.json",
        tmp_path / "cache",
        token_file=token_file,
        heartbeat_seconds=0.2,
    )
    telemetry = Telemetry(
        config,
        built.player,
        clock=built.clock,
        plan=lambda: rotation.plan,
        display=Display(1920, 1080, "landscape"),
    )
    built.start(snapshot(records(1500)))
    telemetry.start()
    bodies: list[dict[str, Any]] = hub.bodies  # type: ignore[attr-defined]
    try:
        built.qtbot.waitUntil(
            lambda: any("coverage" in body for body in bodies), timeout=int(WAIT_SECONDS * 1000)
        )
    finally:
        telemetry.stop()

    body = next(body for body in bodies if "coverage" in body)
    expected = plan_pages(1500, dwell_s=60, notices_every=None, capacity=1)
    assert not expected.covered
    assert body["coverage"] == {
        "entries_per_page": 1,
        "loop_hours": 25.0,
        "covered": False,
        "capacity": 1,
    }
    assert body["display"] == {"width": 1920, "height": 1080, "layout": "landscape"}
    # The hub's own check accepts it, and keeps both parts as sent.
    checked = ingest.heartbeat(body, SCREEN, now=built.clock(), limits=ingest.Limits())
    assert checked["coverage"] == body["coverage"] and checked["display"] == body["display"]
