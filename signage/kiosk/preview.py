"""``signage render``: every slide of a list as PNG files plus a contact sheet, for operators to look at.

It renders exactly what a screen would (the same renderer, fonts and layouts), off screen, from either the
published playlist in a repository or a court export that has not been published yet.

Files are named for the clerk who opens them, never by internal id (:func:`preview_stem`): the row's 序号 and
the debtor's name (``0007-张三.png``), or the case number and name when there is no 序号 (a published
playlist does not carry it). The contact sheet labels each slide the same way.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from PyQt6.QtCore import QSize
from PyQt6.QtGui import QGuiApplication, QImage

from signage.core.records import DebtorRecord, Notice, PhotoRef
from signage.kiosk.fonts import find_fonts, log_coverage, texts_of
from signage.kiosk.layout import LayoutKind
from signage.kiosk.slides import SlideRenderer, render_contact_sheet, screen_mark

#: The contact sheet shows the first slides only: a 35,000-entry list would make an unopenable image.
CONTACT_SHEET_SLIDES = 60
#: A 序号 of digits only is padded to this many, so files sort in the export's order.
SERIAL_DIGITS = 4
#: File names stay well under the 255 bytes most file systems allow, with room for ``-p12``, ``-2`` and ``.png``.
MAX_STEM_BYTES = 160

# Characters no file name may hold on Windows, macOS or Linux, and white space (awkward in a shell).
_UNSAFE = re.compile(r'[<>:"/\\|?*\s]+')


def preview_stem(record: DebtorRecord, serial: str | None) -> str:
    """The file name (without ``.png``) of a debtor's preview: ``0007-张三``, or ``（2025）鲁0102执1234号-张三``.

    The row's 序号 when there is one (digits padded to :data:`SERIAL_DIGITS`), otherwise the case number, then
    the name; characters file systems refuse, control characters and white space become ``_``; at most
    :data:`MAX_STEM_BYTES` bytes of UTF-8. Never the entry id.
    """
    lead = (serial or "").strip()
    if lead.isascii() and lead.isdigit():
        lead = lead.zfill(SERIAL_DIGITS)
    text = unicodedata.normalize("NFC", f"{lead or record.case_number}-{record.debtor.name}")
    text = "".join("_" if unicodedata.category(char).startswith("C") else char for char in text)
    text = _UNSAFE.sub("_", text).strip("._-")
    while len(text.encode("utf-8")) > MAX_STEM_BYTES:
        text = text[:-1]
    # Windows drops a trailing dot or space; a leading dot hides the file, a leading dash reads as an option.
    return text.rstrip("._") or "entry"


def _unique(stem: str, taken: set[str]) -> str:
    """``stem``, or ``stem-2``, ``stem-3``… the first that no earlier file has (ignoring case, as Windows does)."""
    candidate, number = stem, 1
    while candidate.casefold() in taken:
        number += 1
        candidate = f"{stem}-{number}"
    taken.add(candidate.casefold())
    return candidate


def ensure_gui() -> QGuiApplication:
    """A QGuiApplication, on the offscreen platform when there is no display (servers, CI)."""
    existing = QGuiApplication.instance()
    if isinstance(existing, QGuiApplication):
        return existing
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    return QGuiApplication(["signage-render"])


def render_all(
    records: Sequence[DebtorRecord],
    notices: Sequence[Notice],
    *,
    size: tuple[int, int],
    out: Path,
    photos: Callable[[PhotoRef], bytes | None],
    data_date: dt.date,
    sample: bool,
    mark: tuple[str, int | None],
    layout: LayoutKind | None = None,
    progress: Callable[[int, int], None] | None = None,
    serials: Mapping[str, str] | None = None,
) -> list[Path]:
    """Write one PNG per slide page into ``out`` and ``contact-sheet.png``; returns the files written.

    ``serials`` maps entry ids to the 序号 of their rows (``ImportReport.serials``) for the file names.
    """
    app = ensure_gui()  # keep a reference: a collected QGuiApplication takes the fonts with it
    frame = QSize(*size)
    fonts = find_fonts()
    log_coverage(fonts, texts_of(records, notices))
    renderer = SlideRenderer(fonts, mark=screen_mark(*mark), sample=sample, photos=photos, layout=layout)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    thumbnails: list[QImage] = []
    labels: list[str] = []
    taken = {"contact-sheet"}
    items: list[DebtorRecord | Notice | None] = [*records, *notices, None]
    for done, item in enumerate(items, start=1):
        if isinstance(item, DebtorRecord):
            stem = preview_stem(item, (serials or {}).get(item.entry_id))
            rendered = renderer.render_record(item, frame, data_date)
        elif isinstance(item, Notice):
            stem, rendered = f"notice-{item.notice_id}", renderer.render_notice(item, frame)
        else:
            stem, rendered = "standby", renderer.render_standby(frame)
        name = _unique(stem, taken)
        for number, page in enumerate(rendered.pages, start=1):
            path = out / f"{name}{f'-p{number}' if len(rendered.pages) > 1 else ''}.png"
            page.image.save(str(path), "PNG")
            written.append(path)
        if len(thumbnails) < CONTACT_SHEET_SLIDES:
            thumbnails.append(rendered.pages[0].image)
            labels.append(name)
        if progress is not None:
            progress(done, len(items))
    sheet = render_contact_sheet(
        thumbnails, columns=6, cell_width=min(frame.width(), 480), labels=labels, fonts=fonts
    )
    sheet_path = out / "contact-sheet.png"
    sheet.save(str(sheet_path), "PNG")
    written.append(sheet_path)
    del app
    return written
