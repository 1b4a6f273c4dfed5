"""Versions and rollback (``console:versions``): every playlist version the console published, with how
many entries, who and when; a reviewer can roll back to any earlier one.

A rollback re-publishes the old version's records as a NEW version (TUF never lets a version number be
used twice) through :func:`signage.operator.publish.channel.publish_records`, whose revocation guard runs again: an
entry taken down since that version is left out, so a rollback never brings a revoked debtor back. The
operator confirms on a page that says so, with a reason; the act is audited as ROLLBACK.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from signage.core.errors import SignageError
from signage.core.playlist import Playlist
from signage.operator.hub.audit.models import Action, record
from signage.operator.hub.console.models import PublishedVersion
from signage.operator.hub.console.publishing import after_act
from signage.operator.hub.console.views.common import PermittedMixin, entry_of
from signage.operator.hub.context import hub_context
from signage.operator.hub.i18n import list_separator, message_of
from signage.operator.publish.channel import (
    ChannelSettings,
    current_playlist,
    publish_records,
    published_channels,
    records_from_json,
    records_to_json,
)
from signage.operator.publish.ledger import Ledger


class RollbackForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("回滚原因"), min_length=2, max_length=200)


class VersionsView(PermittedMixin, View):
    """The versions of every channel, newest first, the current one marked."""

    permission_required = "console.submit_list"

    def get(self, request: HttpRequest) -> HttpResponse:
        repository = hub_context().repository()
        channels = []
        for channel in published_channels(repository):
            playlist = current_playlist(repository, channel)
            current = playlist.version if playlist else None
            rows = list(PublishedVersion.objects.filter(channel=channel).order_by("-version"))
            channels.append(
                {
                    "channel": channel,
                    "current": current,
                    "current_count": len(playlist.records) if playlist else 0,
                    "current_issued": playlist.issued if playlist else None,
                    # A version published outside the console (signage publish) has no row.
                    "current_unlisted": current is not None and all(row.version != current for row in rows),
                    "rows": rows,
                }
            )
        return render(request, "console/versions.html", {"channels": channels})


class RollbackView(PermittedMixin, View):
    """Confirm (GET) and do (POST) a rollback of ``channel`` to ``version``."""

    permission_required = "console.rollback"

    def get(self, request: HttpRequest, channel: str, version: int) -> HttpResponse:
        row, playlist = self._target(channel, version)
        return self._confirm(request, row, playlist, RollbackForm())

    def post(self, request: HttpRequest, channel: str, version: int) -> HttpResponse:
        row, playlist = self._target(channel, version)
        form = RollbackForm(request.POST)
        if not form.is_valid():
            return self._confirm(request, row, playlist, form, status=400)
        context = hub_context()
        now = context.clock()
        user = request.user.get_username()
        repository = context.repository()
        try:
            records = records_from_json(row.records)
            # The console keeps every approved list's photos there, content-addressed (console.publishing).
            result = publish_records(
                repository,
                channel,
                records,
                photos_from=context.private_dir / "photos",
                now=now,
                settings=_settings_of(playlist),
                by=user,
                source_name=f"rollback to version {version}",
            )
        except SignageError as error:
            form.add_error(None, message_of(error))
            return self._confirm(request, row, playlist, form, status=400)
        # The records this publish signed, read under its lock: never a concurrent publish's.
        kept = result.records
        kept_ids = {r.entry_id for r in kept}
        left_out = [entry_of(r) for r in records if r.entry_id not in kept_ids]
        event = {
            "actor": user,
            "at": now,
            "channel": channel,
            "version": result.version,
            "entries": left_out,
            "reason": form.cleaned_data["reason"],
            "details": {"rollback_of": version, "published": len(kept), "left_out": len(left_out)},
        }

        def write() -> None:
            with transaction.atomic():
                PublishedVersion.objects.create(
                    channel=channel,
                    version=result.version,
                    published_at=now,
                    published_by=user,
                    rollback_of=version,
                    entry_count=len(kept),
                    records=records_to_json(kept),
                )
                record(str(Action.ROLLBACK), **event)

        # The new version is live from here on: a database failure now is reported as exactly that.
        if not after_act(write, str(Action.ROLLBACK), event):
            messages.error(
                request,
                _(
                    "已回滚：第 %(old)d 版的名单已作为第 %(new)d 版发布，各屏幕将显示该版本；"
                    "但审计记录写入失败（数据库故障），详情已写入日志，请联系管理员补录。"
                )
                % {"old": version, "new": result.version},
            )
            return HttpResponseRedirect(reverse("console:versions"))
        text = _("已回滚：第 %(old)d 版的名单已作为第 %(new)d 版重新发布（%(count)d 条）。") % {
            "old": version,
            "new": result.version,
            "count": len(kept),
        }
        if left_out:
            text += " " + _("已撤回的 %(n)d 条没有恢复：%(names)s。") % {
                "n": len(left_out),
                "names": list_separator().join(f"{e['name']} {e['case_number']}" for e in left_out),
            }
        messages.success(request, text)
        return HttpResponseRedirect(reverse("console:versions"))

    def _target(self, channel: str, version: int) -> tuple[PublishedVersion, Playlist]:
        """The stored version to restore, and the channel's current playlist; 404 unless it is an earlier one."""
        row = PublishedVersion.objects.filter(channel=channel, version=version).first()
        playlist = current_playlist(hub_context().repository(), channel) if row is not None else None
        if row is None or playlist is None or version >= playlist.version:
            raise Http404(_("没有可回滚到的这个版本"))
        return row, playlist

    def _confirm(
        self,
        request: HttpRequest,
        row: PublishedVersion,
        playlist: Playlist,
        form: RollbackForm,
        status: int = 200,
    ) -> HttpResponse:
        revoked = Ledger(hub_context().repo_dir / "revoked.json").takedowns(row.channel)
        try:
            records = records_from_json(row.records)
        except SignageError as error:
            form.add_error(None, message_of(error))
            records = ()
        left_out = [entry_of(r) for r in records if r.entry_id in revoked]
        return render(
            request,
            "console/rollback_confirm.html",
            {
                "row": row,
                "current": playlist.version,
                "form": form,
                "left_out": left_out,
                "count": len(records),
            },
            status=status,
        )


def _settings_of(playlist: Playlist) -> ChannelSettings:
    """The channel's settings as the current playlist carries them: a rollback changes only the records."""
    return ChannelSettings(
        qr_hosts=playlist.qr_hosts,
        sample=playlist.sample,
        utc_offset=playlist.utc_offset,
        dayparts=playlist.dayparts,
        notices=playlist.notices,
    )
