"""An entry's identity: who is listed in which case, whatever the export's spelling (pure).

The identity of an entry is the pair

* the case number in its canonical spelling (``signage.core.rules.caseno.normalise_case_number``: brackets
  of either width, spaces, full-width digits and a missing 号 make no difference), and
* the debtor's identifier in a form that no export setting changes:

  - a person: the ID number's region (first 6) and last 4 characters, the rest as ``*``. That is what
    every lawful mask shows (the SPC list's and the stricter ``hide-birth-year`` one), so the mask an
    operator chose does not change who the entry is;
  - an organisation: its 9-character organisation code, upper case, no hyphen. A USCC carries the
    organisation code at positions 9-17 (GB 32100-2015), so an export giving the USCC and one giving
    the old code name the same organisation.

The entry id is ``e-`` and the first 16 hex digits of the SHA-256 of that pair. It is the only id an
entry has: the same debtor in the same case always gets the same id, so a takedown (which screens apply
by id) and the operator's ledger of takedowns (which publish checks by identity) hold across re-exports.
The debtor's name is deliberately not part of it: a corrected spelling of a name is the same entry.
The full ID number is never an input: a hash over it would let anyone recover hidden digits by trial.
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass

from signage.core.records import Debtor, Person
from signage.core.rules.caseno import normalise_case_number


@dataclass(frozen=True, order=True)
class Identity:
    """Who is listed in which case.

    Attributes:
        case_number: Canonical case number.
        identifier: The debtor's identifier in its mask-independent form (see the module docstring).
    """

    case_number: str
    identifier: str

    @property
    def entry_id(self) -> str:
        """The entry id derived from this identity."""
        key = f"{self.case_number}\x1f{self.identifier}"
        return "e-" + hashlib.sha256(key.encode()).hexdigest()[:16]


def person_identifier(masked_or_full: str) -> str:
    """The mask-independent form of a resident ID number (masked or, on the operator's side, full)."""
    text = "".join(unicodedata.normalize("NFKC", masked_or_full).split()).upper()
    tail = 3 if len(text) == 15 else 4
    return text[:6] + "*" * (len(text) - 6 - tail) + text[-tail:]


def organisation_identifier(code: str) -> str:
    """The 9-character organisation code inside a USCC or an old code, upper case, without hyphen."""
    text = "".join(unicodedata.normalize("NFKC", code).split()).upper().replace("-", "")
    return text[8:17] if len(text) == 18 else text


def debtor_identifier(debtor: Debtor) -> str:
    """The identifier half of a debtor's identity."""
    if isinstance(debtor, Person):
        return person_identifier(debtor.id_masked)
    return organisation_identifier(debtor.code)


def identity_of(case_number: str, debtor: Debtor) -> Identity:
    """The identity of ``debtor`` in the case ``case_number`` (any spelling)."""
    return Identity(normalise_case_number(case_number), debtor_identifier(debtor))
