"""The fleet page (``console:fleet``): every screen with its name and place, when it was last heard from,
the version it applied, the takedowns it has not applied yet, whether its list goes round within the
loop (with its slide size), which form of its channel it reads (the sharded form, or the single file of
older software; per channel, which screens still read that file), and the plays the hub refused from it today (and its requests over the daily
quota); screens that need attention first.

The statuses come from :func:`fleet_snapshot`, which reads the screens' stored heartbeats through the
screens app (:mod:`signage.operator.hub.screens.queries`) and the repository's current versions; the decisions are
:mod:`signage.operator.hub.fleet`'s pure functions. The takedowns page asks the same snapshot which screens applied
each takedown.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.views.generic import TemplateView

from signage.operator.hub.channels import RepositoryChannels
from signage.operator.hub.console.views.common import PermittedMixin
from signage.operator.hub.context import hub_context
from signage.operator.hub.fleet import (
    LOOP_TARGET_HOURS,
    MOVED_OVER_WITHIN,
    Acknowledgement,
    ChannelState,
    Presence,
    ScreenStatus,
    acknowledgements,
    channel_forms,
)
from signage.operator.hub.screens import queries, records
from signage.operator.hub.screens.ingest import china_day
from signage.operator.hub.screens.provenance import refusal_text
from signage.operator.publish.ledger import Ledger, Takedown


@dataclass(frozen=True)
class FleetSnapshot:
    """The fleet at one moment.

    Attributes:
        screens: Every registered screen's status (with name and location), those needing attention first.
        channels: What each channel publishes now.
        applied_since: Screen id -> when the hub first heard it report its current revocations version.
    """

    screens: tuple[ScreenStatus, ...]
    channels: Mapping[str, ChannelState]
    applied_since: Mapping[str, dt.datetime | None]

    def takedown(self, entry_id: str) -> list[tuple[ScreenStatus, Acknowledgement, dt.datetime | None]]:
        """Which screens have applied the takedown of ``entry_id``, and since when (applied ones only)."""
        return [
            (
                status,
                answer,
                self.applied_since.get(status.screen_id) if answer is Acknowledgement.APPLIED else None,
            )
            for status, answer in acknowledgements(self.screens, self.channels, entry_id)
        ]


def _refused(counts: records.ScreenDayCounts | None) -> tuple[str, str]:
    """The screen's refused plays and 429s of today, in both languages (empty when none)."""
    return ("", "") if counts is None else refusal_text(counts.refused, counts.over_quota)


def fleet_snapshot(now: dt.datetime) -> FleetSnapshot:
    """The screens' statuses from their stored heartbeats, and the channels' current versions.

    One read of the heartbeats serves every takedown on the page (``queries.acknowledgements_for`` reads
    them once per entry).
    """
    channels = RepositoryChannels(hub_context().repo_dir)()
    since = {stored.screen_id: stored.revocations_since for stored in records.latest_heartbeats()}
    return FleetSnapshot(tuple(queries.fleet_statuses(now, channels)), channels, since)


def takedowns_by_channel() -> dict[str, dict[str, Takedown]]:
    """Every takedown in force, by channel and entry id (the repository's ledger)."""
    ledger = Ledger(hub_context().repo_dir / "revoked.json")
    return {channel: ledger.takedowns(channel) for channel in ledger.channels()}


class FleetView(PermittedMixin, TemplateView):
    permission_required = "console.view_fleet"
    template_name = "console/fleet.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        now = hub_context().clock()
        snapshot = fleet_snapshot(now)
        takedowns = takedowns_by_channel()
        days = records.screen_days(china_day(now))
        rows = []
        for status in snapshot.screens:
            channel = status.heartbeat.channel or ""
            known = takedowns.get(channel, {})
            state = snapshot.channels.get(channel)
            rows.append(
                {
                    "status": status,
                    "channel": channel,
                    "current": state.playlist_version if state else None,
                    "pending": [known[e] for e in status.unacknowledged if e in known],
                    "pending_unknown": len([e for e in status.unacknowledged if e not in known]),
                    "attention": status.attention(),
                    "healthy": not status.attention(),
                    "expired": status.fresh_for is not None and status.fresh_for <= dt.timedelta(0),
                    "uncovered": status.coverage is not None and not status.coverage.covered,
                    "loop_target": LOOP_TARGET_HOURS,
                    "refused": _refused(days.get(status.screen_id)),
                }
            )
        context.update(
            rows=rows,
            # Per channel, the screens heard from lately that still read the single file (issue 15).
            forms=channel_forms(snapshot.screens, now=now),
            moved_over_days=MOVED_OVER_WITHIN.days,
            now=now,
            online=sum(1 for s in snapshot.screens if s.presence is Presence.ONLINE),
            attention=sum(1 for row in rows if not row["healthy"]),
        )
        return context
