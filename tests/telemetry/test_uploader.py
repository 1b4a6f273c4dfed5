"""Uploads against a real HTTP hub on 127.0.0.1 that implements the contract, and against broken ones."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from signage.sync.telemetry.heartbeat import Heartbeat, build_heartbeat
from signage.sync.telemetry.plays import MAX_BATCH_BYTES, PlayCounts, PlayLog
from signage.sync.telemetry.uploader import (
    MAX_ANSWER_BYTES,
    HeartbeatQueue,
    Uploader,
    UploadState,
)
from tests.helpers import TIMEOUT_SLACK
from tests.telemetry.conftest import (
    PLAY_KEYS,
    START,
    TOKEN,
    Answer,
    HubStub,
    closed_port_url,
    make_play,
    utc_now,
)

PLAYS = "/telemetry/plays"
HEARTBEAT = "/telemetry/heartbeat"


@pytest.fixture
def log(tmp_path: Path) -> Iterator[PlayLog]:
    with PlayLog(tmp_path / "plays.db", clock=utc_now) as play_log:
        yield play_log


def uploader(url: str, session: requests.Session, **options: object) -> Uploader:
    settings: dict[str, object] = {"read_timeout": 1.0, "deadline": 3.0, "connect_timeout": 1.0}
    settings.update(options)
    return Uploader(url, TOKEN, session=session, clock=utc_now, **settings)  # type: ignore[arg-type]


def record(log: PlayLog, count: int, first: int = 0) -> None:
    for number in range(first, first + count):
        log.record(make_play(number))


def beat(minute: int) -> Heartbeat:
    return build_heartbeat(
        screen_id="bus-0412",
        channel="station-east",
        now=START + dt.timedelta(minutes=minute),
        playlist_version=3,
        revocations_version=1,
        verified_until=None,
        last_sync_state="offline",
        last_sync_message="无法连接 / cannot connect",
        uptime_s=60.0 * minute,
        rss_bytes=100_000_000,
        free_disk_bytes=1_000_000_000,
        disk_read_only=False,
        clock_offset_s=None,
        on_screen="A17",
    )


# --- plays -------------------------------------------------------------------------------------------


def test_batches_go_up_in_the_contracts_form_and_are_deleted_once_accepted(
    hub: HubStub, session: requests.Session, log: PlayLog
) -> None:
    record(log, 10)
    result = uploader(hub.url, session, batch_plays=4).upload(log)
    assert (result.state, result.batches, result.plays, result.duplicates) == (UploadState.SENT, 3, 10, 0)
    assert result.ok and "uploaded 10 plays" in result.en
    assert log.counts().plays == 0
    assert sorted(hub.batches.values()) == [2, 4, 4]
    assert set(hub.counted.values()) == {1} and len(hub.counted) == 10
    headers = hub.headers[0]
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert headers["Content-Type"] == "application/json"
    assert (PLAYS, 200) in hub.statuses
    assert all(set(dict(key)) == PLAY_KEYS for key in hub.counted)

    again = uploader(hub.url, session).upload(log)
    assert (again.state, again.batches) == (UploadState.IDLE, 0)


def test_a_batch_is_kept_until_a_200_and_retried_with_the_same_id(
    hub: HubStub, session: requests.Session, log: PlayLog
) -> None:
    record(log, 5)
    hub.script(PLAYS, Answer(status=500), Answer(status=503))
    client = uploader(hub.url, session)
    for _attempt in range(2):
        failed = client.upload(log)
        assert (failed.state, failed.batches) == (UploadState.HUB_ERROR, 0)
        assert not failed.ok and "HTTP 50" in failed.en
        assert log.counts() == PlayCounts(plays=5, unbatched=0, batches=1)
    assert client.upload(log).plays == 5
    assert log.counts().plays == 0
    assert len(hub.batches) == 1 and set(hub.counted.values()) == {1}


def test_a_lost_answer_is_retried_and_counted_once(
    hub: HubStub, session: requests.Session, log: PlayLog, tmp_path: Path
) -> None:
    record(log, 7)
    # The hub counts the batch, but the screen hears a 502 (a proxy timing out, say) ...
    hub.script(PLAYS, Answer(status=502, process=True))
    assert uploader(hub.url, session).upload(log).state is UploadState.HUB_ERROR
    assert sum(hub.counted.values()) == 7
    # ... then the power goes; after the restart the same batch id goes again.
    log.close()
    with PlayLog(tmp_path / "plays.db", clock=utc_now) as reopened:
        result = uploader(hub.url, session).upload(reopened)
        assert (result.state, result.plays, result.duplicates) == (UploadState.SENT, 7, 1)
        assert reopened.counts().plays == 0
    assert len(hub.attempts) == 2 and len(set(hub.attempts)) == 1
    assert sum(hub.counted.values()) == 7 and set(hub.counted.values()) == {1}


def test_hub_down_raises_nothing_and_keeps_the_plays(session: requests.Session, log: PlayLog) -> None:
    record(log, 3)
    result = uploader(closed_port_url(), session).upload(log)
    assert result.state is UploadState.OFFLINE
    assert "cannot connect" in result.en and "无法连接" in result.zh
    assert log.counts().plays == 3


@pytest.mark.parametrize(
    "body",
    [
        b"<html>captive portal</html>",
        b"[1, 2]",
        b'{"accepted": 3}',
        b'{"accepted": true, "duplicate": false}',
        b'{"accepted": -1, "duplicate": false}',
        b'{"accepted": 3, "duplicate": "no"}',
        b'{"accepted": 3, "duplicate": false, "refused": [1]}',
        b'{"accepted": 3, "duplicate": false, "refused": {"future": -1}}',
        b"",
    ],
)
def test_a_garbage_answer_is_a_failure_and_the_batch_stays(
    hub: HubStub, session: requests.Session, log: PlayLog, body: bytes
) -> None:
    record(log, 3)
    hub.script(PLAYS, Answer(status=200, body=body))
    result = uploader(hub.url, session).upload(log)
    assert result.state is UploadState.BAD_ANSWER
    assert log.counts().plays == 3


def test_plays_the_hub_refused_are_deleted_with_their_batch_and_counted(
    hub: HubStub, session: requests.Session, log: PlayLog
) -> None:
    # Sending them again would change nothing (an entry the channel never published stays unpublished).
    record(log, 3)
    answer = b'{"accepted": 1, "duplicate": false, "refused": {"unknown_entry": 1, "future": 1}}'
    hub.script(PLAYS, Answer(status=200, body=answer))
    result = uploader(hub.url, session).upload(log)
    assert result.ok and result.plays == 3 and result.refused == 2
    assert "refused 2" in result.en and "拒收" in result.zh
    assert log.counts().plays == 0


@pytest.mark.parametrize(
    "answer",
    [
        Answer(body=b'{"accepted": 3, "duplicate": false}' + b" " * (2 * MAX_ANSWER_BYTES)),
        Answer(body=b'{"accepted": 3, "duplicate": false}' + b" " * MAX_ANSWER_BYTES, no_length=True),
        Answer(endless=True),
    ],
    ids=["announced", "unannounced", "endless"],
)
def test_an_oversized_answer_is_capped_and_refused(
    hub: HubStub, session: requests.Session, log: PlayLog, answer: Answer
) -> None:
    record(log, 3)
    hub.script(PLAYS, answer)
    result = uploader(hub.url, session).upload(log)
    assert result.state is UploadState.BAD_ANSWER
    # Capped by size: the deadline, the only other end of an endless answer, says "took over".
    assert "longer than 65536" in result.en or "announces" in result.en
    assert log.counts().plays == 3


def test_a_slow_or_trickling_hub_is_cut_off(hub: HubStub, session: requests.Session, log: PlayLog) -> None:
    record(log, 2)
    client = uploader(hub.url, session, read_timeout=0.5, deadline=1.5)
    # The hub would take 30 s either way: silent before answering, then a byte every second.
    body = b'{"accepted": 2, "duplicate": false}'
    hub.script(PLAYS, Answer(delay=30.0), Answer(body=body, trickle=30.0 / len(body)))
    for bound in (client.read_timeout, client.deadline):
        begun = time.monotonic()
        result = client.upload(log)
        assert result.state is UploadState.OFFLINE
        assert time.monotonic() - begun < bound + TIMEOUT_SLACK
    assert log.counts().plays == 2


@pytest.mark.parametrize(
    ("answer", "state", "retry_after"),
    [
        (Answer(status=401), UploadState.REFUSED, None),
        (Answer(status=400), UploadState.REFUSED, None),
        (Answer(status=404), UploadState.REFUSED, None),
        (Answer(status=429, headers={"Retry-After": "30"}), UploadState.THROTTLED, 30.0),
        (Answer(status=302, headers={"Location": "http://portal.example/"}), UploadState.BAD_ANSWER, None),
    ],
)
def test_refusals_keep_the_plays(
    hub: HubStub,
    session: requests.Session,
    log: PlayLog,
    answer: Answer,
    state: UploadState,
    retry_after: float | None,
) -> None:
    record(log, 2)
    hub.script(PLAYS, answer)
    result = uploader(hub.url, session).upload(log)
    assert (result.state, result.retry_after) == (state, retry_after)
    assert log.counts().plays == 2


def test_an_unknown_token_is_refused_by_the_hub(
    hub: HubStub, session: requests.Session, log: PlayLog
) -> None:
    record(log, 2)
    result = Uploader(hub.url, "someone-else", session=session, clock=utc_now).upload(log)
    assert result.state is UploadState.REFUSED and "token" in result.en
    assert log.counts().plays == 2 and not hub.batches


def test_another_screens_plays_do_not_block_this_ones(
    hub: HubStub, session: requests.Session, log: PlayLog
) -> None:
    log.record(make_play(1, screen_id="old-name"))
    record(log, 3)
    # Oldest first, the renamed screen's play would be refused again and again ...
    assert uploader(hub.url, session).upload(log).state is UploadState.REFUSED
    assert (PLAYS, 403) in hub.statuses
    # ... so an uploader that knows its screen sends only that screen's plays.
    result = uploader(hub.url, session, screen_id="bus-0412").upload(log)
    assert (result.state, result.plays) == (UploadState.SENT, 3)
    assert log.counts().plays == 1


def test_after_a_413_the_plays_go_in_smaller_batches(
    hub: HubStub, session: requests.Session, log: PlayLog
) -> None:
    hub.max_batch_plays = 3
    record(log, 10)
    result = uploader(hub.url, session).upload(log, max_batches=20)
    assert (result.state, result.plays) == (UploadState.SENT, 10)
    assert (PLAYS, 413) in hub.statuses
    assert all(size <= 3 for size in hub.batches.values())
    assert len(hub.counted) == 10 and set(hub.counted.values()) == {1}


def test_max_batches_bounds_one_call(hub: HubStub, session: requests.Session, log: PlayLog) -> None:
    record(log, 10)
    result = uploader(hub.url, session, batch_plays=2).upload(log, max_batches=3)
    assert (result.batches, result.plays) == (3, 6)
    assert log.counts().plays == 4


def test_a_body_is_within_the_contracts_limit(hub: HubStub, session: requests.Session, log: PlayLog) -> None:
    record(log, 50)
    uploader(hub.url, session).upload(log)
    assert all(int(headers["Content-Length"]) <= MAX_BATCH_BYTES for headers in hub.headers)


def test_the_screen_keeps_recording_while_the_hub_answers_garbage(
    hub: HubStub, session: requests.Session, log: PlayLog
) -> None:
    client = uploader(hub.url, session)
    for minute in range(30):
        record(log, 2, first=2 * minute)
        hub.script(PLAYS, Answer(body=b"\x00\xff not json"))
        assert client.upload(log).state is UploadState.BAD_ANSWER
    assert log.counts().plays == 60
    result = client.upload(log)
    assert (result.state, result.plays) == (UploadState.SENT, 60)
    assert len(hub.counted) == 60 and set(hub.counted.values()) == {1}


# --- heartbeats --------------------------------------------------------------------------------------


def test_a_heartbeat_returns_the_hubs_time_and_measures_the_offset(
    hub: HubStub, session: requests.Session
) -> None:
    client = uploader(hub.url, session)
    sent = utc_now()
    hub_time = client.send_heartbeat(beat(0))
    answered = utc_now()
    assert hub_time is not None and hub_time.tzinfo is not None
    assert sent <= hub_time <= answered
    # The stub's clock is this machine's, read during the exchange, and the offset is taken at its
    # midpoint: so it is off by half the exchange at most, however long a loaded machine made that.
    assert client.last_clock_offset_s is not None
    assert abs(client.last_clock_offset_s) <= (answered - sent).total_seconds() / 2 + 1e-6  # µs rounding
    assert client.last_heartbeat is not None and client.last_heartbeat.state is UploadState.SENT
    (received,) = hub.heartbeats
    assert received == json.loads(beat(0).encode())
    assert hub.headers[0]["Authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize(
    "answer",
    [Answer(body=b"garbage"), Answer(body=b'{"hub_time": "yesterday"}'), Answer(status=500)],
)
def test_a_failed_heartbeat_returns_none(hub: HubStub, session: requests.Session, answer: Answer) -> None:
    hub.script(HEARTBEAT, answer)
    client = uploader(hub.url, session)
    assert client.send_heartbeat(beat(0)) is None
    assert client.last_heartbeat is not None and not client.last_heartbeat.ok


def test_heartbeats_queue_boundedly_while_the_hub_is_down_or_garbage(
    hub: HubStub, session: requests.Session
) -> None:
    down = uploader(closed_port_url(), session)
    garbage = uploader(hub.url, session)
    queue = HeartbeatQueue(maxlen=60)
    for minute in range(200):
        queue.put(beat(minute))
        if minute % 2:
            hub.script(HEARTBEAT, Answer(body=b"<html>502 Bad Gateway</html>"))
            assert queue.flush(garbage.send_heartbeat) == 0
        else:
            assert queue.flush(down.send_heartbeat) == 0
        assert len(queue) <= 60
    assert (len(queue), queue.dropped) == (60, 140)
    assert hub.heartbeats == []

    # The hub is back: newest first, then the older ones, the oldest 140 dropped.
    assert queue.flush(garbage.send_heartbeat) == 60
    assert len(queue) == 0
    sent = [str(received["sent_at"]) for received in hub.heartbeats]
    assert sent[0] == "2026-11-26T11:19:00Z"  # minute 199
    assert sent[-1] == "2026-11-26T10:20:00Z"  # minute 140
    assert sent == sorted(sent, reverse=True)


def test_a_flush_stops_at_the_first_failure(hub: HubStub, session: requests.Session) -> None:
    queue = HeartbeatQueue(maxlen=5)
    for minute in range(5):
        queue.put(beat(minute))
    hub.script(HEARTBEAT, Answer(status=200, process=True), Answer(status=503))
    assert queue.flush(uploader(hub.url, session).send_heartbeat) == 1
    assert len(queue) == 4 and len(hub.heartbeats) == 1
