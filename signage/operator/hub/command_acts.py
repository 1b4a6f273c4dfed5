"""Acts done with the command line on the hub machine land in the hub's audit log too.

``signage publish``, ``revoke`` and ``reinstate`` work without the hub (an operator may have no hub at all),
so they keep writing ``DIR/history.jsonl``. When ``DIR`` has a hub database (``DIR/hub.sqlite3``, or
``DATABASE_URL`` in the environment), the act is also an event in the hash-chained audit log, marked as
done from the command line, so the log a court relies on has every act whichever way it was done. A
command-line publish is also stored as a version the console can roll back to, with its photos copied into
the console's private folder (the served ones are pruned with old versions).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from signage.core.records import DebtorRecord

#: ``details["via"]`` of every event recorded here.
VIA_COMMAND_LINE = "command line"


def has_hub_database(repo_dir: Path) -> bool:
    """Whether ``repo_dir`` is served by a hub whose database this process can reach."""
    return bool(os.environ.get("DATABASE_URL")) or (repo_dir / "hub.sqlite3").exists()


def record_act(
    repo_dir: Path,
    action: str,
    *,
    actor: str,
    at: dt.datetime,
    channel: str,
    version: int | None = None,
    entries: Sequence[Mapping[str, str]] = (),
    reason: str = "",
    details: Mapping[str, Any] | None = None,
) -> bool:
    """Append the act to the hub's audit log when ``repo_dir`` has one; False when it has none."""
    if not has_hub_database(repo_dir):
        return False
    from signage.operator.hub.bootstrap import setup

    setup(repo_dir)
    from signage.operator.hub.audit.models import record

    record(
        action,
        actor=actor,
        at=at,
        channel=channel,
        version=version,
        entries=entries,
        reason=reason,
        details={**(details or {}), "via": VIA_COMMAND_LINE},
    )
    return True


def record_publish(
    repo_dir: Path,
    channel: str,
    version: int,
    records: Sequence[DebtorRecord],
    *,
    actor: str,
    at: dt.datetime,
    source_name: str,
    photos_dir: Path,
) -> bool:
    """Audit a command-line publish and keep it as a version the console can roll back to.

    ``records`` are those the publish signed (``PublishResult.records``, read under the repository lock), so a
    publish racing this one is never stored as this version.
    """
    if not record_act(
        repo_dir,
        "approve",
        actor=actor,
        at=at,
        channel=channel,
        version=version,
        details={"source": source_name, "entries": len(records), "second_person": False},
    ):
        return False
    from signage.operator.hub.console.models import PublishedVersion
    from signage.operator.publish.channel import records_to_json

    kept = repo_dir / "console" / "photos"
    kept.mkdir(parents=True, exist_ok=True)
    for digest in {record.photo.sha256 for record in records if record.photo is not None}:
        if not (kept / digest).exists() and (photos_dir / digest).exists():
            shutil.copyfile(photos_dir / digest, kept / digest)
    PublishedVersion.objects.get_or_create(
        channel=channel,
        version=version,
        defaults={
            "published_at": at,
            "published_by": actor,
            "entry_count": len(records),
            "records": records_to_json(records),
        },
    )
    return True
