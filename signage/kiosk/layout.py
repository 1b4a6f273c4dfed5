"""Where everything goes on a slide, for each shape of screen: a plain function of size and slide kind.

Layouts adapt to the screen instead of scaling one design (issue: "Layouts"):

* ``LANDSCAPE`` (16:9 and 16:10; 1920×1080, 3840×2160, 1366×768): photo on the left, name and amount large
  on the right (at least 8 % of the screen height: they are read from across a station hall), the other
  fields in a column, the QR code beside them.
* ``PORTRAIT`` (9:16, 1080×1920): the name across the top, photo with status, amount and ID beside it, the
  other fields full width below.
* ``BAR`` (aspect 3:1 or wider; the 1920×540 and 1920×360 bus displays): one band with photo, name, amount
  and ID side by side, details in a second column, the QR at the far end, a thin footer strip.
* ``FOUR_THREE`` (1024×768): like landscape, with the QR code under the photo where the narrower field
  column cannot spare it.
* ``LED`` (height below 300 or width below 480; 384×192, 256×128 text boards): a header line and a text
  body only; no photo, no QR. The renderer flows the fields through the body and pages them (see
  ``slides.py``) instead of shrinking glyphs below 16 px.

Two optional fields change the arrangement of debtor slides where there is room for them:

* ``term`` (the end of a fixed listing term; ground (1) has none) sits beside the publication date
  (``listed``). A bar has no cell for it: the renderer writes it after the date on the same line.
* ``conduct`` (失信被执行人行为具体情形, Art. 6 (4)) gets a block of its own on landscape, 4:3 and portrait
  screens; the others fields close up to make room (side by side where they are short). Bars and LED
  boards have no room for it: the renderer leaves it out and says so.

:func:`compute_layout` returns named regions (``QRectF``, slide pixels) that never overlap and lie inside the
frame, plus the type sizes for that screen. Text is fitted *inside* its region by ``fonts.set_text``, so the
regions are the contract the tests check. Nothing here paints or reads a font.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from PyQt6.QtCore import QRectF

from signage.core.pages import layout_for
from signage.kiosk.fonts import LINE_FACTOR

#: Glyphs of Chinese text on an LED board are never smaller than this (issue: "at least 16 px").
LED_MIN_PX = 16
#: Name and amount on a 16:9 screen are at least this share of the height (issue: "at least 8 %").
LANDSCAPE_NAME_SHARE = 0.08


#: By default every field value of a slide is set at one size.
VALUE_GROUPS = (("id", "code", "legal", "court", "case", "listed", "term"),)
#: The share of the field column's height the conduct (失信行为具体情形) takes, against 1 for a field row.
CONDUCT_SHARE = 1.6


class LayoutKind(enum.StrEnum):
    """Shapes of screen, each with its own arrangement."""

    LANDSCAPE = "landscape"
    PORTRAIT = "portrait"
    BAR = "bar"
    FOUR_THREE = "four-three"
    LED = "led"


class SlideKind(enum.StrEnum):
    """What a slide shows."""

    PERSON = "person"
    ORGANISATION = "organisation"
    NOTICE = "notice"
    STANDBY = "standby"
    #: Several debtors at once (issue 13): laid out by ``page_slides``, not by :func:`compute_layout`.
    PAGE = "page"


@dataclass(frozen=True)
class TypeScale:
    """Glyph sizes in pixels for one screen. Pairs are (largest, target minimum).

    Attributes:
        title: Header title.
        name: The debtor's name: always the largest text of a slide.
        amount: The amount.
        value: Other field values.
        caption: Field captions (执行法院, 案号…).
        badge: Status badge and sample mark.
        footer: Footer lines.
        mark: The discreet screen/version mark.
        floor: Nothing is set smaller than this, whatever it is (legibility).
    """

    title: int
    name: tuple[int, int]
    amount: tuple[int, int]
    value: tuple[int, int]
    caption: int
    badge: int
    footer: int
    mark: int
    floor: int


@dataclass(frozen=True)
class SlideLayout:
    """The regions of one slide kind on one screen.

    Attributes:
        kind: The screen's shape.
        slide: The slide kind.
        width: Slide width in pixels.
        height: Slide height in pixels.
        regions: Content regions by name. They never overlap one another and lie inside the frame;
            ``*.caption`` regions hold the caption of the field of the same name.
        bands: Background bands (``header``, ``footer``) behind some regions; painted, not text.
        scale: Glyph sizes.
        value_groups: Field values set at one common size, group by group (a column reads as one).
    """

    kind: LayoutKind
    slide: SlideKind
    width: int
    height: int
    regions: Mapping[str, QRectF]
    bands: Mapping[str, QRectF]
    scale: TypeScale
    value_groups: tuple[tuple[str, ...], ...] = ()

    @property
    def frame(self) -> QRectF:
        """The whole slide."""
        return QRectF(0, 0, self.width, self.height)

    def region(self, name: str) -> QRectF | None:
        """The region called ``name``, if this layout has one."""
        return self.regions.get(name)


def choose_layout(width: int, height: int, forced: LayoutKind | str | None = None) -> LayoutKind:
    """The layout for a screen of ``width`` × ``height`` pixels, unless the screen's config forces one.

    Raises:
        ValueError: ``forced`` names no layout.
    """
    # The rule itself is pure and lives in signage.core.pages (the page planner needs it without Qt).
    return LayoutKind(layout_for(width, height, None if forced is None else str(forced)))


def compute_layout(
    slide: SlideKind,
    width: int,
    height: int,
    *,
    kind: LayoutKind | None = None,
    qr: bool = True,
    term: bool = False,
    conduct: bool = False,
) -> SlideLayout:
    """Regions and type sizes for ``slide`` on a ``width`` × ``height`` screen.

    Args:
        slide: The slide kind.
        width: Pixels.
        height: Pixels.
        kind: Force a layout (the screen config's ``layout``); chosen from the size when ``None``.
        qr: Whether to make room for a QR code (debtor slides with a link); without one the fields widen.
        term: Whether to make a cell for the end of the listing term beside the publication date.
        conduct: Whether to make room for the dishonest conduct (失信行为具体情形), where the layout can.
    """
    kind = kind or choose_layout(width, height)
    builder = _BUILDERS[kind]
    regions, bands, scale = builder(slide, float(width), float(height), _Wants(qr, term, conduct))
    groups: tuple[tuple[str, ...], ...] = VALUE_GROUPS
    if kind is LayoutKind.PORTRAIT and slide is SlideKind.PERSON:
        # The ID sits in the narrow column beside the photo; the rows below are full width.
        groups = (("id",), ("court", "case", "listed", "term"))
    return SlideLayout(kind, slide, width, height, regions, bands, scale, groups)


# --- builders ---------------------------------------------------------------------------------------------

_Regions = dict[str, QRectF]
_Built = tuple[_Regions, _Regions, TypeScale]


@dataclass(frozen=True)
class _Wants:
    """What a debtor slide has to make room for, besides its fixed fields."""

    qr: bool
    term: bool
    conduct: bool


#: A row of cells: its height share and its cells as (region name, width share).
_Row = tuple[float, tuple[tuple[str, float], ...]]


def _grid(
    regions: _Regions, rect: QRectF, rows: list[_Row], gaps: tuple[float, float], caption_px: int
) -> None:
    """Captioned cells in rows of ``rect``: rows by height share, cells by width share (``gaps``: row, column)."""
    row_gap, column_gap = gaps
    for row_rect, (_, cells) in zip(
        _split_heights(rect, [share for share, _ in rows], row_gap), rows, strict=True
    ):
        names = [name for name, _ in cells]
        columns = _columns(row_rect, [share for _, share in cells], column_gap)
        for name, cell in zip(names, columns, strict=True):
            _cell(regions, name, cell, caption_px)


def _dated(wants: _Wants, lead: str | None = None) -> tuple[tuple[str, float], ...]:
    """The publication date and, for a fixed term, its end beside it; after a ``lead`` cell if given."""
    if lead is None:
        return (("listed", 0.5), ("term", 0.5)) if wants.term else (("listed", 1.0),)
    return ((lead, 0.5), ("listed", 0.25), ("term", 0.25)) if wants.term else ((lead, 0.6), ("listed", 0.4))


def _cell(regions: _Regions, name: str, rect: QRectF, caption_px: int) -> None:
    """A field: its caption on a line of its own, the value below."""
    caption_height = caption_px * LINE_FACTOR
    regions[f"{name}.caption"] = QRectF(rect.left(), rect.top(), rect.width(), caption_height)
    regions[name] = QRectF(
        rect.left(), rect.top() + caption_height, rect.width(), rect.height() - caption_height
    )


def _below_caption(rect: QRectF, caption_px: int) -> QRectF:
    """The part of ``rect`` level with a value whose caption sits on the line above."""
    caption_height = caption_px * LINE_FACTOR
    return QRectF(rect.left(), rect.top() + caption_height, rect.width(), rect.height() - caption_height)


def _rows(rect: QRectF, count: int, gap: float) -> list[QRectF]:
    height = (rect.height() - gap * (count - 1)) / count
    return [QRectF(rect.left(), rect.top() + i * (height + gap), rect.width(), height) for i in range(count)]


def _columns(rect: QRectF, shares: list[float], gap: float) -> list[QRectF]:
    usable = rect.width() - gap * (len(shares) - 1)
    total = sum(shares)
    columns, left = [], rect.left()
    for share in shares:
        width = usable * share / total
        columns.append(QRectF(left, rect.top(), width, rect.height()))
        left += width + gap
    return columns


def _header(
    regions: _Regions, bands: _Regions, width: float, height: float, margin: float, badge: float
) -> None:
    bands["header"] = QRectF(0, 0, width, height)
    sample_width = badge * 8.2
    inset = height * 0.14
    regions["header.title"] = QRectF(
        margin, inset, width - 2 * margin - sample_width - margin, height - 2 * inset
    )
    regions["header.sample"] = QRectF(width - margin - sample_width, inset, sample_width, height - 2 * inset)


def _footer_row(regions: _Regions, rect: QRectF, gap: float, with_debtor_lines: bool) -> None:
    if with_debtor_lines:
        date, correction, mark = _columns(rect, [0.2, 0.6, 0.2], gap)
        regions["footer.date"] = date
        regions["footer.correction"] = correction
        regions["footer.mark"] = mark
    else:
        regions["footer.mark"] = _columns(rect, [0.8, 0.2], gap)[1]


def _wide(slide: SlideKind, w: float, h: float, wants: _Wants, four_three: bool) -> _Built:
    """LANDSCAPE and FOUR_THREE: one unit is 1 % of the height."""
    u = h / 100
    margin = max(0.03 * w, 3 * u)
    floor = max(LED_MIN_PX, round(1.9 * u))
    if four_three:
        scale = TypeScale(
            title=round(4.2 * u),
            name=(round(11 * u), round(6.5 * u)),
            amount=(round(9.5 * u), round(6 * u)),
            value=(round(4.2 * u), round(2.8 * u)),
            caption=max(floor, round(2.5 * u)),
            badge=round(4.4 * u),
            footer=max(floor, round(2.2 * u)),
            mark=max(12, round(1.7 * u)),
            floor=floor,
        )
    else:
        minimum = int(LANDSCAPE_NAME_SHARE * h + 0.999)
        scale = TypeScale(
            title=round(4 * u),
            name=(round(13 * u), minimum),
            amount=(round(11 * u), minimum),
            value=(round(4.5 * u), round(3 * u)),
            caption=max(floor, round(2.6 * u)),
            badge=round(4.6 * u),
            footer=max(floor, round(2.2 * u)),
            mark=max(12, round(1.6 * u)),
            floor=floor,
        )
    regions: _Regions = {}
    bands: _Regions = {}
    _header(regions, bands, w, 9 * u, margin, scale.badge * 0.7)
    bands["footer"] = QRectF(0, 92 * u, w, 8 * u)
    debtor = slide in (SlideKind.PERSON, SlideKind.ORGANISATION)
    _footer_row(regions, QRectF(margin, 93 * u, w - 2 * margin, 6 * u), 2 * u, debtor)
    right = w - margin
    gap = 2.5 * u
    qr = wants.qr
    rows: list[_Row]
    if slide is SlideKind.PERSON:
        photo_width = 30 * u if four_three else 45 * u
        photo_height = 40 * u if four_three else 60 * u
        regions["photo"] = QRectF(margin, 12 * u, photo_width, photo_height)
        status_top = 12 * u + photo_height + 2 * u
        regions["status"] = QRectF(margin, status_top, photo_width, 8 * u)
        left = margin + photo_width + 4 * u
        regions["name"] = QRectF(left, 12 * u, right - left, 22 * u)
        _cell(regions, "amount", QRectF(left, 35 * u, right - left, 17 * u), scale.caption)
        fields_right = right
        if qr and four_three:
            # The field column is narrow on 4:3: the QR code goes under the photo and status.
            qr_top = status_top + 9 * u
            regions["qr"] = QRectF(margin, qr_top, photo_width, 85 * u - qr_top)
            regions["qr.caption"] = QRectF(margin, 85.5 * u, photo_width, 3.5 * u)
        elif qr:
            side = 30 * u
            regions["qr"] = QRectF(right - side, 55 * u, side, side)
            regions["qr.caption"] = QRectF(right - side, 85.5 * u, side, 3.5 * u)
            fields_right = right - side - 3 * u
        fields = QRectF(left, 53.5 * u, fields_right - left, 35.5 * u)
        if wants.conduct:
            # The ID and the dates share a row, so the conduct gets a block of its own.
            rows = [(1, _dated(wants, "id")), (1, (("court", 1),)), (1, (("case", 1),))]
            rows.append((CONDUCT_SHARE, (("conduct", 1),)))
        else:
            rows = [(1, (("id", 1),)), (1, (("court", 1),)), (1, (("case", 1),)), (1, _dated(wants))]
        _grid(regions, fields, rows, (0.4 * u, gap), scale.caption)
    elif slide is SlideKind.ORGANISATION:
        # The conduct's block comes from the name's room: three lines of the longest name still fit.
        name_bottom = 42 * u if wants.conduct else 49 * u
        regions["name"] = QRectF(margin, 12 * u, w - 2 * margin, name_bottom - 12 * u)
        grid_right = right
        if qr:
            side = 27 * u if not four_three else 28 * u
            regions["qr"] = QRectF(right - side, 51 * u, side, side)
            regions["qr.caption"] = QRectF(right - side, 51 * u + side + 0.5 * u, side, 3.5 * u)
            grid_right = right - side - 3 * u
        top_height = 13.5 * u if wants.conduct else 16 * u
        top = QRectF(margin, name_bottom + u, grid_right - margin, top_height)
        rows_top = top.bottom() + u
        below = QRectF(margin, rows_top, grid_right - margin, 89 * u - rows_top)
        if four_three:
            # A narrow grid: the dates move up beside the amount and status, one above the other.
            amount, status, dates = _columns(top, [0.46, 0.24, 0.3], gap)
            stacked: list[_Row] = [(1, (("listed", 1),))]
            if wants.term:
                stacked.append((1, (("term", 1),)))
            _grid(regions, dates, stacked, (0, 0), scale.caption)
            rows = [(1, (("code", 0.55), ("legal", 0.45))), (1, (("court", 0.55), ("case", 0.45)))]
        else:
            amount, status = _columns(top, [0.62, 0.38], gap)
            dated = (("listed", 0.2), ("term", 0.2)) if wants.term else (("listed", 0.3),)
            first = (("code", 0.34), ("legal", 0.26)) if wants.term else (("code", 0.4), ("legal", 0.3))
            rows = [(1, (*first, *dated)), (1, (("court", 0.6), ("case", 0.4)))]
        if wants.conduct:
            rows.append((CONDUCT_SHARE, (("conduct", 1),)))
        _cell(regions, "amount", amount, scale.caption)
        regions["status"] = _below_caption(status, scale.caption)
        _grid(regions, below, rows, (0.4 * u, gap), scale.caption)
    elif slide is SlideKind.NOTICE:
        regions["title"] = QRectF(margin, 13 * u, w - 2 * margin, 17 * u)
        regions["body"] = QRectF(margin, 33 * u, w - 2 * margin, 56 * u)
    else:
        _standby(regions, QRectF(margin, 20 * u, w - 2 * margin, 62 * u), u)
    return regions, bands, scale


def _standby(regions: _Regions, rect: QRectF, u: float) -> None:
    """The neutral slide: headline, where the authoritative list is, and the same in English."""
    headline, message, source, english = _split_heights(rect, [30, 16, 13, 10], 3 * u)
    regions["headline"] = headline
    regions["message"] = message
    regions["source"] = source
    regions["english"] = english


def _split_heights(rect: QRectF, shares: list[float], gap: float) -> list[QRectF]:
    usable = rect.height() - gap * (len(shares) - 1)
    total = sum(shares)
    rows, top = [], rect.top()
    for share in shares:
        height = usable * share / total
        rows.append(QRectF(rect.left(), top, rect.width(), height))
        top += height + gap
    return rows


def _portrait(slide: SlideKind, w: float, h: float, wants: _Wants) -> _Built:
    """PORTRAIT: widths in units of 1 % of the width (u), heights of 1 % of the height (v)."""
    u, v = w / 100, h / 100
    margin = 5 * u
    floor = max(LED_MIN_PX, round(2.2 * u))
    scale = TypeScale(
        title=round(4.4 * u),
        name=(round(12 * u), round(7 * u)),
        amount=(round(9.5 * u), round(6.5 * u)),
        value=(round(6.4 * u), round(3.6 * u)),
        caption=max(floor, round(3 * u)),
        badge=round(5 * u),
        footer=max(floor, round(2.8 * u)),
        mark=max(12, round(2.2 * u)),
        floor=floor,
    )
    regions: _Regions = {}
    bands: _Regions = {}
    _header(regions, bands, w, 5.5 * v, margin, scale.badge * 0.7)
    bands["footer"] = QRectF(0, 92 * v, w, 8 * v)
    debtor = slide in (SlideKind.PERSON, SlideKind.ORGANISATION)
    footer = QRectF(margin, 92.8 * v, w - 2 * margin, 6.6 * v)
    if debtor:
        upper, lower = _rows(footer, 2, 0.4 * v)
        regions["footer.correction"] = upper
        date, mark = _columns(lower, [0.5, 0.5], 3 * u)
        regions["footer.date"] = date
        regions["footer.mark"] = mark
    else:
        regions["footer.mark"] = _columns(footer, [0.6, 0.4], 3 * u)[1]
    inner = w - 2 * margin
    qr_side = 13.5 * v
    qr = wants.qr
    beside_qr = inner - qr_side - 4 * u if qr else inner
    if slide is SlideKind.PERSON:
        regions["name"] = QRectF(margin, 7 * v, inner, 13 * v)
        photo_width = 38 * u
        regions["photo"] = QRectF(margin, 21.5 * v, photo_width, photo_width * 4 / 3)
        left = margin + photo_width + 5 * u
        column = w - margin - left
        regions["status"] = QRectF(left, 21.5 * v, column, 6 * v)
        _cell(regions, "amount", QRectF(left, 28.5 * v, column, 10.5 * v), scale.caption)
        _cell(regions, "id", QRectF(left, 40 * v, column, 8 * v), scale.caption)
        # With a conduct the rows close up; the conduct takes the room beside the QR code.
        fields = QRectF(margin, 51 * v, inner, (19 if wants.conduct else 25.5) * v)
        rows: list[_Row] = [(1, (("court", 1),)), (1, (("case", 1),)), (1, _dated(wants))]
        _grid(regions, fields, rows, (0.5 * v, 4 * u), scale.caption)
        if wants.conduct:
            _cell(
                regions, "conduct", QRectF(margin, 71 * v, beside_qr, (16.5 if qr else 20) * v), scale.caption
            )
        if qr:
            regions["qr"] = QRectF(w - margin - qr_side, 77.5 * v, qr_side, qr_side)
            caption_top = 88 * v if wants.conduct else 77.5 * v
            regions["qr.caption"] = QRectF(margin, caption_top, beside_qr, 91 * v - caption_top)
    elif slide is SlideKind.ORGANISATION:
        regions["name"] = QRectF(margin, 7 * v, inner, 20 * v)
        amount, status = _columns(QRectF(margin, 28 * v, inner, 11 * v), [0.62, 0.38], 4 * u)
        _cell(regions, "amount", amount, scale.caption)
        regions["status"] = _below_caption(status, scale.caption)
        fields = QRectF(margin, 40.5 * v, inner, 36 * v)
        if wants.conduct:
            # The code and the representative share a row, so the conduct gets a block of its own.
            rows = [(1, (("code", 0.55), ("legal", 0.45))), (1, (("court", 1),)), (1, (("case", 1),))]
            rows.append((CONDUCT_SHARE, (("conduct", 1),)))
        else:
            rows = [(1, ((name, 1),)) for name in ("code", "legal", "court", "case")]
        _grid(regions, fields, rows, (0.5 * v, 4 * u), scale.caption)
        _grid(
            regions,
            QRectF(margin, 77.5 * v, beside_qr, 8.5 * v),
            [(1, _dated(wants))],
            (0, 4 * u),
            scale.caption,
        )
        if qr:
            regions["qr"] = QRectF(w - margin - qr_side, 77.5 * v, qr_side, qr_side)
            regions["qr.caption"] = QRectF(margin, 86.5 * v, beside_qr, 4.5 * v)
    elif slide is SlideKind.NOTICE:
        regions["title"] = QRectF(margin, 8 * v, inner, 16 * v)
        regions["body"] = QRectF(margin, 26 * v, inner, 63 * v)
    else:
        _standby(regions, QRectF(margin, 27 * v, inner, 44 * v), v)
    return regions, bands, scale


def _bar(slide: SlideKind, w: float, h: float, wants: _Wants) -> _Built:
    """BAR: one band. One unit is 1 % of the height."""
    u = h / 100
    margin = 5 * u
    floor = max(LED_MIN_PX, round(4.6 * u))
    scale = TypeScale(
        title=round(9 * u),
        name=(round(30 * u), round(15 * u)),
        amount=(round(20 * u), round(12 * u)),
        value=(round(10 * u), round(6.5 * u)),
        caption=max(floor, round(6 * u)),
        badge=round(10 * u),
        footer=max(floor, round(5.2 * u)),
        mark=max(12, round(4.2 * u)),
        floor=floor,
    )
    regions: _Regions = {}
    bands: _Regions = {"footer": QRectF(0, 87 * u, w, 13 * u)}
    strip = QRectF(margin, 88.5 * u, w - 2 * margin, 10 * u)
    debtor = slide in (SlideKind.PERSON, SlideKind.ORGANISATION)
    if debtor:
        date, correction, sample, mark = _columns(strip, [0.16, 0.5, 0.14, 0.2], 3 * u)
        regions["footer.date"] = date
        regions["footer.correction"] = correction
    else:
        _, sample, mark = _columns(strip, [0.66, 0.14, 0.2], 3 * u)
    regions["header.sample"] = sample
    regions["footer.mark"] = mark
    band = QRectF(margin, margin, w - 2 * margin, 87 * u - 2 * margin)
    right = band.right()
    if debtor and wants.qr:
        side = band.height()
        regions["qr"] = QRectF(right - side, band.top(), side, side)
        right -= side + 6 * u
    if slide is SlideKind.PERSON:
        photo_width = band.height() * 0.75
        regions["photo"] = QRectF(band.left(), band.top(), photo_width, band.height())
        left = band.left() + photo_width + 6 * u
        first, second = _columns(QRectF(left, band.top(), right - left, band.height()), [0.55, 0.45], 6 * u)
        name, middle, identity = _split_heights(first, [36, 32, 14], 2 * u)
        regions["name"] = name
        amount, status = _columns(middle, [0.7, 0.3], 3 * u)
        _cell(regions, "amount", amount, scale.caption)
        regions["status"] = _below_caption(status, scale.caption)
        regions["id"] = identity
        for label, rect in zip(("court", "case", "listed"), _rows(second, 3, 3 * u), strict=True):
            regions[label] = rect
    elif slide is SlideKind.ORGANISATION:
        first, second = _columns(
            QRectF(band.left(), band.top(), right - band.left(), band.height()), [0.55, 0.45], 6 * u
        )
        name, middle = _split_heights(first, [56, 32], 2 * u)
        regions["name"] = name
        amount, status = _columns(middle, [0.7, 0.3], 3 * u)
        _cell(regions, "amount", amount, scale.caption)
        regions["status"] = _below_caption(status, scale.caption)
        for label, rect in zip(
            ("code", "legal", "court", "case", "listed"), _rows(second, 5, 1.5 * u), strict=True
        ):
            regions[label] = rect
    elif slide is SlideKind.NOTICE:
        title, body = _columns(band, [0.3, 0.7], 6 * u)
        regions["title"] = title
        regions["body"] = body
    else:
        headline, rest = _columns(band, [0.36, 0.64], 6 * u)
        regions["headline"] = headline
        message, source, english = _split_heights(rest, [36, 28, 24], 3 * u)
        regions["message"] = message
        regions["source"] = source
        regions["english"] = english
    return regions, bands, scale


def led_scale(height: float) -> TypeScale:
    """LED glyph sizes: never below :data:`LED_MIN_PX`; the name a step larger where the board allows."""
    body = max(LED_MIN_PX, int(height // 8))
    name = max(body, round(height * 0.15))
    header = max(LED_MIN_PX, round(height * 0.1))
    return TypeScale(
        title=header,
        name=(name, body),
        amount=(body, body),
        value=(body, body),
        caption=body,
        badge=header,
        footer=body,
        mark=body,
        floor=LED_MIN_PX,
    )


def _led(slide: SlideKind, w: float, h: float, wants: _Wants) -> _Built:
    """LED: a header line (title, sample mark, page number) and one body the renderer pages through."""
    del slide, wants  # every LED slide is a header and a paged body; no QR on a text board
    scale = led_scale(h)
    margin = max(2.0, round(w * 0.012))
    header_height = round(scale.title * 1.3)
    regions: _Regions = {}
    bands: _Regions = {"header": QRectF(0, 0, w, header_height)}
    inner = QRectF(margin, 0, w - 2 * margin, header_height)
    page_width = scale.title * 2.6
    sample_width = scale.title * 2 + 8
    regions["header.title"] = QRectF(
        inner.left(), 0, inner.width() - page_width - sample_width - 8, header_height
    )
    regions["header.sample"] = QRectF(
        inner.right() - page_width - sample_width - 2, 0, sample_width, header_height
    )
    regions["header.page"] = QRectF(inner.right() - page_width, 0, page_width, header_height)
    regions["body"] = QRectF(margin, header_height + 2, w - 2 * margin, h - header_height - 2 - margin)
    return regions, bands, scale


_BUILDERS = {
    LayoutKind.LANDSCAPE: lambda slide, w, h, wants: _wide(slide, w, h, wants, four_three=False),
    LayoutKind.FOUR_THREE: lambda slide, w, h, wants: _wide(slide, w, h, wants, four_three=True),
    LayoutKind.PORTRAIT: _portrait,
    LayoutKind.BAR: _bar,
    LayoutKind.LED: _led,
}
