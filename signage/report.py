"""The import report: every problem with its row, field, safe value, reason and fix, in two languages.

Rendering is pure (strings in, strings out) so the CLI, a future GUI and the tests share it. Values of ID
fields are only ever shown masked or redacted; the report must not become a copy of the full numbers.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from signage.records import DebtorRecord
from signage.rules import Finding


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


@dataclass
class ImportReport:
    """The outcome of importing one file.

    Attributes:
        source: The file's path as given.
        encoding: How it was decoded.
        rows_read: Data rows read (empty rows not counted).
        records: The accepted records, in file order.
        problems: Every problem, in file order; file-level ones first.
        serials: Entry id -> the 序号 of the row it came from (for messages and preview file names).
        row_numbers: Entry id -> the spreadsheet row it came from.
    """

    source: str
    encoding: str = ""
    rows_read: int = 0
    records: list[DebtorRecord] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    serials: dict[str, str] = field(default_factory=dict)
    row_numbers: dict[str, int] = field(default_factory=dict)

    @property
    def refused_rows(self) -> list[int]:
        """Row numbers with at least one refusal, ascending."""
        return sorted({p.row for p in self.problems if p.severity is Severity.REFUSED and p.row is not None})

    @property
    def warnings(self) -> list[Problem]:
        """Problems that did not refuse their row."""
        return [p for p in self.problems if p.severity is Severity.WARNING]


def render_text(report: ImportReport) -> str:
    """The report as operators read it in a terminal: a summary, then one block per problem."""
    refused = report.refused_rows
    lines = [
        f"{report.source}（{report.encoding}）",
        f"  读取 {report.rows_read} 行：接受 {len(report.records)} 行，拒绝 {len(refused)} 行，"
        f"提示 {len(report.warnings)} 条",
        f"  read {report.rows_read} rows: {len(report.records)} accepted, {len(refused)} refused, "
        f"{len(report.warnings)} warnings",
    ]
    for problem in report.problems:
        lines.append("")
        lines.extend(_problem_lines(problem))
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
        "refused_rows": report.refused_rows,
        "problems": [_problem_json(problem) for problem in report.problems],
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
