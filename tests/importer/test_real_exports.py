"""Court exports as clerks really have them: a merged title, SPC headers, totals, both bracket widths.

Every file here is generated the way a court system or Excel writes it (an .xlsx with a merged title row,
an 导出时间 line and a 合计 row; a CSV in which Excel turned an ID into 3.70102E+17), then imported whole.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from signage.core.errors import InputFileError
from signage.core.identity import Identity, organisation_identifier, person_identifier
from signage.core.records import Organisation, Person, Status
from signage.operator.importer import ImportOptions, import_file
from signage.operator.importer.columns import SPC_PUBLICATION_HEADERS
from signage.operator.report import Severity, render_text
from tests.helpers import TODAY, full_id

OPTIONS = ImportOptions(today=TODAY)
SPC_HEADERS = SPC_PUBLICATION_HEADERS
PERSON_ID = full_id("19800101")
# Fictional: the region 999999 exists nowhere, as in every ID of the tests.
USCC = "919999995AH6LFM05H"


def spc_row(serial: int, **changes: object) -> list[object]:
    row: dict[str, object] = {
        "序号": serial,
        "被执行人姓名/名称": "林小雨",
        "身份证号码/组织机构代码": PERSON_ID,
        "法定代表人或者负责人姓名": "",
        "执行法院": "青川市东湖区人民法院",
        "执行依据文号": "（2024）鲁0102民初88号",
        "执行案号": "（2025）鲁0102执1234号",
        "立案时间": dt.datetime(2025, 3, 4),
        "发布时间": dt.datetime(2026, 2, 1),
        "被执行人的履行情况": "全部未履行",
        "失信被执行人行为具体情形": "违反财产报告制度",
        "执行标的（元）": 48000,
        "未履行金额（元）": "",
    }
    row.update(changes)
    return [row[header] for header in SPC_HEADERS]


def court_export(path: Path, rows: list[list[object]]) -> Path:
    """An .xlsx as court systems export it: merged title, export time, blank line, header, rows, totals."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["青川市东湖区人民法院失信被执行人名单"])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(SPC_HEADERS))
    sheet.append(["导出时间：2026-11-20 10:31:02"])
    sheet.append([])
    sheet.append(list(SPC_HEADERS))
    for row in rows:
        sheet.append(row)
    sheet.append(["合计", f"共 {len(rows)} 人", "", "", "", "", "", "", "", "", "", 999_999, ""])
    sheet.append(["制表人：张书记员", "", "审核人：李庭长"])
    book.save(path)
    return path


def test_a_court_export_with_a_title_a_header_on_row_4_and_a_total_row_imports(tmp_path):
    rows = [
        spc_row(1),
        spc_row(
            2,
            **{
                "被执行人姓名/名称": "青川市星河示例贸易有限公司",
                "身份证号码/组织机构代码": USCC,
                "法定代表人或者负责人姓名": "蒋岚",
                "执行案号": "(2025) 鲁0102执77",
            },
        ),
    ]
    report = import_file(court_export(tmp_path / "名单.xlsx", rows), OPTIONS)
    assert report.refused_rows == []
    person, organisation = report.records
    assert (
        isinstance(person.debtor, Person)
        and person.debtor.id_masked == PERSON_ID[:10] + "****" + PERSON_ID[-4:]
    )
    assert isinstance(organisation.debtor, Organisation) and organisation.debtor.code == USCC
    assert organisation.case_number == "（2025）鲁0102执77号"  # one canonical spelling
    infos = [(p.row, p.finding.code) for p in report.problems if p.severity is Severity.INFO]
    assert (1, "row.title") in infos and (2, "row.title") in infos  # the merged title, 导出时间
    assert (7, "row.trailer") in infos and (8, "row.trailer") in infos  # 合计, 制表人
    assert (None, "column.not_shown") in infos  # 执行依据文号 is recognised, not unknown
    assert not [p for p in report.problems if p.finding.code == "column.ignored"]
    assert report.serials == {person.entry_id: "1", organisation.entry_id: "2"}
    text = render_text(report)
    assert "合计" in text and "不是被执行人" in text and "not a debtor" in text


def test_the_filing_date_is_its_own_field_and_never_the_publication_date(tmp_path):
    report = import_file(court_export(tmp_path / "a.xlsx", [spc_row(1)]), OPTIONS)
    [record] = report.records
    assert record.filed_on == dt.date(2025, 3, 4) and record.listed_on == dt.date(2026, 2, 1)

    # No 发布时间 in a row: refused, never filled from 立案时间...
    report = import_file(court_export(tmp_path / "b.xlsx", [spc_row(1, 发布时间="")]), OPTIONS)
    assert report.records == []
    [problem] = [p for p in report.problems if p.severity is Severity.REFUSED]
    assert problem.finding.code == "date.no_publication" and problem.serial == "1"
    assert "--published-on" in problem.finding.fix_en
    # ...unless the operator gives the date explicitly.
    given = ImportOptions(today=TODAY, published_on=dt.date(2026, 1, 5))
    [record] = import_file(tmp_path / "b.xlsx", given).records
    assert record.listed_on == dt.date(2026, 1, 5) and record.filed_on == dt.date(2025, 3, 4)


def test_no_publication_column_at_all_refuses_the_file_with_the_fix(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    headers = [h for h in SPC_HEADERS if h != "发布时间"]
    sheet.append(headers)
    sheet.append(
        [value for header, value in zip(SPC_HEADERS, spc_row(1), strict=True) if header != "发布时间"]
    )
    book.save(tmp_path / "c.xlsx")
    with pytest.raises(InputFileError) as caught:
        import_file(tmp_path / "c.xlsx", OPTIONS)
    assert "发布时间" in caught.value.zh and "--published-on" in caught.value.en


def test_partly_unperformed_with_the_amount_still_owed(tmp_path):
    rows = [spc_row(1, 被执行人的履行情况="部分未履行", **{"未履行金额（元）": "12,500.50"})]
    [record] = import_file(court_export(tmp_path / "a.xlsx", rows), OPTIONS).records
    assert record.status is Status.PARTIALLY_FULFILLED and str(record.status) == "部分未履行"
    assert record.amount == Decimal("48000") and record.unpaid == Decimal("12500.50")
    assert record.amount_shown == ("未履行金额", Decimal("12500.50"))


@pytest.mark.parametrize(("unpaid", "code"), [("0", "unpaid.zero"), ("50000", "unpaid.over_amount")])
def test_an_impossible_amount_still_owed_is_refused(tmp_path, unpaid, code):
    rows = [spc_row(1, 被执行人的履行情况="部分未履行", **{"未履行金额（元）": unpaid})]
    report = import_file(court_export(tmp_path / "a.xlsx", rows), OPTIONS)
    assert report.records == [] and code in {p.finding.code for p in report.problems}


def test_the_term_follows_the_ground(tmp_path):
    rows = [
        spc_row(1, 失信被执行人行为具体情形="有履行能力而拒不履行生效法律文书确定义务"),
        spc_row(2, 失信被执行人行为具体情形="违反限制消费令", 执行案号="（2025）鲁0102执2号"),
        spc_row(
            3,
            失信被执行人行为具体情形="有履行能力而拒不履行生效法律文书确定义务,违反财产报告制度",
            执行案号="（2025）鲁0102执3号",
        ),
    ]
    ground_one, ground_five, both = import_file(court_export(tmp_path / "a.xlsx", rows), OPTIONS).records
    assert ground_one.term_ends is None  # no fixed term: until an Art. 10 deletion ground applies
    assert ground_one.is_displayable(dt.date(2035, 1, 1))
    assert ground_five.term_ends == dt.date(2028, 2, 1)  # two years from the publication date
    assert both.term_ends == dt.date(2028, 2, 1)
    assert ground_one.conduct == "有履行能力而拒不履行生效法律文书确定义务"


def test_a_csv_in_which_excel_turned_the_id_into_a_number(tmp_path):
    path = tmp_path / "名单.csv"
    lines = [
        ",".join(SPC_HEADERS),
        "1,林小雨,3.70102E+17,,青川市东湖区人民法院,,（2025）鲁0102执1234号,2025-03-04,2026-02-01,全部未履行,"
        "违反财产报告制度,48000,",
    ]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("gbk"))
    report = import_file(path, OPTIONS)
    [problem] = [p for p in report.problems if p.severity is Severity.REFUSED]
    assert problem.finding.code == "id.number_cell" and problem.row == 2 and problem.serial == "1"
    assert (
        "Excel" in problem.finding.zh
        and "文本" in problem.finding.fix_zh
        and "Text" in problem.finding.fix_en
    )


def test_the_identity_ignores_spelling_and_mask_and_the_name():
    one = Identity("（2025）鲁0102执1234号", person_identifier(PERSON_ID)).entry_id
    masked = PERSON_ID[:10] + "****" + PERSON_ID[-4:]
    hidden_year = PERSON_ID[:6] + "*" * 8 + PERSON_ID[-4:]
    assert person_identifier(masked) == person_identifier(hidden_year) == person_identifier(PERSON_ID)
    assert Identity("（2025）鲁0102执1234号", person_identifier(hidden_year)).entry_id == one
    # The USCC and the old organisation code inside it name one organisation.
    assert organisation_identifier(USCC) == organisation_identifier(USCC[8:16] + "-" + USCC[16])
