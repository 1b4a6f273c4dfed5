"""No request can produce a 5xx (issue 14): hypothesis sends random methods, paths, headers, bodies and
encodings to every endpoint of a real hub on 127.0.0.1, over raw sockets so that malformed requests really go
out, with and without a valid screen token and a signed-in admin's session.

A fixed budget (``derandomize``: the same examples on every run) keeps it to seconds in ``make test``. The
requests go one at a time, so the designed busy gates (503 when the telemetry workers or the login gate are
full) are never provoked; any 5xx fails the test with the request that caused it.
"""

from __future__ import annotations

import gzip
import json
import re
import socket
from typing import Any
from urllib.parse import quote

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signage.operator.hub.accounts import create_account
from signage.operator.hub.screens.ingest import Limits

from .conftest import PHOTO_SHA, PLAYLIST_PATH
from .test_telemetry import NOW, Ingest, start_ingest

__all__ = ["start_ingest"]  # the fixture, imported for pytest
pytestmark = pytest.mark.django_db(transaction=True)

EXAMPLES = 300
PASSWORD = "示例-fuzz-密码-0412-SAMPLE"
ENDPOINTS = (
    "/telemetry/plays",
    "/telemetry/heartbeat",
    "/telemetry/x",
    "/fleet",
    "/metadata/timestamp.json",
    "/metadata/1.root.json",
    "/metadata/",
    PLAYLIST_PATH,
    f"/photos/{PHOTO_SHA}",
    "/login/",
    "/logout/",
    "/",
    "/upload/",
    "/submissions/",
    "/submissions/1/",
    "/submissions/1/progress",
    "/submissions/1/submit",
    "/submissions/1/approve",
    "/takedowns/",
    "/takedowns/reinstate/",
    "/versions/",
    "/versions/jinan-station/1/rollback/",
    "/screens/",
    "/reports/exposure/",
    "/reports/exposure.csv",
    "/reports/exposure.xlsx",
    "/audit/",
    "/admin/",
    "/admin/auth/user/",
    "/i18n/setlang/",
    "/static/console.css",
    "/static/",
)
METHODS = ("GET", "HEAD", "POST", "POST", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "get")
_TOKEN_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~"

# Text as hostile clients send it: any code point, lone surrogates included (escaped in JSON, or written
# raw with "surrogatepass"), and long.
_text = (
    st.text(st.characters(), max_size=40)
    | st.sampled_from(["\ud800", "x\udfff", "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59"])
    | st.text(st.characters(categories=["Cs", "Co", "Cc"]), max_size=5)
)
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=12,
)


def _encoded(text: str, codec: str) -> bytes:
    return text.encode(codec, "surrogatepass") if codec.startswith("utf") else text.encode(codec, "replace")


@st.composite
def _body(draw: st.DrawFn) -> tuple[bytes, list[tuple[str, str]]]:
    kind = draw(st.sampled_from(["none", "json", "heartbeat", "form", "multipart", "bytes"]))
    codec = draw(st.sampled_from(["utf-8", "utf-16", "latin-1", "gb18030"]))
    headers: list[tuple[str, str]] = []
    if kind == "none":
        return b"", headers
    if kind in ("json", "heartbeat"):
        document = draw(_json)
        if kind == "heartbeat":
            document = {
                "screen_id": "bus-0412",
                "channel": "jinan-station",
                "sent_at": draw(st.sampled_from(["2026-11-26T07:59:59Z", "9999-12-31T23:59:59-23:59"])),
                "verified_until": draw(_text | st.datetimes().map(str)),
                "on_screen": draw(_text),
                draw(_text): document,
            }
        text = json.dumps(document, ensure_ascii=draw(st.booleans()), allow_nan=True)
        data = _encoded(text, codec)
        headers.append(
            (
                "Content-Type",
                draw(st.sampled_from(["application/json", f"application/json; charset={codec}"])),
            )
        )
    elif kind == "form":
        fields = draw(
            st.dictionaries(
                st.sampled_from(
                    [
                        "username",
                        "password",
                        "language",
                        "next",
                        "csrfmiddlewaretoken",
                        "q",
                        "channel",
                        "entry",
                        "reason",
                    ]
                ),
                _text,
                max_size=5,
            )
        )
        data = "&".join(f"{quote(k)}={quote(v, errors='surrogatepass')}" for k, v in fields.items()).encode()
        headers.append(("Content-Type", f"application/x-www-form-urlencoded; charset={codec}"))
    elif kind == "multipart":
        boundary = draw(st.text(_TOKEN_CHARS, min_size=0, max_size=70))
        name = draw(_text)
        content = draw(st.binary(max_size=300))
        data = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
                "Content-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet\r\n\r\n"
            ).encode("utf-8", "surrogatepass")
            + content
            + f"\r\n--{boundary}--\r\n".encode()
        )
        headers.append(("Content-Type", f"multipart/form-data; boundary={boundary}"))
    else:
        data = draw(st.binary(max_size=500))
        headers.append(
            (
                "Content-Type",
                draw(st.sampled_from(["application/json", "text/plain", "application/octet-stream", ""])),
            )
        )
    if draw(st.booleans()) and data:
        data = gzip.compress(data)
        headers.append(("Content-Encoding", "gzip"))
    return data, headers


@st.composite
def requests_(draw: st.DrawFn) -> dict[str, Any]:
    endpoint = draw(st.sampled_from(ENDPOINTS))
    suffix = draw(
        st.sampled_from(["", "/", "/..", "/%2e%2e/keys", "%00", "/.hidden", "?a=b", "//x", "/%ff%fe"])
        | st.text(st.characters(), max_size=30).map(lambda t: quote(t, safe="/?=&%", errors="surrogatepass"))
        | st.integers(1, 12_000).map(lambda n: "/" + "a" * n)
    )
    query = draw(
        st.sampled_from(["", "?page=2", "?since=9999-12-31&until=0001-01-01", "?next=//evil", "?a=%ff"])
    )
    data, headers = draw(_body())
    return {
        "method": draw(st.sampled_from(METHODS)),
        "target": endpoint + suffix + query,
        "data": data,
        "headers": headers,
        "token": draw(st.sampled_from(["valid", "bad", "none", "garbage"])),
        "session": draw(st.booleans()),
        "extra": draw(
            st.lists(
                st.sampled_from(
                    [
                        ("Accept-Language", "zh-Hans,en;q=0.5"),
                        ("Accept-Language", "x" * 300),
                        ("If-Modified-Since", "Fri, 31 Dec 9999 23:59:59 GMT"),
                        ("If-None-Match", '"*", W/"x"'),
                        ("Range", "bytes=9999999999-"),
                        ("X-Real-IP", "not an address"),
                        ("X-Real-IP", "198.51.100.7"),
                        ("Host", "evil.example"),
                        ("Host", ""),
                        ("X-CSRFToken", "x"),
                        ("Origin", "null"),
                        ("Referer", "http://127.0.0.1/%ff"),
                        ("Transfer-Encoding", "chunked"),
                        ("Expect", "100-continue"),
                        ("Cookie", "sessionid=garbage; csrftoken=x"),
                    ]
                ),
                max_size=4,
                unique=True,
            )
        ),
    }


def _send(port: int, request: bytes) -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(request)
        answer = b""
        while b"\r\n" not in answer:
            chunk = connection.recv(4096)
            if not chunk:
                return 0  # closed without an answer: a refusal, not a 5xx
            answer += chunk
        # An interim "100 Continue" is followed by the answer itself.
        while re.match(rb"HTTP/1\.[01] 1\d\d ", answer) and answer.count(b"\r\n\r\n") < 2:
            chunk = connection.recv(4096)
            if not chunk:
                break
            answer += chunk
        final = re.split(rb"(?=HTTP/1\.[01] [2-5]\d\d )", answer, maxsplit=1)[-1]
    match = re.match(rb"HTTP/1\.[01] (\d{3}) ", final)
    assert match, answer[:200]
    return int(match.group(1))


def _login(ingest: Ingest) -> tuple[str, str]:
    """A signed-in admin's session and CSRF cookies."""
    create_account("fuzz-admin", "admin", PASSWORD, at=NOW, actor="test")
    with requests.Session() as http:
        page = http.get(ingest.url("/login/"), timeout=10)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        assert token, page.text[:500]
        answer = http.post(
            ingest.url("/login/"),
            data={"username": "fuzz-admin", "password": PASSWORD, "csrfmiddlewaretoken": token.group(1)},
            headers={"Referer": ingest.url("/login/")},
            timeout=10,
        )
        assert answer.status_code == 200 and "sessionid" in http.cookies, answer.text[:500]
        return http.cookies["sessionid"], http.cookies["csrftoken"]


def test_no_request_to_any_endpoint_gets_a_5xx(start_ingest: Any):
    # No flood limits here: they would turn most telemetry into 429s before the views' checks.
    ingest: Ingest = start_ingest(
        Limits(burst=1_000_000, failure_burst=1_000_000, global_failure_burst=1_000_000)
    )
    session, csrf = _login(ingest)
    tokens = {
        "valid": f"Bearer {ingest.tokens['bus-0412']}",
        "bad": "Bearer " + "A" * 43,
        "garbage": "Bearer " + "x" * 200,
    }
    failures: list[str] = []
    statuses: dict[int, int] = {}

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(requests_())
    def check(request: dict[str, Any]) -> None:
        headers = [("Host", f"127.0.0.1:{ingest.port}"), *request["headers"], *request["extra"]]
        if request["token"] in tokens:
            headers.append(("Authorization", tokens[request["token"]]))
        if request["session"]:
            headers.append(("Cookie", f"sessionid={session}; csrftoken={csrf}"))
            headers.append(("X-CSRFToken", csrf))
        data = request["data"]
        names = {name.lower() for name, _ in headers}
        if "transfer-encoding" in names:
            data = f"{len(data):x}\r\n".encode() + data + b"\r\n0\r\n\r\n" if data else b"0\r\n\r\n"
        else:
            headers.append(("Content-Length", str(len(data))))
        headers.append(("Connection", "close"))
        head = f"{request['method']} {request['target']} HTTP/1.1\r\n" + "".join(
            f"{name}: {value}\r\n" for name, value in headers
        )
        status = _send(ingest.port, head.encode("utf-8", "surrogateescape") + b"\r\n" + data)
        statuses[status] = statuses.get(status, 0) + 1
        if status >= 500:
            failures.append(
                f"{status}: {request['method']} {request['target'][:200]!r} {headers!r} {data[:200]!r}"
            )

    check()
    print(f"\nfuzz: answers by status {dict(sorted(statuses.items()))}")
    assert not failures, "\n".join(failures[:10])
