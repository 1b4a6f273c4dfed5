"""Publishing use cases: a court export becomes a channel's signed playlist; takedowns become revocations.

Channel settings (allowed QR hosts, dayparts, notices, the sample mark) live in an optional TOML file,
``DIR/channels/<ID>.toml`` by default, so court staff edit one small file instead of command options.
The operator's ledger ``DIR/revoked.json`` remembers every takedown: a later publish from a stale export
cannot bring a revoked entry back (it is left out and reported), until the operator reinstates it.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from signage.errors import ConfigError, ContentError, UsageError
from signage.fsutil import atomic_write, fsync_directory
from signage.importer import ImportOptions, import_file
from signage.photos import DirectorySink
from signage.playlist import (
    CHINA_STANDARD_TIME,
    Daypart,
    Playlist,
    Revocation,
    Revocations,
    clean_notice_body,
    decode_playlist,
    decode_revocations,
    encode_playlist,
    encode_revocations,
    is_channel_id,
    is_host_name,
    parse_weekdays,
)
from signage.publish.repo import OperatorRepository, playlist_path, revocations_path
from signage.records import Notice
from signage.report import ImportReport, Problem, Severity
from signage.rules import Finding, RuleViolation
from signage.rules.idcard import MaskPolicy
from signage.rules.text import clean_text

_WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SETTINGS_KEYS = {"qr_hosts", "sample", "utc_offset_hours", "daypart", "notice"}


@dataclass(frozen=True)
class ChannelSettings:
    """What a channel publishes besides its records.

    Attributes:
        qr_hosts: Hosts QR links may point to.
        sample: Mark every slide 示例 / SAMPLE.
        utc_offset: Local time of the channel's screens.
        dayparts: Windows for debtor slides; empty means all day.
        notices: Operator notices.
    """

    qr_hosts: frozenset[str] = frozenset({"zxgk.court.gov.cn"})
    sample: bool = False
    utc_offset: dt.timedelta = CHINA_STANDARD_TIME
    dayparts: tuple[Daypart, ...] = ()
    notices: tuple[Notice, ...] = field(default=())


@dataclass
class PublishResult:
    """What a publish did.

    Attributes:
        report: The import report, with left-out revoked entries added as warnings.
        version: The new playlist version, or ``None`` when nothing was published.
        published: Entries in the published playlist (revoked ones are left out).
        photos: Photos the playlist references.
    """

    report: ImportReport
    version: int | None = None
    published: int = 0
    photos: int = 0


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
) -> PublishResult:
    """Import ``source`` and publish it as ``channel``'s next playlist.

    Nothing is published when a row is refused, unless ``allow_partial``; the report says why either way.
    """
    local_today = (now + settings.utc_offset).date()
    staging = repository.directory / ".staging-photos"
    report = import_file(
        source,
        ImportOptions(
            today=local_today,
            policy=policy,
            photos=photos,
            sink=DirectorySink(staging),
            progress=progress,
        ),
    )
    result = PublishResult(report)
    try:
        if not report.refused_rows or allow_partial:
            playlist = _publish_report(repository, channel, report, staging, now=now, settings=settings)
            result.version = playlist.version
            result.published = len(playlist.records)
            result.photos = len(playlist.photos())
    finally:
        for leftover in staging.iterdir():
            leftover.unlink()
    return result


def _publish_report(
    repository: OperatorRepository,
    channel: str,
    report: ImportReport,
    staging: Path,
    *,
    now: dt.datetime,
    settings: ChannelSettings,
) -> Playlist:
    with repository.locked():
        ledger = _Ledger(repository.directory / "revoked.json")
        revoked = ledger.entries(channel)
        records = []
        for record in report.records:
            if record.entry_id in revoked:
                report.problems.append(_left_out(record.entry_id, revoked[record.entry_id]))
            else:
                records.append(record)
        playlist = Playlist(
            channel=channel,
            version=_current_version(repository, playlist_path(channel)) + 1,
            issued=now,
            records=tuple(records),
            notices=settings.notices,
            dayparts=settings.dayparts,
            qr_hosts=settings.qr_hosts,
            utc_offset=settings.utc_offset,
            sample=settings.sample,
        )
        encoded = encode_playlist(playlist)
        # Sign only what every screen will accept: the screens' own decoder is the judge.
        try:
            decode_playlist(encoded, channel=channel)
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
                Revocation(entry_id, entry["reason"], dt.datetime.fromisoformat(entry["at"]))
                for entry_id, entry in sorted(revoked.items())
            ),
        )
        # Photos move from staging into the served folder before any metadata names them, and back out
        # if signing fails, so an unpublished list never leaves photos served.
        moved = []
        for digest in playlist.photos():
            target = repository.photos_dir / digest
            if not target.exists():
                (staging / digest).replace(target)
                moved.append(target)
        fsync_directory(repository.photos_dir)
        try:
            repository.put_targets(
                {playlist_path(channel): encoded, revocations_path(channel): encode_revocations(revocations)},
                now=now,
            )
        except BaseException:
            for target in moved:
                target.unlink(missing_ok=True)
            raise
        collect_photos(repository)
    return playlist


def revoke_entries(
    repository: OperatorRepository,
    channel: str,
    entry_ids: list[str],
    *,
    reason: str,
    now: dt.datetime,
) -> Revocations:
    """Take entries down from every screen of ``channel`` with a small signed revocations target.

    Raises:
        UsageError: an entry id is not in the channel's current playlist, or the channel has none.
    """
    reason = clean_text(reason, field_zh="原因", field_en="the reason", length=(2, 200))
    current = repository.read_target(playlist_path(channel))
    if current is None:
        raise UsageError(f"频道 {channel} 尚未发布过", f"the channel {channel} has never been published")
    document = json.loads(current)
    known = {record["id"]: record for record in document["records"]}
    unknown = [entry for entry in entry_ids if entry not in known]
    if unknown:
        raise UsageError(
            f"频道 {channel} 当前名单中没有这些编号：{', '.join(unknown)}；请核对编号（signage status 可列出）",
            f"these entry ids are not in channel {channel}'s current playlist: {', '.join(unknown)}; "
            "check them against the published list",
        )
    with repository.locked():
        existing = repository.read_target(revocations_path(channel))
        previous = decode_revocations(existing, channel=channel) if existing else None
        entries = list(previous.entries) if previous else []
        already = {entry.entry_id for entry in entries}
        entries += [
            Revocation(entry, reason, now) for entry in dict.fromkeys(entry_ids) if entry not in already
        ]
        revocations = Revocations(
            channel=channel,
            version=(previous.version if previous else 0) + 1,
            issued=now,
            playlist_version=document["version"],
            entries=tuple(entries),
        )
        repository.put_targets({revocations_path(channel): encode_revocations(revocations)}, now=now)
        # The ledger changes only once the takedown is signed: a failed revoke must not hide anyone later.
        _Ledger(repository.directory / "revoked.json").add(channel, entry_ids, reason, now)
        # A revoked person's photo leaves the served folder at once, unless another entry still uses it.
        still_used = {
            record["photo"]["sha256"]
            for record in document["records"]
            if record["photo"] and record["id"] not in revocations.entry_ids()
        }
        for entry in entry_ids:
            photo = known[entry]["photo"]
            if photo and photo["sha256"] not in still_used:
                (repository.photos_dir / photo["sha256"]).unlink(missing_ok=True)
        fsync_directory(repository.photos_dir)
    return revocations


def reinstate_entries(repository: OperatorRepository, channel: str, entry_ids: list[str]) -> None:
    """Forget takedowns in the ledger, so the next publish may list these entries again."""
    _Ledger(repository.directory / "revoked.json").remove(channel, entry_ids)


def collect_photos(repository: OperatorRepository) -> int:
    """Delete served photos no kept playlist references; returns how many were deleted."""
    referenced: set[str] = set()
    for playlist_file in repository.targets_dir.glob("channels/*/*.playlist.json"):
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


class _Ledger:
    """The operator's own record of takedowns, per channel: ``{channel: {entry_id: {reason, at}}}``."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._data: dict[str, dict[str, dict[str, str]]] = (
            json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        )

    def entries(self, channel: str) -> dict[str, dict[str, str]]:
        return self._data.get(channel, {})

    def add(self, channel: str, entry_ids: list[str], reason: str, now: dt.datetime) -> None:
        for entry in entry_ids:
            self._data.setdefault(channel, {})[entry] = {"reason": reason, "at": now.isoformat()}
        self._save()

    def remove(self, channel: str, entry_ids: list[str]) -> None:
        for entry in entry_ids:
            self._data.get(channel, {}).pop(entry, None)
        self._save()

    def _save(self) -> None:
        atomic_write(self._path, json.dumps(self._data, ensure_ascii=False, indent=1).encode(), mode=0o600)


def _left_out(entry_id: str, revoked: dict[str, str]) -> Problem:
    return Problem(
        Severity.WARNING,
        Finding(
            "entry.revoked",
            f"编号 {entry_id} 已于 {revoked['at'][:10]} 撤回（{revoked['reason']}），本次不发布",
            f"the entry {entry_id} was revoked on {revoked['at'][:10]} ({revoked['reason']}); it is left out",
            "如确需重新公布，先运行 signage revoke --reinstate",
            "to list it again, run signage revoke --reinstate first",
        ),
        field="entry_id",
        value=entry_id,
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
