"""Where the hub keeps telemetry, through the Django ORM: screens and their token hashes, proof-of-play
batches, the latest heartbeats. It replaces the hand-written SQLite and PostgreSQL stores of before; the
database is Django's (``DATABASE_URL``, SQLite ``DIR/hub.sqlite3`` by default; see :mod:`signage.operator.hub.settings`).

Every call is one short transaction. A batch is recorded once: its row is unique on ``(screen_id, batch_id)``
and inserted in the same transaction as its plays, so a retried or concurrently duplicated batch is counted
once whatever the timing (on PostgreSQL the second insert waits for the first transaction, then fails on the
constraint and reads the first one's count).

Every function may raise :class:`StoreUnavailable` when the database is busy, unreachable or read-only.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hmac
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from django.db import DatabaseError, IntegrityError, OperationalError, transaction
from django.db.models import Count, F, Sum

from signage.core.errors import NetworkError, UsageError
from signage.operator.hub.screens import models
from signage.operator.hub.screens.ingest import Play


class StoreUnavailable(NetworkError):
    """The telemetry database is busy, unreachable or cannot be written; try again later."""


class QuotaExceeded(Exception):
    """The screen has spent its quota of the day; nothing was stored."""


class BatchResult(NamedTuple):
    """What :func:`record_batch` did.

    Attributes:
        accepted: Plays the hub holds for this batch (for a duplicate: from the first time it arrived).
        duplicate: The batch had arrived before; nothing was counted again.
        refused: Reason -> plays of the batch the hub refused (for a duplicate: the first time's).
    """

    accepted: int
    duplicate: bool
    refused: Mapping[str, int] = {}


@dataclass(frozen=True)
class ScreenDayCounts:
    """What one screen sent on one China-local day (:class:`~signage.operator.hub.screens.models.ScreenDay`)."""

    plays: int
    heartbeats: int
    refused: Mapping[str, int]
    over_quota: int

    @property
    def refused_plays(self) -> int:
        """Plays refused, whatever the reason."""
        return sum(self.refused.values())


@dataclass(frozen=True)
class ScreenRecord:
    """A registered screen, with the name and location the operator gave it (empty if none)."""

    screen_id: str
    added_at: dt.datetime
    name: str = ""
    location: str = ""


@dataclass(frozen=True)
class StoredHeartbeat:
    """The latest heartbeat of one screen, as the ingest validated it, and when the hub received it.

    Attributes:
        revocations_since: When the hub first heard this screen report its current revocations version.
    """

    screen_id: str
    received_at: dt.datetime
    heartbeat: Mapping[str, Any]
    revocations_since: dt.datetime | None = None


@dataclass(frozen=True)
class ExposureRow:
    """Exposure (曝光量) of one entry on one screen on one China-local day.

    Attributes:
        entry_id: The entry (``notice:<id>`` and ``standby`` included).
        screen_id: The screen.
        day: The date in China Standard Time.
        plays: How many times it was shown.
        milliseconds: How long it was on screen in total.
    """

    entry_id: str
    screen_id: str
    day: dt.date
    plays: int
    milliseconds: int

    @property
    def seconds(self) -> float:
        """Total time on screen in seconds."""
        return self.milliseconds / 1000


@contextlib.contextmanager
def _database() -> Iterator[None]:
    """Database trouble (locked, unreachable, read-only, timed out) as :class:`StoreUnavailable`."""
    try:
        yield
    except IntegrityError:
        raise
    except (OperationalError, DatabaseError) as error:
        raise StoreUnavailable(
            f"遥测数据库暂时无法使用（忙、无法连接或无法写入）：{error}",
            f"the telemetry database is not available (busy, unreachable or not writable): {error}",
        ) from error


def add_screen(
    screen_id: str,
    token_hash: str,
    *,
    added_at: dt.datetime,
    replace: bool = False,
    name: str = "",
    location: str = "",
) -> None:
    """Register ``screen_id`` with the hash of its token (never the token itself).

    With ``replace``, an existing screen gets the new token (the old one stops working) and keeps its name
    and location unless new ones are given.

    Raises:
        UsageError: the screen exists and ``replace`` is false.
    """
    with _database(), transaction.atomic():
        existing = models.Screen.objects.select_for_update().filter(screen_id=screen_id).first()
        if existing is not None and not replace:
            raise UsageError(
                f"屏幕 {screen_id} 已经登记；如需重新发放令牌（旧令牌随即失效），请加 --replace",
                f"the screen {screen_id} is already registered; add --replace to issue a new token "
                "(the old one stops working)",
            )
        screen = existing or models.Screen(screen_id=screen_id)
        screen.token_hash = token_hash
        screen.added_at = added_at
        screen.name = name or screen.name
        screen.location = location or screen.location
        screen.save()


def remove_screen(screen_id: str) -> bool:
    """Forget a screen's token and heartbeat (its plays stay, for reports); False if unknown."""
    with _database(), transaction.atomic():
        removed, _ = models.Screen.objects.filter(screen_id=screen_id).delete()
    return removed > 0


def screens() -> list[ScreenRecord]:
    """Every registered screen, by id."""
    with _database():
        return [
            ScreenRecord(screen.screen_id, screen.added_at, screen.name, screen.location)
            for screen in models.Screen.objects.order_by("screen_id")
        ]


def check_token(token_hash: str) -> str | None:
    """The screen a token (given by its hash) belongs to, or None.

    The row is found by an index lookup on the hash; comparing again in constant time costs nothing and
    keeps the decision itself free of timing differences.
    """
    with _database():
        row = (
            models.Screen.objects.filter(token_hash=token_hash).values_list("screen_id", "token_hash").first()
        )
    if row is None:
        return None
    screen_id, stored = row
    return str(screen_id) if hmac.compare_digest(str(stored), token_hash) else None


def record_batch(
    screen_id: str,
    batch_id: str,
    plays: Sequence[Play],
    *,
    received_at: dt.datetime,
    refused: Mapping[str, int] | None = None,
    day: dt.date | None = None,
    quota: int | None = None,
) -> BatchResult:
    """Store a batch of plays once: a batch id seen before for this screen counts nothing again.

    Args:
        plays: The plays the hub believes; only these are stored.
        refused: Reason -> plays of the batch refused; counted for the screen's day, not stored.
        day: The China-local day the batch counts against (the quota's and the fleet page's).
        quota: Plays (accepted and refused) the screen may send on ``day``; None for no limit.

    Raises:
        QuotaExceeded: the batch would take the screen past ``quota``; nothing was stored or counted.
    """
    refused = {reason: count for reason, count in (refused or {}).items() if count}
    received = len(plays) + sum(refused.values())
    with _database(), transaction.atomic():
        try:
            with transaction.atomic():
                batch = models.Batch.objects.create(
                    screen_id=screen_id,
                    batch_id=batch_id,
                    received_at=received_at,
                    plays=len(plays),
                    refused=refused,
                )
        except IntegrityError:
            first = models.Batch.objects.get(screen_id=screen_id, batch_id=batch_id)
            return BatchResult(first.plays, True, dict(first.refused or {}))
        if day is not None:
            counts = _screen_day(screen_id, day)
            if quota is not None and counts.plays + received > quota:
                raise QuotaExceeded
            counts.plays += received
            merged = dict(counts.refused or {})
            for reason, count in refused.items():
                merged[reason] = int(merged.get(reason, 0)) + count
            counts.refused = merged
            counts.save()
        models.Play.objects.bulk_create(
            [
                models.Play(
                    batch=batch,
                    screen_id=screen_id,
                    entry_id=play.entry_id,
                    entry_hash=play.entry_hash,
                    playlist_version=play.playlist_version,
                    started=play.started,
                    day=play.day,
                    duration_ms=play.duration_ms,
                )
                for play in plays
            ],
            batch_size=500,
        )
    return BatchResult(len(plays), False, refused)


def _screen_day(screen_id: str, day: dt.date) -> models.ScreenDay:
    """The screen's row of ``day``, locked until the transaction ends (created if missing)."""
    row = models.ScreenDay.objects.select_for_update().filter(screen_id=screen_id, day=day).first()
    if row is not None:
        return row
    try:
        with transaction.atomic():
            return models.ScreenDay.objects.create(screen_id=screen_id, day=day)
    except IntegrityError:
        # Created by a concurrent request in between (PostgreSQL): take that one.
        return models.ScreenDay.objects.select_for_update().get(screen_id=screen_id, day=day)


def count_over_quota(screen_id: str, day: dt.date) -> None:
    """Count one request refused (429) because the screen's quota of ``day`` was spent."""
    with _database(), transaction.atomic():
        row = _screen_day(screen_id, day)
        row.over_quota += 1
        row.save(update_fields=["over_quota"])


def screen_days(day: dt.date) -> dict[str, ScreenDayCounts]:
    """Screen id -> what it sent on ``day`` (screens that sent nothing are missing)."""
    with _database():
        return {
            row.screen_id: ScreenDayCounts(row.plays, row.heartbeats, dict(row.refused or {}), row.over_quota)
            for row in models.ScreenDay.objects.filter(day=day)
        }


def screen_channel(screen_id: str) -> str | None:
    """The channel the screen's latest heartbeat names, or None before its first heartbeat."""
    with _database():
        body = models.Heartbeat.objects.filter(screen_id=screen_id).values_list("body", flat=True).first()
    channel = body.get("channel") if isinstance(body, dict) else None
    return channel if isinstance(channel, str) else None


def record_heartbeat(
    screen_id: str,
    heartbeat: Mapping[str, Any],
    received_at: dt.datetime,
    *,
    day: dt.date | None = None,
    quota: int | None = None,
) -> None:
    """Keep ``heartbeat`` as the screen's latest; note when its revocations version changed.

    Args:
        day: The China-local day the heartbeat counts against (for the quota).
        quota: Heartbeats the screen may send on ``day``; None for no limit.

    Raises:
        QuotaExceeded: the screen has sent ``quota`` heartbeats on ``day`` already; nothing was stored.
    """
    version = heartbeat.get("revocations_version")
    with _database(), transaction.atomic():
        # The screen's row is locked so that a removal cannot slip in between; a heartbeat that raced with
        # the removal of its screen is dropped.
        if not models.Screen.objects.select_for_update().filter(screen_id=screen_id).exists():
            return
        if day is not None:
            counts = _screen_day(screen_id, day)
            if quota is not None and counts.heartbeats >= quota:
                raise QuotaExceeded
            counts.heartbeats += 1
            counts.save(update_fields=["heartbeats"])
        stored = models.Heartbeat.objects.select_for_update().filter(screen_id=screen_id).first()
        if stored is None:
            stored = models.Heartbeat(screen_id=screen_id)
        if stored.revocations_since is None or stored.revocations_version != version:
            stored.revocations_since = received_at
        stored.revocations_version = version
        stored.received_at = received_at
        stored.body = dict(heartbeat)
        stored.save()


def latest_heartbeats() -> list[StoredHeartbeat]:
    """The latest heartbeat of every registered screen that has sent one, by screen id."""
    with _database():
        return [
            StoredHeartbeat(stored.screen_id, stored.received_at, stored.body, stored.revocations_since)
            for stored in models.Heartbeat.objects.order_by("screen_id")
        ]


def exposure(day_from: dt.date, day_to: dt.date) -> list[ExposureRow]:
    """Plays and time per entry, screen and China-local day, ``day_from`` to ``day_to`` inclusive.

    The daily roll-ups (:class:`~signage.operator.hub.screens.models.DailyExposure`) plus the raw plays not rolled up
    yet (today's, and late ones), read in one statement so that a roll-up running meanwhile neither hides
    nor doubles a play. Ordered by day, screen, entry.
    """
    keys = ("day", "screen_id", "entry_id")
    raw = (
        models.Play.objects.filter(rollup=0, day__range=(day_from, day_to))
        .values(*keys)
        .annotate(count=Count("id"), total=Sum("duration_ms"))
        .order_by()
    )
    rolled = (
        models.DailyExposure.objects.filter(day__range=(day_from, day_to))
        .annotate(count=F("plays"), total=F("milliseconds"))
        .values(*keys, "count", "total")
        .order_by()
    )
    totals: dict[tuple[dt.date, str, str], list[int]] = {}
    with _database():
        for row in raw.union(rolled, all=True):
            key = (_as_date(row["day"]), row["screen_id"], row["entry_id"])
            sums = totals.setdefault(key, [0, 0])
            sums[0] += int(row["count"])
            sums[1] += int(row["total"] or 0)
    return [
        ExposureRow(entry_id, screen_id, day, plays, milliseconds)
        for (day, screen_id, entry_id), (plays, milliseconds) in sorted(totals.items())
    ]


def _as_date(value: Any) -> dt.date:
    # SQLite hands a date in a UNION back as text.
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
