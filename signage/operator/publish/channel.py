"""Publishing use cases: a court export becomes a channel's signed playlist; takedowns become revocations.

Channel settings (allowed QR hosts, dayparts, notices, the sample mark) live in an optional TOML file,
``DIR/channels/<ID>.toml`` by default, so court staff edit one small file instead of command options.
The operator's ledger ``DIR/revoked.json`` (``signage.operator.publish.ledger``) remembers every takedown by
identity: a later publish cannot bring a revoked debtor back, whatever the export's spelling of the case
number; the row is refused with the takedown's when, why and who, and the rest is published. A row that
differs from a takedown by one character of the case number or of the ID (a typo) is refused too, unless
the operator confirms it is a different case. Every act is appended to ``DIR/history.jsonl``.

A publish writes the playlist sharded (``signage.operator.publish.sharded``) and, while the channel's
``legacy_playlist`` setting is on (the default), as one file too, for screens not yet moved over.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from signage.core.errors import ConfigError, ContentError, RepositoryError, UsageError
from signage.core.fsutil import atomic_write, fsync_directory
from signage.core.identity import identity_of
from signage.core.playlist import (
    CHINA_STANDARD_TIME,
    MAX_PHOTO_BYTES,
    Daypart,
    Playlist,
    Revocation,
    Revocations,
    clean_notice_body,
    decode_header,
    decode_playlist,
    decode_records,
    decode_revocations,
    encode_playlist,
    encode_revocations,
    is_channel_id,
    is_host_name,
    local_time_text,
    parse_weekdays,
    record_json,
)
from signage.core.records import DebtorRecord, Notice, PhotoRef
from signage.core.rules import Finding, RuleViolation
from signage.core.rules.caseno import normalise_case_number
from signage.core.rules.idcard import MaskPolicy
from signage.core.rules.text import clean_text
from signage.operator.importer import ImportOptions, import_file
from signage.operator.photos import DirectorySink
from signage.operator.publish import lookup, sharded
from signage.operator.publish.ledger import Ledger, Takedown, append_history
from signage.operator.publish.repo import OperatorRepository, header_path, playlist_path, revocations_path
from signage.operator.report import ImportReport, Problem, Severity

_WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SETTINGS_KEYS = {"qr_hosts", "sample", "utc_offset_hours", "daypart", "notice", "legacy_playlist"}


@dataclass(frozen=True)
class ChannelSettings:
    """What a channel publishes besides its records.

    Attributes:
        qr_hosts: Hosts QR links may point to.
        sample: Mark every slide 示例 / SAMPLE.
        utc_offset: Local time of the channel's screens.
        dayparts: Windows for debtor slides; empty means all day.
        notices: Operator notices.
        legacy_playlist: Also publish the playlist as one file (``channels/<ID>/playlist.json``) for
            screens that do not read the sharded form yet; turn it off (``legacy_playlist = false``) once
            every screen of the channel runs a version that does.
    """

    qr_hosts: frozenset[str] = frozenset({"zxgk.court.gov.cn"})
    sample: bool = False
    utc_offset: dt.timedelta = CHINA_STANDARD_TIME
    dayparts: tuple[Daypart, ...] = ()
    notices: tuple[Notice, ...] = field(default=())
    legacy_playlist: bool = True


@dataclass
class PublishResult:
    """What a publish did.

    Attributes:
        report: The import report, with left-out revoked entries added as warnings.
        version: The new playlist version, or ``None`` when nothing was published.
        published: Entries in the published playlist (revoked ones are left out).
        photos: Photos the playlist references.
        records: The records of the signed playlist (read under the lock, so never another publish's).
    """

    report: ImportReport
    version: int | None = None
    published: int = 0
    photos: int = 0
    records: tuple[DebtorRecord, ...] = ()


class LiveChanged(UsageError):
    """The live playlist is no longer the one the caller saw (``expect_live``); nothing was published."""

    def __init__(self, zh: str, en: str, *, live: tuple[int, str]) -> None:
        super().__init__(zh, en)
        self.live = live


def live_state(repository: OperatorRepository, channel: str) -> tuple[int, str]:
    """The channel's live playlist as ``(version, sha256 of its target)``; ``(0, "")`` when never published.

    What a reviewer saw is compared with it before signing (the hash alone identifies the playlist; the
    version is for the message).
    """
    info = sharded.live_info(repository, channel)
    if info is None:
        return 0, ""
    return sharded.live_version(repository, channel), str(info.hashes.get("sha256", ""))


def check_channel_id(channel: str) -> str:
    """Refuse channel ids that are not lower-case, file- and URL-safe."""
    if not is_channel_id(channel):
        raise UsageError(
            f"频道编号“{channel}”不合格：只能用小写字母、数字、点、下划线和连字符",
            f"the channel id '{channel}' may hold only lower-case letters, digits, '.', '_' and '-'",
        )
    return channel


def load_channel_settings(path: Path) -> ChannelSettings:
    """Read a channel settings file; a missing file means the defaults.

    Raises:
        ConfigError: syntax errors, unknown keys and bad values, naming the key.
    """
    if not path.exists():
        return ChannelSettings()
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path} 格式错误：{error}", f"{path} is not valid TOML: {error}") from None
    unknown = set(document) - _SETTINGS_KEYS
    if unknown:
        names = ", ".join(sorted(unknown))
        raise ConfigError(f"{path} 中有未知的键：{names}", f"{path} has unknown keys: {names}")
    try:
        return ChannelSettings(
            qr_hosts=frozenset(_hosts(document.get("qr_hosts", ["zxgk.court.gov.cn"]))),
            sample=_boolean(document.get("sample", False), "sample"),
            utc_offset=_offset(document.get("utc_offset_hours", 8)),
            dayparts=tuple(_daypart(item) for item in document.get("daypart", [])),
            notices=tuple(_notice(item) for item in document.get("notice", [])),
            legacy_playlist=_boolean(document.get("legacy_playlist", True), "legacy_playlist"),
        )
    except RuleViolation as violation:
        raise ConfigError(
            f"{path} 中的取值有误：{violation.finding.zh}", f"{path} has a bad value: {violation.finding.en}"
        ) from None
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ConfigError(f"{path} 中的取值有误：{error}", f"{path} has a bad value: {error}") from None


def publish_channel(
    repository: OperatorRepository,
    channel: str,
    source: Path,
    *,
    photos: Path | None,
    now: dt.datetime,
    settings: ChannelSettings,
    allow_partial: bool = False,
    policy: MaskPolicy = MaskPolicy.SPC,
    progress: Callable[[int, int | None], None] | None = None,
    by: str = "",
    published_on: dt.date | None = None,
    confirm_distinct: frozenset[str] = frozenset(),
) -> PublishResult:
    """Import ``source`` and publish it as ``channel``'s next playlist: :func:`stage_list`, then
    :func:`publish_records`.

    Nothing is published when the import refuses a row, unless ``allow_partial``; the report says why
    either way. Rows of revoked debtors are refused too, but they never hold the rest back: leaving them
    out is exactly what the takedown asks. ``by`` names the operator for the history; ``published_on`` is
    the publication date for rows without one; ``confirm_distinct`` lists case numbers the operator
    confirmed are not a revoked entry's typo.
    """
    staging = repository.directory / ".staging-photos"
    try:
        staged = stage_list(
            repository,
            channel,
            source,
            photos=photos,
            now=now,
            settings=settings,
            policy=policy,
            published_on=published_on,
            progress=progress,
            staging=staging,
            confirmed=confirm_distinct,
        )
        result = PublishResult(staged.report)
        if not staged.import_refused or allow_partial:
            published = publish_records(
                repository,
                channel,
                staged.records,
                photos_from=staging,
                now=now,
                settings=settings,
                by=by,
                source_name=source.name,
                confirmed=confirm_distinct,
                refused_rows=len(staged.report.refused_rows),
            )
            # A takedown made while the list was imported: its entry was left out, and the report says so.
            staged.report.problems.extend(published.report.problems)
            result.version, result.published, result.photos, result.records = (
                published.version,
                published.published,
                published.photos,
                published.records,
            )
    finally:
        if staging.exists():
            for leftover in staging.iterdir():
                leftover.unlink()
    return result


@dataclass
class StagedList:
    """A court export imported and checked against the takedowns, not yet signed (:func:`stage_list`).

    Attributes:
        report: The import report, with the rows the revocation guard refused added as refusals.
        records: The records that would be published: the accepted rows less the revoked ones.
        import_refused: Whether the import itself refused a row (the guard's refusals never hold a publish
            back: leaving a revoked entry out is what its takedown asks).
        staging: The folder the records' photos were written to, named by their SHA-256.
    """

    report: ImportReport
    records: tuple[DebtorRecord, ...]
    import_refused: bool
    staging: Path


def stage_list(
    repository: OperatorRepository,
    channel: str,
    source: Path,
    *,
    photos: Path | None,
    now: dt.datetime,
    settings: ChannelSettings,
    policy: MaskPolicy = MaskPolicy.SPC,
    published_on: dt.date | None = None,
    progress: Callable[[int, int | None], None] | None = None,
    staging: Path,
    confirmed: frozenset[str] = frozenset(),
) -> StagedList:
    """Import ``source`` for ``channel`` and check it against the takedowns in force; nothing is signed.

    Photos are normalised into ``staging``, content-addressed (the caller owns the folder and its
    clean-up). Rows of revoked entries, or one character away from one (see :class:`_RevocationGuard`),
    are refused in the report with the takedown's when, why and who; ``confirmed`` lists case numbers (any
    spelling) the operator confirmed are not a revoked entry's typo.
    """
    report = import_file(
        source,
        ImportOptions(
            today=(now + settings.utc_offset).date(),
            policy=policy,
            photos=photos,
            sink=DirectorySink(staging),
            progress=progress,
            published_on=published_on,
        ),
    )
    import_refused = bool(report.refused_rows)
    revoked = Ledger(repository.directory / "revoked.json").takedowns(channel)
    records, refusals = _guard(report.records, revoked.values(), confirmed, settings.utc_offset, report)
    report.problems.extend(refusals)
    return StagedList(report, records, import_refused, staging)


def publish_records(
    repository: OperatorRepository,
    channel: str,
    records: Sequence[DebtorRecord],
    *,
    photos_from: Path,
    now: dt.datetime,
    settings: ChannelSettings,
    by: str,
    source_name: str,
    confirmed: frozenset[str] = frozenset(),
    refused_rows: int = 0,
    expect_live: tuple[int, str] | None = None,
) -> PublishResult:
    """Sign and publish ``records`` as ``channel``'s next playlist version, and record it in the history.

    The revocation guard runs again under the repository lock: a takedown made after the list was staged
    leaves its entry out (reported in ``result.report`` as a refusal), so a revoked entry is never
    published. Photos are copied, never moved, from ``photos_from`` (files named by SHA-256), and checked
    against their hash. ``refused_rows`` counts the rows refused before (by the import and at staging), for
    the history. Publishing an older version's records (a rollback) makes a new version: a version
    number is never used twice.

    ``expect_live`` is the live playlist as the caller saw it (:func:`live_state`); it is compared under the
    lock, just before signing, so a list approved against one diff never silently replaces another version.

    Raises:
        LiveChanged: the live playlist is not ``expect_live`` any more; nothing was published.
        RepositoryError: a photo the records name is missing from ``photos_from`` or does not match its hash.
        ConfigError: the settings or records would be refused by screens.
    """
    report = ImportReport(source=source_name)
    result = PublishResult(report)
    with repository.locked():
        if expect_live is not None:
            live = live_state(repository, channel)
            if live != expect_live:
                raise LiveChanged(
                    f"在播名单已从第 {expect_live[0]} 版变为第 {live[0]} 版，未发布；请核对新的差异后再批准",
                    f"the live list changed from version {expect_live[0]} to {live[0]}, so nothing was "
                    "published; check the new differences before approving",
                    live=live,
                )
        revoked = Ledger(repository.directory / "revoked.json").takedowns(channel)
        kept, refusals = _guard(records, revoked.values(), confirmed, settings.utc_offset, None)
        report.problems.extend(refusals)
        playlist = _sign_playlist(repository, channel, kept, revoked, photos_from, now=now, settings=settings)
        result.version = playlist.version
        result.published = len(playlist.records)
        result.photos = len(playlist.photos())
        result.records = playlist.records
        append_history(
            repository.directory / "history.jsonl",
            "publish",
            by=by,
            at=now,
            channel=channel,
            version=playlist.version,
            source=source_name,
            entries=result.published,
            refused_rows=refused_rows + len(refusals),
        )
    return result


def records_to_json(records: Iterable[DebtorRecord]) -> list[dict[str, object]]:
    """The records in the playlist's wire format (``docs/playlist-format.md``), for storage in a database."""
    return [record_json(record) for record in records]


def records_from_json(items: object) -> tuple[DebtorRecord, ...]:
    """Records read back from :func:`records_to_json`, checked exactly as a screen checks a playlist's.

    Raises:
        ContentError: not a list of at most ``MAX_RECORDS`` records, a record breaking a display rule, or
            an entry id appearing twice.
    """
    return decode_records(items, "records")


def _guard(
    records: Iterable[DebtorRecord],
    takedowns: Iterable[Takedown],
    confirmed: frozenset[str],
    offset: dt.timedelta,
    report: ImportReport | None,
) -> tuple[tuple[DebtorRecord, ...], list[Problem]]:
    """The records no takedown in force refuses, and a refusal for each of the others.

    ``report`` gives the refusals their row number and 序号 when the records come from an import.
    """
    guard = _RevocationGuard(takedowns)
    cases = frozenset(normalise_case_number(case) for case in confirmed)
    kept: list[DebtorRecord] = []
    refusals: list[Problem] = []
    for record in records:
        finding = guard.check(record, cases, offset)
        if finding is None:
            kept.append(record)
            continue
        refusals.append(
            Problem(
                Severity.REFUSED,
                finding,
                None if report is None else report.row_numbers.get(record.entry_id),
                "case_number",
                None,
                record.case_number,
                None if report is None else report.serials.get(record.entry_id),
            )
        )
    return tuple(kept), refusals


def _sign_playlist(
    repository: OperatorRepository,
    channel: str,
    records: tuple[DebtorRecord, ...],
    revoked: Mapping[str, Takedown],
    photos_from: Path,
    *,
    now: dt.datetime,
    settings: ChannelSettings,
) -> Playlist:
    """Sign ``records`` as the next playlist with every takedown listed; the caller holds the lock."""
    playlist = Playlist(
        channel=channel,
        version=sharded.live_version(repository, channel) + 1,
        issued=now,
        records=records,
        notices=settings.notices,
        dayparts=settings.dayparts,
        qr_hosts=settings.qr_hosts,
        utc_offset=settings.utc_offset,
        sample=settings.sample,
    )
    files, remove = sharded.playlist_files(repository, playlist, legacy=settings.legacy_playlist)
    # Sign only what every screen will accept: the screens' own decoder is the judge.
    try:
        decode_playlist(files.get(playlist_path(channel)) or encode_playlist(playlist), channel=channel)
        decode_header(files[header_path(channel)], channel=channel)
    except ContentError as error:
        raise ConfigError(
            f"频道设置或内容不合格，屏幕会拒绝，未发布：{error.zh}",
            f"the channel settings or content would be refused by screens, so nothing was published: {error.en}",
        ) from None
    # Every takedown in the ledger stays listed: a screen that missed a revoke and cannot fetch this
    # playlist yet must not show the entry again from its older playlist.
    revocations = Revocations(
        channel=channel,
        version=_current_version(repository, revocations_path(channel)) + 1,
        issued=now,
        playlist_version=playlist.version,
        entries=tuple(
            Revocation(entry_id, taken.reason, taken.at) for entry_id, taken in sorted(revoked.items())
        ),
    )
    # Photos are copied into the served folder before any metadata names them, and deleted again if
    # signing fails, so an unpublished list never leaves photos served. The source keeps its copies (the
    # console keeps them for a rollback).
    copied: list[Path] = []
    try:
        for digest, ref in playlist.photos().items():
            target = repository.photos_dir / digest
            if not target.exists():
                atomic_write(target, _photo_bytes(photos_from, ref))
                copied.append(target)
        fsync_directory(repository.photos_dir)
        files[revocations_path(channel)] = encode_revocations(revocations)
        repository.put_targets(files, now=now, remove=remove)
    except BaseException:
        for target in copied:
            target.unlink(missing_ok=True)
        raise
    collect_photos(repository)
    return playlist


def _photo_bytes(folder: Path, ref: PhotoRef) -> bytes:
    """The photo ``ref`` names, read from ``folder`` and checked against its hash and length."""
    path = folder / ref.sha256
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_PHOTO_BYTES + 1)
    except FileNotFoundError:
        data = b""
    if len(data) != ref.length or hashlib.sha256(data).hexdigest() != ref.sha256:
        raise RepositoryError(
            f"照片 {path} 缺失或已损坏，未发布；请重新上传名单和照片",
            f"the photo {path} is missing or damaged, so nothing was published; upload the list and photos again",
        )
    return data


def current_playlist(repository: OperatorRepository, channel: str) -> Playlist | None:
    """The channel's current signed playlist, decoded, or ``None`` when it was never published."""
    return sharded.read_playlist(repository, channel)


def published_channels(repository: OperatorRepository) -> list[str]:
    """The channels that have a folder of targets, sorted."""
    return sorted(path.name for path in (repository.targets_dir / "channels").glob("*") if path.is_dir())


def _resolve(playlist: Playlist, queries: list[str]) -> list[DebtorRecord]:
    """The records of ``playlist`` that ``queries`` name, one record per query.

    Raises:
        UsageError: a query names no entry or several (the message lists them by name and case number,
            so the operator can narrow it).
    """
    channel = playlist.channel
    chosen: dict[str, DebtorRecord] = {}
    for query in queries:
        found = lookup.find(playlist.records, query, _record_key)
        if not found:
            raise UsageError(
                f"频道 {channel} 当前名单中没有“{query}”；可用 signage find 按姓名或案号查找",
                f"nothing in channel {channel}'s current list matches '{query}'; look it up with signage find",
            )
        if len(found) > 1:
            listed = "；".join(f"{r.debtor.name} {r.case_number}" for r in found[:10])
            raise UsageError(
                f"“{query}”对应 {len(found)} 条：{listed}。请加上案号或姓名以确定是哪一条",
                f"'{query}' matches {len(found)} entries: {listed}. Add the case number or the name to say which",
            )
        chosen[found[0].entry_id] = found[0]
    return list(chosen.values())


def revoke_entries(
    repository: OperatorRepository,
    channel: str,
    queries: list[str],
    *,
    reason: str,
    now: dt.datetime,
    by: str = "",
) -> tuple[Revocations, list[DebtorRecord]]:
    """Take entries down from every screen of ``channel`` with a small signed revocations target.

    ``queries`` name the entries (name, case number in any spelling, or id; see ``signage.operator.publish.lookup``).
    Returns the revocations signed and the records taken down.

    Raises:
        UsageError: a query names no entry of the channel's current playlist, or several.
    """
    reason = clean_text(reason, field_zh="原因", field_en="the reason", length=(2, 200))
    playlist = current_playlist(repository, channel)
    if playlist is None:
        raise UsageError(f"频道 {channel} 尚未发布过", f"the channel {channel} has never been published")
    records = _resolve(playlist, queries)
    entry_ids = [record.entry_id for record in records]
    with repository.locked():
        existing = repository.read_target(revocations_path(channel))
        previous = decode_revocations(existing, channel=channel) if existing else None
        entries = list(previous.entries) if previous else []
        already = {entry.entry_id for entry in entries}
        entries += [Revocation(entry, reason, now) for entry in entry_ids if entry not in already]
        revocations = Revocations(
            channel=channel,
            version=(previous.version if previous else 0) + 1,
            issued=now,
            playlist_version=playlist.version,
            entries=tuple(entries),
        )
        repository.put_targets({revocations_path(channel): encode_revocations(revocations)}, now=now)
        # The ledger changes only once the takedown is signed: a failed revoke must not hide anyone later.
        Ledger(repository.directory / "revoked.json").add(
            channel, [_takedown(record, reason, now, by) for record in records]
        )
        append_history(
            repository.directory / "history.jsonl",
            "revoke",
            by=by,
            at=now,
            channel=channel,
            reason=reason,
            entries=[_history_entry(record) for record in records],
        )
        # A revoked person's photo leaves the served folder at once, unless another entry still uses it.
        revoked = revocations.entry_ids()
        still_used = {
            record.photo.sha256
            for record in playlist.records
            if record.photo is not None and record.entry_id not in revoked
        }
        for record in records:
            if record.photo is not None and record.photo.sha256 not in still_used:
                (repository.photos_dir / record.photo.sha256).unlink(missing_ok=True)
        fsync_directory(repository.photos_dir)
    return revocations, records


def reinstate_entries(
    repository: OperatorRepository,
    channel: str,
    queries: list[str],
    *,
    reason: str,
    now: dt.datetime,
    by: str = "",
) -> list[Takedown]:
    """Lift takedowns, so the next publish may list these entries again; recorded in the history.

    Screens are not changed: the entry comes back only when a later publish lists it.

    Raises:
        UsageError: a query names no takedown of the channel, or several.
    """
    reason = clean_text(reason, field_zh="原因", field_en="the reason", length=(2, 200))
    with repository.locked():
        ledger = Ledger(repository.directory / "revoked.json")
        takedowns = list(ledger.takedowns(channel).values())
        chosen: dict[str, Takedown] = {}
        for query in queries:
            found = lookup.find(takedowns, query, _takedown_key)
            if len(found) != 1:
                listed = "；".join(f"{t.name} {t.case_number}".strip() or t.entry_id for t in found[:10])
                raise UsageError(
                    f"频道 {channel} 的撤回记录中，“{query}”对应 {len(found)} 条{('：' + listed) if found else ''}",
                    f"'{query}' matches {len(found)} takedowns of channel {channel}"
                    f"{(': ' + listed) if found else ''}",
                )
            chosen[found[0].entry_id] = found[0]
        removed = ledger.remove(channel, chosen)
        append_history(
            repository.directory / "history.jsonl",
            "reinstate",
            by=by,
            at=now,
            channel=channel,
            reason=reason,
            entries=[
                {
                    "id": t.entry_id,
                    "name": t.name,
                    "case_number": t.case_number,
                    "revoked_at": t.at.isoformat(),
                }
                for t in removed
            ],
        )
    return removed


def _record_key(record: DebtorRecord) -> tuple[str, str, str]:
    return record.entry_id, record.debtor.name, record.case_number


def _takedown_key(taken: Takedown) -> tuple[str, str, str]:
    return taken.entry_id, taken.name, taken.case_number


def _takedown(record: DebtorRecord, reason: str, now: dt.datetime, by: str) -> Takedown:
    identity = identity_of(record.case_number, record.debtor)
    return Takedown(
        entry_id=record.entry_id,
        case_number=identity.case_number,
        identifier=identity.identifier,
        name=record.debtor.name,
        reason=reason,
        at=now,
        by=by,
    )


def _history_entry(record: DebtorRecord) -> dict[str, str]:
    return {"id": record.entry_id, "name": record.debtor.name, "case_number": record.case_number}


def collect_photos(repository: OperatorRepository) -> int:
    """Delete served photos no kept playlist references; returns how many were deleted."""
    referenced: set[str] = set()
    # Single files and shards alike: a photo stays while any kept file of either form names it.
    kept = [
        *repository.targets_dir.glob("channels/*/*.playlist.json"),
        *repository.targets_dir.glob("channels/*/shards/*.json"),
    ]
    for playlist_file in kept:
        for record in json.loads(playlist_file.read_bytes())["records"]:
            if record["photo"]:
                referenced.add(record["photo"]["sha256"])
    deleted = 0
    for photo in repository.photos_dir.iterdir():
        if photo.name not in referenced and not photo.name.startswith("."):
            photo.unlink()
            deleted += 1
    fsync_directory(repository.photos_dir)
    return deleted


def _current_version(repository: OperatorRepository, path: str) -> int:
    data = repository.read_target(path)
    return 0 if data is None else int(json.loads(data)["version"])


class _RevocationGuard:
    """Refuses rows that are a takedown in force, or one character away from one (a typo)."""

    def __init__(self, takedowns: Iterable[Takedown]) -> None:
        self._by_id: dict[str, Takedown] = {}
        self._by_identifier: dict[str, list[Takedown]] = {}
        self._by_case: dict[str, list[Takedown]] = {}
        for taken in takedowns:
            self._by_id[taken.entry_id] = taken
            if taken.identity is not None:
                self._by_identifier.setdefault(taken.identifier, []).append(taken)
                self._by_case.setdefault(taken.case_number, []).append(taken)

    def check(self, record: DebtorRecord, confirmed: frozenset[str], offset: dt.timedelta) -> Finding | None:
        exact = self._by_id.get(record.entry_id)
        if exact is not None:
            return _revoked(record, exact, offset)
        identity = identity_of(record.case_number, record.debtor)
        if identity.case_number in confirmed:
            return None
        for taken in self._by_identifier.get(identity.identifier, []):
            if _one_apart(taken.case_number, identity.case_number):
                return _revoked_similar(record, taken, offset, "case")
        for taken in self._by_case.get(identity.case_number, []):
            if _one_apart(taken.identifier, identity.identifier) and _same_name(
                taken.name, record.debtor.name
            ):
                return _revoked_similar(record, taken, offset, "identifier")
        return None


def _one_apart(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` differ by exactly one inserted, deleted or replaced character."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    shorter, longer = sorted((a, b), key=len)
    return any(longer[:position] + longer[position + 1 :] == shorter for position in range(len(longer)))


def _same_name(a: str, b: str) -> bool:
    return "".join(a.split()) == "".join(b.split())


def _when_who(taken: Takedown, offset: dt.timedelta) -> tuple[str, str]:
    when = local_time_text(taken.at, offset)
    who_zh = f"由 {taken.by} " if taken.by else ""
    who_en = f" by {taken.by}" if taken.by else ""
    return (
        f"已于 {when} {who_zh}撤回（原因：{taken.reason}）",
        f"was taken down on {when}{who_en} ({taken.reason})",
    )


def _revoked(record: DebtorRecord, taken: Takedown, offset: dt.timedelta) -> Finding:
    zh, en = _when_who(taken, offset)
    return Finding(
        "entry.revoked",
        f"{record.debtor.name}（{record.case_number}）{zh}，本次不发布，其余各行照常发布",
        f"{record.debtor.name} ({record.case_number}) {en}; this row is not published, the others are",
        f"如确需重新公布，先运行 signage reinstate --channel 频道 “{record.case_number}” --reason 原因",
        f"to list it again, first run signage reinstate --channel ID '{record.case_number}' --reason TEXT",
    )


def _revoked_similar(record: DebtorRecord, taken: Takedown, offset: dt.timedelta, differs: str) -> Finding:
    zh, en = _when_who(taken, offset)
    what_zh, what_en = ("案号", "case number") if differs == "case" else ("证件号码", "ID number")
    return Finding(
        "entry.revoked_similar",
        f"{record.debtor.name}（{record.case_number}）与已撤回的 {taken.name}（{taken.case_number}）只差"
        f"{what_zh}中的一个字符，可能是笔误；该条目{zh}。本行不发布",
        f"{record.debtor.name} ({record.case_number}) differs from {taken.name} ({taken.case_number}) by one "
        f"character of the {what_en}, which may be a typo; that entry {en}. This row is not published",
        f"请核对{what_zh}。如确属不同案件，发布时加上 --confirm-distinct “{record.case_number}”",
        f"check the {what_en}. If it really is a different case, publish with --confirm-distinct "
        f"'{record.case_number}'",
    )


def _hosts(value: Any) -> list[str]:
    # Host names are case-insensitive; the playlist carries them in lower case.
    hosts = (
        [host.lower() if isinstance(host, str) else host for host in value]
        if isinstance(value, list)
        else None
    )
    if hosts is None or not all(isinstance(host, str) and is_host_name(host) for host in hosts):
        raise ValueError(
            'qr_hosts must be a list of host names such as ["zxgk.court.gov.cn"] (no https://, no paths)'
        )
    return hosts


def _boolean(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{key} must be true or false")
    return value


def _offset(value: Any) -> dt.timedelta:
    if isinstance(value, bool) or not isinstance(value, int | float) or not -12 <= value <= 14:
        raise ValueError("utc_offset_hours must be a number from -12 to 14 (China: 8)")
    return dt.timedelta(hours=value)


def _daypart(item: Any) -> Daypart:
    if not isinstance(item, dict):
        raise ValueError('each [[daypart]] needs start and end, e.g. start = "07:00" and end = "22:00"')
    days = item.get("days", ["mon", "tue", "wed", "thu", "fri", "sat", "sun"])
    start, end = item.get("start"), item.get("end")
    clock = r"([01]\d|2[0-3]):[0-5]\d"
    if not (
        isinstance(start, str)
        and isinstance(end, str)
        and re.fullmatch(clock, start)
        and re.fullmatch(clock, end)
    ):
        raise ValueError('daypart start and end must be "HH:MM" times, e.g. "07:00"')
    if start == end:
        raise ValueError(f"daypart {start}-{end} is empty: start and end must differ")
    if not isinstance(days, list) or not days or not all(day in _WEEKDAY_NAMES for day in days):
        raise ValueError(f"daypart days must be some of {', '.join(_WEEKDAY_NAMES)}")
    return Daypart(
        start=dt.time.fromisoformat(start), end=dt.time.fromisoformat(end), weekdays=parse_weekdays(days)
    )


def _notice(item: Any) -> Notice:
    if not isinstance(item, dict):
        raise ValueError("each [[notice]] needs id, title and body")

    def moment(key: str) -> dt.datetime | None:
        value = item.get(key)
        if value is None:
            return None
        if not isinstance(value, dt.datetime) or value.tzinfo is None:
            raise ValueError(
                f"notice {key} must be a date-time with its offset, e.g. 2026-12-01T08:00:00+08:00"
            )
        return value

    notice_id = item.get("id")
    if not isinstance(notice_id, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", notice_id):
        raise ValueError(f"notice id {notice_id!r} must be letters, digits, '.', '_' or '-' (e.g. n1)")
    return Notice(
        notice_id=notice_id,
        title=clean_text(str(item["title"]), field_zh="标题", field_en="title", length=(1, 60)),
        body=clean_notice_body(str(item["body"])),
        starts=moment("starts"),
        ends=moment("ends"),
    )


@dataclass(frozen=True)
class EntryMatch:
    """One entry ``signage find`` lists.

    Attributes:
        channel: The channel.
        status: ``live`` (on screens), ``expired`` (its term ended; screens hide it) or ``revoked``.
        name: The debtor's name.
        case_number: The canonical case number.
        court: The executing court, or ``""`` for a takedown no longer in the playlist.
        version: The playlist version it is in, or ``None``.
        entry_id: The entry id, for scripts.
        takedown: The takedown in force, for revoked entries.
    """

    channel: str
    status: str
    name: str
    case_number: str
    court: str
    version: int | None
    entry_id: str
    takedown: Takedown | None = None

    def text(self) -> str:
        """One line for the terminal, in China time."""
        labels = {"live": "在播 live", "expired": "已到期 expired", "revoked": "已撤回 revoked"}
        line = f"{self.name}\t{self.case_number}\t{self.court or '-'}\t{labels[self.status]}\t频道 channel {self.channel}"
        line += (
            f"\t第 {self.version} 版 version {self.version}"
            if self.version is not None
            else "\t不在当前名单 not in the current list"
        )
        if self.takedown is not None:
            by = f" {self.takedown.by}" if self.takedown.by else ""
            line += f"\t撤回 revoked {local_time_text(self.takedown.at)}{by}：{self.takedown.reason}"
        return line

    def as_json(self) -> dict[str, object]:
        """The match for scripts (``--json``)."""
        document: dict[str, object] = {
            "channel": self.channel,
            "status": self.status,
            "name": self.name,
            "case_number": self.case_number,
            "court": self.court,
            "version": self.version,
            "id": self.entry_id,
        }
        if self.takedown is not None:
            document["revoked"] = {
                "at": self.takedown.at.isoformat(),
                "by": self.takedown.by,
                "reason": self.takedown.reason,
            }
        return document


def find_entries(
    repository: OperatorRepository, query: str, *, channel: str | None, now: dt.datetime
) -> list[EntryMatch]:
    """Every entry of ``channel`` (or of every channel) that ``query`` names, live, expired or revoked."""
    ledger = Ledger(repository.directory / "revoked.json")
    channels = (
        [channel] if channel is not None else sorted({*published_channels(repository), *ledger.channels()})
    )
    found: list[EntryMatch] = []
    for name in channels:
        takedowns = ledger.takedowns(name)
        playlist = current_playlist(repository, name)
        listed: set[str] = set()
        if playlist is not None:
            today = (now + playlist.utc_offset).date()
            for record in lookup.find(playlist.records, query, _record_key):
                listed.add(record.entry_id)
                taken = takedowns.get(record.entry_id)
                status = "revoked" if taken else "live" if record.is_displayable(today) else "expired"
                found.append(
                    EntryMatch(
                        name,
                        status,
                        record.debtor.name,
                        record.case_number,
                        record.court,
                        playlist.version,
                        record.entry_id,
                        taken,
                    )
                )
        gone = [taken for entry_id, taken in takedowns.items() if entry_id not in listed]
        for taken in lookup.find(gone, query, _takedown_key):
            found.append(
                EntryMatch(name, "revoked", taken.name, taken.case_number, "", None, taken.entry_id, taken)
            )
    return found
