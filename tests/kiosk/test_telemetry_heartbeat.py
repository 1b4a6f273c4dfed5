"""The heartbeat carries the painter's page plan and slide size (issue 13), and the hub's checks accept it.

The real player (window, render thread, a rotation paging a list too long for its screen) runs with the real
Telemetry, which writes the painter's state file (issue 15: the painter opens no connection); the sync
service's :class:`~signage.sync.telemetry.reporter.Reporter` reads it and sends the heartbeat over a socket to a
small HTTP server on 127.0.0.1 that keeps each body, and each body is then put through the hub's own ingest
check (:func:`signage.operator.hub.screens.ingest.heartbeat`). A painter whose state file has gone stale is reported
as such, with nothing on screen.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from signage.core.pages import plan_pages
from signage.core.rotation import DirectoryStore, Paging, Rotation
from signage.kiosk.state import BackgroundStore
from signage.kiosk.telemetry import Telemetry
from signage.operator.hub.screens import ingest
from signage.sync.cache import CacheState
from signage.sync.config import PlayerConfig
from signage.sync.telemetry.heartbeat import Display
from signage.sync.telemetry.painter import read_painter_state
from signage.sync.telemetry.reporter import Reporter
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
    store = BackgroundStore(DirectoryStore(config.cache_dir))
    telemetry = Telemetry(
        config,
        built.player,
        clock=built.clock,
        plan=lambda: rotation.plan,
        display=Display(1920, 1080, "landscape"),
        store=store,
        every=dt.timedelta(milliseconds=200),
    )
    built.start(snapshot(records(1500)))
    telemetry.start()
    try:
        built.qtbot.waitUntil(
            lambda: (
                (state := read_painter_state(config.cache_dir)) is not None and state.on_screen is not None
            ),
            timeout=int(WAIT_SECONDS * 1000),
        )
    finally:
        telemetry.stop()
        store.close()
    painter = read_painter_state(config.cache_dir)
    assert painter is not None and painter.rss_bytes and painter.last_paint is not None

    reporter = Reporter(config, clock=built.clock, stale_after=dt.timedelta(seconds=30))
    reporter.beat(CacheState("c1"), ("updated", "内容已更新 / new content applied"))
    bodies: list[dict[str, Any]] = hub.bodies  # type: ignore[attr-defined]
    body = bodies[-1]
    assert body["on_screen"] == painter.on_screen
    assert body["last_sync"] == {"state": "updated", "message": "内容已更新 / new content applied"}
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


def test_a_silent_painter_is_reported_with_nothing_on_screen(
    rig: Callable[..., Rig], hub: ThreadingHTTPServer, tmp_path: Path
) -> None:
    built = rig(Rotation(SCREEN))
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    config = PlayerConfig(
        SCREEN, f"http://127.0.0.1:{hub.server_port}/", "c1", tmp_path / "root.json", tmp_path / "cache",
        token_file=token_file,
    )  # fmt: skip
    bodies: list[dict[str, Any]] = hub.bodies  # type: ignore[attr-defined]
    reporter = Reporter(config, clock=built.clock, stale_after=dt.timedelta(seconds=30))
    # No state file at all: the painter never started.
    reporter.beat(CacheState("c1"), None)
    assert bodies[-1]["on_screen"] is None
    assert "painter not running" in bodies[-1]["last_sync"]["message"]

    store = DirectoryStore(config.cache_dir)
    telemetry = Telemetry(config, built.player, clock=built.clock, store=store)
    built.start(snapshot(records(3)))
    built.qtbot.waitUntil(lambda: built.player.current is not None, timeout=int(WAIT_SECONDS * 1000))
    telemetry.publish()
    telemetry.stop()
    reporter.beat(CacheState("c1"), None)
    assert bodies[-1]["on_screen"] is not None
    # Two minutes later without a new state: the painter is silent (stuck, or killed), and said so.
    built.clock.now += dt.timedelta(minutes=2)
    reporter.beat(CacheState("c1"), None)
    assert bodies[-1]["on_screen"] is None and bodies[-1]["rss_bytes"] is None
    assert "painter silent for 120 s" in bodies[-1]["last_sync"]["message"]
    checked = ingest.heartbeat(bodies[-1], SCREEN, now=built.clock(), limits=ingest.Limits())
    assert checked is not None
