"""One screen sync in a child process, to be killed with SIGKILL by ``tests/sync/test_crash.py``.

Usage: ``python crash_worker.py HUB_URL CHANNEL ROOT CACHE_DIR``

The worker imports everything, prints ``ready`` and waits for a line ``go`` on its standard input, so the
killer can start it early and count its delays from the start of ``sync_once()``, not from the
interpreter's start-up. When the sync returns it prints ``done <state> <reason>`` and then waits until its
standard input closes: like a player, it stays alive after a sync, so a kill timed late still lands on a
live process. Nothing in the sync is patched or instrumented; this is the production code path.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import requests

from signage.sync.client import ScreenSync
from signage.sync.config import PlayerConfig
from signage.sync.fetcher import HttpFetcher


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def main(argv: list[str]) -> int:
    """Wait for ``go``, sync once, report, then wait for stdin to close (or for the kill)."""
    hub_url, channel, root, cache_dir = argv
    config = PlayerConfig(
        screen_id="crash-worker",
        hub_url=hub_url,
        channel=channel,
        root=Path(root),
        cache_dir=Path(cache_dir),
    )
    session = requests.Session()
    # A proxy set in the environment must not see requests meant for 127.0.0.1.
    session.trust_env = False
    with session, HttpFetcher(session) as fetcher:
        screen = ScreenSync(config, fetcher=fetcher, clock=_now)
        print("ready", flush=True)
        if sys.stdin.readline() != "go\n":
            return 1  # the test ended before this trial's turn
        result = screen.sync_once()
        print(f"done {result.state} {result.en}", flush=True)
    sys.stdin.read()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
