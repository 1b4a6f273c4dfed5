"""The hub process: refresh schedule, clean stop, signals, and serving through atomic replacements."""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import socket
import threading
from pathlib import Path

import pytest
import requests

from signage.core.errors import ConfigError
from signage.core.fsutil import atomic_write
from signage.operator.hub.files import make_app
from signage.operator.hub.server import Hub
from tests.helpers import WAIT_SECONDS, wait_until

from .conftest import HubFactory, Repository

WAIT = WAIT_SECONDS  # a hang-guard for things that happen within milliseconds


class CountingRefresh:
    """A refresh that counts its calls, optionally fails, and signals after ``signal_after`` calls."""

    def __init__(self, *, fails: bool = False, signal_after: int = 1) -> None:
        self.calls = 0
        self.fails = fails
        self.signal_after = signal_after
        self.reached = threading.Event()
        self.again = threading.Event()

    def __call__(self) -> None:
        self.calls += 1
        if self.calls >= self.signal_after:
            self.reached.set()
        if self.calls > self.signal_after:
            self.again.set()
        if self.fails:
            raise OSError("disk full (test)")


def test_refresh_runs_once_at_start(repository: Repository, start_hub: HubFactory):
    refresh = CountingRefresh()
    start_hub(repository.public, refresh)
    assert refresh.reached.wait(WAIT)
    assert refresh.calls == 1


def test_refresh_repeats_and_its_failure_never_stops_serving(
    repository: Repository, start_hub: HubFactory, caplog: pytest.LogCaptureFixture
):
    refresh = CountingRefresh(fails=True)

    def logged() -> list[logging.LogRecord]:
        return [record for record in caplog.records if "refresh failed" in record.getMessage()]

    with caplog.at_level(logging.ERROR, logger="signage.operator.hub.server"):
        hub = start_hub(repository.public, refresh, refresh_interval=dt.timedelta(seconds=0.1))
        # The hub logs each failure in its scheduler thread after refresh() raised: wait for the third
        # record itself, not for the third call, which comes before it.
        wait_until(lambda: len(logged()) >= 3, what="three 'refresh failed' records")
    failures = logged()
    assert "OSError: disk full (test)" in failures[0].getMessage()
    assert "\n" not in failures[0].getMessage()
    assert failures[0].exc_info is None  # one line, no traceback at ERROR
    response = requests.get(f"http://127.0.0.1:{hub.port}/metadata/timestamp.json", timeout=5)
    assert response.status_code == 200


def test_stop_is_clean_and_idempotent(repository: Repository):
    refresh = CountingRefresh()
    hub = Hub(
        make_app(repository.public),
        refresh,
        host="127.0.0.1",
        port=0,
        refresh_interval=dt.timedelta(seconds=0.1),
    )
    hub.stop()  # before start: nothing to do
    hub.start()
    port = hub.port
    assert requests.get(f"http://127.0.0.1:{port}/metadata/1.root.json", timeout=5).status_code == 200
    assert refresh.reached.wait(WAIT)
    hub.stop()
    hub.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/metadata/1.root.json", timeout=5)
    assert not [
        thread.name for thread in threading.enumerate() if thread.name.startswith(("waitress", "signage-hub"))
    ]
    calls = refresh.calls
    refresh.again.clear()
    assert not refresh.again.wait(0.3)  # deliberate: three intervals pass, and no call: the schedule is gone
    assert refresh.calls == calls
    with pytest.raises(RuntimeError):
        hub.start()


def test_stop_closes_an_open_keep_alive_connection(repository: Repository):
    hub = Hub(make_app(repository.public), lambda: None, host="127.0.0.1", port=0)
    hub.start()
    with requests.Session() as session:
        assert session.get(f"http://127.0.0.1:{hub.port}/metadata/1.root.json", timeout=5).status_code == 200
        hub.stop()  # the session still holds its connection open
    assert not [thread.name for thread in threading.enumerate() if thread.name.startswith("waitress")]


def test_a_port_in_use_is_a_config_error(repository: Repository, start_hub: HubFactory):
    first = start_hub(repository.public)
    second = Hub(make_app(repository.public), lambda: None, host="127.0.0.1", port=first.port)
    with pytest.raises(ConfigError) as raised:
        second.start()
    assert str(first.port) in raised.value.en
    second.stop()


def test_a_zero_interval_is_a_config_error(repository: Repository):
    with pytest.raises(ConfigError):
        Hub(make_app(repository.public), lambda: None, refresh_interval=dt.timedelta(0))


def test_a_file_replaced_while_streaming_sends_the_old_content_whole(repository: Repository, hub: Hub):
    path = repository.public / "targets" / "big.bin"
    old = os.urandom(8 * 1024 * 1024)
    new = os.urandom(1024)
    path.write_bytes(old)
    url = f"http://127.0.0.1:{hub.port}/targets/big.bin"
    with requests.get(url, stream=True, timeout=5) as response:
        chunks = response.iter_content(64 * 1024)
        first = next(chunks)
        atomic_write(path, new)
        received = first + b"".join(chunks)
    assert response.headers["Content-Length"] == str(len(old))
    assert received == old
    assert requests.get(url, timeout=5).content == new


def test_a_file_deleted_while_streaming_is_still_sent(repository: Repository, hub: Hub):
    path = repository.public / "photos" / ("0" * 64)
    data = os.urandom(4 * 1024 * 1024)
    path.write_bytes(data)
    url = f"http://127.0.0.1:{hub.port}/photos/{path.name}"
    with requests.get(url, stream=True, timeout=5) as response:
        chunks = response.iter_content(64 * 1024)
        first = next(chunks)
        path.unlink()
        assert first + b"".join(chunks) == data
    assert requests.get(url, timeout=5).status_code == 404


def test_timestamp_replaced_under_load_is_always_one_whole_version(repository: Repository, hub: Hub):
    path = repository.public / "metadata" / "timestamp.json"
    versions = [b'{"signed": {"version": %d, "pad": "%s"}}\n' % (n, b"x" * (n * 37)) for n in range(40)]
    finished = threading.Event()

    def replace_repeatedly() -> None:
        for version in versions:
            atomic_write(path, version)
        finished.set()

    writer = threading.Thread(target=replace_repeatedly)
    writer.start()
    seen = 0
    with requests.Session() as session:
        while not finished.is_set() or seen == 0:
            response = session.get(f"http://127.0.0.1:{hub.port}/metadata/timestamp.json", timeout=5)
            assert response.status_code == 200
            assert response.headers["Content-Length"] == str(len(response.content))
            assert response.content in versions or response.content.startswith(b'{"signed": {"_type"')
            seen += 1
    writer.join(WAIT)
    assert (
        requests.get(f"http://127.0.0.1:{hub.port}/metadata/timestamp.json", timeout=5).content
        == versions[-1]
    )


def test_a_slow_client_does_not_hold_up_others(repository: Repository, hub: Hub):
    with socket.create_connection(("127.0.0.1", hub.port), timeout=5) as slow:
        slow.sendall(b"GET /metadata/1.root.json HTTP/1.1\r\nHost: x\r\n")  # and never finishes
        response = requests.get(f"http://127.0.0.1:{hub.port}/metadata/1.root.json", timeout=5)
        assert response.status_code == 200


@pytest.mark.timeout(30)
def test_serve_forever_stops_on_sigterm(repository: Repository):
    refresh = CountingRefresh()
    hub = Hub(make_app(repository.public), refresh, host="127.0.0.1", port=0)
    before = signal.getsignal(signal.SIGTERM)

    def terminate_once_serving() -> None:
        # The refresh runs after the server listens, and the handlers are installed before both.
        if refresh.reached.wait(WAIT):
            os.kill(os.getpid(), signal.SIGTERM)

    killer = threading.Thread(target=terminate_once_serving)
    killer.start()
    hub.serve_forever()
    killer.join(WAIT)
    assert refresh.calls == 1
    assert signal.getsignal(signal.SIGTERM) == before
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{hub.port}/metadata/1.root.json", timeout=5)


@pytest.mark.timeout(30)
def test_serve_forever_returns_when_stopped_from_another_thread(repository: Repository):
    refresh = CountingRefresh()
    hub = Hub(make_app(repository.public), refresh, host="127.0.0.1", port=0)

    def stop_once_serving() -> None:
        if refresh.reached.wait(WAIT):
            hub.stop()

    stopper = threading.Thread(target=stop_once_serving)
    stopper.start()
    hub.serve_forever()
    stopper.join(WAIT)
    assert refresh.calls == 1


def test_addresses_before_start_is_an_error(tmp_path: Path):
    (tmp_path / "public").mkdir()
    hub = Hub(make_app(tmp_path / "public"), lambda: None, port=0)
    with pytest.raises(RuntimeError):
        _ = hub.port
