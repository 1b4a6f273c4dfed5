"""The console's publishing steps, with the same code and messages as ``signage check`` and ``signage publish``.

- :func:`run_import` (a background job): stage the uploaded export with :func:`~signage.operator.publish.channel.stage_list`,
  store its report, its masked records (playlist wire format) and its diff against the live list, render
  thumbnails, and delete the raw upload whatever happened.
- :func:`shown_diff`: the diff a page shows: the stored one, or (when the live list changed since the
  import) one computed afresh for display only; a GET never writes.
- :func:`approve`: sign and publish the stored records with :func:`~signage.operator.publish.channel.publish_records`,
  but only if the live list is still the one the reviewer's diff was computed against (checked under the
  repository lock), keep a :class:`~signage.operator.hub.console.models.PublishedVersion` for rollback, and record
  it in the audit log (:func:`record_act`: an act already done is never reported as not done).

Photos are kept content-addressed in ``hub_context().private_dir / "photos"`` (never served), so an approval
or a later rollback finds them; the raw upload lives only in ``private_dir / "uploads" / <pk>`` until imported.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import DatabaseError, transaction

from signage.core.errors import SignageError
from signage.core.playlist import CHINA_STANDARD_TIME
from signage.core.records import DebtorRecord
from signage.operator.hub.audit.models import Action, record
from signage.operator.hub.console.models import PublishedVersion, Submission
from signage.operator.hub.console.uploads import extract_photos, remove_tree
from signage.operator.hub.context import hub_context
from signage.operator.publish.channel import (
    ChannelSettings,
    LiveChanged,
    current_playlist,
    live_state,
    load_channel_settings,
    publish_records,
    published_channels,
    records_from_json,
    records_to_json,
    stage_list,
)
from signage.operator.publish.diff import DiffItem, ListDiff, diff_lists
from signage.operator.publish.repo import OperatorRepository
from signage.operator.publish.sharded import live_info
from signage.operator.publish.thumbnails import MAX_THUMBNAIL_RECORDS, render_thumbnails
from signage.operator.report import render_json

log = logging.getLogger(__name__)

#: Entries of each kind (added, removed, changed) kept for display; the counts are always complete.
MAX_DIFF_ITEMS = 2_000
#: Entries whose slides are rendered as thumbnails (added first, then changed).
MAX_THUMBNAIL_ENTRIES = MAX_THUMBNAIL_RECORDS
#: Screen shapes rendered when the fleet's are not known: a landscape screen and a bus bar.
THUMBNAIL_TIMEOUT = 120.0
#: Pauses before the audit write of an act already done is tried again (a busy or restarting database).
AUDIT_RETRY_DELAYS = (0.1, 0.5, 1.5)


def fleet_screen_sizes() -> tuple[tuple[int, int], ...]:
    """The screen shapes thumbnails are rendered in: those the registered screens reported in their
    heartbeats (distinct, the most common first, at most four), else 1920×1080 and the 1920×360 bus bar."""
    from signage.operator.hub.screens.shapes import fleet_screen_sizes as reported

    return tuple(reported())


def photos_dir() -> Path:
    """The console's content-addressed photo store."""
    return hub_context().private_dir / "photos"


def upload_dir(pk: int) -> Path:
    """Where a submission's raw upload waits for its import (deleted once imported)."""
    return hub_context().private_dir / "uploads" / str(pk)


def thumbnails_dir(pk: int) -> Path:
    """A submission's rendered thumbnails."""
    return hub_context().private_dir / "thumbnails" / str(pk)


def channel_settings(channel: str) -> ChannelSettings:
    """``DIR/channels/<channel>.toml``, as ``signage publish`` reads it."""
    return load_channel_settings(hub_context().repo_dir / "channels" / f"{channel}.toml")


def known_channels(repository: OperatorRepository) -> list[str]:
    """The repository's published channels and those with a settings file, sorted."""
    toml = {path.stem for path in (repository.directory / "channels").glob("*.toml")}
    return sorted({*published_channels(repository), *toml})


def live_fingerprint(repository: OperatorRepository, channel: str) -> str:
    """The SHA-256 of the channel's live playlist target (``""`` when never published): cheap to compare."""
    info = live_info(repository, channel)
    return "" if info is None else str(info.hashes.get("sha256", ""))


def seen_token(diff: Mapping[str, Any]) -> str:
    """``"<version>:<sha256>"``: the live playlist a diff was computed against, for the review form."""
    return f"{diff.get('live_version') or 0}:{diff.get('fingerprint', '')}"


def parse_seen(token: str) -> tuple[int, str] | None:
    """The ``(version, sha256)`` of :func:`seen_token`, or None when ``token`` is not one."""
    version, colon, digest = token.partition(":")
    if not colon or not version.isdigit() or len(version) > 12:
        return None
    if digest and (len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest)):
        return None
    return int(version), digest


def run_import(pk: int, source: Path, photos_zip: Path | None, published_on: dt.date | None) -> None:
    """Import the uploaded export of submission ``pk`` (a background job); never raises.

    The raw upload folder is deleted at the end whatever happened; only the validated, masked records stay.
    """
    context = hub_context()
    extracted = context.private_dir / "extracting" / str(pk)
    try:
        submission = Submission.objects.get(pk=pk)
        photos: Path | None = None
        if photos_zip is not None:
            extract_photos(photos_zip, extracted)
            photos = extracted

        def progress(done: int, total: int | None) -> None:
            Submission.objects.filter(pk=pk).update(progress_done=done, progress_total=total)

        repository = context.repository()
        staged = stage_list(
            repository,
            submission.channel,
            source,
            photos=photos,
            now=context.clock(),
            settings=channel_settings(submission.channel),
            published_on=published_on,
            progress=progress,
            staging=photos_dir(),
        )
        report = json.loads(render_json(staged.report))
        report["source"] = submission.source_name
        live = current_playlist(repository, submission.channel)
        diff = diff_json(
            diff_lists(() if live is None else live.records, staged.records),
            live_version=None if live is None else live.version,
            fingerprint=live_fingerprint(repository, submission.channel),
        )
        thumbnails = render_submission_thumbnails(
            pk, staged.records, diff, sample=live is not None and live.sample
        )
        # Only an import still under way becomes a draft: a list withdrawn meanwhile stays withdrawn.
        Submission.objects.filter(pk=pk, status=Submission.Status.IMPORTING).update(
            status=Submission.Status.DRAFT,
            report=report,
            records=records_to_json(staged.records),
            diff=diff,
            thumbnails=thumbnails,
            progress_done=staged.report.rows_read,
            progress_total=staged.report.rows_read,
        )
    except SignageError as error:
        _import_failed(pk, f"{error.zh}\n{error.en}")
    except Exception:
        log.exception("import of submission %s failed", pk)
        _import_failed(
            pk,
            "导入时发生内部错误，请联系管理员。\nThe import failed with an internal error; tell the admin.",
        )
    finally:
        remove_tree(extracted)
        remove_tree(source.parent)
        if photos_zip is not None:
            remove_tree(photos_zip.parent)


def _import_failed(pk: int, reason: str) -> None:
    Submission.objects.filter(pk=pk, status=Submission.Status.IMPORTING).update(
        status=Submission.Status.IMPORT_FAILED, error=reason
    )


def diff_json(diff: ListDiff, *, live_version: int | None, fingerprint: str) -> dict[str, Any]:
    """The diff as stored with a submission: counts, the live version it was computed against, the entries."""

    def items(found: Sequence[DiffItem]) -> list[dict[str, Any]]:
        return [
            {
                "id": item.entry_id,
                "name": item.name,
                "case_number": item.case_number,
                "changes": [
                    {"zh": change.zh, "en": change.en, "before": change.before, "after": change.after}
                    for change in item.changes
                ],
            }
            for item in found[:MAX_DIFF_ITEMS]
        ]

    return {
        "counts": diff.counts(),
        "live_version": live_version,
        "fingerprint": fingerprint,
        "added": items(diff.added),
        "removed": items(diff.removed),
        "changed": items(diff.changed),
    }


def render_submission_thumbnails(
    pk: int, records: Sequence[DebtorRecord], diff: Mapping[str, Any], *, sample: bool
) -> dict[str, list[str]]:
    """Render the slides of the added and changed entries (at most :data:`MAX_THUMBNAIL_ENTRIES`).

    The player's renderer runs out of process (the hub never imports PyQt6). Thumbnails are a preview: when
    they cannot be rendered the submission stays usable, and the page says none are available.
    """
    wanted = {item["id"] for item in [*diff["added"], *diff["changed"]]}
    chosen = [record for record in records if record.entry_id in wanted][:MAX_THUMBNAIL_ENTRIES]
    if not chosen:
        return {}
    out = thumbnails_dir(pk)
    remove_tree(out)
    out.mkdir(mode=0o700, parents=True)
    try:
        rendered = render_thumbnails(
            chosen,
            photos_dir=photos_dir(),
            sizes=fleet_screen_sizes(),
            out_dir=out,
            sample=sample,
            timeout=THUMBNAIL_TIMEOUT,
            data_date=(hub_context().clock() + CHINA_STANDARD_TIME).date(),
        )
    except SignageError as error:
        log.warning("thumbnails of submission %s not rendered: %s", pk, error.en)
        return {}
    return {str(entry_id): [Path(path).name for path in paths] for entry_id, paths in rendered.items()}


def is_stale(submission: Submission, repository: OperatorRepository) -> bool:
    """Whether the live list changed since the submission's stored diff was computed."""
    if not submission.diff:
        return False
    return str(submission.diff.get("fingerprint", "")) != live_fingerprint(repository, submission.channel)


def fresh_diff(submission: Submission, repository: OperatorRepository) -> dict[str, Any]:
    """The submission's diff against what is live now (not stored)."""
    live = current_playlist(repository, submission.channel)
    version, digest = live_state(repository, submission.channel)
    diff = diff_json(
        diff_lists(() if live is None else live.records, records_from_json(submission.records)),
        live_version=None if live is None else live.version,
        fingerprint=digest,
    )
    if live is not None and live.version != version:
        # Published between the two reads: compare against a fingerprint that can never match.
        diff["fingerprint"] = ""
    return diff


def shown_diff(submission: Submission, repository: OperatorRepository) -> dict[str, Any]:
    """The diff to show: the stored one, or, when the live list changed since, a fresh one for display only.

    A fresh diff carries ``stale_from`` (the version the stored diff was computed against). Nothing is
    written: the page's review form carries the fingerprint of the diff shown, and approval checks it.
    """
    diff: dict[str, Any] = dict(submission.diff or {})
    if diff and submission.records and is_stale(submission, repository):
        previous = diff.get("live_version")
        diff = fresh_diff(submission, repository)
        diff["stale_from"] = previous
    return diff


def diff_entries(diff: Mapping[str, Any]) -> list[dict[str, str]]:
    """The diff's entries by identity, for the audit log."""
    return [
        {"id": item["id"], "name": item["name"], "case_number": item["case_number"]}
        for kind in ("added", "removed", "changed")
        for item in diff.get(kind, [])
    ]


@dataclass(frozen=True)
class Outcome:
    """What an approval did: the new version, or the reason it failed (both languages).

    ``stale``: refused because the live list is no longer the one the reviewer's diff was computed against.
    ``audit_failed``: published, but the audit log could not be written (logged at ERROR to be re-entered).
    """

    version: int | None = None
    error: str = ""
    stale: bool = False
    audit_failed: bool = False


def record_act(action: str, **event: Any) -> bool:
    """Record an act that is already done (live on the screens) in the audit log; False if it could not be.

    The write is tried again after :data:`AUDIT_RETRY_DELAYS`; if the database still fails, the act is
    logged at ERROR with everything needed to enter it again by hand, and the caller must say that the act
    IS done but not recorded (never that nothing was done).
    """
    return after_act(lambda: record(action, **event), action, event)


def after_act(write: Any, action: str, event: Mapping[str, Any]) -> bool:
    """Run ``write`` (the database writes that follow a done act), retried; False and an ERROR log if it fails."""
    for delay in (*AUDIT_RETRY_DELAYS, None):
        try:
            write()
            return True
        except DatabaseError as error:
            if delay is None:
                log.error(
                    "AUDIT NOT WRITTEN: the act %s is done but could not be recorded (%s); enter it again: %s",
                    action,
                    error,
                    json.dumps(event, ensure_ascii=False, default=str),
                )
                return False
            time.sleep(delay)
    return False


_STALE_ZH = "您看到的差异是对比第 {seen} 版计算的，但在播名单现在是第 {live} 版；未发布。请核对按当前在播版本重新计算的差异后再批准。"
_STALE_EN = (
    "The differences you saw were computed against version {seen}, but version {live} is live now; nothing "
    "was published. Check the differences computed again against what is live, then approve."
)


def approve(submission: Submission, *, reviewer: Any, comment: str, seen: tuple[int, str]) -> Outcome:
    """Sign and publish ``submission``'s records as its channel's next version, if ``seen`` is still live.

    ``seen`` is the live playlist (version, SHA-256) the reviewer's diff was computed against, as the review
    form carried it; it is compared again under the repository lock just before signing, so a reviewer
    never approves against a diff they did not see (another approval in between would silently be undone).
    The caller has checked the permission and four eyes. The submission moves to ``publishing`` first (one
    approval wins when two reviewers click at once), then to ``published`` or ``publish-failed`` with the
    reason, or back when the live list changed; every outcome that did something is in the audit log.
    """
    context = hub_context()
    now = context.clock()
    repository = context.repository()
    before = Submission.objects.values_list("status", flat=True).get(pk=submission.pk)
    claimed = Submission.objects.filter(
        pk=submission.pk, status__in=[Submission.Status.SUBMITTED, Submission.Status.PUBLISH_FAILED]
    ).update(
        status=Submission.Status.PUBLISHING, reviewed_by=reviewer, reviewed_at=now, review_comment=comment
    )
    if not claimed:
        return Outcome(error="该名单已由他人处理。\nThis list was already dealt with by someone else.")
    submission.refresh_from_db()
    actor = reviewer.get_username()
    try:
        # The diff the reviewer approved: against ``seen``, which publish_records checks under its lock.
        diff = fresh_diff(submission, repository)
        result = publish_records(
            repository,
            submission.channel,
            records_from_json(submission.records),
            photos_from=photos_dir(),
            now=now,
            settings=channel_settings(submission.channel),
            by=actor,
            source_name=submission.source_name,
            expect_live=seen,
        )
    except LiveChanged as changed:
        Submission.objects.filter(pk=submission.pk, status=Submission.Status.PUBLISHING).update(status=before)
        message = f"{_STALE_ZH.format(seen=seen[0], live=changed.live[0])}\n{_STALE_EN.format(seen=seen[0], live=changed.live[0])}"
        return Outcome(error=message, stale=True)
    except SignageError as error:
        return _publish_failed(submission, actor, now, f"{error.zh}\n{error.en}")
    except Exception:
        log.exception("publishing submission %s failed", submission.pk)
        return _publish_failed(
            submission,
            actor,
            now,
            "发布时发生内部错误，请联系管理员。\nPublishing failed with an internal error; tell the admin.",
        )
    assert result.version is not None
    event: dict[str, Any] = {
        "actor": actor,
        "at": now,
        "channel": submission.channel,
        "version": result.version,
        "entries": diff_entries(diff),
        "reason": comment,
        "details": {
            "submission": submission.pk,
            "source": submission.source_name,
            "uploaded_by": submission.uploaded_by.get_username(),
            "published": result.published,
            **{f"diff_{key}": value for key, value in diff.get("counts", {}).items()},
        },
    }

    def write() -> None:
        with transaction.atomic():
            PublishedVersion.objects.create(
                channel=submission.channel,
                version=result.version,
                published_at=now,
                published_by=actor,
                submission=submission,
                entry_count=result.published,
                records=records_to_json(result.records),
            )
            Submission.objects.filter(pk=submission.pk).update(
                status=Submission.Status.PUBLISHED, published_version=result.version, error="", diff=diff
            )
            record(str(Action.APPROVE), **event)

    # The version is live whatever happens next: a database failure here is reported as such. The
    # submission then stays "publishing" and recover_interrupted_jobs() reconciles it at the next start.
    recorded = after_act(write, str(Action.APPROVE), event)
    return Outcome(version=result.version, audit_failed=not recorded)


def _publish_failed(submission: Submission, actor: str, now: dt.datetime, reason: str) -> Outcome:
    with transaction.atomic():
        Submission.objects.filter(pk=submission.pk).update(
            status=Submission.Status.PUBLISH_FAILED, error=reason
        )
        record(
            str(Action.PUBLISH_FAILED),
            actor=actor,
            at=now,
            channel=submission.channel,
            reason=reason,
            details={"submission": submission.pk, "source": submission.source_name},
        )
    return Outcome(error=reason)
