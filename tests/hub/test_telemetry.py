"""The telemetry ingest through a real hub on 127.0.0.1: auth, idempotency, limits, floods, the fleet page.

Each hub is the Django hub beside the static files (:func:`signage.operator.hub.serve.make_hub`), served by waitress
exactly as ``signage hub`` does, over the test database (SQLite, or PostgreSQL when ``DATABASE_URL`` says so);
requests go over real sockets. What must hold whatever screens send: every refusal
is a short JSON body and one log line, the files keep being served, and the hub keeps answering.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import socket
import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest
import requests
from django.db import connection, connections

from signage.operator.hub.fleet import ChannelState
from signage.operator.hub.screens import records
from signage.operator.hub.screens.ingest import Limits, RateLimiter, hash_token, new_token
from signage.operator.hub.screens.provenance import Issued
from signage.operator.hub.serve import make_hub
from signage.operator.hub.server import Hub
from signage.operator.hub.wsgi import make_hub_application
from tests.helpers import WAIT_SECONDS, wait_until

from .conftest import Repository

NOW = dt.datetime(2026, 11, 26, 8, 0, tzinfo=dt.UTC)
HASH = "ab" * 32
SCREENS = ("bus-0412", "bus-0413")
#: What the channel of :func:`heartbeat` published: version 7, a day before :data:`NOW`, with A0–A2.
PUBLISHED = {("jinan-station", 7): Issued(NOW - dt.timedelta(days=1), frozenset({"A0", "A1", "A2"}))}
#: The views log under this name.
VIEWS_LOGGER = "signage.operator.hub.screens.views"
# A real server thread writes: every test's rows are committed, and the tables emptied afterwards.
pytestmark = pytest.mark.django_db(transaction=True)


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@dataclass
class Ingest:
    """A started hub with telemetry, its store and the tokens of :data:`SCREENS`."""

    port: int
    store: ModuleType
    clock: Clock
    tokens: dict[str, str] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def auth(self, screen_id: str = "bus-0412") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[screen_id]}"}

    def post(self, path: str, body: Any, screen_id: str = "bus-0412", **headers: str) -> requests.Response:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        all_headers = {**self.auth(screen_id), "Content-Type": "application/json", **headers}
        return requests.post(self.url(path), data=data, headers=all_headers, timeout=10)

    def hear(self, *screen_ids: str) -> None:
        """A heartbeat from each screen (default bus-0412): the hub learns its channel, and takes plays."""
        for screen_id in screen_ids or ("bus-0412",):
            response = self.post("/telemetry/heartbeat", heartbeat(screen_id), screen_id=screen_id)
            assert response.status_code == 200, response.text


IngestFactory = Callable[..., Ingest]


@pytest.fixture
def start_ingest(repository: Repository) -> Iterator[IngestFactory]:
    started: list[Hub] = []

    def start(limits: Limits | None = None, **options: Any) -> Ingest:
        clock = Clock(NOW)
        options.setdefault("channels", dict)
        options.setdefault("versions", lambda channel, version: PUBLISHED.get((channel, version)))
        hub = make_hub(
            repository.root, clock=clock, refresh=lambda: None, port=0, limits=limits, setup=False, **options
        )
        started.append(hub)
        ingest = Ingest(0, records, clock)
        for screen_id in SCREENS:
            ingest.tokens[screen_id] = new_token()
            records.add_screen(screen_id, hash_token(ingest.tokens[screen_id]), added_at=NOW, replace=True)
        hub.start()
        ingest.port = hub.port
        return ingest

    yield start
    for hub in started:
        hub.stop()


@pytest.fixture
def ingest(start_ingest: IngestFactory) -> Ingest:
    return start_ingest()


def batch(
    screen_id: str = "bus-0412", count: int = 3, batch_id: str = "0123456789abcdef" * 2
) -> dict[str, Any]:
    return {
        "batch_id": batch_id,
        "screen_id": screen_id,
        "plays": [
            {
                "screen_id": screen_id,
                "entry_id": f"A{index % 3}",
                "entry_hash": HASH,
                "playlist_version": 7,
                "started": f"2026-11-26T07:{index // 60 % 60:02d}:{index % 60:02d}Z",
                "duration_ms": 10_000,
            }
            for index in range(count)
        ],
    }


def heartbeat(screen_id: str = "bus-0412", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "screen_id": screen_id,
        "channel": "jinan-station",
        "playlist_version": 7,
        "revocations_version": 2,
        "verified_until": "2026-11-27T08:00:00Z",
        "last_sync": {"state": "unchanged", "message": "没有新内容"},
        "uptime_s": 3600.5,
        "rss_bytes": 180_000_000,
        "free_disk_bytes": 20_000_000_000,
        "disk_read_only": False,
        "clock_offset_s": -0.4,
        "on_screen": "A1",
        "sent_at": "2026-11-26T07:59:59.500Z",
    }
    body.update(overrides)
    return body


def plays_today(store: ModuleType) -> int:
    day = dt.date(2026, 11, 26)
    return sum(row.plays for row in store.exposure(day, day))


def assert_error(response: requests.Response, status: int, *words: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    body = response.json()
    assert set(body) == {"error", "zh"} and body["zh"]
    for word in words:
        assert word in body["error"]


# --- the happy paths ------------------------------------------------------------------------------------


def test_a_heartbeat_is_stored_and_answered_with_the_hubs_time(ingest: Ingest):
    response = ingest.post("/telemetry/heartbeat", heartbeat())
    assert response.status_code == 200
    assert response.json() == {"hub_time": "2026-11-26T08:00:00.000Z"}
    assert response.headers["Cache-Control"] == "no-store"
    (stored,) = ingest.store.latest_heartbeats()
    assert stored.screen_id == "bus-0412" and stored.received_at == NOW
    assert stored.heartbeat == heartbeat()


def test_a_heartbeat_may_leave_optional_fields_null_or_out(ingest: Ingest):
    body = heartbeat(playlist_version=None, verified_until=None, last_sync=None, clock_offset_s=None)
    del body["rss_bytes"], body["on_screen"]
    assert ingest.post("/telemetry/heartbeat", body).status_code == 200
    stored = ingest.store.latest_heartbeats()[0].heartbeat
    assert stored["rss_bytes"] is None and stored["last_sync"] is None and stored["verified_until"] is None


#: A screen whose list does not go round in a day, even at its densest legible page (issue 13).
UNCOVERED = {"entries_per_page": 12, "loop_hours": 30.5, "covered": False, "capacity": 12}
DISPLAY = {"width": 1920, "height": 1080, "layout": "landscape"}


def test_a_heartbeat_with_coverage_and_display_keeps_both(ingest: Ingest):
    body = heartbeat(coverage=UNCOVERED, display=DISPLAY)
    assert ingest.post("/telemetry/heartbeat", body).status_code == 200
    (stored,) = ingest.store.latest_heartbeats()
    assert stored.heartbeat == body
    never = heartbeat("bus-0413", coverage={**UNCOVERED, "loop_hours": None}, display=None)
    assert ingest.post("/telemetry/heartbeat", never, screen_id="bus-0413").status_code == 200
    stored = ingest.store.latest_heartbeats()[1].heartbeat
    assert stored["coverage"]["loop_hours"] is None and "display" not in stored


def test_a_heartbeat_says_which_form_of_the_channel_the_screen_reads(ingest: Ingest):
    # A screen of issue 15 says sharded (or single, when its channel has no header yet); a screen before it
    # says nothing, and its stored heartbeat has no playlist_layout: the fleet reads that as the single file.
    sharded = heartbeat(playlist_layout="sharded")
    assert ingest.post("/telemetry/heartbeat", sharded).status_code == 200
    assert ingest.post("/telemetry/heartbeat", heartbeat("bus-0413"), screen_id="bus-0413").status_code == 200
    new, old = ingest.store.latest_heartbeats()
    assert new.heartbeat == sharded and "playlist_layout" not in old.heartbeat
    assert ingest.post("/telemetry/heartbeat", heartbeat(playlist_layout=None)).status_code == 200
    assert "playlist_layout" not in ingest.store.latest_heartbeats()[0].heartbeat


@pytest.mark.parametrize("layout", ["Sharded", "bins", "", 1, True, ["sharded"], "s" * 5000])
def test_a_playlist_layout_outside_the_two_forms_is_a_400_naming_the_field(ingest: Ingest, layout: Any):
    response = ingest.post("/telemetry/heartbeat", heartbeat(playlist_layout=layout))
    assert_error(response, 400, "playlist_layout")
    assert ingest.store.latest_heartbeats() == []


def test_fields_the_hub_does_not_know_are_left_out_not_refused(ingest: Ingest):
    # What lets a newer screen talk to this hub: it keeps what it knows.
    body = heartbeat(coverage=UNCOVERED, from_the_future={"x": 1})
    assert ingest.post("/telemetry/heartbeat", body).status_code == 200
    stored = ingest.store.latest_heartbeats()[0].heartbeat
    assert "from_the_future" not in stored and stored["coverage"] == UNCOVERED


def test_plays_are_counted_once_and_a_retry_is_a_duplicate(ingest: Ingest):
    ingest.hear()
    first = ingest.post("/telemetry/plays", batch(count=5))
    assert first.status_code == 200 and first.json() == {"accepted": 5, "duplicate": False, "refused": {}}
    again = ingest.post("/telemetry/plays", batch(count=5))
    assert again.status_code == 200 and again.json() == {"accepted": 5, "duplicate": True, "refused": {}}
    assert plays_today(ingest.store) == 5


def test_notices_and_standby_have_no_entry_hash(ingest: Ingest):
    ingest.hear()
    body = batch(count=2)
    body["plays"][0].update(entry_id="notice:hours", entry_hash="")
    body["plays"][1].update(entry_id="standby", entry_hash="", playlist_version=0)
    assert ingest.post("/telemetry/plays", body).json() == {"accepted": 2, "duplicate": False, "refused": {}}
    day = dt.date(2026, 11, 26)
    assert [row.entry_id for row in ingest.store.exposure(day, day)] == ["notice:hours", "standby"]


def test_concurrent_duplicate_posts_from_two_threads_are_counted_once(ingest: Ingest):
    ingest.hear()
    barrier = threading.Barrier(2)
    answers: list[dict[str, Any]] = []

    def send() -> None:
        barrier.wait()
        answers.append(ingest.post("/telemetry/plays", batch(count=200)).json())

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(15)
    assert sorted(answer["duplicate"] for answer in answers) == [False, True]
    assert plays_today(ingest.store) == 200


# --- authentication -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/telemetry/plays", "/telemetry/heartbeat"])
def test_authentication(ingest: Ingest, path: str, caplog: pytest.LogCaptureFixture):
    body = batch() if path.endswith("plays") else heartbeat()
    with caplog.at_level(logging.WARNING, logger=VIEWS_LOGGER):
        missing = requests.post(ingest.url(path), json=body, timeout=5)
        assert_error(missing, 401, "missing")
        assert missing.headers["WWW-Authenticate"].startswith("Bearer")
        assert_error(ingest.post(path, body, Authorization="Basic dXNlcjpwYXNz"), 401, "malformed")
        assert_error(ingest.post(path, body, Authorization=f"Bearer {new_token()}"), 401, "unknown token")
        other = ingest.post(path, body, screen_id="bus-0413")  # bus-0413's token, bus-0412's body
        assert_error(other, 403, "another screen", "'bus-0412'")
    assert len(caplog.records) == 4
    assert all("\n" not in record.getMessage() for record in caplog.records)
    assert "403 from 127.0.0.1" in caplog.records[-1].getMessage()
    assert ingest.store.latest_heartbeats() == [] and plays_today(ingest.store) == 0


def test_a_removed_screens_token_stops_working_at_once(ingest: Ingest):
    assert ingest.post("/telemetry/heartbeat", heartbeat()).status_code == 200
    ingest.store.remove_screen("bus-0412")
    assert_error(ingest.post("/telemetry/heartbeat", heartbeat()), 401, "unknown token")


def test_every_play_must_be_the_tokens_screen(ingest: Ingest):
    body = batch()
    body["plays"][1]["screen_id"] = "bus-0413"
    assert_error(ingest.post("/telemetry/plays", body), 403)
    assert plays_today(ingest.store) == 0


# --- sizes ----------------------------------------------------------------------------------------------


def test_bodies_over_the_routes_limit_are_413_from_content_length(ingest: Ingest):
    padded = heartbeat(on_screen="x" * 200)
    big = json.dumps(padded).encode() + b" " * (16 * 1024)
    assert_error(ingest.post("/telemetry/heartbeat", big), 413, "16384")
    plays = json.dumps(batch()).encode() + b" " * (1024 * 1024)
    assert_error(ingest.post("/telemetry/plays", plays), 413, "1048576")
    assert ingest.post("/telemetry/heartbeat", heartbeat()).status_code == 200


def test_too_many_plays_is_a_400_naming_the_field(start_ingest: IngestFactory):
    ingest = start_ingest(Limits(max_plays=3))
    ingest.hear()
    assert_error(ingest.post("/telemetry/plays", batch(count=4)), 400, "'plays'", "at most 3")
    assert ingest.post("/telemetry/plays", batch(count=3)).status_code == 200


def test_a_100_mb_content_length_is_refused_at_once_without_reading(ingest: Ingest):
    head = (
        "POST /telemetry/plays HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {ingest.tokens['bus-0412']}\r\nContent-Length: {100 * 1024 * 1024}\r\n\r\n"
    )
    # The body is never sent: an answer at all means the hub did not wait to read it (waitress would wait
    # for its channel timeout, minutes). The socket's timeout only guards the test against that hang.
    with socket.create_connection(("127.0.0.1", ingest.port), timeout=WAIT_SECONDS) as connection:
        connection.sendall(head.encode() + b'{"batch_id": ')
        answer = connection.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413")
    assert ingest.post("/telemetry/heartbeat", heartbeat()).status_code == 200


# --- malformed bodies -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"", ["malformed JSON"]),
        (b'{"screen_id": "bus-0412"', ["malformed JSON"]),
        (b"[1, 2]", ["JSON object"]),
        (b'{"screen_id": "bus-0412", "batch_id": NaN}', ["malformed JSON", "NaN"]),
        (b'{"screen_id": "\xff\xfe"}', ["not UTF-8"]),
        (b"[" * 200_000, ["malformed JSON"]),
    ],
    ids=["empty", "truncated", "array", "nan", "not-utf8", "nested"],
)
def test_malformed_json_is_a_400(ingest: Ingest, body: bytes, words: list[str]):
    assert_error(ingest.post("/telemetry/plays", body), 400, *words)


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = document
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        key: Any = int(last) if last.isdigit() else last
        if value is _DELETE:
            del target[key]
        else:
            target[key] = value

    return change


_DELETE = object()


@pytest.mark.parametrize(
    ("change", "field_name"),
    [
        (_set("batch_id", "XYZ"), "'batch_id'"),
        (_set("batch_id", 12), "'batch_id'"),
        (_set("batch_id", _DELETE), "'batch_id': is missing"),
        (_set("screen_id", ["bus-0412"]), "'screen_id'"),
        (_set("plays", {"0": {}}), "'plays'"),
        (_set("plays.1", "A1"), "'plays[1]': must be a JSON object"),
        (_set("plays.1.entry_id", "<script>"), "'plays[1].entry_id'"),
        (_set("plays.1.entry_hash", "AB" * 32), "'plays[1].entry_hash'"),
        (_set("plays.1.entry_hash", ""), "'plays[1].entry_hash'"),
        (_set("plays.1.playlist_version", True), "'plays[1].playlist_version'"),
        (_set("plays.1.playlist_version", 7.0), "'plays[1].playlist_version'"),
        (_set("plays.1.playlist_version", -1), "'plays[1].playlist_version'"),
        (_set("plays.1.started", "2026-11-26 08:00:00"), "'plays[1].started'"),
        (_set("plays.1.started", "yesterday"), "'plays[1].started'"),
        (_set("plays.1.started", "2031-01-01T00:00:00Z"), "'plays[1].started'"),
        (_set("plays.1.duration_ms", "10000"), "'plays[1].duration_ms'"),
        (_set("plays.1.duration_ms", 86_400_001), "'plays[1].duration_ms'"),
        (_set("plays.1.duration_ms", _DELETE), "'plays[1].duration_ms': is missing"),
    ],
)
def test_plays_with_a_wrong_field_are_a_400_naming_it(
    ingest: Ingest, change: Callable[..., None], field_name: str
):
    body = batch()
    change(body)
    assert_error(ingest.post("/telemetry/plays", body), 400, field_name)
    assert plays_today(ingest.store) == 0


@pytest.mark.parametrize(
    ("change", "field_name"),
    [
        (_set("channel", "Jinan Station"), "'channel'"),
        (_set("channel", None), "'channel'"),
        (_set("playlist_version", "7"), "'playlist_version'"),
        (_set("last_sync", "ok"), "'last_sync'"),
        (_set("last_sync.state", 3), "'last_sync.state'"),
        (_set("uptime_s", -1), "'uptime_s'"),
        (_set("rss_bytes", 1.5), "'rss_bytes'"),
        (_set("disk_read_only", "no"), "'disk_read_only'"),
        (_set("clock_offset_s", "0.4"), "'clock_offset_s'"),
        (_set("on_screen", "x" * 201), "'on_screen'"),
        (_set("verified_until", "2026-11-27"), "'verified_until'"),
        (_set("sent_at", _DELETE), "'sent_at'"),
        (_set("coverage", "covered"), "'coverage': must be a JSON object"),
        (_set("coverage.entries_per_page", 0), "'coverage.entries_per_page'"),
        (_set("coverage.entries_per_page", 13), "'coverage.entries_per_page'"),  # over the capacity
        (_set("coverage.entries_per_page", 2.0), "'coverage.entries_per_page'"),
        (_set("coverage.capacity", 1001), "'coverage.capacity'"),
        (_set("coverage.capacity", _DELETE), "'coverage.capacity': is missing"),
        (_set("coverage.loop_hours", -0.5), "'coverage.loop_hours'"),
        (_set("coverage.loop_hours", 10_000.5), "'coverage.loop_hours'"),
        (_set("coverage.loop_hours", "30"), "'coverage.loop_hours'"),
        (_set("coverage.covered", 0), "'coverage.covered'"),
        (_set("display", [1920, 1080]), "'display': must be a JSON object"),
        (_set("display.width", 63), "'display.width'"),
        (_set("display.height", 8193), "'display.height'"),
        (_set("display.height", True), "'display.height'"),
        (_set("display.layout", "wide"), "'display.layout'"),
        (_set("display.layout", _DELETE), "'display.layout': is missing"),
    ],
)
def test_heartbeats_with_a_wrong_field_are_a_400_naming_it(
    ingest: Ingest, change: Callable[..., None], field_name: str
):
    body = heartbeat(coverage=dict(UNCOVERED), display=dict(DISPLAY))
    change(body)
    assert_error(ingest.post("/telemetry/heartbeat", body), 400, field_name)
    assert ingest.store.latest_heartbeats() == []


# --- routes ---------------------------------------------------------------------------------------------


def test_wrong_methods_and_unknown_telemetry_paths(ingest: Ingest):
    wrong = requests.get(ingest.url("/telemetry/plays"), timeout=5)
    assert_error(wrong, 405, "POST")
    assert wrong.headers["Allow"] == "POST"
    assert_error(requests.post(ingest.url("/fleet"), timeout=5), 405)
    assert_error(requests.get(ingest.url("/telemetry/other"), timeout=5), 404)
    assert_error(requests.get(ingest.url("/telemetry"), timeout=5), 404)
    # Everything else is the files' or the console's business, with their own 404.
    assert requests.get(ingest.url("/fleet/"), timeout=5).status_code == 404
    assert requests.get(ingest.url("/metadata/nothing.json"), timeout=5).status_code == 404
    assert requests.get(ingest.url("/metadata/timestamp.json"), timeout=5).status_code == 200


# --- floods ---------------------------------------------------------------------------------------------


def test_a_flooding_screen_gets_429_and_is_logged_once(
    start_ingest: IngestFactory, caplog: pytest.LogCaptureFixture
):
    ingest = start_ingest(Limits(burst=3, refill_seconds=3000))
    with caplog.at_level(logging.WARNING, logger=VIEWS_LOGGER):
        answers = [ingest.post("/telemetry/heartbeat", heartbeat()) for _ in range(6)]
    assert [answer.status_code for answer in answers] == [200, 200, 200, 429, 429, 429]
    assert_error(answers[3], 429, "too many requests")
    assert answers[3].headers["Retry-After"] == "1000"
    floods = [record for record in caplog.records if "429" in record.getMessage()]
    assert len(floods) == 1
    # Another screen has its own bucket.
    assert ingest.post("/telemetry/heartbeat", heartbeat("bus-0413"), screen_id="bus-0413").status_code == 200


def test_a_token_that_keeps_failing_authentication_gets_429(start_ingest: IngestFactory):
    # Per token, never per address: tests/hub/test_bounded_input.py shows the screens behind the same NAT.
    ingest = start_ingest(Limits(failure_burst=3, failure_refill_seconds=3000))
    bad = {"Authorization": f"Bearer {new_token()}"}
    statuses = [
        requests.post(
            ingest.url("/telemetry/heartbeat"), json=heartbeat(), headers=bad, timeout=5
        ).status_code
        for _ in range(4)
    ]
    assert statuses == [401, 401, 401, 429]
    assert ingest.post("/telemetry/heartbeat", heartbeat()).status_code == 200


def test_rate_limiter_refills_evenly():
    now = [0.0]
    limiter = RateLimiter(10, 10.0, monotonic=lambda: now[0], max_keys=2)
    assert all(limiter.take("a") for _ in range(10))
    assert not limiter.take("a") and not limiter.has_tokens("a")
    now[0] = 1.0
    assert limiter.take("a") and not limiter.take("a")
    assert limiter.take("b") and limiter.take("c")  # past max_keys: full buckets are forgotten first
    now[0] = 100.0
    assert all(limiter.take("a") for _ in range(10))


@pytest.mark.parametrize(
    "limits", [Limits(), Limits(burst=1_000_000)], ids=["rate-limited", "database-bound"]
)
def test_files_are_served_while_telemetry_floods(start_ingest: IngestFactory, limits: Limits):
    ingest = start_ingest(limits)
    ingest.hear(*SCREENS)
    stop = threading.Event()
    statuses: list[int] = []

    def flood(index: int) -> None:
        screen_id = SCREENS[index % 2]
        session = requests.Session()
        number = 0
        while not stop.is_set():
            number += 1
            body = batch(screen_id, count=500, batch_id=f"{index:08x}{number:024x}")
            response = session.post(
                ingest.url("/telemetry/plays"), json=body, headers=ingest.auth(screen_id), timeout=10
            )
            statuses.append(response.status_code)
            session.post(
                ingest.url("/telemetry/heartbeat"),
                json=heartbeat(screen_id),
                headers=ingest.auth(screen_id),
                timeout=10,
            )
        session.close()

    flooders = [threading.Thread(target=flood, args=(index,)) for index in range(8)]
    for thread in flooders:
        thread.start()
    rate_limited = limits.burst == Limits().burst

    def flooded() -> bool:
        # Until the rate limit bites (8 clients on 2 screens outrun one request a second each), or until
        # 100 batches went in; counted in requests, not seconds, so a slow machine only takes longer.
        return 429 in statuses if rate_limited else len(statuses) >= 100

    try:
        wait_until(lambda: len(statuses) >= 8, what="the flood is on")
        # Files answer throughout the flood: it stops only after these. How fast they answer under it is
        # measured by bench/ingest.py; that files never queue behind telemetry is the locked-database test.
        gets = 0
        while gets < 20 or not flooded():
            response = requests.get(ingest.url("/metadata/timestamp.json"), timeout=WAIT_SECONDS)
            assert response.status_code == 200
            gets += 1
            assert gets < 10_000, f"no {'429' if rate_limited else '100 batches'} after {gets} file GETs"
    finally:
        stop.set()
        for thread in flooders:
            thread.join(WAIT_SECONDS)
    assert not [thread for thread in flooders if thread.is_alive()]
    assert set(statuses) <= {200, 429, 503}
    if not rate_limited:
        assert plays_today(ingest.store) == 500 * statuses.count(200)


@pytest.fixture
def long_busy_timeout() -> Iterator[None]:
    """New SQLite connections (one per request) wait 600 s for a lock: far longer than the test."""
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite writer lock; PostgreSQL locks rows, not the database")
    options = connections.settings["default"].setdefault("OPTIONS", {})
    before = options.get("timeout")
    options["timeout"] = 600.0
    yield
    options["timeout"] = before


def test_a_locked_database_turns_telemetry_away_but_never_the_files(
    start_ingest: IngestFactory, long_busy_timeout: None
):
    # The lock is held until ROLLBACK, and the telemetry share would wait for it far longer than the test.
    ingest = start_ingest(Limits(concurrent=2))
    blocker = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # a long report or a backup holding the write lock
    statuses: list[int] = []
    try:
        threads = [
            threading.Thread(
                target=lambda screen_id=screen_id: statuses.append(
                    ingest.post("/telemetry/heartbeat", heartbeat(screen_id), screen_id=screen_id).status_code
                )
            )
            for screen_id in SCREENS * 3
        ]
        for thread in threads:
            thread.start()
        # The four beyond the telemetry share of two are turned away at once.
        wait_until(lambda: len(statuses) >= 4, what="four answers")
        assert statuses == [503] * 4
        assert requests.get(ingest.url("/metadata/timestamp.json"), timeout=WAIT_SECONDS).status_code == 200
        # Answered while both telemetry requests still wait for the lock: files never queue behind them.
        assert statuses == [503] * 4
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    for thread in threads:
        thread.join(WAIT_SECONDS)
    assert sorted(statuses) == [200, 200, 503, 503, 503, 503]


def test_the_hub_keeps_answering_after_all_of_that(ingest: Ingest):
    garbage = [b"\x00" * 100, b"{" * 5000, b'{"plays": [' + b"{}," * 10_000 + b"{}]}", b'"just a string"']
    for body in garbage:
        for path in ("/telemetry/plays", "/telemetry/heartbeat"):
            assert ingest.post(path, body).status_code in (400, 413)
    with socket.create_connection(("127.0.0.1", ingest.port), timeout=5) as connection:
        connection.sendall(b"POST /telemetry/heartbeat HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{")
    assert ingest.post("/telemetry/heartbeat", heartbeat()).status_code == 200
    assert requests.get(ingest.url("/metadata/timestamp.json"), timeout=5).status_code == 200


# --- the fleet page -------------------------------------------------------------------------------------


def test_the_fleet_page_shows_screens_escaped_and_reloads_itself(start_ingest: IngestFactory):
    channels = {"jinan-station": ChannelState(9, 3, {2: frozenset({"A1"}), 3: frozenset({"A1", "A7"})})}
    ingest = start_ingest(channels=lambda: channels)
    hostile = heartbeat(last_sync={"state": "<b>x</b>", "message": "</table><script>"})
    assert ingest.post("/telemetry/heartbeat", hostile).status_code == 200
    page = requests.get(ingest.url("/fleet"), timeout=5)
    assert page.status_code == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert '<meta http-equiv="refresh" content="30">' in page.text
    assert "<script" not in page.text and "<b>x" not in page.text and "&lt;b&gt;x&lt;/b&gt;" in page.text
    assert "bus-0412" in page.text and "bus-0413" in page.text
    assert "v7 (-2)" in page.text and "A7" in page.text
    head = requests.head(ingest.url("/fleet"), timeout=5)
    assert head.status_code == 200 and head.content == b""


def test_the_fleet_page_puts_a_screen_that_cannot_cover_its_list_among_those_needing_attention(
    start_ingest: IngestFactory,
):
    channels = {"jinan-station": ChannelState(7, 2, {2: frozenset()})}
    ingest = start_ingest(channels=lambda: channels)
    covered = {**UNCOVERED, "loop_hours": 20.0, "covered": True}
    assert ingest.post("/telemetry/heartbeat", heartbeat(coverage=covered)).status_code == 200
    uncovered = heartbeat("bus-0413", coverage=UNCOVERED, display=DISPLAY)
    assert ingest.post("/telemetry/heartbeat", uncovered, screen_id="bus-0413").status_code == 200
    page = requests.get(ingest.url("/fleet"), timeout=5).text
    assert "not covered: 12 entries per page, loop 30.5 h &gt; 24 h" in page
    assert "1 not covering their list" in page and "1920×1080 landscape" in page
    # The uncovered screen is first, though its id sorts after the healthy one.
    assert page.index("bus-0413") < page.index("bus-0412")
    assert "12/page 30.5h !" in page and "12/page 20.0h" in page


def call(repository: Repository, path: str, remote: str, **headers: str) -> tuple[str, bytes]:
    """One request straight into the hub's WSGI application, from the address ``remote``."""
    environ: dict[str, Any] = {
        "PATH_INFO": path,
        "REMOTE_ADDR": remote,
        "wsgi.input": io.BytesIO(),
        **headers,
    }
    setup_testing_defaults(environ)
    answer: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        answer.append(status)

    body = b"".join(make_hub_application(repository.public)(environ, start_response))
    return answer[0], body


def test_the_fleet_page_is_for_the_hubs_own_machine_unless_made_public(
    start_ingest: IngestFactory, repository: Repository
):
    start_ingest()
    assert call(repository, "/fleet", "127.0.0.1")[0] == "200 OK"
    assert call(repository, "/fleet", "::1")[0] == "200 OK"
    assert call(repository, "/fleet", "203.0.113.5")[0] == "404 Not Found"
    # Behind nginx on the same machine: X-Real-IP names the client, but only a loopback peer is believed.
    assert call(repository, "/fleet", "127.0.0.1", HTTP_X_REAL_IP="203.0.113.5")[0] == "404 Not Found"
    assert call(repository, "/fleet", "203.0.113.5", HTTP_X_REAL_IP="127.0.0.1")[0] == "404 Not Found"
    start_ingest(fleet_page_public=True)
    assert call(repository, "/fleet", "203.0.113.5")[0] == "200 OK"


def test_the_fleet_page_survives_an_unreadable_repository(
    start_ingest: IngestFactory, repository: Repository, caplog: pytest.LogCaptureFixture
):
    def broken() -> dict[str, ChannelState]:
        raise OSError("targets metadata unreadable (test)")

    start_ingest(channels=broken)
    with caplog.at_level(logging.WARNING, logger=VIEWS_LOGGER):
        status, body = call(repository, "/fleet", "127.0.0.1")
    assert status == "200 OK"
    assert "targets metadata unreadable (test)" in body.decode()
    assert len(caplog.records) == 1
