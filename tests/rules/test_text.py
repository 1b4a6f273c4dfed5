"""Names and display text: NFC, invisible and reordering characters, the minority-name middle dot."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signage.core.rules import RuleViolation
from signage.core.rules.text import (
    MIDDLE_DOT,
    ORG_NAME_LENGTH,
    PERSON_NAME_LENGTH,
    clean_court_name,
    clean_org_name,
    clean_person_name,
    clean_text,
    is_court_phone,
)


def refusal_code(rule, raw: str) -> str:
    with pytest.raises(RuleViolation) as caught:
        rule(raw)
    return caught.value.finding.code


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("林小雨", "林小雨"),
        ("  林小雨 ", "林小雨"),
        ("𠮷田", "𠮷田"),  # outside the BMP
        ("阿不都·热合曼", "阿不都·热合曼"),
        ("阿不都•热合曼", "阿不都·热合曼"),  # U+2022 bullet
        ("阿不都‧热合曼", "阿不都·热合曼"),  # U+2027 hyphenation point
        ("阿不都・热合曼", "阿不都·热合曼"),  # U+30FB katakana middle dot
        ("阿不都･热合曼", "阿不都·热合曼"),  # U+FF65 half-width katakana middle dot
        ("阿不都∙热合曼", "阿不都·热合曼"),  # U+2219 bullet operator
        ("阿不都⋅热合曼", "阿不都·热合曼"),  # U+22C5 dot operator
        ("买买提·艾力·阿不都", "买买提·艾力·阿不都"),
        ("Zoé Martin", "Zoé Martin"),
        ("Zoe\u0301 Martin", "Zoé Martin"),  # decomposed: e + combining acute -> é
        ("吕布", "吕布"),
        ("Wang Xiaoming", "Wang Xiaoming"),
    ],
)
def test_person_name_is_accepted_and_normalised(raw: str, expected: str) -> None:
    assert clean_person_name(raw) == expected


def test_decomposed_name_comes_out_nfc() -> None:
    decomposed = unicodedata.normalize("NFD", "Zoé Martin")
    assert decomposed != "Zoé Martin"
    cleaned = clean_person_name(decomposed)
    assert cleaned == "Zoé Martin"
    assert unicodedata.is_normalized("NFC", cleaned)
    assert len(cleaned) == 10


def test_middle_dot_is_u00b7() -> None:
    assert MIDDLE_DOT == "\u00b7"
    assert clean_person_name("阿不都•热合曼")[3] == "\u00b7"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("林\u202e小雨", "text.invisible_character"),  # right-to-left override
        ("林\u202d小雨", "text.invisible_character"),  # left-to-right override
        ("林\u2066小雨", "text.invisible_character"),  # left-to-right isolate
        ("林\u200f小雨", "text.invisible_character"),  # right-to-left mark
        ("林\u200b小雨", "text.invisible_character"),  # zero-width space
        ("林\u200d小雨", "text.invisible_character"),  # zero-width joiner
        ("林\u200c小雨", "text.invisible_character"),  # zero-width non-joiner
        ("\ufeff林小雨", "text.invisible_character"),  # byte-order mark / zero-width no-break space
        ("林\u00ad小雨", "text.invisible_character"),  # soft hyphen
        ("林\x00小雨", "text.invisible_character"),
        ("林\x07小雨", "text.invisible_character"),
        ("林\t小雨", "text.invisible_character"),
        ("林\n小雨", "text.invisible_character"),
        ("林\x85小雨", "text.invisible_character"),
        ("林\u2028小雨", "text.invisible_character"),  # line separator
        ("林\u2029小雨", "text.invisible_character"),  # paragraph separator
        ("林\ue000小雨", "text.invisible_character"),  # private use
        ("林\U000f0000小雨", "text.invisible_character"),  # supplementary private use
        ("林\U000e0001小雨", "text.invisible_character"),  # language tag
        ("林\u0378小雨", "text.invisible_character"),  # unassigned
        ("林", "text.length"),
        ("", "text.length"),
        ("   ", "text.length"),
        ("林" * (PERSON_NAME_LENGTH[1] + 1), "text.length"),
        ("林小雨1", "name.character"),
        ("林小雨（曾用名）", "name.character"),
        ("林-小雨", "name.character"),
        ("林.小雨", "name.character"),
        ("林\u00a0小雨", "name.character"),  # no-break space
        ("林\u3000小雨", "name.character"),  # ideographic space
        ("林小雨😀", "name.character"),
        ("林  小雨", "name.space"),
        ("·阿不都", "name.middle_dot"),
        ("阿不都·", "name.middle_dot"),
        ("阿不都··热合曼", "name.middle_dot"),
        ("阿不都•·热合曼", "name.middle_dot"),
    ],
)
def test_person_name_refusals(raw: str, code: str) -> None:
    assert refusal_code(clean_person_name, raw) == code


def test_invisible_character_message_names_code_point_and_position() -> None:
    with pytest.raises(RuleViolation) as caught:
        clean_person_name("林\u202e小雨")
    assert "U+202E" in caught.value.finding.en
    assert "position 2" in caught.value.finding.en
    assert "第 2 个字符" in caught.value.finding.zh


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("林", None),
        ("林小", "林小"),
        ("林" * PERSON_NAME_LENGTH[1], "林" * PERSON_NAME_LENGTH[1]),
        ("𠮷" * PERSON_NAME_LENGTH[1], "𠮷" * PERSON_NAME_LENGTH[1]),  # code points, not UTF-16 units
        ("林" * (PERSON_NAME_LENGTH[1] + 1), None),
    ],
)
def test_person_name_length_bounds(raw: str, expected: str | None) -> None:
    if expected is None:
        assert refusal_code(clean_person_name, raw) == "text.length"
    else:
        assert clean_person_name(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("青川市东湖建材有限公司", "青川市东湖建材有限公司"),
        ("青川市东湖建材（集团）有限公司", "青川市东湖建材（集团）有限公司"),
        ("ABC Trading Co., Ltd.", "ABC Trading Co., Ltd."),
        ("青川市第1建筑工程公司", "青川市第1建筑工程公司"),
        ("𠮷野家餐饮有限公司", "𠮷野家餐饮有限公司"),
        ("公司" + "x" * (ORG_NAME_LENGTH[1] - 2), "公司" + "x" * (ORG_NAME_LENGTH[1] - 2)),
    ],
)
def test_org_name_accepted(raw: str, expected: str) -> None:
    assert clean_org_name(raw) == expected


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("青川\u202e公司", "text.invisible_character"),
        ("青川\u200b公司", "text.invisible_character"),
        ("青川\ufeff公司", "text.invisible_character"),
        ("青川\r\n公司", "text.invisible_character"),
        ("司", "text.length"),
        ("司" * (ORG_NAME_LENGTH[1] + 1), "text.length"),
    ],
)
def test_org_name_refusals(raw: str, code: str) -> None:
    assert refusal_code(clean_org_name, raw) == code


def test_clean_text_uses_the_given_bounds_and_field_names() -> None:
    assert clean_text("青川市东湖区人民法院", field_zh="执行法院", field_en="the court", length=(4, 60))
    with pytest.raises(RuleViolation) as caught:
        clean_text("法院", field_zh="执行法院", field_en="the court", length=(4, 60))
    assert caught.value.finding.code == "text.length"
    assert "执行法院" in caught.value.finding.zh
    assert "the court" in caught.value.finding.en


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=50))
def test_property_accepted_names_are_nfc_and_visible(raw: str) -> None:
    try:
        cleaned = clean_person_name(raw)
    except RuleViolation:
        return
    assert unicodedata.is_normalized("NFC", cleaned)
    assert PERSON_NAME_LENGTH[0] <= len(cleaned) <= PERSON_NAME_LENGTH[1]
    assert cleaned == cleaned.strip()
    for char in cleaned:
        assert unicodedata.category(char) not in {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
        assert char in (MIDDLE_DOT, " ") or unicodedata.category(char)[0] in "LM"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=120))
def test_property_org_names_never_carry_format_characters(raw: str) -> None:
    try:
        cleaned = clean_org_name(raw)
    except RuleViolation:
        return
    assert unicodedata.is_normalized("NFC", cleaned)
    assert not any(unicodedata.category(char) in {"Cc", "Cf", "Co", "Cn"} for char in cleaned)


# --- formula injection (issue 10, part 5) --------------------------------------------------------------------


@pytest.mark.parametrize("start", ["=", "+", "-", "@"])
@pytest.mark.parametrize("rule", [clean_person_name, clean_org_name])
def test_text_starting_like_a_formula_is_refused(rule, start: str) -> None:
    assert refusal_code(rule, f'{start}HYPERLINK("https://example.invalid","林小雨")') == "text.formula"
    assert refusal_code(rule, f"  {start}林小雨") == "text.formula"  # after the surrounding spaces go


def test_formula_message_names_the_field_and_the_fix() -> None:
    with pytest.raises(RuleViolation) as caught:
        clean_text("=1+1", field_zh="执行法院", field_en="the court", length=(1, 60))
    finding = caught.value.finding
    assert "执行法院" in finding.zh and "公式" in finding.zh and "删除" in finding.fix_zh
    assert (
        "the court" in finding.en and "formula" in finding.en and "delete the leading '='" in finding.fix_en
    )


def test_formula_characters_inside_the_text_and_notice_lines_are_accepted() -> None:
    assert clean_org_name("青川市A-B科技有限公司") == "青川市A-B科技有限公司"
    assert (
        clean_text("- 周一闭馆", field_zh="正文", field_en="body", length=(0, 99), formula_ok=True)
        == "- 周一闭馆"
    )


@pytest.mark.parametrize(
    ("raw", "code"),
    [("法院", "text.length"), ("青川市东湖区", "court.name"), ("=青川市人民法院", "text.formula")],
)
def test_court_name_refusals(raw: str, code: str) -> None:
    assert refusal_code(clean_court_name, raw) == code


def test_court_names_short_and_long_are_accepted() -> None:
    assert clean_court_name(" 东湖法院 ") == "东湖法院"
    assert clean_court_name("北京知识产权法院") == "北京知识产权法院"
    assert is_court_phone("0531-12345678 转 8001") and not is_court_phone("0531\u202e1234")
