"""The CJK font the slides are set in, its coverage of the current set, and text setting.

Chinese must be set in a CJK font, and a missing glyph must never show as a tofu box (issue: "Fonts"). So:

* :func:`find_fonts` picks the family (Noto Sans CJK SC first, then any installed family Qt lists for
  Simplified Chinese, then well-known Chinese fonts) and keeps the other CJK families as a per-character
  fallback chain (``QFont.setFamilies``): a character the first family lacks comes from the next one that has
  it, never from whatever fontconfig happens to pick.
* :meth:`Fonts.check_coverage` asks ``QRawFont.supportsCharacter`` (UCS-4, so names outside the BMP such as
  𠮷 U+20BB7 are checked as one character) about every character of the current set;
  :func:`log_coverage` logs each gap at ERROR level, loudly, at start and whenever the set changes.
* :func:`set_text` fits one piece of text into a rectangle: shrink to fit down to a target size, then wrap,
  then (only if a floor below the target is allowed) shrink further, and elide only as the very last resort.
  It returns a :class:`SetText` that knows the box it will occupy, how to draw itself, and which font
  families its glyphs really come from (QTextLayout glyph runs), which is what the tests check.

Thread use: a :class:`Fonts` holds only family names and plain numbers, so the one object may be shared by the
GUI thread and the render thread. Every QFont, QRawFont and QTextLayout is made on the thread that uses it.
"""

from __future__ import annotations

import enum
import logging
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from PyQt6.QtCore import QPointF, QRectF, Qt, QThread
from PyQt6.QtGui import (
    QColor,
    QFont,
    QFontDatabase,
    QFontMetricsF,
    QPainter,
    QRawFont,
    QTextCharFormat,
    QTextLayout,
    QTextOption,
)

from signage.core.records import DebtorRecord, Notice, Organisation

log = logging.getLogger(__name__)

#: Families tried first, in order: the one Debian's fonts-noto-cjk installs, then its twins and the usual
#: Chinese system fonts of Linux, Windows and macOS mini-PCs.
PREFERRED_FAMILIES = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "Noto Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Microsoft YaHei",
    "PingFang SC",
    "SimHei",
    "Droid Sans Fallback",
    "AR PL UMing CN",
    "Noto Sans CJK TC",
    "Noto Sans CJK HK",
    "Noto Sans CJK JP",
    "Noto Sans CJK KR",
)
#: Characters every candidate must have to count as a Chinese font at all.
_PROBE = "国执行法院人民"
#: A line box is this many times the pixel size; the ideographs sit centred in it.
LINE_FACTOR = 1.22
#: U+2028 LINE SEPARATOR: QTextLayout ends a line there, so set text is always laid out without wrapping.
LINE_SEPARATOR = "\u2028"


class FontError(Exception):
    """No installed font can set Chinese at all; the player cannot show the list."""


@dataclass(frozen=True)
class Coverage:
    """A text some of whose characters no font of the chain has.

    Attributes:
        text: The text as given.
        missing: The code points missing from every family of the chain (UCS-4, so non-BMP is one entry).
    """

    text: str
    missing: tuple[int, ...]

    def describe(self) -> str:
        """``U+20BB7 𠮷, U+4E00 一`` for the log."""
        return ", ".join(f"U+{code:04X} {chr(code)}" for code in self.missing)


@dataclass(frozen=True)
class Fonts:
    """The families slides are set in.

    Attributes:
        primary: The CJK family every text is set in.
        fallbacks: Other installed CJK families, tried per character when ``primary`` lacks one.
        ink_centre: Vertical centre of an ideograph's ink below the baseline, as a fraction of the pixel
            size (negative: above the baseline). Lines are placed so that this centre sits mid-line.
    """

    primary: str
    fallbacks: tuple[str, ...] = ()
    ink_centre: float = -0.36

    @property
    def families(self) -> tuple[str, ...]:
        """The whole chain, primary first."""
        return (self.primary, *self.fallbacks)

    def font(self, pixel_size: int, *, bold: bool = False) -> QFont:
        """A QFont of the chain at ``pixel_size`` pixels (pixels, not points: screens have no DPI we trust)."""
        font = QFont()
        font.setFamilies(list(self.families))
        font.setPixelSize(max(1, pixel_size))
        font.setWeight(QFont.Weight.Bold if bold else QFont.Weight.Normal)
        font.setHintingPreference(QFont.HintingPreference.PreferNoHinting)
        # Only our chain may supply glyphs; fontconfig's own guess could be a Japanese or a tofu font.
        font.setStyleStrategy(QFont.StyleStrategy.PreferAntialias)
        return font

    def check_coverage(self, texts: Iterable[str]) -> list[Coverage]:
        """Every text with characters that no family of the chain has (whitespace and controls ignored)."""
        # A family is loaded only when the ones before it lack a character: each face Qt loads costs about a
        # megabyte of heap on the loading thread, and the primary family nearly always covers the whole set.
        raw_fonts: list[QRawFont | None] = []

        def has(code: int) -> bool:
            for index, family in enumerate(self.families):
                if index == len(raw_fonts):
                    raw_fonts.append(_raw_font(family))
                raw = raw_fonts[index]
                if raw is not None and raw.supportsCharacter(code):
                    return True
            return False

        verdict: dict[int, bool] = {}
        gaps: list[Coverage] = []
        for text in texts:
            missing: list[int] = []
            for char in text:
                code = ord(char)
                if char.isspace() or not char.isprintable():
                    continue
                if code not in verdict:
                    verdict[code] = has(code)
                if not verdict[code] and code not in missing:
                    missing.append(code)
            if missing:
                gaps.append(Coverage(text, tuple(missing)))
        return gaps

    def primary_covers(self, text: str) -> bool:
        """Whether the primary family alone has every character of ``text``."""
        raw = _raw_font(self.primary)
        return raw is not None and all(
            raw.supportsCharacter(ord(char)) for char in text if not char.isspace()
        )


def find_fonts(preferred: Sequence[str] = PREFERRED_FAMILIES) -> Fonts:
    """Choose the CJK family and its fallbacks among the installed fonts.

    Needs a QGuiApplication. Families are taken from ``preferred`` in order, then from every other family
    Qt lists for Simplified Chinese, then any family whose name says CJK; each must really have the
    ideographs in :data:`_PROBE`.

    Raises:
        FontError: no installed family can set Chinese.
    """
    installed = QFontDatabase.families()
    simplified = QFontDatabase.families(QFontDatabase.WritingSystem.SimplifiedChinese)
    candidates: list[str] = [family for family in preferred if family in installed]
    # Mono and serif faces come last: a proportional sans reads best from across a hall.
    extra = [family for family in simplified if family not in candidates]
    extra += [family for family in installed if "CJK" in family and family not in candidates + extra]
    extra.sort(key=lambda family: ("Mono" in family, "Serif" in family))
    chain = _in_passing_thread(lambda: [family for family in candidates + extra if _has_chinese(family)])
    if not chain:
        raise FontError("no installed font covers Chinese; install fonts-noto-cjk")
    if chain[0] != preferred[0]:
        log.error("font %r is not installed; Chinese is set in %r instead", preferred[0], chain[0])
    (ink,) = _in_passing_thread(lambda: [_ink_centre(chain[0])])
    return Fonts(primary=chain[0], fallbacks=tuple(chain[1:]), ink_centre=ink)


def _ink_centre(family: str) -> float:
    probe = QFont()
    probe.setFamily(family)
    probe.setPixelSize(1000)
    return QFontMetricsF(probe).tightBoundingRect("国").center().y() / 1000


def texts_of(records: Iterable[DebtorRecord], notices: Iterable[Notice] = ()) -> Iterable[str]:
    """Every text of a set that a slide may show."""
    for record in records:
        yield record.debtor.name
        yield record.court
        yield record.case_number
        if isinstance(record.debtor, Organisation):
            yield record.debtor.legal_representative
            yield record.debtor.code
        if record.conduct is not None:
            yield record.conduct
    for notice in notices:
        yield notice.title
        yield notice.body


def log_coverage(fonts: Fonts, texts: Iterable[str]) -> list[Coverage]:
    """Check ``texts`` against the chain; log every gap at ERROR level and return the gaps.

    A gap means a character would be drawn as a box. The player still shows the slide (a name must not
    silently disappear from the list) but the log says exactly which character of which text is missing,
    so the operator can install a font.
    """
    gaps = fonts.check_coverage(texts)
    for gap in gaps:
        log.error(
            "NO FONT COVERS %s in %r (fonts tried: %s); install a CJK font that has it",
            gap.describe(),
            gap.text,
            ", ".join(fonts.families),
        )
    if not gaps:
        log.info("font %s covers every character of the current set", fonts.primary)
    return gaps


_T = TypeVar("_T")


class _PassingThread(QThread, Generic[_T]):
    def __init__(self, job: Callable[[], list[_T]]) -> None:
        super().__init__()
        self._job = job
        self.result: list[_T] = []

    def run(self) -> None:
        self.result = self._job()


def _in_passing_thread(job: Callable[[], list[_T]]) -> list[_T]:
    """``job()``, run on a thread of its own that ends with it.

    Qt keeps every font face a thread loaded in that thread's font cache until the thread ends: probing the
    fifteen Noto CJK families on the GUI thread left about 18 MiB of faces there for good (heap and mapped
    font pages), while the slides only ever draw with the first family or two.
    """
    thread: _PassingThread[_T] = _PassingThread(job)
    thread.start()
    thread.wait()
    return thread.result


def _raw_font(family: str) -> QRawFont | None:
    font = QFont()
    font.setFamily(family)
    font.setPixelSize(32)
    font.setStyleStrategy(QFont.StyleStrategy.NoFontMerging)
    raw = QRawFont.fromFont(font)
    # fromFont gives the font Qt would fall back to when the family is missing: reject that one.
    if not raw.isValid() or raw.familyName() != family:
        return None
    return raw


def _has_chinese(family: str) -> bool:
    raw = _raw_font(family)
    return raw is not None and all(raw.supportsCharacter(ord(char)) for char in _PROBE)


# --- text setting ---------------------------------------------------------------------------------------


class Align(enum.Enum):
    """Horizontal placement of set text inside its rectangle."""

    LEFT = "left"
    CENTRE = "centre"
    RIGHT = "right"


class Fit(enum.StrEnum):
    """How far :func:`set_text` had to go to make the text fit, or what a slide did to a long field instead.

    ``SHORTENED`` and ``OMITTED`` are never returned by :func:`set_text`: the slide renderer uses them for a
    field it cuts on purpose (the dishonest conduct, up to 300 characters) or has no room for on a layout.
    """

    #: At or above the target size, on as many lines as allowed.
    OK = "ok"
    #: Below the target size but not below the floor.
    BELOW_TARGET = "below-target"
    #: Still too long at the floor: the last line ends in an ellipsis. Reported, never silent.
    ELIDED = "elided"
    #: Cut on purpose at a length the layout can show at its target size, ending in an ellipsis.
    SHORTENED = "shortened"
    #: Left out: the layout has no room for the field at all.
    OMITTED = "omitted"


@dataclass
class SetText:
    """Text laid out at one size, line by line, ready to draw.

    Attributes:
        text: The text as given.
        lines: The text of each line (the last one ends in … if elided).
        pixel_size: The glyph size in pixels.
        rect: Where the text will be, in slide coordinates: the union of the line boxes and the real ink.
        fit: How it was made to fit.
        families: Families the glyphs come from, read from the QTextLayout glyph runs.
        missing_glyphs: How many glyphs no font of the chain has (glyph index 0, drawn as a box).
    """

    text: str
    lines: list[str]
    pixel_size: int
    rect: QRectF
    fit: Fit
    families: frozenset[str]
    missing_glyphs: int
    _layout: QTextLayout = field(repr=False)

    def draw(self, painter: QPainter, colour: QColor) -> None:
        """Draw in ``colour`` (character formats, if any, override it)."""
        painter.setPen(colour)
        self._layout.draw(painter, QPointF(0, 0))


@dataclass(frozen=True)
class Style:
    """How a piece of text may be sized.

    Attributes:
        max_px: Largest glyph size.
        min_px: Target minimum: below this the text wraps instead of shrinking.
        floor_px: Absolute floor, used only when even wrapping at ``min_px`` does not fit; ``None`` means
            ``min_px``.
        bold: Bold weight.
        max_lines: Most lines allowed (``None``: as many as the height allows).
        align: Horizontal placement.
        valign_centre: Centre the block vertically (otherwise at the top).
        balance: Make wrapped lines about equally long (names and titles) instead of filling greedily.
        break_after: Characters after which a line should preferably break (the middle dot of minority
            names, so 吐尔逊阿依 stays whole).
        line_factor: Line box height as a multiple of the pixel size.
    """

    max_px: int
    min_px: int
    floor_px: int | None = None
    bold: bool = False
    max_lines: int | None = None
    align: Align = Align.LEFT
    valign_centre: bool = False
    balance: bool = False
    break_after: str = ""
    line_factor: float = LINE_FACTOR


def set_text(
    fonts: Fonts,
    text: str,
    rect: QRectF,
    style: Style,
    *,
    caption_length: int = 0,
    caption_colour: QColor | None = None,
    caption_scale: float = 1.0,
) -> SetText:
    """Fit ``text`` into ``rect``: shrink, then wrap, then go below target, then elide (reported).

    Args:
        fonts: The chain.
        text: The text; ``\\n`` is a hard line break.
        rect: Where it must fit, in slide coordinates.
        style: Sizes and placement.
        caption_length: The first this many characters are a caption drawn in ``caption_colour``.
        caption_colour: See ``caption_length``.
        caption_scale: The caption's size relative to the text (it is measured at full size, so it fits).
    """
    caption = _Caption(caption_length, caption_colour, caption_scale)
    floor_px = min(style.floor_px if style.floor_px is not None else style.min_px, style.min_px)

    def attempt(px: int, wrap: bool, fit: Fit) -> SetText | None:
        font = fonts.font(px, bold=style.bold)
        lines = _break_lines(text, font, rect.width(), wrap=wrap, style=style)
        if lines is None or len(lines) * px * style.line_factor > rect.height() + 0.01:
            return None
        if style.max_lines is not None and len(lines) > style.max_lines:
            return None
        placed = _finish(fonts, text, lines, px, rect, style, fit, caption)
        # The real ink decides, not the nominal line boxes: a descender must not poke out either.
        return placed if _inside(placed.rect, rect) else None

    top_px = max(1, min(style.max_px, int(rect.height() / style.line_factor)))
    # 1. One line, as large as fits (width scales linearly with size, so start from the estimate).
    if "\n" not in text:
        width = QFontMetricsF(fonts.font(top_px, bold=style.bold)).horizontalAdvance(text)
        estimate = top_px if width <= rect.width() else int(top_px * rect.width() / max(width, 1.0))
        # The estimate is within a pixel or two; a few steps down absorb rounding and side bearings.
        for px in range(estimate, max(style.min_px, estimate - 6) - 1, -1):
            placed = attempt(px, False, Fit.OK)
            if placed is not None:
                return placed
    # 2. Wrapped, from the largest size down to the target minimum.
    for px in _sizes(top_px, style.min_px):
        placed = attempt(px, True, Fit.OK)
        if placed is not None:
            return placed
    # 3. Below the target, down to the floor.
    for px in _sizes(min(top_px, style.min_px - 1), floor_px):
        placed = attempt(px, True, Fit.BELOW_TARGET)
        if placed is not None:
            return placed
    # 4. The last resort: as many lines as fit at the floor, the last one elided. Reported, never silent.
    px = max(1, min(floor_px, top_px))
    font = fonts.font(px, bold=style.bold)
    metrics = QFontMetricsF(font)
    lines = _break_lines(text, font, rect.width(), wrap=True, style=style) or [text]
    keep = max(1, int((rect.height() + 0.01) // (px * style.line_factor)))
    if style.max_lines is not None:
        keep = min(keep, style.max_lines)
    if len(lines) > keep or metrics.horizontalAdvance(lines[-1]) > rect.width():
        rest = "".join(lines[keep - 1 :])
        lines = [*lines[: keep - 1], metrics.elidedText(rest, Qt.TextElideMode.ElideRight, rect.width())]
    return _finish(fonts, text, lines, px, rect, style, Fit.ELIDED, caption)


def _inside(inner: QRectF, outer: QRectF) -> bool:
    return (
        inner.left() >= outer.left() - 0.5
        and inner.top() >= outer.top() - 0.5
        and inner.right() <= outer.right() + 0.5
        and inner.bottom() <= outer.bottom() + 0.5
    )


def wrap_lines(
    fonts: Fonts, text: str, width: float, pixel_size: int, *, bold: bool = False, balance: bool = True
) -> list[str]:
    """``text`` broken into lines of at most ``width`` pixels at ``pixel_size`` (for LED paging).

    Balanced by default: the same number of lines, of about equal length (no orphaned 院 on a line of its own).
    """
    style = Style(max_px=pixel_size, min_px=pixel_size, bold=bold, balance=balance)
    lines = _break_lines(text, fonts.font(pixel_size, bold=bold), width, wrap=True, style=style)
    return lines if lines is not None else [text]


def place_lines(
    fonts: Fonts,
    lines: Sequence[str],
    rect: QRectF,
    pixel_size: int,
    *,
    bold: bool = False,
    align: Align = Align.LEFT,
    caption_length: int = 0,
    caption_colour: QColor | None = None,
    line_factor: float = LINE_FACTOR,
) -> SetText:
    """Lines already broken (by :func:`wrap_lines`) set at ``pixel_size`` from the top of ``rect``."""
    style = Style(max_px=pixel_size, min_px=pixel_size, bold=bold, align=align, line_factor=line_factor)
    text = "".join(lines)
    caption = _Caption(caption_length, caption_colour, 1.0)
    return _finish(fonts, text, list(lines), pixel_size, rect, style, Fit.OK, caption)


def _sizes(start: int, stop: int) -> list[int]:
    """Sizes from ``start`` down to ``stop`` (inclusive), in steps of about 4 %."""
    sizes: list[int] = []
    px = float(start)
    while px >= stop:
        size = int(px)
        if not sizes or size < sizes[-1]:
            sizes.append(size)
        px = min(px * 0.96, px - 1)
    if stop <= start and (not sizes or sizes[-1] != stop):
        sizes.append(stop)
    return sizes


def _break_lines(text: str, font: QFont, width: float, *, wrap: bool, style: Style) -> list[str] | None:
    """Lines of ``text`` no wider than ``width``, or ``None`` if that cannot be done."""
    metrics = QFontMetricsF(font)
    lines: list[str] = []
    for paragraph in text.split("\n"):
        if not wrap:
            if metrics.horizontalAdvance(paragraph) > width:
                return None
            lines.append(paragraph)
            continue
        broken = None
        if style.break_after and any(char in paragraph for char in style.break_after):
            broken = _break_at(paragraph, metrics, width, style.break_after)
        if broken is None:
            broken = _greedy(paragraph, font, width)
            if style.balance and len(broken) > 1:
                broken = _balanced(paragraph, font, width, len(broken))
        if any(metrics.horizontalAdvance(line) > width + 0.5 for line in broken):
            return None
        lines.extend(broken)
    return lines


def _greedy(text: str, font: QFont, width: float) -> list[str]:
    layout = QTextLayout(text, font)
    option = QTextOption()
    option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
    layout.setTextOption(option)
    layout.beginLayout()
    lines: list[str] = []
    # UTF-16 offsets: a non-BMP character such as 𠮷 counts two.
    units = text.encode("utf-16-le")
    while True:
        line = layout.createLine()
        if not line.isValid():
            break
        line.setLineWidth(width)
        start, length = line.textStart(), line.textLength()
        lines.append(units[2 * start : 2 * (start + length)].decode("utf-16-le").rstrip())
    layout.endLayout()
    return [line for line in lines if line] or [text]


def _balanced(text: str, font: QFont, width: float, count: int) -> list[str]:
    """The narrowest width that still gives ``count`` lines: the lines come out about equally long."""
    low, high = width / count, width
    best = _greedy(text, font, width)
    for _ in range(10):
        middle = (low + high) / 2
        lines = _greedy(text, font, middle)
        if len(lines) <= count:
            best, high = lines, middle
        else:
            low = middle
    return best


def _break_at(text: str, metrics: QFontMetricsF, width: float, marks: str) -> list[str] | None:
    """Break only after ``marks``, into as few and then as even lines as possible; ``None`` if a part is too
    wide on its own."""
    parts: list[str] = []
    current = ""
    for char in text:
        current += char
        if char in marks:
            parts.append(current)
            current = ""
    if current:
        parts.append(current)
    if any(metrics.horizontalAdvance(part.rstrip(marks)) > width for part in parts):
        return None
    best: list[str] | None = None
    best_widest = math.inf
    # Names hold at most 40 characters and a few dots: trying every split is cheap.
    for mask in range(1 << (len(parts) - 1)):
        lines, current = [], parts[0]
        for index, part in enumerate(parts[1:]):
            if mask >> index & 1:
                lines.append(current)
                current = part
            else:
                current += part
        lines.append(current)
        lines = [line.strip() for line in lines if line.strip()]
        widths = [metrics.horizontalAdvance(line) for line in lines]
        if max(widths) > width:
            continue
        widest = max(widths)
        if best is None or len(lines) < len(best) or (len(lines) == len(best) and widest < best_widest):
            best, best_widest = lines, widest
    return best


@dataclass(frozen=True)
class _Caption:
    length: int
    colour: QColor | None
    scale: float


#: Opening brackets and quotes whose full-width glyph has a blank left half: at the start of a left-aligned
#: line they hang into the margin by that blank, so （2025）… lines up with the text above it.
_OPENING = "（【《〈「『“‘〔"


def _finish(
    fonts: Fonts,
    text: str,
    lines: list[str],
    px: int,
    rect: QRectF,
    style: Style,
    fit: Fit,
    caption: _Caption,
) -> SetText:
    font = fonts.font(px, bold=style.bold)
    metrics = QFontMetricsF(font)
    layout = QTextLayout(LINE_SEPARATOR.join(lines), font)
    option = QTextOption()
    option.setWrapMode(QTextOption.WrapMode.NoWrap)
    layout.setTextOption(option)
    if caption.length and caption.colour is not None:
        span = QTextLayout.FormatRange()
        span.start = 0
        span.length = len(text[: caption.length].encode("utf-16-le")) // 2
        char_format = QTextCharFormat()
        char_format.setForeground(caption.colour)
        if caption.scale != 1.0:
            char_format.setFont(fonts.font(max(1, round(px * caption.scale)), bold=style.bold))
        span.format = char_format
        layout.setFormats([span])
    line_height = px * style.line_factor
    block_height = line_height * len(lines)
    top = rect.top()
    if style.valign_centre:
        top += (rect.height() - block_height) / 2
    box = QRectF()
    layout.beginLayout()
    index = 0
    while True:
        line = layout.createLine()
        if not line.isValid():
            break
        line.setLineWidth(1e6)
        natural = line.naturalTextWidth()
        line_text = lines[index] if index < len(lines) else ""
        ink = metrics.tightBoundingRect(line_text)
        # Place by what is really drawn: the advance, widened by any ink that pokes out on either side.
        low = min(0.0, ink.left())
        if style.align is Align.LEFT and line_text[:1] and line_text[0] in _OPENING:
            # Hang the blank half of a full-width opening bracket into the margin.
            low = max(low, ink.left() - 0.05 * px)
        high = max(natural, ink.right())
        if style.align is Align.CENTRE:
            x = rect.left() + (rect.width() - (high - low)) / 2 - low
        elif style.align is Align.RIGHT:
            x = rect.right() - high
        else:
            x = rect.left() - low
        line_top = top + index * line_height
        baseline = line_top + line_height / 2 - fonts.ink_centre * px
        line.setPosition(QPointF(x, baseline - line.ascent()))
        ink = ink.translated(x, baseline)
        line_box = QRectF(x + low, line_top, high - low, line_height)
        box = box.united(line_box).united(ink) if not box.isNull() else line_box.united(ink)
        index += 1
    layout.endLayout()
    runs = layout.glyphRuns()
    families = frozenset(run.rawFont().familyName() for run in runs)
    missing = sum(list(run.glyphIndexes()).count(0) for run in runs)
    return SetText(text, lines, px, box, fit, families, missing, layout)
