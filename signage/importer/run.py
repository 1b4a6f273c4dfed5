"""The import as a whole: open the file, map columns, build records, attach photos, catch duplicates.

This is the building block of ``signage check`` and (in a later issue) ``signage publish``. It reads the
operator's files and writes nothing but what the given :class:`~signage.photos.PhotoSink` stores.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from signage.errors import InputFileError
from signage.importer.columns import ALIASES, map_columns
from signage.importer.rows import build_record, with_photo
from signage.importer.tabular import Table, open_table
from signage.photos import HashingSink, PhotoSink, normalise_photo, resolve_photo
from signage.records import PhotoRef
from signage.report import ImportReport, Problem, Severity
from signage.rules import Finding, RuleViolation
from signage.rules.idcard import MaskPolicy

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
    """

    today: dt.date
    policy: MaskPolicy = MaskPolicy.SPC
    photos: Path | None = None
    sink: PhotoSink = field(default_factory=HashingSink)
    strict: bool = False
    progress: Callable[[int, int | None], None] | None = None


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
    columns = map_columns(table.headers)
    report = ImportReport(source=str(path), encoding=table.encoding)
    for header in columns.ignored:
        report.problems.append(_file_warning(_ignored_column(header)))
    for used, ignored in columns.shadowed:
        report.problems.append(_file_warning(_shadowed_column(used, ignored)))
    if "term_ends" not in columns.index:
        report.problems.append(_file_warning(_default_term()))
    if "photo" in columns.index and options.photos is None:
        report.problems.append(_file_warning(_no_photo_folder()))
    if options.photos is not None and not options.photos.is_dir():
        raise InputFileError(
            f"照片文件夹 {options.photos} 不存在", f"the photo folder {options.photos} does not exist"
        )

    first_row_of: dict[str, int] = {}
    photo_cache: dict[Path, PhotoRef | RuleViolation] = {}
    for number, cells in table.rows:
        report.rows_read += 1
        if options.progress is not None and report.rows_read % PROGRESS_EVERY == 0:
            options.progress(report.rows_read, table.estimated_rows)
        outcome = build_record(cells, columns, number=number, policy=options.policy, today=options.today)
        report.problems.extend(outcome.problems)
        record = outcome.record
        if record is None:
            continue
        if record.entry_id in first_row_of:
            report.problems.append(_duplicate(number, record.entry_id, first_row_of[record.entry_id]))
            continue
        first_row_of[record.entry_id] = number
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


def _default_term() -> Finding:
    return Finding(
        "column.no_term_end",
        "没有“期限截止日期”列：每条按发布日期起两年计算（最高法规定第二条）",
        "no term-end column: each entry's term ends two years after its listing date (SPC provisions, Art. 2)",
        "如法院决定了其他期限，请加上“期限截止日期”列",
        "add a 期限截止日期 (term_end) column where the court set another term",
    )


def _no_photo_folder() -> Finding:
    return Finding(
        "photo.no_folder",
        "表格有照片列，但没有用 --photos 指定照片文件夹：本次不带照片",
        "the file has a photo column but no --photos folder was given: importing without photos",
        "加上 --photos 照片文件夹",
        "add --photos DIR",
    )


def _duplicate(number: int, entry_id: str, first: int) -> Problem:
    header = ALIASES["entry_id"][0]
    return Problem(
        Severity.REFUSED,
        Finding(
            "entry.duplicate",
            f"编号 {entry_id} 与第 {first} 行重复",
            f"the entry id {entry_id} repeats row {first}",
            "同一案件同一被执行人只应出现一次；请删除重复行或更正编号",
            "one debtor in one case appears once; delete the duplicate or correct its id",
        ),
        number,
        "entry_id",
        header,
        entry_id,
    )


def _strict(count: int) -> Finding:
    return Finding(
        "import.strict",
        f"严格模式：有 {count} 行被拒绝，因此整个文件不予接受",
        f"strict mode: {count} rows were refused, so no row of the file is accepted",
        "改正下列各行后重新导入",
        "fix the rows below and import again",
    )
