"""The fleet page (``console:fleet``): every screen with its name and place, when it was last heard from,
the version it applied and the takedowns it has not applied yet; screens that need attention first.

The statuses come from :func:`fleet_snapshot`, the one place that reads the screens' stored heartbeats
(through the screens app's queries) and the repository's current versions; the decisions are
:mod:`signage.hub.fleet`'s pure functions. The takedowns page asks the same snapshot which screens applied
each takedown.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.views.generic import TemplateView

from signage.hub.console.views.common import PermittedMixin
from signage.hub.context import hub_context
from signage.hub.fleet import ChannelState, Presence, ScreenStatus
from signage.publish.ledger import Ledger, Takedown


@dataclass(frozen=True)
class Screen:
    """One screen as the console lists it: its status and what the operator called it."""

    status: ScreenStatus
    name: str
    location: str


@dataclass(frozen=True)
class FleetSnapshot:
    """The fleet at one moment: the screens (sorted: attention first) and what each channel publishes."""

    screens: tuple[Screen, ...]
    channels: Mapping[str, ChannelState]


def fleet_snapshot(now: dt.datetime) -> FleetSnapshot:
    """The screens' statuses from their stored heartbeats, and the channels' current versions."""
    from signage.hub.commands import RepositoryChannels

    channels = RepositoryChannels(hub_context().repo_dir)()
    screens = _stored_screens(now, channels)
    ordered = sorted(screens, key=lambda s: (not s.status.attention(), s.name or s.status.screen_id))
    return FleetSnapshot(tuple(ordered), channels)


def _stored_screens(now: dt.datetime, channels: Mapping[str, ChannelState]) -> list[Screen]:
    """The registered screens from the screens app (``signage.hub.screens.queries``).

    Until the telemetry port stores screens in Django, there are none to show.
    """
    try:
        queries: Any = importlib.import_module("signage.hub.screens.queries")
    except ImportError:
        return []
    return [
        Screen(status, str(name or ""), str(location or ""))
        for status, name, location in queries.fleet_statuses(now=now, channels=channels)
    ]


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
        rows = []
        for screen in snapshot.screens:
            status = screen.status
            channel = status.heartbeat.channel or ""
            known = takedowns.get(channel, {})
            state = snapshot.channels.get(channel)
            rows.append(
                {
                    "screen": screen,
                    "status": status,
                    "channel": channel,
                    "current": state.playlist_version if state else None,
                    "pending": [known[e] for e in status.unacknowledged if e in known],
                    "pending_unknown": len([e for e in status.unacknowledged if e not in known]),
                    "attention": status.attention(),
                    "healthy": not status.attention(),
                    "expired": status.fresh_for is not None and status.fresh_for <= dt.timedelta(0),
                }
            )
        context.update(
            rows=rows,
            now=now,
            online=sum(1 for s in snapshot.screens if s.status.presence is Presence.ONLINE),
            attention=sum(1 for row in rows if not row["healthy"]),
        )
        return context
