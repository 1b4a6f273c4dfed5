"""The screen shapes the fleet has, for the console's thumbnails ("in the screen shapes the fleet has").

Screens report their slide size and layout in every heartbeat (``display``, issue 13); the hub keeps the
latest heartbeat of each registered screen, so the shapes follow the fleet as screens come and go. The
choice (most common first, capped, a default when none reported) is :func:`signage.operator.hub.fleet.screen_sizes`.
"""

from __future__ import annotations

import logging

from signage.operator.hub.fleet import DEFAULT_SCREEN_SIZES, Heartbeat, screen_sizes
from signage.operator.hub.screens import records

log = logging.getLogger(__name__)


def fleet_screen_sizes() -> list[tuple[int, int]]:
    """The distinct (width, height) the registered screens reported, most common first, at most 4;
    ``[(1920, 1080), (1920, 360)]`` when none reported.

    A preview is never refused for want of the fleet's shapes: when the database cannot be read the default
    shapes are returned (and the failure logged).
    """
    try:
        stored = records.latest_heartbeats()
    except records.StoreUnavailable as error:
        log.warning("screen shapes: the telemetry database cannot be read (%s); default shapes", error)
        return list(DEFAULT_SCREEN_SIZES)
    return screen_sizes(Heartbeat.from_document(beat.heartbeat).display for beat in stored)
