"""Write the fictional sample channel: ``assets/sample/records.csv``, ``photos/*.jpg`` and ``README.md``.

Run ``python playlists/generate_sample.py [OUTPUT_FOLDER]``; the folder defaults to ``assets/sample``.
The output is deterministic: the same code gives a byte-identical ``records.csv`` (tests check this).

Every value is invented (see :mod:`signage.operator.fictional`). Besides the accepted rows, which show long names,
minority names, a character outside the BMP, all three amount ranges and both statuses, the file holds one
row for each of several refusal rules and a few rows that only warn. :func:`build_sample` lists them
with the rows; the README is written from that list, and ``tests/test_fictional.py`` checks the list
against what the importer reports.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import random
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from signage.operator import fictional

SEED = 20261126
SAMPLE_DIR = Path(__file__).resolve().parent.parent / "assets" / "sample"
PHOTO_QUALITY = 80
ADDRESS = "住址"
NAME = "被执行人姓名/名称"
ID = "证件号码"
AMOUNT = "执行标的"
STATUS = "履行情况"
COURT = "执行法院"
CASE = "案号"
LISTED = "发布日期"
TERM = "期限截止日期"
PHOTO = "照片"
#: Rows in the file, the header not counted.
ROW_COUNT = 73
#: Filler rows whose entry number is a multiple of this are organisations (S000018, S000030, ...).
_FILLER_ORG_EVERY = 6


@dataclass(frozen=True)
class Intended:
    """A refusal or warning the sample is meant to produce.

    Attributes:
        row: Spreadsheet row number (the header is row 1), or ``None`` for the file as a whole.
        severity: ``refused`` or ``warning``, as :class:`signage.operator.report.Severity` spells them.
        code: The finding code the importer reports.
        column: The header the finding is about, or ``None``.
        zh: What the row shows, in Chinese.
        en: The same in English.
    """

    row: int | None
    severity: str
    code: str
    column: str | None
    zh: str
    en: str


@dataclass
class Sample:
    """The sample's rows, the findings they are meant to produce, and photos deliberately left out."""

    rows: list[dict[str, str]] = field(default_factory=list)
    intended: list[Intended] = field(default_factory=list)
    missing_photos: set[str] = field(default_factory=set)


class _Builder:
    """Appends rows numbered S000001, S000002, ... and records what each is meant to show."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.sample = Sample()
        self.sample.intended.append(
            Intended(
                None,
                "warning",
                "column.ignored",
                ADDRESS,
                "“住址”不在可公布字段之列：整列被忽略，绝不显示",
                "住址 (address) is not a publishable field: the column is ignored and never displayed",
            )
        )

    @property
    def next_number(self) -> int:
        return len(self.sample.rows) + 1

    def person(
        self, fields: dict[str, str] | None = None, *, male: bool | None = None, full_id: bool = False
    ) -> dict[str, str]:
        row = fictional.person_row(self.rng, self.next_number, photo=True, full_id=full_id, male=male)
        return self._finish(row, fields)

    def organisation(
        self, fields: dict[str, str] | None = None, *, valid_code: bool = True
    ) -> dict[str, str]:
        row = fictional.organisation_row(self.rng, self.next_number, valid_code=valid_code)
        return self._finish(row, fields)

    def _finish(self, row: dict[str, str], fields: dict[str, str] | None) -> dict[str, str]:
        row[ADDRESS] = fictional.address(self.rng)
        row.update(fields or {})
        if fields and LISTED in fields and TERM not in fields:
            row[TERM] = _term(iso_date(row[LISTED]))
        if fields and COURT in fields and CASE not in fields:
            # Keep the case number's court code in step with the court that replaced the random one.
            province, code = next((p, c) for name, p, c in fictional.COURTS if name == row[COURT])
            year = int(row[CASE][1:5])
            row[CASE] = fictional.case_number(self.rng, province, code, year)
        return row

    def add(self, row: dict[str, str], *intended: tuple[str, str, str, str, str]) -> int:
        """Append ``row``; ``intended`` holds ``(severity, code, column, zh, en)`` for each finding."""
        self.sample.rows.append(row)
        number = len(self.sample.rows) + 1
        for severity, code, column, zh, en in intended:
            self.sample.intended.append(Intended(number, severity, code, column, zh, en))
        return number

    def refused(self, row: dict[str, str], code: str, column: str, zh: str, en: str) -> None:
        # Refused rows carry no photo: a portrait nobody may see need not be shipped.
        row[PHOTO] = ""
        self.add(row, ("refused", code, column, zh, en))

    def filler(self) -> None:
        if self.next_number % _FILLER_ORG_EVERY == 0:
            self.add(self.organisation())
        else:
            self.add(self.person())


def _term(listed: str) -> str:
    day = dt.date.fromisoformat(listed)
    return day.replace(year=day.year + fictional.TERM_YEARS).isoformat()


def build_sample(seed: int = SEED) -> Sample:
    """The sample, row by row. Rows 2-10 show the range of accepted data; refusals follow every 7 rows."""
    b = _Builder(seed)
    b.add(
        b.person(
            {NAME: "欧阳紫芃霖", AMOUNT: "3,680.50元", STATUS: "未履行", COURT: "青川市东湖区人民法院"},
            male=False,
        )
    )
    b.add(
        b.person(
            {
                NAME: "艾合买提江·阿卜杜克热木",
                AMOUNT: "56.8万元",
                STATUS: "部分履行",
                COURT: "云岭彝族苗族自治州中级人民法院",
                CASE: "（2025）云39执恢87号",
            },
            male=True,
        )
    )
    b.add(
        b.organisation(
            {
                NAME: "云岭彝族苗族自治州雾溪县澄远河谷现代生态农业与乡村文化旅游综合开发集团有限责任公司",
                AMOUNT: "2.35亿元",
                STATUS: "未履行",
                COURT: "云岭彝族苗族自治州雾溪县人民法院",
                CASE: "（2025）云3927执1502号",
            }
        )
    )
    b.add(b.person({NAME: "𠮷春妮", AMOUNT: "9,999.99", STATUS: "部分履行"}, male=False))
    full = b.person({STATUS: "未履行"}, male=True, full_id=True)
    b.add(full, _region_warning())
    b.add(
        b.person(
            {
                NAME: "古丽扎尔·吐尔逊阿依·买买提明",
                COURT: "松涛达斡尔族鄂温克族自治旗人民法院",
                CASE: "（2026）内0795执311号",
                LISTED: "2026年3月18日",
                TERM: "2031年3月18日",
            },
            male=False,
        )
    )
    b.add(
        b.organisation({NAME: "星河市榆川建材贸易有限公司"}, valid_code=False),
        (
            "warning",
            "uscc.check_digit",
            ID,
            "统一社会信用代码校验位不符（模拟早期试点代码），仅提示，照常显示",
            "the USCC's check character is wrong (as in early pilot codes): a warning, the row is shown",
        ),
    )
    b.add(b.person({NAME: "司马青岚", ID: "3701021985****2735", "年龄": "41", LISTED: "2026/5/6"}, male=True))
    b.add(
        b.organisation(
            {
                NAME: "金穗市𠮷祥冷链物流有限公司",
                AMOUNT: "99999999.99",
                STATUS: "部分履行",
                COURT: "金穗市铜铃区人民法院",
            }
        )
    )
    bad_check = fictional.full_fictional_id(b.rng, male=False)
    wrong = "0123456789X"[("0123456789X".index(bad_check[-1]) + 3) % 11]
    b.refused(
        b.person({ID: bad_check[:-1] + wrong}, male=False),
        "id.check_digit",
        ID,
        "完整身份证号码（虚构地区码 999999）校验位错误",
        "a full ID number (fictional region 999999) with a wrong check digit",
    )
    b.add(b.person({NAME: "东方沅汀", AMOUNT: "1,350,000,000.00元"}, male=False))
    b.add(
        b.organisation(
            {
                NAME: "北岚市高新技术产业开发区榆川精密智能装备制造与工业互联网平台技术服务股份有限公司",
                COURT: "北岚市高新技术产业开发区人民法院",
                CASE: "（2024）吉0992执2046号",
                AMOUNT: "8,765.40",
            }
        )
    )
    b.add(b.person({NAME: "慕容晔", PHOTO: ""}, male=True))
    while b.next_number < 17:
        b.filler()
    b.refused(
        b.person({ID: "360102198506**123X"}, male=True),
        "id.mask_shape",
        ID,
        "打码方式比最高法名单暴露更多位（只遮了 2 位）",
        "a masked ID number that shows more than the SPC list does (only 2 characters hidden)",
    )
    b.add(b.person(male=False, full_id=True), _region_warning())
    while b.next_number < 24:
        b.filler()
    minor = b.person(male=False)
    minor[ID] = fictional.masked_id(b.rng, male=False, birth_year=2012)
    minor["年龄"] = ""
    b.refused(
        minor,
        "person.minor",
        ID,
        "出生年份 2012：未成年人，不得列入失信名单",
        "born in 2012: a minor, who may not be listed",
    )
    while b.next_number < 27:
        b.filler()
    missing = b.person(male=True)
    b.sample.missing_photos.add(missing[PHOTO])
    b.add(
        missing,
        (
            "warning",
            "photo.missing",
            PHOTO,
            "照片文件夹中没有该照片：条目不带照片显示",
            "the photo is not in photos/: the entry is shown without one",
        ),
    )
    b.add(
        b.organisation(
            {
                NAME: "白鹭湾市临港新区汀兰国际供应链管理及跨境电子商务综合服务有限公司",
                COURT: "白鹭湾市临港新区人民法院",
                STATUS: "部分履行",
            }
        )
    )
    while b.next_number < 31:
        b.filler()
    b.refused(
        b.person({STATUS: "已履行"}),
        "status.ended",
        STATUS,
        "履行情况为“已履行”：不得公布",
        "status 已履行 (fulfilled): may not be published",
    )
    while b.next_number < 38:
        b.filler()
    b.refused(
        b.person({CASE: "2025鲁0192执1234号"}),
        "case.format",
        CASE,
        "案号缺少括号，格式不符",
        "a case number without its brackets",
    )
    while b.next_number < 42:
        b.filler()
    b.add(b.person({"年龄": ""}, male=True, full_id=True), _region_warning())
    while b.next_number < 45:
        b.filler()
    b.refused(
        b.person({AMOUNT: "1048.675"}),
        "amount.decimals",
        AMOUNT,
        "金额有三位小数（精确到分以下）",
        "an amount with three decimals (below one fen)",
    )
    while b.next_number < 52:
        b.filler()
    b.refused(
        b.person({CASE: "（2019）鲁0192执88号", LISTED: "2020-03-01", TERM: "2022-03-01"}),
        "term.ended",
        TERM,
        "2020-03-01 发布、期限于 2022-03-01 届满：不得再公布",
        "listed 2020-03-01, term ended 2022-03-01: may no longer be published",
    )
    while b.next_number < 59:
        b.filler()
    b.refused(
        b.person({NAME: "林\u200b若溪"}, male=False),
        "text.invisible_character",
        NAME,
        "姓名中含零宽空格 U+200B",
        "a name with a zero-width space U+200B",
    )
    while b.next_number < 66:
        b.filler()
    # The same debtor in the same case as row 2, with the case number spelt as another export writes it:
    # half-width brackets, a space, no 号. One identity, so a duplicate (and, once revoked, still revoked).
    first = b.sample.rows[0]
    b.refused(
        b.person(
            {NAME: first[NAME], ID: first[ID], CASE: first[CASE].replace("（", "(").replace("）", ") ")[:-1]},
            male=False,
        ),
        "entry.duplicate",
        CASE,
        f"案号另一种写法 {first[CASE].replace('（', '(').replace('）', ') ')[:-1]}：与第 2 行是同一案件的同一被执行人",
        "the case number spelt another way: the same debtor in the same case as row 2",
    )
    while b.next_number <= ROW_COUNT:
        b.filler()
    # Court exports end with a total row; it is skipped with a note, never read as a debtor.
    total = {"编号": "合计", NAME: f"共 {ROW_COUNT} 条", PHOTO: ""}
    b.add(
        total,
        (
            "info",
            "row.trailer",
            "",
            "末尾的合计行：跳过，不作为被执行人",
            "a total row at the end: skipped, not a debtor",
        ),
    )
    b.sample.intended[-1] = dataclasses.replace(b.sample.intended[-1], column=None)
    return b.sample


def _region_warning() -> tuple[str, str, str, str, str]:
    return (
        "warning",
        "id.region_unknown",
        ID,
        "完整身份证号码，虚构地区码 999999：仅提示；屏幕上显示打码后的号码",
        "a full ID number in the fictional region 999999: a warning; screens show it masked",
    )


def render_readme(sample: Sample) -> str:
    """The README of the sample folder, listing what ``signage check`` is meant to report."""
    refused = [item for item in sample.intended if item.severity == "refused"]
    warnings = [item for item in sample.intended if item.severity == "warning"]
    accepted = len(sample.rows) - len(refused)
    refused_rows = {item.row for item in refused}
    first_term_end = min(
        iso_date(row[TERM])
        for number, row in enumerate(sample.rows, start=2)
        if number not in refused_rows and TERM in row
    )
    lines = [
        "# 示例频道（虚构数据）/ Sample channel (fictional data)",
        "",
        "**示例 / SAMPLE.** 本文件夹中的一切都是虚构的：姓名、证件号码、单位、法院和地名均为编造，"
        "照片是程序生成的示意画像，不是任何人的照片。打码的身份证号码无法对应到任何人；"
        "完整号码使用不存在的地区码 999999，统一社会信用代码使用不存在的地区码 99xxxx。",
        "",
        "Everything in this folder is fictional: names, ID numbers, organisations, courts and places are "
        "invented, and the portraits are generated drawings, not photographs of anyone. Masked ID numbers "
        "cannot identify anyone; full ones use the non-existent region 999999, USCCs the non-existent 99xxxx.",
        "",
        "## 生成 / How it was made",
        "",
        f"`python playlists/generate_sample.py`（种子 / seed {SEED}）writes `records.csv` (UTF-8 with BOM, "
        "as Excel's “CSV UTF-8”), `photos/*.jpg` and this README, from `signage/operator/fictional.py`. "
        "The same code gives a byte-identical `records.csv`.",
        "",
        "## `signage check assets/sample`",
        "",
        "```",
        f"读取 {len(sample.rows)} 行：接受 {accepted} 行，拒绝 {len(refused)} 行，提示 {len(warnings)} 条",
        f"read {len(sample.rows)} rows: {accepted} accepted, {len(refused)} refused, {len(warnings)} warnings",
        "```",
        "",
        "退出码为 1，因为以下拒绝是有意设置的；除此之外不应有其他拒绝或提示。"
        f"所有接受的条目在 {first_term_end} 之前都在公布期限内。",
        "",
        "The exit status is 1 because of the intended refusals below; no other refusal or warning should "
        f"appear. Every accepted entry stays within its listing term until {first_term_end}.",
        "",
        "### 有意设置的拒绝 / Intended refusals",
        "",
        *_table(refused),
        "",
        "### 有意设置的提示 / Intended warnings",
        "",
        *_table(warnings),
        "",
        "“住址”列演示白名单：不在可公布字段中的列一律忽略，永远不会出现在屏幕上。",
        "The 住址 column shows the whitelist at work: a column that is not a publishable field is ignored and "
        "never reaches a screen.",
        "",
        "## 接受的条目展示 / What the accepted rows show",
        "",
        "- 个人与单位，“未履行”与“部分履行” / persons and organisations, both displayable statuses",
        "- 长姓名（欧阳紫芃霖）、带间隔号的少数民族姓名（古丽扎尔·吐尔逊阿依·买买提明）、BMP 以外的字（𠮷春妮）"
        " / long names, minority names with the middle dot, a character outside the BMP",
        "- 40 字以上的单位名称和长法院名称 / organisation names over 40 characters and long court names",
        "- 金额覆盖元、万元、亿元三档（含 99999999.99 → 1.00亿元）/ amounts in all three display ranges",
        "- 多数个人带示意画像 / most persons have a generated portrait",
        "",
    ]
    return "\n".join(lines)


def iso_date(text: str) -> str:
    """An ISO date from the sample's ISO or 年月日 form (only what :func:`build_sample` writes)."""
    for old, new in (("年", "-"), ("月", "-"), ("日", ""), ("/", "-")):
        text = text.replace(old, new)
    year, month, day = (int(part) for part in text.split("-"))
    return dt.date(year, month, day).isoformat()


def _table(items: Sequence[Intended]) -> list[str]:
    lines = ["| 行 Row | 列 Column | 规则 Rule | 说明 | Why |", "|---|---|---|---|---|"]
    for item in items:
        # Written as the report writes it ("第 11 行" / "row 11"), so the two are easy to compare.
        row = "整个文件 / file" if item.row is None else f"第 {item.row} 行 / row {item.row}"
        lines.append(f"| {row} | {item.column or ''} | `{item.code}` | {item.zh} | {item.en} |")
    return lines


def write_sample(folder: Path, seed: int = SEED) -> Sample:
    """Write ``records.csv``, ``photos/`` and ``README.md`` into ``folder``; return the sample."""
    sample = build_sample(seed)
    photos = folder / "photos"
    folder.mkdir(parents=True, exist_ok=True)
    photos.mkdir(exist_ok=True)
    # Portraits from an earlier run that this one no longer names would linger; only our own names go.
    for stale in photos.glob("p[0-9]*.jpg"):
        stale.unlink()
    fictional.write_csv(sample.rows, folder / "records.csv")
    with_photos = [row for row in sample.rows if row[PHOTO] and row[PHOTO] not in sample.missing_photos]
    fictional.write_portraits(with_photos, photos, quality=PHOTO_QUALITY)
    (folder / "README.md").write_text(render_readme(sample), encoding="utf-8", newline="\n")
    return sample


def main(argv: Sequence[str] | None = None) -> int:
    """Write the sample into the folder given (default ``assets/sample``) and return 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("output", nargs="?", type=Path, default=SAMPLE_DIR, help="folder to write into")
    arguments = parser.parse_args(argv)
    sample = write_sample(arguments.output)
    print(
        f"{len(sample.rows)} rows, {len(sample.intended)} intended findings -> {arguments.output}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
