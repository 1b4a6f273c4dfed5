"""Bad files cannot hurt the publishing PC (issue 10, part 5): every XLSX and CSV bomb is refused early.

The bombs are real files, built with :mod:`zipfile` by ``tests/bombs.py``. Memory is proven bounded by
running the real ``signage check`` in a child process under an address-space limit of 500 MB
(``RLIMIT_AS``): a reader that built the 30-million-cell row or loaded every shared string would die of a
MemoryError there, not print the clear refusal. Time is measured in ``bench/import_bombs.py``, not here.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import resource
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont
from openpyxl.utils.datetime import CALENDAR_MAC_1904

from signage.core.errors import ExitStatus, InputFileError
from signage.operator.importer import ImportOptions, import_file
from signage.operator.importer.tabular import MAX_COLUMNS, MAX_ROW_CHARS
from signage.operator.importer.xlsx import MAX_DEPTH, MAX_ROW_CELLS, read_first_sheet
from signage.operator.report import MAX_PROBLEMS_IN_FULL, render_json, render_text
from tests import bombs
from tests.helpers import HEADERS, TODAY, person_row, write_csv

OPTIONS = ImportOptions(today=TODAY)
ROOT = Path(__file__).resolve().parents[2]
MEMORY_LIMIT = 500 * 1024 * 1024


def refusal(path: Path) -> InputFileError:
    with pytest.raises(InputFileError) as caught:
        import_file(path, OPTIONS)
    error = caught.value
    # Chinese first, English too; both name the file.
    assert error.bilingual().index(error.zh) < error.bilingual().index(error.en)
    assert path.name in error.zh and path.name in error.en
    return error


def run_check_under_memory_limit(path: Path) -> subprocess.CompletedProcess[str]:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    return subprocess.run(
        [sys.executable, "-m", "signage", "check", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        preexec_fn=limit,  # the child runs no threads before exec
        check=False,
    )


def sheet_with(path: Path, *rows: str, head: str = bombs.SHEET_HEAD) -> Path:
    return bombs.write_xlsx(path, [head, bombs.header_row(), *rows, bombs.SHEET_TAIL])


# --- the bombs of the issue --------------------------------------------------------------------------------


def test_one_row_of_30_million_cells_in_875_kb_is_refused_at_the_column_limit(tmp_path):
    path = bombs.one_row_of_cells(tmp_path / "row.xlsx")
    assert path.stat().st_size < 1_000_000
    error = refusal(path)
    assert f"{MAX_COLUMNS}" in error.en and "row 2" in error.en and "第 2 行" in error.zh
    assert "save it as a new .xlsx file" in error.en and "另存为新的 .xlsx 文件" in error.zh


def test_a_row_of_many_empty_cells_is_refused_at_the_cells_limit(tmp_path):
    path = sheet_with(tmp_path / "cells.xlsx", '<row r="2">', *bombs.repeated('<c r="A2"/>', 5_000), "</row>")
    error = refusal(path)
    assert f"more than {MAX_ROW_CELLS:,} cells" in error.en and "row 2" in error.en


def test_a_value_in_the_last_excel_column_is_refused(tmp_path):
    error = refusal(bombs.wide_sheet(tmp_path / "wide.xlsx"))
    assert "column 16384" in error.en and f"{MAX_COLUMNS}-column limit" in error.en


def test_styled_empty_cells_far_right_are_ignored(tmp_path):
    cells = "".join(bombs.inline(text) for text in person_row().values()) + '<c r="XFD2" s="0"/>'
    path = sheet_with(tmp_path / "styled.xlsx", f'<row r="2">{cells}</row>')
    header = "".join(bombs.inline(text) for text in HEADERS)
    bombs.write_xlsx(
        path, [bombs.SHEET_HEAD, f'<row r="1">{header}</row>', f'<row r="2">{cells}</row>', bombs.SHEET_TAIL]
    )
    assert len(import_file(path, OPTIONS).records) == 1


def test_a_shared_strings_bomb_is_refused_by_count(tmp_path):
    error = refusal(bombs.shared_strings_bomb(tmp_path / "strings.xlsx"))
    assert "shared-strings table" in error.en and "1,000,000 strings" in error.en and "共享字符串" in error.zh


def test_long_shared_strings_are_refused_by_total_characters(tmp_path):
    error = refusal(bombs.long_shared_strings(tmp_path / "long.xlsx"))
    assert "16,000,000 characters" in error.en


def test_billion_laughs_is_refused_before_any_expansion(tmp_path):
    error = refusal(bombs.billion_laughs(tmp_path / "laughs.xlsx"))
    assert "DTD" in error.en and "DTD" in error.zh


def test_a_member_whose_declared_size_is_too_small_is_damaged_not_read_on(tmp_path):
    path = bombs.lying_size(tmp_path / "lies.xlsx", declared=1_000)
    error = refusal(path)
    assert "damaged" in error.en and "xl/worksheets/sheet1.xml" in error.en and "已损坏" in error.zh


def test_declared_sizes_over_the_limit_are_refused_before_reading(tmp_path):
    error = refusal(bombs.lying_size(tmp_path / "declared.xlsx", declared=600 * 1024 * 1024))
    assert "unpacks to more than 512 MB" in error.en


def test_bytes_actually_decompressed_are_capped_per_part(tmp_path):
    # 300 MB of character data honestly declared: under the declared-total limit, over the per-part one.
    filler = bombs.repeated(" " * 1023 + ">", 300 * 1024, batch=1024)
    error = refusal(sheet_with(tmp_path / "filler.xlsx", *filler))
    assert "xl/worksheets/sheet1.xml unpacks to more than the 256 MB limit" in error.en


def test_a_single_huge_tag_is_refused(tmp_path):
    huge = '<row r="2"><c r="A2" x="' + "a" * (3 * 1024 * 1024) + '"/></row>'
    error = refusal(sheet_with(tmp_path / "tag.xlsx", huge))
    assert "single tag or text over 1 MB" in error.en


def test_deep_nesting_is_refused(tmp_path):
    deep = "<x>" * (MAX_DEPTH + 10) + "</x>" * (MAX_DEPTH + 10)
    error = refusal(sheet_with(tmp_path / "deep.xlsx", deep))
    assert f"more than {MAX_DEPTH} deep" in error.en


BOMBS: dict[str, Callable[[Path], Path]] = {
    "row": bombs.one_row_of_cells,
    "strings": bombs.shared_strings_bomb,
    "wide": bombs.wide_sheet,
    "laughs": bombs.billion_laughs,
    "lies": bombs.lying_size,
}


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_signage_check_refuses_each_bomb_within_500_mb_of_address_space(tmp_path, name):
    path = BOMBS[name](tmp_path / f"{name}.xlsx")
    result = run_check_under_memory_limit(path)
    assert result.returncode == ExitStatus.INPUT, result.stderr
    assert path.name in result.stderr and "MemoryError" not in result.stderr


# --- CSV -----------------------------------------------------------------------------------------------------


def test_a_20_mb_csv_of_one_line_is_refused_within_500_mb(tmp_path):
    path = tmp_path / "line.csv"
    path.write_text(",".join(HEADERS) + "\n" + "a," * (10 * 1024 * 1024), encoding="utf-8")
    error = refusal(path)
    assert f"longer than {MAX_ROW_CHARS:,} characters" in error.en and "line 2" in error.en
    result = run_check_under_memory_limit(path)
    assert result.returncode == ExitStatus.INPUT and "MemoryError" not in result.stderr


def test_rows_swallowed_by_quotes_are_refused_within_500_mb(tmp_path):
    # A quote opens and closes on every line, so csv keeps joining lines into one row of millions of cells.
    path = tmp_path / "quotes.csv"
    line = 'a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,a,"\n",'
    path.write_text(",".join(HEADERS) + "\n" + line * 500_000 + "\n", encoding="utf-8")
    assert path.stat().st_size > 19 * 1024 * 1024
    error = refusal(path)
    assert "unclosed quote" in error.en
    result = run_check_under_memory_limit(path)
    assert result.returncode == ExitStatus.INPUT and "MemoryError" not in result.stderr


def test_a_csv_with_values_beyond_the_column_limit_is_refused_and_empty_ones_dropped(tmp_path):
    def write(name: str, header: list[str]) -> Path:
        path: Path = tmp_path / name
        with path.open("w", encoding="utf-8", newline="") as handle:
            csv.writer(handle).writerows([header, list(person_row().values())])
        return path

    wide = write("wide.csv", [*HEADERS, *[""] * MAX_COLUMNS, "x"])
    assert f"over the {MAX_COLUMNS}-column limit" in refusal(wide).en
    trailing = write("trailing.csv", [*HEADERS, *[""] * 1_000])
    assert len(import_file(trailing, OPTIONS).records) == 1


# --- ordinary files read as openpyxl reads them --------------------------------------------------------------


def test_the_streaming_reader_gives_the_values_openpyxl_gives(tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["序号", "姓名", "金额", "日期", "时间", "布尔", "公式"])
    sheet.append([1, "林小雨", 1048.67, dt.datetime(2026, 3, 1), dt.time(12, 30), True, "=1+1"])
    sheet.append([2, "  空格 ", 370102198001011234, dt.date(2026, 3, 1), dt.timedelta(hours=5), False, None])
    sheet["B5"] = "跳过第 4 行"
    sheet["H5"] = 1e20
    sheet["C6"] = CellRichText(("富", TextBlock(InlineFont(b=True), "文本")))
    sheet["D6"] = 46082
    sheet["D6"].number_format = "yyyy-mm-dd"
    sheet["E6"] = 0.5
    sheet["E6"].number_format = "[h]:mm"
    workbook.create_sheet("第二张").append(["不读"])
    path = tmp_path / "typed.xlsx"
    workbook.save(path)

    def trimmed(cells: list[object]) -> list[object]:
        while cells and cells[-1] == "":
            cells.pop()
        return cells

    theirs_book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    theirs = [
        (number, trimmed(["" if value is None else value for value in values]))
        for number, values in enumerate(theirs_book.worksheets[0].iter_rows(values_only=True), start=1)
    ]
    theirs_book.close()
    sheet_rows = read_first_sheet(path, declared_limit=1 << 30)
    mine = [(number, trimmed(list(cells))) for number, cells in sheet_rows.rows]
    assert mine == theirs
    assert isinstance(mine[2][1][2], float)  # the number-stored ID stays a number for rows.py to refuse
    assert sheet_rows.dimension_rows == 6


def test_a_1904_workbook_gives_the_same_dates(tmp_path):
    workbook = openpyxl.Workbook()
    workbook.epoch = CALENDAR_MAC_1904
    sheet = workbook.active
    assert sheet is not None
    sheet.append(list(HEADERS))
    sheet.append([*list(person_row().values())[:7], dt.datetime(2026, 3, 1), dt.datetime(2028, 3, 1)])
    path = tmp_path / "mac.xlsx"
    workbook.save(path)
    [record] = import_file(path, OPTIONS).records
    assert record.listed_on == dt.date(2026, 3, 1)


def test_a_row_number_beyond_excel_is_refused_not_padded_with_empty_rows(tmp_path):
    path = sheet_with(tmp_path / "far.xlsx", '<row r="999999999"><c><v>1</v></c></row>')
    assert "not a valid .xlsx" in refusal(path).en


def test_a_zip_that_is_not_a_workbook_is_refused(tmp_path):
    path = tmp_path / "other.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "not a workbook")
    assert "not a valid .xlsx" in refusal(path).en


# --- a bounded report ----------------------------------------------------------------------------------------


def test_100000_refused_rows_give_a_bounded_report(tmp_path):
    rows = [person_row(f"B{number}", 执行法院="法院") for number in range(100_000)]
    path = write_csv(tmp_path / "bad.csv", rows)
    report = import_file(path, OPTIONS)
    assert len(report.refused_rows) == 100_000 and report.records == []
    assert len(report.problems) == MAX_PROBLEMS_IN_FULL
    [omitted] = report.problems.omitted.values()
    assert omitted.count == 100_000 - MAX_PROBLEMS_IN_FULL and omitted.example.field == "court"
    text = render_text(report)
    assert len(text.encode()) < 200_000
    assert f"× {omitted.count:,}" in text and "第 202 行" in text and "row 202" in text
    document = json.loads(render_json(report))
    assert len(render_json(report).encode()) < 400_000
    assert document["refused_row_count"] == 100_000 and document["problem_count"] == 100_000
    assert document["omitted"][0]["count"] == omitted.count
    assert document["omitted"][0]["example"]["code"] == "text.length"


# --- formulas never reach a report -----------------------------------------------------------------------


def test_names_courts_and_representatives_starting_like_formulas_are_refused_with_row_and_field(tmp_path):
    headers = (*HEADERS, "法定代表人", "执行法院电话")
    code = "91350100M000100Y43"
    rows = [
        person_row("F1", 姓名='=HYPERLINK("https://example.invalid","林小雨")'),
        person_row("F2", 执行法院="-青川市东湖区人民法院"),
        person_row("F3", 姓名="@SUM(1+1)示例公司", 证件号码=code, 法定代表人="周一鸣"),
        person_row("F4", 姓名="青川市示例建材贸易有限公司", 证件号码=code, 法定代表人="+周一鸣"),
        # A leading sign in an amount or a phone is that field's business, not a formula refusal.
        person_row("F5", 执行标的="-5"),
        person_row("F6", 执行法院电话="+86 531 1234 5678"),
    ]
    report = import_file(write_csv(tmp_path / "formulas.csv", rows, headers=headers), OPTIONS)
    formula = [p for p in report.problems if p.finding.code == "text.formula"]
    assert [(p.row, p.field) for p in formula] == [
        (2, "name"),
        (3, "court"),
        (4, "name"),
        (5, "legal_representative"),
    ]
    text = render_text(report)
    assert "第 3 行（序号 F2），列“执行法院”" in text and "row 3 (序号 F2), column '执行法院' (court)" in text
    assert "请删除执行法院开头的“-”" in text
    assert [p.field for p in report.problems if p.row == 6] == ["amount"]
    assert [report.serials[record.entry_id] for record in report.records] == ["F6"]
