"""The audit log's tables: the events, append-only, and the head that seals the end of the chain.

The chain is keyed (:mod:`signage.operator.hub.audit.chain`): the key is ``settings.SIGNAGE_AUDIT_KEY``, read from
``DIR/audit.key`` or the environment, never stored in the database.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NoReturn

from django.conf import settings
from django.db import models, transaction
from django.utils.translation import gettext_lazy as _

from signage.operator.hub.audit.chain import (
    GENESIS,
    ChainEvent,
    Head,
    Verdict,
    event_hash,
    head_seal,
    verify_chain,
)


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
    LOGOUT = "logout", _("退出登录")
    USER_ADDED = "user-added", _("添加用户")
    USER_CHANGED = "user-changed", _("修改用户")
    USER_REMOVED = "user-removed", _("删除用户")
    USER_UNLOCKED = "user-unlocked", _("解锁用户")
    ROLE_CHANGED = "role-changed", _("修改角色或权限")
    SCREEN_CHANGED = "screen-changed", _("修改屏幕")
    SCREEN_ADDED = "screen-added", _("添加屏幕")
    SCREEN_REMOVED = "screen-removed", _("移除屏幕")


class AppendOnly(Exception):
    """Raised on any attempt to change or delete a stored audit event."""


class AppendOnlyQuerySet(models.QuerySet["AuditEvent"]):
    """Bulk changes refused too: ``AuditEvent.objects.filter(...).update(...)`` or ``.delete()`` raise."""

    def update(self, **kwargs: Any) -> NoReturn:
        raise AppendOnly("audit events are never changed")

    def delete(self) -> NoReturn:
        raise AppendOnly("audit events are never deleted")

    def _raw_delete(self, using: Any) -> NoReturn:
        raise AppendOnly("audit events are never deleted")


class AuditHead(models.Model):
    """The one row that records the last event's sequence number and digest, sealed with the audit key."""

    sequence = models.BigIntegerField(default=0)
    digest = models.CharField(max_length=64, default=GENESIS)
    seal = models.CharField(max_length=64, default="")


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

    objects = models.Manager.from_queryset(AppendOnlyQuerySet)()

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
        key = audit_key()
        event.digest = event_hash(event.chain_fields(), head.digest, key)
        event.save()
        head.sequence = event.sequence
        head.digest = event.digest
        head.seal = head_seal(event.sequence, event.digest, key)
        head.save(update_fields=["sequence", "digest", "seal"])
    return event


def audit_key() -> bytes:
    """The chain's key (``settings.SIGNAGE_AUDIT_KEY``)."""
    return str(settings.SIGNAGE_AUDIT_KEY).encode("utf-8")


def _stored_head(key: bytes) -> Head:
    head = AuditHead.objects.filter(pk=1).first()
    if head is None:  # a log nothing was ever written to
        return Head(0, GENESIS, head_seal(0, GENESIS, key))
    return Head(head.sequence, head.digest, head.seal)


def _chain_events(after: int) -> Iterable[ChainEvent]:
    return (
        ChainEvent(event.sequence, event.chain_fields(), event.previous, event.digest)
        for event in AuditEvent.objects.filter(sequence__gt=after)
        .order_by("sequence")
        .iterator(chunk_size=2000)
    )


def verify() -> Verdict:
    """Check the whole stored chain against its head (``signage audit verify``)."""
    key = audit_key()
    return verify_chain(_chain_events(0), head=_stored_head(key), key=key)


#: The last (sequence, digest) a check in this process found intact, for :func:`verify_recent`. Kept in the
#: process, not in the database, so someone with only the database cannot move it forward.
_checkpoint: tuple[int, str] = (0, GENESIS)
_checkpoint_lock = threading.Lock()


def forget_checkpoint() -> None:
    """Make the next :func:`verify_recent` check the whole chain again."""
    global _checkpoint
    with _checkpoint_lock:
        _checkpoint = (0, GENESIS)


def verify_recent() -> Verdict:
    """Check only the events written since the last intact check in this process (the audit page's check).

    The event at the checkpoint must still be there with the same digest and seal; otherwise (or the first
    time) the whole chain is checked. ``Verdict.events`` is the number of events in the log. The full check
    stays :func:`verify`.
    """
    global _checkpoint
    key = audit_key()
    with _checkpoint_lock:
        start = _checkpoint
        if start[0]:
            anchor = AuditEvent.objects.filter(sequence=start[0]).first()
            if (
                anchor is None
                or anchor.digest != start[1]
                or event_hash(anchor.chain_fields(), anchor.previous, key) != start[1]
            ):
                start = (0, GENESIS)
        head = _stored_head(key)
        verdict = verify_chain(_chain_events(start[0]), head=head, key=key, start=start)
        if verdict.ok:
            _checkpoint = (head.sequence, head.digest or GENESIS)
        return Verdict(verdict.ok, start[0] + verdict.events, verdict.problems)
