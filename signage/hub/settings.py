"""Django settings of the hub: one project serving the screens' telemetry, the fleet and the operator console.

Everything comes from the environment, which :func:`signage.hub.bootstrap.setup` fills from the command line,
so the same module serves ``signage hub``, ``signage users``, ``signage audit`` and the tests:

- ``SIGNAGE_HUB_REPO``: the repository directory ``DIR`` (keys, ledger, ``public/``). The SQLite database,
  the secret key and the console's private files live beside it, never under ``public/``.
- ``DATABASE_URL``: a ``postgres://`` URL for a large fleet; SQLite (``DIR/hub.sqlite3``) when unset.
- ``SIGNAGE_SECRET_KEY``: the session-signing key; otherwise ``DIR/secret_key`` (created 0600 on first
  start by the bootstrap).
- ``SIGNAGE_ALLOWED_HOSTS``: comma-separated host names the hub answers to (``*`` by default: screens reach
  it by address or by name, and nginx in front checks the name).
- ``SIGNAGE_HUB_TLS=1``: served over HTTPS (nginx terminates TLS): cookies become ``Secure`` and the
  ``X-Forwarded-Proto`` header of the proxy is trusted.

DEBUG is always off: a debug page would show settings and stack frames to the internet.
"""

from __future__ import annotations

import datetime as dt
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


def _secret_key() -> str:
    if os.environ.get("SIGNAGE_SECRET_KEY"):
        return os.environ["SIGNAGE_SECRET_KEY"]
    if SIGNAGE_REPO is not None and (SIGNAGE_REPO / "secret_key").is_file():
        return (SIGNAGE_REPO / "secret_key").read_text(encoding="ascii").strip()
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
        "OPTIONS": {
            # WAL: readers never wait for the writer. FULL: a batch answered 200 is deleted by the screen, so it
            # must survive a power cut. IMMEDIATE: writers queue on the lock instead of failing mid-transaction.
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 5,
        },
    }


SECRET_KEY = _secret_key()
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
    "signage.hub.screens",
    "signage.hub.audit",
    "signage.hub.console",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "signage.hub.i18n.ChosenLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a lockout raised by the backend into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "signage.hub.urls"
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
                "signage.hub.console.context.roles",
            ],
        },
    },
]

DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Argon2id first (argon2-cffi): the password hash of every new or changed password.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
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

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "loggers": {
        # A refused request is logged once by the view that refused it, not again with a stack by Django.
        "django.request": {"level": "ERROR"},
        "django.security.DisallowedHost": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
    },
}
