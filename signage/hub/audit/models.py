"""The audit log's tables: the events, append-only, and the head that seals the end of the chain."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.db import models, transaction
from django.utils.translation import gettext_lazy as _

from signage.hub.audit.chain import GENESIS, ChainEvent, Verdict, event_hash, verify_chain


class Action(models.TextChoices):
    """What an operator did."""

    LOGIN = "login", _("登录")
    LOGIN_FAILED = "login-failed", _("登录失败")
    UPLOAD = "upload", _("上传名单")
    SUBMIT = "submit", _("提交审核")
    APPROVE = "approve", _("批准并发布")
    REJECT = "reject", _("驳回")
    WITHDRAW = "withdraw", _("撤销提交")
    PUBLISH_FAILED = "publish-failed", _("发布失败")
    TAKEDOWN = "takedown", _("撤回")
    REINSTATE = "reinstate", _("恢复")
    ROLLBACK = "rollback", _("回滚")
    USER_ADDED = "user-added", _("添加用户")
    SCREEN_ADDED = "screen-added", _("添加屏幕")
    SCREEN_REMOVED = "screen-removed", _("移除屏幕")


class AppendOnly(Exception):
    """Raised on any attempt to change or delete a stored audit event."""


class AuditHead(models.Model):
    """The one row that records the last event's sequence number and hash."""

    sequence = models.BigIntegerField(default=0)
    digest = models.CharField(max_length=64, default=GENESIS)


class AuditEvent(models.Model):
    """One act: who, when, what (channel, version, entries by identity) and why.

    Rows are only ever inserted, through :func:`record`; :meth:`save` on a stored row and :meth:`delete`
    raise :class:`AppendOnly`.
    """

    sequence = models.BigIntegerField(unique=True)
    at = models.DateTimeField(db_index=True)
    actor = models.CharField(max_length=150, db_index=True)
    action = models.CharField(max_length=32, choices=Action.choices, db_index=True)
    channel = models.CharField(max_length=64, blank=True)
    version = models.BigIntegerField(null=True, blank=True)
    #: ``[{"id", "name", "case_number"}]``: the entries concerned, by name and case number.
    entries = models.JSONField(default=list, blank=True)
    #: Searchable text of the entries' names and case numbers (the filter matches it).
    entry_text = models.TextField(blank=True, default="")
    reason = models.TextField(blank=True, default="")
    details = models.JSONField(default=dict, blank=True)
    previous = models.CharField(max_length=64)
    digest = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["-sequence"]
        permissions = [("view_audit", "Can view the audit log")]

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise AppendOnly("audit events are never changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise AppendOnly("audit events are never deleted")

    def chain_fields(self) -> dict[str, Any]:
        """The fields the hash covers, as JSON values."""
        return {
            "sequence": self.sequence,
            "at": self.at.astimezone(dt.UTC).isoformat(),
            "actor": self.actor,
            "action": self.action,
            "channel": self.channel,
            "version": self.version,
            "entries": self.entries,
            "reason": self.reason,
            "details": self.details,
        }


def record(
    action: str,
    *,
    actor: str,
    at: dt.datetime,
    channel: str = "",
    version: int | None = None,
    entries: Sequence[Mapping[str, str]] = (),
    reason: str = "",
    details: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the chain, in a transaction that also moves the head.

    The head row is locked (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's immediate transactions serialise
    writers), so two hub workers appending at once still form one chain.
    """
    listed = [
        {
            "id": str(e.get("id", "")),
            "name": str(e.get("name", "")),
            "case_number": str(e.get("case_number", "")),
        }
        for e in entries
    ]
    with transaction.atomic():
        head, _created = AuditHead.objects.select_for_update().get_or_create(pk=1)
        event = AuditEvent(
            sequence=head.sequence + 1,
            at=at.astimezone(dt.UTC).replace(microsecond=(at.microsecond // 1000) * 1000),
            actor=actor,
            action=action,
            channel=channel,
            version=version,
            entries=listed,
            entry_text=" ".join(f"{e['name']} {e['case_number']}" for e in listed),
            reason=reason,
            details=dict(details or {}),
            previous=head.digest,
        )
        event.digest = event_hash(event.chain_fields(), head.digest)
        event.save()
        head.sequence = event.sequence
        head.digest = event.digest
        head.save(update_fields=["sequence", "digest"])
    return event


def verify() -> Verdict:
    """Check the whole stored chain against its head."""
    head = AuditHead.objects.filter(pk=1).first()
    events: Iterable[ChainEvent] = (
        ChainEvent(event.sequence, event.chain_fields(), event.previous, event.digest)
        for event in AuditEvent.objects.order_by("sequence").iterator(chunk_size=2000)
    )
    return verify_chain(
        events,
        head_sequence=head.sequence if head else 0,
        head_digest=head.digest if head else GENESIS,
    )
