"""``signage render``: every slide of a list as PNG files plus a contact sheet, for operators to look at.

It renders exactly what a screen would (the same renderer, fonts and layouts), off screen, from either the
published playlist in a repository or a court export that has not been published yet.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from PyQt6.QtCore import QSize
from PyQt6.QtGui import QGuiApplication, QImage

from signage.kiosk.fonts import find_fonts, log_coverage, texts_of
from signage.kiosk.layout import LayoutKind
from signage.kiosk.slides import SlideRenderer, render_contact_sheet, screen_mark
from signage.records import DebtorRecord, Notice, PhotoRef

#: The contact sheet shows the first slides only: a 35,000-entry list would make an unopenable image.
CONTACT_SHEET_SLIDES = 60


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
) -> list[Path]:
    """Write one PNG per slide page into ``out`` and ``contact-sheet.png``; returns the files written."""
    app = ensure_gui()  # keep a reference: a collected QGuiApplication takes the fonts with it
    frame = QSize(*size)
    fonts = find_fonts()
    log_coverage(fonts, texts_of(records, notices))
    renderer = SlideRenderer(fonts, mark=screen_mark(*mark), sample=sample, photos=photos, layout=layout)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    thumbnails: list[QImage] = []
    items: list[DebtorRecord | Notice | None] = [*records, *notices, None]
    for done, item in enumerate(items, start=1):
        if isinstance(item, DebtorRecord):
            name, rendered = f"{done:05d}-{item.entry_id}", renderer.render_record(item, frame, data_date)
        elif isinstance(item, Notice):
            name, rendered = f"notice-{item.notice_id}", renderer.render_notice(item, frame)
        else:
            name, rendered = "standby", renderer.render_standby(frame)
        for number, page in enumerate(rendered.pages, start=1):
            path = out / f"{name}{f'-p{number}' if len(rendered.pages) > 1 else ''}.png"
            page.image.save(str(path), "PNG")
            written.append(path)
        if len(thumbnails) < CONTACT_SHEET_SLIDES:
            thumbnails.append(rendered.pages[0].image)
        if progress is not None:
            progress(done, len(items))
    sheet = render_contact_sheet(thumbnails, columns=6, cell_width=min(frame.width(), 480))
    sheet_path = out / "contact-sheet.png"
    sheet.save(str(sheet_path), "PNG")
    written.append(sheet_path)
    del app
    return written
