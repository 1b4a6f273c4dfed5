"""The state of the fleet from the screens' latest heartbeats and the repository's current versions (pure).

For every registered screen, :func:`fleet_status` says:

- *presence*: online (a heartbeat within :data:`ONLINE_WITHIN`), stale (within :data:`STALE_WITHIN`) or
  offline (older, or never);
- *version lag*: how many playlist versions the screen is behind its channel;
- *freshness*: how long its signed content stays valid (``verified_until``), or since when it has expired,
  after which the screen shows no debtor slides;
- *clock skew*: the offset the screen measured against the hub, flagged beyond :data:`SKEW_TOLERANCE_S`;
- *unacknowledged takedowns*: the applied revocations version is the takedown acknowledgement, so the
  entries revoked after the version a screen applied are the ones it may still be showing;
- *coverage*: whether the screen's list goes round within its loop (every entry shown every day), from the
  page plan the screen reports; a screen that cannot cover its list needs attention (issue 13);
- *display*: the slide size and layout the screen reports;
- *list form*: whether the screen reads the channel's sharded form or the single ``playlist.json``
  (issue 15). A heartbeat without ``playlist_layout`` comes from software before the sharded form, which
  reads the single file. :func:`channel_forms` counts, per channel, the screens heard from within
  :data:`MOVED_OVER_WITHIN` that still read it: the channel's ``legacy_playlist`` setting may be turned off
  when none does (:func:`single_file_warning` is what ``signage publish`` prints otherwise).

Revocations documents are cumulative (each version lists every takedown since the last publish, and a
publish carries the whole ledger), so "revoked after version v" is ``entries(current) - entries(v)``.
That is exact when the document of version v is still on disk; the publisher keeps only the last few,
so for an older v the nearest newer document gives a *lower bound*, and the status says so
(:attr:`ScreenStatus.unacknowledged_exact`).

Everything here takes the time as an argument and returns plain data or text; the ``/fleet`` page is a Django
template (``screens/fleet.html``) over :func:`cells`, which escapes every value a screen sent.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

#: A screen that sent a heartbeat within this long is online (heartbeats come every minute).
ONLINE_WITHIN: Final = dt.timedelta(minutes=3)
#: Within this long it is stale (missed a few); beyond, offline.
STALE_WITHIN: Final = dt.timedelta(minutes=30)
#: A clock off by more than this is flagged: dayparts and quiet hours are minute-precise.
SKEW_TOLERANCE_S: Final = 30.0
#: Seconds between automatic reloads of the HTML page.
PAGE_REFRESH_S: Final = 30
#: The loop the players plan for (``signage.core.rotation.Paging.loop_hours``); the heartbeat does not carry it.
LOOP_TARGET_HOURS: Final = 24
#: A screen heard from within this long counts when deciding whether a channel still needs its single file.
MOVED_OVER_WITHIN: Final = dt.timedelta(days=7)
#: ``playlist_layout`` values (``signage.sync.telemetry.heartbeat.PLAYLIST_LAYOUTS``).
SHARDED: Final = "sharded"
SINGLE: Final = "single"


class Presence(enum.StrEnum):
    """Whether a screen is heard from."""

    ONLINE = "online"
    STALE = "stale"
    OFFLINE = "offline"


class Acknowledgement(enum.StrEnum):
    """Whether a screen has applied one takedown."""

    APPLIED = "applied"
    NOT_APPLIED = "not applied"
    #: The screen's revocations version is older than every document still on disk.
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class ChannelState:
    """What a channel currently publishes.

    Attributes:
        playlist_version: The current playlist version, or None if the channel has none.
        revocations_version: The current revocations version (0: none).
        revocation_sets: Entry ids of every revocations version whose document is still on disk,
            the current one included.
    """

    playlist_version: int | None
    revocations_version: int = 0
    revocation_sets: Mapping[int, frozenset[str]] = field(default_factory=dict)

    @property
    def revoked(self) -> frozenset[str]:
        """The entries the current revocations take down."""
        return self.revocation_sets.get(self.revocations_version, frozenset())

    def unacknowledged(self, applied: int | None) -> tuple[frozenset[str], bool]:
        """Entries revoked after revocations version ``applied``, and whether that set is exact.

        Args:
            applied: The version the screen applied; None or 0 when it has applied none.
        """
        if applied is not None and applied >= self.revocations_version:
            return frozenset(), True
        if not applied:
            return self.revoked, True
        newer = [version for version in self.revocation_sets if version >= applied]
        nearest = min(newer, default=self.revocations_version)
        return self.revoked - self.revocation_sets.get(nearest, frozenset()), nearest == applied


@dataclass(frozen=True)
class Coverage:
    """A screen's page plan as its heartbeat reports it.

    Attributes:
        entries_per_page: Entries on each page.
        loop_hours: Hours one cycle of the list takes; None when it never completes (no showing time).
        covered: Whether that is within the loop target: every entry shown every day.
        capacity: The densest legible page of the screen.
    """

    entries_per_page: int
    loop_hours: float | None
    covered: bool
    capacity: int

    def note(self) -> str:
        """The attention item of a screen that cannot cover its list, in English (empty when covered)."""
        if self.covered:
            return ""
        loop = "never completes" if self.loop_hours is None else f"{self.loop_hours:.1f} h"
        return f"not covered: {self.entries_per_page} entries per page, loop {loop} > {LOOP_TARGET_HOURS} h"

    @classmethod
    def from_document(cls, document: object) -> Coverage | None:
        """Read leniently: None unless every field has its type."""
        if not isinstance(document, Mapping):
            return None
        per_page, capacity = _integer(document.get("entries_per_page")), _integer(document.get("capacity"))
        covered, loop = document.get("covered"), document.get("loop_hours")
        if per_page is None or capacity is None or not isinstance(covered, bool):
            return None
        if loop is not None and _number(loop) is None:
            return None
        return cls(per_page, _number(loop), covered, capacity)


@dataclass(frozen=True)
class Display:
    """A screen's slide size in pixels and its layout, as its heartbeat reports them."""

    width: int
    height: int
    layout: str

    @classmethod
    def from_document(cls, document: object) -> Display | None:
        """Read leniently: None unless every field has its type."""
        if not isinstance(document, Mapping):
            return None
        width, height = _integer(document.get("width")), _integer(document.get("height"))
        layout = _text(document.get("layout"))
        if width is None or height is None or layout is None:
            return None
        return cls(width, height, layout)


@dataclass(frozen=True)
class Heartbeat:
    """The fields of a stored heartbeat that the fleet view uses (see ``docs/fleet.md``)."""

    channel: str | None = None
    playlist_version: int | None = None
    revocations_version: int | None = None
    verified_until: dt.datetime | None = None
    last_sync_state: str | None = None
    last_sync_message: str | None = None
    uptime_s: float | None = None
    rss_bytes: int | None = None
    free_disk_bytes: int | None = None
    disk_read_only: bool | None = None
    clock_offset_s: float | None = None
    on_screen: str | None = None
    sent_at: dt.datetime | None = None
    coverage: Coverage | None = None
    display: Display | None = None
    #: ``sharded`` or ``single``; None when the heartbeat did not say (software before issue 15: single).
    playlist_layout: str | None = None

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> Heartbeat:
        """Read a stored heartbeat leniently: a missing or odd field is None, never an error."""
        last_sync = document.get("last_sync")
        last_sync = last_sync if isinstance(last_sync, Mapping) else {}
        return cls(
            channel=_text(document.get("channel")),
            playlist_version=_integer(document.get("playlist_version")),
            revocations_version=_integer(document.get("revocations_version")),
            verified_until=_moment(document.get("verified_until")),
            last_sync_state=_text(last_sync.get("state")),
            last_sync_message=_text(last_sync.get("message")),
            uptime_s=_number(document.get("uptime_s")),
            rss_bytes=_integer(document.get("rss_bytes")),
            free_disk_bytes=_integer(document.get("free_disk_bytes")),
            disk_read_only=document.get("disk_read_only")
            if isinstance(document.get("disk_read_only"), bool)
            else None,
            clock_offset_s=_number(document.get("clock_offset_s")),
            on_screen=_text(document.get("on_screen")),
            sent_at=_moment(document.get("sent_at")),
            coverage=Coverage.from_document(document.get("coverage")),
            display=Display.from_document(document.get("display")),
            playlist_layout=_choice(document.get("playlist_layout"), (SHARDED, SINGLE)),
        )


@dataclass(frozen=True)
class ScreenStatus:
    """One screen as the operator sees it.

    Attributes:
        screen_id: The screen.
        presence: Online, stale or offline.
        last_seen: When its latest heartbeat arrived, or None if it never sent one.
        heartbeat: That heartbeat's fields (all None if it never sent one).
        channel_known: Whether its channel is one the repository publishes.
        playlist_lag: Current minus applied playlist version; None when either is unknown.
        revocations_behind: Current minus applied revocations version; None when unknown.
        unacknowledged: Takedowns it has not applied (sorted); a lower bound unless exact.
        unacknowledged_exact: Whether :attr:`unacknowledged` is exact.
        fresh_for: ``verified_until - now``: negative once its content has expired; None if unknown.
        skewed: Whether its clock is off by more than :data:`SKEW_TOLERANCE_S`.
        name: The name the operator gave the screen (empty if none).
        location: Where it hangs (empty if none).
    """

    screen_id: str
    presence: Presence
    last_seen: dt.datetime | None
    heartbeat: Heartbeat
    channel_known: bool
    playlist_lag: int | None
    revocations_behind: int | None
    unacknowledged: tuple[str, ...]
    unacknowledged_exact: bool
    fresh_for: dt.timedelta | None
    skewed: bool
    name: str = ""
    location: str = ""

    @property
    def coverage(self) -> Coverage | None:
        """The page plan the screen last reported; None if it never did (a player before issue 13)."""
        return self.heartbeat.coverage

    @property
    def display(self) -> Display | None:
        """The slide size and layout the screen last reported, or None."""
        return self.heartbeat.display

    @property
    def playlist_form(self) -> str | None:
        """``sharded`` or ``single`` (the single file, also what a screen before issue 15 reads); None when
        the screen never sent a heartbeat."""
        if self.last_seen is None:
            return None
        return SHARDED if self.heartbeat.playlist_layout == SHARDED else SINGLE

    @property
    def older_software(self) -> bool:
        """Whether the screen's heartbeat does not say its list form: software before the sharded form."""
        return self.last_seen is not None and self.heartbeat.playlist_layout is None

    def label(self) -> str:
        """How the operator knows the screen: its name and location (the id only when it has no name)."""
        place = f" ({self.location})" if self.location else ""
        return f"{self.name or self.screen_id}{place}"

    def attention(self) -> list[str]:
        """What the operator should look at, most urgent first (short English phrases)."""
        notes = []
        if self.unacknowledged:
            at_least = "" if self.unacknowledged_exact else "at least "
            notes.append(f"{at_least}{len(self.unacknowledged)} takedown(s) not applied")
        if self.presence is not Presence.ONLINE:
            notes.append(self.presence.value)
        if self.fresh_for is not None and self.fresh_for <= dt.timedelta(0):
            notes.append("content expired")
        if self.heartbeat.channel is not None and not self.channel_known:
            notes.append(f"unknown channel {self.heartbeat.channel}")
        if self.playlist_lag:
            notes.append(f"playlist {self.playlist_lag} behind")
        if self.skewed:
            notes.append("clock skew")
        if self.heartbeat.disk_read_only:
            notes.append("disk read-only")
        if self.coverage is not None and not self.coverage.covered:
            notes.append(self.coverage.note())
        return notes


#: The thumbnail shapes when no screen has reported its size: a 1080p landscape screen and a bus bar.
DEFAULT_SCREEN_SIZES: Final = ((1920, 1080), (1920, 360))
#: Most screen shapes a preview shows.
MAX_SCREEN_SIZES: Final = 4


def screen_sizes(
    displays: Iterable[Display | None], *, limit: int = MAX_SCREEN_SIZES
) -> list[tuple[int, int]]:
    """The distinct (width, height) among ``displays``, most common first (ties: smaller first), at most
    ``limit``; :data:`DEFAULT_SCREEN_SIZES` when none is known."""
    counts = collections.Counter((d.width, d.height) for d in displays if d is not None)
    if not counts:
        return list(DEFAULT_SCREEN_SIZES)
    return sorted(counts, key=lambda size: (-counts[size], size))[:limit]


def fleet_status(
    heartbeats: Mapping[str, tuple[dt.datetime, Heartbeat]],
    *,
    screens: Iterable[str],
    now: dt.datetime,
    channels: Mapping[str, ChannelState],
) -> list[ScreenStatus]:
    """The status of every screen in ``screens``, by id.

    Args:
        heartbeats: Screen id -> (when the hub received its latest heartbeat, that heartbeat).
        screens: The registered screens; those without a heartbeat are offline, never seen.
        now: The hub's time.
        channels: Channel id -> what it currently publishes.
    """
    return [
        _status(screen_id, heartbeats.get(screen_id), now, channels) for screen_id in sorted(set(screens))
    ]


def acknowledgements(
    statuses: Sequence[ScreenStatus], channels: Mapping[str, ChannelState], entry_id: str
) -> list[tuple[ScreenStatus, Acknowledgement]]:
    """Which screens have applied the takedown of ``entry_id``: those on channels that revoke it."""
    answers = []
    for status in statuses:
        channel = channels.get(status.heartbeat.channel or "")
        if channel is None or entry_id not in channel.revoked:
            continue
        if entry_id in status.unacknowledged:
            answers.append((status, Acknowledgement.NOT_APPLIED))
        elif status.unacknowledged_exact:
            answers.append((status, Acknowledgement.APPLIED))
        else:
            answers.append((status, Acknowledgement.UNKNOWN))
    return answers


def as_json(status: ScreenStatus) -> dict[str, Any]:
    """A JSON-ready dict of ``status`` (times in ISO 8601, durations in seconds)."""
    heartbeat = {
        key: (value.isoformat() if isinstance(value, dt.datetime) else value)
        for key, value in dataclasses.asdict(status.heartbeat).items()
    }
    return {
        "screen_id": status.screen_id,
        "presence": status.presence.value,
        "last_seen": status.last_seen.isoformat() if status.last_seen else None,
        "channel_known": status.channel_known,
        "playlist_lag": status.playlist_lag,
        "revocations_behind": status.revocations_behind,
        "unacknowledged": list(status.unacknowledged),
        "unacknowledged_exact": status.unacknowledged_exact,
        "fresh_for_s": status.fresh_for.total_seconds() if status.fresh_for is not None else None,
        "skewed": status.skewed,
        "attention": status.attention(),
        "coverage": heartbeat["coverage"],
        "display": heartbeat["display"],
        "playlist_form": status.playlist_form,
        "heartbeat": heartbeat,
    }


# --- rendering ----------------------------------------------------------------------------------------

HEADERS: Final = (
    "SCREEN",
    "STATE",
    "LAST SEEN",
    "CHANNEL",
    "PLAYLIST",
    "TAKEDOWNS",
    "FRESH",
    "SKEW",
    "SYNC",
    "LIST",
    "PAGES",
)
HEADERS_ZH: Final = (
    "屏幕",
    "状态",
    "上次心跳",
    "频道",
    "名单版本",
    "撤回",
    "有效期",
    "时钟偏差",
    "同步",
    "名单形式",
    "轮播",
)


def render_text(
    statuses: Sequence[ScreenStatus], *, now: dt.datetime, names: Mapping[str, tuple[str, str]] | None = None
) -> str:
    """A plain-text table, a summary line, and the takedowns each screen has not applied.

    ``names`` maps entry ids to (name, case number), so operators read takedowns as people, not ids.
    """
    known = names or {}
    if not statuses:
        return (
            "尚未登记任何屏幕；用 signage screens add 登记 / no screens registered yet: signage screens add\n"
        )
    rows = [HEADERS, *(cells(status, now) for status in statuses)]
    widths = [max(len(row[column]) for row in rows) for column in range(len(HEADERS))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    lines += ["", summary(statuses)]
    for forms in channel_forms(statuses, now=now):
        lines.append(forms.text())
    for status in statuses:
        if status.unacknowledged:
            bound = "" if status.unacknowledged_exact else " (at least)"
            pending = ", ".join(" ".join(known.get(entry, (entry,))) for entry in status.unacknowledged)
            lines.append(f"  {status.screen_id} has not applied{bound}: {pending}")
    for status in statuses:
        if status.coverage is not None and not status.coverage.covered:
            lines.append(
                f"  {status.screen_id} {status.coverage.note()} / 名单无法在 {LOOP_TARGET_HOURS} 小时内轮播一遍"
            )
    return "\n".join(lines) + "\n"


def render_acknowledgements(answers: Sequence[tuple[ScreenStatus, Acknowledgement]], entry_id: str) -> str:
    """Which screens have and have not applied the takedown of ``entry_id``, as text."""
    if not answers:
        return (
            f"没有频道撤回 {entry_id}（或其频道没有屏幕）/ no channel revokes {entry_id} "
            "(or no screen is on its channel)\n"
        )
    width = max(len(status.screen_id) for status, _ in answers)
    lines = [f"takedown {entry_id} / 撤回条目 {entry_id}:"]
    for status, answer in answers:
        lines.append(f"  {status.screen_id.ljust(width)}  {answer.value:<11}  ({status.presence.value})")
    missing = sum(answer is not Acknowledgement.APPLIED for _, answer in answers)
    lines.append(
        f"{len(answers) - missing} of {len(answers)} screens have applied it / 已应用 {len(answers) - missing} 台"
    )
    return "\n".join(lines) + "\n"


# --- internals ----------------------------------------------------------------------------------------


def _status(
    screen_id: str,
    latest: tuple[dt.datetime, Heartbeat] | None,
    now: dt.datetime,
    channels: Mapping[str, ChannelState],
) -> ScreenStatus:
    if latest is None:
        return ScreenStatus(
            screen_id, Presence.OFFLINE, None, Heartbeat(), False, None, None, (), True, None, False
        )
    received, heartbeat = latest
    age = now - received
    presence = (
        Presence.ONLINE if age < ONLINE_WITHIN else Presence.STALE if age < STALE_WITHIN else Presence.OFFLINE
    )
    channel = channels.get(heartbeat.channel) if heartbeat.channel is not None else None
    playlist_lag = revocations_behind = None
    unacknowledged: frozenset[str] = frozenset()
    exact = True
    if channel is not None:
        if channel.playlist_version is not None and heartbeat.playlist_version is not None:
            playlist_lag = max(channel.playlist_version - heartbeat.playlist_version, 0)
        applied = heartbeat.revocations_version
        revocations_behind = max(channel.revocations_version - (applied or 0), 0)
        unacknowledged, exact = channel.unacknowledged(applied)
    fresh_for = heartbeat.verified_until - now if heartbeat.verified_until is not None else None
    skewed = heartbeat.clock_offset_s is not None and abs(heartbeat.clock_offset_s) > SKEW_TOLERANCE_S
    return ScreenStatus(
        screen_id=screen_id,
        presence=presence,
        last_seen=received,
        heartbeat=heartbeat,
        channel_known=channel is not None,
        playlist_lag=playlist_lag,
        revocations_behind=revocations_behind,
        unacknowledged=tuple(sorted(unacknowledged)),
        unacknowledged_exact=exact,
        fresh_for=fresh_for,
        skewed=skewed,
    )


def cells(status: ScreenStatus, now: dt.datetime) -> tuple[str, ...]:
    """The table cells of ``status`` for the fleet page: id, presence, last seen, channel, playlist, takedowns,
    freshness, clock skew, the last sync's state, the list form (``sharded`` or ``single``) and the pages (entries per page, loop hours, ``!`` when the
    list is not covered)."""
    heartbeat = status.heartbeat
    last_seen = "never" if status.last_seen is None else f"{_duration(now - status.last_seen)} ago"
    channel = heartbeat.channel or "-"
    if heartbeat.channel is not None and not status.channel_known:
        channel += " (?)"
    playlist = "-" if heartbeat.playlist_version is None else f"v{heartbeat.playlist_version}"
    if status.playlist_lag:
        playlist += f" (-{status.playlist_lag})"
    if heartbeat.revocations_version is None and status.last_seen is None:
        takedowns = "-"
    elif status.unacknowledged:
        bound = "" if status.unacknowledged_exact else ">="
        takedowns = f"v{heartbeat.revocations_version or 0}: {bound}{len(status.unacknowledged)} pending"
    else:
        takedowns = f"v{heartbeat.revocations_version or 0} ok"
    if status.fresh_for is None:
        fresh = "-"
    elif status.fresh_for > dt.timedelta(0):
        fresh = _duration(status.fresh_for)
    else:
        fresh = f"expired {_duration(-status.fresh_for)} ago"
    skew = "-" if heartbeat.clock_offset_s is None else f"{heartbeat.clock_offset_s:+.1f}s"
    if status.skewed:
        skew += " !"
    sync = heartbeat.last_sync_state or "-"
    return (
        status.screen_id,
        status.presence.value,
        last_seen,
        channel,
        playlist,
        takedowns,
        fresh,
        skew,
        sync,
        status.playlist_form or "-",
        _pages(status.coverage),
    )


def display_text(display: Display) -> str:
    """``1920×1080 landscape``."""
    return f"{display.width}×{display.height} {display.layout}"


def _pages(coverage: Coverage | None) -> str:
    """``12/page 18.5h``; ``!`` after a loop beyond the target; ``-`` when the screen never said."""
    if coverage is None:
        return "-"
    loop = "never" if coverage.loop_hours is None else f"{coverage.loop_hours:.1f}h"
    return f"{coverage.entries_per_page}/page {loop}{'' if coverage.covered else ' !'}"


def summary(statuses: Sequence[ScreenStatus]) -> str:
    """One line: how many screens, how many online, stale and offline, how many with takedowns not applied
    and (when any) how many cannot cover their list."""
    counts = {presence: sum(s.presence is presence for s in statuses) for presence in Presence}
    pending = sum(bool(s.unacknowledged) for s in statuses)
    uncovered = sum(s.coverage is not None and not s.coverage.covered for s in statuses)
    line = (
        f"{len(statuses)} screens: {counts[Presence.ONLINE]} online, {counts[Presence.STALE]} stale, "
        f"{counts[Presence.OFFLINE]} offline; {pending} with takedowns not applied"
    )
    return line + (f"; {uncovered} not covering their list" if uncovered else "")


@dataclass(frozen=True)
class ChannelForms:
    """Which form of one channel its screens read.

    Attributes:
        channel: The channel.
        screens: Its screens heard from within :data:`MOVED_OVER_WITHIN`.
        single: Those of them that still read the single file, by screen id.
    """

    channel: str
    screens: int
    single: tuple[ScreenStatus, ...]

    def texts(self) -> tuple[str, str]:
        """One line in Chinese and in English, naming the screens that still read the single file."""
        days = MOVED_OVER_WITHIN.days
        if not self.single:
            return (
                f"频道 {self.channel}：近 {days} 天的 {self.screens} 台屏幕都已读取分片",
                f"channel {self.channel}: all {self.screens} screens of the last {days} days read the sharded form",
            )
        names = "、".join(status.label() for status in self.single)
        return (
            f"频道 {self.channel}：近 {days} 天的 {self.screens} 台屏幕中 {len(self.single)} 台仍读取单文件"
            f"（旧版软件）：{names}",
            f"channel {self.channel}: {len(self.single)} of {self.screens} screens of the last {days} days "
            f"still read the single file (older software): {names}",
        )

    def text(self) -> str:
        """:meth:`texts` as one line, Chinese then English."""
        zh, en = self.texts()
        return f"  {zh} / {en}"


def channel_forms(
    statuses: Iterable[ScreenStatus], *, now: dt.datetime, within: dt.timedelta = MOVED_OVER_WITHIN
) -> list[ChannelForms]:
    """Per channel (sorted), its screens heard from within ``within`` and those still reading the single file.

    Screens never heard from, or not for longer, are left out: they say nothing about the software they run.
    """
    by_channel: dict[str, list[ScreenStatus]] = collections.defaultdict(list)
    for status in statuses:
        heard = status.last_seen is not None and now - status.last_seen <= within
        if status.heartbeat.channel is not None and heard:
            by_channel[status.heartbeat.channel].append(status)
    return [
        ChannelForms(
            channel,
            len(screens),
            tuple(sorted((s for s in screens if s.playlist_form == SINGLE), key=lambda s: s.screen_id)),
        )
        for channel, screens in sorted(by_channel.items())
    ]


def single_file_warning(
    channel: str,
    statuses: Iterable[ScreenStatus],
    *,
    now: dt.datetime,
    within: dt.timedelta = MOVED_OVER_WITHIN,
) -> str:
    """What to tell an operator turning the single file of ``channel`` off while screens still read it.

    Empty when no screen of the channel heard from within ``within`` reads the single file. The screens are
    named by name and location, the way the operator knows them.
    """
    forms = next((f for f in channel_forms(statuses, now=now, within=within) if f.channel == channel), None)
    if forms is None or not forms.single:
        return ""
    names = "\n".join(f"  - {status.label()}" for status in forms.single)
    days = within.days
    return (
        f"警告：频道 {channel} 的 legacy_playlist 已关闭，不再发布单文件名单，但近 {days} 天仍有 "
        f"{len(forms.single)} 台屏幕读取单文件（旧版软件）。这些屏幕升级前将不显示任何失信被执行人：\n"
        f"{names}\n"
        f"请先升级这些屏幕，在屏幕状态页确认没有屏幕读取单文件后再关闭；若要恢复，在 channels/{channel}.toml "
        f"中设 legacy_playlist = true 并重新发布。\n"
        f"Warning: legacy_playlist is off for channel {channel}, so the single-file list is no longer published, "
        f"but {len(forms.single)} screen(s) heard from in the last {days} days still read it (older software). "
        f"They show no debtor until they are upgraded:\n"
        f"{names}\n"
        f"Upgrade them first and turn it off once the fleet page shows none reading the single file; to undo, "
        f"set legacy_playlist = true in channels/{channel}.toml and publish again.\n"
    )


def _duration(span: dt.timedelta) -> str:
    """A short rounded duration: ``45s``, ``12m``, ``3h``, ``2d``."""
    seconds = int(span.total_seconds())
    if seconds < 120:
        return f"{max(seconds, 0)}s"
    if seconds < 2 * 3600:
        return f"{seconds // 60}m"
    if seconds < 2 * 86400:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _choice(value: object, choices: tuple[str, ...]) -> str | None:
    return value if isinstance(value, str) and value in choices else None


def _integer(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


#: The times the fleet reads back, whatever was stored before the ingest bounded them (issue 14): outside
#: this window a time is unknown (None), so that no subtraction or zone change can overflow.
_EARLIEST: Final = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
_LATEST: Final = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)


def _moment(value: object) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None or not _EARLIEST <= moment < _LATEST:
        return None
    return moment.astimezone(dt.UTC)
