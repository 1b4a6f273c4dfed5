"""Field rules: the first line of the lawful-display guarantee (issue 2, section 3).

Each submodule checks one family of fields and is pure: values in, normalised values or a
:class:`RuleViolation` out. Warnings that do not refuse a value come back as :class:`Finding` objects.
Every message is bilingual and says how to fix the input, because operators read them, not programmers.
The legal or standard source of each rule is in ``docs/data-model.md``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    """One thing wrong with a value, in both languages, with the fix.

    Attributes:
        code: A stable identifier (``id.check_digit``) for tests and machine readers.
        zh: What is wrong, in Chinese.
        en: What is wrong, in English.
        fix_zh: What the operator should do, in Chinese.
        fix_en: What the operator should do, in English.
    """

    code: str
    zh: str
    en: str
    fix_zh: str
    fix_en: str


class RuleViolation(ValueError):
    """A value is refused. Carries the :class:`Finding` that says why."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.en)
        self.finding = finding


def refuse(code: str, zh: str, en: str, fix_zh: str, fix_en: str) -> RuleViolation:
    """Build a :class:`RuleViolation`; callers ``raise refuse(...)`` so the raise stays visible."""
    return RuleViolation(Finding(code, zh, en, fix_zh, fix_en))
