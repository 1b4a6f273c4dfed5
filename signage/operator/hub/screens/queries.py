"""What the console's fleet, takedown and report pages (and ``signage fleet``/``report``) ask of the screens'
telemetry, through the ORM. The decisions stay in :mod:`signage.operator.hub.fleet` (pure, time passed in); these
functions only read the database and hand them the rows.

Every function may raise :class:`~signage.operator.hub.screens.records.StoreUnavailable`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from signage.operator.hub.fleet import (
    Acknowledgement,
    ChannelState,
    Heartbeat,
    ScreenStatus,
    acknowledgements,
    fleet_status,
)
from signage.operator.hub.screens import records
from signage.operator.hub.screens.records import ExposureRow

__all__ = [
    "ExposureRow",
    "TakedownAcknowledgement",
    "acknowledgements_for",
    "exposure",
    "fleet_statuses",
    "screen_statuses",
]


@dataclass(frozen=True)
class TakedownAcknowledgement:
    """Whether one screen has applied one takedown, and when.

    Attributes:
        status: The screen (name, location, presence, applied versions).
        answer: Applied, not applied, or unknown (the screen's version is older than every document on disk).
        applied_version: The revocations version the screen reported (None if it never did).
        applied_seen_at: When the hub first heard the screen report that version: it applied the takedown at
            the latest then. None unless the answer is applied.
    """

    status: ScreenStatus
    answer: Acknowledgement
    applied_version: int | None
    applied_seen_at: dt.datetime | None


def screen_statuses(now: dt.datetime, channel_states: Mapping[str, ChannelState]) -> list[ScreenStatus]:
    """Every registered screen's status (with its name and location), ordered by screen id."""
    registered = {screen.screen_id: screen for screen in records.screens()}
    latest = {
        stored.screen_id: (stored.received_at, Heartbeat.from_document(stored.heartbeat))
        for stored in records.latest_heartbeats()
        if stored.screen_id in registered
    }
    statuses = fleet_status(latest, screens=registered, now=now, channels=channel_states)
    return [
        dataclasses.replace(
            status, name=registered[status.screen_id].name, location=registered[status.screen_id].location
        )
        for status in statuses
    ]


def fleet_statuses(now: dt.datetime, channel_states: Mapping[str, ChannelState]) -> list[ScreenStatus]:
    """Every registered screen's status, unhealthy first.

    Screens that need attention (takedowns not applied, offline or stale, content expired, a wrong channel,
    clock skew, a read-only disk) come first, those with takedowns not applied before the rest, then offline
    before stale; within each group by screen id.

    Args:
        now: The hub's time (``hub_context().clock()``).
        channel_states: Channel id -> what it publishes now (:class:`signage.operator.hub.channels.RepositoryChannels`).
    """
    presence_rank = {"offline": 0, "stale": 1, "online": 2}
    return sorted(
        screen_statuses(now, channel_states),
        key=lambda status: (
            not status.attention(),
            not status.unacknowledged,
            presence_rank[status.presence.value],
            status.screen_id,
        ),
    )


def exposure(day_from: dt.date, day_to: dt.date) -> list[ExposureRow]:
    """Exposure (曝光量) per entry, screen and China-local day, ``day_from`` to ``day_to`` inclusive.

    Each row has the plays counted and the time on screen (``milliseconds``, ``seconds``); ordered by day,
    screen, entry. Entry ids include ``notice:<id>`` and ``standby``; the console names entries itself.
    """
    return records.exposure(day_from, day_to)


def acknowledgements_for(
    entry_id: str, now: dt.datetime, channel_states: Mapping[str, ChannelState]
) -> list[TakedownAcknowledgement]:
    """Which screens have applied the takedown of ``entry_id``, and when, ordered by screen id.

    Only screens on channels whose current revocations take ``entry_id`` down are listed. A screen's
    acknowledgement is the revocations version its latest heartbeat reports; ``applied_seen_at`` is when the
    hub first heard that version from it (heartbeats come every minute, so it applied the takedown at most
    about a minute before).
    """
    since = {stored.screen_id: stored.revocations_since for stored in records.latest_heartbeats()}
    statuses = screen_statuses(now, channel_states)
    return [
        TakedownAcknowledgement(
            status,
            answer,
            status.heartbeat.revocations_version,
            since.get(status.screen_id) if answer is Acknowledgement.APPLIED else None,
        )
        for status, answer in acknowledgements(statuses, channel_states, entry_id)
    ]
