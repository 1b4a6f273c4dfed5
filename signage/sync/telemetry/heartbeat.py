"""The heartbeat: what a screen reports to the hub every minute, and the few readings it needs.

:func:`build_heartbeat` is pure: the caller passes every value in (the sync result, the entry on screen, the
readings below, the time), so the report can be tested with fixed values. The readings are small functions
over the operating system: :func:`rss_bytes`, :func:`free_disk_bytes`, :func:`filesystem_read_only` and
:func:`clock_offset`. Each returns ``None`` (or ``False``) rather than raising when it cannot tell: a
heartbeat with a missing reading is better than none.

The applied revocation version is the takedown acknowledgement: once a screen reports version *n*, every
takedown up to *n* is off its screen. ``disk_read_only`` reports a filesystem remounted read-only after
errors, which the screen survives (it plays from what it has) but cannot repair.

Two optional parts came with issue 13: ``coverage`` (whether the list goes round within the loop, from the
rotation's page plan) and ``display`` (the slide size and layout, so the console draws thumbnails in the
shapes the fleet has). The hub checks both against the bounds below (:data:`DISPLAY_SIDE_PX` and the rest);
:func:`build_heartbeat` keeps every value inside them, because a heartbeat the hub refuses stays queued and
blocks the ones after it. Hubs before issue 13 keep only the fields they know and ignore these two.

``playlist_layout`` (issue 15) says which published form of the channel the screen's playing set came
from: ``sharded`` (the header and hash shards) or ``single`` (the one ``playlist.json``). Screens before
issue 15 never send it, and they read the single file: the hub counts a heartbeat without it as ``single``,
so the operator knows when the channel's ``legacy_playlist`` can be turned off.
"""

from __future__ import annotations

import datetime as dt
import errno
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from signage.core.pages import LAYOUTS, PagePlan
from signage.core.playlist import utc_text
from signage.sync.config import ID_RE
from signage.sync.telemetry.plays import is_play_entry_id

#: Contract with the hub: a heartbeat body is at most this large.
MAX_HEARTBEAT_BYTES = 16 * 1024
#: The sync message is cut to this many characters (both languages of a SyncResult fit easily).
MAX_MESSAGE_CHARS = 1000
MAX_STATE_CHARS = 32
#: Contract with the hub: the bounds of ``display`` and ``coverage`` (the hub refuses values outside).
DISPLAY_SIDE_PX = (64, 8192)
MAX_ENTRIES_PER_PAGE = 1000
MAX_CAPACITY = 1000
#: A longer loop is reported as this many hours: still far beyond any target, so still "not covered".
MAX_LOOP_HOURS = 10_000.0
#: Contract with the hub: the values of ``playlist_layout`` (``signage.sync.cache.CacheState.layout``).
PLAYLIST_LAYOUTS = ("single", "sharded")


@dataclass(frozen=True)
class Display:
    """The player's slide size in pixels and its layout (one of :data:`signage.core.pages.LAYOUTS`)."""

    width: int
    height: int
    layout: str

    def to_json(self) -> dict[str, object]:
        """The ``display`` part of the heartbeat."""
        return {"width": self.width, "height": self.height, "layout": self.layout}


@dataclass(frozen=True)
class Heartbeat:
    """One heartbeat, as the hub's contract names its fields; build it with :func:`build_heartbeat`.

    Attributes:
        screen_id: The screen.
        channel: The channel it shows.
        playlist_version: The playlist version applied, or ``None`` before the first.
        revocations_version: The revocations version applied (the takedown acknowledgement), or ``None``.
        verified_until: The freshness bound of the verified set (UTC), or ``None``.
        last_sync_state: How the last sync ended (a ``SyncState`` value such as ``updated``), or ``none``.
        last_sync_message: What it said, Chinese and English.
        uptime_s: Seconds since the player started.
        rss_bytes: The player's resident memory, or ``None`` when unknown.
        free_disk_bytes: Free bytes on the cache's filesystem, or ``None`` when unknown.
        disk_read_only: Whether that filesystem is read-only (remounted after errors).
        clock_offset_s: Local clock minus the hub's, in seconds; ``None`` until first measured.
        on_screen: The entry on screen (entry id, ``notice:<id>`` or ``standby``), or ``None``.
        sent_at: When the screen took these readings (UTC); a heartbeat queued while the hub was down keeps
            its original time.
        coverage: The page plan of the current list (``signage.core.pages.PagePlan.to_json``:
            ``entries_per_page`` int, ``loop_hours`` number or null, ``covered`` bool, ``capacity`` int), or
            ``None`` before the first list; ``covered`` false means not everyone is shown every day.
        display: The slide size and layout (:meth:`Display.to_json`), or ``None`` when unknown.
        playlist_layout: The form the playing set was read in (one of :data:`PLAYLIST_LAYOUTS`), or ``None``
            before the first set.
    """

    screen_id: str
    channel: str
    playlist_version: int | None
    revocations_version: int | None
    verified_until: dt.datetime | None
    last_sync_state: str
    last_sync_message: str
    uptime_s: float
    rss_bytes: int | None
    free_disk_bytes: int | None
    disk_read_only: bool
    clock_offset_s: float | None
    on_screen: str | None
    sent_at: dt.datetime
    coverage: dict[str, object] | None = None
    display: dict[str, object] | None = None
    playlist_layout: str | None = None

    def to_json(self) -> dict[str, object]:
        """The heartbeat as the contract spells it, times as ``2026-11-26T08:00:00Z``."""
        document: dict[str, object] = {
            "screen_id": self.screen_id,
            "channel": self.channel,
            "playlist_version": self.playlist_version,
            "revocations_version": self.revocations_version,
            "verified_until": None if self.verified_until is None else _utc_text(self.verified_until),
            "last_sync": {"state": self.last_sync_state, "message": self.last_sync_message},
            "uptime_s": self.uptime_s,
            "rss_bytes": self.rss_bytes,
            "free_disk_bytes": self.free_disk_bytes,
            "disk_read_only": self.disk_read_only,
            "clock_offset_s": self.clock_offset_s,
            "on_screen": self.on_screen,
            "sent_at": _utc_text(self.sent_at),
        }
        # Only when known: a hub before issue 13 ignores them, and a null says nothing more than absence.
        if self.coverage is not None:
            document["coverage"] = self.coverage
        if self.display is not None:
            document["display"] = self.display
        if self.playlist_layout is not None:
            document["playlist_layout"] = self.playlist_layout
        return document

    def encode(self) -> bytes:
        """The request body.

        Raises:
            ValueError: it would exceed :data:`MAX_HEARTBEAT_BYTES` (not for one from :func:`build_heartbeat`).
        """
        body = json.dumps(self.to_json(), ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
        if len(body) > MAX_HEARTBEAT_BYTES:
            raise ValueError(f"a heartbeat of {len(body)} bytes is over {MAX_HEARTBEAT_BYTES}")
        return body


def build_heartbeat(
    *,
    screen_id: str,
    channel: str,
    now: dt.datetime,
    playlist_version: int | None,
    revocations_version: int | None,
    verified_until: dt.datetime | None,
    last_sync_state: str | None,
    last_sync_message: str,
    uptime_s: float,
    rss_bytes: int | None,
    free_disk_bytes: int | None,
    disk_read_only: bool,
    clock_offset_s: float | None,
    on_screen: str | None,
    coverage: PagePlan | None = None,
    display: Display | None = None,
    playlist_layout: str | None = None,
) -> Heartbeat:
    """A heartbeat from values the caller read (pure).

    Times become UTC, numbers are rounded to milliseconds, negative readings become ``None`` and the sync
    message is cut to :data:`MAX_MESSAGE_CHARS`, so the body always fits :data:`MAX_HEARTBEAT_BYTES`.

    Args:
        screen_id: The screen, as in its config.
        channel: The channel, as in its config.
        now: The local time of the readings (aware).
        playlist_version: The applied playlist version, or ``None``.
        revocations_version: The applied revocations version, or ``None``.
        verified_until: The freshness bound, or ``None``.
        last_sync_state: The last sync's state (``SyncState`` value), or ``None`` before the first sync.
        last_sync_message: Its message; for a ``SyncResult``, ``f"{result.zh} / {result.en}"``.
        uptime_s: Seconds since the player started (from a monotonic clock).
        rss_bytes: From :func:`rss_bytes`.
        free_disk_bytes: From :func:`free_disk_bytes`.
        disk_read_only: From :func:`filesystem_read_only`.
        clock_offset_s: From :func:`clock_offset`, or ``None`` before the hub's time is known.
        on_screen: The entry on screen, or ``None`` (nothing shown, e.g. a black quiet hour).
        coverage: ``Rotation.plan``: whether the list goes round every day (issue 13). Numbers beyond the
            hub's bounds are brought within them (a loop of more than :data:`MAX_LOOP_HOURS` is reported as
            that many, still not covered).
        display: The slide size and layout; left out when the size is outside :data:`DISPLAY_SIDE_PX` or
            the layout unknown, rather than have the hub refuse the heartbeat.
        playlist_layout: ``CacheState.layout`` of the playing set, or ``None`` before the first; a value
            outside :data:`PLAYLIST_LAYOUTS` is left out rather than have the hub refuse the heartbeat.

    Raises:
        ValueError: a naive time, an id that is not one, or ``on_screen`` naming something other than an
            entry id, ``notice:<id>`` or ``standby`` (never a name: heartbeats are pseudonymised too).
    """
    for name, value in (("screen_id", screen_id), ("channel", channel)):
        if ID_RE.fullmatch(value) is None:
            raise ValueError(f"{name} {value!r} is not an id")
    if on_screen is not None and not is_play_entry_id(on_screen):
        raise ValueError(f"on_screen {on_screen!r} is not an entry id, notice:<id> or standby")
    for name, version in (
        ("playlist_version", playlist_version),
        ("revocations_version", revocations_version),
    ):
        if version is not None and (type(version) is not int or version < 0):
            raise ValueError(f"{name} {version!r} is not a version")
    state = (last_sync_state or "none")[:MAX_STATE_CHARS]
    return Heartbeat(
        screen_id=screen_id,
        channel=channel,
        playlist_version=playlist_version,
        revocations_version=revocations_version,
        verified_until=None if verified_until is None else _utc(verified_until),
        last_sync_state=state,
        last_sync_message=last_sync_message[:MAX_MESSAGE_CHARS],
        uptime_s=round(max(uptime_s, 0.0), 3),
        rss_bytes=_count(rss_bytes),
        free_disk_bytes=_count(free_disk_bytes),
        disk_read_only=bool(disk_read_only),
        clock_offset_s=None if clock_offset_s is None else round(clock_offset_s, 3),
        on_screen=on_screen,
        sent_at=_utc(now),
        coverage=None if coverage is None else _coverage(coverage),
        display=None if display is None else _display(display),
        playlist_layout=playlist_layout if playlist_layout in PLAYLIST_LAYOUTS else None,
    )


def _coverage(plan: PagePlan) -> dict[str, object]:
    document = plan.to_json()
    capacity = min(max(plan.capacity, 1), MAX_CAPACITY)
    document["capacity"] = capacity
    document["entries_per_page"] = min(max(plan.entries_per_page, 1), capacity, MAX_ENTRIES_PER_PAGE)
    loop = document["loop_hours"]
    if isinstance(loop, int | float):
        document["loop_hours"] = min(max(float(loop), 0.0), MAX_LOOP_HOURS)
    return document


def _display(display: Display) -> dict[str, object] | None:
    low, high = DISPLAY_SIDE_PX
    if not (low <= display.width <= high and low <= display.height <= high) or display.layout not in LAYOUTS:
        return None
    return display.to_json()


# --- readings ----------------------------------------------------------------------------------------


def rss_bytes(proc: Path = Path("/proc/self")) -> int | None:
    """Resident memory of a process in bytes, from Linux ``/proc``; ``None`` when not available.

    Args:
        proc: The process's ``/proc`` folder (``/proc/<pid>`` for another process).
    """
    try:
        # statm's second field is resident pages: one short read, no parsing of a long text.
        resident_pages = int((proc / "statm").read_text().split()[1])
        return resident_pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        pass
    try:
        for line in (proc / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                value, unit = line.split()[1:3]
                return int(value) * 1024 if unit == "kB" else None
    except (OSError, ValueError, IndexError):
        pass
    return None


def free_disk_bytes(path: Path) -> int | None:
    """Bytes an unprivileged process can still write on ``path``'s filesystem; ``None`` if unknown.

    ``f_bavail`` rather than ``f_bfree``: the blocks reserved for root are not the player's to use.
    """
    try:
        stats = os.statvfs(path)
    except OSError:
        return None
    return stats.f_bavail * stats.f_frsize


def filesystem_read_only(path: Path, *, probe: bool = True) -> bool:
    """Whether ``path``'s filesystem is read-only, e.g. remounted read-only after errors.

    The mount flags answer first (``statvfs`` reports ``ST_RDONLY`` for a mount or a superblock made
    read-only, which is what ext4's ``errors=remount-ro`` does). Where they cannot tell, a write probe does:
    a temporary file created and removed in ``path``, which fails with ``EROFS`` on a read-only
    filesystem. A full disk or a missing permission is not "read-only".

    Args:
        path: A folder on the filesystem (the cache folder).
        probe: Whether to try the write probe when the flags say writable.
    """
    try:
        if os.statvfs(path).f_flag & os.ST_RDONLY:
            return True
    except OSError:
        pass
    if not probe:
        return False
    try:
        descriptor, name = tempfile.mkstemp(prefix=".signage-rw-probe-", dir=path)
    except OSError as error:
        return error.errno == errno.EROFS
    os.close(descriptor)
    try:
        Path(name).unlink()
    except OSError as error:
        return error.errno == errno.EROFS
    return False


def clock_offset(local: dt.datetime, hub_time: dt.datetime) -> float:
    """Local clock minus the hub's, in seconds: positive when the screen's clock is ahead.

    Args:
        local: The local time when the hub's answer arrived (or the midpoint of the exchange).
        hub_time: The hub's time in that answer: its ``hub_time`` or its HTTP ``Date`` header (whole
            seconds, so that offset is good to about a second).

    Raises:
        ValueError: either time is naive.
    """
    if local.utcoffset() is None or hub_time.utcoffset() is None:
        raise ValueError("clock_offset needs aware datetimes")
    return (local - hub_time).total_seconds()


def _utc(moment: dt.datetime) -> dt.datetime:
    if moment.utcoffset() is None:
        raise ValueError("a naive datetime is not a moment; pass an aware one")
    return moment.astimezone(dt.UTC)


def _utc_text(moment: dt.datetime) -> str:
    # Whole seconds with Z, the one form of time in the hub's contract (as in a play's "started").
    return utc_text(_utc(moment))


def _count(value: int | None) -> int | None:
    return value if value is not None and value >= 0 else None
