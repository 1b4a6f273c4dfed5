"""Publishing in the console: upload a list, follow its import, review its report, diff and thumbnails, and
submit, withdraw, approve or reject it (never one's own: four eyes).

The heavy work is in :mod:`signage.operator.hub.console.publishing`; these views check permissions and states, and say
what happened in the operator's words.
"""

from __future__ import annotations

import logging
import re
import tempfile
from pathlib import Path
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.contrib.auth.views import redirect_to_login
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import FormView, ListView, TemplateView

from signage.operator.hub.audit.models import Action, record
from signage.operator.hub.console import publishing
from signage.operator.hub.console.forms import ReviewForm, UploadForm
from signage.operator.hub.console.jobs import runner
from signage.operator.hub.console.models import Submission
from signage.operator.hub.console.uploads import MAX_PHOTOS_ZIP_BYTES, MAX_SOURCE_BYTES, remove_tree
from signage.operator.hub.context import hub_context

log = logging.getLogger(__name__)

#: Problems listed in the page (the report itself keeps at most 200 in full and counts the rest).
MAX_PROBLEMS_SHOWN = 200
#: Entries of each kind listed in the diff table.
MAX_DIFF_ROWS = 500
_THUMBNAIL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,120}\.png")
_OPEN = (Submission.Status.DRAFT, Submission.Status.SUBMITTED, Submission.Status.PUBLISH_FAILED)
#: What the uploader may withdraw: an open list, or one still importing (a stuck import is not a dead end).
_WITHDRAWABLE = (*_OPEN, Submission.Status.IMPORTING)


class ApprovalForm(ReviewForm):
    """The review form, carrying the live playlist the page's diff was computed against (``version:sha256``)."""

    seen = forms.CharField(required=False, max_length=100, widget=forms.HiddenInput)


class AnyPermissionMixin(PermissionRequiredMixin):
    """Allowed with any one of ``permission_required`` (clerks and reviewers both see submissions)."""

    raise_exception = True

    def has_permission(self) -> bool:
        user = self.request.user
        return any(user.has_perm(name) for name in self.get_permission_required())

    def handle_no_permission(self) -> HttpResponse:
        # Signed out: to the login page, not a 403.
        if not self.request.user.is_authenticated:
            return redirect_to_login(self.request.get_full_path())
        return super().handle_no_permission()


class UploadView(LoginRequiredMixin, AnyPermissionMixin, FormView):
    permission_required = "console.submit_list"
    template_name = "console/upload.html"
    form_class = UploadForm

    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs = super().get_form_kwargs()
        kwargs["channels"] = publishing.known_channels(hub_context().repository())
        return kwargs

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["source_mb"] = MAX_SOURCE_BYTES // (1024 * 1024)
        context["photos_mb"] = MAX_PHOTOS_ZIP_BYTES // (1024 * 1024)
        return context

    def form_valid(self, form: UploadForm) -> HttpResponse:
        context = hub_context()
        now = context.clock()
        source: UploadedFile = form.cleaned_data["source"]
        photos: UploadedFile | None = form.cleaned_data.get("photos")
        name = Path(source.name or "list").name[:255]
        submission = Submission.objects.create(
            channel=form.cleaned_data["channel"],
            source_name=name,
            uploaded_by=self.request.user,
            created_at=now,
            status=Submission.Status.IMPORTING,
        )
        folder = publishing.upload_dir(submission.pk)
        photos_folder: Path | None = None
        try:
            folder.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            folder.mkdir(mode=0o700)
            source_path = _save(source, folder / ("source" + Path(name).suffix.lower()))
            photos_path = None
            if photos:
                photos_folder = Path(tempfile.mkdtemp(prefix=f"{submission.pk}-photos-", dir=folder.parent))
                photos_path = _save(photos, photos_folder / "photos.zip")
        except OSError as error:
            # A full disk or an unwritable folder: nothing of the upload is kept, and the clerk is told.
            log.error("the upload of %s could not be saved: %s", name, error)
            remove_tree(folder)
            if photos_folder is not None:
                remove_tree(photos_folder)
            submission.delete()
            form.add_error(
                None,
                _("上传的文件无法保存（集线器磁盘已满或不可写），什么也没有导入；请联系管理员后重新上传。"),
            )
            return self.form_invalid(form)
        record(
            str(Action.UPLOAD),
            actor=self.request.user.get_username(),
            at=now,
            channel=submission.channel,
            details={"submission": submission.pk, "source": name, "photos": bool(photos)},
        )
        published_on = form.cleaned_data.get("published_on")
        # The job starts once this transaction commits, so the thread sees the submission.
        transaction.on_commit(
            lambda: runner.submit(
                lambda: publishing.run_import(submission.pk, source_path, photos_path, published_on)
            )
        )
        return redirect("console:submission", pk=submission.pk)


def _save(upload: UploadedFile, target: Path) -> Path:
    with target.open("xb") as out:
        target.chmod(0o600)
        for chunk in upload.chunks():
            out.write(chunk)
    return target


class SubmissionListView(LoginRequiredMixin, AnyPermissionMixin, ListView):
    permission_required = ("console.submit_list", "console.review_list")
    template_name = "console/submissions.html"
    paginate_by = 50

    def get_queryset(self) -> Any:
        queryset = Submission.objects.select_related("uploaded_by", "reviewed_by")
        status = self.request.GET.get("status", "")
        if status in Submission.Status.values:
            queryset = queryset.filter(status=status)
        return queryset

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["statuses"] = Submission.Status.choices
        context["status"] = self.request.GET.get("status", "")
        return context


class SubmissionView(LoginRequiredMixin, AnyPermissionMixin, TemplateView):
    permission_required = ("console.submit_list", "console.review_list")
    template_name = "console/submission.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        submission = get_object_or_404(
            Submission.objects.select_related("uploaded_by", "reviewed_by"), pk=kwargs["pk"]
        )
        user = self.request.user
        own = submission.uploaded_by_id == user.pk
        # Shown, never stored: the review form carries what was shown, and approval checks it.
        if submission.status in _OPEN:
            diff = publishing.shown_diff(submission, hub_context().repository())
        else:
            diff = dict(submission.diff or {})
        report = submission.report or {}
        context.update(
            submission=submission,
            own=own,
            report=report,
            problems=report.get("problems", [])[:MAX_PROBLEMS_SHOWN],
            omitted=report.get("omitted", []),
            diff=diff,
            counts=diff.get("counts", {}),
            added=diff.get("added", [])[:MAX_DIFF_ROWS],
            removed=diff.get("removed", [])[:MAX_DIFF_ROWS],
            changed=diff.get("changed", [])[:MAX_DIFF_ROWS],
            stale="stale_from" in diff,
            stale_from=diff.get("stale_from"),
            thumbs=_thumbnails(submission, diff),
            can_submit=own and submission.status == Submission.Status.DRAFT and bool(submission.records),
            can_withdraw=own and submission.status in _WITHDRAWABLE,
            can_review=(
                not own
                and user.has_perm("console.review_list")
                and submission.status in (Submission.Status.SUBMITTED, Submission.Status.PUBLISH_FAILED)
            ),
            review_form=ApprovalForm(initial={"seen": publishing.seen_token(diff)}),
        )
        return context


def _thumbnails(submission: Submission, diff: dict[str, Any]) -> list[dict[str, Any]]:
    names = {item["id"]: item for kind in ("added", "changed") for item in diff.get(kind, [])}
    shown = []
    for entry_id, files in (submission.thumbnails or {}).items():
        item = names.get(entry_id)
        if item is not None:
            shown.append({"name": item["name"], "case_number": item["case_number"], "files": files})
    return shown


class ProgressView(LoginRequiredMixin, AnyPermissionMixin, View):
    """``{"status", "done", "total", "finished"}`` for the submission page's progress bar."""

    permission_required = ("console.submit_list", "console.review_list")

    def get(self, request: HttpRequest, pk: int) -> JsonResponse:
        submission = get_object_or_404(Submission, pk=pk)
        return JsonResponse(
            {
                "status": submission.status,
                "label": str(submission.get_status_display()),
                "done": submission.progress_done,
                "total": submission.progress_total,
                "finished": submission.status != Submission.Status.IMPORTING,
            }
        )


class ThumbnailView(LoginRequiredMixin, AnyPermissionMixin, View):
    """A thumbnail from the console's private folder (never from ``public/``)."""

    permission_required = ("console.submit_list", "console.review_list")

    def get(self, request: HttpRequest, pk: int, name: str) -> FileResponse:
        submission = get_object_or_404(Submission, pk=pk)
        listed = {file for files in (submission.thumbnails or {}).values() for file in files}
        if not _THUMBNAIL_NAME.fullmatch(name) or name not in listed:
            raise Http404
        path = publishing.thumbnails_dir(submission.pk) / name
        if not path.is_file():
            raise Http404
        return FileResponse(path.open("rb"), content_type="image/png")


class _ActView(LoginRequiredMixin, AnyPermissionMixin, View):
    """A POST acting on one submission; answers with a redirect to its page and a message."""

    permission_required: Any = ("console.submit_list", "console.review_list")

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        submission = get_object_or_404(Submission.objects.select_related("uploaded_by"), pk=pk)
        response = self.act(request, submission)
        return response or redirect("console:submission", pk=pk)

    def act(self, request: HttpRequest, submission: Submission) -> HttpResponse | None:
        raise NotImplementedError


def _refuse(request: HttpRequest, submission: Submission, message: str, status: int = 409) -> HttpResponse:
    """The submission page again with ``message``, answered with ``status`` (a refused act, never a 500)."""
    page = reverse("console:submission", args=[submission.pk])
    body = render_to_string(
        "console/submission_refused.html", {"message": message, "page": page}, request=request
    )
    return HttpResponse(body, status=status)


class SubmitView(_ActView):
    permission_required = "console.submit_list"

    def act(self, request: HttpRequest, submission: Submission) -> HttpResponse | None:
        if submission.uploaded_by_id != request.user.pk:
            return _refuse(request, submission, _("只有上传人可以提交自己的名单。"), 403)
        if not submission.records:
            return _refuse(request, submission, _("没有可发布的条目，不能提交；请改正后重新上传。"))
        now = hub_context().clock()
        if not Submission.objects.filter(pk=submission.pk, status=Submission.Status.DRAFT).update(
            status=Submission.Status.SUBMITTED, submitted_at=now
        ):
            return _refuse(request, submission, _("该名单当前状态不能提交。"))
        record(
            str(Action.SUBMIT),
            actor=request.user.get_username(),
            at=now,
            channel=submission.channel,
            details={"submission": submission.pk, "source": submission.source_name},
        )
        messages.success(request, _("已提交审核。须由另一位审核员批准后才会发布。"))
        return None


class WithdrawView(_ActView):
    permission_required = "console.submit_list"

    def act(self, request: HttpRequest, submission: Submission) -> HttpResponse | None:
        if submission.uploaded_by_id != request.user.pk:
            return _refuse(request, submission, _("只有上传人可以撤销自己的名单。"), 403)
        now = hub_context().clock()
        if not Submission.objects.filter(pk=submission.pk, status__in=_WITHDRAWABLE).update(
            status=Submission.Status.WITHDRAWN
        ):
            return _refuse(request, submission, _("该名单当前状态不能撤销。"))
        record(
            str(Action.WITHDRAW),
            actor=request.user.get_username(),
            at=now,
            channel=submission.channel,
            details={"submission": submission.pk, "source": submission.source_name},
        )
        messages.success(request, _("已撤销该名单。"))
        return None


class _ReviewView(_ActView):
    permission_required = "console.review_list"

    def review(self, request: HttpRequest, submission: Submission) -> str | HttpResponse:
        """The comment, or the refusal when this reviewer may not decide on this submission now."""
        if submission.uploaded_by_id == request.user.pk:
            return _refuse(
                request,
                submission,
                _("不能审核自己上传的名单：须由另一位审核员批准（四眼原则）。"),
                403,
            )
        form = ReviewForm(request.POST)
        if not form.is_valid():
            return _refuse(request, submission, _("审核意见不能超过 1000 字。"), 400)
        return str(form.cleaned_data["comment"]).strip()


class ApproveView(_ReviewView):
    def act(self, request: HttpRequest, submission: Submission) -> HttpResponse | None:
        comment = self.review(request, submission)
        if isinstance(comment, HttpResponse):
            return comment
        if submission.status not in (Submission.Status.SUBMITTED, Submission.Status.PUBLISH_FAILED):
            return _refuse(request, submission, _("该名单当前状态不能批准。"))
        seen = publishing.parse_seen(str(ApprovalForm(request.POST).data.get("seen", "")))
        if seen is None:
            # An approval must name the diff it was given on; a form without it was not from this page.
            return _refuse(
                request, submission, _("审核页面已过期：请重新打开该名单，核对差异后再批准。未发布。"), 400
            )
        outcome = publishing.approve(submission, reviewer=request.user, comment=comment, seen=seen)
        if outcome.stale:
            messages.error(request, outcome.error)
        elif outcome.error:
            messages.error(request, _("发布失败：") + outcome.error)
        elif outcome.audit_failed:
            messages.error(
                request,
                _(
                    "已发布为第 %(version)s 版，各屏幕将显示该版本；但审计记录写入失败（数据库故障），"
                    "详情已写入日志，请联系管理员补录。"
                )
                % {"version": outcome.version},
            )
        else:
            messages.success(request, _("已批准并发布为第 %(version)s 版。") % {"version": outcome.version})
        return None


class RejectView(_ReviewView):
    def act(self, request: HttpRequest, submission: Submission) -> HttpResponse | None:
        comment = self.review(request, submission)
        if isinstance(comment, HttpResponse):
            return comment
        if len(comment) < 2:
            return _refuse(request, submission, _("驳回时请填写审核意见，说明需要改正什么。"), 400)
        now = hub_context().clock()
        if not Submission.objects.filter(
            pk=submission.pk, status__in=[Submission.Status.SUBMITTED, Submission.Status.PUBLISH_FAILED]
        ).update(
            status=Submission.Status.REJECTED,
            reviewed_by=request.user,
            reviewed_at=now,
            review_comment=comment,
        ):
            return _refuse(request, submission, _("该名单当前状态不能驳回。"))
        record(
            str(Action.REJECT),
            actor=request.user.get_username(),
            at=now,
            channel=submission.channel,
            reason=comment,
            details={"submission": submission.pk, "source": submission.source_name},
        )
        messages.success(request, _("已驳回，上传人会看到您的意见。"))
        return None
