"""Organisation identifiers: the USCC (GB 32100-2015) and the older organisation code (GB 11714-1997)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import uscc

from signage.core.rules import RuleViolation
from signage.core.rules.orgcode import org_code_check_character, parse_org_code

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def make_uscc(body: str) -> str:
    """A fictional USCC: 17 characters plus the GB 32100 check character computed by python-stdnum."""
    return body + uscc.calc_check_digit(body)


def wrong_uscc_check(code: str) -> str:
    return code[:17] + next(char for char in USCC_ALPHABET if char != code[17])


def refusal_code(raw: str) -> str:
    with pytest.raises(RuleViolation) as caught:
        parse_org_code(raw)
    return caught.value.finding.code


@pytest.mark.parametrize(
    "body",
    [
        "91999999MA0000001",  # 9 工商, 1 企业
        "92999999MA0000002",  # 个体工商户
        "12999999000000003",  # 1 机构编制
        "51999999MJ0000004",  # 5 民政
        "Y1999999MA0000005",  # Y 其他: a letter first, which stdnum's is_valid() does not allow
    ],
)
def test_valid_uscc_is_accepted_without_warning(body: str) -> None:
    code = make_uscc(body)
    parsed = parse_org_code(code)
    assert parsed.code == code
    assert parsed.warnings == ()


@pytest.mark.parametrize("body", ["91999999MA0000001", "Y1999999MA0000005"])
def test_uscc_bad_check_character_is_a_warning_not_a_refusal(body: str) -> None:
    code = wrong_uscc_check(make_uscc(body))
    parsed = parse_org_code(code)
    assert parsed.code == code
    assert [finding.code for finding in parsed.warnings] == ["uscc.check_digit"]


@pytest.mark.parametrize(
    "written",
    [
        str.lower,
        lambda code: f" {code[:8]} {code[8:]} ",
        lambda code: code.translate(str.maketrans("0123456789", "０１２３４５６７８９")),
    ],
    ids=["lower-case", "spaces", "full-width"],
)
def test_uscc_is_normalised(written) -> None:
    code = make_uscc("91999999MA0000001")
    assert parse_org_code(written(code)).code == code


@pytest.mark.parametrize(
    "raw",
    [
        "91999999MA000000",  # 16 characters
        "91999999IA0000001X",  # I is not in the GB 32100 alphabet
        "91999999OA0000001X",  # O
        "91999999SA0000001X",  # S
        "91999999VA0000001X",  # V
        "91999999ZA0000001X",  # Z
        "91999999MA00000012X",  # 19 characters
        "",
        "无",
        "91999999-MA0000001",
    ],
)
def test_uscc_shape_refusals(raw: str) -> None:
    assert refusal_code(raw) == "orgcode.format"


@pytest.mark.parametrize(
    ("body", "check"),
    [
        ("D2143569", "X"),  # the worked example of GB 11714: 11 - 199 mod 11 = 10 -> X
        ("12345678", "8"),  # 3+14+27+40+25+48+28+16 = 201; 11 - 201 mod 11 = 8
        ("00000000", "0"),  # 11 - 0 = 11 -> 0
        ("60003734", "1"),  # 18+0+0+0+15+56+12+8 = 109; 11 - 109 mod 11 = 1
    ],
)
def test_org_code_check_character(body: str, check: str) -> None:
    assert org_code_check_character(body) == check


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("D2143569-X", "D2143569-X"),
        ("D2143569X", "D2143569-X"),
        ("d2143569-x", "D2143569-X"),
        ("D2143569－X", "D2143569-X"),  # full-width hyphen
        (" 12345678-8 ", "12345678-8"),
        ("123456788", "12345678-8"),
        ("00000000-0", "00000000-0"),
    ],
)
def test_org_code_is_accepted_with_or_without_hyphen(raw: str, expected: str) -> None:
    parsed = parse_org_code(raw)
    assert parsed.code == expected
    assert parsed.warnings == ()


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("D2143569-1", "orgcode.check_digit"),
        ("123456789", "orgcode.check_digit"),
        ("12345678-X", "orgcode.check_digit"),
        ("1234567-8", "orgcode.format"),
        ("12345678--8", "orgcode.format"),
        ("12345678-A", "orgcode.format"),
        ("D214356中-X", "orgcode.format"),
    ],
)
def test_org_code_refusals(raw: str, code: str) -> None:
    assert refusal_code(raw) == code


@settings(max_examples=200, deadline=None)
@given(body=st.text(alphabet=USCC_ALPHABET, min_size=17, max_size=17))
def test_property_any_uscc_shape_is_accepted_and_warned_only_on_a_bad_check(body: str) -> None:
    code = make_uscc(body)
    assert parse_org_code(code).warnings == ()
    assert [f.code for f in parse_org_code(wrong_uscc_check(code)).warnings] == ["uscc.check_digit"]


@settings(max_examples=200, deadline=None)
@given(body=st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=8, max_size=8))
def test_property_org_code_round_trip(body: str) -> None:
    code = f"{body}-{org_code_check_character(body)}"
    assert parse_org_code(code).code == code
    assert parse_org_code(code.replace("-", "")).code == code
