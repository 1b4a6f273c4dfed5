"""The sync service's heartbeat says which form of the channel the screen's set came from (issue 15).

A real cache folder (:class:`~signage.sync.cache.ContentCache`: objects and ``current.json``), the real
:class:`~signage.sync.telemetry.reporter.Reporter`, and the a hub on 127.0.0.1 that keeps what it receives; what arrives is then
checked by the hub's own ingest, so the field the screen sends is the one the hub keeps.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from signage.operator.hub.screens import ingest
from signage.sync.cache import SHARDED, SINGLE, CacheState, ContentCache, ObjectRef
from signage.sync.config import PlayerConfig
from signage.sync.telemetry.heartbeat import PLAYLIST_LAYOUTS
from signage.sync.telemetry.reporter import Reporter
from tests.telemetry.conftest import TOKEN

NOW = dt.datetime(2026, 11, 26, 8, 0, tzinfo=dt.UTC)


class HubStub(http.server.ThreadingHTTPServer):
    """Keeps every heartbeat body as sent (the hub's own ingest judges them in the tests)."""

    heartbeats: list[dict[str, object]]
    url: str


class _Handler(http.server.BaseHTTPRequestHandler):
    server: HubStub

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.endswith("/telemetry/heartbeat"):
            self.server.heartbeats.append(json.loads(body))
            answer = b'{"hub_time": "2026-11-26T08:00:00.000Z"}'
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
def hub() -> Iterator[HubStub]:
    server = HubStub(("127.0.0.1", 0), _Handler)
    server.heartbeats = []
    server.url = f"http://127.0.0.1:{server.server_address[1]}/"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _beat(hub: HubStub, tmp_path: Path, write: CacheState | None) -> dict[str, object]:
    """Write ``write`` as the cache's pointer (none: a fresh screen), load it back, send one heartbeat."""
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    config = PlayerConfig(
        "bus-0412", hub.url, "c1", tmp_path / "root.json", tmp_path / "cache", token_file=token_file
    )
    cache = ContentCache(config.cache_dir)
    cache.prepare()
    if write is not None:
        cache.switch(write)
    sent = len(hub.heartbeats)

    def session() -> requests.Session:
        http = requests.Session()
        http.trust_env = False
        return http

    # Each beat a minute after the last, as the service sends them.
    at = NOW + dt.timedelta(minutes=sent)
    reporter = Reporter(
        config, clock=lambda: at, stale_after=dt.timedelta(seconds=30), session_factory=session
    )
    try:
        reporter.beat(cache.load_state("c1"), ("updated", "内容已更新 / new content applied"))
    finally:
        reporter.close()
    assert len(hub.heartbeats) == sent + 1
    return hub.heartbeats[-1]


def _playlist(cache_dir: Path) -> ObjectRef:
    data = json.dumps({"version": 7}).encode()
    ref = ObjectRef(hashlib.sha256(data).hexdigest(), len(data), 7)
    cache = ContentCache(cache_dir)
    cache.prepare()
    cache.put(data, ref)
    return ref


def test_the_heartbeat_carries_the_layout_of_the_playing_set(hub: HubStub, tmp_path: Path) -> None:
    assert PLAYLIST_LAYOUTS == (SINGLE, SHARDED)
    ref = _playlist(tmp_path / "cache")
    sharded = _beat(hub, tmp_path, CacheState("c1", playlist=ref, layout=SHARDED))
    assert sharded["playlist_layout"] == "sharded" and sharded["playlist_version"] == 7
    kept = ingest.heartbeat(sharded, "bus-0412", now=NOW + dt.timedelta(hours=1), limits=ingest.Limits())
    assert kept["playlist_layout"] == "sharded"

    single = _beat(hub, tmp_path, CacheState("c1", playlist=ref))
    assert single["playlist_layout"] == "single"


def test_a_pointer_without_a_layout_reads_as_single_and_a_screen_without_a_set_says_nothing(
    hub: HubStub, tmp_path: Path
) -> None:
    assert "playlist_layout" not in _beat(hub, tmp_path, None)
    ref = _playlist(tmp_path / "cache")
    ContentCache(tmp_path / "cache").switch(CacheState("c1", playlist=ref, layout=SHARDED))
    pointer = tmp_path / "cache" / "current.json"
    older = json.loads(pointer.read_text())
    del older["layout"]  # written by the software before the sharded form
    pointer.write_text(json.dumps(older))
    assert _beat(hub, tmp_path, None)["playlist_layout"] == "single"
