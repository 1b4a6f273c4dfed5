"""Django settings of the hub: one project serving the screens' telemetry, the fleet and the operator console.

Everything comes from the environment, which :func:`signage.operator.hub.bootstrap.setup` fills from the command line,
so the same module serves ``signage hub``, ``signage users``, ``signage audit`` and the tests:

- ``SIGNAGE_HUB_REPO``: the repository directory ``DIR`` (keys, ledger, ``public/``). The SQLite database,
  the secret key and the console's private files live beside it, never under ``public/``.
- ``DATABASE_URL``: a ``postgres://`` URL for a large fleet; SQLite (``DIR/hub.sqlite3``) when unset.
- ``SIGNAGE_SECRET_KEY``: the session-signing key; otherwise ``DIR/secret_key`` (created 0600 on first
  start by the bootstrap).
- ``SIGNAGE_AUDIT_KEY``: the key of the audit log's HMAC chain; otherwise ``DIR/audit.key`` (created 0600 on
  first start by the bootstrap). Never in the database: whoever has only the database cannot forge the log.
- ``SIGNAGE_ALLOWED_HOSTS``: comma-separated host names the hub answers to (``*`` by default: screens reach
  it by address or by name, and nginx in front checks the name; production lists the hub's names).
- ``SIGNAGE_HUB_TLS=1``: served over HTTPS (nginx terminates TLS): cookies become ``Secure``, the
  ``X-Forwarded-Proto`` header of the proxy is trusted and HSTS is sent.

DEBUG is always off: a debug page would show settings and stack frames to the internet.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import dj_database_url
from csp.constants import NONE, SELF

HUB_PACKAGE = Path(__file__).resolve().parent

#: The repository directory, or None in a process that only has a database (tests, ``users``).
SIGNAGE_REPO: Path | None = (
    Path(os.environ["SIGNAGE_HUB_REPO"]) if os.environ.get("SIGNAGE_HUB_REPO") else None
)
#: The console's private files (staged photos, thumbnails): beside ``public/``, never inside it.
SIGNAGE_PRIVATE: Path = (
    SIGNAGE_REPO / "console"
    if SIGNAGE_REPO
    else Path(tempfile.gettempdir()) / f"signage-console-{os.getpid()}"
)


def _private_key(variable: str, file_name: str) -> str:
    if os.environ.get(variable):
        return os.environ[variable]
    if SIGNAGE_REPO is not None and (SIGNAGE_REPO / file_name).is_file():
        return (SIGNAGE_REPO / file_name).read_text(encoding="ascii").strip()
    # A process without a repository (the tests) signs nothing that outlives it.
    return "signage-unconfigured-" + os.urandom(24).hex()


def _database() -> dict[str, Any]:
    url = os.environ.get("DATABASE_URL")
    if url:
        database: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True))
        database.setdefault("OPTIONS", {})["connect_timeout"] = 5
        return database
    if SIGNAGE_REPO is not None:
        name = SIGNAGE_REPO / "hub.sqlite3"
        test_name = None
    else:
        scratch = Path(tempfile.gettempdir())
        name = scratch / f"signage-hub-{os.getpid()}.sqlite3"
        # A file, not pytest-django's in-memory default: waitress's worker threads open their own connections.
        test_name = scratch / f"signage-hub-test-{os.getpid()}.sqlite3"
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": name,
        "TEST": {"NAME": test_name},
        # Each waitress thread keeps its connection (Django closes it on errors or after 10 minutes): opening
        # SQLite and running the PRAGMAs on every request cost a third of the telemetry intake (bench.ingest).
        "CONN_MAX_AGE": 600,
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {
            # WAL: readers never wait for the writer. FULL: a batch answered 200 is deleted by the screen, so it
            # must survive a power cut. IMMEDIATE: writers queue on the lock instead of failing mid-transaction.
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 5,
        },
    }


SECRET_KEY = _private_key("SIGNAGE_SECRET_KEY", "secret_key")
SIGNAGE_AUDIT_KEY = _private_key("SIGNAGE_AUDIT_KEY", "audit.key")
DEBUG = False
ALLOWED_HOSTS = [
    host.strip() for host in os.environ.get("SIGNAGE_ALLOWED_HOSTS", "*").split(",") if host.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "signage.operator.hub.screens",
    "signage.operator.hub.audit",
    "signage.operator.hub.console",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "signage.operator.hub.i18n.ChosenLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "signage.operator.hub.middleware.UnavailableMiddleware",
    # Before axes: a login refused for want of a free password check never counts as a failure.
    "signage.operator.hub.passwords.PasswordGateMiddleware",
    # The admin's own changes to accounts, roles and screens are audited under its name.
    "signage.operator.hub.audit.signals.ActingUserMiddleware",
    # Last, as django-axes asks: it turns a lockout raised by the backend into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "signage.operator.hub.urls"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [HUB_PACKAGE / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "signage.operator.hub.console.context.roles",
            ],
        },
    },
]

DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Argon2id (argon2-cffi) with OWASP's parameters rather than Django's 100 MiB and 8 lanes, which let a login
# flood take the hub's memory and threads; hashes made with other parameters are upgraded at the next login.
# Concurrent password checks are also capped (signage.operator.hub.passwords.PasswordGateMiddleware).
PASSWORD_HASHERS = [
    "signage.operator.hub.passwords.HubArgon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "console:home"
LOGOUT_REDIRECT_URL = "login"

# django-axes: lock an account after repeated failures, never an address. A bus depot or a court sits behind
# one NAT address; locking it would lock out every colleague. Screens authenticate with tokens at their own
# endpoints, which never go through Django's authentication, so axes cannot block them.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = dt.timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [HUB_PACKAGE / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "Asia/Shanghai"

STATIC_URL = "/static/"
STATIC_ROOT = None
# WhiteNoise serves the packaged static files straight from the apps (no collectstatic on a mini-PC).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = False

# Uploads: small files in memory, anything larger to a temporary file on disk; the form caps the size.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 200
DATA_UPLOAD_MAX_NUMBER_FILES = 2
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700

# Security headers and cookies.
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 8 * 60 * 60
CSRF_COOKIE_SAMESITE = "Lax"
TLS = os.environ.get("SIGNAGE_HUB_TLS") == "1"
SESSION_COOKIE_SECURE = TLS
CSRF_COOKIE_SECURE = TLS
if TLS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # A year; not the subdomains, which may be other services of the court.
    SECURE_HSTS_SECONDS = 365 * 24 * 60 * 60
    SECURE_HSTS_INCLUDE_SUBDOMAINS = False
    CSRF_TRUSTED_ORIGINS = [f"https://{host}" for host in ALLOWED_HOSTS if host != "*"]

# django-csp: no inline script or style anywhere; everything comes from the hub itself.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}


class _Refusal(logging.Filter):
    """A request Django refused as too large or suspicious is a warning of one line, not an ERROR with a stack:
    anyone on the internet can send one, and it says nothing about the hub's health."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.WARNING:
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        return True


#: The django.security loggers of requests refused with a 400 (``django.security.<exception class>``).
_REFUSALS = (
    "DisallowedHost",
    "RequestDataTooBig",
    "TooManyFieldsSent",
    "TooManyFilesSent",
    "SuspiciousMultipartForm",
    "SuspiciousFileOperation",
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"refusal": {"()": _Refusal}},
    "loggers": {
        # A refused request is logged once by the view that refused it, not again with a stack by Django.
        "django.request": {"level": "ERROR"},
        **{f"django.security.{name}": {"level": "WARNING", "filters": ["refusal"]} for name in _REFUSALS},
        "axes": {"level": "WARNING"},
    },
}
