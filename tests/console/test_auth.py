"""Logins under a flood: the lighter Argon2 parameters, the gate on concurrent password checks (503 at once,
never queued), refused oversized requests logged as one-line warnings, and HSTS when served over TLS."""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher, get_hasher, identify_hasher, make_password
from django.test import Client

from signage.operator.hub.audit.models import AuditEvent
from signage.operator.hub.passwords import CONCURRENT_CHECKS, GATE, HubArgon2PasswordHasher, PasswordGate
from tests.console import ops
from tests.console.ops import PASSWORD

clock, hub, make_user = ops.clock, ops.hub, ops.make_user

pytestmark = pytest.mark.django_db


def test_new_passwords_use_owasp_argon2_parameters():
    hasher = get_hasher("default")
    assert isinstance(hasher, HubArgon2PasswordHasher)
    encoded = make_password(PASSWORD)
    decoded = hasher.decode(encoded)
    assert encoded.startswith("argon2$argon2id$")
    assert (decoded["memory_cost"], decoded["time_cost"], decoded["parallelism"]) == (19456, 2, 1)


def test_a_hash_with_djangos_heavy_defaults_is_upgraded_at_the_next_login(hub, make_user):
    user = make_user("lin", "clerk")
    user.password = Argon2PasswordHasher().encode(PASSWORD, Argon2PasswordHasher().salt())
    user.save()
    assert identify_hasher(user.password).decode(user.password)["memory_cost"] == 102400
    response = Client().post("/login/", {"username": "lin", "password": PASSWORD})
    assert response.status_code == 302
    user.refresh_from_db()
    decoded = identify_hasher(user.password).decode(user.password)
    assert (decoded["memory_cost"], decoded["parallelism"]) == (19456, 1)


def test_the_gate_refuses_one_more_check_than_it_has_slots_and_never_waits():
    gate = PasswordGate(2)
    inside = threading.Barrier(3)
    leave = threading.Event()
    admitted: list[bool] = []

    def check() -> None:
        with gate.slot() as ok:
            admitted.append(ok)
            inside.wait(timeout=30)
            leave.wait(timeout=30)

    threads = [threading.Thread(target=check) for _ in range(2)]
    for thread in threads:
        thread.start()
    inside.wait(timeout=30)  # both checks hold their slot now
    with gate.slot() as third:
        assert third is False
    leave.set()
    for thread in threads:
        thread.join(timeout=30)
    assert admitted == [True, True]
    with gate.slot() as later:
        assert later is True


@contextlib.contextmanager
def gate_full():
    """Every slot of the hub's gate taken, as by CONCURRENT_CHECKS logins still hashing."""
    with contextlib.ExitStack() as stack:
        for _ in range(CONCURRENT_CHECKS):
            assert stack.enter_context(GATE.slot())
        yield


@pytest.mark.parametrize("path", ["/login/", "/admin/login/"])
def test_a_login_while_the_gate_is_full_is_answered_503_at_once(hub, make_user, path):
    make_user("lin", "clerk")
    browser = Client()
    with gate_full():
        response = browser.post(path, {"username": "lin", "password": "wrong-password-1"})
        assert response.status_code == 503
        assert response["Retry-After"] == "5"
        html = response.content.decode()
        # The page's language (Chinese by default; the English text is shown to those who chose English).
        assert "此刻登录的人太多" in html
        # Nothing was checked, so nothing counts against the account; the login page itself still opens.
        assert browser.get(path).status_code == 200
    assert not AuditEvent.objects.filter(action="login-failed").exists()
    from axes.models import AccessAttempt

    assert not AccessAttempt.objects.exists()
    # With a free slot the same post is checked (and fails as a wrong password).
    answer = browser.post(path, {"username": "lin", "password": "wrong-password-1"})
    assert answer.status_code == 200 and AccessAttempt.objects.exists()


@pytest.mark.parametrize(
    ("body", "logger"),
    [
        ({f"f{n}": "x" for n in range(300)}, "django.security.TooManyFieldsSent"),
        ({"username": "x" * (3 * 1024 * 1024)}, "django.security.RequestDataTooBig"),
    ],
)
def test_refused_oversized_requests_are_one_line_warnings(hub, caplog, body, logger):
    caplog.set_level(logging.INFO)
    response = Client().post("/login/", body)
    assert response.status_code == 400
    records = [record for record in caplog.records if record.name == logger]
    assert records, [record.name for record in caplog.records]
    for record in records:
        assert record.levelno == logging.WARNING and record.exc_info is None and record.exc_text is None


def hsts_settings(tls: str | None) -> str:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    env.pop("SIGNAGE_HUB_TLS", None)
    if tls is not None:
        env["SIGNAGE_HUB_TLS"] = tls
    code = (
        "import signage.operator.hub.settings as s; "
        "print(getattr(s, 'SECURE_HSTS_SECONDS', 0), getattr(s, 'SECURE_HSTS_INCLUDE_SUBDOMAINS', False))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    return completed.stdout.strip()


def test_hsts_is_sent_for_a_year_only_over_tls():
    assert hsts_settings("1") == "31536000 False"
    assert hsts_settings(None) == "0 False"
