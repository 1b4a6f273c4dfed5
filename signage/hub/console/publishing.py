"""The console's publishing steps, with the same code and messages as ``signage check`` and ``signage publish``.

- :func:`run_import` (a background job): stage the uploaded export with :func:`~signage.publish.channel.stage_list`,
  store its report, its masked records (playlist wire format) and its diff against the live list, render
  thumbnails, and delete the raw upload whatever happened.
- :func:`refresh_diff`: recompute the diff when the live list changed since the import (stale submission).
- :func:`approve`: sign and publish the stored records with :func:`~signage.publish.channel.publish_records`,
  keep a :class:`~signage.hub.console.models.PublishedVersion` for rollback, and record it in the audit log.

Photos are kept content-addressed in ``hub_context().private_dir / "photos"`` (never served), so an approval
or a later rollback finds them; the raw upload lives only in ``private_dir / "uploads" / <pk>`` until imported.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import transaction

from signage.errors import SignageError
from signage.hub.audit.models import Action, record
from signage.hub.console.models import PublishedVersion, Submission
from signage.hub.console.uploads import extract_photos, remove_tree
from signage.hub.context import hub_context
from signage.playlist import CHINA_STANDARD_TIME
from signage.publish.channel import (
    ChannelSettings,
    current_playlist,
    load_channel_settings,
    publish_records,
    published_channels,
    records_from_json,
    records_to_json,
    stage_list,
)
from signage.publish.diff import DiffItem, ListDiff, diff_lists
from signage.publish.repo import OperatorRepository, playlist_path
from signage.publish.thumbnails import MAX_THUMBNAIL_RECORDS, render_thumbnails
from signage.records import DebtorRecord
from signage.report import render_json

log = logging.getLogger(__name__)

#: Entries of each kind (added, removed, changed) kept for display; the counts are always complete.
MAX_DIFF_ITEMS = 2_000
#: Entries whose slides are rendered as thumbnails (added first, then changed).
MAX_THUMBNAIL_ENTRIES = MAX_THUMBNAIL_RECORDS
#: Screen shapes rendered when the fleet's are not known: a landscape screen and a bus bar.
DEFAULT_SCREEN_SIZES: tuple[tuple[int, int], ...] = ((1920, 1080), (1920, 360))
THUMBNAIL_TIMEOUT = 120.0


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
    info = repository.targets().signed.targets.get(playlist_path(channel))
    return "" if info is None else str(info.hashes.get("sha256", ""))


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
        Submission.objects.filter(pk=pk).update(
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
    Submission.objects.filter(pk=pk).update(status=Submission.Status.IMPORT_FAILED, error=reason)


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
            sizes=DEFAULT_SCREEN_SIZES,
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
    """Whether the live list changed since the submission's diff was computed."""
    if not submission.diff:
        return False
    return str(submission.diff.get("fingerprint", "")) != live_fingerprint(repository, submission.channel)


def refresh_diff(submission: Submission, repository: OperatorRepository) -> None:
    """Recompute the diff against what is live now, remembering the version it was computed against before."""
    previous = submission.diff.get("live_version")
    live = current_playlist(repository, submission.channel)
    diff = diff_json(
        diff_lists(() if live is None else live.records, records_from_json(submission.records)),
        live_version=None if live is None else live.version,
        fingerprint=live_fingerprint(repository, submission.channel),
    )
    diff["stale_from"] = previous
    submission.diff = diff
    submission.save(update_fields=["diff"])


def diff_entries(diff: Mapping[str, Any]) -> list[dict[str, str]]:
    """The diff's entries by identity, for the audit log."""
    return [
        {"id": item["id"], "name": item["name"], "case_number": item["case_number"]}
        for kind in ("added", "removed", "changed")
        for item in diff.get(kind, [])
    ]


@dataclass(frozen=True)
class Outcome:
    """What an approval did: the new version, or the reason it failed (both languages)."""

    version: int | None = None
    error: str = ""


def approve(submission: Submission, *, reviewer: Any, comment: str) -> Outcome:
    """Sign and publish ``submission``'s records as its channel's next version.

    The caller has checked the permission, four eyes and staleness. The submission moves to ``publishing``
    first (one approval wins when two reviewers click at once), then to ``published`` or
    ``publish-failed`` with the reason; every outcome is in the audit log.
    """
    context = hub_context()
    now = context.clock()
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
        repository = context.repository()
        result = publish_records(
            repository,
            submission.channel,
            records_from_json(submission.records),
            photos_from=photos_dir(),
            now=now,
            settings=channel_settings(submission.channel),
            by=actor,
            source_name=submission.source_name,
        )
        live = current_playlist(repository, submission.channel)
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
    assert result.version is not None and live is not None
    with transaction.atomic():
        PublishedVersion.objects.create(
            channel=submission.channel,
            version=result.version,
            published_at=now,
            published_by=actor,
            submission=submission,
            entry_count=result.published,
            records=records_to_json(live.records) if live.version == result.version else submission.records,
        )
        submission.status = Submission.Status.PUBLISHED
        submission.published_version = result.version
        submission.error = ""
        submission.save(update_fields=["status", "published_version", "error"])
        record(
            str(Action.APPROVE),
            actor=actor,
            at=now,
            channel=submission.channel,
            version=result.version,
            entries=diff_entries(submission.diff),
            reason=comment,
            details={
                "submission": submission.pk,
                "source": submission.source_name,
                "uploaded_by": submission.uploaded_by.get_username(),
                "published": result.published,
                **{f"diff_{key}": value for key, value in submission.diff.get("counts", {}).items()},
            },
        )
    return Outcome(version=result.version)


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
