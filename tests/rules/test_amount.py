"""Amounts of the obligation (执行标的): parsing, the canonical form and the on-screen form."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signage.core.rules import RuleViolation
from signage.core.rules.amount import MAXIMUM, canonical_amount, display_amount, parse_amount

D = Decimal


def refusal_code(value: object) -> str:
    with pytest.raises(RuleViolation) as caught:
        parse_amount(value)
    return caught.value.finding.code


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1048.67", D("1048.67")),
        ("1,048.67", D("1048.67")),
        ("1048.67元", D("1048.67")),
        ("1,048.67 元", D("1048.67")),
        ("12.5万元", D("125000")),
        ("12.5万", D("125000")),
        ("1.2亿元", D("120000000")),
        ("1.2亿", D("120000000")),
        ("1.2345万元", D("12345")),  # decimals are counted after the unit is applied
        ("¥1,048.67", D("1048.67")),
        ("￥1,048.67", D("1048.67")),
        ("人民币1048.67元", D("1048.67")),
        ("１０４８．６７", D("1048.67")),  # full-width
        ("1，048.67", D("1048.67")),  # full-width comma
        ("  1048.67  ", D("1048.67")),
        ("1,234,567.8", D("1234567.80")),
        ("0", D("0")),
        ("0.01", D("0.01")),
        ("007", D("7")),
        ("1000000000000", MAXIMUM),
        ("10000亿元", MAXIMUM),
        (1048, D("1048")),
        (D("1048.67"), D("1048.67")),
        (1048.67, D("1048.67")),  # a float cell: the shortest repr, not the binary expansion
        (0.1, D("0.10")),
        (-0.0, D("0")),
        (D("-0"), D("0")),
    ],
)
def test_accepted_amounts(value: object, expected: Decimal) -> None:
    amount = parse_amount(value)
    assert amount == expected
    assert amount.as_tuple().exponent == -2
    assert not amount.is_signed()


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("-1", "amount.format"),
        ("-1048.67", "amount.format"),
        (-1, "amount.format"),
        (D("-0.01"), "amount.format"),
        (-0.5, "amount.format"),
        ("1048.675", "amount.decimals"),
        ("0.001", "amount.decimals"),
        (D("0.001"), "amount.decimals"),
        (1048.675, "amount.decimals"),
        ("1.2345678万元", "amount.decimals"),
        ("abc", "amount.format"),
        ("", "amount.format"),
        ("元", "amount.format"),
        ("一千元", "amount.format"),
        ("1048.67美元", "amount.format"),
        ("1e3", "amount.format"),
        ("NaN", "amount.format"),
        ("Infinity", "amount.format"),
        (float("nan"), "amount.format"),
        (float("inf"), "amount.format"),
        (D("NaN"), "amount.format"),
        (".5", "amount.format"),
        ("5.", "amount.format"),
        ("1.048.67", "amount.format"),
        ("+1048.67", "amount.format"),
        ("10,48.67", "amount.format"),  # bad grouping
        ("1,0486.7", "amount.format"),
        ("1048,67", "amount.format"),  # decimal comma
        (",1048", "amount.format"),
        ("1,048,", "amount.format"),
        ("1 048.67", "amount.format"),
        ("1000000000000.01", "amount.too_large"),
        ("10001亿元", "amount.too_large"),
        (10**13, "amount.too_large"),
        # Far past the Decimal context's 28 digits: refused, not a crash in quantize().
        (10**40, "amount.too_large"),
        (D("1E+40"), "amount.too_large"),
        ("9" * 40, "amount.too_large"),
        ("9" * 30 + "万元", "amount.too_large"),
    ],
)
def test_refused_amounts(value: object, code: str) -> None:
    assert refusal_code(value) == code


def test_booleans_are_not_amounts() -> None:
    assert refusal_code(True) == "amount.format"


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (D("1048.67"), "1048.67"),
        (D("0"), "0.00"),
        (D("5"), "5.00"),
        (D("1E+3"), "1000.00"),
        (D("1234567.8"), "1234567.80"),
        (MAXIMUM, "1000000000000.00"),
    ],
)
def test_canonical_amount(amount: Decimal, text: str) -> None:
    assert canonical_amount(amount) == text


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        (D("0"), "0.00元"),
        (D("0.01"), "0.01元"),
        (D("0.005"), "0.01元"),  # half-up, not half-even
        (D("1048.67"), "1,048.67元"),
        (D("9999.99"), "9,999.99元"),
        (D("9999.995"), "1.00万元"),  # rounds to 10,000.00元, so it is shown in 万
        (D("10000"), "1.00万元"),
        (D("123456.78"), "12.35万元"),
        (D("123450"), "12.35万元"),  # 12.345 -> 12.35 half-up (half-even would give 12.34)
        (D("123449.99"), "12.34万元"),
        (D("125000"), "12.50万元"),
        (D("99994999.99"), "9,999.50万元"),
        (D("99999949.99"), "9,999.99万元"),
        (D("99999950"), "1.00亿元"),  # 9,999.995万 rounds to 10,000.00万: shown in 亿
        (D("99999999.99"), "1.00亿元"),
        (D("100000000"), "1.00亿元"),
        (D("120000000"), "1.20亿元"),
        (D("1234500000"), "12.35亿元"),
        (MAXIMUM, "10,000.00亿元"),
    ],
)
def test_display_amount(amount: Decimal, shown: str) -> None:
    assert display_amount(amount) == shown


# --- properties ----------------------------------------------------------------------------------------

_AMOUNTS = st.decimals(min_value=0, max_value=MAXIMUM, places=2, allow_nan=False, allow_infinity=False)


def _half_display_unit(shown: str) -> Decimal:
    if shown.endswith("亿元"):
        return D("0.005") * D(100_000_000)
    if shown.endswith("万元"):
        return D("0.005") * D(10_000)
    return D("0.005")


@settings(max_examples=300, deadline=None)
@given(_AMOUNTS)
def test_property_canonical_round_trip(amount: Decimal) -> None:
    assert parse_amount(canonical_amount(amount)) == amount
    assert canonical_amount(parse_amount(canonical_amount(amount))) == canonical_amount(amount)


@settings(max_examples=300, deadline=None)
@given(_AMOUNTS)
def test_property_grouped_and_yuan_forms_parse_back(amount: Decimal) -> None:
    assert parse_amount(f"{amount:,.2f}") == amount
    assert parse_amount(f"{amount}元") == amount
    assert parse_amount(f"¥{amount:,.2f}") == amount


@settings(max_examples=300, deadline=None)
@given(_AMOUNTS)
def test_property_display_is_within_half_a_display_unit(amount: Decimal) -> None:
    shown = display_amount(amount)
    assert abs(parse_amount(shown) - amount) <= _half_display_unit(shown)


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(max_size=20), st.decimals(allow_nan=True), st.integers(), st.floats()))
def test_property_parse_refuses_or_returns_cents(value: object) -> None:
    """Whatever arrives, the answer is a RuleViolation or a non-negative amount in whole fen."""
    try:
        amount = parse_amount(value)
    except RuleViolation:
        return
    assert D(0) <= amount <= MAXIMUM
    assert amount.as_tuple().exponent == -2
