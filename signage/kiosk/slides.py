"""Slides rendered off screen into QImages: debtor (person, organisation), notice and standby.

The window only paints finished images (issue: "Slides"), so everything a viewer reads is decided here, from
a record, a screen size and the data date. :class:`SlideRenderer` returns a :class:`RenderedSlide`: the
image(s) plus every box it drew (label, rectangle, glyph size, the font families of the glyphs, how the
text was fitted). Tests check those boxes: inside the frame, no overlaps, the CJK font really used.

Design decisions:

* **Pages (LED mode).** A text board cannot shrink glyphs below 16 px, so a slide there may have several
  pages: ``RenderedSlide.pages`` holds them all, each a full image, and ``RenderedSlide.image`` is the first.
  The player shows them in turn, dividing the slide's time between them (at least :data:`LED_PAGE_SECONDS`
  each). The debtor's name heads every page when it fits in half the body, so no page is anonymous. Every
  other layout has exactly one page.
* **Fitting.** Text shrinks to fit down to a target size, then wraps, then may go below the target down to a
  legibility floor; only then is it elided, and every such compromise is listed in
  ``RenderedSlide.compromises``. Nothing is clipped silently.
* **The name is the largest text.** The amount is never set larger than the name came out.
* **Never unmask, never reformat.** The masked ID number, case number and court are drawn exactly as
  received; the amount goes through :func:`signage.core.rules.amount.display_amount`.
* **The amount still owed.** The amount field shows ``record.amount_shown``: 未履行金额 when the export gives
  it, 执行标的 otherwise, always under its own label (on LED boards too). The status badge shows the SPC
  list's words (全部未履行, 部分未履行).
* **Dates.** 发布日期 is the publication date (发布时间), never the filing date. A fixed listing term shows
  its end beside it (期限至); ground (1) has no fixed term, so nothing is shown for it rather than a date
  or a promise such as "until paid" that the list does not make.
* **The conduct** (失信行为具体情形, up to 300 characters) gets its own block on landscape, 4:3 and portrait
  screens, at most :data:`CONDUCT_CHARS` characters of it, cut further where the block cannot hold that at
  its target size; a cut text ends in … and is listed in ``compromises`` as ``Fit.SHORTENED``. Bars and LED
  boards have no room for it: it is left out there and listed as ``Fit.OMITTED``.
* **QR codes** are drawn only when the record has a link (the display set has already dropped links to hosts
  the channel does not allow) and the layout can hold a scannable code; otherwise the fields take the room.
* **Photos** come from the injected loader (the screen cache, by SHA-256); a missing or undecodable photo gives
  a neutral silhouette, never a broken slide.

Thread use: a renderer may run on a worker thread (``bridge.RenderQueue``); it makes its own QImage, QPainter
and QFonts there and returns QImages, which may cross threads. It holds no Qt object between calls.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from PyQt6.QtCore import QPointF, QRectF, QSize, Qt
from PyQt6.QtGui import QColor, QFontMetricsF, QImage, QPainter, QPainterPath, QPen

from signage.core.records import DebtorRecord, Notice, Organisation, Person, PhotoRef, Status
from signage.core.rules.amount import display_amount
from signage.kiosk import qr
from signage.kiosk.fonts import Align, Fit, Fonts, SetText, Style, place_lines, set_text, wrap_lines
from signage.kiosk.layout import LayoutKind, SlideKind, SlideLayout, compute_layout

log = logging.getLogger(__name__)

PhotoLoader = Callable[[PhotoRef], bytes | None]

LEGAL_REPRESENTATIVE = "法定代表人或负责人"
#: Captions that lead their value on one line (bar displays) are shortened to these.
SHORT_CAPTIONS = {
    "身份证号码": "身份证号",
    "统一社会信用代码": "信用代码",
    "组织机构代码": "机构代码",
    LEGAL_REPRESENTATIVE: "法定代表人",
}
#: An inline caption (执行法院 before the court on a bar display) is this much smaller than its value.
INLINE_CAPTION_SCALE = 0.72
#: Shortest time an LED page stays up, so a passer-by can read two short lines.
LED_PAGE_SECONDS = 4.0
#: The most of the dishonest conduct a layout shows: what a passer-by reads in the time a slide is up.
CONDUCT_CHARS = {LayoutKind.LANDSCAPE: 90, LayoutKind.FOUR_THREE: 60, LayoutKind.PORTRAIT: 120}
#: A cut conduct ends at one of these when one is near the end of what fits (a clause, not a half word).
_CLAUSE_ENDS = "，。；、：,.;:！？)）】"

TITLE = "失信被执行人名单"
CORRECTION = "如有异议请向执行法院申请纠正"
LISTED = "发布日期"
TERM = "期限至"
CONDUCT = "失信行为具体情形"
SAMPLE_MARK = "示例 / SAMPLE"
SAMPLE_MARK_SHORT = "示例"
AUTHORITY = "中国执行信息公开网"
AUTHORITY_HOST = "zxgk.court.gov.cn"


class Palette:
    """Colours: a dark ground and high-contrast text.

    Contrast on the ground (WCAG 2): name 18.6:1, amount 13.2:1, values 15.6:1, captions 7.5:1, footer 12.2:1
    (all AAA); badge text at least 5:1; the screen mark 4.6:1, discreet on purpose.
    """

    GROUND = QColor("#0b1320")
    HEADER = QColor("#14233b")
    ACCENT = QColor("#c62828")
    FOOTER = QColor("#070d16")
    RULE = QColor("#23344d")
    TITLE = QColor("#f4f6f9")
    NAME = QColor("#ffffff")
    AMOUNT = QColor("#ffd54f")
    VALUE = QColor("#e6ecf2")
    CAPTION = QColor("#93a7be")
    FOOTER_TEXT = QColor("#c3cedb")
    MARK = QColor("#6a7c92")
    UNFULFILLED = QColor("#d32f2f")
    UNFULFILLED_TEXT = QColor("#ffffff")
    PARTIAL = QColor("#ffb300")
    PARTIAL_TEXT = QColor("#1a1300")
    SAMPLE = QColor("#8e24aa")
    SAMPLE_TEXT = QColor("#ffffff")
    PHOTO_FRAME = QColor("#2e4260")
    SILHOUETTE_GROUND = QColor("#1a2940")
    SILHOUETTE = QColor("#3b5072")
    QR_CAPTION = QColor("#b8c6d6")


class LedPalette:
    """A text board: black ground, saturated red, yellow, green and white."""

    GROUND = QColor("#000000")
    TITLE = QColor("#ff3b30")
    NAME = QColor("#ffe600")
    VALUE = QColor("#ffffff")
    CAPTION = QColor("#39ff6a")
    UNFULFILLED = QColor("#ff3b30")
    PARTIAL = QColor("#ffb300")
    SAMPLE = QColor("#39ff6a")
    SAMPLE_TEXT = QColor("#000000")
    MARK = QColor("#9a9a9a")


class ItemKind(enum.StrEnum):
    """What a drawn box holds."""

    TEXT = "text"
    BADGE = "badge"
    PHOTO = "photo"
    QR = "qr"


@dataclass(frozen=True)
class Drawn:
    """One thing drawn on a page.

    Attributes:
        label: What it is: ``name``, ``amount``, ``court.caption``, ``photo``, ``qr``, ``footer.date``…
        kind: Text, badge (text on a filled shape), photo (or its placeholder) or QR code.
        rect: Where it was drawn: for text the union of its line boxes and its ink.
        region: The layout region it had to stay in.
        text: The text drawn (after elision), for text and badges; ``placeholder`` for a photo when the
            neutral silhouette stands in for a missing or undecodable one.
        pixel_size: Glyph size, for text and badges.
        families: Font families the glyphs came from (QTextLayout glyph runs).
        fit: How the text was made to fit.
        missing_glyphs: Glyphs no installed font has, drawn as boxes (logged at ERROR; should be 0).
    """

    label: str
    kind: ItemKind
    rect: QRectF
    region: QRectF
    text: str = ""
    pixel_size: int = 0
    families: frozenset[str] = frozenset()
    fit: Fit = Fit.OK
    missing_glyphs: int = 0


@dataclass(frozen=True)
class RenderedPage:
    """One finished image and what is on it."""

    image: QImage
    items: tuple[Drawn, ...]

    def boxes(self) -> list[tuple[str, QRectF]]:
        """(label, rectangle) of everything drawn."""
        return [(item.label, item.rect) for item in self.items]

    def item(self, label: str) -> Drawn | None:
        """The first item called ``label``."""
        return next((item for item in self.items if item.label == label), None)


@dataclass(frozen=True)
class RenderedSlide:
    """A rendered slide.

    Attributes:
        slide: The slide kind.
        layout: The layout it was rendered with.
        pages: One page, or several on an LED board (shown in turn).
        name_families: Font families the name's glyphs came from (empty on a standby slide).
        compromises: Labels whose text went below its target size or had to be elided, with how.
    """

    slide: SlideKind
    layout: SlideLayout
    pages: tuple[RenderedPage, ...]
    name_families: frozenset[str] = frozenset()
    compromises: tuple[tuple[str, Fit], ...] = ()

    @property
    def image(self) -> QImage:
        """The first (usually only) page."""
        return self.pages[0].image

    @property
    def items(self) -> tuple[Drawn, ...]:
        """Everything drawn on the first page."""
        return self.pages[0].items

    @property
    def missing_glyphs(self) -> tuple[str, ...]:
        """Labels of text drawn with glyphs no font has (boxes); empty when every character was covered."""
        return tuple(item.label for page in self.pages for item in page.items if item.missing_glyphs)

    @property
    def name_family(self) -> str | None:
        """The one family the name is set in, or ``None`` if it came from several (or there is none)."""
        return next(iter(self.name_families)) if len(self.name_families) == 1 else None


def screen_mark(screen_id: str, playlist_version: int | None) -> str:
    """The discreet mark in a footer corner: ``jinan-01 · v12`` (which screen, which list)."""
    return f"{screen_id} · v{playlist_version}" if playlist_version is not None else f"{screen_id} · v–"


class SlideRenderer:
    """Renders slides for one screen.

    Args:
        fonts: The CJK font chain (``fonts.find_fonts()``).
        mark: The screen/version mark (:func:`screen_mark`).
        sample: Mark every slide 示例 / SAMPLE (the playlist is fictional sample data).
        photos: Returns a photo's bytes from the screen cache by its reference, or ``None``.
        layout: Force a layout kind (from the screen config); chosen from the size when ``None``.
    """

    def __init__(
        self,
        fonts: Fonts,
        *,
        mark: str,
        sample: bool,
        photos: PhotoLoader,
        layout: LayoutKind | None = None,
    ) -> None:
        self._fonts = fonts
        self._mark = mark
        self._sample = sample
        self._photos = photos
        self._forced = layout

    # --- public ----------------------------------------------------------------------------------------

    def render_record(self, record: DebtorRecord, size: QSize, data_date: dt.date) -> RenderedSlide:
        """A person's or an organisation's slide, whichever the record is."""
        if isinstance(record.debtor, Person):
            return self.render_person(record, size, data_date)
        return self.render_organisation(record, size, data_date)

    def render_person(self, record: DebtorRecord, size: QSize, data_date: dt.date) -> RenderedSlide:
        """Photo, name, masked ID, amount, status, court, case, listing date, QR if allowed; footer."""
        if not isinstance(record.debtor, Person):
            raise TypeError("render_person needs a record whose debtor is a Person")
        return self._debtor(record, SlideKind.PERSON, size, data_date)

    def render_organisation(self, record: DebtorRecord, size: QSize, data_date: dt.date) -> RenderedSlide:
        """Name, USCC, legal representative and the same fields as a person; no photo."""
        if not isinstance(record.debtor, Organisation):
            raise TypeError("render_organisation needs a record whose debtor is an Organisation")
        return self._debtor(record, SlideKind.ORGANISATION, size, data_date)

    def render_notice(self, notice: Notice, size: QSize) -> RenderedSlide:
        """An operator's message: title and body."""
        layout = compute_layout(SlideKind.NOTICE, size.width(), size.height(), kind=self._forced, qr=False)
        if layout.kind is LayoutKind.LED:
            paragraphs = [_Para("title", notice.title, layout.scale.name[0], LedPalette.NAME, bold=True)]
            paragraphs += [
                _Para("body", line, layout.scale.value[0], LedPalette.VALUE)
                for line in notice.body.split("\n")
                if line.strip()
            ]
            return self._led(layout, "公告", paragraphs, name_label="title")
        scale = layout.scale
        page = _Page(self._fonts, layout)
        self._chrome(page, "公告 / NOTICE")
        title = page.text(
            "title",
            notice.title,
            Style(
                scale.name[0],
                scale.value[0],
                scale.floor,
                bold=True,
                balance=True,
                align=Align.CENTRE,
                valign_centre=True,
            ),
            Palette.NAME,
        )
        # The body reads as body text: clearly smaller than the title, lines of even length.
        body_max = min(round(scale.value[0] * 1.6), round(title.pixel_size * 0.72))
        body = Style(
            body_max,
            min(scale.value[1], body_max),
            scale.floor,
            balance=True,
            valign_centre=layout.kind is LayoutKind.BAR,
        )
        page.text("body", notice.body, body, Palette.VALUE)
        self._mark_only(page)
        return page.slide(SlideKind.NOTICE, title.families)

    def render_standby(self, size: QSize) -> RenderedSlide:
        """The neutral slide: the list is being updated; 中国执行信息公开网 is the authoritative source."""
        layout = compute_layout(SlideKind.STANDBY, size.width(), size.height(), kind=self._forced, qr=False)
        headline = "名单正在更新"
        message = f"请以{AUTHORITY}公布的信息为准"
        english = f"The list is being updated. The authoritative source is {AUTHORITY_HOST}"
        if layout.kind is LayoutKind.LED:
            paragraphs = [
                _Para("headline", headline, layout.scale.name[0], LedPalette.NAME, bold=True),
                _Para("message", message, layout.scale.value[0], LedPalette.VALUE),
                _Para("source", AUTHORITY_HOST, layout.scale.value[0], LedPalette.CAPTION),
            ]
            return self._led(layout, TITLE, paragraphs, name_label=None)
        scale = layout.scale
        page = _Page(self._fonts, layout)
        self._chrome(page, TITLE)
        centre = Style(scale.name[0], scale.name[1], scale.floor, align=Align.CENTRE, valign_centre=True)
        top = page.text("headline", headline, replace(centre, bold=True), Palette.NAME)
        lines = [
            ("message", message, round(scale.value[0] * 1.3), scale.value[1], Palette.VALUE),
            ("source", AUTHORITY_HOST, round(scale.value[0] * 1.1), scale.value[1], Palette.AMOUNT),
            ("english", english, max(scale.caption, scale.floor), scale.floor, Palette.CAPTION),
        ]
        for label, text, largest, smallest, colour in lines:
            style = replace(centre, max_px=min(top.pixel_size, largest), min_px=smallest, balance=True)
            page.text(label, text, style, colour)
        self._mark_only(page)
        return page.slide(SlideKind.STANDBY, frozenset())

    # --- debtor slides ---------------------------------------------------------------------------------

    def _debtor(
        self, record: DebtorRecord, slide: SlideKind, size: QSize, data_date: dt.date
    ) -> RenderedSlide:
        matrix = qr.qr_matrix(record.qr_url) if record.qr_url else None

        def layout_for(with_qr: bool) -> SlideLayout:
            return compute_layout(
                slide,
                size.width(),
                size.height(),
                kind=self._forced,
                qr=with_qr,
                term=record.term_ends is not None,
                conduct=record.conduct is not None,
            )

        layout = layout_for(matrix is not None)
        if layout.kind is LayoutKind.LED:
            return self._led_debtor(record, layout, data_date)
        region = layout.region("qr")
        if matrix is not None and (region is None or not qr.fits(matrix, region)):
            # Too small to scan from a few metres: leave the code out and give its room to the fields.
            matrix = None
            layout = layout_for(False)
        scale = layout.scale
        debtor = record.debtor
        page = _Page(self._fonts, layout)
        self._chrome(page, TITLE)
        name = page.text(
            "name",
            debtor.name,
            Style(
                scale.name[0],
                scale.name[1],
                scale.floor,
                bold=True,
                balance=True,
                break_after="·",
                valign_centre=True,
            ),
            Palette.NAME,
        )
        # A person's name is the largest text of the slide (issue: "name (the largest text)"). An organisation's
        # long name may wrap small; its amount then keeps its own target size.
        amount_max = min(scale.amount[0], name.pixel_size)
        if isinstance(debtor, Organisation):
            amount_max = max(amount_max, scale.amount[1])
        amount = Style(amount_max, min(scale.amount[1], amount_max), scale.floor, bold=True, max_lines=1)
        owed_label, owed = record.amount_shown
        self._fields(page, [("amount", owed_label, display_amount(owed))], amount, Palette.AMOUNT)
        fields: list[tuple[str, str, str]] = []
        if isinstance(debtor, Person):
            self._photo(page, record.photo)
            fields.append(("id", "身份证号码", debtor.id_masked))
        else:
            caption = "统一社会信用代码" if len(debtor.code) == 18 else "组织机构代码"
            fields.append(("code", caption, debtor.code))
            fields.append(("legal", LEGAL_REPRESENTATIVE, debtor.legal_representative))
        self._status(page, record.status, name.pixel_size)
        listed = record.listed_on.isoformat()
        if record.term_ends is not None and "term" not in layout.regions:
            # A bar has no cell for the term: it follows the date on the same line.
            listed += f"　{TERM} {record.term_ends.isoformat()}"
        fields += [
            ("court", "执行法院", record.court),
            ("case", "案号", record.case_number),
            ("listed", LISTED, listed),
        ]
        if record.term_ends is not None:
            fields.append(("term", TERM, record.term_ends.isoformat()))
        value = Style(
            min(scale.value[0], name.pixel_size),
            min(scale.value[1], name.pixel_size),
            scale.floor,
            balance=True,
        )
        for group in layout.value_groups:
            self._fields(page, [field for field in fields if field[0] in group], value, Palette.VALUE)
        if record.conduct is not None:
            self._conduct(page, record.conduct, value)
        if matrix is not None:
            self._qr(page, matrix)
        self._footer(page, record, data_date)
        return page.slide(slide, name.families)

    def _chrome(self, page: _Page, title: str) -> None:
        """Bands, the header title and the sample mark."""
        layout = page.layout
        painter = page.painter
        header = layout.bands.get("header")
        if header is not None:
            painter.fillRect(header, Palette.HEADER)
            accent = max(2.0, layout.height * 0.004)
            painter.fillRect(QRectF(0, header.bottom() - accent, layout.width, accent), Palette.ACCENT)
        footer = layout.bands.get("footer")
        if footer is not None:
            painter.fillRect(footer, Palette.FOOTER)
            painter.fillRect(
                QRectF(0, footer.top(), layout.width, max(1.0, layout.height * 0.0015)), Palette.RULE
            )
        scale = layout.scale
        if "header.title" in layout.regions:
            page.text(
                "header.title",
                title,
                Style(scale.title, scale.floor, scale.floor, bold=True, max_lines=1, valign_centre=True),
                Palette.TITLE,
            )
        if self._sample and "header.sample" in layout.regions:
            page.badge(
                "header.sample",
                SAMPLE_MARK,
                scale.badge * 0.62,
                Palette.SAMPLE,
                Palette.SAMPLE_TEXT,
                align=Align.RIGHT,
            )

    def _fields(self, page: _Page, fields: list[tuple[str, str, str]], style: Style, colour: QColor) -> None:
        """Captioned values, all at one size: the size the most demanding of them fits at."""
        layout = page.layout
        scale = layout.scale
        present = [(label, caption, text) for label, caption, text in fields if label in layout.regions]

        def content(label: str, caption: str, text: str) -> tuple[str, int]:
            if f"{label}.caption" in layout.regions:
                return text, 0
            # No caption line (the bar): a smaller, shorter caption leads the value.
            short = SHORT_CAPTIONS.get(caption, caption)
            return f"{short} {text}", len(short)

        sizes = []
        for label, caption, text in present:
            shown, caption_length = content(label, caption, text)
            sizes.append(page.measure(label, shown, style, caption_length).pixel_size)
        if not sizes:
            return
        common = replace(style, max_px=min(sizes))
        for label, caption, text in present:
            shown, caption_length = content(label, caption, text)
            if caption_length == 0:
                caption_style = Style(scale.caption, scale.floor, scale.floor, max_lines=1)
                page.text(f"{label}.caption", caption, caption_style, Palette.CAPTION)
            page.text(
                label, shown, common, colour, caption_length=caption_length, caption_colour=Palette.CAPTION
            )

    def _conduct(self, page: _Page, conduct: str, value: Style) -> None:
        """The dishonest conduct in its block, no larger than the field values, cut to fit (or left out)."""
        layout = page.layout
        if "conduct" not in layout.regions:
            page.omitted.append("conduct")
            return
        largest = min(
            (item.pixel_size for item in page.items if item.label in _VALUE_LABELS), default=value.max_px
        )
        target = min(value.min_px, largest)
        # Never below the target size: a shorter text reads better than a smaller one.
        style = Style(largest, target, target, balance=False)
        text, cut = _fitting_prefix(
            lambda candidate: page.measure("conduct", candidate, style).fit is Fit.OK,
            conduct,
            CONDUCT_CHARS[layout.kind],
        )
        caption = Style(layout.scale.caption, layout.scale.floor, layout.scale.floor, max_lines=1)
        page.text("conduct.caption", CONDUCT, caption, Palette.CAPTION)
        page.text("conduct", text, style, Palette.VALUE)
        if cut:
            page.items[-1] = replace(page.items[-1], fit=Fit.SHORTENED)

    def _status(self, page: _Page, status: Status, largest: int) -> None:
        fill, ink = (
            (Palette.UNFULFILLED, Palette.UNFULFILLED_TEXT)
            if status is Status.UNFULFILLED
            else (Palette.PARTIAL, Palette.PARTIAL_TEXT)
        )
        layout = page.layout
        region = layout.regions["status"]
        amount_region = layout.regions.get("amount")
        amount = page.item("amount")
        if (
            amount is not None
            and amount_region is not None
            and region.left() >= amount_region.right()
            and region.top() < amount_region.bottom()
        ):
            # Next to a short amount, not adrift at the far end of its column.
            left = max(
                min(amount.rect.right() + layout.scale.badge * 0.8, region.left()), amount_region.left()
            )
            # Level with the amount's line, as far as the status region allows.
            centre = min(max(amount.rect.center().y(), region.top()), region.bottom())
            half = min(centre - region.top(), region.bottom() - centre)
            region = QRectF(left, centre - half, region.right() - left, 2 * half)
        centred = "photo" in layout.regions and layout.kind in (LayoutKind.LANDSCAPE, LayoutKind.FOUR_THREE)
        page.badge(
            "status",
            status.value,
            min(layout.scale.badge, largest),
            fill,
            ink,
            align=Align.CENTRE if centred else Align.LEFT,
            region=region,
        )

    def _photo(self, page: _Page, ref: PhotoRef | None, label: str = "photo") -> None:
        region = page.layout.regions.get(label)
        if region is None:
            return
        image = QImage()
        if ref is not None:
            try:
                data = self._photos(ref)
            except OSError as error:
                log.warning("photo %s could not be read (%s); showing a placeholder", ref.sha256[:12], error)
                data = None
            if data:
                image = QImage.fromData(data)
                if image.isNull():
                    log.warning("photo %s could not be decoded; showing a placeholder", ref.sha256[:12])
        painter = page.painter
        if image.isNull():
            box = _aspect_box(region, 3, 4)
            _silhouette(painter, box)
            page.items.append(Drawn(label, ItemKind.PHOTO, box, region, text="placeholder"))
            return
        box = _aspect_box(region, image.width(), image.height())
        scaled = image.scaled(
            round(box.width()),
            round(box.height()),
            Qt.AspectRatioMode.IgnoreAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
        painter.drawImage(box.topLeft(), scaled)
        frame = max(1.0, page.layout.height * 0.002)
        painter.setPen(QPen(Palette.PHOTO_FRAME, frame))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(box.adjusted(frame / 2, frame / 2, -frame / 2, -frame / 2))
        page.items.append(Drawn(label, ItemKind.PHOTO, box, region))

    def _qr(self, page: _Page, matrix: qr.QrMatrix, label: str = "qr", caption: str = "扫码核查") -> None:
        region = page.layout.regions[label]
        square = qr.plan(matrix, region)
        if square is None:
            return
        qr.draw(page.painter, matrix, square)
        page.items.append(Drawn(label, ItemKind.QR, square, region))
        if f"{label}.caption" in page.layout.regions:
            scale = page.layout.scale
            align = (
                Align.RIGHT
                if page.layout.regions[f"{label}.caption"].right() < square.left()
                else Align.CENTRE
            )
            page.text(
                f"{label}.caption",
                caption,
                Style(scale.footer, scale.floor, scale.floor, max_lines=1, align=align, valign_centre=True),
                Palette.QR_CAPTION,
            )

    def _footer(self, page: _Page, record: DebtorRecord, data_date: dt.date) -> None:
        scale = page.layout.scale
        footer = Style(scale.footer, scale.floor, scale.floor, valign_centre=True)
        page.text(
            "footer.date",
            f"数据日期 {data_date.isoformat()}",
            footer,
            Palette.FOOTER_TEXT,
            caption_length=4,
            caption_colour=Palette.CAPTION,
        )
        # Lines break only between the sentence and the phone (the sentence itself wraps only if it must).
        correction = Style(
            scale.footer,
            scale.floor,
            scale.floor,
            valign_centre=True,
            align=Align.CENTRE,
            balance=True,
            break_after=" ",
        )
        page.text("footer.correction", _correction(record), correction, Palette.FOOTER_TEXT)
        self._mark_only(page)

    def _mark_only(self, page: _Page) -> None:
        scale = page.layout.scale
        if "footer.mark" in page.layout.regions:
            page.text(
                "footer.mark",
                self._mark,
                Style(
                    scale.mark, min(scale.mark, 12), 10, max_lines=1, align=Align.RIGHT, valign_centre=True
                ),
                Palette.MARK,
            )

    # --- LED ---------------------------------------------------------------------------------------------

    def _led_debtor(self, record: DebtorRecord, layout: SlideLayout, data_date: dt.date) -> RenderedSlide:
        scale = layout.scale
        body = scale.value[0]
        debtor = record.debtor
        status_colour = LedPalette.UNFULFILLED if record.status is Status.UNFULFILLED else LedPalette.PARTIAL
        paragraphs = [
            _Para(
                "name",
                debtor.name,
                scale.name[0],
                LedPalette.NAME,
                bold=True,
                sticky=True,
                shrink_to=scale.name[1],
            ),
            _Para("status", record.status.value, body, status_colour, bold=True),
        ]
        owed_label, owed = record.amount_shown
        paragraphs.append(
            _Para(
                "amount",
                f"{owed_label} {display_amount(owed)}",
                body,
                LedPalette.VALUE,
                caption=len(owed_label),
            )
        )
        if isinstance(debtor, Person):
            paragraphs.append(_Para("id", f"身份证 {debtor.id_masked}", body, LedPalette.VALUE, caption=3))
        else:
            paragraphs.append(_Para("code", f"代码 {debtor.code}", body, LedPalette.VALUE, caption=2))
            paragraphs.append(
                _Para("legal", f"法定代表人 {debtor.legal_representative}", body, LedPalette.VALUE, caption=5)
            )
        paragraphs += [
            _Para("court", f"法院 {record.court}", body, LedPalette.VALUE, caption=2),
            _Para("case", f"案号 {record.case_number}", body, LedPalette.VALUE, caption=2),
            _Para(
                "listed",
                f"{LISTED} {record.listed_on.isoformat()}",
                body,
                LedPalette.VALUE,
                caption=len(LISTED),
            ),
        ]
        if record.term_ends is not None:
            term = f"{TERM} {record.term_ends.isoformat()}"
            paragraphs.append(_Para("term", term, body, LedPalette.VALUE, caption=len(TERM)))
        paragraphs += [
            _Para(
                "footer.date",
                f"数据日期 {data_date.isoformat()}",
                body,
                LedPalette.VALUE,
                caption=4,
                group="footer",
            ),
            _Para("footer.correction", _correction(record, "\n"), body, LedPalette.VALUE, group="footer"),
            _Para("footer.mark", self._mark, body, LedPalette.MARK, group="footer"),
        ]
        slide = SlideKind.PERSON if isinstance(debtor, Person) else SlideKind.ORGANISATION
        # A text board pages short fields; the conduct would add pages of small print, so it stays off.
        omitted = ("conduct",) if record.conduct is not None else ()
        return self._led(layout, "失信被执行人", paragraphs, name_label="name", slide=slide, omitted=omitted)

    def _led(
        self,
        layout: SlideLayout,
        title: str,
        paragraphs: list[_Para],
        *,
        name_label: str | None,
        slide: SlideKind | None = None,
        omitted: Sequence[str] = (),
    ) -> RenderedSlide:
        body = layout.regions["body"]
        flowed = _paginate(self._fonts, paragraphs, body)
        pages: list[RenderedPage] = []
        name_families: frozenset[str] = frozenset()
        compromises: list[tuple[str, Fit]] = []
        for number, chunks in enumerate(flowed, start=1):
            page = _Page(self._fonts, layout, ground=LedPalette.GROUND)
            scale = layout.scale
            header = Style(scale.title, scale.floor, scale.floor, bold=True, max_lines=1, valign_centre=True)
            page.text("header.title", title, header, LedPalette.TITLE)
            if self._sample:
                page.badge(
                    "header.sample",
                    SAMPLE_MARK_SHORT,
                    scale.title,
                    LedPalette.SAMPLE,
                    LedPalette.SAMPLE_TEXT,
                    align=Align.RIGHT,
                    tight=True,
                )
            if len(flowed) > 1:
                page.text(
                    "header.page",
                    f"{number}/{len(flowed)}",
                    Style(
                        scale.title,
                        scale.floor,
                        scale.floor,
                        max_lines=1,
                        align=Align.RIGHT,
                        valign_centre=True,
                    ),
                    LedPalette.MARK,
                )
            top = body.top()
            for para, lines, first in chunks:
                height = len(lines) * para.line_height
                rect = QRectF(body.left(), top, body.width(), height)
                caption = para.caption if first else 0
                placed = place_lines(
                    self._fonts,
                    lines,
                    rect,
                    para.pixel_size,
                    bold=para.bold,
                    caption_length=caption,
                    caption_colour=LedPalette.CAPTION,
                    line_factor=para.line_factor,
                )
                placed.draw(page.painter, para.colour)
                page.items.append(_text_item(para.label, placed, body))
                if para.label == name_label and not name_families:
                    name_families = placed.families
                top += height
            rendered = page.finish()
            compromises += [(item.label, item.fit) for item in rendered.items if item.fit is not Fit.OK]
            pages.append(rendered)
        compromises += [(label, Fit.OMITTED) for label in omitted]
        kind = slide or layout.slide
        return _logged(RenderedSlide(kind, layout, tuple(pages), name_families, tuple(compromises)))


# --- pages and drawing helpers ------------------------------------------------------------------------------


class _Page:
    """One image being painted, and the record of what went where."""

    def __init__(self, fonts: Fonts, layout: SlideLayout, *, ground: QColor = Palette.GROUND) -> None:
        self.fonts = fonts
        self.layout = layout
        self.image = QImage(layout.width, layout.height, QImage.Format.Format_RGB32)
        self.image.fill(ground)
        self.painter = QPainter(self.image)
        self.painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        self.painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        self.items: list[Drawn] = []
        #: Fields the layout has no room for (listed in the slide's compromises).
        self.omitted: list[str] = []

    def text(
        self,
        label: str,
        text: str,
        style: Style,
        colour: QColor,
        *,
        caption_length: int = 0,
        caption_colour: QColor | None = None,
    ) -> SetText:
        placed = self.measure(label, text, style, caption_length, caption_colour)
        placed.draw(self.painter, colour)
        region = self.layout.regions[label]
        self.items.append(_text_item(label, placed, region))
        return placed

    def measure(
        self,
        label: str,
        text: str,
        style: Style,
        caption_length: int = 0,
        caption_colour: QColor | None = None,
    ) -> SetText:
        """Fit ``text`` into the region ``label`` without drawing it."""
        return set_text(
            self.fonts,
            text,
            self.layout.regions[label],
            style,
            caption_length=caption_length,
            caption_colour=caption_colour or Palette.CAPTION,
            caption_scale=INLINE_CAPTION_SCALE,
        )

    def badge(
        self,
        label: str,
        text: str,
        pixel_size: float,
        fill: QColor,
        ink: QColor,
        *,
        align: Align,
        region: QRectF | None = None,
        tight: bool = False,
    ) -> None:
        """Text on a rounded, filled shape, as large as ``pixel_size`` allows inside the region."""
        region = region if region is not None else self.layout.regions[label]
        pad_x, pad_y = (0.25, 0.12) if tight else (0.55, 0.3)
        px = int(min(pixel_size, region.height() / (1 + 2 * pad_y)))
        floor = self.layout.scale.floor
        while True:
            font = self.fonts.font(px, bold=True)
            width = QFontMetricsF(font).horizontalAdvance(text) + 2 * pad_x * px
            if width <= region.width() or px <= floor:
                break
            px -= 1
        height = px * (1 + 2 * pad_y)
        width = min(width, region.width())
        left = {
            Align.LEFT: region.left(),
            Align.CENTRE: region.left() + (region.width() - width) / 2,
            Align.RIGHT: region.right() - width,
        }[align]
        shape = QRectF(left, region.top() + (region.height() - height) / 2, width, height)
        self.painter.setPen(Qt.PenStyle.NoPen)
        self.painter.setBrush(fill)
        radius = height * (0.12 if tight else 0.22)
        self.painter.drawRoundedRect(shape, radius, radius)
        inner = shape.adjusted(pad_x * px * 0.5, 0, -pad_x * px * 0.5, 0)
        placed = set_text(
            self.fonts,
            text,
            inner,
            Style(
                px,
                min(px, floor),
                floor,
                bold=True,
                max_lines=1,
                align=Align.CENTRE,
                valign_centre=True,
                line_factor=1.0,
            ),
        )
        placed.draw(self.painter, ink)
        self.items.append(
            Drawn(
                label,
                ItemKind.BADGE,
                shape.united(placed.rect),
                region,
                "".join(placed.lines),
                placed.pixel_size,
                placed.families,
                placed.fit,
                placed.missing_glyphs,
            )
        )

    def item(self, label: str) -> Drawn | None:
        """The item called ``label`` drawn so far."""
        return next((item for item in self.items if item.label == label), None)

    def finish(self) -> RenderedPage:
        self.painter.end()
        return RenderedPage(self.image, tuple(self.items))

    def slide(self, slide: SlideKind, name_families: frozenset[str]) -> RenderedSlide:
        page = self.finish()
        compromises = tuple((item.label, item.fit) for item in page.items if item.fit is not Fit.OK)
        compromises += tuple((label, Fit.OMITTED) for label in self.omitted)
        return _logged(RenderedSlide(slide, self.layout, (page,), name_families, compromises))


@dataclass
class _Para:
    """A paragraph of an LED page."""

    label: str
    text: str
    pixel_size: int
    colour: QColor
    bold: bool = False
    caption: int = 0
    sticky: bool = False
    #: Consecutive paragraphs of one group stay on one page when they fit on one.
    group: str = ""
    #: A name may shrink down to this size to stay on one line before it wraps.
    shrink_to: int | None = None
    line_factor: float = 1.18

    @property
    def line_height(self) -> float:
        return self.pixel_size * self.line_factor


_Chunk = tuple[_Para, list[str], bool]


def _paginate(fonts: Fonts, paragraphs: Sequence[_Para], body: QRectF) -> list[list[_Chunk]]:
    """Flow paragraphs through pages of ``body``; split a paragraph over pages only when it must."""
    laid: list[tuple[_Para, list[str]]] = []
    for para in paragraphs:
        if para.shrink_to is not None:
            metrics_px = para.pixel_size
            while (
                metrics_px > para.shrink_to
                and len(wrap_lines(fonts, para.text, body.width(), metrics_px, bold=para.bold)) > 1
            ):
                metrics_px -= 1
            para.pixel_size = metrics_px
        laid.append((para, wrap_lines(fonts, para.text, body.width(), para.pixel_size, bold=para.bold)))
    sticky: list[_Chunk] = []
    sticky_height = 0.0
    if laid and laid[0][0].sticky and len(laid[0][1]) * laid[0][0].line_height <= body.height() / 2:
        para, lines = laid.pop(0)
        sticky = [(para, lines, True)]
        sticky_height = len(lines) * para.line_height
    pages: list[list[_Chunk]] = []
    current: list[_Chunk] = list(sticky)
    used = sticky_height

    def flush() -> None:
        nonlocal current, used
        pages.append(current)
        current, used = list(sticky), sticky_height

    for index, (para, lines) in enumerate(laid):
        has_content = len(current) > len(sticky)
        height = len(lines) * para.line_height
        if para.group and (index == 0 or laid[index - 1][0].group != para.group):
            # A group starts: move it whole to the next page if it fits there but not here.
            height = sum(
                other.line_height * len(rows) for other, rows in laid[index:] if other.group == para.group
            )
            if height > body.height() - sticky_height:
                height = len(lines) * para.line_height
        if has_content and used + height > body.height() + 0.01:
            flush()
        remaining, first = lines, True
        while remaining:
            room = int((body.height() - used + 0.01) // para.line_height)
            if room <= 0:
                if len(current) == len(sticky):
                    room = 1  # a page must show something; the body is shorter than one line
                else:
                    flush()
                    continue
            current.append((para, remaining[:room], first))
            used += min(room, len(remaining)) * para.line_height
            remaining, first = remaining[room:], False
            if remaining:
                flush()
    if len(current) > len(sticky) or not pages:
        pages.append(current)
    return pages


def _logged(slide: RenderedSlide) -> RenderedSlide:
    """Say loudly when a slide had to draw a box for a missing glyph; quietly when text was squeezed."""
    if slide.missing_glyphs:
        log.error(
            "no installed font has some characters of %s: drawn as boxes", ", ".join(slide.missing_glyphs)
        )
    if any(fit is Fit.ELIDED for _, fit in slide.compromises):
        log.warning("text elided on a %s slide: %s", slide.slide.value, slide.compromises)
    return slide


#: The field values the conduct is never set larger than.
_VALUE_LABELS = frozenset({"id", "code", "legal", "court", "case", "listed", "term"})


def _fitting_prefix(fits: Callable[[str], bool], text: str, limit: int) -> tuple[str, bool]:
    """``text``, or its longest start (at most ``limit`` characters, then …) that ``fits``; and whether it was cut.

    A cut ends after a clause (at a comma, full stop…) when one is in the last third of what fits, so the
    text does not stop mid-word; otherwise at the last character that fits.
    """
    if len(text) <= limit and fits(text):
        return text, False

    def cut(length: int) -> str:
        return text[:length].rstrip() + "…"

    low, high = 0, min(len(text), limit) - 1  # low fits (the bare …), high is the first length to try
    while low < high:
        middle = (low + high + 1) // 2
        if fits(cut(middle)):
            low = middle
        else:
            high = middle - 1
    clause = max(text.rfind(mark, 0, low) for mark in _CLAUSE_ENDS)
    if clause >= low * 2 // 3:
        low = clause  # the clause's own punctuation gives way to the ellipsis
    return cut(low), True


def _correction(record: DebtorRecord, separator: str = "  ") -> str:
    """The footer's line for objections, with the court's phone when the record has one.

    The phone number is joined to 电话 by a no-break space, so a wrapped line never splits them.
    """
    return CORRECTION + (f"{separator}电话\u00a0{record.court_phone}" if record.court_phone else "")


def _text_item(label: str, placed: SetText, region: QRectF) -> Drawn:
    return Drawn(
        label,
        ItemKind.TEXT,
        placed.rect,
        region,
        "".join(placed.lines),
        placed.pixel_size,
        placed.families,
        placed.fit,
        placed.missing_glyphs,
    )


def _aspect_box(region: QRectF, width: float, height: float) -> QRectF:
    """The largest box of aspect ``width``:``height`` in ``region``, centred across, at the top; whole pixels."""
    scale = min(region.width() / width, region.height() / height)
    box_width, box_height = int(width * scale), int(height * scale)
    left = int(region.left() + (region.width() - box_width) / 2 + 0.5)
    return QRectF(left, int(region.top() + 0.5), box_width, box_height)


def _silhouette(painter: QPainter, box: QRectF) -> None:
    """A neutral head-and-shoulders shape where no photo is available."""
    painter.save()
    painter.setPen(Qt.PenStyle.NoPen)
    painter.fillRect(box, Palette.SILHOUETTE_GROUND)
    painter.setBrush(Palette.SILHOUETTE)
    w, h = box.width(), box.height()
    centre = QPointF(box.left() + w / 2, box.top() + h * 0.38)
    painter.drawEllipse(centre, w * 0.2, w * 0.24)
    body = QPainterPath()
    body.moveTo(box.left() + w * 0.12, box.bottom())
    body.cubicTo(
        QPointF(box.left() + w * 0.12, box.top() + h * 0.66),
        QPointF(box.left() + w * 0.88, box.top() + h * 0.66),
        QPointF(box.left() + w * 0.88, box.bottom()),
    )
    body.closeSubpath()
    painter.drawPath(body)
    painter.restore()


def render_contact_sheet(
    images: Sequence[QImage],
    columns: int,
    *,
    cell_width: int | None = None,
    gap: int = 16,
    ground: QColor | None = None,
    labels: Sequence[str] | None = None,
    fonts: Fonts | None = None,
) -> QImage:
    """Tile ``images`` in ``columns`` columns (for ``signage render`` and the docs).

    Each image is scaled to ``cell_width`` (keeping its aspect; never enlarged) or kept at its own size when
    ``cell_width`` is ``None``; rows are as tall as their tallest image. With ``labels`` (one per image, set
    in ``fonts``) each image has its label on a line below it, shortened with … if it is wider than the cell.

    Raises:
        ValueError: no images, fewer than one column, or labels without fonts or not one per image.
    """
    if not images or columns < 1:
        raise ValueError("a contact sheet needs at least one image and one column")
    if labels is not None and (fonts is None or len(labels) != len(images)):
        raise ValueError("a labelled contact sheet needs one label per image and the fonts to set them in")
    scaled = [
        image
        if cell_width is None or image.width() <= cell_width
        else image.scaledToWidth(cell_width, Qt.TransformationMode.SmoothTransformation)
        for image in images
    ]
    width_of_cell = max(image.width() for image in scaled)
    label_px = max(14, min(22, width_of_cell // 24))
    label_height = round(label_px * 1.6) if labels is not None else 0
    rows = [scaled[i : i + columns] for i in range(0, len(scaled), columns)]
    heights = [max(image.height() for image in row) + label_height for row in rows]
    columns = min(columns, len(scaled))
    sheet = QImage(
        gap + columns * (width_of_cell + gap),
        gap + sum(heights) + gap * len(rows),
        QImage.Format.Format_RGB32,
    )
    sheet.fill(ground if ground is not None else QColor("#202428"))
    painter = QPainter(sheet)
    painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
    if fonts is not None:
        painter.setFont(fonts.font(label_px))
    metrics = QFontMetricsF(painter.font())
    painter.setPen(QColor("#e6ecf2"))
    top = gap
    for number, (row, height) in enumerate(zip(rows, heights, strict=True)):
        for index, image in enumerate(row):
            left = gap + index * (width_of_cell + gap)
            painter.drawImage(QPointF(left, top), image)
            if labels is not None:
                label = labels[number * columns + index]
                shown = metrics.elidedText(label, Qt.TextElideMode.ElideMiddle, width_of_cell)
                strip = QRectF(left, top + height - label_height, width_of_cell, label_height)
                painter.drawText(
                    strip, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), shown
                )
        top += height + gap
    painter.end()
    return sheet


__all__ = [
    "LED_PAGE_SECONDS",
    "Drawn",
    "ItemKind",
    "PhotoLoader",
    "RenderedPage",
    "RenderedSlide",
    "SlideRenderer",
    "render_contact_sheet",
    "screen_mark",
]
