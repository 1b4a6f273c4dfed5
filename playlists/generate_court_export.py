"""Write ``playlists/court-export/court-export.xlsx``: a fictional export laid out as court systems write it.

Run ``python playlists/generate_court_export.py [OUTPUT_FILE]``. The workbook has what real exports have and
a hand-made list lacks: a merged title row, an 导出时间 line and a blank line above the header; the SPC's
own column headers (身份证号码/组织机构代码 in one column, 立案时间 beside 发布时间, 未履行金额, 失信被执行人
行为具体情形); case numbers with brackets of both widths; and a 合计 row and a 制表人 line below the list.
``docs/operator-guide.md`` walks a clerk through it, and ``tests/test_fictional.py`` checks what the import
makes of it. Every value is invented: ID numbers use the non-existent region 999999, the organisation code
the non-existent region 99xxxx, and the title says 示例.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import re
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path

import openpyxl
from openpyxl.styles import Alignment, Font
from stdnum.cn import ric

from signage.operator.importer.columns import SPC_PUBLICATION_HEADERS

OUTPUT = Path(__file__).resolve().parent / "court-export" / "court-export.xlsx"
HEADERS = SPC_PUBLICATION_HEADERS
COURT = "青川市东湖区人民法院"
# A fixed moment, so the same code writes a byte-identical workbook.
WRITTEN = dt.datetime(2026, 11, 20, 10, 31, 2)


def fictional_id(birth: str, sequence: str) -> str:
    """An 18-character ID in the non-existent region 999999, with a valid check digit."""
    body = "999999" + birth + sequence
    return body + ric.calc_check_digit(body + "0")


def rows() -> list[list[object]]:
    """The list's rows under :data:`HEADERS`."""
    day = dt.datetime
    return [
        [
            1,
            "林雨桐",
            fictional_id("19800312", "123"),
            "",
            COURT,
            "（2024）鲁0102民初88号",
            "（2025）鲁0102执1234号",
            day(2025, 3, 4),
            day(2026, 2, 1),
            "全部未履行",
            "有履行能力而拒不履行生效法律文书确定义务",
            48000,
            None,
        ],
        [
            2,
            "韩苓",
            fictional_id("19751108", "246"),
            "",
            COURT,
            "（2024）鲁0102民初102号",
            "(2025) 鲁0102执1288号",
            day(2025, 4, 9),
            day(2026, 3, 15),
            "部分未履行",
            "违反财产报告制度",
            126000,
            36500.5,
        ],
        [
            3,
            "青川市星河示例贸易有限公司",
            "919999995AH6LFM05H",
            "蒋岚",
            COURT,
            "（2023）鲁01民终77号",
            "（2025）鲁0102执1302号",
            day(2025, 5, 20),
            day(2026, 6, 1),
            "全部未履行",
            "违反限制消费令,违反财产报告制度",
            2350000,
            None,
        ],
        [
            4,
            "欧阳紫芃霖",
            fictional_id("19900101", "358"),
            "",
            COURT,
            "（2024）鲁0102民初131号",
            "（2025）鲁0102执1341号",
            day(2025, 6, 2),
            None,
            "全部未履行",
            "以虚假诉讼、虚假仲裁或者以隐匿、转移财产等方法规避执行",
            8800,
            None,
        ],
    ]


def write(path: Path) -> Path:
    """Write the workbook to ``path`` and return it."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "失信被执行人名单"
    sheet.append([f"{COURT}失信被执行人名单（示例数据，全部虚构）"])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADERS))
    sheet["A1"].font = Font(bold=True, size=14)
    sheet["A1"].alignment = Alignment(horizontal="center")
    sheet.append([f"导出时间：{WRITTEN:%Y-%m-%d %H:%M:%S}"])
    sheet.append([])
    sheet.append(list(HEADERS))
    for row in rows():
        sheet.append(row)
    for cell in sheet["H"][4:] + sheet["I"][4:]:
        cell.number_format = "yyyy-mm-dd"
    sheet.append(
        ["合计", f"共 {len(rows())} 条", "", "", "", "", "", "", "", "", "", sum(r[11] for r in rows())]
    )
    sheet.append(["制表人：（示例）", "", "审核人：（示例）"])
    book.properties.created = WRITTEN
    book.properties.modified = WRITTEN
    book.properties.creator = "signage (fictional example)"
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    book.save(buffer)
    # openpyxl stamps each zip member with the time of writing; fixed stamps make the file reproducible.
    with zipfile.ZipFile(buffer) as written, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as fixed:
        for info in written.infolist():
            data = written.read(info.filename)
            if info.filename == "docProps/core.xml":
                # openpyxl sets "modified" to the time of saving, whatever the properties say.
                data = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*",
                    rb"\g<1>" + f"{WRITTEN:%Y-%m-%dT%H:%M:%SZ}".encode(),
                    data,
                )
            fixed.writestr(zipfile.ZipInfo(info.filename, WRITTEN.timetuple()[:6]), data)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """Write the example export (default ``playlists/court-export/court-export.xlsx``) and return 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("output", nargs="?", type=Path, default=OUTPUT, help="file to write")
    arguments = parser.parse_args(argv)
    print(f"-> {write(arguments.output)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
