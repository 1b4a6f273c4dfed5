"""The signed documents a channel consists of: the playlist and its revocations (pure).

A playlist travels in two forms. The single file (``encode_playlist``) holds everything. The sharded form
splits it by a hash of each entry id (:func:`shard_of`): a small *header* (``encode_header``: the
channel's fields, the version, and the SHA-256 and length of every shard) and the *shards*
(``encode_shard``: records only, no version, so a shard whose records did not change keeps its hash from
one publish to the next and screens keep their copy). A screen puts the two back together into the same
:class:`Playlist` (:meth:`PlaylistHeader.assemble`).

All are JSON, specified in ``docs/playlist-format.md``. Encoding is deterministic (sorted keys, no
spaces), so the same content always has the same hash. Decoding is strict and bounded: a screen treats
every byte from the network as hostile even after TUF verified it, so each record is checked again
against the display rules (mask shape, names, case number, status, dates); QR links are filtered to https
and the channel's hosts when the screen decides what to show (``signage.core.display``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from signage.core.errors import ContentError
from signage.core.records import DebtorRecord, Notice, Organisation, Person, PhotoRef, Sex, Status
from signage.core.rules import RuleViolation
from signage.core.rules.amount import canonical_amount, parse_amount
from signage.core.rules.caseno import parse_case_number
from signage.core.rules.idcard import is_lawful_mask
from signage.core.rules.text import (
    MAX_CONDUCT_CHARS,
    clean_conduct,
    clean_org_name,
    clean_person_name,
    clean_text,
)

PLAYLIST_FORMAT = "signage.playlist"
HEADER_FORMAT = "signage.playlist-header"
SHARD_FORMAT = "signage.playlist-shard"
REVOCATIONS_FORMAT = "signage.revocations"
FORMAT_VERSION = 1
MAX_RECORDS = 100_000
MAX_NOTICES = 200
MAX_REVOCATIONS = 100_000
#: What a screen accepts for one playlist; 100,000 records of about 600 bytes each fit.
MAX_PLAYLIST_BYTES = 96 * 1024 * 1024
MAX_REVOCATIONS_BYTES = 16 * 1024 * 1024
#: Shards of a sharded playlist: a power of two, chosen from the list's size (:func:`shard_count`).
MAX_SHARDS = 1024
#: Records a shard holds at most on average before the count doubles: 35,000 records make 256 shards of
#: about 137 records, some 64 KB each, so a one-row change costs one such shard.
RECORDS_PER_SHARD = 160
#: A header: the channel's fields (notices at most about 240 KB) and 1,024 shard references.
MAX_HEADER_BYTES = 1024 * 1024
#: One shard; a shard's signed length is the real bound, this caps what any header may claim.
MAX_SHARD_BYTES = 16 * 1024 * 1024
MAX_PHOTO_BYTES = 1024 * 1024
CHINA_STANDARD_TIME = dt.timedelta(hours=8)

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_CHANNEL = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_HOST = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+")
_CLOCK = re.compile(r"([01]\d|2[0-3]):[0-5]\d")
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def is_host_name(text: str) -> bool:
    """A lower-case DNS host name with at least one dot: what ``qr_hosts`` may list."""
    return _HOST.fullmatch(text) is not None


def is_channel_id(text: str) -> bool:
    """Channel ids are lower-case, URL- and file-name-safe: ``jinan-station``."""
    return _CHANNEL.fullmatch(text) is not None


def playlist_path(channel: str) -> str:
    """The TUF target path (the operator signs it, the screen asks for it) of a channel's playlist."""
    return f"channels/{channel}/playlist.json"


def revocations_path(channel: str) -> str:
    """The TUF target path (the operator signs it, the screen asks for it) of a channel's revocations."""
    return f"channels/{channel}/revocations.json"


def header_path(channel: str) -> str:
    """The TUF target path of a channel's sharded playlist header (listed in the top-level targets)."""
    return f"channels/{channel}/header.json"


def shard_path(channel: str, index: int) -> str:
    """The TUF target path of shard ``index`` of a channel's playlist (listed in a hashed bin)."""
    return f"channels/{channel}/shards/{index:04d}.json"


@dataclass(frozen=True)
class Daypart:
    """A window of local clock time in which debtor slides may be shown.

    Attributes:
        start: First minute of the window.
        end: First minute after it; a window with ``end <= start`` runs past midnight.
        weekdays: ISO weekdays (1 = Monday) on which the window opens.
    """

    start: dt.time
    end: dt.time
    weekdays: frozenset[int] = frozenset(range(1, 8))

    def contains(self, local: dt.datetime) -> bool:
        """Whether the local wall-clock time ``local`` lies in this window."""
        clock = local.time().replace(second=0, microsecond=0, tzinfo=None)
        if self.start < self.end:
            return local.isoweekday() in self.weekdays and self.start <= clock < self.end
        # Past midnight: the part after midnight belongs to the previous day's window.
        if clock >= self.start:
            return local.isoweekday() in self.weekdays
        yesterday = (local - dt.timedelta(days=1)).isoweekday()
        return clock < self.end and yesterday in self.weekdays


@dataclass(frozen=True)
class Playlist:
    """One channel's list as published.

    Attributes:
        channel: The channel id.
        version: Increases with every publish of the channel.
        issued: When it was published (UTC).
        records: The debtor records.
        notices: Operator notices.
        dayparts: Windows in which debtor slides may be shown; empty means always.
        qr_hosts: Hosts a QR link may point to; others are shown without a QR code.
        utc_offset: The channel's local time, for dayparts (China Standard Time, UTC+8, by default).
        sample: Fictional sample data, marked 示例 / SAMPLE on screen.
    """

    channel: str
    version: int
    issued: dt.datetime
    records: tuple[DebtorRecord, ...]
    notices: tuple[Notice, ...] = ()
    dayparts: tuple[Daypart, ...] = ()
    qr_hosts: frozenset[str] = frozenset()
    utc_offset: dt.timedelta = CHINA_STANDARD_TIME
    sample: bool = False

    def photos(self) -> dict[str, PhotoRef]:
        """Every photo the playlist references, by hash."""
        return {record.photo.sha256: record.photo for record in self.records if record.photo is not None}


@dataclass(frozen=True)
class Revocation:
    """One takedown.

    Attributes:
        entry_id: The record taken down.
        reason: Why, for the audit trail (paid, corrected, expired…).
        revoked_at: When the operator revoked it (UTC).
    """

    entry_id: str
    reason: str
    revoked_at: dt.datetime


@dataclass(frozen=True)
class Revocations:
    """The takedowns published since the channel's last full publish.

    Attributes:
        channel: The channel id.
        version: Increases with every change.
        issued: When it was signed (UTC).
        playlist_version: The playlist these apply on top of. A screen still showing an older playlist
            keeps the takedowns it had and adds these.
        entries: The takedowns.
    """

    channel: str
    version: int
    issued: dt.datetime
    playlist_version: int
    entries: tuple[Revocation, ...] = field(default=())

    def entry_ids(self) -> frozenset[str]:
        """The revoked entry ids."""
        return frozenset(entry.entry_id for entry in self.entries)


@dataclass(frozen=True)
class ShardRef:
    """One shard as the header names it.

    Attributes:
        sha256: Hex digest of the shard's bytes.
        length: Its size in bytes.
    """

    sha256: str
    length: int


@dataclass(frozen=True)
class PlaylistHeader:
    """A sharded playlist's header: the playlist without its records, and the shards that hold them.

    Attributes:
        playlist: The channel's fields and version; ``records`` is empty.
        records: How many records the shards hold together.
        shards: One entry per shard index; ``None`` for a shard without records (it has no file).
    """

    playlist: Playlist
    records: int
    shards: tuple[ShardRef | None, ...]

    def assemble(self, records: Iterable[DebtorRecord]) -> Playlist:
        """The full playlist: this header's fields with the shards' records (shard by shard).

        Raises:
            ContentError: the records are not as many as the header says.
        """
        collected = tuple(records)
        if len(collected) != self.records:
            raise _bad("playlist header", f"the shards hold {len(collected)} records, not {self.records}")
        return replace(self.playlist, records=collected)

    def read(self, channel: str, shard: Callable[[int, ShardRef], bytes | None]) -> Playlist | None:
        """The full playlist, each shard's bytes asked of ``shard(index, ref)`` and decoded in order; ``None``
        as soon as ``shard`` has none for one (the reader says where shards live: a screen's cache, the
        repository's target files).

        Raises:
            ContentError: a shard is malformed, holds another shard's records, or the count is wrong.
        """
        count = len(self.shards)
        records: list[DebtorRecord] = []
        for index, ref in enumerate(self.shards):
            if ref is None:
                continue
            data = shard(index, ref)
            if data is None:
                return None
            records.extend(decode_shard(data, channel=channel, index=index, count=count))
        return self.assemble(records)


def shard_of(entry_id: str, count: int) -> int:
    """The shard (0 to ``count`` - 1) holding ``entry_id``: the first four bytes of its SHA-256, modulo."""
    return int.from_bytes(hashlib.sha256(entry_id.encode()).digest()[:4], "big") % count


def shard_count(records: int, previous: int | None = None) -> int:
    """How many shards a list of ``records`` is split into: the smallest power of two that keeps shards
    at :data:`RECORDS_PER_SHARD` on average, up to :data:`MAX_SHARDS`.

    The ``previous`` count is kept while it stays within a factor of two of that, so a list that grows or
    shrinks a little never reshards (every shard changes, and screens download the whole list again).
    """
    needed = 1
    while needed < MAX_SHARDS and needed * RECORDS_PER_SHARD < records:
        needed *= 2
    if previous is not None and 1 <= previous <= MAX_SHARDS and needed // 2 <= previous <= needed * 2:
        return previous
    return needed


# --- encoding ----------------------------------------------------------------------------------------


def encode_playlist(playlist: Playlist) -> bytes:
    """Deterministic JSON bytes of ``playlist``."""
    document = _playlist_fields(playlist, PLAYLIST_FORMAT)
    document["records"] = [_record_json(record) for record in playlist.records]
    return _dumps(document)


def encode_shards(playlist: Playlist, count: int) -> tuple[bytes | None, ...]:
    """The shards of ``playlist`` split ``count`` ways (:func:`shard_of`); ``None`` for an empty shard.

    Records keep their order within a shard.
    """
    groups: list[list[dict[str, object]]] = [[] for _ in range(count)]
    for record in playlist.records:
        groups[shard_of(record.entry_id, count)].append(_record_json(record))
    return tuple(
        None
        if not group
        else _dumps(
            {
                "format": SHARD_FORMAT,
                "format_version": FORMAT_VERSION,
                "channel": playlist.channel,
                "shard": index,
                "shards": count,
                "records": group,
            }
        )
        for index, group in enumerate(groups)
    )


def encode_header(playlist: Playlist, shards: Sequence[bytes | None]) -> bytes:
    """Deterministic JSON bytes of the header naming ``shards`` (from :func:`encode_shards`)."""
    document = _playlist_fields(playlist, HEADER_FORMAT)
    document["records"] = len(playlist.records)
    document["shards"] = [
        None if data is None else {"sha256": hashlib.sha256(data).hexdigest(), "length": len(data)}
        for data in shards
    ]
    return _dumps(document)


def _playlist_fields(playlist: Playlist, kind: str) -> dict[str, object]:
    return {
        "format": kind,
        "format_version": FORMAT_VERSION,
        "channel": playlist.channel,
        "version": playlist.version,
        "issued": utc_text(playlist.issued),
        "sample": playlist.sample,
        "utc_offset_minutes": int(playlist.utc_offset.total_seconds() // 60),
        "qr_hosts": sorted(playlist.qr_hosts),
        "dayparts": [_daypart_json(daypart) for daypart in playlist.dayparts],
        "notices": [_notice_json(notice) for notice in playlist.notices],
    }


def encode_revocations(revocations: Revocations) -> bytes:
    """Deterministic JSON bytes of ``revocations``."""
    document = {
        "format": REVOCATIONS_FORMAT,
        "format_version": FORMAT_VERSION,
        "channel": revocations.channel,
        "version": revocations.version,
        "issued": utc_text(revocations.issued),
        "playlist_version": revocations.playlist_version,
        "revoked": [
            {"id": entry.entry_id, "reason": entry.reason, "revoked_at": utc_text(entry.revoked_at)}
            for entry in revocations.entries
        ],
    }
    return _dumps(document)


def record_hash(record: DebtorRecord) -> str:
    """SHA-256 (hex) of the record as the playlist encodes it: proof of play names a record by this and its id,
    never by name or ID number, so the audit trail cannot become a second copy of the list."""
    return hashlib.sha256(_dumps(_record_json(record))).hexdigest()


def _dumps(document: Mapping[str, object]) -> bytes:
    return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def utc_text(moment: dt.datetime) -> str:
    """The one wire form of a moment: UTC, whole seconds, ``2026-11-26T08:00:00Z`` (playlists and telemetry)."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def local_time_text(moment: dt.datetime, offset: dt.timedelta = CHINA_STANDARD_TIME) -> str:
    """A moment as operators and installers read it: local (China) time with its offset,
    ``2026-12-05 14:03 (UTC+08:00)``. Wire formats stay UTC (:func:`utc_text`)."""
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    zone = f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    return f"{moment.astimezone(dt.timezone(offset)):%Y-%m-%d %H:%M} ({zone})"


def _daypart_json(daypart: Daypart) -> dict[str, object]:
    return {
        "start": daypart.start.strftime("%H:%M"),
        "end": daypart.end.strftime("%H:%M"),
        "days": [_WEEKDAYS[day - 1] for day in sorted(daypart.weekdays)],
    }


def _notice_json(notice: Notice) -> dict[str, object]:
    return {
        "id": notice.notice_id,
        "title": notice.title,
        "body": notice.body,
        "starts": None if notice.starts is None else utc_text(notice.starts),
        "ends": None if notice.ends is None else utc_text(notice.ends),
    }


def record_json(record: DebtorRecord) -> dict[str, object]:
    """One record as a playlist's ``records`` carry it (JSON-ready); :func:`decode_records` reads it back."""
    return _record_json(record)


def _record_json(record: DebtorRecord) -> dict[str, object]:
    debtor: dict[str, object]
    if isinstance(record.debtor, Person):
        debtor = {
            "kind": "person",
            "name": record.debtor.name,
            "id_masked": record.debtor.id_masked,
            "sex": None if record.debtor.sex is None else str(record.debtor.sex),
            "age": record.debtor.age,
        }
    else:
        debtor = {
            "kind": "organisation",
            "name": record.debtor.name,
            "code": record.debtor.code,
            "legal_representative": record.debtor.legal_representative,
        }
    return {
        "id": record.entry_id,
        "debtor": debtor,
        "court": record.court,
        "court_phone": record.court_phone,
        "case_number": record.case_number,
        "amount": canonical_amount(record.amount),
        "status": str(record.status),
        "listed_on": record.listed_on.isoformat(),
        "term_ends": None if record.term_ends is None else record.term_ends.isoformat(),
        "unpaid": None if record.unpaid is None else canonical_amount(record.unpaid),
        "filed_on": None if record.filed_on is None else record.filed_on.isoformat(),
        "conduct": record.conduct,
        "photo": None
        if record.photo is None
        else {"sha256": record.photo.sha256, "length": record.photo.length},
        "qr_url": record.qr_url,
    }


# --- decoding ----------------------------------------------------------------------------------------


def decode_playlist(data: bytes, *, channel: str) -> Playlist:
    """Parse and re-check a playlist for ``channel``.

    Raises:
        ContentError: too large, not JSON, another format or channel, or any record breaking a rule.
    """
    document = _load(data, MAX_PLAYLIST_BYTES, PLAYLIST_FORMAT, channel)
    reader = _Reader(document, "playlist")
    records = reader.items("records", MAX_RECORDS)
    return _playlist(reader, channel, decode_records(records, "playlist"))


def decode_header(data: bytes, *, channel: str) -> PlaylistHeader:
    """Parse and check a sharded playlist's header for ``channel``.

    Raises:
        ContentError: too large, not JSON, another format or channel, bad fields, more than
            :data:`MAX_SHARDS` shards, or shards adding up to more than a single-file playlist may hold.
    """
    document = _load(data, MAX_HEADER_BYTES, HEADER_FORMAT, channel)
    reader = _Reader(document, "playlist header")
    items = reader.items("shards", MAX_SHARDS)
    if not items:
        raise _bad("playlist header", "shards must not be empty")
    shards: list[ShardRef | None] = []
    for index, item in enumerate(items):
        if item is None:
            shards.append(None)
            continue
        entry = _Reader(item, f"shards[{index}]")
        digest = entry.text("sha256", 64, 64)
        if not _SHA256.fullmatch(digest):
            raise _bad(entry.where, "sha256 is not 64 lower-case hex digits")
        shards.append(ShardRef(digest, entry.integer("length", 1, MAX_SHARD_BYTES)))
    if sum(shard.length for shard in shards if shard is not None) > MAX_PLAYLIST_BYTES:
        raise _bad("playlist header", f"the shards add up to more than {MAX_PLAYLIST_BYTES} bytes")
    return PlaylistHeader(
        playlist=_playlist(reader, channel, ()),
        records=reader.integer("records", 0, MAX_RECORDS),
        shards=tuple(shards),
    )


def decode_shard(data: bytes, *, channel: str, index: int, count: int) -> tuple[DebtorRecord, ...]:
    """Parse and check shard ``index`` of ``count`` for ``channel``: its records, each checked as a
    playlist's are.

    Raises:
        ContentError: too large, not JSON, another format or channel, another shard's number (a shard
            swapped for another), or a record that does not belong in this shard.
    """
    document = _load(data, MAX_SHARD_BYTES, SHARD_FORMAT, channel)
    reader = _Reader(document, "shard")
    if reader.integer("shard", 0, MAX_SHARDS) != index or reader.integer("shards", 1, MAX_SHARDS) != count:
        raise _bad(
            "shard",
            f"it is shard {document.get('shard')} of {document.get('shards')}, not {index} of {count}",
        )
    records = decode_records(reader.items("records", MAX_RECORDS), f"shard {index}")
    for record in records:
        if shard_of(record.entry_id, count) != index:
            raise _bad(f"shard {index}", f"entry {record.entry_id} belongs in another shard")
    return records


def _playlist(reader: _Reader, channel: str, records: tuple[DebtorRecord, ...]) -> Playlist:
    notices = reader.items("notices", MAX_NOTICES)
    dayparts = reader.items("dayparts", 24)
    hosts = reader.items("qr_hosts", 64)
    offset = reader.integer("utc_offset_minutes", -12 * 60, 14 * 60)
    return Playlist(
        channel=channel,
        version=reader.integer("version", 1, 2**53),
        issued=reader.moment("issued"),
        records=records,
        notices=tuple(_notice(_Reader(item, f"notices[{i}]")) for i, item in enumerate(notices)),
        dayparts=tuple(_daypart(_Reader(item, f"dayparts[{i}]")) for i, item in enumerate(dayparts)),
        qr_hosts=frozenset(_host(item) for item in hosts),
        utc_offset=dt.timedelta(minutes=offset),
        sample=reader.boolean("sample"),
    )


def decode_records(items: object, where: str) -> tuple[DebtorRecord, ...]:
    """Records in the wire format (a playlist's ``records``), each checked as a screen checks it.

    Raises:
        ContentError: not a list of at most :data:`MAX_RECORDS`, a record breaking a rule, or an entry id
            appearing twice; ``where`` names the document in the message.
    """
    if not isinstance(items, list) or len(items) > MAX_RECORDS:
        raise _bad(where, f"records must be a list of at most {MAX_RECORDS}")
    decoded = tuple(_record(_Reader(item, f"records[{i}]")) for i, item in enumerate(items))
    seen: set[str] = set()
    for record in decoded:
        if record.entry_id in seen:
            raise _bad(where, f"entry id {record.entry_id} appears twice")
        seen.add(record.entry_id)
    return decoded


def decode_revocations(data: bytes, *, channel: str) -> Revocations:
    """Parse and check a revocations document for ``channel``.

    Raises:
        ContentError: too large, not JSON, another format or channel, or malformed entries.
    """
    document = _load(data, MAX_REVOCATIONS_BYTES, REVOCATIONS_FORMAT, channel)
    reader = _Reader(document, "revocations")
    entries = []
    for index, item in enumerate(reader.items("revoked", MAX_REVOCATIONS)):
        entry = _Reader(item, f"revoked[{index}]")
        entries.append(
            Revocation(
                entry_id=entry.identifier("id"),
                reason=entry.text("reason", 0, 500),
                revoked_at=entry.moment("revoked_at"),
            )
        )
    return Revocations(
        channel=channel,
        version=reader.integer("version", 1, 2**53),
        issued=reader.moment("issued"),
        playlist_version=reader.integer("playlist_version", 0, 2**53),
        entries=tuple(entries),
    )


def _load(data: bytes, limit: int, kind: str, channel: str) -> dict[str, Any]:
    if len(data) > limit:
        raise _bad(kind, f"{len(data)} bytes is over the {limit}-byte limit")
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise _bad(kind, f"not valid JSON ({error})") from None
    if not isinstance(document, dict):
        raise _bad(kind, "not a JSON object")
    version = document.get("format_version")
    # `true == 1` and `1.0 == 1` in Python; the format version must be the integer itself.
    if document.get("format") != kind or type(version) is not int or version != FORMAT_VERSION:
        raise _bad(kind, f"format {document.get('format')!r} version {document.get('format_version')!r}")
    if document.get("channel") != channel:
        # Mix-and-match: a document signed for one channel must never play on another.
        raise ContentError(
            f"内容属于频道 {document.get('channel')!r}，不是本屏的频道 {channel!r}；已拒绝",
            f"the {kind} is for channel {document.get('channel')!r}, not this screen's {channel!r}; refused",
        )
    return document


def _bad(where: str, what: str) -> ContentError:
    return ContentError(
        f"内容不合格（{where}）：{what}；已拒绝", f"malformed content ({where}): {what}; refused"
    )


class _Reader:
    """Typed, bounded access to one JSON object, with the path in every error."""

    def __init__(self, value: object, where: str) -> None:
        if not isinstance(value, dict):
            raise _bad(where, "not a JSON object")
        self.value: dict[str, Any] = value
        self.where = where

    def get(self, key: str) -> Any:
        if key not in self.value:
            raise _bad(self.where, f"missing {key}")
        return self.value[key]

    def items(self, key: str, limit: int) -> list[Any]:
        value = self.get(key)
        if not isinstance(value, list) or len(value) > limit:
            raise _bad(self.where, f"{key} must be a list of at most {limit}")
        return value

    def integer(self, key: str, low: int, high: int) -> int:
        value = self.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise _bad(self.where, f"{key} must be a whole number from {low} to {high}")
        return value

    def boolean(self, key: str) -> bool:
        value = self.get(key)
        if not isinstance(value, bool):
            raise _bad(self.where, f"{key} must be true or false")
        return value

    def text(self, key: str, low: int, high: int) -> str:
        value = self.get(key)
        if not isinstance(value, str) or not low <= len(value) <= high:
            raise _bad(self.where, f"{key} must be text of {low} to {high} characters")
        return value

    def optional_text(self, key: str, high: int) -> str | None:
        if self.value.get(key) is None:
            return None
        return self.text(key, 1, high)

    def identifier(self, key: str) -> str:
        value = self.text(key, 1, 64)
        if not _ID.fullmatch(value):
            raise _bad(self.where, f"{key} is not a valid id")
        return value

    def moment(self, key: str) -> dt.datetime:
        return _moment(self.text(key, 20, 20), self.where, key)

    def optional_moment(self, key: str) -> dt.datetime | None:
        if self.value.get(key) is None:
            return None
        return self.moment(key)

    def optional_date(self, key: str) -> dt.date | None:
        if self.value.get(key) is None:
            return None
        return self.date(key)

    def date(self, key: str) -> dt.date:
        try:
            return dt.date.fromisoformat(self.text(key, 10, 10))
        except ValueError:
            raise _bad(self.where, f"{key} is not a date") from None

    def checked(self, key: str, rule: Any, high: int = 200) -> Any:
        try:
            return rule(self.text(key, 1, high))
        except RuleViolation as violation:
            raise _bad(self.where, f"{key}: {violation.finding.en}") from None


def _moment(text: str, where: str, key: str) -> dt.datetime:
    try:
        moment = dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        raise _bad(where, f"{key} must be a UTC time like 2026-11-26T08:00:00Z") from None
    return moment.replace(tzinfo=dt.UTC)


def _record(reader: _Reader) -> DebtorRecord:
    debtor_reader = _Reader(reader.get("debtor"), f"{reader.where}.debtor")
    kind = debtor_reader.text("kind", 1, 20)
    debtor: Person | Organisation
    if kind == "person":
        masked = debtor_reader.text("id_masked", 15, 18)
        # The screen's own check: whatever the operator's tools did, only a lawful mask is displayable.
        if not is_lawful_mask(masked):
            raise _bad(debtor_reader.where, "id_masked is not a lawfully masked ID number")
        sex = debtor_reader.optional_text("sex", 1)
        age = None if debtor_reader.value.get("age") is None else debtor_reader.integer("age", 18, 120)
        debtor = Person(
            name=debtor_reader.checked("name", clean_person_name),
            id_masked=masked,
            sex=None if sex is None else _enum(Sex, sex, debtor_reader, "sex"),
            age=age,
        )
    elif kind == "organisation":
        debtor = Organisation(
            name=debtor_reader.checked("name", clean_org_name, 100),
            code=debtor_reader.text("code", 10, 18),
            legal_representative=debtor_reader.checked("legal_representative", clean_person_name),
        )
    else:
        raise _bad(debtor_reader.where, f"unknown kind {kind!r}")
    photo = reader.value.get("photo")
    return DebtorRecord(
        entry_id=reader.identifier("id"),
        debtor=debtor,
        court=reader.checked(
            "court", lambda text: clean_text(text, field_zh="执行法院", field_en="court", length=(2, 60))
        ),
        case_number=reader.checked("case_number", lambda text: parse_case_number(text, current_year=9999)),
        amount=_amount(reader, "amount"),
        status=_status(reader),
        listed_on=reader.date("listed_on"),
        term_ends=reader.optional_date("term_ends"),
        unpaid=None if reader.value.get("unpaid") is None else _amount(reader, "unpaid"),
        filed_on=reader.optional_date("filed_on"),
        conduct=None
        if reader.value.get("conduct") is None
        else reader.checked("conduct", clean_conduct, MAX_CONDUCT_CHARS),
        photo=None if photo is None else _photo(_Reader(photo, f"{reader.where}.photo")),
        qr_url=reader.optional_text("qr_url", 512),
        court_phone=reader.optional_text("court_phone", 30),
    )


def _amount(reader: _Reader, key: str) -> Decimal:
    text = reader.text(key, 4, 20)
    try:
        amount = parse_amount(text)
    except (RuleViolation, InvalidOperation):
        raise _bad(reader.where, f"{key} is not a canonical amount") from None
    if canonical_amount(amount) != text:
        raise _bad(reader.where, f"{key} is not in canonical form")
    return amount


def _status(reader: _Reader) -> Status:
    text = reader.text("status", 1, 10)
    try:
        return Status.from_wire(text)
    except ValueError:
        raise _bad(reader.where, f"status {text!r} is not allowed") from None


def _photo(reader: _Reader) -> PhotoRef:
    digest = reader.text("sha256", 64, 64)
    if not _SHA256.fullmatch(digest):
        raise _bad(reader.where, "photo sha256 is not 64 lower-case hex digits")
    return PhotoRef(sha256=digest, length=reader.integer("length", 1, MAX_PHOTO_BYTES))


def _notice(reader: _Reader) -> Notice:
    return Notice(
        notice_id=reader.identifier("id"),
        title=reader.checked(
            "title",
            lambda text: clean_text(text, field_zh="标题", field_en="title", length=(1, 60), formula_ok=True),
        ),
        body=reader.checked("body", clean_notice_body, 1000),
        starts=reader.optional_moment("starts"),
        ends=reader.optional_moment("ends"),
    )


def clean_notice_body(text: str) -> str:
    """A notice body: display text line by line (a line break is the one control character allowed)."""
    lines = [
        clean_text(line, field_zh="正文", field_en="body", length=(0, 1000), formula_ok=True)
        for line in text.split("\n")
    ]
    return "\n".join(lines)


def _daypart(reader: _Reader) -> Daypart:
    start, end = reader.text("start", 5, 5), reader.text("end", 5, 5)
    if not (_CLOCK.fullmatch(start) and _CLOCK.fullmatch(end)) or start == end:
        raise _bad(reader.where, "daypart start and end must be different HH:MM times")
    days = reader.items("days", 7)
    if not days or any(day not in _WEEKDAYS for day in days):
        raise _bad(reader.where, f"days must be some of {', '.join(_WEEKDAYS)}")
    return Daypart(
        start=dt.time.fromisoformat(start),
        end=dt.time.fromisoformat(end),
        weekdays=frozenset(_WEEKDAYS.index(day) + 1 for day in days),
    )


def _host(value: object) -> str:
    if not isinstance(value, str) or not is_host_name(value):
        raise _bad("playlist", f"qr_hosts entry {value!r} is not a lower-case host name")
    return value


def _enum(kind: Any, value: str, reader: _Reader, key: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        raise _bad(reader.where, f"{key} {value!r} is not allowed") from None


def parse_weekdays(names: Iterable[str]) -> frozenset[int]:
    """ISO weekday numbers of ``mon``…``sun`` names (for channel settings)."""
    return frozenset(_WEEKDAYS.index(name) + 1 for name in names)
