"""The screens app's tables: registered screens (token hashes only), proof-of-play batches and plays, and the
latest heartbeat of every screen.

Idempotency lives in the database: a batch is a row unique on ``(screen_id, batch_id)``, inserted in the same
transaction as its plays, so a retried or concurrently duplicated batch is counted once whatever the timing.
Batches and plays name their screen by id, not by a foreign key: removing a screen forgets its token and
heartbeat, while its plays stay for the exposure reports.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Screen(models.Model):
    """A registered screen: its id, the SHA-256 of its token (never the token), and where it hangs."""

    screen_id = models.CharField(primary_key=True, max_length=64)
    token_hash = models.CharField(max_length=64, unique=True)
    added_at = models.DateTimeField()
    name = models.CharField(max_length=200, blank=True, default="")
    location = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        ordering = ["screen_id"]
        verbose_name = _("屏幕")

    def __str__(self) -> str:
        return self.name or self.screen_id


class Batch(models.Model):
    """One batch of plays as a screen sent it, under its idempotency key."""

    screen_id = models.CharField(max_length=64)
    batch_id = models.CharField(max_length=32)
    received_at = models.DateTimeField()
    #: Plays accepted from this batch (refused ones are not stored, only counted in ``refused``).
    plays = models.IntegerField()
    #: Reason -> plays of this batch the hub refused, answered again for a duplicate.
    refused = models.JSONField(default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["screen_id", "batch_id"], name="batch_once_per_screen")
        ]


class Play(models.Model):
    """One slide shown on one screen; ``day`` is the China Standard Time date exposure is counted for."""

    batch = models.ForeignKey(Batch, on_delete=models.PROTECT, related_name="play_rows")
    screen_id = models.CharField(max_length=64)
    entry_id = models.CharField(max_length=71)
    entry_hash = models.CharField(max_length=64)
    playlist_version = models.BigIntegerField()
    started = models.DateTimeField()
    day = models.DateField()
    duration_ms = models.IntegerField()
    #: 0 while the play is raw; the id of the roll-up that counted it into :class:`DailyExposure` after.
    rollup = models.BigIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["day", "screen_id", "entry_id"], name="plays_by_day"),
            models.Index(fields=["rollup", "day"], name="plays_by_rollup"),
        ]


class DailyExposure(models.Model):
    """Plays of one entry on one screen on one China-local day, rolled up from the raw :class:`Play` rows.

    Kept for good; the raw rows are deleted ``raw_play_days`` after their day (``DIR/hub.toml``). Time on screen
    is kept in milliseconds, as the raw rows have it, so a report is the same before and after a roll-up.
    """

    screen_id = models.CharField(max_length=64)
    entry_id = models.CharField(max_length=71)
    day = models.DateField()
    plays = models.BigIntegerField()
    milliseconds = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "screen_id", "entry_id"], name="one_exposure_per_day")
        ]


class ScreenDay(models.Model):
    """What one screen sent on one China-local day: for its daily quota and the fleet page.

    Attributes:
        plays: Plays received in new batches (accepted and refused), counted against the quota.
        heartbeats: Heartbeats received, counted against the quota.
        refused: Reason -> plays refused (``unknown_version``, ``unknown_entry``, ``before_publication``,
            ``future``).
        over_quota: Requests answered 429 because the day's quota was spent.
    """

    screen_id = models.CharField(max_length=64)
    day = models.DateField()
    plays = models.BigIntegerField(default=0)
    heartbeats = models.BigIntegerField(default=0)
    refused = models.JSONField(default=dict)
    over_quota = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["screen_id", "day"], name="one_row_per_screen_day")]


class Heartbeat(models.Model):
    """The latest heartbeat of one screen, as the ingest validated it, and when the hub received it.

    ``revocations_since`` is when the hub first heard the screen report its current ``revocations_version``:
    the takedown acknowledgement's time (the screen applied it at the latest then).
    """

    screen = models.OneToOneField(
        Screen, on_delete=models.CASCADE, primary_key=True, related_name="heartbeat"
    )
    received_at = models.DateTimeField()
    body = models.JSONField()
    revocations_version = models.BigIntegerField(null=True)
    revocations_since = models.DateTimeField(null=True)
