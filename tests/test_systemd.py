"""sd_notify in plain Python, against real datagram sockets: path and abstract addresses, no socket at
all, the watchdog interval and whose watchdog it is."""

from __future__ import annotations

import datetime as dt
import os
import socket
import uuid
from pathlib import Path

import pytest

from signage.sync import systemd


@pytest.fixture
def listener(tmp_path: Path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify"))
    sock.settimeout(2)
    yield str(tmp_path / "notify"), sock
    sock.close()


def test_messages_reach_a_path_socket(listener):
    path, sock = listener
    env = {"NOTIFY_SOCKET": path}
    assert systemd.ready(env=env)
    assert systemd.watchdog(env=env)
    assert systemd.stopping(env=env)
    assert systemd.notify("READY=1\nSTATUS=playing", env=env)
    assert [sock.recv(4096) for _ in range(4)] == [
        b"READY=1",
        b"WATCHDOG=1",
        b"STOPPING=1",
        b"READY=1\nSTATUS=playing",
    ]


def test_status_is_one_line_of_utf8(listener):
    path, sock = listener
    assert systemd.status("同步失败\n  hub unreachable", env={"NOTIFY_SOCKET": path})
    assert sock.recv(4096).decode() == "STATUS=同步失败 hub unreachable"


def test_an_abstract_address_starts_with_at():
    name = f"signage-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(2)
        assert systemd.notify("WATCHDOG=1", env={"NOTIFY_SOCKET": "@" + name})
        assert sock.recv(64) == b"WATCHDOG=1"


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"NOTIFY_SOCKET": ""},
        {"NOTIFY_SOCKET": "vsock:2:1234"},
        {"NOTIFY_SOCKET": "relative/path"},
    ],
    ids=["unset", "empty", "vsock", "relative"],
)
def test_without_a_usable_socket_nothing_is_sent(env):
    assert systemd.notify("READY=1", env=env) is False
    assert systemd.ready(env=env) is False


def test_a_socket_that_went_away_is_not_an_error(tmp_path):
    assert systemd.notify("WATCHDOG=1", env={"NOTIFY_SOCKET": str(tmp_path / "gone")}) is False


def test_the_default_environment_is_the_process_environment(listener, monkeypatch):
    path, sock = listener
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    assert systemd.watchdog()
    assert sock.recv(64) == b"WATCHDOG=1"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"WATCHDOG_USEC": "30000000"}, dt.timedelta(seconds=30)),
        ({"WATCHDOG_USEC": "400000", "WATCHDOG_PID": "4242"}, dt.timedelta(milliseconds=400)),
        ({"WATCHDOG_USEC": "400000", "WATCHDOG_PID": "1"}, None),  # another process's watchdog
        ({"WATCHDOG_USEC": "400000", "WATCHDOG_PID": "x"}, None),
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "-5"}, None),
        ({"WATCHDOG_USEC": "soon"}, None),
        ({}, None),
    ],
)
def test_watchdog_interval(env, expected):
    assert systemd.watchdog_interval(env, pid=4242) == expected


def test_watchdog_interval_checks_this_process_by_default():
    env = {"WATCHDOG_USEC": "1000000", "WATCHDOG_PID": str(os.getpid())}
    assert systemd.watchdog_interval(env) == dt.timedelta(seconds=1)


def test_the_planned_restart_status_is_ex_tempfail():
    assert systemd.RESTART_EXIT_STATUS == os.EX_TEMPFAIL == 75
