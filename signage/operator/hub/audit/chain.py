"""The hash chain of the audit log (pure): how an event is sealed, and how a log is verified.

Each event's digest is the HMAC-SHA256, under the audit key, of its canonical JSON (sorted keys, UTF-8, no
spaces), which includes the previous event's digest and the event's sequence number. Changing, removing or
reordering any event therefore breaks every digest after it, and the key, kept outside the database
(``DIR/audit.key`` or ``SIGNAGE_AUDIT_KEY``), stops someone with only the database from recomputing them.
Removing the newest events is caught by the head, a separate record of the last sequence number and digest,
sealed with the same key and updated in the same transaction as each append.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

#: The "previous digest" of the first event.
GENESIS: Final = "0" * 64


def event_hash(fields: Mapping[str, Any], previous: str, key: bytes) -> str:
    """The digest of an event with ``fields`` (JSON values only) following the event sealed ``previous``."""
    document = {**fields, "previous": previous}
    canonical = json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hmac.new(key, canonical.encode("utf-8"), hashlib.sha256).hexdigest()


def head_seal(sequence: int, digest: str, key: bytes) -> str:
    """The seal of a head saying the log ends at ``sequence`` with ``digest`` (its own domain: never equal to
    an event's digest)."""
    return hmac.new(key, f"audit-head:{sequence}:{digest}".encode("ascii"), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class ChainEvent:
    """One stored event as the verifier sees it."""

    sequence: int
    fields: Mapping[str, Any]
    previous: str
    digest: str


@dataclass(frozen=True)
class Head:
    """The stored head: the last sequence number, its digest, and the seal over both."""

    sequence: int
    digest: str
    seal: str


@dataclass(frozen=True)
class Verdict:
    """The result of :func:`verify_chain`: ``ok``, the number of events checked, and the problems found."""

    ok: bool
    events: int
    problems: tuple[str, ...]


def verify_chain(
    events: Iterable[ChainEvent], *, head: Head, key: bytes, start: tuple[int, str] = (0, GENESIS)
) -> Verdict:
    """Check that ``events`` (in sequence order) form an unbroken chain from ``start`` to the head.

    ``start`` is the sequence number and digest of the event the check begins after (an earlier check
    vouched for everything up to it); ``(0, GENESIS)`` checks the whole log. Every problem is listed with
    the sequence number where it is, in plain words (English; the command prints it beside a Chinese
    summary).
    """
    problems: list[str] = []
    expected_sequence, previous = start[0] + 1, start[1]
    count = 0
    for event in events:
        count += 1
        if event.sequence != expected_sequence:
            problems.append(f"event {expected_sequence} is missing (the next one stored is {event.sequence})")
        if event.previous != previous:
            problems.append(f"event {event.sequence} does not follow the event before it")
        if not hmac.compare_digest(event_hash(event.fields, event.previous, key), event.digest):
            problems.append(f"event {event.sequence} was changed after it was written")
        previous = event.digest
        expected_sequence = event.sequence + 1
    last = expected_sequence - 1
    if last != head.sequence or previous != (head.digest or GENESIS):
        problems.append(
            f"the log ends at event {last}, but the head says {head.sequence}: events were removed from its end"
        )
    elif not hmac.compare_digest(head_seal(head.sequence, head.digest or GENESIS, key), head.seal):
        problems.append(f"the head (event {head.sequence}) was changed: events were removed from its end")
    return Verdict(not problems, count, tuple(problems))
