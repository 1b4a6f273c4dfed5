"""The console's language: Chinese unless the operator chose English with the switch in the top bar.

Django's :class:`~django.middleware.locale.LocaleMiddleware` would follow the browser's Accept-Language, so a
clerk on a PC set up in English would get an English console without asking for it. The console is Chinese
first: only the language cookie that the switch (``/i18n/setlang/``) sets changes it.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.middleware.locale import LocaleMiddleware
from django.utils import translation

from signage.core.errors import SignageError


class ChosenLanguageMiddleware(LocaleMiddleware):
    """:class:`LocaleMiddleware` that ignores Accept-Language and reads only the language cookie."""

    def process_request(self, request: HttpRequest) -> None:
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        supported = {code for code, _name in settings.LANGUAGES}
        language = chosen if chosen in supported else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()


def english() -> bool:
    """Whether the active language is English (the operator chose it with the switch)."""
    return (translation.get_language() or "").startswith("en")


def in_language(zh: str, en: str) -> str:
    """``zh`` or ``en``, by the active language: for texts that carry both (errors, role names)."""
    return en if english() else zh


def message_of(error: SignageError) -> str:
    """The error's message in the page's language (Chinese unless English is chosen)."""
    return in_language(error.zh, error.en)


def list_separator() -> str:
    """What joins names in a sentence: 、 in Chinese, a semicolon in English (names may hold commas)."""
    return translation.pgettext("separator between names in a sentence", "、")
