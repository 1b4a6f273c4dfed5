"""Multi-entry pages (issue 13) rendered off screen at every layout and checked box by box.

Every box lies inside the frame and inside its region, no two boxes overlap, entry text never goes below the
legibility floor of :mod:`signage.core.pages`, Chinese comes from a CJK font with no missing glyph, and a QR code
is either on every card (where it scans at that size) or once on the page.

Set ``SIGNAGE_SCREENSHOTS=docs/screenshots`` to (re)write ``pages-*.png`` with :func:`test_write_screenshots`.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest
from PyQt6.QtCore import QSize

from signage.core import pages
from signage.kiosk import qr
from signage.kiosk.fonts import Fit
from signage.kiosk.layout import LayoutKind
from signage.kiosk.page_slides import PageRenderer, legibility_floor, page_link, plan_page, qr_side_needed
from signage.kiosk.slides import ItemKind, RenderedSlide, render_contact_sheet

from .conftest import MARK, TODAY

#: (name, size, entries): the pictures of the docs, and the densest page signage/core/pages.py allows.
PAGES = [
    ("grid12", (1920, 1080), 12),
    ("grid6", (1920, 1080), 6),
    ("grid-4x3", (1024, 768), 12),
    ("list", (1080, 1920), 8),
    ("list-dense", (1080, 1920), pages.page_capacity("portrait", 1080, 1920)),
    ("ticker", (1920, 360), 4),
    ("led", (384, 192), 4),
]
#: Labels of entry text (everything a passer-by reads about a debtor).
ENTRY_FIELDS = ("name", "amount", "id", "code", "court", "case", "status")


@pytest.fixture(scope="module")
def page_renderer(fonts, sample):
    return PageRenderer(fonts, mark=MARK, sample=True, photos=sample.sink.load)


def entries(sample, count):
    records = [sample.records[key] for key in sorted(sample.records)]
    return (records * (count // len(records) + 1))[:count]


def render(page_renderer, sample, size, count) -> RenderedSlide:
    return page_renderer.render_page(entries(sample, count), QSize(*size), TODAY)


@pytest.mark.parametrize(("name", "size", "count"), PAGES, ids=[name for name, _, _ in PAGES])
def test_page_boxes_stay_in_frame_apart_and_above_the_floor(qapp, page_renderer, sample, name, size, count):
    slide = render(page_renderer, sample, size, count)
    frame = slide.layout.frame
    kind = slide.layout.kind
    floor = pages.LEGIBILITY[kind.value].floor_px(*size)
    assert legibility_floor(kind, *size) == floor
    assert not slide.missing_glyphs
    for page in slide.pages:
        assert page.image.width() == size[0] and page.image.height() == size[1]
        for item in page.items:
            assert frame.contains(item.rect), (item.label, item.rect)
            if item.kind is ItemKind.TEXT:
                assert item.region.adjusted(-1, -1, 1, 1).contains(item.rect), item.label
            if item.label.split(".")[-1] in ENTRY_FIELDS and item.kind in (ItemKind.TEXT, ItemKind.BADGE):
                assert item.pixel_size >= floor, (item.label, item.pixel_size, floor)
        for first, second in itertools.combinations(page.items, 2):
            overlap = first.rect.intersected(second.rect)
            assert overlap.width() < 1 or overlap.height() < 1, (first.label, second.label)
    names = [item for page in slide.pages for item in page.items if item.label.endswith("name")]
    assert names and all(any("CJK" in family for family in item.families) for item in names)


@pytest.mark.parametrize(("name", "size", "count"), PAGES[:5], ids=[name for name, _, _ in PAGES[:5]])
def test_every_entry_is_on_the_page(qapp, page_renderer, sample, name, size, count):
    slide = render(page_renderer, sample, size, count)
    shown = {item.text for item in slide.items if item.label.endswith(".case")}
    for record in entries(sample, count):
        # The case number identifies the entry; a very long one may be elided, never dropped.
        assert any(text.rstrip("…") and record.case_number.startswith(text.rstrip("…")) for text in shown)


def test_the_ticker_moves_one_entry_a_frame_and_wraps(qapp, page_renderer, sample):
    slide = render(page_renderer, sample, (1920, 360), 4)
    assert len(slide.pages) == 4
    firsts = [sorted(i.label for i in page.items if i.label.endswith(".name"))[0] for page in slide.pages]
    assert firsts == ["e0.name", "e1.name", "e2.name", "e3.name"]  # the last frame shows e3, then e0 again
    assert slide.pages[3].item("e3.name") is not None


def test_qr_on_every_card_only_where_it_scans_else_one_page_code(qapp, page_renderer, sample):
    modules = qr.qr_matrix("https://zxgk.court.gov.cn/shixin/").size
    dense = plan_page(LayoutKind.LANDSCAPE, 1920, 1080, [True] * 12, qr_modules=modules)
    assert dense.page_qr and not dense.card_qr
    sparse = plan_page(LayoutKind.LANDSCAPE, 1920, 1080, [True] * 4, qr_modules=modules)
    assert sparse.card_qr and not sparse.page_qr
    for region in (r for label, r in sparse.layout.regions.items() if label.endswith(".qr")):
        square = qr.plan(qr.qr_matrix("https://zxgk.court.gov.cn/shixin/"), region)
        assert square is not None and square.width() >= qr_side_needed(modules)
    slide = render(page_renderer, sample, (1920, 1080), 12)
    codes = [item for item in slide.items if item.kind is ItemKind.QR]
    assert [item.label for item in codes] == ["qr"]
    assert codes[0].rect.width() >= qr_side_needed(modules)
    nolink = plan_page(LayoutKind.LANDSCAPE, 1920, 1080, [True] * 12, qr_modules=None)
    assert not nolink.page_qr and "qr" not in nolink.layout.regions


def test_page_link_is_the_link_most_entries_share(sample):
    records = entries(sample, 6)
    assert page_link(records) == "https://zxgk.court.gov.cn/shixin/"


def test_a_page_needs_two_entries(qapp, page_renderer, sample):
    with pytest.raises(ValueError):
        render(page_renderer, sample, (1920, 1080), 1)


def test_elided_text_is_reported_not_hidden(qapp, page_renderer, sample):
    slide = render(page_renderer, sample, (1920, 1080), 12)
    elided = {label for label, fit in slide.compromises if fit is Fit.ELIDED}
    drawn = {item.label for item in slide.items if item.text.endswith("…")}
    assert drawn <= elided


SCREENSHOTS = {
    "pages-grid12-1920x1080": ((1920, 1080), 12),
    "pages-grid6-1920x1080": ((1920, 1080), 6),
    "pages-list-1080x1920": ((1080, 1920), 8),
    "pages-list-dense-1080x1920": ((1080, 1920), pages.page_capacity("portrait", 1080, 1920)),
    "pages-ticker-1920x360": ((1920, 360), 4),
    "pages-led-384x192": ((384, 192), 6),
}


@pytest.mark.skipif(
    not os.environ.get("SIGNAGE_SCREENSHOTS"), reason="set SIGNAGE_SCREENSHOTS=docs/screenshots"
)
def test_write_screenshots(qapp, page_renderer, sample):
    target = Path(os.environ["SIGNAGE_SCREENSHOTS"])
    target.mkdir(parents=True, exist_ok=True)
    for name, (size, count) in SCREENSHOTS.items():
        slide = render(page_renderer, sample, size, count)
        # Ticker frames one above the other, LED pages side by side: as the screen shows them in turn.
        columns = 1 if size[0] >= 1000 else 4
        image = (
            slide.image
            if len(slide.pages) == 1
            else render_contact_sheet([page.image for page in slide.pages], columns, gap=8)
        )
        path = target / f"{name}.png"
        assert image.save(str(path), "PNG")
        assert path.stat().st_size < 1_500_000
