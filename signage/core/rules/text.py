"""Names and other display text: Unicode normalisation and the characters a screen may draw.

Names are NFC-normalised. Control characters, bidi overrides, zero-width characters, private-use and
unassigned code points are refused: each can hide or reorder what a passer-by reads. Characters outside
the BMP (𠮷) and the middle dot of minority names (阿不都·热合曼) are accepted.

Text that starts with ``=``, ``+``, ``-`` or ``@`` is refused (see :func:`refuse_formula`): a spreadsheet
program reads such a cell as a formula when someone opens a report or an export in it (CSV injection).
"""

from __future__ import annotations

import re
import unicodedata

from signage.core.rules import refuse

MIDDLE_DOT = "\u00b7"
# Look-alikes operators type for the middle dot of minority names; GB 18030 and the SPC list use U+00B7.
_DOT_VARIANTS = str.maketrans(dict.fromkeys("\u2022\u2027\u30fb\uff65\u2219\u22c5", MIDDLE_DOT))
# Unicode general categories never allowed on a screen: controls, format characters (bidi overrides,
# zero-width joiners and spaces), surrogates, private use, unassigned, line and paragraph separators.
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})

#: What makes Excel, WPS and LibreOffice read a cell as a formula (OWASP, "CSV injection"). Tab and
#: carriage return, the other two OWASP lists, are control characters and refused anyway.
FORMULA_STARTS = ("=", "+", "-", "@")

PERSON_NAME_LENGTH = (2, 40)
ORG_NAME_LENGTH = (2, 100)
#: A court's name is at least four characters and names a 法院. The shortest real names are six
#: (易县人民法院, 海口海事法院); four leaves room for the short forms clerks write (东湖法院).
COURT_NAME_LENGTH = (4, 60)
COURT_WORD = "法院"
#: A court's phone as the footer shows it: digits, brackets, +, -, spaces and 转 (extension).
COURT_PHONE = re.compile(r"[0-9()+\- 转]{5,30}")


def clean_text(
    raw: str, *, field_zh: str, field_en: str, length: tuple[int, int], formula_ok: bool = False
) -> str:
    """NFC-normalise ``raw``, refuse a formula start, invisible or reordering characters; check its length.

    Length counts code points, so a non-BMP character counts once. ``formula_ok`` lets through text that
    never reaches a spreadsheet (a notice's lines, which may be bulleted with "-").

    Raises:
        RuleViolation: a formula start, a forbidden character, or a length outside ``length``.
    """
    text = unicodedata.normalize("NFC", raw).strip()
    if not formula_ok:
        refuse_formula(text, field_zh=field_zh, field_en=field_en)
    for position, char in enumerate(text, start=1):
        if unicodedata.category(char) in _FORBIDDEN_CATEGORIES:
            raise refuse(
                "text.invisible_character",
                f"{field_zh}第 {position} 个字符 U+{ord(char):04X} 是不可见或控制字符",
                f"{field_en} has an invisible or control character U+{ord(char):04X} at position {position}",
                "请删除该字符后重新输入（从网页或微信复制时常会带入）",
                "delete it and type the text again (copying from web pages or chat apps brings these in)",
            )
    low, high = length
    if not low <= len(text) <= high:
        raise refuse(
            "text.length",
            f"{field_zh}长度为 {len(text)} 个字，应在 {low} 到 {high} 之间",
            f"{field_en} is {len(text)} characters long; it must be {low} to {high}",
            "请核对是否填错列或漏填",
            "check that the value is in the right column and complete",
        )
    return text


def refuse_formula(text: str, *, field_zh: str, field_en: str) -> None:
    """Refuse ``text`` (already stripped) if it starts like a spreadsheet formula.

    Names, courts and legal representatives are copied into reports that operators open in Excel; a
    cell such as ``=HYPERLINK(...)`` or ``@SUM(...)`` would run there. No real name or court starts so.

    Raises:
        RuleViolation: ``text`` starts with one of :data:`FORMULA_STARTS`.
    """
    if text.startswith(FORMULA_STARTS):
        raise refuse(
            "text.formula",
            f"{field_zh}以“{text[0]}”开头，在 Excel 中打开时会被当作公式执行",
            f"{field_en} starts with '{text[0]}', which Excel runs as a formula when the file is opened",
            f"请删除{field_zh}开头的“{text[0]}”；如果这不是{field_zh}，请核对是否填错了列",
            f"delete the leading '{text[0]}'; if this is not {field_en}, check that the value is in the right column",
        )


def clean_person_name(raw: str) -> str:
    """A person's name: letters, combining marks, the middle dot and single inner spaces only."""
    text = clean_text(
        raw.translate(_DOT_VARIANTS), field_zh="姓名", field_en="the name", length=PERSON_NAME_LENGTH
    )
    for char in text:
        if char not in (MIDDLE_DOT, " ") and unicodedata.category(char)[0] not in "LM":
            raise refuse(
                "name.character",
                f"姓名中含有不应出现的字符“{char}”",
                f"the name contains '{char}', which does not belong in a person's name",
                "姓名只能包含文字和少数民族姓名中的间隔号“·”；请核对是否误填了其他内容",
                "a name may hold only letters and the middle dot '·' of minority names; check the cell",
            )
    if "  " in text:
        raise refuse(
            "name.space",
            "姓名中有连续的空格",
            "the name has two or more spaces in a row",
            "各部分之间只保留一个空格",
            "keep a single space between the parts of the name",
        )
    if text.startswith(MIDDLE_DOT) or text.endswith(MIDDLE_DOT) or MIDDLE_DOT * 2 in text:
        raise refuse(
            "name.middle_dot",
            "间隔号“·”只能出现在姓名中间且不能连续",
            "the middle dot '·' may only stand between parts of the name, once",
            "例如：阿不都·热合曼",
            "for example: 阿不都·热合曼",
        )
    return text


def clean_org_name(raw: str) -> str:
    """An organisation's name: any visible characters within the length bounds."""
    return clean_text(raw, field_zh="名称", field_en="the organisation name", length=ORG_NAME_LENGTH)


def clean_court_name(raw: str) -> str:
    """A court's name: display text of :data:`COURT_NAME_LENGTH` that contains :data:`COURT_WORD`.

    Raises:
        RuleViolation: a formula start, a forbidden character, a bad length, or no 法院 in it.
    """
    text = clean_text(raw, field_zh="执行法院", field_en="the court", length=COURT_NAME_LENGTH)
    if COURT_WORD not in text:
        raise refuse(
            "court.name",
            f"执行法院“{text}”中没有“法院”二字",
            f"the court '{text}' does not contain 法院 (court)",
            "请填写法院全称，例如“青川市东湖区人民法院”",
            "write the court's full name, e.g. 青川市东湖区人民法院",
        )
    return text


def is_court_phone(text: str) -> bool:
    """Whether ``text`` (NFKC-normalised already, as the import stores it) is a court phone number."""
    return COURT_PHONE.fullmatch(text) is not None


#: 失信被执行人行为具体情形 as a record carries it; the slide shortens it further to fit.
MAX_CONDUCT_CHARS = 300


def clean_conduct(text: str) -> str:
    """The specific dishonest conduct (Art. 6 (4)): display text of at most :data:`MAX_CONDUCT_CHARS`."""
    return clean_text(
        text, field_zh="失信行为具体情形", field_en="the dishonest conduct", length=(2, MAX_CONDUCT_CHARS)
    )
