"""Multi-entry pages (issue 13): several debtors on one slide, drawn with the player's own QPainter renderer.

A PAGE slide carries two or more records (a page of one stays a person or organisation slide). Each layout
shows them its own way:

* ``LANDSCAPE`` and ``FOUR_THREE``: a grid of cards, each with photo (people), name, masked ID number (or
  the organisation's code), the amount still owed, court and case number, and the status badge where the
  card has room for it.
* ``PORTRAIT``: a list, one row per entry (photo, name and status; amount and ID; court and case).
* ``BAR``: a horizontal ticker. The strip of all entries is rendered once (:attr:`PageRender.strip`); each
  page is a frame of it, one entry further on, cut from the strip with a plain image copy (no text is laid
  out again), so the player moves the ticker along by showing the pages in turn.
* ``LED``: text lines, the name on one, amount and case number on the next, paged like every LED slide.

**The legibility floor.** No entry text is set below :func:`legibility_floor` pixels; a page that cannot hold
its entries at that size is a planning error (the planner gives at most ``page_capacity`` entries). What does
not fit at the floor is elided and listed in ``RenderedSlide.compromises``, never drawn smaller.

**QR codes.** A card carries its own code only where one is still scannable at the card's size: modules of
at least :data:`signage.kiosk.qr.MIN_MODULE_PX` (4) whole pixels and a side of at least
:data:`signage.kiosk.qr.MIN_SIDE_PX` (120) pixels, quiet zone included (``qr.plan``), while the card's text
column keeps :data:`MIN_TEXT_COLUMN_EM` glyphs of the floor size. At 4 px a module is about 2.5 mm on a
55-inch 1080p panel, which a phone camera resolves from 1 to 2 m (the usual rule: scan distance about ten
times the code's side). Otherwise the page carries one code, to the link its entries share (the official
query page; the display set has already dropped links to hosts the channel does not allow). A page whose
entries have no link has no code.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace

from PyQt6.QtCore import QPointF, QRectF, QSize
from PyQt6.QtGui import QPainter

from signage.core import pages
from signage.core.records import DebtorRecord, Person, Status
from signage.core.rules.amount import display_amount
from signage.kiosk import qr
from signage.kiosk.fonts import LINE_FACTOR, Align, Fit, Style
from signage.kiosk.layout import (
    LayoutKind,
    SlideKind,
    SlideLayout,
    TypeScale,
    choose_layout,
    compute_layout,
    led_scale,
)
from signage.kiosk.slides import (
    CORRECTION,
    TITLE,
    Drawn,
    LedPalette,
    Palette,
    RenderedPage,
    RenderedSlide,
    SlideRenderer,
    _logged,
    _Page,
    _Para,
)

# --- the legibility floor and the grid: signage/core/pages.py decides, this module draws --------------------------

#: A card's text column is at least this many floor-size glyphs wide, or the card gives up its own QR code.
MIN_TEXT_COLUMN_EM = 12
#: How many entries of the bar's ticker are in view at once.
BAR_IN_VIEW = 2
PAGE_QR_CAPTION = "扫码查询"


def legibility_floor(kind: LayoutKind, width: int, height: int) -> int:
    """The smallest entry text, in pixels, on a ``width`` × ``height`` screen (:data:`signage.core.pages.LEGIBILITY`)."""
    return pages.LEGIBILITY[kind.value].floor_px(width, height)


def grid_shape(kind: LayoutKind, width: int, height: int, count: int) -> tuple[int, int]:
    """(columns, rows) for ``count`` entries (:func:`signage.core.pages.grid_shape`)."""
    return pages.grid_shape(kind.value, width, height, count)


# --- geometry -------------------------------------------------------------------------------------------

_Regions = dict[str, QRectF]


@dataclass(frozen=True)
class PagePlan:
    """Where everything of one page goes (slide pixels).

    Attributes:
        layout: The regions (every text, photo and QR box; they never overlap) and the type sizes.
        cards: The painted card frames, one per entry (the bar: the entries' segments on the strip).
        card_qr: Each card carries its own QR code.
        page_qr: The page carries one QR code (region ``qr``).
        omitted: Fields left out for lack of room (``status`` when a card cannot hold the badge).
    """

    layout: SlideLayout
    cards: tuple[QRectF, ...]
    card_qr: bool
    page_qr: bool
    omitted: tuple[str, ...] = ()


def qr_side_needed(modules: int) -> int:
    """The smallest square (quiet zone included) in which a code of ``modules`` modules still scans."""
    return max(qr.MIN_SIDE_PX, (modules + 2 * qr.QUIET_MODULES) * qr.MIN_MODULE_PX)


def plan_page(
    kind: LayoutKind,
    width: int,
    height: int,
    people: Sequence[bool],
    *,
    qr_modules: int | None,
) -> PagePlan:
    """The page of ``len(people)`` entries (``people[i]``: entry ``i`` is a person, with a photo).

    Args:
        kind: The layout (not LED: an LED page is text lines, flowed by the renderer).
        width: Pixels.
        height: Pixels.
        people: One flag per entry.
        qr_modules: Modules per side of the entries' QR codes (the longest link), or ``None`` without links.
    """
    floor = legibility_floor(kind, width, height)
    w, h = float(width), float(height)
    if kind is LayoutKind.BAR:
        return _plan_bar(w, h, people, floor, qr_modules)
    u = (w if kind is LayoutKind.PORTRAIT else h) / 100
    # Margins, bands and gaps are signage/core/pages.py's (page_frame), so its capacity is what fits here.
    frame = pages.page_frame(kind.value, width, height, qr_side=None)
    margin, gap = frame.margin, frame.gap
    title = round(4 * h / 100 if kind is not LayoutKind.PORTRAIT else 4.4 * u)
    regions: _Regions = {}
    bands: _Regions = {}
    header_height = frame.header
    bands["header"] = QRectF(0, 0, w, header_height)
    inset = header_height * 0.14
    # The badge is at most 0.45 of the band high (its region less padding); "示例 / SAMPLE" is about 8 em.
    sample_width = 4 * header_height
    regions["header.title"] = QRectF(margin, inset, w - 3 * margin - sample_width, header_height - 2 * inset)
    regions["header.sample"] = QRectF(
        w - margin - sample_width, inset, sample_width, header_height - 2 * inset
    )
    # The footer: date, correction line and screen mark; the page QR at its right end when the page has one.
    line = floor * LINE_FACTOR
    columns, rows = grid_shape(kind, width, height, len(people))
    content_top = header_height + gap
    content = QRectF(margin, content_top, w - 2 * margin, 0)
    card_qr = page_qr = False
    card_qr_side = 0.0
    if qr_modules is not None:
        needed = qr_side_needed(qr_modules)
        card_qr_side = needed + 2  # whole pixels inside the region (qr.plan rounds its edges inwards)
        card_qr = _cards_hold_qr(
            kind, w, h, margin, gap, content_top, line, columns, rows, people, needed, floor
        )
        page_qr = not card_qr
    footer_height = frame.footer
    omitted: set[str] = set()
    if page_qr and qr_modules is not None:
        tall = pages.page_frame(kind.value, width, height, qr_side=qr_side_needed(qr_modules)).footer
        # The page's code must not push the entries below the floor: without room for it (a link longer
        # than signage/core/pages.py plans for), it is left out and listed, as on a single slide too small for
        # a scannable code.
        cell = (h - tall - gap - content_top - gap * (rows - 1)) / rows
        if kind is not LayoutKind.PORTRAIT and cell < pages.CARD_LINES * line + 2 * _padding_floor(floor):
            page_qr = False
            omitted.add("qr")
        else:
            footer_height = tall
    bands["footer"] = QRectF(0, h - footer_height, w, footer_height)
    footer = QRectF(margin, h - footer_height + gap / 2, w - 2 * margin, footer_height - gap)
    if page_qr and qr_modules is not None:
        side = footer.height()
        regions["qr"] = QRectF(footer.right() - side, footer.top(), side, side)
        caption_width = floor * 6
        regions["qr.caption"] = QRectF(
            footer.right() - side - gap - caption_width, footer.top(), caption_width, side
        )
        footer = QRectF(footer.left(), footer.top(), footer.width() - side - 2 * gap - caption_width, side)
    _footer_lines(regions, footer, gap, line)
    content.setBottom(h - footer_height - gap)
    if kind is LayoutKind.PORTRAIT and content.height() / rows < 5 * line:
        gap = 2  # a dense list: rows close up so that two lines at the floor fit in each
    cards = _cells(content, columns, rows, gap, len(people))
    base = _base_size(cards[0], floor, rows_of_text=kind is LayoutKind.PORTRAIT)
    scale = _scale(floor, base, title=title, mark=round(1.6 * u))
    for index, (card, person) in enumerate(zip(cards, people, strict=True)):
        builder = _row if kind is LayoutKind.PORTRAIT else _card
        if not builder(regions, f"e{index}.", card, person, card_qr_side if card_qr else 0.0, floor, base):
            omitted.add("status")
    layout = SlideLayout(kind, SlideKind.PAGE, width, height, regions, bands, scale)
    return PagePlan(layout, tuple(cards), card_qr, page_qr, tuple(sorted(omitted)))


def _base_size(card: QRectF, floor: int, *, rows_of_text: bool) -> int:
    """The entries' value size on cards of this size: larger cards (fewer entries) get larger text."""
    inner = card.height() - 2 * _padding(card, floor)
    # A card stacks about 9.5 lines' worth at the value size; a list row four lines (the name 1.5 of them).
    lines = 4.5 * 1.25 if rows_of_text else 9.5
    return max(floor, int(inner / lines))


def _scale(floor: int, base: int, *, title: int, mark: int) -> TypeScale:
    return TypeScale(
        title=max(title, floor),
        name=(round(base * 1.7), floor),
        amount=(round(base * 1.35), floor),
        value=(round(base * 1.1), floor),
        caption=floor,
        badge=round(base * 1.1),
        footer=floor,
        mark=max(12, mark),
        floor=floor,
    )


def _cells(content: QRectF, columns: int, rows: int, gap: float, count: int) -> list[QRectF]:
    cell_width = (content.width() - gap * (columns - 1)) / columns
    cell_height = (content.height() - gap * (rows - 1)) / rows
    return [
        QRectF(
            content.left() + (index % columns) * (cell_width + gap),
            content.top() + (index // columns) * (cell_height + gap),
            cell_width,
            cell_height,
        )
        for index in range(count)
    ]


def _footer_lines(regions: _Regions, rect: QRectF, gap: float, line: float) -> None:
    """Date and screen mark on one line, the correction line on the other (or all three side by side)."""
    if rect.width() >= 1400:
        top = rect.top() + (rect.height() - line) / 2
        row = QRectF(rect.left(), top, rect.width(), line)
        shares = (0.24, 0.56, 0.2)
        left = row.left()
        usable = row.width() - 2 * gap
        for label, share in zip(("footer.date", "footer.correction", "footer.mark"), shares, strict=True):
            regions[label] = QRectF(left, row.top(), usable * share, line)
            left += usable * share + gap
        return
    top = rect.top() + max(0.0, (rect.height() - 2 * line) / 2)
    regions["footer.correction"] = QRectF(rect.left(), top, rect.width(), line)
    half = (rect.width() - gap) / 2
    regions["footer.date"] = QRectF(rect.left(), top + line, half, line)
    regions["footer.mark"] = QRectF(rect.left() + half + gap, top + line, half, line)


def _padding(card: QRectF, floor: int) -> float:
    return round(max(6.0, min(card.width(), card.height()) * 0.03, floor * 0.25))


def _padding_floor(floor: int) -> float:
    """The least a card's padding and gaps take per side at the densest (within pages.CARD_PAD_EMS)."""
    return max(6.0, floor * 0.25) + 1.5 * max(2, round(floor * 0.08))


def _text_rows(regions: _Regions, prefix: str, column: QRectF, person: bool, base: int, gap: float) -> bool:
    """Name (taking what is left), amount, status and ID or code, top down in ``column``; status if room."""
    line = base * LINE_FACTOR
    fixed = [("amount", line), ("status", round(base * 1.7)), ("id", line)]
    status = column.height() - sum(height for _, height in fixed) - gap * 3 >= line * 2
    if not status:
        fixed = [row for row in fixed if row[0] != "status"]
    top = column.top()
    name_height = column.height() - sum(height for _, height in fixed) - gap * len(fixed)
    regions[f"{prefix}name"] = QRectF(column.left(), top, column.width(), name_height)
    top += name_height + gap
    for label, height in fixed:
        name = label if label != "id" or person else "code"
        regions[f"{prefix}{name}"] = QRectF(column.left(), top, column.width(), height)
        top += height + gap
    return status


def _card(
    regions: _Regions, prefix: str, card: QRectF, person: bool, qr_side: float, floor: int, base: int
) -> bool:
    """A grid card: photo and the text column (and QR) on top, court and case number full width below.

    Larger cards get larger text; a card without room for six lines at its size is the densest card
    (:func:`_dense_card`: four lines at the floor size).
    """
    pad = _padding(card, floor)
    inner = card.adjusted(pad, pad, -pad, -pad)
    gap = round(base * 0.3)
    if 6 * base * LINE_FACTOR + 5 * gap > inner.height():
        return _dense_card(regions, prefix, inner, person, floor)
    line = base * LINE_FACTOR
    bottom_height = 2 * line + gap
    top_height = inner.height() - bottom_height - gap
    left, right = inner.left(), inner.right()
    if person:
        photo_width = min(top_height * 0.75, inner.width() * 0.3)
        regions[f"{prefix}photo"] = QRectF(left, inner.top(), photo_width, top_height)
        left += photo_width + max(gap, floor * 0.4)
    if qr_side:
        regions[f"{prefix}qr"] = QRectF(right - qr_side, inner.top(), qr_side, qr_side)
        right -= qr_side + gap
    column = QRectF(left, inner.top(), right - left, top_height)
    status = _text_rows(regions, prefix, column, person, base, gap)
    below = inner.top() + top_height + gap
    regions[f"{prefix}court"] = QRectF(inner.left(), below, inner.width(), line)
    regions[f"{prefix}case"] = QRectF(inner.left(), below + line + gap, inner.width(), line)
    return status


def _dense_card(regions: _Regions, prefix: str, inner: QRectF, person: bool, floor: int) -> bool:
    """The densest card: four lines at the floor size (signage/core/pages.py's CARD_LINES), no status badge.

    Name and amount on the first line (beside a person's photo), the masked ID or the organisation's code
    whole on the second; court and case number have the card's whole width, which holds a court name of
    pages.COURT_EMS characters.
    """
    gap = max(2, round(floor * 0.08))
    line = (inner.height() - (pages.CARD_LINES - 1) * gap) / pages.CARD_LINES
    left = inner.left()
    if person:
        photo_width = (2 * line + gap) * 0.75
        regions[f"{prefix}photo"] = QRectF(left, inner.top(), photo_width, 2 * line + gap)
        left += photo_width + floor * 0.4
    top = inner.top()
    column = inner.right() - left
    # Name and amount share the first line; the amount (with its caption) never elides, so it gets the
    # larger share beside a person's short name, and a little more than half beside an organisation's.
    name_width = (column - gap) * (0.35 if person else 0.45)
    regions[f"{prefix}name"] = QRectF(left, top, name_width, line)
    regions[f"{prefix}amount"] = QRectF(left + name_width + gap, top, column - name_width - gap, line)
    regions[f"{prefix}{'id' if person else 'code'}"] = QRectF(left, top + line + gap, column, line)
    top += 2 * (line + gap)
    for label in ("court", "case"):
        regions[f"{prefix}{label}"] = QRectF(inner.left(), top, inner.width(), line)
        top += line + gap
    return False


def _row(
    regions: _Regions, prefix: str, card: QRectF, person: bool, qr_side: float, floor: int, base: int
) -> bool:
    """A list row: photo, then four lines (name and status; amount and ID; court; case), QR at the end."""
    dense = card.height() < 5 * floor * LINE_FACTOR
    pad = 3 if dense else _padding(card, floor)
    inner = card.adjusted(pad, pad, -pad, -pad)
    gap = round(base * 0.5)
    left, right = inner.left(), inner.right()
    if person:
        photo_width = inner.height() * 0.75
        regions[f"{prefix}photo"] = QRectF(left, inner.top(), photo_width, inner.height())
        left += photo_width + gap * 1.5
    if qr_side:
        regions[f"{prefix}qr"] = QRectF(right - qr_side, inner.top(), qr_side, qr_side)
        right -= qr_side + gap
    column = QRectF(left, inner.top(), right - left, inner.height())
    identity = "id" if person else "code"
    shares: tuple[float, ...]
    cells: tuple[tuple[tuple[str, float], ...], ...]
    if dense:
        # The densest list: two lines at the floor size (name, amount; ID, court, case), no badge.
        shares = (1.0, 1.0)
        cells = (
            (("name", 0.55), ("amount", 0.45)),
            ((identity, 0.3), ("court", 0.42), ("case", 0.28)),
        )
    else:
        shares = (1.5, 1.0, 1.0, 1.0)
        cells = (
            (("name", 0.64), ("status", 0.36)),
            (("amount", 0.5), (identity, 0.5)),
            (("court", 1.0),),
            (("case", 1.0),),
        )
    row_gap = 0 if dense else round(base * 0.1)
    usable = column.height() - (len(shares) - 1) * row_gap
    top = column.top()
    for share, row in zip(shares, cells, strict=True):
        height = usable * share / sum(shares)
        x = column.left()
        for label, part in row:
            cell_width = (column.width() - gap * (len(row) - 1)) * part
            regions[f"{prefix}{label}"] = QRectF(x, top, cell_width, height)
            x += cell_width + gap
        top += height + row_gap
    return not dense


def _cards_hold_qr(
    kind: LayoutKind,
    w: float,
    h: float,
    margin: float,
    gap: float,
    content_top: float,
    line: float,
    columns: int,
    rows: int,
    people: Sequence[bool],
    side: float,
    floor: int,
) -> bool:
    """Whether every card can carry a code of ``side`` pixels and keep its text column and rows."""
    footer_height = pages.page_frame(kind.value, round(w), round(h), qr_side=None).footer
    content = QRectF(margin, content_top, w - 2 * margin, h - footer_height - gap - content_top)
    card = _cells(content, columns, rows, gap, 1)[0]
    pad = _padding(card, floor)
    inner = card.adjusted(pad, pad, -pad, -pad)
    if kind is LayoutKind.PORTRAIT:
        room_height = inner.height()
        photo = inner.height() * 0.75 if any(people) else 0.0
    else:
        base = _base_size(card, floor, rows_of_text=False)
        if 6 * base * LINE_FACTOR + 5 * round(base * 0.3) > inner.height():
            return False  # the densest card (four lines at the floor) has no room for a code
        room_height = inner.height() - 2 * line - 2 * round(floor * 0.3)
        photo = min(room_height * 0.75, inner.width() * 0.3) if any(people) else 0.0
    column = inner.width() - photo - side - 3 * round(floor * 0.5)
    return room_height >= side and column >= MIN_TEXT_COLUMN_EM * floor


def _plan_bar(w: float, h: float, people: Sequence[bool], floor: int, qr_modules: int | None) -> PagePlan:
    """The bar: footer strip below; above it the ticker band, the page QR at its right end."""
    u = h / 100
    margin = round(5 * u)
    scale = _scale(floor, floor, title=round(9 * u), mark=round(4.2 * u))
    regions: _Regions = {}
    footer_top = round(h - max(13 * u, floor * LINE_FACTOR + 2 * u))
    bands: _Regions = {"footer": QRectF(0, footer_top, w, h - footer_top)}
    line = floor * LINE_FACTOR
    strip = QRectF(margin, footer_top + (h - footer_top - line) / 2, w - 2 * margin, line)
    usable = strip.width() - 3 * margin
    left = strip.left()
    for label, share in (
        ("footer.date", 0.2),
        ("footer.correction", 0.42),
        ("header.sample", 0.16),
        ("footer.mark", 0.22),
    ):
        regions[label] = QRectF(left, strip.top(), usable * share, line)
        left += usable * share + margin
    band = QRectF(margin, margin, w - 2 * margin, footer_top - 2 * margin)
    right = band.right()
    page_qr = qr_modules is not None and band.height() >= qr_side_needed(qr_modules)
    if page_qr:
        side = band.height()
        regions["qr"] = QRectF(right - side, band.top(), side, side)
        right -= side + margin
    regions["ticker"] = QRectF(band.left(), band.top(), right - band.left(), band.height())
    segment = regions["ticker"].width() / BAR_IN_VIEW
    cards = [QRectF(index * segment, 0, segment, band.height()) for index in range(len(people))]
    scale = _scale(
        floor, _base_size(cards[0], floor, rows_of_text=True), title=round(9 * u), mark=round(4.2 * u)
    )
    layout = SlideLayout(LayoutKind.BAR, SlideKind.PAGE, round(w), round(h), regions, bands, scale)
    return PagePlan(layout, tuple(cards), False, page_qr)


# --- rendering ------------------------------------------------------------------------------------------


def page_link(records: Sequence[DebtorRecord]) -> str | None:
    """The one link a page's QR code leads to: the link most of its entries carry (the official query page)."""
    links = Counter(record.qr_url for record in records if record.qr_url)
    return links.most_common(1)[0][0] if links else None


class PageRenderer(SlideRenderer):
    """A :class:`SlideRenderer` that also draws multi-entry pages."""

    def render_page(self, records: Sequence[DebtorRecord], size: QSize, data_date: dt.date) -> RenderedSlide:
        """Two or more entries on one slide, as a grid, a list, a ticker or text lines (by the layout)."""
        if len(records) < 2:
            raise ValueError("a page shows two or more entries; one is a person or organisation slide")
        kind = self._forced or choose_layout(size.width(), size.height())
        if kind is LayoutKind.LED:
            return self._led_page(records, size, data_date)
        link = page_link(records)
        matrices = {record.qr_url: qr.qr_matrix(record.qr_url) for record in records if record.qr_url}
        modules = max((matrix.size for matrix in matrices.values()), default=None)
        plan = plan_page(
            kind,
            size.width(),
            size.height(),
            [isinstance(record.debtor, Person) for record in records],
            qr_modules=modules,
        )
        if kind is LayoutKind.BAR:
            return self._bar_page(records, plan, data_date, link)
        page = _Page(self._fonts, plan.layout)
        self._chrome(page, TITLE)
        for index, (record, card) in enumerate(zip(records, plan.cards, strict=True)):
            self._card_ground(page.painter, card, plan.layout.scale.floor)
            self._entry(page, f"e{index}.", record)
            if plan.card_qr and record.qr_url:
                self._qr(page, matrices[record.qr_url], f"e{index}.qr")
        if plan.page_qr and link is not None:
            self._qr(page, matrices[link], "qr", PAGE_QR_CAPTION)
        self._page_footer(page, data_date)
        page.omitted.extend(plan.omitted)
        return page.slide(SlideKind.PAGE, frozenset())

    # --- one entry ---------------------------------------------------------------------------------------

    def _entry(self, page: _Page, prefix: str, record: DebtorRecord) -> None:
        regions = page.layout.regions
        scale = page.layout.scale
        floor = scale.floor
        debtor = record.debtor
        if f"{prefix}photo" in regions:
            self._photo(page, record.photo, f"{prefix}photo")
        name = page.text(
            f"{prefix}name",
            debtor.name,
            Style(scale.name[0], floor, floor, bold=True, balance=True, break_after="·", valign_centre=True),
            Palette.NAME,
        )
        owed_label, owed = record.amount_shown
        amount_px = min(scale.amount[0], name.pixel_size) if isinstance(debtor, Person) else scale.amount[0]
        page.text(
            f"{prefix}amount",
            f"{owed_label} {display_amount(owed)}",
            Style(max(amount_px, floor), floor, floor, bold=True, max_lines=1, valign_centre=True),
            Palette.AMOUNT,
            caption_length=len(owed_label),
        )
        # The name stays the largest text of its entry, as on a single slide.
        value = Style(
            min(scale.value[0], max(name.pixel_size, floor)), floor, floor, max_lines=1, valign_centre=True
        )
        if isinstance(debtor, Person):
            page.text(f"{prefix}id", debtor.id_masked, value, Palette.VALUE)
        else:
            page.text(f"{prefix}code", debtor.code, value, Palette.VALUE)
        page.text(f"{prefix}court", record.court, value, Palette.VALUE)
        page.text(f"{prefix}case", record.case_number, value, Palette.VALUE)
        if f"{prefix}status" in regions:
            fill, ink = (
                (Palette.UNFULFILLED, Palette.UNFULFILLED_TEXT)
                if record.status is Status.UNFULFILLED
                else (Palette.PARTIAL, Palette.PARTIAL_TEXT)
            )
            page.badge(f"{prefix}status", record.status.value, scale.badge, fill, ink, align=Align.LEFT)

    @staticmethod
    def _card_ground(painter: QPainter, card: QRectF, floor: int) -> None:
        painter.save()
        painter.setPen(Palette.RULE)
        painter.setBrush(Palette.HEADER)
        radius = floor * 0.4
        painter.drawRoundedRect(card.adjusted(0.5, 0.5, -0.5, -0.5), radius, radius)
        painter.restore()

    def _page_footer(self, page: _Page, data_date: dt.date) -> None:
        scale = page.layout.scale
        style = Style(scale.footer, scale.floor, scale.floor, max_lines=1, valign_centre=True)
        page.text(
            "footer.date",
            f"数据日期 {data_date.isoformat()}",
            style,
            Palette.FOOTER_TEXT,
            caption_length=4,
            caption_colour=Palette.CAPTION,
        )
        # A page names several courts: the line sends objections to each entry's own court, without a phone.
        page.text(
            "footer.correction",
            CORRECTION,
            Style(
                scale.footer, scale.floor, scale.floor, max_lines=1, align=Align.CENTRE, valign_centre=True
            ),
            Palette.FOOTER_TEXT,
        )
        self._mark_only(page)

    # --- bar: the ticker -------------------------------------------------------------------------------

    def _bar_page(
        self, records: Sequence[DebtorRecord], plan: PagePlan, data_date: dt.date, link: str | None
    ) -> RenderedSlide:
        ticker = plan.layout.regions["ticker"]
        strip = self.render_strip(records, plan)
        # The chrome once; every frame is a copy of it with the strip drawn in at the frame's offset.
        chrome = _Page(self._fonts, plan.layout)
        self._chrome(chrome, TITLE)
        if plan.page_qr and link is not None:
            self._qr(chrome, qr.qr_matrix(link), "qr", PAGE_QR_CAPTION)
        self._page_footer(chrome, data_date)
        base = chrome.finish()
        segment = plan.cards[0].width()
        pages: list[RenderedPage] = []
        for offset_index in range(len(records)):
            image = base.image.copy()
            painter = QPainter(image)
            offset = offset_index * segment
            painter.drawImage(
                QPointF(ticker.left(), ticker.top()),
                strip.image,
                QRectF(offset, 0, ticker.width(), ticker.height()),
            )
            # The ticker wraps round: the start of the strip follows its end.
            shown = strip.image.width() - offset
            if shown < ticker.width():
                painter.drawImage(
                    QPointF(ticker.left() + shown, ticker.top()),
                    strip.image,
                    QRectF(0, 0, ticker.width() - shown, ticker.height()),
                )
            painter.end()
            pages.append(RenderedPage(image, (*base.items, *_in_frame(strip, ticker, offset))))
        compromises = tuple((item.label, item.fit) for item in strip.items if item.fit is not Fit.OK)
        return _logged(RenderedSlide(SlideKind.PAGE, plan.layout, tuple(pages), frozenset(), compromises))

    def render_strip(self, records: Sequence[DebtorRecord], plan: PagePlan) -> RenderedPage:
        """The bar's ticker strip: every entry side by side (and a frame's worth again, for the wrap)."""
        ticker = plan.layout.regions["ticker"]
        floor = plan.layout.scale.floor
        regions: _Regions = {}
        for index, (record, segment) in enumerate(zip(records, plan.cards, strict=True)):
            base = plan.layout.scale.value[1]
            _row(regions, f"e{index}.", segment, isinstance(record.debtor, Person), 0.0, floor, base)
        width = round(sum(card.width() for card in plan.cards))
        layout = SlideLayout(
            LayoutKind.BAR,
            SlideKind.PAGE,
            max(width, round(ticker.width())),
            round(ticker.height()),
            regions,
            {},
            plan.layout.scale,
        )
        page = _Page(self._fonts, layout)
        for index, (record, segment) in enumerate(zip(records, plan.cards, strict=True)):
            self._card_ground(page.painter, segment.adjusted(floor * 0.3, 0, -floor * 0.3, 0), floor)
            self._entry(page, f"e{index}.", record)
        return page.finish()

    # --- LED ---------------------------------------------------------------------------------------------

    def _led_page(self, records: Sequence[DebtorRecord], size: QSize, data_date: dt.date) -> RenderedSlide:
        layout = compute_layout(SlideKind.STANDBY, size.width(), size.height(), kind=LayoutKind.LED, qr=False)
        scale = led_scale(size.height())
        body = scale.value[0]
        paragraphs: list[_Para] = []
        for index, record in enumerate(records):
            paragraphs.append(
                _Para(
                    f"e{index}.name", record.debtor.name, body, LedPalette.NAME, bold=True, group=f"e{index}"
                )
            )
            paragraphs.append(
                _Para(
                    f"e{index}.amount",
                    f"{record.amount_shown[0]} {display_amount(record.amount_shown[1])}",
                    body,
                    LedPalette.VALUE,
                    caption=len(record.amount_shown[0]),
                    group=f"e{index}",
                )
            )
        paragraphs.append(
            _Para(
                "footer.date",
                f"数据日期 {data_date.isoformat()}",
                body,
                LedPalette.MARK,
                caption=4,
                group="footer",
            )
        )
        paragraphs.append(_Para("footer.mark", self._mark, body, LedPalette.MARK, group="footer"))
        # Two lines an entry on a text board: court and case number would double the pages.
        return self._led(
            layout,
            "失信被执行人",
            paragraphs,
            name_label="e0.name",
            slide=SlideKind.PAGE,
            omitted=("court", "case"),
        )


def _in_frame(strip: RenderedPage, ticker: QRectF, offset: float) -> tuple[Drawn, ...]:
    """The strip's items wholly in view at ``offset``, moved to slide coordinates (for the tests' checks)."""
    view = QRectF(offset, 0, ticker.width(), ticker.height())
    shift = QPointF(ticker.left() - offset, ticker.top())
    return tuple(
        replace(item, rect=item.rect.translated(shift), region=item.region.translated(shift))
        for item in strip.items
        if view.contains(item.rect)
    )


__all__ = ["PagePlan", "PageRenderer", "grid_shape", "legibility_floor", "page_link", "plan_page"]
