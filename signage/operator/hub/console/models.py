"""The console's tables: submissions under review, and every version published through the hub.

Only validated, masked records are kept (the playlist wire format, as screens receive it); the uploaded file
is deleted once imported. Photos of a submission live content-addressed in the console's private folder
(``DIR/console/photos``), so a rollback can publish an older version with its photos.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Submission(models.Model):
    """One uploaded list, from import to publication."""

    class Status(models.TextChoices):
        IMPORTING = "importing", _("正在导入")
        IMPORT_FAILED = "import-failed", _("导入失败")
        DRAFT = "draft", _("待提交")
        SUBMITTED = "submitted", _("待审核")
        REJECTED = "rejected", _("已驳回")
        WITHDRAWN = "withdrawn", _("已撤销")
        PUBLISHING = "publishing", _("正在发布")
        PUBLISHED = "published", _("已发布")
        PUBLISH_FAILED = "publish-failed", _("发布失败")

    channel = models.CharField(_("频道"), max_length=64)
    source_name = models.CharField(_("文件名"), max_length=255)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="submissions",
        verbose_name=_("上传人"),
    )
    created_at = models.DateTimeField(_("上传时间"))
    status = models.CharField(_("状态"), max_length=20, choices=Status.choices, default=Status.IMPORTING)
    #: Rows read so far and in all (None until known), for the progress bar.
    progress_done = models.IntegerField(default=0)
    progress_total = models.IntegerField(null=True, blank=True)
    #: The import report: ``{"summary": {...}, "problems": [{severity, row, serial, field, zh, en, value}]}``.
    report = models.JSONField(default=dict, blank=True)
    #: The records that would be published, in the playlist wire format (masked, validated).
    records = models.JSONField(default=list, blank=True)
    #: The diff against the live list when imported: counts and the added, removed and changed entries.
    diff = models.JSONField(default=dict, blank=True)
    #: Thumbnails: ``{entry_id: [file names in the submission's thumbnail folder]}``.
    thumbnails = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True, default="")
    submitted_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reviews",
        verbose_name=_("审核人"),
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_comment = models.TextField(_("审核意见"), blank=True, default="")
    published_version = models.IntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("提交的名单")
        verbose_name_plural = _("提交的名单")
        permissions = [
            ("submit_list", "Can upload a list and submit it for review"),
            ("review_list", "Can approve or reject another operator's submission"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} · {self.source_name} · {self.get_status_display()}"


class PublishedVersion(models.Model):
    """A playlist version the hub signed: by an approval, or by a rollback (always a new version number)."""

    channel = models.CharField(_("频道"), max_length=64)
    version = models.IntegerField(_("版本"))
    published_at = models.DateTimeField(_("发布时间"))
    published_by = models.CharField(_("发布人"), max_length=150)
    submission = models.ForeignKey(Submission, on_delete=models.SET_NULL, null=True, blank=True)
    #: The version this one restored, for a rollback.
    rollback_of = models.IntegerField(null=True, blank=True)
    entry_count = models.IntegerField(default=0)
    records = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["channel", "-version"]
        constraints = [models.UniqueConstraint(fields=["channel", "version"], name="one_row_per_version")]
        verbose_name = _("已发布版本")
        verbose_name_plural = _("已发布版本")

    def __str__(self) -> str:
        return f"{self.channel} v{self.version}"


class ConsoleRights(models.Model):
    """No rows: it only carries the permissions that belong to no table."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("take_down", "Can take an entry down from every screen"),
            ("reinstate", "Can lift another operator's takedown"),
            ("rollback", "Can re-publish an earlier version"),
            ("view_fleet", "Can see the fleet"),
            ("view_reports", "Can see and download the exposure reports"),
        ]
