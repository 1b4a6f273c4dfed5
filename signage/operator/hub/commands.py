"""The operator's fleet commands: ``screens add|list|remove``, ``fleet`` and ``report``.

This is the command-line side of the hub, like :mod:`signage.cli` (which adds these commands with
:func:`add_fleet_commands`). Every command starts Django for its repository first
(:func:`signage.operator.hub.bootstrap.setup`) and reads the screens' telemetry through the ORM
(:mod:`signage.operator.hub.screens.records`, :mod:`signage.operator.hub.screens.queries`); each channel's current versions come
from :class:`signage.operator.hub.channels.RepositoryChannels`.

Every command takes ``(arguments, out, err)`` and returns an :class:`~signage.core.errors.ExitStatus`; the
time comes from the ``clock`` given to :func:`add_fleet_commands`, never from inside.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import functools
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from signage.core.errors import ExitStatus, UsageError
from signage.operator.hub.channels import RepositoryChannels
from signage.operator.hub.fleet import (
    acknowledgements,
    as_json,
    render_acknowledgements,
    render_text,
    single_file_warning,
)
from signage.operator.hub.screens.ingest import china_day, hash_token, new_token
from signage.sync.config import ID_RE

if TYPE_CHECKING:
    # Only a type here: the records module holds Django models, importable only once Django is set up.
    from signage.operator.hub.screens.records import ExposureRow

Clock = Callable[[], dt.datetime]
#: Days a report covers when ``--from`` is not given: the last week, today included.
DEFAULT_REPORT_DAYS = 7

_REPORT_COLUMNS = ("day", "screen_id", "entry_id", "name", "case_number", "plays", "seconds")


def add_fleet_commands(commands: Any, *, clock: Clock) -> None:
    """Add ``screens``, ``fleet`` and ``report`` to the ``signage`` subcommands.

    Args:
        commands: What ``ArgumentParser.add_subparsers()`` returned.
        clock: The command line's clock (``cli._now``).
    """
    screens = commands.add_parser(
        "screens",
        help="register screens and issue their telemetry tokens",
        description="Each screen posts heartbeats and proof of play to the hub with its own token. The hub "
        "keeps only a hash of it, so a lost token is replaced (screens add --replace), never recovered.",
    )
    actions = screens.add_subparsers(dest="screens_command", required=True, metavar="ACTION")
    add = actions.add_parser(
        "add",
        help="register a screen and print its token once",
        description="Register SCREEN_ID and print its new token on standard output, once; the instructions "
        "go to standard error, so `signage screens add --repo DIR bus-0412 > bus-0412.token` keeps the token "
        "alone in a file.",
    )
    add.add_argument("--repo", type=Path, required=True, metavar="DIR")
    add.add_argument("screen_id", metavar="SCREEN_ID", help="the screen_id in the screen's config")
    add.add_argument(
        "--replace",
        action="store_true",
        help="issue a new token for a registered screen (the old one stops working)",
    )
    add.add_argument(
        "--name", default="", metavar="TEXT", help="a name for the fleet view, e.g. 济南站 1 号屏"
    )
    add.add_argument(
        "--location", default="", metavar="TEXT", help="where the screen hangs, e.g. 候车大厅东侧"
    )
    add.set_defaults(handler=functools.partial(screens_add, clock=clock))
    listing = actions.add_parser("list", help="list the registered screens")
    listing.add_argument("--repo", type=Path, required=True, metavar="DIR")
    listing.set_defaults(handler=screens_list)
    remove = actions.add_parser(
        "remove",
        help="forget a screen's token (its plays stay in reports)",
        description="The screen's token stops working at once; its proof of play stays for reports.",
    )
    remove.add_argument("--repo", type=Path, required=True, metavar="DIR")
    remove.add_argument("screen_id", metavar="SCREEN_ID")
    remove.set_defaults(handler=screens_remove)

    fleet = commands.add_parser(
        "fleet",
        help="show every screen: online, stale or offline, version lag, freshness, clock, takedowns",
        description="One line per registered screen from its latest heartbeat: online (< 3 min), stale "
        "(< 30 min) or offline; playlist versions behind; how long its signed content stays valid; its "
        "clock offset; and the takedowns (revocations) it has not applied yet.",
    )
    fleet.add_argument("--repo", type=Path, required=True, metavar="DIR")
    fleet.add_argument("--json", action="store_true", help="print the statuses as JSON")
    fleet.add_argument(
        "--entry",
        metavar="QUERY",
        help="only: which screens have and have not applied the takedown of this entry (a case number in any "
        "spelling, a name, or an id)",
    )
    fleet.set_defaults(handler=functools.partial(fleet_command, clock=clock))

    report = commands.add_parser(
        "report",
        help="exposure counts (曝光量) per entry, screen and day, as a table or CSV",
        description="Plays and seconds on screen per entry, screen and day (China Standard Time), from the "
        "screens' proof of play. Days are inclusive; by default the last 7 days, today included.",
    )
    report.add_argument("--repo", type=Path, required=True, metavar="DIR")
    report.add_argument("--from", dest="day_from", type=_day, metavar="DATE", help="first day, YYYY-MM-DD")
    report.add_argument(
        "--to", dest="day_to", type=_day, metavar="DATE", help="last day, YYYY-MM-DD (default: today)"
    )
    report.add_argument("--csv", action="store_true", help="CSV (UTF-8) instead of a table")
    report.add_argument(
        "--entry", metavar="QUERY", help="only this entry (a case number in any spelling, a name, or an id)"
    )
    report.add_argument(
        "--rollup",
        action="store_true",
        help="first roll the raw plays of finished days up into daily totals and delete raw plays older than "
        "raw_play_days (DIR/hub.toml, 30 by default), as the running hub does every hour; totals do not change",
    )
    report.set_defaults(handler=functools.partial(report_command, clock=clock))


# --- the commands -------------------------------------------------------------------------------------


def screens_add(arguments: argparse.Namespace, out: TextIO, err: TextIO, *, clock: Clock) -> ExitStatus:
    """``signage screens add --repo DIR SCREEN_ID [--replace]``: register a screen, print its token once."""
    screen_id = str(arguments.screen_id)
    if not ID_RE.fullmatch(screen_id):
        raise UsageError(
            f"屏幕编号 “{screen_id}” 无效：只能用 1–64 个小写字母、数字和“.”“_”“-”，且以字母或数字开头",
            f"the screen id {screen_id!r} is not valid: use 1-64 lowercase letters, digits, '.', '_' or '-', "
            "starting with a letter or digit",
        )
    name, location = _label(arguments.name, "--name"), _label(arguments.location, "--location")
    token = new_token()
    records = _records(arguments.repo)
    records.add_screen(
        screen_id,
        hash_token(token),
        added_at=clock(),
        replace=arguments.replace,
        name=name,
        location=location,
    )
    print(token, file=out, flush=True)
    print(
        f"已登记屏幕 {screen_id}。上面的令牌只显示这一次，集线器只保存其哈希值。\n"
        f"registered screen {screen_id}. The token above is shown this once; the hub keeps only its hash.\n"
        "把它写入该屏幕的令牌文件 /etc/signage/token（一行，root:signage，权限 0640："
        "install -m 640 -o root -g signage token /etc/signage/token）；丢失后用 --replace 重新发放。\n"
        "Put it in the screen's token file /etc/signage/token (one line, root:signage, mode 0640: "
        "install -m 640 -o root -g signage token /etc/signage/token); if it is lost, issue a new one with "
        "--replace.",
        file=err,
    )
    return ExitStatus.OK


def screens_list(arguments: argparse.Namespace, out: TextIO, err: TextIO) -> ExitStatus:
    """``signage screens list --repo DIR``: the registered screens and when each was last heard from."""
    records = _records(arguments.repo)
    screens = records.screens()
    seen = {stored.screen_id: stored.received_at for stored in records.latest_heartbeats()}
    if not screens:
        print("尚未登记任何屏幕 / no screens registered yet", file=out)
        return ExitStatus.OK
    rows = [("SCREEN", "NAME", "LOCATION", "TOKEN ISSUED (UTC)", "LAST HEARTBEAT (UTC)")]
    rows += [
        (
            s.screen_id,
            s.name or "-",
            s.location or "-",
            _utc(s.added_at),
            _utc(seen[s.screen_id]) if s.screen_id in seen else "never",
        )
        for s in screens
    ]
    out.write(_table(rows))
    return ExitStatus.OK


def screens_remove(arguments: argparse.Namespace, out: TextIO, err: TextIO) -> ExitStatus:
    """``signage screens remove --repo DIR SCREEN_ID``: the token stops working; plays stay."""
    removed = _records(arguments.repo).remove_screen(arguments.screen_id)
    if not removed:
        raise UsageError(
            f"没有登记过屏幕 {arguments.screen_id}（signage screens list 可列出）",
            f"no screen {arguments.screen_id} is registered (see: signage screens list)",
        )
    print(
        f"已注销屏幕 {arguments.screen_id}，其令牌已失效 / removed {arguments.screen_id}; its token no longer works",
        file=out,
    )
    return ExitStatus.OK


def fleet_command(arguments: argparse.Namespace, out: TextIO, err: TextIO, *, clock: Clock) -> ExitStatus:
    """``signage fleet --repo DIR [--json | --entry ENTRY_ID]``."""
    _records(arguments.repo)
    from signage.operator.hub.screens.queries import screen_statuses

    channels = RepositoryChannels(arguments.repo)()
    now = clock()
    statuses = screen_statuses(now, channels)
    if arguments.entry:
        entry_id, label = _resolve_entry(entry_names(arguments.repo), arguments.entry)
        out.write(render_acknowledgements(acknowledgements(statuses, channels, entry_id), label))
    elif arguments.json:
        out.write(json.dumps([as_json(status) for status in statuses], ensure_ascii=False, indent=2) + "\n")
    else:
        out.write(render_text(statuses, now=now, names=entry_names(arguments.repo)))
    return ExitStatus.OK


def single_file_readers(repo_dir: Path, channel: str, now: dt.datetime) -> str:
    """The warning ``signage publish`` prints when ``channel``'s ``legacy_playlist`` is off while screens
    heard from in the last 7 days still read the single file (naming them); empty when none does, or when
    ``repo_dir`` has no hub database (no screen reports to it, so nothing is known)."""
    from signage.operator.hub.command_acts import has_hub_database

    if not has_hub_database(repo_dir):
        return ""
    _records(repo_dir)
    from signage.operator.hub.screens.queries import screen_statuses

    statuses = screen_statuses(now, RepositoryChannels(repo_dir)())
    return single_file_warning(channel, statuses, now=now)


def report_command(arguments: argparse.Namespace, out: TextIO, err: TextIO, *, clock: Clock) -> ExitStatus:
    """``signage report --repo DIR [--from DATE] [--to DATE] [--csv]``: exposure per entry, screen, day."""
    day_to = arguments.day_to or china_day(clock())
    day_from = arguments.day_from or day_to - dt.timedelta(days=DEFAULT_REPORT_DAYS - 1)
    if day_from > day_to:
        raise UsageError(
            f"开始日期 {day_from} 晚于结束日期 {day_to}", f"--from {day_from} is after --to {day_to}"
        )
    records = _records(arguments.repo)
    if arguments.rollup:
        _roll_up(arguments.repo, clock(), err)
    rows = records.exposure(day_from, day_to)
    names = entry_names(arguments.repo)
    if arguments.entry:
        entry_id, _ = _resolve_entry(names, arguments.entry)
        rows = [row for row in rows if row.entry_id == entry_id]
    out.write(
        render_report_csv(rows, names) if arguments.csv else render_report(rows, day_from, day_to, names)
    )
    return ExitStatus.OK


def _roll_up(repo_dir: Path, now: dt.datetime, err: TextIO) -> None:
    """The hub's roll-up and retention, by hand (Django is set up); says what it did on ``err``."""
    from signage.operator.hub.options import load_options
    from signage.operator.hub.screens import retention

    raw_play_days = load_options(repo_dir).raw_play_days
    done = retention.maintain(china_day(now), now, raw_play_days=raw_play_days)
    err.write(
        f"汇总：{done.rolled_plays} 条播放计入 {done.aggregates} 行每日统计；删除 {raw_play_days} 天前的原始播放 "
        f"{done.deleted_plays} 条、批次 {done.deleted_batches} 个\n"
        f"roll-up: {done.rolled_plays} plays into {done.aggregates} daily rows; deleted {done.deleted_plays} raw "
        f"plays and {done.deleted_batches} batches older than {raw_play_days} days\n"
    )


def _resolve_entry(names: Mapping[str, tuple[str, str]], query: str) -> tuple[str, str]:
    """The entry id a query names among ``names`` (:func:`entry_names`), and how to show it.

    A query that names nothing is taken as an entry id as it stands (a takedown's id from a report).

    Raises:
        UsageError: the query names several entries.
    """
    from signage.operator.publish import lookup

    found = lookup.find(names.items(), query, lambda item: (item[0], *item[1]))
    if len(found) > 1:
        listed = "；".join(f"{name} {case}" for _, (name, case) in found[:10])
        raise UsageError(
            f"“{query}”对应 {len(found)} 条：{listed}。请加上案号或姓名",
            f"'{query}' matches {len(found)} entries: {listed}. Add the case number or the name",
        )
    if not found:
        return query, query
    entry_id, (name, case) = found[0]
    return entry_id, f"{name} {case}"


def entry_names(repo_dir: Path) -> dict[str, tuple[str, str]]:
    """Entry id -> (name, case number), from every channel's current playlist and the takedown ledger."""
    from signage.operator.publish.channel import current_playlist, published_channels
    from signage.operator.publish.ledger import Ledger
    from signage.operator.publish.repo import OperatorRepository

    repository = OperatorRepository(repo_dir)
    names: dict[str, tuple[str, str]] = {}
    ledger = Ledger(repo_dir / "revoked.json")
    for channel in ledger.channels():
        for taken in ledger.takedowns(channel).values():
            names[taken.entry_id] = (taken.name, taken.case_number)
    for channel in published_channels(repository):
        playlist = current_playlist(repository, channel)
        if playlist is not None:
            for record in playlist.records:
                names[record.entry_id] = (record.debtor.name, record.case_number)
    return names


def render_report(
    rows: Sequence[ExposureRow],
    day_from: dt.date,
    day_to: dt.date,
    names: Mapping[str, tuple[str, str]] | None = None,
) -> str:
    """Exposure as a text table with a total line."""
    heading = (
        f"曝光量（按条目、屏幕、日期；北京时间）{day_from} 至 {day_to}\n"
        f"exposure (plays and seconds on screen) per entry, screen and day (China Standard Time), "
        f"{day_from} to {day_to}\n"
    )
    if not rows:
        return heading + "没有播放记录 / no plays recorded in these days\n"
    known = names or {}
    table = [("DAY", "SCREEN", "NAME", "CASE", "PLAYS", "SECONDS")]
    table += [
        (
            r.day.isoformat(),
            r.screen_id,
            *known.get(r.entry_id, (r.entry_id, "")),
            str(r.plays),
            f"{r.seconds:.0f}",
        )
        for r in rows
    ]
    plays, seconds = sum(r.plays for r in rows), sum(r.milliseconds for r in rows) / 1000
    table.append(("total", "", "", "", str(plays), f"{seconds:.0f}"))
    return heading + "\n" + _table(table, numeric=(4, 5))


def render_report_csv(rows: Sequence[ExposureRow], names: Mapping[str, tuple[str, str]] | None = None) -> str:
    """Exposure as CSV: ``day,screen_id,entry_id,name,case_number,plays,seconds`` (seconds with milliseconds)."""
    known = names or {}
    lines: list[str] = []
    writer = csv.writer(_LineSink(lines), lineterminator="\n")
    writer.writerow(_REPORT_COLUMNS)
    for row in rows:
        name, case = known.get(row.entry_id, ("", ""))
        writer.writerow(
            (row.day.isoformat(), row.screen_id, row.entry_id, name, case, row.plays, f"{row.seconds:.3f}")
        )
    return "".join(lines)


# --- helpers ------------------------------------------------------------------------------------------


def _records(repo_dir: Path) -> Any:
    """Django set up for repository ``DIR`` (which must be one), and the ORM records module to use."""
    from signage.operator.hub import bootstrap
    from signage.operator.publish.repo import OperatorRepository

    OperatorRepository(repo_dir)  # refuses a folder that is not a repository, before creating anything
    bootstrap.setup(repo_dir)
    from signage.operator.hub.screens import records

    return records


def _label(text: str, option: str) -> str:
    """A screen's name or location: one line of at most 200 characters."""
    value = text.strip()
    if len(value) > 200 or any(not character.isprintable() for character in value):
        raise UsageError(
            f"{option} 必须是一行不超过 200 个字符的文字",
            f"{option} must be one line of at most 200 characters",
        )
    return value


class _LineSink:
    """A minimal text sink for :mod:`csv`: collects what is written."""

    def __init__(self, lines: list[str]) -> None:
        self._lines = lines

    def write(self, text: str) -> int:
        self._lines.append(text)
        return len(text)


def _table(rows: Sequence[Sequence[str]], *, numeric: Sequence[int] = ()) -> str:
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [
            cell.rjust(width) if column in numeric else cell.ljust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines) + "\n"


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-11-26") from None
