"""Disk used by one screen's proof of play over a year, with the hub's roll-up and retention (issue 14).

Ingests a simulated year of one screen's plays through the hub's real ORM code
(:func:`signage.operator.hub.screens.records.record_batch`, with the daily quota's bookkeeping), at the rate a real
screen produces them: one play every ``--dwell`` seconds (10 s, the player's default, one entry a page) over
a playlist of ``--entries`` entries, in one batch every ``--batch-minutes`` (the screen uploads after every
heartbeat, once a minute). After each day the hub's roll-up and retention run as the hub runs them
(:func:`signage.operator.hub.screens.retention.maintain`, ``raw_play_days`` ``--raw-play-days``). Reported: the
database's size at the end, its peak, the rows of each table, and bytes per raw play and per daily row, so
other rates (a page of 12 entries is 12 plays, the quota is 1.2 million a day) scale from them.

The database is SQLite (``DIR/hub.sqlite3``, WAL, as the hub opens it); with ``--postgres`` the same run is
repeated on a throwaway PostgreSQL server (:mod:`tests.hub.postgres`), in a child process since Django's
database is chosen once per process. A day's batches commit together (one transaction a day, each batch a
savepoint) so that a year takes minutes: the rows written, and so the bytes, are the same.

Usage: ``python -m bench.telemetry_disk [--days 365] [--dwell 10] [--entries 500] [--raw-play-days 30]
[--batch-minutes 1] [--postgres] [--figures PATH]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import figures
from bench.figures import Figure

SECTION = "Telemetry on disk: one screen-year"
SCREEN = "bench-screen"
HASH = "ab" * 32
CST = dt.timezone(dt.timedelta(hours=8))
FIRST_DAY = dt.date(2026, 1, 1)


def _simulate(arguments: argparse.Namespace, repo_dir: Path) -> dict[str, Any]:
    """Run the year on the database Django is set up with; what it measured."""
    from signage.operator.hub import bootstrap

    bootstrap.setup(repo_dir)
    from django.db import connection, transaction  # noqa: TID251 - bench code, run through the hub's ORM

    from signage.operator.hub.screens import models, records, retention
    from signage.operator.hub.screens.ingest import PLAYS_PER_DAY, Play, hash_token

    records.add_screen(SCREEN, hash_token("x" * 43), added_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    step = dt.timedelta(seconds=arguments.dwell)
    per_day = int(86_400 // arguments.dwell)
    per_batch = max(1, int(arguments.batch_minutes * 60 // arguments.dwell))
    peak = 0
    started = time.perf_counter()
    batch_number = 0
    entry = 0
    for offset in range(arguments.days):
        day = FIRST_DAY + dt.timedelta(days=offset)
        midnight = dt.datetime.combine(day, dt.time(), tzinfo=CST)
        with transaction.atomic():
            for first in range(0, per_day, per_batch):
                plays = []
                for index in range(first, min(per_day, first + per_batch)):
                    plays.append(
                        Play(
                            SCREEN,
                            f"E{entry % arguments.entries:05d}",
                            HASH,
                            3,
                            midnight + index * step,
                            10_000,
                        )
                    )
                    entry += 1
                received = midnight + (first + per_batch) * step
                batch_number += 1
                records.record_batch(
                    SCREEN,
                    f"{batch_number:032x}",
                    plays,
                    received_at=received,
                    day=day,
                    quota=PLAYS_PER_DAY,
                )
        next_midnight = midnight + dt.timedelta(days=1)
        retention.maintain(
            day + dt.timedelta(days=1),
            next_midnight + dt.timedelta(minutes=5),
            raw_play_days=arguments.raw_play_days,
        )
        peak = max(peak, _used_bytes(connection))
        if offset % 30 == 29:
            print(
                f"  day {offset + 1}: {time.perf_counter() - started:.0f} s, {_used_bytes(connection):,} bytes",
                file=sys.stderr,
                flush=True,
            )
    rows = {
        "raw plays": models.Play.objects.count(),
        "batches": models.Batch.objects.count(),
        "daily exposure rows": models.DailyExposure.objects.count(),
        "screen-day rows": models.ScreenDay.objects.count(),
    }
    tables = _table_bytes(connection)
    total = sum(
        row.plays for row in records.exposure(FIRST_DAY, FIRST_DAY + dt.timedelta(days=arguments.days))
    )
    return {
        "vendor": connection.vendor,
        "seconds": time.perf_counter() - started,
        "plays": per_day * arguments.days,
        "plays_reported": total,
        "plays_per_day": per_day,
        "per_batch": per_batch,
        "end_bytes": _used_bytes(connection),
        "file_bytes": _file_bytes(connection, repo_dir),
        "peak_bytes": peak,
        "rows": rows,
        "tables": tables,
    }


def _used_bytes(connection: Any) -> int:
    """Bytes the database's data takes (SQLite: pages in use; PostgreSQL: the database's size)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA page_count")
            pages = cursor.fetchone()[0]
            cursor.execute("PRAGMA freelist_count")
            free = cursor.fetchone()[0]
            cursor.execute("PRAGMA page_size")
            return int((pages - free) * cursor.fetchone()[0])
        cursor.execute("SELECT pg_database_size(current_database())")
        return int(cursor.fetchone()[0])


def _file_bytes(connection: Any, repo_dir: Path) -> int:
    """SQLite: the file's size after a checkpoint (freed pages stay in the file, to be reused); else 0."""
    if connection.vendor != "sqlite":
        return 0
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return sum(path.stat().st_size for path in repo_dir.glob("hub.sqlite3*"))


def _table_bytes(connection: Any) -> dict[str, int]:
    """Bytes per telemetry table, indexes included."""
    tables = ("screens_play", "screens_batch", "screens_dailyexposure", "screens_screenday")
    sizes: dict[str, int] = {}
    with connection.cursor() as cursor:
        for table in tables:
            if connection.vendor == "sqlite":
                try:
                    cursor.execute(
                        "SELECT SUM(pgsize) FROM dbstat WHERE name = %s OR name IN "
                        "(SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = %s)",
                        [table, table],
                    )
                except Exception:
                    return {}  # this SQLite has no dbstat table
            else:
                cursor.execute("SELECT pg_total_relation_size(%s)", [table])
            sizes[table] = int(cursor.fetchone()[0] or 0)
    return sizes


def _child(arguments: argparse.Namespace) -> dict[str, Any]:
    """One run in a fresh folder on the database of this process's ``DATABASE_URL`` (or SQLite)."""
    with tempfile.TemporaryDirectory(prefix="signage-bench-disk-") as folder:
        return _simulate(arguments, Path(folder))


def _on_postgres(argv: list[str]) -> dict[str, Any] | str:
    """The same run in a child process on a throwaway PostgreSQL server; its result, or why it could not run."""
    import pytest

    from tests.hub.postgres import running_postgres

    try:
        with running_postgres() as server:
            environment = {**os.environ, "DATABASE_URL": server.create_database()}
            done = subprocess.run(
                [sys.executable, "-m", "bench.telemetry_disk", *argv, "--child"],
                env=environment,
                capture_output=True,
                text=True,
                check=False,
            )
    except pytest.skip.Exception as reason:
        return f"skipped: {reason}"
    sys.stderr.write(done.stderr)
    if done.returncode != 0:
        return f"failed ({done.returncode})"
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


def _report(result: dict[str, Any], arguments: argparse.Namespace, command: str) -> list[Figure]:
    vendor = "SQLite" if result["vendor"] == "sqlite" else "PostgreSQL"
    rows = result["rows"]
    kept_raw = rows["raw plays"]
    mb = 1024 * 1024
    print(
        f"\n{vendor}: {result['plays']:,} plays in {arguments.days} days ({result['plays_per_day']:,} a day, "
        f"{result['per_batch']} a batch), {result['seconds']:.0f} s"
    )
    print(f"  report total after the year: {result['plays_reported']:,} plays (every play counted once)")
    for name, count in rows.items():
        print(f"  {name:<22}{count:>12,}")
    for table, size in result["tables"].items():
        print(f"  {table:<28}{size / mb:>10.1f} MiB")
    print(
        f"  in use at the end: {result['end_bytes'] / mb:.1f} MiB; peak {result['peak_bytes'] / mb:.1f} MiB"
        + (f"; file {result['file_bytes'] / mb:.1f} MiB" if result["file_bytes"] else "")
    )
    tables = result["tables"]
    raw_per_play = tables.get("screens_play", 0) / kept_raw if kept_raw and tables else 0.0
    daily = rows["daily exposure rows"]
    per_daily = tables.get("screens_dailyexposure", 0) / daily if daily and tables else 0.0
    per_batch = tables.get("screens_batch", 0) / rows["batches"] if rows["batches"] and tables else 0.0
    if raw_per_play:
        print(
            f"  bytes (indexes included) per raw play: {raw_per_play:.0f}; per batch: {per_batch:.0f}; "
            f"per daily row: {per_daily:.0f}"
        )
    found = [
        Figure(
            SECTION,
            f"{vendor}: database after one screen-year",
            f"{result['end_bytes'] / mb:.1f} MiB",
            command,
        ),
        Figure(SECTION, f"{vendor}: peak during the year", f"{result['peak_bytes'] / mb:.1f} MiB", command),
        Figure(
            SECTION,
            f"{vendor}: rows kept (raw plays / daily rows / batches)",
            f"{kept_raw:,} / {daily:,} / {rows['batches']:,}",
            command,
        ),
    ]
    if raw_per_play:
        found.append(
            Figure(
                SECTION,
                f"{vendor}: bytes per raw play / per batch / per daily row (indexes included)",
                f"{raw_per_play:.0f} / {per_batch:.0f} / {per_daily:.0f}",
                command,
            )
        )
    return found


def main(argv: list[str] | None = None) -> int:
    """Run the year on SQLite (and PostgreSQL with ``--postgres``) and print what it takes."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--dwell", type=float, default=10.0, help="seconds per play (default 10)")
    parser.add_argument("--entries", type=int, default=500, help="entries in the playlist (default 500)")
    parser.add_argument("--raw-play-days", type=int, default=30)
    parser.add_argument("--batch-minutes", type=float, default=1.0, help="minutes of plays per batch")
    parser.add_argument("--postgres", action="store_true", help="also on a throwaway PostgreSQL server")
    parser.add_argument("--figures", type=Path, help="write the figures as JSON here")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)
    if arguments.child:
        print(json.dumps(_child(arguments)))
        return 0
    given = list(sys.argv[1:] if argv is None else argv)
    command = figures.command_line("bench.telemetry_disk", given)
    print("\n".join(figures.machine()))
    print(f"command: {command}")
    found = _report(_child(arguments), arguments, command)
    if arguments.postgres:
        child_argv = [arg for arg in given if arg != "--postgres"]
        if "--figures" in child_argv:
            at = child_argv.index("--figures")
            del child_argv[at : at + 2]
        result = _on_postgres(child_argv)
        if isinstance(result, str):
            print(f"\nPostgreSQL: {result}")
            found.append(Figure(SECTION, "PostgreSQL", result, command))
        else:
            found.extend(_report(result, arguments, command))
    figures.write(arguments.figures, found)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
