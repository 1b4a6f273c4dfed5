"""The ``signage`` command: argparse subcommands over the pure core.

``main(argv)`` returns an exit status and is what tests call. This module is the one place that maps
errors to exit codes (see :mod:`signage.errors`); commands raise, they do not exit.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from signage import __version__
from signage.errors import ExitStatus, InputFileError, SignageError, exit_status_for
from signage.importer import ImportOptions, import_file
from signage.report import render_json, render_text
from signage.rules.idcard import MaskPolicy

SAMPLE_DIR = Path(__file__).resolve().parent.parent / "playlists" / "sample"
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
        "its value (ID numbers masked) and the fix, in Chinese and English. Nothing is written.",
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
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    check.set_defaults(handler=_check)

    demo = commands.add_parser(
        "demo",
        help="check the fictional sample channel and print its report",
        description="For now: imports the fictional sample data in playlists/sample and prints the report. "
        "The hub and the player that will show it on screen come in later releases.",
    )
    demo.set_defaults(handler=_demo)
    return parser


def main(
    argv: Sequence[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    """Run the command line and return its exit status."""
    out = stdout or _utf8(sys.stdout)
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
        print(error.bilingual(), file=err)
        return int(exit_status_for(error))
    except KeyboardInterrupt:
        print("已中断 / interrupted", file=err)
        return 130
    except Exception:  # the last line of defence: a bug gets a traceback and its own exit code
        traceback.print_exc(file=err)
        print("内部错误，请将以上信息报告给开发者 / internal error: please report the text above", file=err)
        return int(ExitStatus.INTERNAL)


def _check(arguments: argparse.Namespace, out: TextIO, err: TextIO) -> ExitStatus:
    source, photos = _locate(arguments.source, arguments.photos)
    report = import_file(
        source,
        ImportOptions(
            today=dt.date.today(),
            policy=MaskPolicy(arguments.mask),
            photos=photos,
            strict=arguments.strict,
            progress=_progress_printer(err),
        ),
    )
    if err.isatty():
        err.write("\r\033[K")
    out.write(render_json(report) if arguments.json else render_text(report))
    return ExitStatus.ROWS_REFUSED if report.refused_rows else ExitStatus.OK


def _demo(arguments: argparse.Namespace, out: TextIO, err: TextIO) -> ExitStatus:
    print(
        "signage demo：目前只导入并检查示例数据（虚构）；集线器与播放器将在后续版本加入。\n"
        "signage demo: for now this only imports and checks the fictional sample data; the hub and the "
        "player arrive in later releases.\n",
        file=out,
    )
    status = _check(
        argparse.Namespace(
            source=SAMPLE_DIR, photos=None, mask=MaskPolicy.SPC.value, strict=False, json=False
        ),
        out,
        err,
    )
    print(
        "示例数据中的拒绝行是有意设置的，用来演示检查规则（见 playlists/sample/README.md）。\n"
        "The refused rows are intended: they show the rules at work (see playlists/sample/README.md).",
        file=out,
    )
    # The sample is meant to contain refusals; the demo itself succeeded.
    return ExitStatus.OK if status in (ExitStatus.OK, ExitStatus.ROWS_REFUSED) else status


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


def _progress_printer(err: TextIO) -> Callable[[int], None] | None:
    if not err.isatty():
        return None

    def show(done: int) -> None:
        err.write(f"\r已检查 {done:,} 行 / {done:,} rows checked")
        err.flush()

    return show


def _utf8(stream: TextIO) -> TextIO:
    # A terminal in the C locale must still print Chinese rather than crash on it.
    if isinstance(stream, io.TextIOWrapper):
        stream.reconfigure(errors="backslashreplace")
    return stream
