"""Takedowns (撤回, ``console:takedowns``): find an entry by name or case number, give a reason, and it
leaves every screen at once; no second person is needed, the law wants speed.

The list of takedowns in force shows, per takedown, which screens have applied it and when (from the
fleet snapshot, :func:`signage.operator.hub.console.views.fleet.fleet_snapshot`). Lifting a takedown
(``console:reinstate``) needs ``console.reinstate`` and a person other than the one who took it down.
Both acts go through :mod:`signage.operator.publish.channel` and are recorded in the audit log.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from signage.core.errors import SignageError
from signage.operator.hub.audit.models import Action
from signage.operator.hub.console.publishing import record_act
from signage.operator.hub.console.views.common import PermittedMixin, entry_of, refused
from signage.operator.hub.console.views.fleet import fleet_snapshot, takedowns_by_channel
from signage.operator.hub.context import hub_context
from signage.operator.hub.fleet import Acknowledgement
from signage.operator.hub.i18n import list_separator, message_of
from signage.operator.publish.channel import (
    EntryMatch,
    find_entries,
    published_channels,
    reinstate_entries,
    revoke_entries,
)
from signage.operator.publish.ledger import Ledger


class TakedownForm(forms.Form):
    channel = forms.ChoiceField(label=gettext_lazy("频道"))
    query = forms.CharField(
        label=gettext_lazy("姓名或案号"),
        max_length=100,
        help_text=gettext_lazy("案号的括号全角、半角均可"),
    )
    reason = forms.CharField(label=gettext_lazy("撤回原因"), min_length=2, max_length=200)
    #: Chosen among several matches (the page lists them by name, case number and court).
    entry = forms.CharField(required=False, max_length=100, widget=forms.HiddenInput)

    def __init__(self, *args: Any, channels: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["channel"].choices = [(c, c) for c in channels]
        if len(channels) == 1:
            self.fields["channel"].initial = channels[0]


class ReinstateForm(forms.Form):
    channel = forms.CharField(max_length=64)
    entry = forms.CharField(max_length=100)
    reason = forms.CharField(label=gettext_lazy("恢复原因"), min_length=2, max_length=200)


class TakedownsView(PermittedMixin, View):
    permission_required = "console.take_down"

    def get(self, request: HttpRequest) -> HttpResponse:
        form = TakedownForm(channels=self._channels())
        return self._page(request, form)

    def post(self, request: HttpRequest) -> HttpResponse:
        form = TakedownForm(request.POST, channels=self._channels())
        if not form.is_valid():
            return self._page(request, form, status=400)
        context = hub_context()
        now = context.clock()
        channel = form.cleaned_data["channel"]
        repository = context.repository()
        matches = [
            match
            for match in find_entries(repository, form.cleaned_data["query"], channel=channel, now=now)
            if match.version is not None and match.status != "revoked"
        ]
        chosen = form.cleaned_data["entry"]
        if chosen:
            matches = [match for match in matches if match.entry_id == chosen]
        if not matches:
            form.add_error("query", _("频道 %(channel)s 的当前名单中没有找到它。") % {"channel": channel})
            return self._page(request, form, status=400)
        if len(matches) > 1:
            form.add_error("query", _("找到 %(count)d 条，请选择要撤回的一条。") % {"count": len(matches)})
            return self._page(request, form, matches=matches, status=400)
        user = request.user.get_username()
        try:
            _revocations, records = revoke_entries(
                repository,
                channel,
                [matches[0].entry_id],
                reason=form.cleaned_data["reason"],
                now=now,
                by=user,
            )
        except SignageError as error:
            form.add_error(None, message_of(error))
            return self._page(request, form, status=400)
        names = list_separator().join(f"{r.debtor.name} {r.case_number}" for r in records)
        # The takedown is in force from here on: a database failure now is reported as exactly that.
        if not record_act(
            str(Action.TAKEDOWN),
            actor=user,
            at=now,
            channel=channel,
            entries=[entry_of(r) for r in records],
            reason=form.cleaned_data["reason"],
        ):
            messages.error(
                request, _not_recorded(_("已撤回：%(names)s，各屏幕将在下次同步时移除。") % {"names": names})
            )
            return HttpResponseRedirect(reverse("console:takedowns"))
        messages.success(request, _("已撤回：%(names)s。各屏幕将在下次同步时移除。") % {"names": names})
        return HttpResponseRedirect(reverse("console:takedowns"))

    def _channels(self) -> list[str]:
        return published_channels(hub_context().repository())

    def _page(
        self,
        request: HttpRequest,
        form: TakedownForm,
        *,
        matches: list[EntryMatch] | None = None,
        status: int = 200,
    ) -> HttpResponse:
        now = hub_context().clock()
        snapshot = fleet_snapshot(now)
        rows = []
        for channel, takedowns in sorted(takedowns_by_channel().items()):
            for taken in sorted(takedowns.values(), key=lambda t: t.at, reverse=True):
                screens = [
                    {
                        "name": status.name or status.screen_id,
                        "applied": answer is Acknowledgement.APPLIED,
                        "unknown": answer is Acknowledgement.UNKNOWN,
                        "since": since,
                    }
                    for status, answer, since in snapshot.takedown(taken.entry_id)
                ]
                rows.append(
                    {
                        "channel": channel,
                        "taken": taken,
                        "screens": screens,
                        "applied": sum(1 for s in screens if s["applied"]),
                        "mine": taken.by == request.user.get_username(),
                    }
                )
        return render(
            request,
            "console/takedowns.html",
            {"form": form, "matches": matches or [], "rows": rows, "reinstate_form": ReinstateForm()},
            status=status,
        )


class ReinstateView(PermittedMixin, View):
    """Lift a takedown: a reviewer other than the one who took it down (four eyes)."""

    permission_required = "console.reinstate"
    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        form = ReinstateForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("请填写恢复原因（2 至 200 个字）。"))
            return HttpResponseRedirect(reverse("console:takedowns"))
        context = hub_context()
        channel, entry_id = form.cleaned_data["channel"], form.cleaned_data["entry"]
        taken = Ledger(context.repo_dir / "revoked.json").takedowns(channel).get(entry_id)
        if taken is None:
            messages.error(request, _("该撤回记录已不存在（可能已被恢复）。"))
            return HttpResponseRedirect(reverse("console:takedowns"))
        user = request.user.get_username()
        if taken.by == user:
            return refused(
                request,
                _("%(name)s %(case)s 是您本人撤回的；恢复需要另一位审核员操作。")
                % {"name": taken.name, "case": taken.case_number},
            )
        now = context.clock()
        try:
            removed = reinstate_entries(
                context.repository(),
                channel,
                [entry_id],
                reason=form.cleaned_data["reason"],
                now=now,
                by=user,
            )
        except SignageError as error:
            messages.error(request, message_of(error))
            return HttpResponseRedirect(reverse("console:takedowns"))
        if not record_act(
            str(Action.REINSTATE),
            actor=user,
            at=now,
            channel=channel,
            entries=[entry_of(t) for t in removed],
            reason=form.cleaned_data["reason"],
            details={"taken_down_by": taken.by},
        ):
            done = _("已恢复 %(name)s %(case)s。") % {"name": taken.name, "case": taken.case_number}
            messages.error(request, _not_recorded(done))
            return HttpResponseRedirect(reverse("console:takedowns"))
        messages.success(
            request,
            _("已恢复 %(name)s %(case)s：下次发布的名单可以再次包含该条。")
            % {"name": taken.name, "case": taken.case_number},
        )
        return HttpResponseRedirect(reverse("console:takedowns"))


def _not_recorded(done: str) -> str:
    """``done`` (the act, which is in force) and that its audit record could not be written."""
    return (
        done + " " + _("但审计记录写入失败（数据库故障）：该操作已经生效，详情已写入日志，请联系管理员补录。")
    )
