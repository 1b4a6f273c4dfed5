"""Resident ID numbers (居民身份证号码): validation, lawful masking and the minors rule.

What may leave the operator is only a masked number in the shape the Supreme People's Court publishes
(``3423011964****3224``) or a stricter one. The full number is held only inside :func:`parse_resident_id`
and never returned, stored, logged or written. See docs/data-model.md for the sources.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import re
import unicodedata
from dataclasses import dataclass

from signage.core.rules import Finding, refuse
from signage.core.rules.dates import add_years

ADULT_AGE = 18
_EARLIEST_BIRTH_YEAR = 1900

# re.ASCII: a bare \d also matches other scripts' digits (Arabic-Indic ٣, Devanagari ३), which NFKC
# leaves alone; such a "number" must be refused, not masked and shown.
_FULL_18 = re.compile(r"\d{17}[\dX]", re.ASCII)
_FULL_15 = re.compile(r"\d{15}", re.ASCII)
# The only masked shapes accepted as input: exactly the SPC list's (GB 11643 positions 11-14 hidden).
_MASKED_18 = re.compile(r"\d{10}\*{4}\d{3}[\dX]", re.ASCII)
_MASKED_15 = re.compile(r"\d{8}\*{4}\d{3}", re.ASCII)


class MaskPolicy(enum.StrEnum):
    """How much of an ID number a screen may show. Every policy hides at least what the SPC list hides."""

    #: The published SPC list: first 10, ``****``, last 4 (15 digits: first 8, ``****``, last 3).
    SPC = "spc"
    #: Stricter: the birth year is hidden too (first 6, then stars, then the last 4 or 3).
    HIDE_BIRTH_YEAR = "hide-birth-year"


@dataclass(frozen=True)
class ParsedId:
    """What the import keeps of an ID number: the masked text and what the minors rule needs.

    Attributes:
        masked: The number masked under the chosen policy: the only form that is ever stored.
        youngest_birth: The latest birth date the number allows (exact for a full number, 31 December of
            the visible year for a masked one). Used for the minors check at import, never stored.
        warnings: Findings that do not refuse the number.
    """

    masked: str
    youngest_birth: dt.date
    warnings: tuple[Finding, ...]


def normalise_id_text(raw: str) -> str:
    """Full-width digits to ASCII, spaces removed, ``x`` upper-cased: what Excel users type."""
    text = unicodedata.normalize("NFKC", raw)
    return "".join(text.split()).upper()


def parse_resident_id(raw: str, *, policy: MaskPolicy, today: dt.date) -> ParsedId:
    """Validate an ID number, full or SPC-masked, and mask it under ``policy``.

    Args:
        raw: The cell as the operator wrote it.
        policy: The mask to apply; never weaker than the SPC list.
        today: The date of the import; birth dates after it are impossible.

    Raises:
        RuleViolation: a bad check digit, an impossible birth date, or an unknown or too revealing shape.
    """
    text = normalise_id_text(raw)
    if _FULL_18.fullmatch(text):
        # Imported here: only the operator's import verifies full numbers; a screen never loads stdnum.
        from stdnum.cn import ric

        if text[-1] != ric.calc_check_digit(text):
            raise refuse(
                "id.check_digit",
                "身份证号码校验位错误（最后一位与前 17 位不符）",
                "the ID number's check digit (its last character) does not match the first 17 digits",
                "请对照原始证件核对号码，常见错误是抄错一位或把 X 写成别的字符",
                "compare it with the original document; usually one digit was mistyped or X was miswritten",
            )
        birth = _birth_date(text[6:14], today)
        masked = _mask_18(text, policy)
        return ParsedId(masked, birth, _region_warnings(text[:6]))
    if _FULL_15.fullmatch(text):
        birth = _birth_date("19" + text[6:12], today)
        masked = _mask_15(text, policy)
        return ParsedId(masked, birth, _region_warnings(text[:6]))
    if _MASKED_18.fullmatch(text):
        year = _birth_year(int(text[6:10]), today)
        return ParsedId(_mask_18(text, policy), dt.date(year, 12, 31), _region_warnings(text[:6]))
    if _MASKED_15.fullmatch(text):
        year = _birth_year(1900 + int(text[6:8]), today)
        return ParsedId(_mask_15(text, policy), dt.date(year, 12, 31), _region_warnings(text[:6]))
    if "*" in text:
        raise refuse(
            "id.mask_shape",
            "已打码的身份证号码格式不符：只接受“前 10 位 + **** + 后 4 位”（15 位旧号：前 8 位 + **** + 后 3 位）",
            "a masked ID number must be exactly the first 10 characters, ****, then the last 4 "
            "(legacy 15-digit: first 8, ****, last 3); this one shows more or fewer",
            "请填写完整号码（系统会自动打码），或按最高法公布名单的格式打码，例如 3423011964****3224",
            "enter the full number (it is masked automatically) or mask it exactly as the SPC list "
            "does, e.g. 3423011964****3224",
        )
    raise refuse(
        "id.format",
        "身份证号码格式无法识别：应为 18 位（最后一位可为 X）或 15 位数字",
        "the ID number is not in a known format: 18 characters (the last may be X) or 15 digits",
        "请删除多余的字符并核对位数；单位请填写统一社会信用代码列",
        "remove stray characters and check the length; for an organisation use the USCC column",
    )


def is_lawful_mask(text: str) -> bool:
    """True when ``text`` is an ID number masked under one of the :class:`MaskPolicy` shapes.

    The screen calls this again before showing a number, so a playlist that slipped past the operator's
    check still cannot reveal the hidden digits.
    """
    if len(text) == 18:
        return any(
            re.fullmatch(pattern, text, re.ASCII) is not None
            for pattern in (r"\d{10}\*{4}\d{3}[\dX]", r"\d{6}\*{8}\d{3}[\dX]")
        )
    if len(text) == 15:
        return any(
            re.fullmatch(pattern, text, re.ASCII) is not None
            for pattern in (r"\d{8}\*{4}\d{3}", r"\d{6}\*{6}\d{3}")
        )
    return False


def visible_birth_year(masked: str) -> int | None:
    """The birth year a masked number still shows, or ``None`` when the policy hid it."""
    # isascii(): str.isdigit() is also true of "²", which int() refuses.
    if len(masked) == 18 and masked[6:10].isascii() and masked[6:10].isdigit():
        return int(masked[6:10])
    if len(masked) == 15 and masked[6:8].isascii() and masked[6:8].isdigit():
        return 1900 + int(masked[6:8])
    return None


def could_be_minor(youngest_birth: dt.date, on: dt.date) -> bool:
    """True if someone born no later than ``youngest_birth`` could be under 18 on ``on``."""
    return on < add_years(youngest_birth, ADULT_AGE)


def redact_for_report(raw: str) -> str:
    """A refused value as it may appear in a report or a log: never the hidden positions.

    Keeps at most the first 6 characters (the region) and, for 15 or 18 characters, the last 2, so an
    operator can find the row while a full number with a typo is not printed. Any other length may be a
    number with digits dropped or added, whose tail could be the hidden birth date: it shows no tail.
    """
    text = normalise_id_text(raw)
    if len(text) <= 8:
        return "*" * len(text)
    if len(text) in (15, 18):
        return text[:6] + "*" * (len(text) - 8) + text[-2:]
    return text[:6] + "*" * (len(text) - 6)


def _mask_18(text: str, policy: MaskPolicy) -> str:
    if policy is MaskPolicy.HIDE_BIRTH_YEAR:
        return text[:6] + "*" * 8 + text[14:]
    return text[:10] + "****" + text[14:]


def _mask_15(text: str, policy: MaskPolicy) -> str:
    if policy is MaskPolicy.HIDE_BIRTH_YEAR:
        return text[:6] + "*" * 6 + text[12:]
    return text[:8] + "****" + text[12:]


def _birth_date(yyyymmdd: str, today: dt.date) -> dt.date:
    try:
        birth = dt.date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:]))
    except ValueError:
        birth = None
    if birth is None or not dt.date(_EARLIEST_BIRTH_YEAR, 1, 1) <= birth <= today:
        raise refuse(
            "id.birth_date",
            "身份证号码中的出生日期不存在或不可能（第 7-14 位）",
            "the birth date inside the ID number (characters 7-14) does not exist or is impossible",
            "请对照原始证件核对出生日期部分",
            "check the birth-date digits against the original document",
        )
    return birth


def _birth_year(year: int, today: dt.date) -> int:
    if not _EARLIEST_BIRTH_YEAR <= year <= today.year:
        raise refuse(
            "id.birth_year",
            f"身份证号码中的出生年份 {year} 不可能",
            f"the birth year {year} in the ID number is impossible",
            "请核对号码第 7-10 位",
            "check characters 7-10 of the number",
        )
    return year


@functools.lru_cache(maxsize=4096)
def _region_warnings(region: str) -> tuple[Finding, ...]:
    # Cached: the lookup dominates import time, and a list has a few thousand regions at most.
    # ric.validate() would also refuse codes younger than the holder; the code records where the person
    # was registered when the card was issued, so only an entirely unknown code is worth a warning.
    from stdnum import numdb
    from stdnum.exceptions import ValidationError

    try:
        parts = numdb.get("cn/loc").info(region)
    except (ValidationError, LookupError):
        parts = []
    known = any("county" in props for _, props in parts)
    if known:
        return ()
    return (
        Finding(
            "id.region_unknown",
            f"身份证号码前 6 位地区码 {region} 不在行政区划代码表中（仅提示，不拒绝）",
            f"the region code {region} (first 6 digits) is not in the administrative-division table "
            "(warning only)",
            "如号码抄录无误可忽略此提示",
            "ignore this if the number was copied correctly",
        ),
    )
