"""The embedded ``signage hub`` (no nginx in front, as ``make demo`` runs it) under a slowloris, for real.

Before issue 14 waitress took 250 connections and had no header deadline and no per-address limit, so 260
connections trickling a header took the hub offline for everyone. Now each request's headers must be complete
within ``DEFAULT_HEADER_TIMEOUT`` seconds however steadily they trickle, one address may hold
``DEFAULT_PER_ADDRESS_LIMIT`` connections and the hub ``DEFAULT_CONNECTION_LIMIT``.

Here 260 connections from 127.0.0.1 (the issue's case) and 400 from 127.0.0.2 (one address above its limit)
trickle a header byte every two seconds, while a screen on this machine syncs and sends its proof of play and
heartbeat straight to the hub process.
"""

from __future__ import annotations

import time

import requests

from signage.operator.hub.server import DEFAULT_HEADER_TIMEOUT, DEFAULT_PER_ADDRESS_LIMIT
from tests.console.browser import ACCEPTED, Console, console
from tests.helpers import TIMEOUT_SLACK, WAIT_SECONDS, wait_until

from .test_nginx_stack import CHANNEL, TRICKLE_SECONDS, Slowloris, _enough_descriptors, publish

__all__ = ["console"]  # the fixture, imported for pytest

SAME_ADDRESS = 260
OTHER_ADDRESS = 400
REPORT_SECONDS = 2.0


def test_the_embedded_hub_serves_a_screen_while_660_slowloris_connections_trickle(console: Console):
    publish(console)
    token = console.register_screen("bus-0412", "示例 1 路公交 / SAMPLE bus 1", "示例车队")
    screen = console.screen(CHANNEL, "bus-0412")
    port = int(console.url.rsplit(":", 1)[1])
    _enough_descriptors(SAME_ADDRESS + OTHER_ADDRESS + 1024)

    with (
        Slowloris(port, SAME_ADDRESS, TRICKLE_SECONDS) as same,
        Slowloris(port, OTHER_ADDRESS, TRICKLE_SECONDS, source="127.0.0.2") as other,
    ):
        wait_until(
            lambda: same.opened >= SAME_ADDRESS and other.opened >= OTHER_ADDRESS,
            what="every slowloris connection sent its request line",
        )
        # 127.0.0.2 is over its limit: the hub closes the surplus as it accepts them.
        wait_until(
            lambda: other.closed_by_server >= OTHER_ADDRESS - DEFAULT_PER_ADDRESS_LIMIT,
            what="the hub closes 127.0.0.2's connections beyond its limit",
        )
        began = time.monotonic()
        synced = screen.sync()
        synced_in = time.monotonic() - began
        assert synced.returncode == 0, synced.stdout + synced.stderr
        assert sorted(screen.shown_names()) == sorted(debtor.name for debtor in ACCEPTED)
        began = time.monotonic()
        screen.report(console.url, token, plays_each=1)
        reported = time.monotonic() - began
        held = same.opened - same.closed_by_server, other.opened - other.closed_by_server
        wait_until(
            lambda: same.closed_by_server >= SAME_ADDRESS and other.closed_by_server >= OTHER_ADDRESS,
            timeout=DEFAULT_HEADER_TIMEOUT + WAIT_SECONDS,
            interval=0.1,
            what="the hub closes every slowloris at its header deadline",
        )
        lifetimes = sorted(same.lifetimes)
    print(
        f"\nembedded hub: slowloris held {held[0]} + {held[1]} during the sync; sync in {synced_in:.2f} s, "
        f"proof of play and heartbeat in {reported:.3f} s; lifetimes {lifetimes[0]:.1f} to {lifetimes[-1]:.1f} s"
    )
    assert reported < REPORT_SECONDS
    assert held[1] <= DEFAULT_PER_ADDRESS_LIMIT
    # Only the deadline for the whole header closes them, although each sends a byte every 2 s.
    assert lifetimes[0] >= DEFAULT_HEADER_TIMEOUT - TRICKLE_SECONDS
    assert lifetimes[-1] <= DEFAULT_HEADER_TIMEOUT + TIMEOUT_SLACK
    fleet = requests.get(console.url + "/fleet", timeout=WAIT_SECONDS)
    assert fleet.status_code == 200 and "online" in fleet.text
