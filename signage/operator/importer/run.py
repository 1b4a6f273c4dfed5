"""The import as a whole: open the file, map columns, build records, attach photos, catch duplicates.

This is the building block of ``signage check`` and (in a later issue) ``signage publish``. It reads the
operator's files and writes nothing but what the given :class:`~signage.operator.photos.PhotoSink` stores.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from signage.core.errors import InputFileError
from signage.core.records import DebtorRecord, PhotoRef
from signage.core.rules import Finding, RuleViolation
from signage.core.rules.idcard import MaskPolicy
from signage.operator.importer.columns import HEADER_SEARCH_ROWS, ColumnMap, map_columns, recognised_fields
from signage.operator.importer.rows import build_record, with_photo
from signage.operator.importer.tabular import Cell, Table, open_table
from signage.operator.photos import HashingSink, PhotoSink, normalise_photo, resolve_photo
from signage.operator.report import ImportReport, Problem, Severity

PROGRESS_EVERY = 1_000


@dataclass(frozen=True)
class ImportOptions:
    """Everything an import depends on, passed in.

    Attributes:
        today: The import's date: refusals for future dates, ended terms and minors are judged on it.
        policy: The ID mask; never weaker than the SPC list's.
        photos: The folder photo names are looked up in, or ``None`` to import without photos.
        sink: Where normalised photos go.
        strict: Accept no record at all if any row is refused.
        progress: Called with the rows done and the estimated total (or ``None``), every
            :data:`PROGRESS_EVERY` rows.
        published_on: The publication date for rows whose 发布时间 is empty, given by the operator
            (``--published-on``); without it such rows are refused. Nothing is ever guessed.
    """

    today: dt.date
    policy: MaskPolicy = MaskPolicy.SPC
    photos: Path | None = None
    sink: PhotoSink = field(default_factory=HashingSink)
    strict: bool = False
    progress: Callable[[int, int | None], None] | None = None
    published_on: dt.date | None = None


# A header row names at least this many known fields; a title or an 导出时间 line names none or one.
_MIN_HEADER_FIELDS = 3
# Rows below the list that are not debtors: totals, notes and signatures, as court exports write them.
_TRAILER = re.compile(
    r"(合计|总计|小计|共计|累计|总数|本页|制表|填表|审核|审批|复核|负责人|经办人|备注|注[:：]|说明|数据来源|"
    r"导出|打印|统计|签字|签名|盖章|以下空白|此页)"
)


def import_file(path: Path, options: ImportOptions) -> ImportReport:
    """Import one CSV or XLSX file.

    Raises:
        InputFileError: the file cannot be used at all (unreadable, empty, missing columns, too large).
            A bad row is never raised; it is in the report.
    """
    table = open_table(path)
    try:
        return _import(table, path, options)
    finally:
        table.close()


def _import(table: Table, path: Path, options: ImportOptions) -> ImportReport:
    report = ImportReport(source=str(path), encoding=table.encoding)
    columns, rows = _find_header(table, report)
    for header in columns.ignored:
        report.problems.append(_file_warning(_ignored_column(header)))
    for header in columns.not_shown:
        report.problems.append(Problem(Severity.INFO, _not_shown_column(header)))
    for used, ignored in columns.shadowed:
        report.problems.append(_file_warning(_shadowed_column(used, ignored)))
    if "listed_on" not in columns.index and options.published_on is None:
        raise InputFileError(
            "没有“发布时间”列。系统不会用立案时间或其他日期代替发布时间。请加上“发布时间”列，"
            "或用 --published-on 年-月-日 指定本文件的发布时间",
            "there is no publication date column (发布时间). No other date, such as the filing date (立案时间), "
            "is used instead. Add the column, or give the date with --published-on YYYY-MM-DD",
        )
    if "term_ends" not in columns.index:
        report.problems.append(_file_warning(_default_term("conduct" in columns.index)))
    if "photo" in columns.index and options.photos is None:
        report.problems.append(_file_warning(_no_photo_folder()))
    if options.photos is not None and not options.photos.is_dir():
        raise InputFileError(
            f"照片文件夹 {options.photos} 不存在", f"the photo folder {options.photos} does not exist"
        )

    photo_cache: dict[Path, PhotoRef | RuleViolation] = {}
    for number, cells in rows:
        trailer = _trailer_text(cells, columns)
        if trailer is not None:
            report.problems.append(Problem(Severity.INFO, _trailer(trailer), number))
            continue
        report.rows_read += 1
        if options.progress is not None and report.rows_read % PROGRESS_EVERY == 0:
            options.progress(report.rows_read, table.estimated_rows)
        outcome = build_record(
            cells,
            columns,
            number=number,
            policy=options.policy,
            today=options.today,
            published_on=options.published_on,
        )
        report.problems.extend(outcome.problems)
        record = outcome.record
        if record is None:
            continue
        if record.entry_id in report.row_numbers:
            report.problems.append(
                _duplicate(number, record, report.row_numbers[record.entry_id], outcome.serial, columns)
            )
            continue
        report.row_numbers[record.entry_id] = number
        if outcome.serial is not None:
            report.serials[record.entry_id] = outcome.serial
        if outcome.photo_name and options.photos is not None:
            photo = _photo(options.photos, outcome.photo_name, options.sink, photo_cache)
            if isinstance(photo, RuleViolation):
                report.problems.append(
                    Problem(
                        Severity.WARNING,
                        photo.finding,
                        number,
                        "photo",
                        columns.headers["photo"],
                        outcome.photo_name,
                        outcome.serial,
                    )
                )
            else:
                record = with_photo(record, photo)
        report.records.append(record)
    if report.rows_read == 0:
        raise InputFileError(
            f"{path.name} 只有表头，没有数据行", f"{path.name} has a header row but no data rows"
        )
    if options.strict and report.refused_rows and report.records:
        report.records.clear()
        report.problems.insert(0, Problem(Severity.REFUSED, _strict(len(report.refused_rows))))
    return report


def _find_header(table: Table, report: ImportReport) -> tuple[ColumnMap, Iterator[tuple[int, list[Cell]]]]:
    """The header row among the first :data:`HEADER_SEARCH_ROWS` non-empty rows, and the rows below it.

    Court exports put a merged title ("XX人民法院失信被执行人名单") and lines such as 导出时间 above the
    header. Each row skipped is reported as info, so the clerk sees what was taken for the header.
    """
    candidates: list[tuple[int, list[Cell]]] = [(table.header_row, list(table.headers))]
    candidates += itertools.islice(table.rows, HEADER_SEARCH_ROWS - 1)
    for position, (_, cells) in enumerate(candidates):
        headers = [_cell_text(cell) for cell in cells]
        if recognised_fields(headers) >= _MIN_HEADER_FIELDS:
            for skipped_number, skipped in candidates[:position]:
                report.problems.append(Problem(Severity.INFO, _title_skipped(skipped), skipped_number))
            return map_columns(headers), itertools.chain(candidates[position + 1 :], table.rows)
    # No row looks like a header: the first one's missing columns are the clearest message.
    return map_columns([_cell_text(cell) for cell in table.headers]), iter(())


def _cell_text(cell: Cell) -> str:
    return str(cell).strip()


def _first_text(cells: list[Cell]) -> str:
    """The row's first non-empty cell, as text: what a title, total or note row says."""
    return next((_cell_text(cell) for cell in cells if _cell_text(cell)), "")


def _trailer_text(cells: list[Cell], columns: ColumnMap) -> str | None:
    """The text of a total, note or signature row below the list, or ``None`` for a debtor row."""
    first = _first_text(cells)
    case_position = columns.index.get("case_number")
    case = (
        _cell_text(cells[case_position]) if case_position is not None and case_position < len(cells) else ""
    )
    # A row with a case number is a debtor, whatever its first cell says.
    if "执" in case:
        return None
    if _TRAILER.match(unicodedata.normalize("NFKC", first).lstrip()):
        return first[:40]
    return None


def _photo(
    folder: Path, name: str, sink: PhotoSink, cache: dict[Path, PhotoRef | RuleViolation]
) -> PhotoRef | RuleViolation:
    # The same person in two cases shares one photo file; decode it once.
    try:
        path = resolve_photo(folder, name)
    except RuleViolation as violation:
        return violation
    if path not in cache:
        try:
            cache[path] = sink.put(normalise_photo(path))
        except RuleViolation as violation:
            cache[path] = violation
    return cache[path]


def _file_warning(finding: Finding) -> Problem:
    return Problem(Severity.WARNING, finding)


def _ignored_column(header: str) -> Finding:
    return Finding(
        "column.ignored",
        f"列“{header}”不是可公布的字段，已忽略，绝不会显示",
        f"the column '{header}' is not a publishable field; it is ignored and never displayed",
        "无需处理；如果这是必需字段，请按文档改正列名",
        "nothing to do; if it is a required field, rename it as docs/data-model.md shows",
    )


def _shadowed_column(used: str, ignored: str) -> Finding:
    return Finding(
        "column.shadowed",
        f"列“{used}”与列“{ignored}”含义相同，使用“{used}”，忽略“{ignored}”",
        f"the columns '{used}' and '{ignored}' mean the same field; '{used}' is used",
        "删除其中一列以免混淆",
        "delete one of them to avoid confusion",
    )


def _default_term(has_conduct: bool) -> Finding:
    if has_conduct:
        return Finding(
            "column.no_term_end",
            "没有“期限截止日期”列：按失信情形计算期限。仅因“有履行能力而拒不履行”纳入的，不设期限，"
            "直至履行或撤回；其他情形自发布时间起两年（最高法规定第一、二条）",
            "no term-end column: the term follows the ground. Ground (1) alone (able to perform but refuses) "
            "has no fixed term, until the debtor performs or is taken down; grounds (2)-(6) end two years "
            "after the publication date (SPC provisions, Arts. 1 and 2)",
            "如法院延长了期限（一至三年），请加上“期限截止日期”列",
            "add a 期限截止日期 (term_end) column where the court extended the term (by one to three years)",
        )
    return Finding(
        "column.no_term_end",
        "没有“期限截止日期”和“失信被执行人行为具体情形”列：每条按发布时间起两年计算（最高法规定第二条）",
        "no term-end and no conduct column: each entry's term ends two years after its publication date "
        "(SPC provisions, Art. 2)",
        "如法院决定了其他期限，请加上“期限截止日期”列；加上“失信被执行人行为具体情形”列可按情形计算期限",
        "add a 期限截止日期 (term_end) column where the court set another term, or the conduct column "
        "(失信被执行人行为具体情形) to have the term follow the ground",
    )


def _not_shown_column(header: str) -> Finding:
    return Finding(
        "column.not_shown",
        f"列“{header}”已识别，按规定不在屏幕上显示",
        f"the column '{header}' is recognised and, by design, not shown on screens",
        "无需处理",
        "nothing to do",
    )


def _title_skipped(cells: list[Cell]) -> Finding:
    text = _first_text(cells)[:40]
    return Finding(
        "row.title",
        f"表头上方的“{text}”不是表头，已跳过",
        f"'{text}' above the header row is not the header; skipped",
        "无需处理",
        "nothing to do",
    )


def _trailer(text: str) -> Finding:
    return Finding(
        "row.trailer",
        f"“{text}”是合计、备注或签名行，不是被执行人，已跳过",
        f"'{text}' is a total, note or signature row, not a debtor; skipped",
        "无需处理",
        "nothing to do",
    )


def _no_photo_folder() -> Finding:
    return Finding(
        "photo.no_folder",
        "表格有照片列，但没有用 --photos 指定照片文件夹：本次不带照片",
        "the file has a photo column but no --photos folder was given: importing without photos",
        "加上 --photos 照片文件夹",
        "add --photos DIR",
    )


def _duplicate(
    number: int, record: DebtorRecord, first: int, serial: str | None, columns: ColumnMap
) -> Problem:
    return Problem(
        Severity.REFUSED,
        Finding(
            "entry.duplicate",
            f"{record.debtor.name}（{record.case_number}）与第 {first} 行是同一案件的同一被执行人",
            f"{record.debtor.name} ({record.case_number}) is the same debtor in the same case as row {first}",
            "同一案件同一被执行人只应出现一次；请删除重复行，或核对案号和证件号码",
            "one debtor in one case appears once; delete the duplicate, or check the case number and ID",
        ),
        number,
        "case_number",
        columns.headers["case_number"],
        record.case_number,
        serial,
    )


def _strict(count: int) -> Finding:
    return Finding(
        "import.strict",
        f"严格模式：有 {count} 行被拒绝，因此整个文件不予接受",
        f"strict mode: {count} rows were refused, so no row of the file is accepted",
        "改正下列各行后重新导入",
        "fix the rows below and import again",
    )
