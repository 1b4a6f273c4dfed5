"""The import report: every problem with its row, field, safe value, reason and fix, in two languages.

Rendering is pure (strings in, strings out) so the CLI, a future GUI and the tests share it. Values of ID
fields are only ever shown masked or redacted; the report must not become a copy of the full numbers.

The report is bounded: a file of 100,000 bad rows holds some 700,000 problems, hundreds of megabytes in
memory and a report no one reads. The first :data:`MAX_PROBLEMS_IN_FULL` problems are kept in full; the
rest are counted per reason (severity, field and rule code), each reason with its first example.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import SupportsIndex

from signage.core.records import DebtorRecord
from signage.core.rules import Finding


class Severity(enum.StrEnum):
    """Refused rows are left out; warnings keep the row; info says what the import did, such as skipping
    a title or a total row."""

    REFUSED = "refused"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class Problem:
    """One finding about the file or one of its rows.

    Attributes:
        severity: Refused or warning.
        finding: What is wrong and how to fix it.
        row: Spreadsheet row number, or ``None`` for the file as a whole.
        field: Our field name (``id_number``), or ``None``.
        column: The header as written in the file, or ``None``.
        value: The offending value, safe to print (ID numbers masked or redacted), or ``None``.
        serial: The row's 序号 as the export writes it, so a clerk can find the row by it too.
    """

    severity: Severity
    finding: Finding
    row: int | None = None
    field: str | None = None
    column: str | None = None
    value: str | None = None
    serial: str | None = None


#: Problems kept in full; the rest are counted per reason.
MAX_PROBLEMS_IN_FULL = 200
#: Refused row numbers listed in the JSON report (all of them are counted).
MAX_ROWS_LISTED = 1_000


@dataclass
class Omitted:
    """Problems of one reason beyond :data:`MAX_PROBLEMS_IN_FULL`.

    Attributes:
        count: How many.
        example: The first of them, shown as an example.
    """

    count: int
    example: Problem


class Problems(list[Problem]):
    """A report's problems: a list of the first ``limit`` in full, and a tally of the rest per reason.

    It is a list so code that appends, extends, inserts and iterates keeps working; what goes past the
    limit is counted in :attr:`omitted`, and the refused rows and warnings are counted whether kept or not.
    """

    def __init__(self, problems: Iterable[Problem] = (), *, limit: int = MAX_PROBLEMS_IN_FULL) -> None:
        super().__init__()
        self.limit = limit
        self.omitted: dict[tuple[str, str | None, str], Omitted] = {}
        self.refused: set[int] = set()
        self.warning_count = 0
        self.extend(problems)

    @property
    def total(self) -> int:
        """All problems, kept and counted."""
        return len(self) + sum(omitted.count for omitted in self.omitted.values())

    def _count(self, problem: Problem) -> None:
        if problem.severity is Severity.REFUSED and problem.row is not None:
            self.refused.add(problem.row)
        elif problem.severity is Severity.WARNING:
            self.warning_count += 1

    def _tally(self, problem: Problem) -> None:
        key = (str(problem.severity), problem.field, problem.finding.code)
        if key in self.omitted:
            self.omitted[key].count += 1
        else:
            self.omitted[key] = Omitted(1, problem)

    def append(self, problem: Problem) -> None:
        """Keep ``problem`` if there is room, else count it."""
        self._count(problem)
        if len(self) < self.limit:
            super().append(problem)
        else:
            self._tally(problem)

    def extend(self, problems: Iterable[Problem]) -> None:
        """Append each of ``problems``."""
        for problem in problems:
            self.append(problem)

    def __iadd__(self, problems: Iterable[Problem]) -> Problems:  # type: ignore[override, misc]
        self.extend(problems)
        return self

    def insert(self, index: SupportsIndex, problem: Problem) -> None:
        """Insert ``problem`` (a summary goes first); the last kept one is counted if there is no room."""
        self._count(problem)
        super().insert(index, problem)
        if len(self) > self.limit:
            self._tally(super().pop())


def _problems() -> Problems:
    return Problems()


@dataclass
class ImportReport:
    """The outcome of importing one file.

    Attributes:
        source: The file's path as given.
        encoding: How it was decoded.
        rows_read: Data rows read (empty rows not counted).
        records: The accepted records, in file order.
        problems: The problems in file order, file-level ones first: the first
            :data:`MAX_PROBLEMS_IN_FULL` in full, the rest counted per reason (see :class:`Problems`).
        serials: Entry id -> the 序号 of the row it came from (for messages and preview file names).
        row_numbers: Entry id -> the spreadsheet row it came from.
    """

    source: str
    encoding: str = ""
    rows_read: int = 0
    records: list[DebtorRecord] = field(default_factory=list)
    problems: Problems = field(default_factory=_problems)
    serials: dict[str, str] = field(default_factory=dict)
    row_numbers: dict[str, int] = field(default_factory=dict)

    @property
    def refused_rows(self) -> list[int]:
        """Row numbers with at least one refusal, ascending (counted even when their problems are not kept)."""
        return sorted(self.problems.refused)

    @property
    def warnings(self) -> list[Problem]:
        """The kept problems that did not refuse their row."""
        return [p for p in self.problems if p.severity is Severity.WARNING]

    @property
    def warning_count(self) -> int:
        """All warnings, kept or only counted."""
        return self.problems.warning_count


def render_text(report: ImportReport) -> str:
    """The report as operators read it in a terminal: a summary, then one block per problem."""
    refused = report.refused_rows
    lines = [
        f"{report.source}（{report.encoding}）",
        f"  读取 {report.rows_read} 行：接受 {len(report.records)} 行，拒绝 {len(refused)} 行，"
        f"提示 {report.warning_count} 条",
        f"  read {report.rows_read} rows: {len(report.records)} accepted, {len(refused)} refused, "
        f"{report.warning_count} warnings",
    ]
    for problem in report.problems:
        lines.append("")
        lines.extend(_problem_lines(problem))
    omitted = report.problems.omitted
    if omitted:
        count = sum(entry.count for entry in omitted.values())
        lines += [
            "",
            f"另有 {count:,} 条问题未逐条列出（只列出前 {report.problems.limit} 条），按原因统计如下；"
            "改正上面列出的问题后重新检查，即可看到其余各行",
            f"{count:,} more problems are not listed one by one (only the first {report.problems.limit} are); "
            "by reason below. Fix the ones above and check again to see the rest",
        ]
        for entry in sorted(omitted.values(), key=lambda entry: -entry.count):
            zh, en = _problem_lines(entry.example)
            lines += ["", f"  × {entry.count:,}，例如 {zh}", f"  × {entry.count:,}, e.g. {en}"]
    return "\n".join(lines) + "\n"


_LABELS = {
    Severity.REFUSED: ("拒绝", "REFUSED"),
    Severity.WARNING: ("提示", "warning"),
    Severity.INFO: ("说明", "info"),
}


def _problem_lines(problem: Problem) -> list[str]:
    where_zh = "整个文件" if problem.row is None else f"第 {problem.row} 行"
    where_en = "file" if problem.row is None else f"row {problem.row}"
    if problem.serial is not None:
        where_zh += f"（序号 {problem.serial}）"
        where_en += f" (序号 {problem.serial})"
    if problem.column is not None:
        where_zh += f"，列“{problem.column}”"
        where_en += f", column '{problem.column}' ({problem.field})"
    if problem.value is not None:
        where_zh += f"，值“{problem.value}”"
        where_en += f", value '{problem.value}'"
    label_zh, label_en = _LABELS[problem.severity]
    finding = problem.finding
    return [
        f"[{label_zh}] {where_zh}：{finding.zh}。修改：{finding.fix_zh}",
        f"[{label_en}] {where_en}: {finding.en}. Fix: {finding.fix_en}",
    ]


def render_json(report: ImportReport) -> str:
    """The report as JSON for scripts: the summary and the problems (not the records)."""
    document = {
        "source": report.source,
        "encoding": report.encoding,
        "rows_read": report.rows_read,
        "accepted": len(report.records),
        "refused_row_count": len(report.refused_rows),
        # The first MAX_ROWS_LISTED; refused_row_count says how many there are.
        "refused_rows": report.refused_rows[:MAX_ROWS_LISTED],
        "problem_count": report.problems.total,
        "problems": [_problem_json(problem) for problem in report.problems],
        "omitted": [
            {"count": entry.count, "example": _problem_json(entry.example)}
            for entry in sorted(report.problems.omitted.values(), key=lambda entry: -entry.count)
        ],
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def _problem_json(problem: Problem) -> dict[str, object]:
    finding = problem.finding
    return {
        "severity": str(problem.severity),
        "code": finding.code,
        "row": problem.row,
        "serial": problem.serial,
        "field": problem.field,
        "column": problem.column,
        "value": problem.value,
        "zh": finding.zh,
        "en": finding.en,
        "fix_zh": finding.fix_zh,
        "fix_en": finding.fix_en,
    }


def summarise_codes(problems: Sequence[Problem]) -> dict[str, int]:
    """Count problems by finding code: handy for tests and for a one-line log."""
    counts: dict[str, int] = {}
    for problem in problems:
        counts[problem.finding.code] = counts.get(problem.finding.code, 0) + 1
    return counts
