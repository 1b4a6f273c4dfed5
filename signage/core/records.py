"""What a displayable item is: a debtor record or an operator notice (pure data).

The fields follow Art. 6 of the SPC provisions on publishing the list of dishonest judgment debtors
(最高人民法院关于公布失信被执行人名单信息的若干规定, 2017), read as a whitelist: nothing else about a
person (address, phone, employer, relatives) has a field here, so nothing else can reach a screen.
A record holds an ID number only in masked form.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from signage.core.rules import RuleViolation, refuse
from signage.core.rules.dates import add_years
from signage.core.rules.idcard import ADULT_AGE, is_lawful_mask, visible_birth_year
from signage.core.rules.orgcode import normalise_org_code
from signage.core.rules.text import (
    clean_conduct,
    clean_court_name,
    clean_org_name,
    clean_person_name,
    clean_text,
    is_court_phone,
)

#: The furthest a term end may lie after the listing date for the screen to show the entry. A listing
#: lasts two years, extended by at most three (Art. 2 of the SPC provisions on publishing the list of
#: dishonest judgment debtors, 2017 amendment), so five years; the import enforces those five exactly.
#: The screen allows eight: it only has to catch what cannot be a real term (year 9999), without hiding
#: an entry over a date the operator's own import accepted.
MAX_TERM_YEARS_ON_SCREEN = 8


class Status(enum.StrEnum):
    """Fulfilment status (被执行人的履行情况), in the SPC list's own words. Only these two may ever be displayed."""

    UNFULFILLED = "全部未履行"
    PARTIALLY_FULFILLED = "部分未履行"

    @classmethod
    def from_wire(cls, text: str) -> Status:
        """Read a status from a playlist, including the words playlists before issue 10 used.

        Raises:
            ValueError: anything else.
        """
        return _LEGACY_WIRE_STATUS.get(text) or cls(text)


# Statuses that mean the entry must leave every screen; named so the message can say why.
_ENDED_STATUSES = {
    "已履行": "fulfilled",
    "全部履行": "fulfilled",
    "履行完毕": "fulfilled",
    "撤销": "revoked",
    "已撤销": "revoked",
    "删除": "deleted",
    "已删除": "deleted",
    "屏蔽": "withdrawn",
    "已屏蔽": "withdrawn",
}
# Playlists signed before issue 10 wrote 未履行 and 部分履行; screens still read them.
_LEGACY_WIRE_STATUS = {"未履行": Status.UNFULFILLED, "部分履行": Status.PARTIALLY_FULFILLED}
_STATUS_ALIASES = {
    "未履行": Status.UNFULFILLED,
    "全部未履行": Status.UNFULFILLED,
    "unfulfilled": Status.UNFULFILLED,
    # 部分履行 (partly performed) and 部分未履行 (partly unperformed) describe the same state; the SPC
    # list's term is 部分未履行, which is what is shown.
    "部分履行": Status.PARTIALLY_FULFILLED,
    "部分未履行": Status.PARTIALLY_FULFILLED,
    "partially fulfilled": Status.PARTIALLY_FULFILLED,
    "partially_fulfilled": Status.PARTIALLY_FULFILLED,
}


def parse_status(raw: str) -> Status:
    """Read a fulfilment status; anything but 未履行 and 部分履行 (or their English names) is refused.

    Raises:
        RuleViolation: 已履行, 撤销, 删除 and the like (must not be shown), or an unknown status.
    """
    # English names keep one space between words ("partially fulfilled"); Chinese ones lose all spaces.
    text = " ".join(raw.replace("_", " ").split()).lower() if raw.isascii() else "".join(raw.split())
    if text in _STATUS_ALIASES:
        return _STATUS_ALIASES[text]
    if text in _ENDED_STATUSES:
        raise refuse(
            "status.ended",
            f"履行情况为“{text}”，该条目不得公布",
            f"the status is '{text}' ({_ENDED_STATUSES[text]}); this entry must not be published",
            "请从名单中删除此行；已在屏幕上的条目请用撤回功能立即下线",
            "delete this row; if the entry is already on screens, revoke it so it is taken down now",
        )
    raise refuse(
        "status.unknown",
        f"履行情况“{raw.strip()}”无法识别",
        f"the status '{raw.strip()}' is not recognised",
        "只能填写“全部未履行”或“部分未履行”",
        "it must be 全部未履行 (wholly unperformed) or 部分未履行 (partly unperformed)",
    )


class Sex(enum.StrEnum):
    """Sex as the SPC list publishes it."""

    MALE = "男"
    FEMALE = "女"


@dataclass(frozen=True)
class PhotoRef:
    """A normalised photo, addressed by content.

    Attributes:
        sha256: Hex digest of the normalised JPEG bytes.
        length: Their length in bytes.
    """

    sha256: str
    length: int


@dataclass(frozen=True)
class Person:
    """A natural person on the list.

    Attributes:
        name: NFC-normalised name.
        id_masked: The ID number, masked (see ``signage.core.rules.idcard``).
        sex: Optional.
        age: Optional, in whole years as the court published it.
    """

    name: str
    id_masked: str
    sex: Sex | None = None
    age: int | None = None


@dataclass(frozen=True)
class Organisation:
    """A legal person or other organisation on the list.

    Attributes:
        name: NFC-normalised name.
        code: USCC, or the 9-character organisation code ``XXXXXXXX-X``.
        legal_representative: The legal representative's (or person in charge's) name, and nothing else
            about them.
    """

    name: str
    code: str
    legal_representative: str


Debtor = Person | Organisation


@dataclass(frozen=True)
class DisplayWindow:
    """The days a record may be shown (:meth:`DebtorRecord.display_window`).

    Attributes:
        first: The first such day.
        ends: The first day it may no longer be shown, or ``None`` for no end (a listing without a term).
    """

    first: dt.date
    ends: dt.date | None

    def contains(self, on: dt.date) -> bool:
        """Whether ``on`` lies in the window."""
        return self.first <= on and (self.ends is None or on < self.ends)


@dataclass(frozen=True)
class DebtorRecord:
    """One entry of the list: a debtor in one enforcement case.

    Attributes:
        entry_id: Stable id across re-exports (from the file, or derived from case and debtor).
        debtor: The person or organisation.
        court: The executing court.
        case_number: 案号, exactly as the court wrote it.
        amount: The obligation (执行标的) in yuan.
        status: 全部未履行 or 部分未履行.
        listed_on: The publication date (发布时间): when the court listed the debtor. Never the filing date.
        term_ends: The end of the listing term; the entry is displayable before this day only. ``None``
            for ground (1) alone (SPC provisions Art. 1 (1) and Art. 2): no fixed term, the entry stays
            until a deletion ground of Art. 10 applies and the operator takes it down.
        photo: Optional, persons only.
        qr_url: Optional https URL for a QR code, such as the court's official query page.
        court_phone: Optional phone number of the court, for the footer's correction line.
        unpaid: What is still owed (未履行金额) in yuan, when the export gives it; the slide shows it
            in place of the obligation, labelled as such.
        filed_on: The filing date of the enforcement case (立案时间), Art. 6 (5).
        conduct: The specific dishonest conduct (失信被执行人行为具体情形), Art. 6 (4), as the court wrote it.
    """

    entry_id: str
    debtor: Debtor
    court: str
    case_number: str
    amount: Decimal
    status: Status
    listed_on: dt.date
    term_ends: dt.date | None
    photo: PhotoRef | None = None
    qr_url: str | None = None
    court_phone: str | None = None
    unpaid: Decimal | None = None
    filed_on: dt.date | None = None
    conduct: str | None = None

    @property
    def amount_shown(self) -> tuple[str, Decimal]:
        """The label and amount a slide shows: what is still owed when known, else the obligation."""
        if self.unpaid is not None:
            return "未履行金额", self.unpaid
        return "执行标的", self.amount

    @property
    def is_person(self) -> bool:
        """Whether the debtor is a natural person (a person slide) rather than an organisation."""
        return isinstance(self.debtor, Person)

    def is_displayable(self, on: dt.date) -> bool:
        """Whether this record may be shown on ``on``, judged from the record alone.

        The screen calls this too (issue 2 asks that masking and minors are checked again there), so it
        repeats the checks that do not need the full ID: the mask shape, the visible birth year, the term.
        It also re-checks every text the slide draws (issue 10): names, court, case number, organisation
        code and court phone, so a control character, a bidi override or markup never reaches a screen
        whatever made the record; and it refuses a term end no real listing has. All of it is
        :meth:`display_window`, the one rule the painter's compact index stores.
        """
        window = self.display_window()
        return window is not None and window.contains(on)

    def display_window(self) -> DisplayWindow | None:
        """The days on which this record may be shown, or ``None`` when it may never be shown.

        The checks that do not depend on the date (mask shape, age, every text, the amounts, a term end no
        real listing has) decide ``None``; the date decides the rest: from the listing date, or from the
        first day the visible birth year no longer allows a minor if that is later, up to the day before
        the term ends. The compact index (signage/sync/index.py) stores exactly this, so the screen's
        decision over compact columns is this rule and not a copy of it.
        """
        # No status check: Status has only the two displayable members, so an ended one cannot be here.
        try:
            if self.term_ends is not None and self.term_ends > add_years(
                self.listed_on, MAX_TERM_YEARS_ON_SCREEN
            ):
                return None
            if not self._fields_displayable():
                return None
            first = self.listed_on
            if isinstance(self.debtor, Person):
                if not is_lawful_mask(self.debtor.id_masked):
                    return None
                if self.debtor.age is not None and self.debtor.age < ADULT_AGE:
                    return None
                year = visible_birth_year(self.debtor.id_masked)
                if year is not None:
                    # could_be_minor(31 December of that year, on) is false from this day on.
                    first = max(first, add_years(dt.date(year, 12, 31), ADULT_AGE))
        except (ValueError, OverflowError):
            return None  # a date past year 9999: no real listing, never shown
        return DisplayWindow(first, self.term_ends)

    def _fields_displayable(self) -> bool:
        """Every text the slide draws passes the rule the import applied to it (unchanged by it)."""
        debtor = self.debtor
        checks: list[tuple[str, Callable[[str], str]]] = [
            (self.court, clean_court_name),
            (self.case_number, _visible),
        ]
        if isinstance(debtor, Person):
            checks.append((debtor.name, clean_person_name))
            if debtor.age is not None and not ADULT_AGE <= debtor.age <= _MAX_AGE:
                return False
        else:
            checks += [
                (debtor.name, clean_org_name),
                (debtor.legal_representative, clean_person_name),
                (debtor.code, normalise_org_code),
            ]
        if self.conduct is not None:
            checks.append((self.conduct, clean_conduct))
        for text, rule in checks:
            try:
                if rule(text) != text:
                    return False
            except RuleViolation:
                return False
        if self.court_phone is not None and not is_court_phone(self.court_phone):
            return False
        if self.unpaid is not None and not (self.unpaid.is_finite() and 0 < self.unpaid <= self.amount):
            return False
        return self.amount.is_finite() and self.amount > 0


_MAX_AGE = 120


def _visible(text: str) -> str:
    # Characters only: no control, format (bidi, zero-width), private-use or unassigned code point.
    return clean_text(text, field_zh="文字", field_en="text", length=(1, 200))


@dataclass(frozen=True)
class Notice:
    """An operator's message shown between debtor slides.

    Attributes:
        notice_id: Stable id.
        title: Short heading.
        body: The message.
        starts: First moment it may be shown, or ``None`` for always.
        ends: Moment from which it is no longer shown, or ``None`` for never.
    """

    notice_id: str
    title: str
    body: str
    starts: dt.datetime | None = None
    ends: dt.datetime | None = None

    def is_displayable(self, at: dt.datetime) -> bool:
        """Whether the notice is inside its window at ``at``."""
        return (self.starts is None or self.starts <= at) and (self.ends is None or at < self.ends)
