"""``signage audit verify``: check the audit log's hash chain from the command line.

Exit status 0 with the number of events when the chain is intact; otherwise each problem on standard
output, and the exit status of refused content (a court relies on this log, so a break is never a warning).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, TextIO

from signage.core.errors import ExitStatus


def add_audit_commands(commands: Any) -> None:
    """Add ``audit verify`` to the ``signage`` subcommands."""
    audit = commands.add_parser(
        "audit",
        help="check the console's hash-chained audit log",
        description="Every act in the console (login, upload, approval, takedown, rollback, ...) is one event "
        "in an append-only log; each event's hash covers the one before it.",
    )
    actions = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    verify = actions.add_parser(
        "verify",
        help="check that no event was changed, removed or reordered",
        description="Exit status 0 and the number of events when the chain is intact; 5 and each problem "
        "(with its event number) when it is not.",
    )
    verify.add_argument("--repo", type=Path, required=True, metavar="DIR")
    verify.set_defaults(handler=audit_verify)


def audit_verify(arguments: argparse.Namespace, out: TextIO, err: TextIO) -> ExitStatus:
    """``signage audit verify --repo DIR``."""
    from signage.operator.hub.bootstrap import setup

    setup(arguments.repo)
    from signage.operator.hub.audit.models import verify

    verdict = verify()
    if verdict.ok:
        print(
            f"审计日志完整：{verdict.events} 条记录，哈希链无断裂 / "
            f"the audit log is intact: {verdict.events} events, the hash chain is unbroken",
            file=out,
        )
        return ExitStatus.OK
    print(
        f"审计日志已被改动：发现 {len(verdict.problems)} 处问题 / "
        f"the audit log was tampered with: {len(verdict.problems)} problem(s)",
        file=out,
    )
    for problem in verdict.problems:
        print(f"  - {problem}", file=out)
    return ExitStatus.REFUSED
