"""Case numbers (案号) of enforcement cases, in the current form and the pre-2016 one.

Exports spell one case number several ways: brackets in full or half width ((2025) or （2025）), spaces
after the bracket, full-width digits, and a dropped 号. :func:`normalise_case_number` turns every such
spelling into one canonical form, the way the SPC publishes it: full-width brackets, ASCII digits, no
spaces, a final 号. That form is what a record carries and what its identity is built from
(``signage.core.identity``), so a re-export in another spelling is the same entry.
"""

from __future__ import annotations

import re
import unicodedata

from signage.core.rules import refuse

# Brackets exports use around the year: ASCII and full-width parentheses, and the 〔〕 [] 【】 that some
# court systems and hand-typed cells use.
_OPEN_BRACKETS = "(（〔[［【"
_CLOSE_BRACKETS = ")）〕]］】"
_BRACKETS = str.maketrans({**dict.fromkeys(_OPEN_BRACKETS, "（"), **dict.fromkeys(_CLOSE_BRACKETS, "）")})
# 法〔2015〕137号 (最高人民法院关于人民法院案件案号的若干规定) and its annex: province abbreviations as
# used in case numbers, with 内 (Inner Mongolia), 黔 (Guizhou), 兵 (XPCC courts) and 军 (military courts).
PROVINCES = "京津冀晋内辽吉黑沪苏浙皖闽赣鲁豫鄂湘粤桂琼渝川黔云藏陕甘青宁新兵军"
ENFORCEMENT_TYPES = ("执恢", "执保", "执异", "执复", "执监", "执协", "执他", "执")
# A high court's code is the abbreviation alone ((2020)湘执复244号), an intermediate or special court's
# adds 2 digits (浙01, 京73), a basic court's 4 (浙0106).
_COURT = f"(?:[{PROVINCES}](?:\\d{{2}}(?:\\d{{2}})?)?|最高法)"
_TYPE = "(?:" + "|".join(ENFORCEMENT_TYPES) + ")"
_CURRENT = re.compile(f"（(\\d{{4}})）{_COURT}{_TYPE}\\d{{1,7}}号")
# Before 2016 each court wrote its own abbreviation: （2014）广法执字第00232号, （2013）深中法执恢字第12号.
_LEGACY = re.compile("（(\\d{4})）[\u4e00-\u9fff]{1,12}?执[恢保异复监协他]?字第\\d{1,7}号")
_EARLIEST_YEAR = 1949


def normalise_case_number(raw: str) -> str:
    """The canonical spelling of a case number: what any export's spelling of it comes to.

    NFKC turns full-width digits into ASCII (and full-width brackets into ASCII ones, which are then
    written full width again); all white space goes; every bracket becomes （ or ）; a missing final 号 is
    added. Nothing else changes: a different digit is a different case.
    """
    text = "".join(unicodedata.normalize("NFKC", raw).split()).translate(_BRACKETS)
    if text and not text.endswith("号"):
        text += "号"
    return text


def parse_case_number(raw: str, *, current_year: int) -> str:
    """Check a case number and return its canonical spelling (:func:`normalise_case_number`).

    Raises:
        RuleViolation: not an enforcement case number in either accepted form, or an impossible year.
    """
    text = normalise_case_number(raw)
    match = _CURRENT.fullmatch(text) or _LEGACY.fullmatch(text)
    if match is None:
        shown = raw.strip()
        raise refuse(
            "case.format",
            f"案号“{shown}”不是执行案号的规范格式",
            f"'{shown}' is not an enforcement case number in a recognised form",
            "请照抄裁判文书上的案号，例如（2016）浙0106执1234号，或 2016 年前的（2014）广法执字第00232号",
            "copy it exactly from the court document, e.g. （2016）浙0106执1234号, or before 2016 "
            "（2014）广法执字第00232号",
        )
    year = int(match.group(1))
    if not _EARLIEST_YEAR <= year <= current_year:
        raise refuse(
            "case.year",
            f"案号中的年份 {year} 不可能",
            f"the year {year} in the case number is impossible",
            "请核对括号中的立案年份",
            "check the filing year in the brackets",
        )
    return text
