"""The diff against what is live, on records imported from real court-style CSV exports.

The live list and the new one are two exports of the same court as a clerk would upload them a week apart:
one debtor paid and is gone, one is new, one amount changed, one case number re-typed with half-width
brackets, an organisation given by its old organisation code instead of its USCC, and a person's ID masked
more strictly.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from signage.core.records import DebtorRecord
from signage.core.rules.idcard import MaskPolicy
from signage.operator.importer import ImportOptions, import_file
from signage.operator.publish.diff import diff_lists, field_changes
from tests.helpers import full_id

TODAY = dt.date(2026, 11, 26)
HEADER = (
    "序号,被执行人姓名/名称,身份证号码/组织机构代码,法定代表人或者负责人姓名,执行法院,执行案号,"
    "执行标的（元）,未履行金额（元）,被执行人的履行情况,失信被执行人行为具体情形,立案时间,发布时间"
)
USCC = "919999995AH6LFM05H"
ROWS = {
    "lin": "1,林雨桐,9999991961****784X,,青川市东湖区人民法院,（2025）鲁0192执5258号,368050.50,120000,"
    "部分未履行,违反财产报告制度,2025-01-02,2026-01-11",
    "org": f"2,星河市榆川建材贸易有限公司（示例）,{USCC},蒋岚,青川市东湖区人民法院,（2025）鲁0192执5259号,"
    "2350000,,全部未履行,有履行能力而拒不履行生效法律文书确定义务,2025-02-03,2026-02-11",
    "han": "3,韩苓,9999991970****5741,,青川市中级人民法院,（2026）鲁19执5462号,9999.99,,全部未履行,,2026-03-01,"
    "2026-04-12",
    "zhou": "4,周启明,9999991975****2468,,青川市中级人民法院,（2026）鲁19执5463号,50000,,全部未履行,,2026-03-01,"
    "2026-04-12",
}


def imported(
    tmp_path: Path, name: str, rows: list[str], policy: MaskPolicy = MaskPolicy.SPC
) -> list[DebtorRecord]:
    source = tmp_path / f"{name}.csv"
    source.write_text("\n".join([HEADER, *rows]), encoding="utf-8-sig")
    report = import_file(source, ImportOptions(today=TODAY, policy=policy))
    assert not report.refused_rows, report.problems
    return report.records


def test_a_week_later(tmp_path):
    live = imported(tmp_path, "live", [ROWS["lin"], ROWS["org"], ROWS["han"], ROWS["zhou"]])
    new_rows = [
        ROWS["lin"].replace("368050.50,120000", "368050.50,80000"),  # paid some
        # The old organisation code inside the USCC (positions 9-17), with its hyphen: the same organisation.
        ROWS["org"].replace(USCC, f"{USCC[8:16]}-{USCC[16]}"),
        ROWS["han"].replace("（2026）鲁19执5462号", "(2026)鲁19执5462号"),
        "5,宋清和,9999991982****3579,,青川市东湖区人民法院,（2026）鲁0192执77号,12000,,全部未履行,,2026-05-01,"
        "2026-06-01",
    ]
    diff = diff_lists(live, imported(tmp_path, "new", new_rows))

    # 韩苓's case number in half-width brackets is the same case: the import writes it in the one spelling.
    assert diff.counts() == {"added": 1, "removed": 1, "changed": 2, "unchanged": 1}
    assert [(item.name, item.case_number) for item in diff.added] == [("宋清和", "（2026）鲁0192执77号")]
    assert [(item.name, item.case_number, item.changes) for item in diff.removed] == [
        ("周启明", "（2026）鲁19执5463号", ())
    ]
    changed = {item.name: item for item in diff.changed}
    assert list(changed) == ["林雨桐", "星河市榆川建材贸易有限公司（示例）"]
    (unpaid,) = changed["林雨桐"].changes
    assert (unpaid.field, unpaid.zh, unpaid.en, unpaid.before, unpaid.after) == (
        "unpaid",
        "未履行金额",
        "amount unpaid",
        "120,000.00",
        "80,000.00",
    )
    assert [change.zh for change in changed["星河市榆川建材贸易有限公司（示例）"].changes] == [
        "证件号码/组织机构代码"
    ]
    org = changed["星河市榆川建材贸易有限公司（示例）"]
    assert (org.changes[0].before, org.changes[0].after) == (USCC, f"{USCC[8:16]}-{USCC[16]}")
    # Display text, never internal ids; the entry id is there for programs (the thumbnails).
    assert org.case_number == "（2025）鲁0192执5259号" and org.entry_id.startswith("e-")
    assert not diff.is_empty


def test_the_same_list_again_is_unchanged(tmp_path):
    rows = list(ROWS.values())
    diff = diff_lists(imported(tmp_path, "a", rows), imported(tmp_path, "b", list(reversed(rows))))
    assert diff.counts() == {"added": 0, "removed": 0, "changed": 0, "unchanged": 4} and diff.is_empty


def test_a_stricter_mask_is_the_same_person_with_a_changed_id_field(tmp_path):
    lin = [
        f"1,林雨桐,{full_id('19610101')},,青川市东湖区人民法院,（2025）鲁0192执5258号,368050.50,,部分未履行,,2025-01-02,2026-01-11"
    ]
    live = imported(tmp_path, "spc", lin)
    strict = imported(tmp_path, "strict", lin, MaskPolicy.HIDE_BIRTH_YEAR)
    diff = diff_lists(live, strict)
    assert diff.counts() == {"added": 0, "removed": 0, "changed": 1, "unchanged": 0}
    (change,) = diff.changed[0].changes
    assert change.field == "identifier" and change.before != change.after
    assert "1961" in change.before and "1961" not in change.after


def test_against_nothing_live_everything_is_added(tmp_path):
    new = imported(tmp_path, "first", [ROWS["lin"], ROWS["zhou"]])
    diff = diff_lists((), new)
    assert [item.name for item in diff.added] == ["林雨桐", "周启明"] and diff.counts()["added"] == 2
    assert diff_lists(new, ()).counts() == {"added": 0, "removed": 2, "changed": 0, "unchanged": 0}


def test_field_changes_follow_the_exports_column_order(tmp_path):
    (before,) = imported(tmp_path, "x", [ROWS["zhou"]])
    (after,) = imported(
        tmp_path,
        "y",
        [
            ROWS["zhou"]
            .replace("周启明", "周启铭")
            .replace("50000,,", "60000,,")
            .replace("2026-03-01", "2026-02-01")
        ],
    )
    assert [change.field for change in field_changes(before, after)] == ["name", "amount", "filed_on"]
