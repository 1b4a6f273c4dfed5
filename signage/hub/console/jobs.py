"""A small background job runner: one worker thread, jobs run one at a time in the order given.

The console imports an uploaded list in the background so the upload request returns at once and the
submission page can show progress. One import at a time is enough for a court (and keeps memory flat on a
small hub). Each job gets its own database connection, closed when the job ends, so no connection is left
open by a thread Django does not manage.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

from django.db import connections

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
