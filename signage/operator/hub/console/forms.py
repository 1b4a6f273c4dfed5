"""The console's forms."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from signage.core.errors import SignageError
from signage.operator.hub.console.uploads import (
    MAX_PHOTOS_ZIP_BYTES,
    MAX_SOURCE_BYTES,
    UploadRefused,
    check_photos_zip,
    sniff_export,
)
from signage.operator.hub.i18n import message_of
from signage.operator.publish.channel import check_channel_id


class LoginForm(AuthenticationForm):
    """Django's login form, with the field labels in the console's words."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("用户名或密码不正确。连续失败 5 次后，该账号将被锁定 15 分钟。"),
        "inactive": _("该账号已停用，请联系管理员。"),
    }


class UploadForm(forms.Form):
    """A court export to import for a channel, with its photos and an optional publication date.

    The channel is typed or picked from the repository's channels (a ``<datalist>``); it is checked as
    ``signage publish --channel`` checks it. The files are checked by name, size and content before anything
    reads them (:mod:`signage.operator.hub.console.uploads`).
    """

    channel = forms.CharField(label=_("频道"), max_length=64)
    source = forms.FileField(
        label=_("法院导出的名单（.xlsx 或 .csv）"),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.csv"}),
    )
    photos = forms.FileField(
        label=_("照片压缩包（.zip，可选）"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".zip"}),
    )
    published_on = forms.DateField(
        label=_("发布日期（可选，用于没有发布日期的行）"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def __init__(self, *args: Any, channels: Sequence[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.channels = list(channels)
        self.fields["channel"].widget.attrs.update({"list": "channel-choices", "autocomplete": "off"})
        if self.channels and not self.is_bound:
            self.initial.setdefault("channel", self.channels[0])

    def clean_channel(self) -> str:
        channel = str(self.cleaned_data["channel"]).strip()
        try:
            return check_channel_id(channel)
        except SignageError as error:
            raise forms.ValidationError(message_of(error)) from None

    def clean_source(self) -> UploadedFile:
        upload: UploadedFile = self.cleaned_data["source"]
        if upload.size is None or upload.size > MAX_SOURCE_BYTES:
            raise forms.ValidationError(_size_message(MAX_SOURCE_BYTES))
        if not upload.size:
            raise forms.ValidationError(_("文件是空的"))
        upload.seek(0)
        head = upload.read(64 * 1024)
        upload.seek(0)
        try:
            sniff_export(upload.name or "", head)
        except UploadRefused as error:
            raise forms.ValidationError(message_of(error)) from None
        return upload

    def clean_photos(self) -> UploadedFile | None:
        upload: UploadedFile | None = self.cleaned_data.get("photos")
        if not upload:
            return None
        if upload.size is None or upload.size > MAX_PHOTOS_ZIP_BYTES:
            raise forms.ValidationError(_size_message(MAX_PHOTOS_ZIP_BYTES))
        if Path(upload.name or "").suffix.lower() != ".zip":
            raise forms.ValidationError(_("照片请压缩为 .zip 后上传"))
        upload.seek(0)
        try:
            check_photos_zip(upload)
        except UploadRefused as error:
            raise forms.ValidationError(message_of(error)) from None
        finally:
            upload.seek(0)
        return upload


def _size_message(limit: int) -> str:
    mb = limit // (1024 * 1024)
    return gettext("文件超过 %(mb)s MB 上限") % {"mb": mb}


class ReviewForm(forms.Form):
    """The reviewer's comment on approval or rejection (required to reject)."""

    comment = forms.CharField(
        label=_("审核意见"), required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 3})
    )
