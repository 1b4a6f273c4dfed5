"""Which plays the hub believes: a play must name an entry of a playlist version published to the screen's
channel, at a time between that version's publication and the hub's time plus a small skew.

The decision (:func:`judge`) is pure, time passed in. What each ``(channel, version)`` published is asked of
loaders and cached (:class:`PublishedVersions`): the repository's playlist files still on disk (the publisher
keeps the last few of each channel) and the console's ``PublishedVersion`` rows (every version the hub signed,
and every command-line publish on the hub's machine). A version is immutable, so a found one is kept (a few,
least recently used first out: a playlist may hold 100,000 entries); a version not found is remembered for a
minute, so a client naming random versions costs one lookup a minute per version, not one per play.

Special entries follow their own rules:

- ``standby`` is the slide a screen shows when nothing may be shown. With ``playlist_version`` 0 (the screen
  has no playlist yet) only the time is checked; with a version, the version must be the channel's and the
  time after its publication.
- ``notice:<id>`` must be a notice of the version when the version's notices are known (a playlist file on
  disk), and any notice when only the console's row is (it keeps the records, not the notices).

The channel is the one the screen reports in its heartbeats: the hub has no other record of it. A screen
moved to another channel has its plays of the old channel's versions refused once its heartbeat names the new
one (plays sent before it still count).
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from signage.operator.hub.screens.ingest import Play

if TYPE_CHECKING:
    from signage.core.playlist import Playlist

logger = logging.getLogger(__name__)

#: How far after the hub's time a play may start: screens' clocks drift, and NTP may not have run yet.
DEFAULT_SKEW: Final = dt.timedelta(minutes=5)
STANDBY: Final = "standby"
NOTICE_PREFIX: Final = "notice:"


class Reason(enum.StrEnum):
    """Why a play was refused; the value is what the answer and the fleet page count it under."""

    UNKNOWN_VERSION = "unknown_version"
    UNKNOWN_ENTRY = "unknown_entry"
    BEFORE_PUBLICATION = "before_publication"
    FUTURE = "future"


#: How the fleet page names each reason.
REASON_TEXT: Final = {
    Reason.UNKNOWN_VERSION: ("版本未发布到该频道", "version not published to its channel"),
    Reason.UNKNOWN_ENTRY: ("条目不在该版本中", "entry not in that version"),
    Reason.BEFORE_PUBLICATION: ("早于版本发布时间", "before the version was published"),
    Reason.FUTURE: ("晚于当前时间", "in the future"),
}


@dataclass(frozen=True)
class Issued:
    """What one version of one channel published, and when.

    Attributes:
        published_at: When it was published (aware); plays before it are refused.
        entry_ids: The debtor entries it holds.
        notice_ids: Its notices' ids; None when unknown (every notice is then believed).
    """

    published_at: dt.datetime
    entry_ids: frozenset[str]
    notice_ids: frozenset[str] | None = None


Loader = Callable[[str, int], Issued | None]


def judge(
    play: Play, issued: Issued | None, *, now: dt.datetime, skew: dt.timedelta = DEFAULT_SKEW
) -> Reason | None:
    """Why ``play`` is refused, or None when it is believed.

    Args:
        play: The play as the ingest validated it.
        issued: What the play's version published on the screen's channel; None when it never did.
        now: The hub's time.
        skew: How far after ``now`` a play may start.
    """
    if play.started > now + skew:
        return Reason.FUTURE
    if play.entry_id == STANDBY and play.playlist_version == 0:
        return None
    if issued is None:
        return Reason.UNKNOWN_VERSION
    if play.started < issued.published_at:
        return Reason.BEFORE_PUBLICATION
    if play.entry_id == STANDBY:
        return None
    if play.entry_id.startswith(NOTICE_PREFIX):
        notice_id = play.entry_id.removeprefix(NOTICE_PREFIX)
        known = issued.notice_ids is None or notice_id in issued.notice_ids
        return None if known else Reason.UNKNOWN_ENTRY
    return None if play.entry_id in issued.entry_ids else Reason.UNKNOWN_ENTRY


class PublishedVersions:
    """``(channel, version)`` -> :class:`Issued`, asked of ``loaders`` in order and cached.

    Args:
        loaders: Each answers a version or None; the first answer wins.
        monotonic: The time the negative cache counts in.
        kept: Found versions kept in memory.
        forget_missing_after: Seconds a version not found is remembered as such.
    """

    def __init__(
        self,
        loaders: Sequence[Loader],
        *,
        monotonic: Callable[[], float],
        kept: int = 16,
        forget_missing_after: float = 60.0,
        missing_kept: int = 4096,
    ) -> None:
        self._loaders = tuple(loaders)
        self._monotonic = monotonic
        self._kept = kept
        self._forget = forget_missing_after
        self._missing_kept = missing_kept
        self._found: OrderedDict[tuple[str, int], Issued] = OrderedDict()
        self._missing: dict[tuple[str, int], float] = {}
        self._lock = threading.Lock()

    def __call__(self, channel: str, version: int) -> Issued | None:
        key = (channel, version)
        now = self._monotonic()
        with self._lock:
            if key in self._found:
                self._found.move_to_end(key)
                return self._found[key]
            missed = self._missing.get(key)
            if missed is not None and now - missed < self._forget:
                return None
        issued = None
        for loader in self._loaders:
            issued = loader(channel, version)
            if issued is not None:
                break
        with self._lock:
            if issued is None:
                if len(self._missing) >= self._missing_kept:
                    self._missing.clear()
                self._missing[key] = now
            else:
                self._missing.pop(key, None)
                self._found[key] = issued
                while len(self._found) > self._kept:
                    self._found.popitem(last=False)
        return issued


class RepositoryPlaylists:
    """A :data:`Loader` reading the playlist files still on disk in ``DIR/public/targets/channels/<channel>/``.

    Files are named by their content hash, so each file's version is read once and remembered by name; a
    file that is not a playlist of its channel is skipped (and remembered as such).
    """

    def __init__(self, repo_dir: Path) -> None:
        self._folder = repo_dir / "public" / "targets" / "channels"
        self._versions: dict[str, int | None] = {}
        self._lock = threading.Lock()

    def __call__(self, channel: str, version: int) -> Issued | None:
        from signage.core.errors import ContentError
        from signage.core.playlist import is_channel_id

        if not is_channel_id(channel):
            return None
        try:
            # Single files and sharded headers (whose shards are in shards/, named by the header).
            files = [
                *sorted((self._folder / channel).glob("*.playlist.json")),
                *sorted((self._folder / channel).glob("*.header.json")),
            ]
        except OSError:
            return None
        for file in files:
            with self._lock:
                known = self._versions.get(file.name, -1)
            if known is None or (known != -1 and known != version):
                continue
            try:
                playlist = _decode(file, channel)
            except (OSError, ContentError, ValueError):
                with self._lock:
                    self._versions[file.name] = None
                continue
            with self._lock:
                self._versions[file.name] = playlist.version
            if playlist.version == version:
                return Issued(
                    playlist.issued,
                    frozenset(record.entry_id for record in playlist.records),
                    frozenset(notice.notice_id for notice in playlist.notices),
                )
        return None


def _decode(file: Path, channel: str) -> Playlist:
    """A single-file playlist, or a header with its shards put back together."""
    from signage.core.errors import ContentError
    from signage.core.playlist import decode_header, decode_playlist

    if not file.name.endswith(".header.json"):
        return decode_playlist(file.read_bytes(), channel=channel)
    header = decode_header(file.read_bytes(), channel=channel)
    shards = file.parent / "shards"
    playlist = header.read(
        channel, lambda index, ref: (shards / f"{ref.sha256}.{index:04d}.json").read_bytes()
    )
    if playlist is None:  # never: the reader above reads a file or raises
        raise ContentError(f"{file.name} 的分片不全", f"{file.name}: a shard is missing")
    return playlist


def console_versions(channel: str, version: int) -> Issued | None:
    """A :data:`Loader` reading the console's ``PublishedVersion`` row of ``(channel, version)``."""
    from signage.operator.hub.console.models import PublishedVersion

    row = (
        PublishedVersion.objects.filter(channel=channel, version=version)
        .values_list("published_at", "records")
        .first()
    )
    if row is None:
        return None
    published_at, items = row
    if isinstance(items, str):  # a database without a JSON type hands the text back
        items = json.loads(items)
    entry_ids = frozenset(
        str(item["id"]) for item in items if isinstance(item, dict) and isinstance(item.get("id"), str)
    )
    return Issued(published_at, entry_ids)


def default_versions(repo_dir: Path, *, monotonic: Callable[[], float]) -> PublishedVersions:
    """The repository's playlist files first (they know the notices), then the console's rows."""
    return PublishedVersions([RepositoryPlaylists(repo_dir), console_versions], monotonic=monotonic)


def refusal_text(refused: Mapping[str, int], over_quota: int) -> tuple[str, str]:
    """What the fleet pages say of one screen's refused plays and 429s of a day, in Chinese and English.

    Empty strings when there were none.
    """
    zh_parts: list[str] = []
    en_parts: list[str] = []
    total = sum(refused.values())
    if total:
        texts = {reason.value: REASON_TEXT[reason] for reason in Reason}
        named = [(texts.get(reason, (reason, reason)), count) for reason, count in sorted(refused.items())]
        zh_parts.append(f"拒收 {total} 条播放（" + "，".join(f"{zh} {n}" for (zh, _), n in named) + "）")
        en_parts.append(f"{total} plays refused (" + ", ".join(f"{en}: {n}" for (_, en), n in named) + ")")
    if over_quota:
        zh_parts.append(f"超出每日配额被拒 {over_quota} 次")
        en_parts.append(f"{over_quota} requests over the daily quota")
    return "；".join(zh_parts), "; ".join(en_parts)
