"""``{% in_language zh en %}``: one of two texts that carry both languages, by the page's language.

For texts that arrive already in both languages (the import's row problems, a change's field name, errors
from :mod:`signage.core.errors`); everything the console itself says goes through ``{% translate %}``.
"""

from __future__ import annotations

from django import template

from signage.operator.hub.i18n import in_language as _in_language

register = template.Library()


@register.simple_tag
def in_language(zh: object, en: object) -> str:
    """``zh`` in Chinese, ``en`` in English (the template escapes the result)."""
    return _in_language(str(zh), str(en))
