"""The screen processes' log (the painter and the sync service): INFO and above to stderr, for journald.

Shared by ``signage play`` and ``signage sync`` and free of Qt and python-tuf, so that each process loads
only what it needs. What remains in the log is what an installer needs: the start, sync results, takedowns
applied, errors.
"""

from __future__ import annotations

import logging
from typing import TextIO

#: Libraries whose INFO lines are routine, not news for an installer (urllib3 logs every new connection of
#: the sync service). Their warnings and errors still pass.
QUIET_LOGGERS = ("apscheduler", "urllib3")
LOG_FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"


def configure_logging(stream: TextIO) -> logging.Handler:
    """INFO and above to ``stream`` (journald under systemd), routine library lines off.

    Returns the handler added to the root logger.
    """
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    return handler
