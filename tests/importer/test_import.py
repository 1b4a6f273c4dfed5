"""Import of whole files: encodings, XLSX, columns, limits, duplicates and the per-row report."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import openpyxl
import pytest

from signage.core.errors import InputFileError
from signage.core.records import Organisation, Person
from signage.core.rules.idcard import MaskPolicy
from signage.operator.importer import ImportOptions, import_file
from signage.operator.importer.tabular import MAX_DATA_ROWS
from signage.operator.report import Severity, render_json, render_text, summarise_codes
from tests.helpers import HEADERS, TODAY, entry_id_of, full_id, person_row, write_csv

OPTIONS = ImportOptions(today=TODAY)


def codes(report, severity=Severity.REFUSED):
    return summarise_codes([p for p in report.problems if p.severity is severity])


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16"])
def test_every_encoding_excel_writes_gives_the_same_records(tmp_path, encoding):
    rows = [person_row("A1"), person_row("A2", 姓名="阿不都·热合曼"), person_row("A3", 姓名="王𠮷")]
    if encoding == "gbk":
        rows.pop()  # 𠮷 is outside GBK; GB18030 covers it
    path = write_csv(tmp_path / "list.csv", rows, encoding=encoding)
    report = import_file(path, OPTIONS)
    assert [record.debtor.name for record in report.records] == [row["姓名"] for row in rows]
    assert report.refused_rows == []


def test_undecodable_bytes_are_refused_with_the_fix(tmp_path):
    path = tmp_path / "broken.csv"
    path.write_bytes("姓名,案号\n".encode() + b"\x80\xff\xfe\x81\n")
    with pytest.raises(InputFileError) as caught:
        import_file(path, OPTIONS)
    assert "UTF-8" in caught.value.en and "CSV UTF-8" in caught.value.zh


def test_tab_separated_unicode_text_export(tmp_path):
    path = tmp_path / "unicode.txt"
    lines = ["\t".join(HEADERS), "\t".join(person_row().values())]
    path.write_text("\n".join(lines), encoding="utf-16")
    report = import_file(path, OPTIONS)
    assert len(report.records) == 1


def test_xlsx_with_typed_cells(tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append([*HEADERS, "照片"])
    sheet.append(["X1", "林小雨", "3701021980****1234", 1048.67, "未履行", "青川市东湖区人民法院",
                  "（2025）鲁0102执1234号", dt.datetime(2026, 3, 1), dt.datetime(2028, 3, 1), ""])  # fmt: skip
    # An 18-digit ID typed into a number cell has lost its last digits in Excel: refuse, don't guess.
    sheet.append(["X2", "林小雨", 370102198001011234, 5, "未履行", "青川市东湖区人民法院",
                  "（2025）鲁0102执1235号", 46082, "", ""])  # fmt: skip
    path = tmp_path / "list.xlsx"
    workbook.save(path)
    report = import_file(path, OPTIONS)
    assert report.encoding == "xlsx"
    [record] = report.records
    assert str(record.amount) == "1048.67"
    assert record.listed_on == dt.date(2026, 3, 1)
    assert report.refused_rows == [3]
    assert codes(report) == {"id.number_cell": 1}


def test_renamed_xls_is_refused(tmp_path):
    path = tmp_path / "old.xlsx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512)
    with pytest.raises(InputFileError) as caught:
        import_file(path, OPTIONS)
    assert ".xls" in caught.value.en


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "empty"), (b"\n\n  \n", "empty"), ("\ufeff" + ",".join(HEADERS) + "\n", "no data rows")],
)
def test_empty_files_get_a_clear_message(tmp_path, content, message):
    path = tmp_path / "empty.csv"
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    with pytest.raises(InputFileError) as caught:
        import_file(path, OPTIONS)
    assert message in caught.value.en


def test_missing_columns_are_named_with_accepted_headers(tmp_path):
    path = write_csv(tmp_path / "list.csv", [person_row()], headers=("姓名", "证件号码", "执行标的"))
    with pytest.raises(InputFileError) as caught:
        import_file(path, OPTIONS)
    for field in ("status", "court", "case_number"):
        assert field in caught.value.en
    assert "履行情况" in caught.value.zh and "案号" in caught.value.zh


def test_unknown_columns_are_ignored_with_a_warning_and_never_kept(tmp_path):
    headers = (*HEADERS, "住址", "联系电话")
    row = person_row(住址="青川市某路1号", 联系电话="13800000000")
    report = import_file(write_csv(tmp_path / "list.csv", [row], headers=headers), OPTIONS)
    assert codes(report, Severity.WARNING)["column.ignored"] == 2
    assert "青川市某路1号" not in repr(report.records) and "13800000000" not in repr(report.records)


def test_one_bad_row_never_stops_the_good_rows(tmp_path):
    rows = [person_row("A1"), person_row("A2", 执行标的="-5"), person_row("A3")]
    report = import_file(write_csv(tmp_path / "list.csv", rows), OPTIONS)
    assert [r.entry_id for r in report.records] == [entry_id_of(rows[0]), entry_id_of(rows[2])]
    assert report.refused_rows == [3]


def test_strict_accepts_nothing_when_a_row_is_refused(tmp_path):
    rows = [person_row("A1"), person_row("A2", 执行标的="-5")]
    report = import_file(write_csv(tmp_path / "list.csv", rows), ImportOptions(today=TODAY, strict=True))
    assert report.records == []
    assert report.problems[0].finding.code == "import.strict"


def test_every_bad_field_of_a_row_is_reported_with_row_field_and_value(tmp_path):
    row = person_row(
        "A1", 执行标的="12.345", 案号="（2025）鲁0102民1号", 履行情况="已履行", 发布日期="2026-02-30"
    )
    report = import_file(write_csv(tmp_path / "list.csv", [row]), OPTIONS)
    refused = {(p.row, p.field, p.column, p.value) for p in report.problems if p.severity is Severity.REFUSED}
    assert refused == {
        (2, "amount", "执行标的", "12.345"),
        (2, "case_number", "案号", "（2025）鲁0102民1号"),
        (2, "status", "履行情况", "已履行"),
        (2, "listed_on", "发布日期", "2026-02-30"),
    }
    text = render_text(report)
    assert "第 2 行（序号 A1），列“执行标的”，值“12.345”" in text
    assert "row 2 (序号 A1), column '执行标的' (amount), value '12.345'" in text


def test_a_repeated_debtor_and_case_names_the_first_row_whatever_the_spelling(tmp_path):
    first = person_row("1")
    again = person_row("3", 案号=first["案号"].replace("（", "(").replace("）", ") ").removesuffix("号"))
    rows = [first, person_row("2"), again]
    report = import_file(write_csv(tmp_path / "list.csv", rows), OPTIONS)
    [duplicate] = [p for p in report.problems if p.finding.code == "entry.duplicate"]
    assert duplicate.row == 4 and "row 2" in duplicate.finding.en and duplicate.serial == "3"
    assert "林小雨" in duplicate.finding.zh


def test_derived_entry_ids_are_stable_and_catch_repeated_rows(tmp_path):
    headers = tuple(h for h in HEADERS if h != "编号")
    rows = [person_row(), person_row(执行标的="5"), person_row(案号="（2025）鲁0102执9号")]
    first = import_file(write_csv(tmp_path / "a.csv", rows, headers=headers), OPTIONS)
    again = import_file(write_csv(tmp_path / "b.csv", rows[::-1], headers=headers), OPTIONS)
    assert codes(first) == {"entry.duplicate": 1}
    assert {r.entry_id for r in first.records} == {r.entry_id for r in again.records}
    assert all(r.entry_id.startswith("e-") for r in first.records)


def test_full_id_numbers_never_leave_the_import(tmp_path):
    adult = full_id("19800101", "123")
    typo = adult[:-1] + ("0" if adult[-1] != "0" else "1")
    rows = [person_row("A1", 证件号码=adult), person_row("A2", 证件号码=typo, 执行标的="oops")]
    report = import_file(write_csv(tmp_path / "list.csv", rows), OPTIONS)
    outputs = repr(report.records) + render_text(report) + render_json(report)
    assert adult not in outputs and typo not in outputs
    assert adult[10:14] not in outputs.replace("2026", "").replace("2028", "").replace("1048", "")
    [record] = report.records
    assert isinstance(record.debtor, Person)
    assert record.debtor.id_masked == adult[:10] + "****" + adult[14:]


def test_stricter_mask_hides_the_birth_year(tmp_path):
    report = import_file(
        write_csv(tmp_path / "list.csv", [person_row(证件号码=full_id("19800101"))]),
        ImportOptions(today=TODAY, policy=MaskPolicy.HIDE_BIRTH_YEAR),
    )
    [record] = report.records
    assert isinstance(record.debtor, Person)
    assert record.debtor.id_masked.startswith("999999********")


@pytest.mark.parametrize(
    ("birth", "listed", "refused"),
    [
        ("20081127", "2026-11-26", True),  # turns 18 tomorrow
        ("20081126", "2026-11-26", False),  # turns 18 today
        ("20080101", "2025-12-31", True),  # adult today but a minor when listed
        ("20060101", "2025-12-31", False),
    ],
)
def test_minors_are_refused_at_the_listing_date_or_today(tmp_path, birth, listed, refused):
    row = person_row(证件号码=full_id(birth), 发布日期=listed, 期限截止日期="2028-01-01")
    report = import_file(write_csv(tmp_path / "list.csv", [row]), OPTIONS)
    assert ("person.minor" in codes(report)) is refused


def test_minor_by_visible_birth_year_of_a_masked_id(tmp_path):
    row = person_row(证件号码="3701022008****1234")  # born some day in 2008: could still be 17
    report = import_file(write_csv(tmp_path / "list.csv", [row]), OPTIONS)
    assert codes(report) == {"person.minor": 1}


def test_organisations_by_legal_representative(tmp_path):
    headers = (*HEADERS, "法定代表人")
    row = person_row(姓名="青川市示例建材贸易有限公司", 证件号码="91350100M000100Y43", 法定代表人="周一鸣")
    report = import_file(write_csv(tmp_path / "list.csv", [row], headers=headers), OPTIONS)
    [record] = report.records
    assert isinstance(record.debtor, Organisation)
    assert record.debtor.legal_representative == "周一鸣"


def test_listing_terms(tmp_path):
    rows = [
        person_row("A1", 期限截止日期=""),  # default: two years
        person_row("A2", 发布日期="2020-03-01", 期限截止日期="2022-03-01"),  # over
        person_row("A3", 期限截止日期="2036-03-01"),  # longer than 2 + 3 years
    ]
    report = import_file(write_csv(tmp_path / "list.csv", rows), OPTIONS)
    assert report.records[0].term_ends == dt.date(2028, 3, 1)
    assert codes(report) == {"term.ended": 1, "term.range": 1}


def test_json_report_is_machine_readable(tmp_path):
    rows = [person_row("A1"), person_row("A2", 履行情况="撤销")]
    report = import_file(write_csv(tmp_path / "list.csv", rows), OPTIONS)
    document = json.loads(render_json(report))
    assert document["accepted"] == 1 and document["refused_rows"] == [3]
    [problem] = [p for p in document["problems"] if p["severity"] == "refused"]
    assert problem["code"] == "status.ended" and problem["field"] == "status"


def test_progress_is_reported_on_long_files(tmp_path):
    rows = [person_row(f"A{i}") for i in range(2_500)]
    seen: list[tuple[int, int | None]] = []
    options = ImportOptions(today=TODAY, progress=lambda done, total: seen.append((done, total)))
    import_file(write_csv(tmp_path / "list.csv", rows), options)
    assert seen == [(1_000, 2_500), (2_000, 2_500)]


@pytest.mark.slow
def test_a_file_of_the_maximum_size_imports_and_one_more_row_is_refused(tmp_path):
    rows = [person_row(f"B{i}") for i in range(MAX_DATA_ROWS)]
    path = write_csv(tmp_path / "big.csv", rows)
    report = import_file(path, OPTIONS)
    assert len(report.records) == MAX_DATA_ROWS

    write_csv(path, [*rows, person_row("B-extra")])
    with pytest.raises(InputFileError) as caught:
        import_file(path, OPTIONS)
    assert "100,000" in caught.value.en and "split" in caught.value.en


def test_oversized_cells_are_refused_not_swallowed(tmp_path):
    row = person_row(姓名="林" * 5_000)
    report = import_file(write_csv(tmp_path / "list.csv", [row]), OPTIONS)
    assert codes(report) == {"field.too_long": 1}


def test_unclosed_quote_is_reported_with_its_line(tmp_path):
    path = tmp_path / "list.csv"
    path.write_text(",".join(HEADERS) + '\nA1,"林小雨' + "x" * 10_000 + "\n", encoding="utf-8")
    with pytest.raises(InputFileError) as caught:
        import_file(path, OPTIONS)
    assert "quote" in caught.value.en


def test_source_path_that_does_not_exist(tmp_path: Path):
    with pytest.raises(InputFileError) as caught:
        import_file(tmp_path / "nope.csv", OPTIONS)
    assert "nope.csv" in caught.value.en


@pytest.mark.parametrize(
    ("header", "cell", "yuan"),
    [
        ("执行标的（万元）", "12.5", "125000.00"),
        ("执行标的(万元)", "3000元", "3000.00"),
        ("执行标的（元）", "12.5", "12.50"),
    ],
)
def test_a_unit_in_the_amount_header_scales_bare_numbers(tmp_path, header, cell, yuan):
    headers = tuple(header if h == "执行标的" else h for h in HEADERS)
    row = {header if k == "执行标的" else k: v for k, v in person_row(执行标的=cell).items()}
    [record] = import_file(write_csv(tmp_path / "list.csv", [row], headers=headers), OPTIONS).records
    assert str(record.amount) == yuan


def test_organisation_codes_are_not_redacted_in_reports(tmp_path):
    headers = (*HEADERS, "法定代表人")
    row = person_row(姓名="青川市示例建材贸易有限公司", 证件号码="BAD-CODE", 法定代表人="周一鸣")
    report = import_file(write_csv(tmp_path / "list.csv", [row], headers=headers), OPTIONS)
    assert [p.value for p in report.problems if p.field == "id_number"] == ["BAD-CODE"]
