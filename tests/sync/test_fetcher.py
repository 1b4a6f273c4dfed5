"""HttpFetcher against a real misbehaving server: statuses, truncation, trickles, hangs, floods, lies."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator

import pytest
import requests
from tuf.api.exceptions import (
    DownloadError,
    DownloadHTTPError,
    DownloadLengthMismatchError,
    SlowRetrievalError,
)

from signage import __version__
from signage.sync.fetcher import SHORT_ERROR_WAIT, HttpFetcher, screen_user_agent
from tests.helpers import TIMEOUT_SLACK
from tests.sync.conftest import MAX_HANG_SECONDS, Fault, FaultServer

BODY = bytes(range(256)) * 40  # 10,240 bytes


@pytest.fixture
def session() -> Iterator[requests.Session]:
    # trust_env=False: a proxy set in the environment must not see requests meant for 127.0.0.1.
    with requests.Session() as session:
        session.trust_env = False
        yield session


@pytest.fixture
def make_fetcher(session):
    def make(**options) -> HttpFetcher:
        options.setdefault("read_timeout", 0.5)
        options.setdefault("deadline", 5.0)
        return HttpFetcher(session, **options)

    return make


@pytest.fixture
def served(fault_server: FaultServer) -> FaultServer:
    fault_server.serve_bytes("/metadata/timestamp.json", BODY)
    return fault_server


def url(server: FaultServer, path: str = "/metadata/timestamp.json") -> str:
    return server.url + path.lstrip("/")


def test_normal_download_and_counters(served, make_fetcher):
    fetcher = make_fetcher()
    assert fetcher.download_bytes(url(served), max_length=len(BODY)) == BODY
    assert fetcher.get_bytes(url(served), max_length=len(BODY)) == BODY
    assert (fetcher.requests_made, fetcher.bytes_received) == (2, 2 * len(BODY))
    served.wait_idle()
    assert served.requests == [("GET", "/metadata/timestamp.json", 200, len(BODY))] * 2
    fetcher.reset_counters()
    assert (fetcher.requests_made, fetcher.bytes_received) == (0, 0)


def test_serve_dir_and_headers_sent(fault_server, make_fetcher, tmp_path):
    (tmp_path / "metadata").mkdir()
    (tmp_path / "metadata" / "1.root.json").write_bytes(b"{}")
    fault_server.serve_dir(tmp_path)
    fetcher = make_fetcher(user_agent=screen_user_agent("bus-0412"))
    assert fetcher.download_bytes(url(fault_server, "/metadata/1.root.json"), 100) == b"{}"
    headers = fault_server.request_headers[-1]
    assert headers["User-Agent"] == f"signage-screen/{__version__} (bus-0412)"
    # Undecoded bytes: TUF hashes what was published, and nothing can inflate after the size check.
    assert headers["Accept-Encoding"] == "identity"
    with pytest.raises(DownloadHTTPError) as raised:
        fetcher.download_bytes(url(fault_server, "/metadata/../../etc/passwd"), 100)
    assert raised.value.status_code == 404


def test_date_header_of_the_last_good_response_is_recorded(served, make_fetcher):
    fetcher = make_fetcher()
    assert fetcher.last_date is None
    served.set_fault("/metadata/timestamp.json", Fault(headers={"Date": "Tue, 03 Nov 2026 08:00:00 GMT"}))
    fetcher.download_bytes(url(served), len(BODY))
    assert fetcher.last_date == dt.datetime(2026, 11, 3, 8, 0, tzinfo=dt.UTC)
    assert fetcher.last_date.utcoffset() == dt.timedelta(0)

    served.set_fault("/broken", Fault(status=503, headers={"Date": "Wed, 04 Nov 2026 08:00:00 GMT"}))
    with pytest.raises(DownloadHTTPError):
        fetcher.download_bytes(url(served, "/broken"), 100)
    assert fetcher.last_date == dt.datetime(2026, 11, 3, 8, 0, tzinfo=dt.UTC), (
        "an error keeps the last good date"
    )

    served.set_fault("/metadata/timestamp.json", Fault(omit_headers=("Date",)))
    fetcher.download_bytes(url(served), len(BODY))
    assert fetcher.last_date is None


def test_unparsable_date_is_none(served, make_fetcher):
    served.set_fault("/metadata/timestamp.json", Fault(headers={"Date": "yesterday, probably"}))
    fetcher = make_fetcher()
    fetcher.download_bytes(url(served), len(BODY))
    assert fetcher.last_date is None


@pytest.mark.parametrize("status", [404, 403, 500, 503])
def test_error_status_is_download_http_error(served, make_fetcher, status):
    served.set_fault("/metadata/timestamp.json", Fault(status=status))
    fetcher = make_fetcher()
    with pytest.raises(DownloadHTTPError) as raised:
        fetcher.download_bytes(url(served), len(BODY))
    assert raised.value.status_code == status
    with pytest.raises(DownloadHTTPError):
        fetcher.get_bytes(url(served), len(BODY))


def test_a_small_error_answer_keeps_the_connection_for_the_next_request(served, make_fetcher):
    # Every poll asks for the next root version and gets a 404: read to its end, the short error body lets
    # the connection go back to the pool, so a metered link does not pay a new TCP (and TLS) set-up each time.
    served.set_fault("/metadata/timestamp.json", Fault(status=404, times=1))
    fetcher = make_fetcher()
    with pytest.raises(DownloadHTTPError):
        fetcher.download_bytes(url(served), len(BODY))
    assert fetcher.download_bytes(url(served), len(BODY)) == BODY
    served.wait_idle()
    assert served.connections_opened == 1


def test_a_large_error_answer_is_not_read(served, make_fetcher):
    served.set_fault("/metadata/timestamp.json", Fault(status=500, body=b"x" * 100_000, times=1))
    fetcher = make_fetcher()
    with pytest.raises(DownloadHTTPError):
        fetcher.download_bytes(url(served), len(BODY))
    assert fetcher.bytes_received == 0
    assert fetcher.download_bytes(url(served), len(BODY)) == BODY


def test_a_trickling_error_answer_is_given_up_after_a_second(served, make_fetcher):
    # A short error answer is read to its end for SHORT_ERROR_WAIT at most; this one would take 40 s.
    served.set_fault(
        "/metadata/timestamp.json",
        Fault(status=404, body=b"x" * 4000, chunk_size=10, chunk_delay=0.1, times=1),
    )
    fetcher = make_fetcher(read_timeout=5.0)
    started = time.monotonic()
    with pytest.raises(DownloadHTTPError):
        fetcher.download_bytes(url(served), len(BODY))
    assert time.monotonic() - started < SHORT_ERROR_WAIT + TIMEOUT_SLACK
    assert fetcher.download_bytes(url(served), len(BODY)) == BODY


def test_redirect_is_refused_and_named(served, make_fetcher):
    served.set_fault("/old", Fault(status=301, headers={"Location": served.url + "new/"}))
    with pytest.raises(DownloadHTTPError, match="configure that address") as raised:
        make_fetcher().download_bytes(url(served, "/old"), 100)
    assert raised.value.status_code == 301


def test_truncated_body_is_download_error(served, make_fetcher):
    served.set_fault("/metadata/timestamp.json", Fault(send_bytes=1000))
    fetcher = make_fetcher()
    with pytest.raises(DownloadError) as raised:
        fetcher.download_bytes(url(served), len(BODY))
    assert not isinstance(raised.value, SlowRetrievalError | DownloadLengthMismatchError)
    with pytest.raises(DownloadError):
        fetcher.get_bytes(url(served), len(BODY))


#: One byte every 0.3 s: each within the read timeout, the whole 10,240-byte body in 51 minutes.
TRICKLE = Fault(chunk_size=1, chunk_delay=0.3)


def test_trickling_body_is_cut_at_the_deadline(served, make_fetcher):
    # Every byte arrives well within the read timeout; only the total deadline can stop this.
    served.set_fault("/metadata/timestamp.json", TRICKLE)
    fetcher = make_fetcher(read_timeout=0.5, deadline=2.0)
    started = time.monotonic()
    with pytest.raises(SlowRetrievalError):
        fetcher.download_bytes(url(served), len(BODY))
    assert time.monotonic() - started < fetcher.deadline + TIMEOUT_SLACK
    # Cut in the body, not before it; within the deadline the server sends one byte per chunk_delay at most.
    assert 1 <= fetcher.bytes_received <= fetcher.deadline / TRICKLE.chunk_delay


def test_trickling_body_is_cut_at_the_deadline_by_get_bytes(served, make_fetcher):
    served.set_fault("/metadata/timestamp.json", TRICKLE)
    fetcher = make_fetcher(read_timeout=0.5, deadline=2.0)
    started = time.monotonic()
    with pytest.raises(SlowRetrievalError):
        fetcher.get_bytes(url(served), len(BODY))
    assert time.monotonic() - started < fetcher.deadline + TIMEOUT_SLACK


def test_deadline_uses_the_clock_passed_in(served, make_fetcher):
    ticks = iter(range(0, 1000, 20))
    fetcher = make_fetcher(deadline=30.0, chunk_size=1024, clock=lambda: float(next(ticks)))
    # Headers at t=20 are within 30 s; by the second chunk the clock has passed the deadline.
    with pytest.raises(SlowRetrievalError, match="not complete after 30"):
        fetcher.download_bytes(url(served), len(BODY))


@pytest.mark.parametrize(
    "fault",
    [Fault(hang=True), Fault(header_delay=MAX_HANG_SECONDS)],
    ids=["after-headers", "before-headers"],
)
def test_hanging_server_is_slow_retrieval_after_the_read_timeout(served, make_fetcher, fault):
    # The server stays silent for MAX_HANG_SECONDS (30 s); the deadline alone would end this after 20 s.
    served.set_fault("/metadata/timestamp.json", fault)
    fetcher = make_fetcher(read_timeout=0.5, deadline=20.0)
    started = time.monotonic()
    with pytest.raises(SlowRetrievalError):
        fetcher.download_bytes(url(served), len(BODY))
    assert time.monotonic() - started < fetcher.read_timeout + TIMEOUT_SLACK


def test_endless_body_stops_at_max_length(served, make_fetcher):
    served.set_fault("/endless", Fault(endless=True, chunk_size=4096))
    fetcher = make_fetcher(chunk_size=8192)
    with pytest.raises(DownloadLengthMismatchError):
        fetcher.download_bytes(url(served, "/endless"), max_length=100_000)
    # tuf counts per chunk, so at most one chunk past the limit was read.
    assert 100_000 < fetcher.bytes_received <= 100_000 + 8192

    fetcher.reset_counters()
    with pytest.raises(DownloadLengthMismatchError):
        fetcher.get_bytes(url(served, "/endless"), max_length=100_000)
    assert fetcher.bytes_received == 100_001


def test_get_bytes_takes_exactly_max_length_and_refuses_one_more(served, make_fetcher):
    fetcher = make_fetcher()
    served.set_fault("/exact", Fault(body=BODY, content_length=-1))  # no Content-Length to fail fast on
    assert fetcher.get_bytes(url(served, "/exact"), max_length=len(BODY)) == BODY
    with pytest.raises(DownloadLengthMismatchError):
        fetcher.get_bytes(url(served, "/exact"), max_length=len(BODY) - 1)


def test_huge_content_length_fails_before_the_body(served, make_fetcher):
    served.set_fault("/huge", Fault(endless=True, content_length=10**12))
    fetcher = make_fetcher(max_content_length=1_000_000)
    # The body never ends: only a refusal on the header can raise this error (the deadline would be slow
    # retrieval), and bytes_received shows no body was read.
    with pytest.raises(DownloadLengthMismatchError, match="announces 1000000000000 bytes"):
        fetcher.fetch(url(served, "/huge"))
    with pytest.raises(DownloadLengthMismatchError, match="announces"):
        make_fetcher().get_bytes(url(served, "/huge"), max_length=1_000_000)
    assert fetcher.bytes_received == 0


def test_content_length_lie_never_yields_more_than_announced(served, make_fetcher):
    # Announces 100 bytes, sends 10,240: the rest is never read as body.
    served.set_fault("/metadata/timestamp.json", Fault(content_length=100))
    fetcher = make_fetcher()
    assert fetcher.get_bytes(url(served), max_length=1000) == BODY[:100]
    assert fetcher.download_bytes(url(served), max_length=1000) == BODY[:100]


def test_invalid_content_length_is_refused(served, make_fetcher):
    served.set_fault("/metadata/timestamp.json", Fault(headers={"Content-Length": "12abc"}))
    with pytest.raises(DownloadError):
        make_fetcher().download_bytes(url(served), len(BODY))


def test_connection_refused_is_download_error(make_fetcher, fault_server):
    dead = fault_server.url
    fault_server.stop()
    with pytest.raises(DownloadError):
        make_fetcher(connect_timeout=0.5).download_bytes(dead + "x", 10)
    with pytest.raises(DownloadError):
        make_fetcher(connect_timeout=0.5).get_bytes(dead + "x", 10)


def test_fault_times_limits_a_fault_to_the_first_requests(served, make_fetcher):
    served.set_fault("/metadata/timestamp.json", Fault(status=500, times=1))
    fetcher = make_fetcher()
    with pytest.raises(DownloadHTTPError):
        fetcher.download_bytes(url(served), len(BODY))
    assert fetcher.download_bytes(url(served), len(BODY)) == BODY


def test_own_session_is_closed_and_passed_session_is_not(served, session):
    with HttpFetcher(session) as borrowed:
        borrowed.download_bytes(url(served), len(BODY))
    assert session.adapters, "a session passed in stays usable"
    with HttpFetcher(read_timeout=0.5) as owned:
        owned._session.trust_env = False
        assert owned.download_bytes(url(served), len(BODY)) == BODY
    assert screen_user_agent() == f"signage-screen/{__version__}"
