"""Organisation identifiers: the unified social credit code (USCC) or the older 9-character code.

A USCC with a bad check character is only a warning: codes issued in early pilots legitimately fail the
GB 32100-2015 check. Organisations are not masked; their codes are public registration data.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from signage.core.rules import Finding, refuse

# GB 32100-2015: 18 characters from digits and upper-case letters other than I, O, Z, S and V.
_USCC_SHAPE = re.compile(r"[0-9A-HJ-NPQRTUWXY]{18}")
# GB 11714-1997: 8 body characters (digits or upper-case letters), an optional hyphen, a check character.
_ORG_CODE_SHAPE = re.compile(r"([0-9A-Z]{8})-?([0-9X])")
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


@dataclass(frozen=True)
class OrgCode:
    """A normalised organisation identifier.

    Attributes:
        code: The USCC (18 characters) or the organisation code written ``XXXXXXXX-X``.
        warnings: Findings that do not refuse the code.
    """

    code: str
    warnings: tuple[Finding, ...]


def has_org_code_shape(raw: str) -> bool:
    """Whether ``raw`` is shaped like a USCC or an organisation code (check characters not checked)."""
    text = "".join(unicodedata.normalize("NFKC", raw).split()).upper()
    return _USCC_SHAPE.fullmatch(text) is not None or _ORG_CODE_SHAPE.fullmatch(text) is not None


def parse_org_code(raw: str) -> OrgCode:
    """Validate a USCC or a 9-character organisation code.

    Raises:
        RuleViolation: the value is neither shape, or an organisation code's check character is wrong.
    """
    text = "".join(unicodedata.normalize("NFKC", raw).split()).upper()
    if _USCC_SHAPE.fullmatch(text):
        # Only the check character: uscc.is_valid() also wants 8 leading digits, so a code whose
        # registration-department character is a letter (GB 32100: Y for 其他) would get this warning
        # even with a correct check character. Imported here: a screen only needs normalise_org_code.
        from stdnum.cn import uscc

        if uscc.calc_check_digit(text[:17]) == text[17]:
            return OrgCode(text, ())
        return OrgCode(
            text,
            (
                Finding(
                    "uscc.check_digit",
                    "统一社会信用代码校验位不符（早期试点代码可能如此，仅提示）",
                    "the USCC's check character does not match (early pilot codes do this; warning only)",
                    "请对照营业执照核对；确认无误可忽略",
                    "compare it with the business licence; ignore this if it matches",
                ),
            ),
        )
    match = _ORG_CODE_SHAPE.fullmatch(text)
    if match:
        body, check = match.groups()
        if org_code_check_character(body) != check:
            raise refuse(
                "orgcode.check_digit",
                "组织机构代码校验位错误",
                "the organisation code's check character does not match",
                "请对照组织机构代码证核对，或改填统一社会信用代码",
                "compare it with the certificate, or enter the USCC instead",
            )
        return OrgCode(f"{body}-{check}", ())
    raise refuse(
        "orgcode.format",
        "单位代码格式无法识别：应为 18 位统一社会信用代码或 9 位组织机构代码",
        "the organisation's code is neither an 18-character USCC nor a 9-character organisation code",
        "请填写营业执照上的统一社会信用代码",
        "enter the USCC printed on the business licence",
    )


def normalise_org_code(raw: str) -> str:
    """The code as :func:`parse_org_code` writes it, without the USCC check character's warning.

    The screen's re-check of what a slide draws needs only this, so it never loads python-stdnum.

    Raises:
        RuleViolation: as :func:`parse_org_code`.
    """
    text = "".join(unicodedata.normalize("NFKC", raw).split()).upper()
    if _USCC_SHAPE.fullmatch(text):
        return text
    return parse_org_code(text).code


def org_code_check_character(body: str) -> str:
    """The GB 11714-1997 check character of an 8-character organisation code body."""
    # python-stdnum has no module for the pre-2015 organisation code, so this one formula is ours.
    total = sum(_char_value(char) * weight for char, weight in zip(body, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def _char_value(char: str) -> int:
    return int(char) if char.isdigit() else ord(char) - ord("A") + 10
