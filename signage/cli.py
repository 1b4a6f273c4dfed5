"""The ``signage`` command: argparse subcommands over the pure core.

``main(argv)`` returns an exit status and is what tests call. This module is the one place that maps
errors to exit codes (see :mod:`signage.core.errors`); commands raise, they do not exit.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import logging
import sys
import traceback
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, TextIO, cast

from signage import __version__
from signage.core.errors import (
    ConfigError,
    ExitStatus,
    InputFileError,
    SignageError,
    UsageError,
    exit_status_for,
)
from signage.core.playlist import local_time_text
from signage.core.rules.idcard import MaskPolicy
from signage.core.terminal import TerminalWriter, for_terminal
from signage.operator.report import render_json, render_text
from signage.sync.config import DEFAULT_CONFIG_PATH

#: The fictional sample channel, shipped in the package (assets/ of the source, installed as signage.assets).
SAMPLE_DIR = Path(str(resources.files("signage.assets"))) / "sample"
_SPREADSHEETS = (".csv", ".xlsx", ".tsv", ".txt")

_EPILOG = """\
exit status / 退出码:
  0  all rows accepted / 全部接受
  1  at least one row refused / 有行被拒绝
  2  usage error / 命令用法错误
  3  configuration error / 配置错误
  4  input file unusable (missing, empty, missing columns, too large) / 输入文件无法使用
 70  internal error (a bug; please report it) / 内部错误
"""


_SYNC_EPILOG = """\
exit status / 退出码:
  0  synced: new content applied, or nothing new / 同步成功（含无新内容）
  2  usage error / 命令用法错误
  3  configuration error / 配置错误
  5  content refused: signature, rollback, expiry, channel or hash / 内容被拒绝（签名、回滚、过期、频道或哈希）
  6  hub unreachable, too slow, or HTTP error / 集线器无法访问、过慢或返回错误
  7  disk full or read-only / 磁盘已满或只读
 70  internal error (a bug; please report it) / 内部错误
"""


def build_parser() -> argparse.ArgumentParser:
    """The full command line, with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="signage",
        description="Publish and check lists of dishonest judgment debtors (失信被执行人) for public screens.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"signage {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = commands.add_parser(
        "check",
        help="validate a court export (CSV or XLSX) and print the report",
        description="Validate a court export and print a report naming every refused row, its field, "
        "its value (ID numbers masked) and the fix, in Chinese and English: the first 200 problems in "
        "full, the rest counted by reason with an example. Control characters are shown escaped. "
        "Nothing is written.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.add_argument(
        "source",
        type=Path,
        metavar="SOURCE",
        help="a .csv/.xlsx file, or a folder holding exactly one (its photos/ subfolder is then used)",
    )
    check.add_argument(
        "--photos", type=Path, metavar="DIR", help="folder the photo column's file names are in"
    )
    check.add_argument(
        "--mask",
        choices=[policy.value for policy in MaskPolicy],
        default=MaskPolicy.SPC.value,
        help="ID mask: 'spc' as the SPC list (3423011964****3224), or the stricter 'hide-birth-year' "
        "(342301********3224); default: spc",
    )
    check.add_argument("--strict", action="store_true", help="accept no row at all if any row is refused")
    _add_published_on(check)
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    check.set_defaults(handler=_check)

    _add_distribution_commands(commands)

    _add_player_commands(commands)
    from signage.operator.hub.commands import add_fleet_commands

    add_fleet_commands(commands, clock=_now)
    from signage.operator.hub.accounts import add_user_commands
    from signage.operator.hub.audit.commands import add_audit_commands

    add_user_commands(commands, clock=_now)
    add_audit_commands(commands)

    demo = commands.add_parser(
        "demo",
        help="the whole system on one machine with the fictional sample channel",
        description="Creates a repository in a temporary folder, publishes the fictional sample channel, serves "
        "it on 127.0.0.1, syncs a screen's cache, revokes one entry and syncs again, then runs the player against "
        "the hub: in a window on a desktop, or fullscreen under Xvfb with screenshots in demo-out/ when there is "
        "no display. The hub serves the operator console too: its address and two demo accounts (demo-clerk, "
        "demo-reviewer, fresh passwords) are printed, and what they publish to the sample channel reaches the "
        "player within about a minute. Ctrl-C stops it cleanly.",
    )
    demo.add_argument("--keep", type=Path, metavar="DIR", help="leave the repository and cache in DIR")
    demo.add_argument(
        "--shots",
        type=Path,
        default=Path("demo-out"),
        metavar="DIR",
        help="screenshots without a display (demo-out)",
    )
    demo.add_argument("--duration", type=float, metavar="SECONDS", help="stop the player after this long")
    demo.add_argument("--no-player", action="store_true", help="only the distribution steps, no player")
    demo.set_defaults(handler=_demo)
    return parser


def _add_published_on(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--published-on",
        type=_date_argument,
        metavar="YYYY-MM-DD",
        help="publication date (发布时间) for rows that have none; without it such rows are refused. The "
        "filing date (立案时间) is never used instead",
    )


def _add_operator(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--operator",
        metavar="NAME",
        help="who does this, for the audit (default: $SIGNAGE_OPERATOR, else the login name)",
    )


def _operator(arguments: argparse.Namespace) -> str:
    import getpass
    import os

    name = arguments.operator or os.environ.get("SIGNAGE_OPERATOR") or getpass.getuser()
    from signage.core.rules.text import clean_text

    return clean_text(name, field_zh="操作员", field_en="the operator", length=(1, 60))


def _add_passphrase_file(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--passphrase-file",
        type=Path,
        metavar="FILE",
        help="the passphrase of encrypted keys, read from FILE (else the systemd credential signage-keys, "
        "else $SIGNAGE_KEYS_PASSPHRASE); plain keys need none",
    )


def _passphrase(arguments: argparse.Namespace) -> bytes | None:
    from signage.operator.publish.keys import read_passphrase

    return read_passphrase(arguments.passphrase_file)


def _date_argument(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date like 2026-03-01: {text!r}") from None


def _add_distribution_commands(commands: Any) -> None:
    """``repo``, ``publish``, ``revoke``, ``hub`` (operators) and ``sync``, ``status`` (installers)."""
    repo = commands.add_parser("repo", help="create and maintain the signed (TUF) repository")
    repo_commands = repo.add_subparsers(dest="repo_command", required=True, metavar="ACTION")
    init = repo_commands.add_parser(
        "init",
        help="create keys and a new repository in DIR",
        description="Create a TUF repository with consistent snapshots: DIR/public/ is served, DIR/keys/ "
        "(mode 0700) holds the private keys and is never served. Give screens DIR/public/metadata/1.root.json.",
    )
    init.add_argument("directory", type=Path, metavar="DIR")
    init.add_argument("--keys", type=Path, metavar="KEYS", help="where to write the keys (default: DIR/keys)")
    init.add_argument(
        "--encrypt",
        action="store_true",
        help="store every key encrypted with a passphrase (from --passphrase-file, the systemd credential "
        "signage-keys or $SIGNAGE_KEYS_PASSPHRASE)",
    )
    init.add_argument(
        "--passphrase-file", type=Path, metavar="FILE", help="with --encrypt: read the passphrase from FILE"
    )
    init.add_argument(
        "--freshness-hours",
        type=float,
        default=24,
        metavar="H",
        help="how long screens trust a signed timestamp without a new one (2 to 72; default 24)",
    )
    init.set_defaults(handler=_repo_init)
    refresh = repo_commands.add_parser(
        "refresh",
        help="re-sign the timestamp (and snapshot when needed); run it every hour",
        description="Re-sign timestamp.json with the online key, and snapshot when half its lifetime has "
        "passed. Screens hide debtor slides once the timestamp they have expires.",
    )
    refresh.add_argument("directory", type=Path, metavar="DIR")
    refresh.add_argument("--keys", type=Path, metavar="KEYS")
    _add_passphrase_file(refresh)
    refresh.set_defaults(handler=_repo_refresh)
    rotate = repo_commands.add_parser(
        "rotate",
        help="replace one role's key through a new root version",
        description="Generate a new key for ROLE, sign a new root version with the current root key, and "
        "re-sign the metadata below it. Screens follow the root chain and keep working.",
    )
    rotate.add_argument("directory", type=Path, metavar="DIR")
    rotate.add_argument("role", choices=["root", "targets", "snapshot", "timestamp"])
    rotate.add_argument("--keys", type=Path, metavar="KEYS")
    _add_passphrase_file(rotate)
    rotate.set_defaults(handler=_repo_rotate)
    encrypt = repo_commands.add_parser(
        "encrypt-keys",
        help="encrypt the repository's plain private keys in place with a passphrase",
        description="Encrypt every plain private key (*.pem) in KEYS (default DIR/keys) with a passphrase, "
        "each file replaced atomically. Keys already encrypted with the same passphrase are left as they are; "
        "a wrong passphrase changes nothing. Afterwards publish, revoke, repo refresh and repo rotate need "
        "the passphrase: --passphrase-file FILE, the systemd credential signage-keys (LoadCredential=), or "
        "$SIGNAGE_KEYS_PASSPHRASE.",
    )
    encrypt.add_argument("directory", type=Path, metavar="DIR")
    encrypt.add_argument("--keys", type=Path, metavar="KEYS")
    encrypt.add_argument(
        "--passphrase-file",
        type=Path,
        metavar="FILE",
        help="read the passphrase from FILE (else the systemd credential signage-keys, else "
        "$SIGNAGE_KEYS_PASSPHRASE)",
    )
    encrypt.set_defaults(handler=_repo_encrypt_keys)

    publish = commands.add_parser(
        "publish",
        help="check a court export and publish it as a channel's signed playlist",
        description="Import SOURCE as `signage check` does and, when no row is refused (or with "
        "--allow-partial), publish it as the channel's next playlist with its photos. Channel settings "
        "(QR hosts, dayparts, notices) are read from DIR/channels/ID.toml when it exists.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    publish.add_argument("source", type=Path, metavar="SOURCE")
    publish.add_argument("--repo", type=Path, required=True, metavar="DIR")
    publish.add_argument("--keys", type=Path, metavar="KEYS")
    _add_passphrase_file(publish)
    publish.add_argument("--channel", required=True, metavar="ID")
    publish.add_argument("--photos", type=Path, metavar="DIR")
    publish.add_argument(
        "--settings", type=Path, metavar="FILE", help="channel settings (default DIR/channels/ID.toml)"
    )
    publish.add_argument(
        "--allow-partial", action="store_true", help="publish the good rows even if some are refused"
    )
    publish.add_argument(
        "--mask", choices=[policy.value for policy in MaskPolicy], default=MaskPolicy.SPC.value
    )
    _add_published_on(publish)
    publish.add_argument(
        "--confirm-distinct",
        action="append",
        default=[],
        metavar="CASE_NUMBER",
        help="this case number is not a typo of a revoked entry's (a row one character away from a takedown "
        "is refused otherwise); repeat for several",
    )
    _add_operator(publish)
    publish.set_defaults(handler=_publish)

    revoke = commands.add_parser(
        "revoke",
        help="take entries down from every screen of a channel now",
        description="Publish a small signed revocations file: screens drop the entries at their next check "
        "without downloading the playlist again. Each QUERY names one entry of the channel's current list: "
        "a case number in any spelling, a name, both (quoted as one argument), or an id. Later publishes "
        "refuse the entry, whatever their spelling of the case number, until `signage reinstate`.",
    )
    revoke.add_argument("queries", nargs="+", metavar="QUERY")
    revoke.add_argument("--repo", type=Path, required=True, metavar="DIR")
    revoke.add_argument("--keys", type=Path, metavar="KEYS")
    _add_passphrase_file(revoke)
    revoke.add_argument("--channel", required=True, metavar="ID")
    revoke.add_argument("--reason", metavar="TEXT", required=True, help="why (paid, corrected, expired…)")
    _add_operator(revoke)
    revoke.set_defaults(handler=_revoke)

    reinstate = commands.add_parser(
        "reinstate",
        help="lift a takedown so a later publish may list the entry again",
        description="Remove takedowns from the operator's ledger (DIR/revoked.json) and record who did it and "
        "why in DIR/history.jsonl. Screens are not changed now: the entry comes back only when a later publish "
        "lists it. Each QUERY names one takedown: a case number in any spelling, a name, or an id.",
    )
    reinstate.add_argument("queries", nargs="+", metavar="QUERY")
    reinstate.add_argument("--repo", type=Path, required=True, metavar="DIR")
    reinstate.add_argument("--channel", required=True, metavar="ID")
    reinstate.add_argument("--reason", metavar="TEXT", required=True, help="why it may be listed again")
    _add_operator(reinstate)
    reinstate.set_defaults(handler=_reinstate)

    find = commands.add_parser(
        "find",
        help="look entries up by name, case number (any spelling) or id",
        description="List the entries of every channel (or one) that QUERY matches, with case number, court, "
        "status (live, revoked, expired) and the playlist version. Several words must all match. Exit status 0 "
        "when something matches, 1 when nothing does.",
    )
    find.add_argument("query", metavar="QUERY")
    find.add_argument("--repo", type=Path, required=True, metavar="DIR")
    find.add_argument("--channel", metavar="ID", help="only this channel")
    find.add_argument("--json", action="store_true", help="print the matches as JSON")
    find.set_defaults(handler=_find)

    hub = commands.add_parser(
        "hub",
        help="serve the operators' console, the repository and the screens' telemetry over HTTP; re-sign hourly",
        description="Serve the operators' console at / (log in, upload and check a list, review and approve it "
        "with a second person, take entries down, roll back, the fleet, exposure reports and the audit log; "
        "accounts come from `signage users add`; /admin/ for admins), DIR/public for screens (metadata with "
        "validators and short caching, content-addressed files as immutable), the screens' telemetry "
        "(/telemetry/plays, /telemetry/heartbeat) and the plain fleet page (/fleet, this machine only unless "
        "DIR/hub.toml says fleet_page_public = true), and run `repo refresh` every hour. The keys are checked at "
        "start; encrypted keys need their passphrase (--passphrase-file, the systemd credential signage-keys, or "
        "SIGNAGE_KEYS_PASSPHRASE). The hub's database is DATABASE_URL (postgres://...) or DIR/hub.sqlite3 when "
        "unset; it is created or migrated at start. Behind nginx with TLS, set SIGNAGE_HUB_TLS=1 and "
        "SIGNAGE_ALLOWED_HOSTS (docs/deploy.md).",
    )
    # Not required here: `signage hub nginx-config --repo DIR` takes its own; _hub checks it is given.
    hub.add_argument("--repo", type=Path, metavar="DIR", help="the repository to serve (required)")
    hub.add_argument("--keys", type=Path, metavar="KEYS")
    hub.add_argument("--host", default="127.0.0.1")
    hub.add_argument("--port", type=int, default=8080)
    _add_passphrase_file(hub)
    hub.set_defaults(handler=_hub)
    hub_commands = hub.add_subparsers(
        dest="hub_command",
        metavar="nginx-config",
        help="optional: print the nginx.conf for this hub instead of serving (signage hub nginx-config --help)",
    )
    _add_nginx_config(hub_commands)

    sync = commands.add_parser(
        "sync",
        help="the screen's sync service (or, with --once, one sync), without a display",
        description="Fetch and verify the channel's signed content into the screen's cache. Without --once: "
        "the screen's sync service in the foreground (signage-sync.service runs it): takedown checks every "
        "revocation_poll_seconds, a full sync every sync_minutes, heartbeats and proof-of-play uploads, "
        "until SIGTERM; the player (signage play) only reads the cache. With --once: one sync, print what "
        "happened, exit 0 on success (also when nothing was new), non-zero when anything was refused or "
        "failed.",
        epilog=_SYNC_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sync.add_argument("--config", type=Path, default=DEFAULT_CONFIG_PATH, metavar="FILE")
    sync.add_argument("--once", action="store_true", help="one sync, print the outcome, then exit")
    sync.set_defaults(handler=_sync)

    status = commands.add_parser(
        "status",
        help="print what the screen would show now (or at a later TIME)",
        description="Print the channel, versions, verified-until and freshness, and the displayable "
        "entries with id, name and masked ID number.",
    )
    status.add_argument("--config", type=Path, default=DEFAULT_CONFIG_PATH, metavar="FILE")
    status.add_argument("--json", action="store_true", help="print the documented JSON form")
    status.add_argument(
        "--at", metavar="TIME", help="an ISO-8601 time later than now, e.g. 2026-11-27T08:00+08:00"
    )
    status.set_defaults(handler=_status)

    coverage = commands.add_parser(
        "coverage",
        help="simulate days of a screen's rotation: loop length, entries per page, shows per entry",
        description="Run the player's own rotation and page planner on a simulated clock for D days, with the "
        "config's dwell, transition, notice_every and quiet hours (a notice is assumed to exist), and report "
        "the loop length in hours, the entries per page, the fewest and most shows of any entry, and whether "
        "every entry is shown on every day. Exit 0 when everyone is covered every day, 1 when not.",
    )
    coverage.add_argument(
        "--config", type=Path, metavar="FILE", help="a screen's player.toml (default: the player's defaults)"
    )
    what = coverage.add_mutually_exclusive_group()
    what.add_argument("--records", type=int, metavar="N", help="simulate N fictional entries (default 300)")
    what.add_argument(
        "--source", type=Path, metavar="EXPORT", help="simulate the accepted rows of a court export"
    )
    coverage.add_argument(
        "--days", type=int, default=4, metavar="D", help="days to simulate (1-31, default 4)"
    )
    coverage.add_argument(
        "--size",
        type=_size,
        default=(1920, 1080),
        metavar="WxH",
        help="the screen's size (default 1920x1080)",
    )
    coverage.add_argument("--json", action="store_true", help="print a JSON object")
    coverage.set_defaults(handler=_coverage)


_DOCTOR_EPILOG = """\
exit status / 退出码:
  0  every check passed / 全部正常
  1  at least one check failed / 至少一项有问题
  2  usage error / 命令用法错误
  3  configuration error / 配置错误
 70  internal error (a bug; please report it) / 内部错误
"""


def _add_player_commands(commands: Any) -> None:
    """``play``, ``doctor`` (screens) and ``render`` (operators' preview)."""
    doctor = commands.add_parser(
        "doctor",
        help="check this screen: trust root, cache, fonts, display, hub, clock, disk, write access, token",
        description="Run every check of a screen and print a plain report in Chinese and English with the fix "
        "for each problem. Re-hashes every cached file and deletes bad ones. Run as root to check the service "
        "user too.",
        epilog=_DOCTOR_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    doctor.add_argument("--config", type=Path, default=DEFAULT_CONFIG_PATH, metavar="FILE")
    doctor.add_argument(
        "--hub",
        type=Path,
        metavar="DIR",
        help="check the hub of repository DIR instead of a screen: key file modes and owners, their folders, "
        "keys encrypted at rest, no root key on the hub, the secret key, the database files, DEBUG off",
    )
    doctor.add_argument(
        "--keys", type=Path, metavar="KEYS", help="with --hub: the online keys (default DIR/keys)"
    )
    doctor.add_argument(
        "--listen",
        metavar="HOST:PORT",
        help="with --hub: the address screens and browsers reach the hub at (as in hub_url); a non-loopback "
        "one must be answered by nginx, not the embedded server (one HEAD request is sent there)",
    )
    doctor.set_defaults(handler=_doctor)

    play = commands.add_parser(
        "play",
        help="run the fullscreen player from a screen's config",
        description="Show what the screen may show, one slide at a time, fullscreen with no cursor. Syncs run "
        "in the background; with no network it plays its last verified set, with nothing at all the standby "
        "slide. F1 shows the technician overlay for 30 s. Logs go to standard error (journald under systemd).",
    )
    play.add_argument("--config", type=Path, default=DEFAULT_CONFIG_PATH, metavar="FILE")
    play.add_argument(
        "--windowed", metavar="WxH", type=_size, help="a normal window of this size (desktops, tests)"
    )
    play.set_defaults(handler=_play)

    render = commands.add_parser(
        "render",
        help="write every slide as PNG plus a contact sheet, to look at before publishing",
        description="Render a channel's published playlist (--repo and --channel) or a court export that is not "
        "published yet (--source, with --photos) exactly as screens would, into PNG files and contact-sheet.png. "
        "Files are named by 序号 and name (0007-张三.png); without a 序号 (always for --repo) by case number "
        "and name.",
    )
    origin = render.add_mutually_exclusive_group(required=True)
    origin.add_argument("--repo", type=Path, metavar="DIR")
    origin.add_argument("--source", type=Path, metavar="FILE")
    render.add_argument("--channel", metavar="ID", help="with --repo: the channel to render")
    render.add_argument("--photos", type=Path, metavar="DIR", help="with --source: the photo folder")
    render.add_argument(
        "--size", type=_size, required=True, metavar="WxH", help="e.g. 1920x1080, 1920x360, 384x192"
    )
    render.add_argument("--out", type=Path, required=True, metavar="DIR")
    render.add_argument("--layout", choices=["landscape", "portrait", "bar", "four-three", "led"])
    render.add_argument("--screen-id", default="preview", help="the screen name in the footer mark")
    render.add_argument(
        "--sample",
        action="store_true",
        help="with --source: mark every slide 示例 / SAMPLE (fictional data, such as assets/sample)",
    )
    render.set_defaults(handler=_render)


def _doctor(arguments: argparse.Namespace, out: TextIO, err: TextIO) -> ExitStatus:
    from signage.sync.doctor import doctor_command, exit_status, render_report

    if arguments.hub is not None:
        from signage.operator.hub.doctor import hub_checks
        from signage.operator.hub.nginx import parse_address

        listen = None
        if arguments.listen is not None:
            address = parse_address(arguments.listen, option="--listen")
            listen = (address.host, address.port)
        checks = hub_checks(arguments.hub, arguments.keys, listen=listen)
        out.write(render_report(checks))
        return ExitStatus(exit_status(checks))
    from signage.kiosk.health import check_fonts

    return ExitStatus(doctor_command(arguments.config, out, clock=_now, fonts_check=check_fonts))


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not WIDTHxHEIGHT, e.g. 1920x1080") from None
    if not (64 <= width <= 8192 and 64 <= height <= 8192):
        raise argparse.ArgumentTypeError(f"{text!r}: each side must be 64 to 8192 pixels")
    return width, height


def _play(arguments: argparse.Namespace, out: TextIO, err: TextIO) -> ExitStatus:
    from signage.sync.config import load_player_config

    config = load_player_config(arguments.config)
    from signage.kiosk.app import configure_logging, run_player

    configure_logging(err)

    return ExitStatus(run_player(config, windowed=arguments.windowed, clock=_now) or 0)


def _render(arguments: argparse.Namespace, out: TextIO, err: TextIO) -> ExitStatus:
    import tempfile

    from signage.kiosk.preview import render_all
    from signage.operator.importer import (  # Pillow and openpyxl: not for `signage play`
        ImportOptions,
        import_file,
    )
    from signage.operator.photos import DirectorySink

    size = arguments.size
    layout = None
    if arguments.layout:
        from signage.kiosk.layout import LayoutKind

        layout = LayoutKind(arguments.layout)
    progress = _progress_printer(err)
    with tempfile.TemporaryDirectory(prefix="signage-render-") as scratch:
        if arguments.repo is not None:
            from signage.core.playlist import decode_revocations
            from signage.operator.publish.channel import check_channel_id, current_playlist
            from signage.operator.publish.repo import OperatorRepository, revocations_path

            if not arguments.channel:
                raise UsageError("--repo 需要同时给出 --channel", "--repo needs --channel")
            channel = check_channel_id(arguments.channel)
            repository = OperatorRepository(arguments.repo)
            playlist = current_playlist(repository, channel)
            if playlist is None:
                raise UsageError(f"频道 {channel} 尚未发布", f"the channel {channel} has not been published")
            revocations = repository.read_target(revocations_path(channel))
            # Screens never show a revoked entry, so the preview leaves it out too.
            revoked = (
                decode_revocations(revocations, channel=channel).entry_ids() if revocations else frozenset()
            )
            records = tuple(record for record in playlist.records if record.entry_id not in revoked)
            notices, sample = playlist.notices, playlist.sample
            data_date = (playlist.issued + playlist.utc_offset).date()
            version: int | None = playlist.version
            folder = repository.photos_dir
            serials: dict[str, str] = {}  # a playlist does not carry 序号: files are named by case number
        else:
            source, photos = _locate(arguments.source, arguments.photos)
            folder = Path(scratch)
            report = import_file(
                source, ImportOptions(today=_now().date(), photos=photos, sink=DirectorySink(folder))
            )
            if report.refused_rows:
                print(
                    f"注意：{len(report.refused_rows)} 行被拒绝，未渲染（详见 signage check）\n"
                    f"note: {len(report.refused_rows)} refused rows are not rendered (see signage check)",
                    file=err,
                )
            records, notices, sample, data_date, version = (
                tuple(report.records),
                (),
                arguments.sample,
                _now().date(),
                None,
            )
            serials = report.serials

        def photo(ref: Any) -> bytes | None:
            try:
                return (folder / str(ref.sha256)).read_bytes()
            except OSError:
                return None

        written = render_all(
            records,
            notices,
            size=size,
            out=arguments.out,
            photos=photo,
            data_date=data_date,
            sample=sample,
            mark=(arguments.screen_id, version),
            layout=layout,
            progress=None if progress is None else lambda done, total: progress(done, total),
            serials=serials,
        )
    if err.isatty():
        err.write("\r\033[K")
    print(
        f"已写出 {len(written)} 个文件到 {arguments.out}（总览图：contact-sheet.png）\n"
        f"wrote {len(written)} files to {arguments.out} (overview: contact-sheet.png)",
        file=out,
    )
    return ExitStatus.OK


def main(
    argv: Sequence[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    """Run the command line and return its exit status."""
    # Every command's output passes through one filter: a court name or a screen's report holding
    # ESC [ 2 J must not clear the operator's terminal (signage/core/terminal.py).
    out = cast(TextIO, TerminalWriter(stdout or _utf8(sys.stdout)))
    err = stderr or _utf8(sys.stderr)
    parser = build_parser()
    try:
        arguments = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    handler: Callable[[argparse.Namespace, TextIO, TextIO], ExitStatus] = arguments.handler
    try:
        return int(handler(arguments, out, err))
    except SignageError as error:
        print(for_terminal(error.bilingual()), file=err)
        return int(exit_status_for(error))
    except KeyboardInterrupt:
        print("已中断 / interrupted", file=err)
        return 130
    except BrokenPipeError:
        # `signage status | head`: the reader left; that is not an error worth a traceback.
        return int(ExitStatus.OK)
    except Exception:  # the last line of defence: a bug gets a traceback and its own exit code
        err.write(for_terminal(traceback.format_exc()))
        print("内部错误，请将以上信息报告给开发者 / internal error: please report the text above", file=err)
        return int(ExitStatus.INTERNAL)


def _check(arguments: argparse.Namespace, out: TextIO, err: TextIO) -> ExitStatus:
    from signage.operator.importer import (  # Pillow and openpyxl: not for `signage play`
        ImportOptions,
        import_file,
    )

    source, photos = _locate(arguments.source, arguments.photos)
    report = import_file(
        source,
        ImportOptions(
            today=dt.date.today(),
            policy=MaskPolicy(arguments.mask),
            photos=photos,
            strict=arguments.strict,
            progress=_progress_printer(err),
            published_on=arguments.published_on,
        ),
    )
    if err.isatty():
        err.write("\r\033[K")
    out.write(render_json(report) if arguments.json else render_text(report))
    return ExitStatus.ROWS_REFUSED if report.refused_rows else ExitStatus.OK


def _demo(arguments: argparse.Namespace, out: TextIO, err: TextIO) -> ExitStatus:
    from signage.demo import PlayOptions, run_demo

    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s", stream=err
    )
    play = None if arguments.no_player else PlayOptions(shots=arguments.shots, duration=arguments.duration)
    ok = run_demo(SAMPLE_DIR, out, clock=_now, keep=arguments.keep, play=play)
    return ExitStatus.OK if ok else ExitStatus.INTERNAL


def _now() -> dt.datetime:
    # The one place the command line reads the clock; everything below takes the time as an argument.
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _repo_init(arguments: argparse.Namespace, out: TextIO, err: TextIO) -> ExitStatus:
    from signage.operator.publish.repo import OperatorRepository

    freshness = dt.timedelta(hours=arguments.freshness_hours)
    passphrase = None
    if arguments.encrypt or arguments.passphrase_file is not None:
        passphrase = _passphrase(arguments)
        if passphrase is None:
            raise UsageError(
                "--encrypt 需要口令：用 --passphrase-file 指定口令文件，或通过 systemd 凭据 signage-keys 或环境变量 SIGNAGE_KEYS_PASSPHRASE 提供",
                "--encrypt needs a passphrase: give --passphrase-file FILE, the systemd credential signage-keys or SIGNAGE_KEYS_PASSPHRASE",
            )
    repository = OperatorRepository.init(
        arguments.directory, now=_now(), freshness=freshness, keys=arguments.keys, passphrase=passphrase
    )
    print(
        f"已创建发布目录 {arguments.directory}\n"
        f"created the repository {arguments.directory}\n"
        f"  served / 对外提供:      {repository.public}\n"
        f"  private keys / 私钥:    {repository.keys}  (never serve or copy to screens / 切勿公开)"
        f"{'  encrypted / 已加密' if passphrase else ''}\n"
        f"  trusted root for screens / 交给屏幕的信任根: {repository.metadata_dir / '1.root.json'}\n"
        "  move keys/root.pem offline after this / 之后请将 keys/root.pem 离线保存",
        file=out,
    )
    return ExitStatus.OK


def _repo_refresh(arguments: argparse.Namespace, out: TextIO, err: TextIO) -> ExitStatus:
    from signage.operator.publish.repo import TARGETS_WARNING, OperatorRepository

    repository = OperatorRepository(arguments.directory, arguments.keys, _passphrase(arguments))
    now = _now()
    with repository.locked():
        result = repository.refresh(now=now)
    print(
        f"timestamp v{result.timestamp_version}, verified until {local_time_text(result.verified_until)}"
        f"{', snapshot re-signed' if result.snapshot_resigned else ''}",
        file=out,
    )
    if result.root_expires - now < dt.timedelta(days=60):
        print(
            f"注意：根元数据将于 {result.root_expires:%Y-%m-%d} 过期，请在此之前运行 signage repo rotate（需要根密钥）\n"
            f"warning: the root expires on {result.root_expires:%Y-%m-%d}; run signage repo rotate before then "
            "(it needs the root key)",
            file=err,
        )
    if result.targets_expires - now < TARGETS_WARNING:
        print(
            f"注意：目标元数据将于 {result.targets_expires:%Y-%m-%d} 过期，请在此之前重新发布\n"
            f"warning: targets metadata expires on {result.targets_expires:%Y-%m-%d}; publish before then",
            file=err,
        )
    return ExitStatus.OK


def _repo_rotate(arguments: argparse.Namespace, out: TextIO, err: TextIO) -> ExitStatus:
    from signage.operator.publish.repo import OperatorRepository

    repository = OperatorRepository(arguments.directory, arguments.keys, _passphrase(arguments))
    with repository.locked():
        keyid = repository.rotate(arguments.role, now=_now())
    print(f"new {arguments.role} key {keyid[:16]}…, root v{repository.root().signed.version}", file=out)
    return ExitStatus.OK


def _repo_encrypt_keys(arguments: argparse.Namespace, out: TextIO, err: TextIO) -> ExitStatus:
    from signage.operator.publish.keys import encrypt_keys
    from signage.operator.publish.repo import OperatorRepository

    repository = OperatorRepository(arguments.directory, arguments.keys)
    passphrase = _passphrase(arguments)
    if passphrase is None:
        raise UsageError(
            "需要口令：用 --passphrase-file 指定口令文件，或通过 systemd 凭据 signage-keys 或环境变量 SIGNAGE_KEYS_PASSPHRASE 提供",
            "a passphrase is needed: give --passphrase-file FILE, the systemd credential signage-keys or SIGNAGE_KEYS_PASSPHRASE",
        )
    with repository.locked():
        done = encrypt_keys(repository.keys, passphrase)
    print(
        f"已加密 {len(done)} 个密钥（{repository.keys}）；此后签名需要该口令\n"
        f"encrypted {len(done)} keys in {repository.keys}; signing needs the passphrase from now on",
        file=out,
    )
    for path in done:
        print(f"  {path.name}", file=out)
    return ExitStatus.OK


def _publish(arguments: argparse.Namespace, out: TextIO, err: TextIO) -> ExitStatus:
    from signage.operator.publish.channel import check_channel_id, load_channel_settings, publish_channel
    from signage.operator.publish.repo import OperatorRepository

    channel = check_channel_id(arguments.channel)
    repository = OperatorRepository(arguments.repo, arguments.keys, _passphrase(arguments))
    settings_file = arguments.settings or arguments.repo / "channels" / f"{channel}.toml"
    source, photos = _locate(arguments.source, arguments.photos)
    now = _now()
    settings = load_channel_settings(settings_file)
    moved_over = ""
    if not settings.legacy_playlist:
        from signage.operator.hub.commands import single_file_readers

        # A warning, not a refusal: a screen may be gone for good, and the operator knows the fleet.
        moved_over = single_file_readers(arguments.repo, channel, now)
        err.write(moved_over)
    result = publish_channel(
        repository,
        channel,
        source,
        photos=photos,
        now=now,
        settings=settings,
        allow_partial=arguments.allow_partial,
        policy=MaskPolicy(arguments.mask),
        progress=_progress_printer(err),
        by=_operator(arguments),
        published_on=arguments.published_on,
        confirm_distinct=frozenset(arguments.confirm_distinct),
    )
    if err.isatty():
        err.write("\r\033[K")
    out.write(render_text(result.report))
    if result.version is None:
        print(
            "\n有行被拒绝，未发布。改正后重试，或用 --allow-partial 只发布合格的行。\n"
            "Rows were refused, so nothing was published. Fix them, or use --allow-partial to publish the good rows.",
            file=out,
        )
        return ExitStatus.ROWS_REFUSED
    from signage.operator.hub.command_acts import record_publish

    record_publish(
        arguments.repo,
        channel,
        result.version,
        result.records,
        actor=_operator(arguments),
        at=now,
        source_name=source.name,
        photos_dir=repository.photos_dir,
    )
    print(
        f"\n已发布频道 {channel} 第 {result.version} 版：{result.published} 条，照片 {result.photos} 张\n"
        f"published channel {channel} version {result.version}: {result.published} entries, "
        f"{result.photos} photos",
        file=out,
    )
    if moved_over:
        out.write("\n" + moved_over)
    return ExitStatus.OK


def _revoke(arguments: argparse.Namespace, out: TextIO, err: TextIO) -> ExitStatus:
    from signage.operator.publish.channel import check_channel_id, revoke_entries
    from signage.operator.publish.repo import OperatorRepository

    channel = check_channel_id(arguments.channel)
    repository = OperatorRepository(arguments.repo, arguments.keys, _passphrase(arguments))
    now = _now()
    revocations, records = revoke_entries(
        repository, channel, arguments.queries, reason=arguments.reason, now=now, by=_operator(arguments)
    )
    from signage.operator.hub.command_acts import record_act

    record_act(
        arguments.repo,
        "takedown",
        actor=_operator(arguments),
        at=now,
        channel=channel,
        version=revocations.version,
        entries=[{"id": r.entry_id, "name": r.debtor.name, "case_number": r.case_number} for r in records],
        reason=arguments.reason,
    )
    print(
        f"已撤回 {len(records)} 条（撤回清单第 {revocations.version} 版）；屏幕将在下次检查时下线：\n"
        f"revoked {len(records)} entries (revocations version {revocations.version}); screens drop them at "
        "their next check:",
        file=out,
    )
    for record in records:
        print(f"  {record.debtor.name}\t{record.case_number}\t{record.court}", file=out)
    return ExitStatus.OK


def _reinstate(arguments: argparse.Namespace, out: TextIO, err: TextIO) -> ExitStatus:
    from signage.operator.publish.channel import check_channel_id, reinstate_entries
    from signage.operator.publish.repo import OperatorRepository

    channel = check_channel_id(arguments.channel)
    repository = OperatorRepository(arguments.repo)
    now = _now()
    removed = reinstate_entries(
        repository, channel, arguments.queries, reason=arguments.reason, now=now, by=_operator(arguments)
    )
    from signage.operator.hub.command_acts import record_act

    record_act(
        arguments.repo,
        "reinstate",
        actor=_operator(arguments),
        at=now,
        channel=channel,
        entries=[{"id": t.entry_id, "name": t.name, "case_number": t.case_number} for t in removed],
        reason=arguments.reason,
        details={"taken_down_by": sorted({t.by for t in removed if t.by})},
    )
    print(
        f"已恢复 {len(removed)} 条；下次发布的名单中若有这些条目，将重新公布：\n"
        f"reinstated {len(removed)} entries; the next publish that lists them puts them back on screens:",
        file=out,
    )
    for taken in removed:
        print(
            f"  {taken.name or taken.entry_id}\t{taken.case_number}\t撤回于 revoked {local_time_text(taken.at)}",
            file=out,
        )
    return ExitStatus.OK


def _find(arguments: argparse.Namespace, out: TextIO, err: TextIO) -> ExitStatus:
    from signage.operator.publish.channel import check_channel_id, find_entries
    from signage.operator.publish.repo import OperatorRepository

    channel = None if arguments.channel is None else check_channel_id(arguments.channel)
    found = find_entries(OperatorRepository(arguments.repo), arguments.query, channel=channel, now=_now())
    if arguments.json:
        out.write(json.dumps([match.as_json() for match in found], ensure_ascii=False, indent=2) + "\n")
    elif not found:
        print(f"没有与“{arguments.query}”匹配的条目\nno entry matches '{arguments.query}'", file=out)
    else:
        for match in found:
            print(match.text(), file=out)
    return ExitStatus.OK if found else ExitStatus.ROWS_REFUSED


def _add_nginx_config(hub_commands: Any) -> None:
    """``signage hub nginx-config``: the nginx.conf that puts nginx in front of ``signage hub``."""
    nginx = hub_commands.add_parser(
        "nginx-config",
        help="print an nginx.conf that serves DIR/public and puts nginx in front of the hub",
        description="Print a complete nginx.conf: nginx serves DIR/public (/metadata/, /targets/, /photos/) "
        "from disk with the caching headers of docs/deploy.md, and passes everything else to the hub at "
        "--upstream, with header and body deadlines, per-address connection and request limits sized for 200 "
        "buses behind one NAT address, 2 MB bodies except the console's upload, and stricter limits on the "
        "log-in pages. It runs as any user as it is: nginx -c FILE -p PREFIX -g 'daemon off;' (logs, pid and "
        "temporary files in PREFIX). With --tls-cert and --tls-key, --listen is HTTPS. See docs/deploy.md.",
    )
    nginx.add_argument(
        "--repo", type=Path, required=True, metavar="DIR", help="the repository (DIR/public is served)"
    )
    nginx.add_argument(
        "--upstream",
        default="127.0.0.1:8080",
        metavar="HOST:PORT",
        help="where `signage hub` listens (default 127.0.0.1:8080; keep it on 127.0.0.1)",
    )
    nginx.add_argument(
        "--listen", default="0.0.0.0:80", metavar="HOST:PORT", help="where nginx listens (default 0.0.0.0:80)"
    )
    nginx.add_argument(
        "--server-name", default="_", metavar="NAME", help="the host name screens use (default: any)"
    )
    nginx.add_argument(
        "--tls-cert", type=Path, metavar="FILE", help="PEM certificate chain: --listen is HTTPS"
    )
    nginx.add_argument("--tls-key", type=Path, metavar="FILE", help="PEM private key of --tls-cert")
    nginx.set_defaults(handler=_hub_nginx_config)


def _hub_nginx_config(arguments: argparse.Namespace, out: TextIO, err: TextIO) -> ExitStatus:
    from signage.operator.hub.console.uploads import MAX_UPLOAD_BYTES
    from signage.operator.hub.nginx import make_site, render

    def absolute(path: Path | None) -> Path | None:
        return None if path is None else path.expanduser().absolute()

    public = arguments.repo.expanduser().absolute() / "public"
    if not public.is_dir():
        raise ConfigError(
            f"“{public}”不存在；请先运行 signage repo init",
            f"'{public}' does not exist; run 'signage repo init' first",
        )
    site = make_site(
        public,
        upstream=arguments.upstream,
        listen=arguments.listen,
        upload_bytes=MAX_UPLOAD_BYTES,
        server_name=arguments.server_name,
        tls_cert=absolute(arguments.tls_cert),
        tls_key=absolute(arguments.tls_key),
    )
    out.write(render(site))
    return ExitStatus.OK


def _hub(arguments: argparse.Namespace, out: TextIO, err: TextIO) -> ExitStatus:
    from signage.operator.hub.serve import make_hub
    from signage.operator.publish.repo import OperatorRepository

    if arguments.repo is None:
        raise UsageError("signage hub 需要 --repo DIR", "signage hub needs --repo DIR")
    passphrase = _passphrase(arguments)
    repository = OperatorRepository(arguments.repo, arguments.keys, passphrase=passphrase)
    # The console signs with the targets key and the refresh with the online keys: a missing key or a
    # wrong passphrase stops the hub now, not at the first approval or the next hour.
    repository.check_keys()

    def refresh() -> None:
        with repository.locked():
            result = repository.refresh(now=_now())
        logging.getLogger("signage.operator.hub").info(
            "timestamp v%d signed, verified until %s",
            result.timestamp_version,
            result.verified_until.isoformat(),
        )

    hub = make_hub(
        arguments.repo,
        # Full precision here: screens measure their clock offset from the hub's answer.
        clock=lambda: dt.datetime.now(dt.UTC),
        refresh=refresh,
        host=arguments.host,
        port=arguments.port,
        keys_dir=arguments.keys,
        passphrase=passphrase,
    )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    print(
        f"serving {repository.public} and the hub on http://{arguments.host}:{arguments.port}/ "
        "(Ctrl-C stops) / 按 Ctrl-C 停止",
        file=out,
        flush=True,
    )
    hub.serve_forever()
    return ExitStatus.OK


def _screen(config_path: Path) -> Any:
    from signage.sync.client import ScreenSync
    from signage.sync.config import load_player_config
    from signage.sync.fetcher import HttpFetcher

    config = load_player_config(config_path)
    fetcher = HttpFetcher(user_agent=f"signage-screen/{__version__} ({config.screen_id})")
    return ScreenSync(config, fetcher=fetcher, clock=_now)


def _sync(arguments: argparse.Namespace, out: TextIO, err: TextIO) -> ExitStatus:
    if not arguments.once:
        from signage.sync.config import load_player_config
        from signage.sync.journal import configure_logging
        from signage.sync.service import run_service

        config = load_player_config(arguments.config)
        configure_logging(err)
        return ExitStatus(run_service(config, clock=_now) or 0)
    screen = _screen(arguments.config)
    result = screen.sync_once()
    until = "-" if result.verified_until is None else local_time_text(result.verified_until)
    print(
        f"{result.state}: {result.zh}\n{result.state}: {result.en}\n"
        f"  playlist v{result.playlist_version}, revocations v{result.revocations_version}, verified until {until}, "
        f"{result.photos_downloaded} photos and {result.bytes_received} bytes downloaded",
        file=out,
    )
    if result.ok:
        return ExitStatus.OK
    return {"refused": ExitStatus.REFUSED, "offline": ExitStatus.NETWORK, "disk": ExitStatus.DISK}[
        str(result.state)
    ]


def _status(arguments: argparse.Namespace, out: TextIO, err: TextIO) -> ExitStatus:
    from signage.core.coverage import plan_report_lines

    screen = _screen(arguments.config)
    now = screen.trusted_now(_now())
    at = now
    if arguments.at:
        at = _parse_at(arguments.at)
        if at < now:
            raise UsageError(
                f"--at 须晚于现在（{local_time_text(now)}）：屏幕从不相信更早的时间",
                f"--at must be later than now ({local_time_text(now)}): a screen never believes an earlier time",
            )
    display = screen.current(at)
    document = status_document(display)
    plan, size = _status_plan(arguments.config, len(display.records), bool(display.notices))
    document["pages"] = plan.to_json()
    document["loop_hours"] = document["pages"]["loop_hours"]
    # The size the capacity was planned for: the player's own, or null when assumed (1920×1080).
    document["slide_size"] = None if size is None else list(size)
    if arguments.json:
        out.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")
        return ExitStatus.OK
    until = "-" if display.verified_until is None else local_time_text(display.verified_until)
    print(
        f"channel / 频道: {document['channel']}\n"
        f"playlist / 名单: v{document['playlist_version']}, revocations / 撤回: v{document['revocations_version']}\n"
        f"verified until / 有效期至: {until} "
        f"({'fresh / 有效' if document['fresh'] else 'NOT fresh: debtor slides hidden / 已过期：不显示名单'})\n"
        f"displayable / 可显示: {len(document['displayable'])}"
        + ("" if display.withheld is None else f" ({display.withheld})"),
        file=out,
    )
    for line in plan_report_lines(plan):
        print(line, file=out)
    print(
        f"slide size / 画面尺寸: {size[0]}×{size[1]}"
        if size is not None
        else "slide size / 画面尺寸: 1920×1080 assumed (the player has not run yet / 播放器尚未运行)",
        file=out,
    )
    for entry in document["displayable"]:
        print(f"  {entry['name']}\t{entry['id_masked'] or ''}\t{entry['case_number']}", file=out)
    return ExitStatus.OK


def _coverage(arguments: argparse.Namespace, out: TextIO, err: TextIO) -> ExitStatus:
    from signage.core.coverage import sample_records, simulate
    from signage.operator.importer import (  # Pillow and openpyxl: not for `signage play`
        ImportOptions,
        import_file,
    )
    from signage.sync.config import PlayerConfig, load_player_config

    if not 1 <= arguments.days <= 31:
        raise UsageError("--days 应在 1 到 31 之间", "--days must be 1 to 31")
    if arguments.records is not None and not 1 <= arguments.records <= 1_000_000:
        raise UsageError("--records 应在 1 到 1000000 之间", "--records must be 1 to 1,000,000")
    config = (
        load_player_config(arguments.config)
        if arguments.config
        else PlayerConfig(screen_id="coverage", hub_url="http://127.0.0.1/", channel="coverage", root=Path())
    )
    if arguments.source is not None:
        source, _photos = _locate(arguments.source, None)
        report = import_file(
            source, ImportOptions(today=dt.date.today(), photos=None, progress=_progress_printer(err))
        )
        records = tuple(report.records)
        if not records:
            raise InputFileError(
                f"{source} 中没有可接受的行；请先用 signage check 查看原因",
                f"{source} has no accepted rows; run signage check to see why",
            )
    else:
        records = sample_records(300 if arguments.records is None else arguments.records)
    capacity, _layout = _capacity(config.layout, arguments.size)
    result = simulate(
        records,
        days=arguments.days,
        dwell_s=config.dwell_seconds,
        transition_s=config.transition_seconds,
        notice_every=config.notice_every,
        quiet=config.quiet_hours,
        capacity=capacity,
        forced=config.entries_per_page or None,
        screen_id=config.screen_id,
    )
    if arguments.json:
        out.write(json.dumps(result.to_json(), ensure_ascii=False) + "\n")
    else:
        loop = "-" if result.loop_hours == float("inf") else f"{result.loop_hours:.2f}"
        print(
            f"records / 条数: {result.records:,}, simulated / 模拟: {result.days} days / 天\n"
            f"entries per page / 每屏条数: {result.entries_per_page} (legible capacity / 可读上限 {capacity})\n"
            f"loop / 轮播一遍: {loop} h (planned / 预计 {result.planned_loop_hours:.2f} h)\n"
            f"shows per entry / 每条显示次数: min {result.shows_min}, max {result.shows_max}\n"
            f"fewest shows per day / 每天最少显示: {', '.join(map(str, result.daily_min))}\n"
            + (
                "everyone shown every day / 每天每条都已显示"
                if result.every_day
                else "NOT everyone shown every day / 并非每天每条都显示：请缩短停留时间、减少静默时段或增加屏幕"
            ),
            file=out,
        )
    return ExitStatus.OK if result.every_day else ExitStatus.ROWS_REFUSED


def _status_plan(config_path: Path, records: int, notices: bool) -> Any:
    """The page plan for ``records`` entries on this screen, at the slide size the player recorded in its
    cache folder (:data:`signage.core.pages.PLAYER_STATE_FILE`); 1920×1080 until the player has run."""
    from signage.core.pages import PLAYER_STATE_FILE, plan_pages, read_slide_size
    from signage.core.rotation import DirectoryStore
    from signage.sync.config import load_player_config

    config = load_player_config(config_path)
    size = read_slide_size(DirectoryStore(config.cache_dir).load(PLAYER_STATE_FILE), config.screen_id)
    capacity, _layout = _capacity(config.layout, size or (1920, 1080))
    plan = plan_pages(
        records,
        dwell_s=config.dwell_seconds,
        transition_s=config.transition_seconds,
        notices_every=config.notice_every if notices else None,
        quiet=config.quiet_hours,
        capacity=capacity,
        forced=config.entries_per_page or None,
    )
    return plan, size


def _capacity(layout: str, size: tuple[int, int]) -> tuple[int, str]:
    from signage.core.pages import layout_for, page_capacity

    chosen = layout_for(*size, None if layout == "auto" else layout)
    return page_capacity(chosen, *size), chosen


def status_document(display: Any) -> dict[str, Any]:
    """The documented, stable JSON form of ``signage status``."""
    from signage.core.records import Person

    return {
        "channel": display.channel,
        "playlist_version": display.playlist_version,
        "revocations_version": display.revocations_version,
        "verified_until": None if display.verified_until is None else display.verified_until.isoformat(),
        "fresh": display.fresh,
        "displayable": [
            {
                "id": record.entry_id,
                "name": record.debtor.name,
                "id_masked": record.debtor.id_masked if isinstance(record.debtor, Person) else None,
                "case_number": record.case_number,
            }
            for record in display.records
        ],
    }


def _parse_at(text: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--at 时间格式不对：{text}", f"--at is not an ISO-8601 time: {text}") from None
    if moment.tzinfo is None:
        # Screens are in China; a time without an offset means China Standard Time.
        moment = moment.replace(tzinfo=dt.timezone(dt.timedelta(hours=8)))
    return moment.astimezone(dt.UTC)


def _locate(source: Path, photos: Path | None) -> tuple[Path, Path | None]:
    """A file stays as given; a folder must hold exactly one spreadsheet, and lends its photos/."""
    if not source.is_dir():
        return source, photos
    sheets = sorted(p for p in source.iterdir() if p.suffix.lower() in _SPREADSHEETS and p.is_file())
    if len(sheets) != 1:
        names = ", ".join(p.name for p in sheets) or "-"
        raise InputFileError(
            f"文件夹 {source} 中应恰好有一个 .csv 或 .xlsx 文件，实际为：{names}",
            f"the folder {source} must hold exactly one .csv or .xlsx file; found: {names}",
        )
    if photos is None and (source / "photos").is_dir():
        photos = source / "photos"
    return sheets[0], photos


def _progress_printer(err: TextIO) -> Callable[[int, int | None], None] | None:
    if not err.isatty():
        return None

    def show(done: int, total: int | None) -> None:
        if total:
            share = min(done / total, 1.0)
            bar = "#" * int(share * 30)
            err.write(f"\r[{bar:<30}] {share:4.0%} {done:,}/{total:,} 行 rows")
        else:
            err.write(f"\r已检查 {done:,} 行 / {done:,} rows checked")
        err.flush()

    return show


def _utf8(stream: TextIO) -> TextIO:
    # A terminal in the C locale must still print Chinese rather than crash on it.
    if isinstance(stream, io.TextIOWrapper):
        stream.reconfigure(errors="backslashreplace")
    return stream
