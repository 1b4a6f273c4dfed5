"""A small background job runner: one worker thread, jobs run one at a time in the order given.

The console imports an uploaded list in the background so the upload request returns at once and the
submission page can show progress. One import at a time is enough for a court (and keeps memory flat on a
small hub). Each job gets its own database connection, closed when the job ends, so no connection is left
open by a thread Django does not manage.

Jobs live in memory: a hub stopped in the middle of one leaves its traces behind.
:func:`recover_interrupted_jobs`, run once when the hub starts (before it serves), clears them up.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from django.db import connections, transaction

log = logging.getLogger(__name__)

Job = Callable[[], None]


class JobRunner:
    """Runs jobs on one daemon thread, started on the first :meth:`submit`."""

    def __init__(self) -> None:
        self._jobs: queue.Queue[Job] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def submit(self, job: Job) -> None:
        """Queue ``job``; it runs after the jobs queued before it."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._work, name="console-jobs", daemon=True)
                self._thread.start()
        self._jobs.put(job)

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                job()
            except Exception:
                # A job records its own failure where the operator sees it; this is the last guard.
                log.exception("console job failed")
            finally:
                connections.close_all()
                self._jobs.task_done()

    def join(self) -> None:
        """Wait until every queued job has run (for an orderly stop)."""
        self._jobs.join()


#: The hub's runner.
runner = JobRunner()


#: Why an import stopped when the hub restarted (the submission's error, both languages).
IMPORT_INTERRUPTED = "集线器重启，导入中断，请重新上传。\nThe hub restarted during the import; upload again."
#: Why a publish stopped when the hub restarted and its version is not the live one.
PUBLISH_INTERRUPTED = (
    "集线器重启，发布中断，未发布；请重新批准。\nThe hub restarted while publishing; nothing was published. "
    "Approve again."
)


def recover_interrupted_jobs() -> dict[str, int]:
    """Clear up what jobs cut off by a hub stop left behind; call once at hub start, before serving.

    - Raw uploads (``private/uploads/*``, unmasked ID numbers) and half-extracted photos
      (``private/extracting/*``) are deleted: no job will ever finish them.
    - Submissions still ``importing`` become ``import-failed``, saying to upload again.
    - Submissions still ``publishing`` are reconciled with the repository: when the channel's live playlist
      is the one that approval signed (issued at the approval's moment, with no version row yet, holding
      only the submission's entries), the submission becomes ``published`` with its
      :class:`~signage.operator.hub.console.models.PublishedVersion` row and its audit event; otherwise
      ``publish-failed``, audited, so it can be approved again.

    Returns the counts: ``{"uploads_deleted", "imports_failed", "published", "publishes_failed"}``.
    """
    from signage.operator.hub.console.models import Submission
    from signage.operator.hub.console.uploads import remove_tree
    from signage.operator.hub.context import hub_context

    context = hub_context()
    deleted = 0
    for folder in ("uploads", "extracting"):
        for child in sorted((context.private_dir / folder).glob("*")):
            if child.is_dir():
                remove_tree(child)
            else:
                child.unlink(missing_ok=True)
            deleted += 1
    imports = Submission.objects.filter(status=Submission.Status.IMPORTING).update(
        status=Submission.Status.IMPORT_FAILED, error=IMPORT_INTERRUPTED
    )
    counts = {"uploads_deleted": deleted, "imports_failed": imports, "published": 0, "publishes_failed": 0}
    interrupted = list(
        Submission.objects.filter(status=Submission.Status.PUBLISHING).select_related(
            "uploaded_by", "reviewed_by"
        )
    )
    # The repository is opened only when there is a publish to settle: a hub serving a repository it
    # cannot open still starts, serves what it can and says why in the pages that need the repository.
    repository = context.repository() if interrupted else None
    for submission in interrupted:
        if _reconcile(submission, repository, context.clock()):
            counts["published"] += 1
        else:
            counts["publishes_failed"] += 1
    if any(counts.values()):
        log.warning("recovered from an interrupted hub: %s", counts)
    return counts


def _reconcile(submission: Any, repository: Any, now: dt.datetime) -> bool:
    """Mark an interrupted publish published (True) if its version is live, else publish-failed (False)."""
    from signage.operator.hub.audit.models import Action, record
    from signage.operator.hub.console.models import PublishedVersion, Submission
    from signage.operator.hub.console.publishing import diff_entries
    from signage.operator.publish.channel import current_playlist, records_to_json

    reviewed_at: dt.datetime | None = submission.reviewed_at
    actor = submission.reviewed_by.get_username() if submission.reviewed_by else ""
    at = reviewed_at or now
    live = current_playlist(repository, submission.channel)
    ids = {str(item.get("id", "")) for item in submission.records or [] if isinstance(item, dict)}
    published = (
        live is not None
        and reviewed_at is not None
        and live.issued == reviewed_at.astimezone(dt.UTC).replace(microsecond=0)
        and {record.entry_id for record in live.records} <= ids
        and not PublishedVersion.objects.filter(channel=submission.channel, version=live.version).exists()
    )
    details = {"submission": submission.pk, "source": submission.source_name, "recovered_at_start": True}
    with transaction.atomic():
        if published:
            assert live is not None
            PublishedVersion.objects.create(
                channel=submission.channel,
                version=live.version,
                published_at=at,
                published_by=actor,
                submission=submission,
                entry_count=len(live.records),
                records=records_to_json(live.records),
            )
            Submission.objects.filter(pk=submission.pk).update(
                status=Submission.Status.PUBLISHED, published_version=live.version, error=""
            )
            record(
                str(Action.APPROVE),
                actor=actor,
                at=at,
                channel=submission.channel,
                version=live.version,
                entries=diff_entries(submission.diff or {}),
                reason=submission.review_comment,
                details={**details, "published": len(live.records)},
            )
        else:
            Submission.objects.filter(pk=submission.pk).update(
                status=Submission.Status.PUBLISH_FAILED, error=PUBLISH_INTERRUPTED
            )
            record(
                str(Action.PUBLISH_FAILED),
                actor=actor,
                at=at,
                channel=submission.channel,
                reason=PUBLISH_INTERRUPTED,
                details=details,
            )
    return published
