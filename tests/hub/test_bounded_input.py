"""Issue 14, "every input is bounded and total": far-future times, lone surrogates, huge paths and
authentication failures counted per token, each against a real hub on 127.0.0.1.

Each test here failed on the hub before issue 14: the far-future ``verified_until`` turned /fleet and
``signage fleet`` into an OverflowError for good, a lone surrogate was a 500 the screen retried forever, a
250 KB path was a 500 (ENAMETOOLONG) with a 500 KB log line, and failed tokens from one address locked out
every screen behind the same NAT.
"""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import pytest
import requests

from signage.operator.hub.screens import records
from signage.operator.hub.screens.ingest import Limits, new_token

from .test_fleet import CHANNEL, repo_dir, run
from .test_telemetry import (
    NOW,
    Ingest,
    IngestFactory,
    assert_error,
    heartbeat,
    ingest,
    start_ingest,
)

__all__ = ["ingest", "repo_dir", "start_ingest"]  # fixtures, imported for pytest
pytestmark = pytest.mark.django_db(transaction=True)

FAR_FUTURE = "9999-12-31T23:59:59-23:59"


# --- timestamps -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("verified_until", FAR_FUTURE),
        ("verified_until", "0001-01-01T00:00:00+23:59"),
        ("verified_until", "2100-01-01T00:00:00Z"),
        # Within 2020..2100, but years beyond any TUF expiry the screen could have verified.
        ("verified_until", "2030-01-01T00:00:00Z"),
        ("sent_at", FAR_FUTURE),
    ],
)
def test_a_time_outside_what_the_hub_can_hold_is_a_400_naming_the_field(
    ingest: Ingest, field: str, value: str
):
    assert_error(ingest.post("/telemetry/heartbeat", heartbeat(**{field: value})), 400, field, "range")
    assert ingest.post("/telemetry/heartbeat", heartbeat()).status_code == 200


def test_a_far_future_play_start_is_a_400(ingest: Ingest):
    from .test_telemetry import batch

    body = batch()
    body["plays"][1]["started"] = FAR_FUTURE
    assert_error(ingest.post("/telemetry/plays", body), 400, "plays[1].started")


#: What an older hub let in: stored as it came, and read back leniently as "unknown".
STORED = {"channel": CHANNEL, "verified_until": FAR_FUTURE, "sent_at": "0001-01-01T00:00:00+23:59"}


def test_signage_fleet_reads_times_stored_before_the_bound(repo_dir: Path):
    run("screens", "add", "--repo", repo_dir, "bus-0412")
    records.record_heartbeat("bus-0412", STORED, NOW)
    status, out, _ = run("fleet", "--repo", repo_dir)
    assert status == 0 and "bus-0412" in out
    assert run("fleet", "--repo", repo_dir, "--json")[0] == 0


def test_the_fleet_page_reads_times_stored_before_the_bound(ingest: Ingest):
    records.record_heartbeat("bus-0412", STORED, NOW)
    page = requests.get(ingest.url("/fleet"), timeout=10)
    assert page.status_code == 200 and "bus-0412" in page.text


# --- invalid Unicode ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b'{"screen_id": "bus-0412", "channel": "jinan-station", "on_screen": "\\ud800", '
        b'"sent_at": "2026-11-26T07:59:59Z"}',
        b'{"\\udfff": 1, "screen_id": "bus-0412"}',
    ],
)
def test_a_lone_surrogate_is_a_400_not_a_500(ingest: Ingest, body: bytes):
    assert_error(ingest.post("/telemetry/heartbeat", body), 400, "surrogate")
    assert_error(ingest.post("/telemetry/plays", body), 400, "surrogate")
    # A surrogate pair is a valid character (U+1F600) and is kept.
    assert ingest.post("/telemetry/heartbeat", heartbeat(on_screen="\ud83d\ude00")).status_code == 200


# --- authentication failures: per token and per hub, never per address -----------------------------------


def test_a_client_hammering_bad_tokens_does_not_lock_out_screens_behind_the_same_address(
    start_ingest: IngestFactory,
):
    ingest = start_ingest(Limits(failure_burst=3, failure_refill_seconds=3000))
    bad = {"Authorization": f"Bearer {new_token()}"}
    statuses = [
        requests.post(
            ingest.url("/telemetry/heartbeat"), json=heartbeat(), headers=bad, timeout=5
        ).status_code
        for _ in range(6)
    ]
    # The same bad token is held back after three tries …
    assert statuses == [401, 401, 401, 429, 429, 429]
    # … while valid tokens from the very same address go on working, also one never seen before.
    assert ingest.post("/telemetry/heartbeat", heartbeat()).status_code == 200
    assert ingest.post("/telemetry/heartbeat", heartbeat("bus-0413"), screen_id="bus-0413").status_code == 200
    # And another bad token is judged on its own.
    other = {"Authorization": f"Bearer {new_token()}"}
    response = requests.post(ingest.url("/telemetry/heartbeat"), json=heartbeat(), headers=other, timeout=5)
    assert response.status_code == 401


def test_a_guessing_run_with_fresh_tokens_is_held_by_the_hub_wide_limit_but_known_screens_pass(
    start_ingest: IngestFactory, caplog: pytest.LogCaptureFixture
):
    ingest = start_ingest(Limits(global_failure_burst=5, global_failure_refill_seconds=3000))
    assert ingest.post("/telemetry/heartbeat", heartbeat()).status_code == 200
    with caplog.at_level(logging.WARNING, logger="signage.operator.hub.screens.views"):
        statuses = [
            requests.post(
                ingest.url("/telemetry/heartbeat"),
                json=heartbeat(),
                headers={"Authorization": f"Bearer {new_token()}", "X-Real-IP": f"198.51.100.{n}"},
                timeout=5,
            ).status_code
            for n in range(8)
        ]
    assert statuses == [401] * 5 + [429] * 3
    assert (
        sum("every client" in r.getMessage() or "on this hub" in r.getMessage() for r in caplog.records) == 1
    )
    # The screen that authenticated before the run is never held back by it.
    assert ingest.post("/telemetry/heartbeat", heartbeat()).status_code == 200


# --- paths --------------------------------------------------------------------------------------------------


def _raw(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(request)
        answer = b""
        while b"\r\n" not in answer:
            chunk = connection.recv(4096)
            if not chunk:
                break
            answer += chunk
        return answer


@pytest.mark.parametrize("prefix", ["/metadata/", "/targets/", "/photos/", "/fleet/", "/login/", "/x/"])
@pytest.mark.parametrize("size", [4_000, 250_000])
def test_a_huge_path_is_404_or_414_and_logged_truncated(
    ingest: Ingest, caplog: pytest.LogCaptureFixture, prefix: str, size: int
):
    path = prefix + "a" * size
    with caplog.at_level(logging.DEBUG):
        answer = _raw(
            ingest.port, f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
        )
    status = int(answer.split(b" ", 2)[1])
    assert status == (414 if size > 8 * 1024 else 404), answer[:200]
    assert all(len(record.getMessage()) < 2_000 for record in caplog.records)
    assert ingest.post("/telemetry/heartbeat", heartbeat()).status_code == 200
