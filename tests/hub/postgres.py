"""A real, throwaway PostgreSQL server for the hub's database tests: initdb into a temporary folder, a Unix
socket only.

``python -m tests.hub.postgres PYTEST_ARGS...`` (``make test``'s PostgreSQL run) starts one, runs pytest with
``DATABASE_URL`` naming it, and stops it afterwards, also when pytest fails or is interrupted.

The server listens on no TCP port at all (``listen_addresses=''``), only on a socket in its own folder,
with ``trust`` authentication: nothing outside this machine's file permissions can reach it. Durability
is switched off (``fsync=off``), since the data dies with the test run anyway.

PostgreSQL refuses to run as root, and CI runs as root: then every server command runs as the
``postgres`` user through ``runuser``, in a folder under ``/tmp`` owned by that user (pytest's own
temporary folders are private to root, so that user could not enter them).

If no PostgreSQL binaries are found, :func:`running_postgres` skips the test with the reason.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

#: Where Debian's postgresql-NN packages put their server binaries.
DEBIAN_BINARIES = Path("/usr/lib/postgresql")
START_TIMEOUT_S = 30


def find_binaries() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl``: the newest Debian version, or the one on PATH."""
    versions = sorted(
        (path for path in DEBIAN_BINARIES.glob("*/bin") if (path / "pg_ctl").is_file()),
        key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0,
    )
    if versions:
        return versions[-1]
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).resolve().parent if pg_ctl else None


@dataclass
class PostgresServer:
    """A started server; :meth:`create_database` gives each test a database of its own."""

    bin_dir: Path
    base: Path
    as_user: list[str]
    _names: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def data_dir(self) -> Path:
        return self.base / "data"

    @property
    def socket_dir(self) -> Path:
        return self.base

    def dsn(self, database: str = "postgres") -> str:
        """A ``postgresql://`` URI for ``database`` over the server's Unix socket."""
        return f"postgresql://postgres@/{database}?host={self.socket_dir}"

    def create_database(self) -> str:
        """A new, empty database; its DSN."""
        import psycopg

        name = f"signage_test_{next(self._names)}"
        with psycopg.connect(self.dsn(), autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {name}")
        return self.dsn(name)

    def run(self, *command: str) -> None:
        """Run a server command (as the ``postgres`` user when we are root); its output on failure."""
        result = subprocess.run([*self.as_user, *command], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(
                f"{command[0]} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
            )


@contextlib.contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """Start a server for the duration of the ``with`` block, then stop it and delete its files.

    Skips the calling test when the binaries are missing, or when running as root without a ``postgres``
    user to run them as.
    """
    pytest.importorskip("psycopg", reason="psycopg is not installed (pip install 'psycopg[binary]')")
    bin_dir = find_binaries()
    if bin_dir is None:
        pytest.skip(
            "PostgreSQL server binaries (initdb, pg_ctl) not found; install the Debian package postgresql"
        )
    as_user: list[str] = []
    owner: pwd.struct_passwd | None = None
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root, and there is no 'postgres' user to run the PostgreSQL server as")
        as_user = ["runuser", "-u", "postgres", "--"]
    base = Path(tempfile.mkdtemp(prefix="signage-pg-"))
    try:
        if owner is not None:
            os.chown(base, owner.pw_uid, owner.pw_gid)
        server = PostgresServer(bin_dir, base, as_user)
        server.run(
            str(bin_dir / "initdb"),
            "--pgdata",
            str(server.data_dir),
            "--username",
            "postgres",
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
            "--no-locale",
            "--no-sync",
        )
        options = (
            f"-c listen_addresses='' -c unix_socket_directories='{server.socket_dir}' "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        server.run(
            str(bin_dir / "pg_ctl"),
            "start",
            "--pgdata",
            str(server.data_dir),
            "--wait",
            "--timeout",
            str(START_TIMEOUT_S),
            "--log",
            str(base / "server.log"),
            "-o",
            options,
        )
        try:
            yield server
        finally:
            server.run(
                str(bin_dir / "pg_ctl"), "stop", "--pgdata", str(server.data_dir), "--mode", "fast", "--wait"
            )
    finally:
        shutil.rmtree(base, ignore_errors=True)


def database_url(server: PostgresServer, name: str = "signage") -> str:
    """A ``DATABASE_URL`` for Django naming database ``name`` over the server's socket (pytest-django makes and
    drops ``test_<name>`` beside it)."""
    return f"postgres://postgres@{urllib.parse.quote(str(server.socket_dir), safe='')}/{name}"


def main(argv: list[str]) -> int:
    """Run ``pytest argv`` against a throwaway server; its exit status (0 with a notice if none can run)."""
    try:
        with running_postgres() as server:
            environment = {**os.environ, "DATABASE_URL": database_url(server)}
            print(f"PostgreSQL run: DATABASE_URL={environment['DATABASE_URL']}", file=sys.stderr, flush=True)
            return subprocess.run(
                [sys.executable, "-m", "pytest", *argv], env=environment, check=False
            ).returncode
    except pytest.skip.Exception as reason:
        print(f"PostgreSQL run skipped: {reason}", file=sys.stderr)
        return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
