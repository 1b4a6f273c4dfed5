"""A repository tree on disk and a real hub on 127.0.0.1 serving it, for the hub's HTTP tests."""

from __future__ import annotations

import datetime as dt
import hashlib
import http.client
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from signage.operator.hub.files import make_app
from signage.operator.hub.server import Hub

#: Every file of the tree is dated here, so Last-Modified is known in advance.
MTIME = dt.datetime(2026, 1, 1, tzinfo=dt.UTC).timestamp()
LAST_MODIFIED = "Thu, 01 Jan 2026 00:00:00 GMT"
#: The private key that must never come out of the hub.
SECRET = b"-----BEGIN PRIVATE KEY----- do not serve -----END PRIVATE KEY-----\n"
PLAYLIST = b'{"signed": {"entries": []}}\n'
PLAYLIST_SHA = hashlib.sha256(PLAYLIST).hexdigest()
PHOTO = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8 + b"\xff\xd9"
PHOTO_SHA = hashlib.sha256(PHOTO).hexdigest()
PLAYLIST_PATH = f"/targets/channels/jinan-station/{PLAYLIST_SHA}.playlist.json"
TEMP_NAME = ".timestamp.json.abc123.tmp"


@dataclass(frozen=True)
class Repository:
    """The ``DIR`` of an operator's repository, laid out as the publisher writes it."""

    root: Path

    @property
    def public(self) -> Path:
        """``DIR/public``, the only directory served."""
        return self.root / "public"


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (MTIME, MTIME))


@pytest.fixture
def repository(tmp_path: Path) -> Repository:
    repo = Repository(tmp_path / "DIR")
    metadata = repo.public / "metadata"
    for name in ("1.root.json", "2.root.json", "1.targets.json", "1.snapshot.json"):
        _write(metadata / name, b'{"signed": {"_type": "%s"}}\n' % name.encode())
    _write(metadata / "timestamp.json", b'{"signed": {"_type": "timestamp", "version": 1}}\n')
    _write(metadata / TEMP_NAME, b'{"half": ')
    _write(repo.public / PLAYLIST_PATH.lstrip("/"), PLAYLIST)
    _write(repo.public / "photos" / PHOTO_SHA, PHOTO)
    _write(repo.public / "README.txt", b"not one of the three folders\n")
    _write(repo.public / "other" / "x.json", b"{}\n")
    _write(repo.root / "keys" / "targets.pem", SECRET)
    (repo.public / "targets" / "escape.json").symlink_to(repo.root / "keys" / "targets.pem")
    (repo.public / "targets" / "keys").symlink_to(repo.root / "keys", target_is_directory=True)
    (repo.public / "metadata" / "to-temp.json").symlink_to(metadata / TEMP_NAME)
    (repo.public / "metadata" / "current.json").symlink_to(metadata / "timestamp.json")
    return repo


HubFactory = Callable[..., Hub]


@pytest.fixture
def start_hub() -> Iterator[HubFactory]:
    """Start hubs on 127.0.0.1, port 0; every hub started is stopped after the test."""
    hubs: list[Hub] = []

    def start(public: Path, refresh: Callable[[], None] = lambda: None, **options: Any) -> Hub:
        hub = Hub(make_app(public), refresh, host="127.0.0.1", port=0, **options)
        hubs.append(hub)
        hub.start()
        return hub

    yield start
    for hub in hubs:
        hub.stop()


@pytest.fixture
def hub(repository: Repository, start_hub: HubFactory) -> Hub:
    return start_hub(repository.public)


@pytest.fixture
def base_url(hub: Hub) -> str:
    return f"http://127.0.0.1:{hub.port}"


def raw_request(port: int, path: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    """Send ``path`` exactly as written: requests would remove "/../" before sending it."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request(method, path)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()
