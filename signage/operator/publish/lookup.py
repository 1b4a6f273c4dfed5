"""Finding entries the way operators name them: a name, a case number in any spelling, or an id (pure).

Operators never need to know an entry id. ``revoke``, ``reinstate``, ``find``, ``fleet --entry`` and
``report --entry`` all take a query; several words must all match (``林小雨 （2025）鲁0102执1234号``
narrows a common name to one case).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable
from typing import TypeVar

from signage.core.rules.caseno import normalise_case_number

T = TypeVar("T")


def _squash(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split()).casefold()


def matches_term(term: str, *, entry_id: str, name: str, case_number: str) -> bool:
    """Whether one word of a query names this entry: its id, its case number (any spelling), or its name.

    A name matches in part (two characters or more), so 紫芃 finds 欧阳紫芃霖.
    """
    if term == entry_id:
        return True
    if case_number and normalise_case_number(term) == normalise_case_number(case_number):
        return True
    wanted = _squash(term)
    return len(wanted) >= 2 and wanted in _squash(name)


def find(items: Iterable[T], query: str, key: Callable[[T], tuple[str, str, str]]) -> list[T]:
    """The items every word of ``query`` matches; ``key`` gives an item's (entry id, name, case number).

    A query that is one whole case number is taken whole, so its spaces (``(2025) 鲁0102执1234号``) do
    not split it into words.
    """
    words = [query] if _is_case_number(query) else query.split()
    if not words:
        return []
    found = []
    for item in items:
        entry_id, name, case_number = key(item)
        if all(matches_term(word, entry_id=entry_id, name=name, case_number=case_number) for word in words):
            found.append(item)
    return found


def _is_case_number(query: str) -> bool:
    text = normalise_case_number(query)
    return text.startswith("（") and "执" in text and text.count("（") == 1
