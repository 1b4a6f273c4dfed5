"""Start Django for the hub's commands: ``signage hub``, ``signage users`` and ``signage audit``.

Django reads its settings once per process, from the environment (:mod:`signage.operator.hub.settings`), so every
command that touches the hub's database calls :func:`setup` first with the repository it was given. The
first start also creates what the hub keeps beside the repository: the secret key and the audit log's key
(0600) and the console's private folder (0700); and migrations run on every start, so an upgraded hub brings
its schema along. The SQLite database and its ``-wal``/``-shm`` files hold sessions and password and token
hashes, so they are created 0600 (umask 077 while Django opens them) and put back to 0600 on every start.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

from signage.core.errors import ConfigError
from signage.core.fsutil import atomic_write

SETTINGS_MODULE = "signage.operator.hub.settings"


def setup(repo_dir: Path | None, *, migrate: bool = True) -> None:
    """Configure Django for ``repo_dir`` (created files included) and bring the database up to date.

    Raises:
        ConfigError: Django was already set up for another repository in this process, or the database
            cannot be reached or migrated.
    """
    import django
    from django.conf import settings

    if settings.configured:
        configured = getattr(settings, "SIGNAGE_REPO", None)
        if repo_dir is not None and configured is not None and Path(configured) != repo_dir:
            raise ConfigError(
                f"本进程已为发布目录 {configured} 启动，不能再用于 {repo_dir}",
                f"this process already serves the repository {configured}; it cannot also serve {repo_dir}",
            )
    else:
        if repo_dir is not None:
            os.environ["SIGNAGE_HUB_REPO"] = str(repo_dir)
            _ensure_private_files(repo_dir)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS_MODULE)
    django.setup()
    database = _sqlite_file()
    secure_database_files(database)
    if migrate:
        saved = os.umask(0o077)
        try:
            run_migrations()
        finally:
            os.umask(saved)
    # SQLite gives the -wal and -shm files it creates later the main file's mode.
    secure_database_files(database)


#: The SQLite database's companion files (write-ahead log and shared memory), beside it.
SQLITE_COMPANIONS = ("", "-wal", "-shm", "-journal")


def _sqlite_file() -> Path | None:
    from django.conf import settings

    database = settings.DATABASES["default"]
    if "sqlite" not in str(database.get("ENGINE", "")):
        return None
    return Path(str(database["NAME"]))


def secure_database_files(database: Path | None) -> None:
    """Make the SQLite file ``database`` and its companions that exist private to the hub's user (0600)."""
    if database is None:
        return
    for suffix in SQLITE_COMPANIONS:
        with contextlib.suppress(FileNotFoundError):
            Path(f"{database}{suffix}").chmod(0o600)


def run_migrations() -> None:
    """Apply every migration not yet applied (quietly; an error names the database)."""
    from django.conf import settings
    from django.core.management import call_command
    from django.db import DatabaseError

    try:
        with _migration_lock(getattr(settings, "SIGNAGE_REPO", None)):
            call_command("migrate", interactive=False, verbosity=0, stdout=io.StringIO())
    except DatabaseError as error:
        raise ConfigError(
            f"无法打开或升级集线器数据库：{error}", f"cannot open or migrate the hub's database: {error}"
        ) from error


@contextlib.contextmanager
def _migration_lock(repo_dir: Path | None) -> Iterator[None]:
    """One migration at a time per repository: ``signage hub`` and ``signage screens add`` starting together on
    a fresh database would otherwise both create the same tables."""
    if repo_dir is None:
        yield
        return
    descriptor = os.open(Path(repo_dir) / ".migrate.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def _ensure_private_files(repo_dir: Path) -> None:
    for name, variable in (("secret_key", "SIGNAGE_SECRET_KEY"), ("audit.key", "SIGNAGE_AUDIT_KEY")):
        key = repo_dir / name
        if not key.exists() and not os.environ.get(variable):
            atomic_write(key, secrets.token_urlsafe(50).encode("ascii"), mode=0o600)
    private = repo_dir / "console"
    private.mkdir(mode=0o700, exist_ok=True)
