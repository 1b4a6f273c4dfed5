"""What a new list changes against the live one: added, removed and changed debtors (pure).

Entries are matched by identity (``signage.core.identity``: canonical case number and the mask-independent
identifier), the identity the takedown ledger uses. So a case number re-spelled with brackets of the other
width, or an ID number masked another way, is the same entry: "unchanged" when nothing shown differs,
"changed" (naming the case-number field) when the spelling on the slide differs, never "removed" plus "added".
Every item carries the debtor's name and case number for display; entry ids are for programs only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from signage.core.identity import identity_of
from signage.core.records import DebtorRecord, Organisation, Person


@dataclass(frozen=True)
class FieldChange:
    """One field that differs between the live and the new record.

    Attributes:
        field: The field's key, for programs (``amount``, ``case_number``…).
        zh: Its label as the court export names it.
        en: Its English label.
        before: The live value as a slide would show it (``""`` when absent).
        after: The new value, the same way.
    """

    field: str
    zh: str
    en: str
    before: str
    after: str


@dataclass(frozen=True)
class DiffItem:
    """One entry of a diff, by name and case number.

    Attributes:
        entry_id: The entry id (of the new record when there is one), for programs, never for display.
        name: The debtor's name.
        case_number: The case number as the list (the new one when there is one) spells it.
        changes: The fields that differ; empty for added and removed entries.
    """

    entry_id: str
    name: str
    case_number: str
    changes: tuple[FieldChange, ...] = ()


@dataclass(frozen=True)
class ListDiff:
    """The new list against the live one.

    Attributes:
        added: Entries only in the new list, in its order.
        removed: Entries only in the live list, in its order.
        changed: Entries in both whose shown fields differ, in the new list's order.
        unchanged: How many entries are in both and identical.
    """

    added: tuple[DiffItem, ...]
    removed: tuple[DiffItem, ...]
    changed: tuple[DiffItem, ...]
    unchanged: int

    @property
    def is_empty(self) -> bool:
        """Whether publishing the new list would change nothing about the entries."""
        return not (self.added or self.removed or self.changed)

    def counts(self) -> dict[str, int]:
        """``added``, ``removed``, ``changed`` and ``unchanged`` counts."""
        return {
            "added": len(self.added),
            "removed": len(self.removed),
            "changed": len(self.changed),
            "unchanged": self.unchanged,
        }


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    return str(value)


def _identifier(record: DebtorRecord) -> str:
    return record.debtor.id_masked if isinstance(record.debtor, Person) else record.debtor.code


def _person(attribute: str) -> Callable[[DebtorRecord], object]:
    return lambda record: getattr(record.debtor, attribute) if isinstance(record.debtor, Person) else None


def _legal_representative(record: DebtorRecord) -> object:
    return record.debtor.legal_representative if isinstance(record.debtor, Organisation) else None


#: The fields a slide shows, in the order the export lists them, with the export's labels.
FIELDS: tuple[tuple[str, str, str, Callable[[DebtorRecord], object]], ...] = (
    ("name", "姓名/名称", "name", lambda record: record.debtor.name),
    ("identifier", "证件号码/组织机构代码", "ID number or organisation code", _identifier),
    ("sex", "性别", "sex", _person("sex")),
    ("age", "年龄", "age", _person("age")),
    ("legal_representative", "法定代表人或者负责人姓名", "legal representative", _legal_representative),
    ("court", "执行法院", "executing court", lambda record: record.court),
    ("case_number", "执行案号", "case number", lambda record: record.case_number),
    ("amount", "执行标的", "amount of the obligation", lambda record: record.amount),
    ("unpaid", "未履行金额", "amount unpaid", lambda record: record.unpaid),
    ("status", "被执行人的履行情况", "fulfilment status", lambda record: record.status),
    ("conduct", "失信被执行人行为具体情形", "dishonest conduct", lambda record: record.conduct),
    ("filed_on", "立案时间", "filing date", lambda record: record.filed_on),
    ("listed_on", "发布时间", "publication date", lambda record: record.listed_on),
    ("term_ends", "期限截止日期", "end of the listing term", lambda record: record.term_ends),
    ("photo", "照片", "photo", lambda record: None if record.photo is None else record.photo.sha256[:12]),
    ("qr_url", "二维码链接", "QR link", lambda record: record.qr_url),
    ("court_phone", "法院电话", "court phone", lambda record: record.court_phone),
)


def field_changes(live: DebtorRecord, new: DebtorRecord) -> tuple[FieldChange, ...]:
    """The shown fields in which ``new`` differs from ``live``, in :data:`FIELDS` order."""
    changes = []
    for key, zh, en, value in FIELDS:
        before, after = value(live), value(new)
        if before != after:
            changes.append(FieldChange(key, zh, en, _text(before), _text(after)))
    return tuple(changes)


def diff_lists(live: Sequence[DebtorRecord], new: Sequence[DebtorRecord]) -> ListDiff:
    """Compare ``new`` with the ``live`` list, entry by identity (see the module docstring)."""
    live_by_identity = {identity_of(record.case_number, record.debtor): record for record in live}
    new_identities = set()
    added: list[DiffItem] = []
    changed: list[DiffItem] = []
    unchanged = 0
    for record in new:
        identity = identity_of(record.case_number, record.debtor)
        new_identities.add(identity)
        before = live_by_identity.get(identity)
        if before is None:
            added.append(_item(record))
            continue
        changes = field_changes(before, record)
        if changes:
            changed.append(_item(record, changes))
        else:
            unchanged += 1
    removed = [
        _item(record) for identity, record in live_by_identity.items() if identity not in new_identities
    ]
    return ListDiff(tuple(added), tuple(removed), tuple(changed), unchanged)


def _item(record: DebtorRecord, changes: tuple[FieldChange, ...] = ()) -> DiffItem:
    return DiffItem(record.entry_id, record.debtor.name, record.case_number, changes)
