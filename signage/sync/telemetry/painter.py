"""What the painter knows, handed to the sync service through one small file in the cache folder.

The painter (``signage play``) never opens a network connection, so the heartbeat is sent by the sync
service (``signage sync``), which cannot see the screen. Every few seconds, and at once when the set on
screen changes, the painter writes :data:`PAINTER_STATE_FILE` (temp file, fsync, rename, on a worker
thread); the service reads it at each heartbeat. A file older than the staleness bound means the painter
is not running or its GUI thread is stuck, and the heartbeat says so instead of repeating old news.

Pure Python, no Qt: the painter builds the document, the service parses it, and both sides are tested here.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

#: In the cache folder, beside ``current.json``.
PAINTER_STATE_FILE = "painter-state.json"
_FORMAT = 1
_MAX_BYTES = 16 * 1024


@dataclass(frozen=True)
class PainterState:
    """The painter's view at one moment.

    Attributes:
        written_at: When the painter wrote it (aware UTC).
        pid: The painter's process id.
        started_at: When the painter started (its uptime is reported from this).
        playlist_version: The playlist version the painter applied, or ``None``.
        revocations_version: The revocations version it applied: the takedown acknowledgement.
        verified_until: The freshness bound of the set it plays.
        on_screen: The entry on screen (entry id, ``notice:<id>``, ``standby``) or ``None``.
        last_paint: When a slide last went on screen, or ``None`` before the first.
        rss_bytes: The painter's resident memory.
        coverage: ``PagePlan.to_json()`` of the rotation, or ``None``.
        display: ``Display.to_json()`` (slide size and layout), or ``None``.
    """

    written_at: dt.datetime
    pid: int
    started_at: dt.datetime
    playlist_version: int | None = None
    revocations_version: int | None = None
    verified_until: dt.datetime | None = None
    on_screen: str | None = None
    last_paint: dt.datetime | None = None
    rss_bytes: int | None = None
    coverage: dict[str, Any] | None = None
    display: dict[str, Any] | None = None

    def encode(self) -> bytes:
        """The file's bytes."""
        document: dict[str, Any] = asdict(self)
        document["format"] = _FORMAT
        for key in ("written_at", "started_at", "verified_until", "last_paint"):
            value = document[key]
            document[key] = None if value is None else value.isoformat()
        return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()

    def age(self, now: dt.datetime) -> dt.timedelta:
        """How old the state is at ``now`` (never negative: a clock step back is not a future state)."""
        return max(dt.timedelta(0), now - self.written_at)


def decode_painter_state(data: bytes) -> PainterState | None:
    """The state in ``data``, or ``None`` when it is not a painter state file (damaged, too large, other format)."""
    if len(data) > _MAX_BYTES:
        return None
    try:
        document = json.loads(data)
        if document.get("format") != _FORMAT:
            return None

        def moment(key: str) -> dt.datetime | None:
            value = document.get(key)
            if value is None:
                return None
            parsed = dt.datetime.fromisoformat(str(value))
            if parsed.tzinfo is None:
                raise ValueError("naive time")
            return parsed

        def optional_int(key: str) -> int | None:
            value = document.get(key)
            return None if value is None else int(value)

        def optional_dict(key: str) -> dict[str, Any] | None:
            value = document.get(key)
            return value if isinstance(value, dict) else None

        written, started = moment("written_at"), moment("started_at")
        if written is None or started is None:
            return None
        on_screen = document.get("on_screen")
        return PainterState(
            written_at=written,
            pid=int(document["pid"]),
            started_at=started,
            playlist_version=optional_int("playlist_version"),
            revocations_version=optional_int("revocations_version"),
            verified_until=moment("verified_until"),
            on_screen=None if on_screen is None else str(on_screen),
            last_paint=moment("last_paint"),
            rss_bytes=optional_int("rss_bytes"),
            coverage=optional_dict("coverage"),
            display=optional_dict("display"),
        )
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


def read_painter_state(cache_dir: Path) -> PainterState | None:
    """The painter's last state file in ``cache_dir``, or ``None`` when there is none usable."""
    try:
        with (cache_dir / PAINTER_STATE_FILE).open("rb") as handle:
            data = handle.read(_MAX_BYTES + 1)
    except OSError:
        return None
    return decode_painter_state(data)


def stale_after(write_every: dt.timedelta) -> dt.timedelta:
    """When a painter state counts as stale: three missed writes, and never under 30 s (a slow SD card)."""
    return max(dt.timedelta(seconds=30), write_every * 3)
