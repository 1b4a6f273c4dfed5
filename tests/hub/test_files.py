"""The hub's file serving over real HTTP: types, caching, validators, and every path that must 404."""

from __future__ import annotations

import io
import os
from pathlib import Path
from wsgiref.util import setup_testing_defaults

import pytest
import requests

from signage.core.errors import ConfigError
from signage.operator.hub.files import (
    IMMUTABLE,
    REVALIDATE,
    cache_control_for,
    make_app,
    not_modified,
    request_parts,
)
from signage.operator.hub.server import Hub

from .conftest import (
    LAST_MODIFIED,
    PHOTO,
    PHOTO_SHA,
    PLAYLIST,
    PLAYLIST_PATH,
    SECRET,
    TEMP_NAME,
    Repository,
    raw_request,
)


@pytest.mark.parametrize(
    ("path", "content_type", "cache_control"),
    [
        ("/metadata/timestamp.json", "application/json", REVALIDATE),
        ("/metadata/1.root.json", "application/json", IMMUTABLE),
        ("/metadata/2.root.json", "application/json", IMMUTABLE),
        ("/metadata/1.targets.json", "application/json", IMMUTABLE),
        ("/metadata/1.snapshot.json", "application/json", IMMUTABLE),
        (PLAYLIST_PATH, "application/json", IMMUTABLE),
        (f"/photos/{PHOTO_SHA}", "image/jpeg", IMMUTABLE),
    ],
)
def test_serves_the_three_folders_with_type_and_caching(
    base_url: str, repository: Repository, path: str, content_type: str, cache_control: str
):
    response = requests.get(base_url + path, timeout=5)
    assert response.status_code == 200
    assert response.content == (repository.public / path.lstrip("/")).read_bytes()
    assert response.headers["Content-Type"] == content_type
    assert response.headers["Cache-Control"] == cache_control
    assert response.headers["Content-Length"] == str(len(response.content))
    assert response.headers["Last-Modified"] == LAST_MODIFIED
    assert response.headers["ETag"].startswith('"')


def test_photo_and_playlist_bytes_are_exact(base_url: str):
    assert requests.get(f"{base_url}/photos/{PHOTO_SHA}", timeout=5).content == PHOTO
    assert requests.get(base_url + PLAYLIST_PATH, timeout=5).content == PLAYLIST


def test_if_none_match_answers_304(base_url: str):
    url = f"{base_url}/metadata/timestamp.json"
    etag = requests.get(url, timeout=5).headers["ETag"]
    for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        response = requests.get(url, headers={"If-None-Match": header}, timeout=5)
        assert response.status_code == 304, header
        assert response.content == b""
        assert response.headers["ETag"] == etag
        assert response.headers["Cache-Control"] == REVALIDATE
    assert requests.get(url, headers={"If-None-Match": '"other"'}, timeout=5).status_code == 200


def test_if_modified_since_answers_304_unless_older(base_url: str):
    url = f"{base_url}/metadata/1.root.json"
    assert requests.get(url, headers={"If-Modified-Since": LAST_MODIFIED}, timeout=5).status_code == 304
    later = "Fri, 02 Jan 2026 00:00:00 GMT"
    assert requests.get(url, headers={"If-Modified-Since": later}, timeout=5).status_code == 304
    earlier = "Wed, 31 Dec 2025 23:59:59 GMT"
    assert requests.get(url, headers={"If-Modified-Since": earlier}, timeout=5).status_code == 200
    assert requests.get(url, headers={"If-Modified-Since": "yesterday"}, timeout=5).status_code == 200


def test_if_none_match_wins_over_if_modified_since(base_url: str):
    url = f"{base_url}/metadata/1.root.json"
    headers = {"If-None-Match": '"stale"', "If-Modified-Since": LAST_MODIFIED}
    assert requests.get(url, headers=headers, timeout=5).status_code == 200


def test_etag_changes_when_the_file_is_replaced(base_url: str, repository: Repository):
    url = f"{base_url}/metadata/timestamp.json"
    before = requests.get(url, timeout=5).headers["ETag"]
    replacement = repository.public / "metadata" / "new.tmp-not-dot"
    replacement.write_bytes(b'{"signed": {"version": 2}}\n')
    replacement.replace(repository.public / "metadata" / "timestamp.json")
    response = requests.get(url, headers={"If-None-Match": before}, timeout=5)
    assert response.status_code == 200
    assert response.headers["ETag"] != before
    assert response.content == b'{"signed": {"version": 2}}\n'


def test_head_gives_the_headers_of_get_without_a_body(base_url: str):
    url = f"{base_url}/photos/{PHOTO_SHA}"
    head = requests.head(url, timeout=5)
    get = requests.get(url, timeout=5)
    assert head.status_code == 200
    assert head.content == b""
    for name in ("Content-Type", "Content-Length", "ETag", "Last-Modified", "Cache-Control"):
        assert head.headers[name] == get.headers[name]
    assert head.headers["Content-Length"] == str(len(PHOTO))


@pytest.mark.parametrize(
    "path",
    [
        "/metadata/3.root.json",  # missing: what a screen asks for every time it checks for a new root
        "/",
        "/metadata",
        "/metadata/",
        "/targets/channels",
        "/targets/channels/",
        f"/metadata/{TEMP_NAME}",
        "/metadata/%2etimestamp.json.abc123.tmp",
        "/metadata/to-temp.json",  # a link inside public/ to a dotfile
        "/../keys/targets.pem",
        "/%2e%2e/keys/targets.pem",
        "/%2E%2E/keys/targets.pem",
        "/metadata/../../keys/targets.pem",
        "/metadata/%2e%2e/%2e%2e/keys/targets.pem",
        "/metadata/..%2f..%2fkeys%2ftargets.pem",
        "/metadata/..%5c..%5ckeys%5ctargets.pem",
        "/targets/escape.json",  # a link out of public/ to the key itself
        "/targets/keys/targets.pem",  # a directory link out of public/
        "/keys/targets.pem",
        "/public/metadata/timestamp.json",
        "//etc/passwd",
        "/%2fetc%2fpasswd",
        "/metadata/timestamp.json%00",
        "/metadata/%ff.json",
        "/metadata//timestamp.json",
        "/metadata/./timestamp.json",
        "/README.txt",
        "/other/x.json",
    ],
)
def test_refused_and_missing_paths_are_a_short_404(hub: Hub, path: str):
    status, headers, body = raw_request(hub.port, path)
    assert status == 404
    assert body == b"not found\n"
    assert headers["Content-Type"].startswith("text/plain")
    assert headers["Cache-Control"] == REVALIDATE
    assert SECRET not in body


def test_a_link_that_stays_inside_the_served_folders_is_followed(base_url: str, repository: Repository):
    response = requests.get(f"{base_url}/metadata/current.json", timeout=5)
    assert response.status_code == 200
    assert response.content == (repository.public / "metadata" / "timestamp.json").read_bytes()


def test_a_fifo_is_not_found_and_does_not_hang(hub: Hub, repository: Repository):
    os.mkfifo(repository.public / "metadata" / "pipe.json")
    assert raw_request(hub.port, "/metadata/pipe.json")[0] == 404


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "OPTIONS", "PATCH"])
def test_other_methods_are_405_with_allow(hub: Hub, method: str):
    status, headers, body = raw_request(hub.port, "/metadata/timestamp.json", method)
    assert status == 405
    assert headers["Allow"] == "GET, HEAD"
    assert body == b"method not allowed\n"


def test_post_through_requests_is_405(base_url: str):
    response = requests.post(f"{base_url}/metadata/timestamp.json", data=b"{}", timeout=5)
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, HEAD"


def test_a_large_file_is_streamed_whole(base_url: str, repository: Repository):
    data = os.urandom(6 * 1024 * 1024)
    (repository.public / "targets" / "big.bin").write_bytes(data)
    response = requests.get(f"{base_url}/targets/big.bin", timeout=10)
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["Content-Length"] == str(len(data))
    assert response.content == data


def test_without_file_wrapper_the_app_streams_chunks(repository: Repository):
    app = make_app(repository.public)
    environ: dict[str, object] = {"PATH_INFO": f"/photos/{PHOTO_SHA}"}
    setup_testing_defaults(environ)
    environ.pop("wsgi.file_wrapper", None)
    started: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> object:
        started.append(status)
        return io.BytesIO().write

    body = app(environ, start_response)
    try:
        assert b"".join(body) == PHOTO
    finally:
        body.close()
    assert started == ["200 OK"]


def test_make_app_refuses_a_missing_directory(tmp_path: Path):
    with pytest.raises(ConfigError):
        make_app(tmp_path / "nowhere")


@pytest.mark.parametrize(
    ("path_info", "expected"),
    [
        ("/metadata/1.root.json", ("metadata", "1.root.json")),
        ("/targets/a/b.json", ("targets", "a", "b.json")),
        ("/metadata/../keys/x", None),
        ("/metadata/.x", None),
        ("/metadata/a\\b", None),
        ("/metadata/a\x00", None),
        ("metadata/1.root.json", None),
        ("/keys/targets.pem", None),
        ("/photos", None),
        ("/metadata/\xff", None),  # a latin-1-carried byte that is not UTF-8
        ("/photos/\xe7\x85\xa7", ("photos", "照")),
    ],
)
def test_request_parts(path_info: str, expected: tuple[str, ...] | None):
    assert request_parts(path_info) == expected


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (("metadata", "timestamp.json"), REVALIDATE),
        (("metadata", "root.json"), REVALIDATE),
        (("metadata", "12.root.json"), IMMUTABLE),
        (("metadata", "3.targets.json"), IMMUTABLE),
        (("metadata", "3.snapshot.json"), IMMUTABLE),
        (("targets", "channels", "x", "abc.playlist.json"), IMMUTABLE),
        # The sharded playlist: hashed-bin metadata, headers and shards are all written once.
        (("metadata", "7.bins-3f.json"), IMMUTABLE),
        (("targets", "channels", "x", "abc.header.json"), IMMUTABLE),
        (("targets", "channels", "x", "shards", "abc.0007.json"), IMMUTABLE),
        (("photos", "abc"), IMMUTABLE),
    ],
)
def test_cache_control_for(parts: tuple[str, ...], expected: str):
    assert cache_control_for(parts) == expected


def test_not_modified_ignores_a_date_without_zone():
    assert not not_modified({"HTTP_IF_MODIFIED_SINCE": "Thu, 01 Jan 2026 00:00:00 -0000"}, '"x"', 0.0)
    assert not_modified({"HTTP_IF_MODIFIED_SINCE": "Thu, 01 Jan 2026 00:00:00 GMT"}, '"x"', 0.0)
