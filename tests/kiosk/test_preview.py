"""``signage render``: preview files named by 序号 and name (or case number and name), never by entry id.

The command runs in-process on a court-style export written here (SPC headers, a 序号 column with one empty
cell), rendering real slides off screen; the contact sheet is checked for its labels by pixels.
"""

from __future__ import annotations

import io
from dataclasses import replace

import pytest
from PyQt6.QtGui import QColor, QImage

from signage.cli import main
from signage.kiosk.preview import MAX_STEM_BYTES, preview_stem
from signage.kiosk.slides import render_contact_sheet

EXPORT = "\n".join(
    [
        "序号,被执行人姓名/名称,身份证号码/组织机构代码,法定代表人或者负责人姓名,执行法院,执行案号,"
        "执行标的（元）,未履行金额（元）,被执行人的履行情况,失信被执行人行为具体情形,立案时间,发布时间",
        "7,林雨桐,5301021961****784X,,青川市东湖区人民法院,（2025）鲁0192执5258号,368050.50,120000,"
        "部分未履行,违反财产报告制度,2025-01-02,2026-01-11",
        "12,星河市榆川建材贸易有限公司,91991764Q7JN5Y6K2Y,蒋岚,青川市东湖区人民法院,(2025)鲁0192执5259号,"
        "2350000,,全部未履行,有履行能力而拒不履行生效法律文书确定义务,2025-02-03,2026-02-11",
        ",韩苓,1101051970****5741,,青川市中级人民法院,（2026）鲁19执5462号,9999.99,,全部未履行,,2026-03-01,"
        "2026-04-12",
    ]
)


def test_render_names_files_by_serial_and_name(qapp, tmp_path):
    source = tmp_path / "export.csv"
    source.write_text(EXPORT, encoding="utf-8-sig")
    out, err = io.StringIO(), io.StringIO()
    status = main(
        ["render", "--source", str(source), "--size", "640x360", "--out", str(tmp_path / "out")],
        stdout=out,
        stderr=err,
    )
    assert status == 0, err.getvalue()
    names = sorted(path.name for path in (tmp_path / "out").iterdir())
    assert names == sorted(
        [
            "0007-林雨桐.png",
            "0012-星河市榆川建材贸易有限公司.png",
            "（2026）鲁19执5462号-韩苓.png",  # no 序号: the case number, as the export wrote it
            "standby.png",
            "contact-sheet.png",
        ]
    )
    assert not any(name.startswith("e-") or "-e-" in name for name in names)


def test_preview_stem(sample):
    record = sample.records["S000001"]
    name = record.debtor.name
    assert preview_stem(record, "7") == f"0007-{name}"
    assert preview_stem(record, " 12345 ") == f"12345-{name}"
    assert preview_stem(record, "S000001") == f"S000001-{name}"
    assert preview_stem(record, None) == f"{record.case_number}-{name}"
    assert record.entry_id not in preview_stem(record, None)
    # What file systems refuse, control characters and white space never reach a file name.
    odd = replace(
        record, case_number="(2025) 鲁0192执5258号", debtor=replace(record.debtor, name='张/三:*?"<>|\t')
    )
    assert preview_stem(odd, None) == "(2025)_鲁0192执5258号-张_三"
    assert preview_stem(odd, "../../etc") == "etc-张_三"
    # Long names are cut to a length every file system takes (UTF-8 bytes), with room for -p1 and .png.
    long = replace(record, debtor=replace(record.debtor, name="𠮷" * 200))
    assert len(preview_stem(long, "7").encode("utf-8")) <= MAX_STEM_BYTES


@pytest.mark.parametrize("labels", [None, ["0007-林雨桐", "0012-星河市榆川建材贸易有限公司"]])
def test_contact_sheet_labels_each_slide(qapp, fonts, labels):
    images = []
    for colour in ("red", "blue"):
        image = QImage(200, 100, QImage.Format.Format_RGB32)
        image.fill(QColor(colour))
        images.append(image)
    ground = QColor("#202428")
    sheet = render_contact_sheet(
        images, 2, gap=10, labels=labels, fonts=fonts if labels else None, ground=ground
    )
    assert sheet.width() == 10 + 2 * 210
    if labels is None:
        assert sheet.height() == 10 + 110
        return
    assert sheet.height() > 10 + 110
    # Text under each image: the strip below it is no longer plain ground.
    for left in (10, 220):
        strip = {sheet.pixel(x, y) for x in range(left, left + 200) for y in range(112, sheet.height() - 10)}
        assert len(strip) > 2, "no label drawn"
    with pytest.raises(ValueError):
        render_contact_sheet(images, 2, labels=labels)


def test_preview_never_uses_the_entry_id_of_a_published_record(sample):
    for serial, record in sample.records.items():
        assert record.entry_id not in preview_stem(record, None)
        assert preview_stem(record, serial).startswith(serial)
