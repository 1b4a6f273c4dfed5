"""The hash chain of the audit log (pure): how an event is hashed, and how a whole log is verified.

Each event's hash is the SHA-256 of its canonical JSON (sorted keys, UTF-8, no spaces), which includes the
previous event's hash and the event's sequence number. Changing, removing or reordering any event therefore
changes every hash after it; removing the newest events is caught by the head, a separate record of the last
sequence number and hash that is updated in the same transaction as each append.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

#: The "previous hash" of the first event.
GENESIS: Final = "0" * 64


def event_hash(fields: Mapping[str, Any], previous: str) -> str:
    """The hash of an event with ``fields`` (JSON values only) following the event hashed ``previous``."""
    document = {**fields, "previous": previous}
    canonical = json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ChainEvent:
    """One stored event as the verifier sees it."""

    sequence: int
    fields: Mapping[str, Any]
    previous: str
    digest: str


@dataclass(frozen=True)
class Verdict:
    """The result of :func:`verify_chain`: ``ok``, the number of events checked, and the problems found."""

    ok: bool
    events: int
    problems: tuple[str, ...]


def verify_chain(events: Iterable[ChainEvent], *, head_sequence: int, head_digest: str) -> Verdict:
    """Check that ``events`` (in sequence order) form an unbroken chain ending at the head.

    Every problem is listed with the sequence number where it is, in plain words (English; the command
    prints it beside a Chinese summary).
    """
    problems: list[str] = []
    previous = GENESIS
    expected_sequence = 1
    count = 0
    for event in events:
        count += 1
        if event.sequence != expected_sequence:
            problems.append(f"event {expected_sequence} is missing (the next one stored is {event.sequence})")
        if event.previous != previous:
            problems.append(f"event {event.sequence} does not follow the event before it")
        if event_hash(event.fields, event.previous) != event.digest:
            problems.append(f"event {event.sequence} was changed after it was written")
        previous = event.digest
        expected_sequence = event.sequence + 1
    last = expected_sequence - 1
    if last != head_sequence or previous != (head_digest or GENESIS):
        problems.append(
            f"the log ends at event {last}, but the head says {head_sequence}: events were removed from its end"
        )
    return Verdict(not problems, count, tuple(problems))
