"""Amounts of the obligation (执行标的): parsing what operators write, and the on-screen form.

Amounts are :class:`decimal.Decimal` yuan, never floats. Display rounds half-up to two decimals and picks
the unit by size: 元 below 10,000, 万元 below 100 million, 亿元 from there up.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from signage.core.rules import refuse

WAN = Decimal(10_000)
YI = Decimal(100_000_000)
CENT = Decimal("0.01")
# No judgment in China comes near a trillion yuan; larger values are unit mistakes.
MAXIMUM = Decimal(1_000_000_000_000)

_UNITS = {"": Decimal(1), "元": Decimal(1), "万": WAN, "万元": WAN, "亿": YI, "亿元": YI}
_NUMBER = re.compile(r"(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?")


def parse_amount(value: object) -> Decimal:
    """Read an amount: ``1048.67``, ``1,048.67``, ``1048.67元``, ``12.5万元``, ``¥1,048.67`` or a number cell.

    Raises:
        RuleViolation: not a number, negative, more than two decimals (after the unit), or absurdly large.
    """
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        amount = Decimal(value)
        text = str(value)
    elif isinstance(value, float):
        # Excel stores 1048.67 as the nearest binary float; repr() gives back the shortest exact form.
        amount = Decimal(repr(value))
        text = repr(value)
    else:
        text = unicodedata.normalize("NFKC", str(value)).strip()
        amount = _parse_text(text)
    if not amount.is_finite() or amount < 0:
        raise _bad_amount(text)
    # Before the decimals check: quantizing a value past 28 significant digits raises InvalidOperation.
    if amount > MAXIMUM:
        raise refuse(
            "amount.too_large",
            f"金额“{text}”超过一万亿元，可能是单位填错",
            f"the amount '{text}' exceeds one trillion yuan; the unit is probably wrong",
            "请核对金额和单位（元、万元）",
            "check the amount and its unit (元 or 万元)",
        )
    if amount != amount.quantize(CENT, rounding=ROUND_HALF_UP):
        raise refuse(
            "amount.decimals",
            f"金额“{text}”精确到分以下（超过两位小数）",
            f"the amount '{text}' has more than two decimals (below one fen)",
            "请四舍五入到分，例如 1048.67",
            "round it to fen, e.g. 1048.67",
        )
    # copy_abs(): a -0 cell (Decimal or float) would otherwise come out and display as -0.00.
    return amount.quantize(CENT).copy_abs()


def canonical_amount(amount: Decimal) -> str:
    """The exact, plain form used in files: ``1048.67`` (two decimals, no separators)."""
    return f"{amount.quantize(CENT):f}"


def display_amount(amount: Decimal) -> str:
    """The on-screen form: ``1,048.67元``, ``12.35万元`` or ``1.20亿元``, rounded half-up."""
    yuan = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    if yuan < WAN:
        return f"{yuan:,.2f}元"
    wan = (amount / WAN).quantize(CENT, rounding=ROUND_HALF_UP)
    # 99,999,999.99 rounds to 10,000.00万; it reads better as 1.00亿.
    if wan < WAN:
        return f"{wan:,.2f}万元"
    yi = (amount / YI).quantize(CENT, rounding=ROUND_HALF_UP)
    return f"{yi:,.2f}亿元"


def _parse_text(text: str) -> Decimal:
    body = text.removeprefix("¥").removeprefix("￥").removeprefix("人民币").strip()
    for suffix in sorted(_UNITS, key=len, reverse=True):
        if suffix and body.endswith(suffix):
            number, unit = body[: -len(suffix)].strip(), _UNITS[suffix]
            break
    else:
        number, unit = body, Decimal(1)
    if not _NUMBER.fullmatch(number):
        raise _bad_amount(text)
    try:
        return Decimal(number.replace(",", "")) * unit
    except InvalidOperation:
        raise _bad_amount(text) from None


def _bad_amount(text: str) -> Exception:
    return refuse(
        "amount.format",
        f"金额“{text}”无法识别",
        f"the amount '{text}' is not a recognised amount",
        "请填写不小于 0 的数字，可带“元”或“万元”，例如 1048.67、1,048.67元、12.5万元",
        "write a number of at least 0, optionally with 元 or 万元, e.g. 1048.67, 1,048.67元, 12.5万元",
    )
