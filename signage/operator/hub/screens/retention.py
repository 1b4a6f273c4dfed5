"""Bounded proof of play: raw plays are rolled up into daily aggregates, and deleted ``raw_play_days`` later.

:func:`roll_up` counts every raw play of a finished China-local day into
:class:`~signage.operator.hub.screens.models.DailyExposure` (plays and milliseconds per screen, entry and day), which is
kept for good. It is idempotent and transactional: one transaction claims the raw rows (``rollup`` set from 0
to this run's id, a single UPDATE, so a batch committed meanwhile is either claimed whole or left for the next
run), adds exactly the claimed rows to the aggregates, and commits both or neither. Plays arriving late for
a day already rolled up are added by the next run. Reports read the aggregates plus the raw rows not claimed
yet (:func:`signage.operator.hub.screens.records.exposure`), so their totals are the same before and after.

:func:`delete_old` then deletes raw plays that were rolled up and whose day is more than ``raw_play_days``
old, and the batches (idempotency keys) left without plays and received more than that long ago.

The hub runs both after every hourly refresh (:func:`signage.operator.hub.serve.make_hub`); ``signage report --rollup``
runs them by hand.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Sum

from signage.operator.hub.screens import models
from signage.operator.hub.screens.records import _database

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Maintenance:
    """What one roll-up and deletion did.

    Attributes:
        rolled_plays: Raw plays counted into the aggregates.
        aggregates: Aggregate rows created or added to.
        deleted_plays: Raw plays deleted (rolled up and older than the retention).
        deleted_batches: Batch rows deleted (no plays left, received before the retention).
    """

    rolled_plays: int
    aggregates: int
    deleted_plays: int
    deleted_batches: int


def roll_up(today: dt.date) -> tuple[int, int]:
    """Count the raw plays of days before ``today`` (China-local) into the aggregates.

    Returns:
        Raw plays counted and aggregate rows touched; (0, 0) when there was nothing to do.
    """
    run = secrets.randbits(62) + 1
    with _database(), transaction.atomic():
        claimed = models.Play.objects.filter(rollup=0, day__lt=today).update(rollup=run)
        if not claimed:
            return 0, 0
        groups = (
            models.Play.objects.filter(rollup=run)
            .values("day", "screen_id", "entry_id")
            .annotate(count=Count("id"), total=Sum("duration_ms"))
            .order_by()
        )
        touched = 0
        for group in groups.iterator(chunk_size=2000):
            key = {"day": group["day"], "screen_id": group["screen_id"], "entry_id": group["entry_id"]}
            row = models.DailyExposure.objects.select_for_update().filter(**key).first()
            if row is None:
                models.DailyExposure.objects.create(
                    **key, plays=group["count"], milliseconds=int(group["total"] or 0)
                )
            else:
                row.plays += group["count"]
                row.milliseconds += int(group["total"] or 0)
                row.save(update_fields=["plays", "milliseconds"])
            touched += 1
    return claimed, touched


def delete_old(today: dt.date, now: dt.datetime, *, raw_play_days: int) -> tuple[int, int]:
    """Delete rolled-up raw plays older than ``raw_play_days`` days, and batches left without plays.

    Returns:
        Plays and batches deleted.
    """
    cutoff_day = today - dt.timedelta(days=raw_play_days)
    cutoff = now - dt.timedelta(days=raw_play_days)
    with _database(), transaction.atomic():
        plays, _ = models.Play.objects.filter(day__lt=cutoff_day).exclude(rollup=0).delete()
        empty = models.Batch.objects.filter(received_at__lt=cutoff).exclude(
            Exists(models.Play.objects.filter(batch=OuterRef("pk")))
        )
        batches, _ = empty.delete()
    return plays, batches


def maintain(today: dt.date, now: dt.datetime, *, raw_play_days: int) -> Maintenance:
    """:func:`roll_up`, then :func:`delete_old`; each its own transaction, both idempotent."""
    rolled, aggregates = roll_up(today)
    deleted_plays, deleted_batches = delete_old(today, now, raw_play_days=raw_play_days)
    done = Maintenance(rolled, aggregates, deleted_plays, deleted_batches)
    if rolled or deleted_plays or deleted_batches:
        logger.info(
            "telemetry roll-up: %d plays into %d daily rows; deleted %d raw plays and %d batches "
            "older than %d days",
            rolled,
            aggregates,
            deleted_plays,
            deleted_batches,
            raw_play_days,
        )
    return done
