"""The operator's own record of takedowns and of who did what: ``DIR/revoked.json`` and ``DIR/history.jsonl``.

``revoked.json`` holds every takedown still in force, per channel, by identity (``signage.core.identity``):
the canonical case number and the debtor's mask-independent identifier, with the name, the reason, the
moment and the operator who took it down. A publish checks every row against it, so a revoked debtor
cannot come back through a re-export, whatever its spelling of the case number, until the operator
reinstates the entry with ``signage reinstate … --reason``.

``history.jsonl`` is append-only: one JSON line per act (publish, revoke, reinstate) with who, when and
what, for the audit. Both files are written atomically or appended with fsync; neither holds a full ID.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from signage.core.errors import ConfigError
from signage.core.fsutil import atomic_write
from signage.core.identity import Identity
from signage.core.playlist import utc_text

LEDGER_FORMAT = "signage.revoked"
LEDGER_VERSION = 2
#: The ledger is the operator's own file; a larger one is not ours.
MAX_LEDGER_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Takedown:
    """One takedown in force.

    Attributes:
        entry_id: The entry id (derived from the identity; for takedowns made before issue 10, the id
            the entry had then).
        case_number: Canonical case number, or ``""`` for a takedown from before identities.
        identifier: Mask-independent identifier, or ``""`` likewise.
        name: The debtor's name as published.
        reason: Why it was taken down.
        at: When (UTC).
        by: Who took it down.
    """

    entry_id: str
    case_number: str
    identifier: str
    name: str
    reason: str
    at: dt.datetime
    by: str

    @property
    def identity(self) -> Identity | None:
        """The identity, or ``None`` for a takedown recorded before identities existed."""
        return Identity(self.case_number, self.identifier) if self.case_number else None


class Ledger:
    """``revoked.json``: takedowns in force, per channel, keyed by entry id."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._data: dict[str, dict[str, Takedown]] = _load(path)

    def takedowns(self, channel: str) -> dict[str, Takedown]:
        """The channel's takedowns in force, by entry id."""
        return dict(self._data.get(channel, {}))

    def channels(self) -> list[str]:
        """Channels with at least one takedown."""
        return sorted(channel for channel, entries in self._data.items() if entries)

    def add(self, channel: str, takedowns: Iterable[Takedown]) -> None:
        """Record takedowns and save."""
        for takedown in takedowns:
            self._data.setdefault(channel, {})[takedown.entry_id] = takedown
        self._save()

    def remove(self, channel: str, entry_ids: Iterable[str]) -> list[Takedown]:
        """Forget takedowns and save; returns those that were in force."""
        removed = [
            taken
            for entry in entry_ids
            if (taken := self._data.get(channel, {}).pop(entry, None)) is not None
        ]
        self._save()
        return removed

    def _save(self) -> None:
        document = {
            "format": LEDGER_FORMAT,
            "format_version": LEDGER_VERSION,
            "channels": {
                channel: {
                    entry_id: {**asdict(taken), "at": utc_text(taken.at)}
                    for entry_id, taken in sorted(entries.items())
                }
                for channel, entries in sorted(self._data.items())
            },
        }
        atomic_write(self._path, json.dumps(document, ensure_ascii=False, indent=1).encode(), mode=0o600)


def _load(path: Path) -> dict[str, dict[str, Takedown]]:
    if not path.exists():
        return {}
    try:
        if path.stat().st_size > MAX_LEDGER_BYTES:
            raise ValueError(f"over {MAX_LEDGER_BYTES} bytes")
        document = json.loads(path.read_text(encoding="utf-8"))
        if document.get("format") == LEDGER_FORMAT:
            return {
                channel: {entry_id: _takedown(entry_id, item) for entry_id, item in entries.items()}
                for channel, entries in document["channels"].items()
            }
        # Before issue 10: {channel: {entry_id: {reason, at}}}, matched by entry id alone.
        return {
            channel: {
                entry_id: Takedown(entry_id, "", "", "", item["reason"], _moment(item["at"]), "")
                for entry_id, item in entries.items()
            }
            for channel, entries in document.items()
        }
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as error:
        # Never guess here: a ledger that cannot be read could let a revoked debtor back on screens.
        raise ConfigError(
            f"撤回记录 {path} 无法读取（{error}）；为防止已撤回的条目重新公布，已停止。请从备份恢复该文件",
            f"the takedown ledger {path} cannot be read ({error}); stopping so that no revoked entry is "
            "published again. Restore the file from a backup",
        ) from None


def _takedown(entry_id: str, item: Mapping[str, str]) -> Takedown:
    return Takedown(
        entry_id=entry_id,
        case_number=str(item["case_number"]),
        identifier=str(item["identifier"]),
        name=str(item["name"]),
        reason=str(item["reason"]),
        at=_moment(item["at"]),
        by=str(item["by"]),
    )


def _moment(text: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def append_history(path: Path, act: str, *, by: str, at: dt.datetime, **details: object) -> None:
    """Append one act to ``history.jsonl`` and fsync it: the audit must survive a power cut."""
    line = json.dumps(
        {"act": act, "at": utc_text(at), "by": by, **details}, ensure_ascii=False, sort_keys=True
    )
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(descriptor, (line + "\n").encode())
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def read_history(path: Path) -> list[dict[str, object]]:
    """Every act recorded, oldest first (a torn last line from a power cut is skipped)."""
    if not path.exists():
        return []
    acts = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            acts.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return acts
