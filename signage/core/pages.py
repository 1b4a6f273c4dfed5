"""Multi-entry pages: how many debtors one slide may show legibly, and how many it must show (pure).

Issue 13: a provincial list runs to tens of thousands of entries, more than a day of one-entry slides can
show (8,640 at a 10 s dwell). So a slide may carry a *page* of several entries, as many as the list needs
to go round within ``loop_hours`` (default 24) of wall-clock time, and never more than the screen can show
legibly.

Legibility floor
----------------
Each layout has a viewing distance and a reference screen. The minimum text height is

    letter height (mm) = viewing distance (m) × 2.5 mm/m            (character height × 0.4 = clear
                                                                      readable distance in metres)
    floor (px)         = ceil(letter height (mm) / pixel pitch (mm))

Sources (see :data:`LEGIBILITY` for each layout's figures):

* Spectra Displays, "Text Height & Viewing Distance"
  (https://www.spectra-displays.co.uk/help-and-support/technical-info/text-height-and-viewing-distance):
  "character height in mm multiplied by 0.4 gives the clear readable viewing distance in metres", i.e.
  2.5 mm of character height per metre. It is the stricter of the common sign rules for *reading*: the
  United States Sign Council's rules of thumb put legibility near 1 inch per 30 ft (2.8 mm/m), and the
  sign-trade "1 inch per 10 feet" (8.3 mm/m) is for being *noticed* at a glance, which the one-entry slide's
  large name already does (kiosk/layout.py: name at 8 % of the height).
* Pixel pitch of the reference screens from their size and resolution: a 16:9 panel of diagonal ``d``
  inches is ``d × 9/√337 × 25.4`` mm high, so pitch = that height / rows (65" 1080p: 809.5 mm / 1080 =
  0.750 mm; 55" 1080p: 0.634 mm; 28.6" 1920×360 stretched bus bar: 714 mm / 1920 = 0.372 mm; a 19" 4:3
  1024×768 monitor: 289.6 mm / 768 = 0.377 mm).
* LED text boards: 16 px, the GB 2312 16×16 dot-matrix Chinese font, the smallest in which every common
  character is complete (already the LED rule in kiosk/layout.py, ``LED_MIN_PX``). At the usual P5–P10
  pitch that is 80–160 mm of glyph, legible beyond 30 m by the rule above.

A screen of another resolution is assumed to be the reference screen's physical size at that resolution,
so the floor scales with ``min(width / ref_width, height / ref_height)`` (a 3840×2160 screen gets twice the
pixels of a 1920×1080 one); LED boards are not scaled (one LED is one pixel).

Capacity
--------
:func:`page_capacity` is the densest page whose text stays at or above the floor, from a box model of an
entry at the floor size ``f``. It is the renderer's own geometry: :func:`page_frame` (margins, header,
footer, the gap between cards) is what the Qt side lays out, and the footer always keeps room for the page
QR code (:data:`PAGE_QR_PX`), since a page whose cards are too small for their own codes carries one.

* landscape, four-three: a grid of cards, each ``CARD_LINES`` (4) text lines at ``LINE_FACTOR × f`` plus
  ``CARD_PAD_EMS × f`` of padding high (name and amount; masked ID or code; court; case number; the photo
  beside the first two), and ``CARD_EMS × f`` wide: a court name of ``COURT_EMS`` (16) characters, the
  typical 基层人民法院 such as 青川市东湖区人民法院 with a province in front, stands on one line at the floor;
* portrait: a one-column list, each entry two lines (name and amount; court and case number);
* bar: a horizontal ticker, each entry one line of ``BAR_ENTRY_EMS`` ems;
* led: text lines under a header line, one entry per line.

Plan
----
:func:`plan_pages` chooses the fewest entries per page with which one cycle of the list fits in
``loop_hours`` of wall-clock time, counting quiet hours (no slides), the dwell (the player's crossfade runs
inside the dwell, so a step is ``max(dwell, transition)``) and notices (one after every ``notices_every``
pages). ``loop_hours`` is the average wall-clock time of one cycle: one cycle's showing time divided by
the share of the day that is not quiet. It is at most ``loop_hours`` exactly when one cycle fits in one
day's showing time, so that every debtor is shown at least once in every 24 hours.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass

#: The layout names, the same values as ``signage.kiosk.layout.LayoutKind``.
LAYOUTS = ("landscape", "portrait", "bar", "four-three", "led")
GRID_LAYOUTS = frozenset({"landscape", "four-three"})

#: Line height as a multiple of the glyph size (the kiosk's fonts use the same factor).
LINE_FACTOR = 1.22
#: Text lines of a grid card at its densest, and their padding (two paddings and three thin gaps) in ems.
CARD_LINES = 4
CARD_PAD_EMS = 0.75
#: Characters of a court name a card holds on one line at the floor, and the card's width in ems for it
#: (padding on both sides and a little slack for the font's side bearings).
COURT_EMS = 16
CARD_EMS = 17
#: The page QR's side with its quiet zone: a version-3 code (29 modules, the official query page's link at
#: level M) and 4 modules of quiet zone each side, at the 4 px a module needs to scan (kiosk/qr.py).
PAGE_QR_PX = (29 + 2 * 4) * 4
#: Width over height of the card a page prefers among the legible shapes: cards with fewer entries grow
#: into photo, text column and court lines (kiosk/page_slides.py), about twice as wide as high.
PREFERRED_CARD_ASPECT = 2.0
#: Text lines of a portrait list entry and its width in ems.
LIST_LINES = 2
LIST_EMS = 20
#: Width of one entry of a bar's ticker, in ems (name, amount, court, case number on one line).
BAR_ENTRY_EMS = 22
SECONDS_PER_DAY = 86_400


@dataclass(frozen=True)
class Legibility:
    """The legibility floor of one layout.

    Attributes:
        distance_m: The viewing distance the layout is designed for.
        reference: The reference screen, in words.
        ref_width: Its width in pixels.
        ref_height: Its height in pixels.
        pitch_mm: Its pixel pitch.
        min_text_px: The minimum text height on the reference screen (see the module docstring).
        scales: Whether the floor scales with the resolution (not on LED boards).
        source: Where the figures come from.
    """

    distance_m: float
    reference: str
    ref_width: int
    ref_height: int
    pitch_mm: float
    min_text_px: int
    scales: bool
    source: str

    def floor_px(self, width: int, height: int) -> int:
        """The minimum text height on a ``width`` × ``height`` screen of this layout."""
        if not self.scales:
            return self.min_text_px
        scale = min(width / self.ref_width, height / self.ref_height)
        return max(1, math.ceil(self.min_text_px * scale))


_RULE = "Spectra Displays, Text Height & Viewing Distance: 2.5 mm of character height per metre"


def _floor(distance_m: float, pitch_mm: float) -> int:
    return math.ceil(distance_m * 2.5 / pitch_mm)


#: Per layout: viewing distance, reference screen and the resulting minimum text height in px.
LEGIBILITY: dict[str, Legibility] = {
    "landscape": Legibility(
        distance_m=10.0,
        reference='65" 1920×1080 screen in a station hall, read from 10 m (the near side of 10-20 m)',
        ref_width=1920,
        ref_height=1080,
        pitch_mm=0.750,
        min_text_px=_floor(10.0, 0.750),  # 25 mm / 0.750 mm = 34 px
        scales=True,
        source=_RULE,
    ),
    "four-three": Legibility(
        distance_m=3.0,
        reference='19" 1024×768 monitor in a court lobby, read from 3 m',
        ref_width=1024,
        ref_height=768,
        pitch_mm=0.377,
        min_text_px=_floor(3.0, 0.377),  # 7.5 mm / 0.377 mm = 20 px
        scales=True,
        source=_RULE,
    ),
    "portrait": Legibility(
        distance_m=5.0,
        reference='55" 1080×1920 standing totem, read from 5 m',
        ref_width=1080,
        ref_height=1920,
        pitch_mm=0.634,
        min_text_px=_floor(5.0, 0.634),  # 12.5 mm / 0.634 mm = 20 px
        scales=True,
        source=_RULE,
    ),
    "bar": Legibility(
        distance_m=3.0,
        reference='28.6" 1920×360 stretched bar on a bus, read from 3 m',
        ref_width=1920,
        ref_height=360,
        pitch_mm=0.372,
        min_text_px=_floor(3.0, 0.372),  # 7.5 mm / 0.372 mm = 21 px
        scales=True,
        source=_RULE,
    ),
    "led": Legibility(
        distance_m=30.0,
        reference="P5 LED text board (384×192), one LED per pixel",
        ref_width=384,
        ref_height=192,
        pitch_mm=5.0,
        min_text_px=16,
        scales=False,
        source="GB 2312 16×16 dot-matrix font, the smallest complete Chinese glyphs (kiosk LED_MIN_PX)",
    ),
}


def layout_for(width: int, height: int, forced: str | None = None) -> str:
    """The layout for a screen of ``width`` × ``height`` pixels, unless the screen's config forces one.

    Raises:
        ValueError: ``forced`` names no layout.
    """
    if forced is not None:
        if forced not in LAYOUTS:
            raise ValueError(f"{forced!r} is not a layout; use one of {', '.join(LAYOUTS)}")
        return forced
    if height < 300 or width < 480:
        return "led"
    aspect = width / height
    if aspect >= 3:
        return "bar"
    if aspect < 1:
        return "portrait"
    if aspect < 1.5:
        return "four-three"
    return "landscape"


def _check(layout: str, width: int, height: int) -> int:
    if layout not in LEGIBILITY:
        raise ValueError(f"{layout!r} is not a layout; use one of {', '.join(LAYOUTS)}")
    if width < 1 or height < 1:
        raise ValueError(f"a screen of {width}×{height} pixels has no room")
    return LEGIBILITY[layout].floor_px(width, height)


@dataclass(frozen=True)
class PageFrame:
    """The frame of a grid or list page (pixels): header on top, footer below, entries between.

    Attributes:
        margin: Left and right margin.
        gap: Between the bands and the entries, and between entries.
        header: Height of the header band.
        footer: Height of the footer band (with room for the page QR code when asked for).
        top: Where the entries begin.
        width: Width the entries share.
        height: Height the entries share.
    """

    margin: int
    gap: int
    header: int
    footer: int
    top: int
    width: int
    height: int


def page_frame(layout: str, width: int, height: int, *, qr_side: int | None = PAGE_QR_PX) -> PageFrame:
    """The frame of a grid (landscape, four-three) or list (portrait) page, as the renderer draws it.

    Args:
        layout: The layout.
        width: Pixels.
        height: Pixels.
        qr_side: The page QR code's side, quiet zone included, that the footer must hold; ``None`` for a
            page without one. :func:`page_capacity` keeps room for :data:`PAGE_QR_PX`.
    """
    floor = _check(layout, width, height)
    u = (width if layout == "portrait" else height) / 100
    margin = round(max(1.5 * u, 0.015 * width))
    gap = round(0.9 * u)
    header = round((5 if layout == "portrait" else 7) * height / 100)
    footer = max(round(7 * height / 100), round(2 * floor * LINE_FACTOR + gap))
    if qr_side is not None:
        footer = max(footer, qr_side + 2 * gap)
    top = header + gap
    return PageFrame(margin, gap, header, footer, top, width - 2 * margin, height - footer - gap - top)


def _cell(layout: str, floor: int) -> tuple[float, float]:
    """Width and height (px) one entry needs at the floor size."""
    if layout in GRID_LAYOUTS:
        return CARD_EMS * floor, (CARD_LINES * LINE_FACTOR + CARD_PAD_EMS) * floor
    if layout == "portrait":
        return LIST_EMS * floor, (LIST_LINES * LINE_FACTOR + 0.5) * floor
    if layout == "bar":
        return BAR_ENTRY_EMS * floor, LINE_FACTOR * floor
    return 0.0, floor + 2.0  # led: a line of glyphs and a 2 px gap


def _area(layout: str, width: int, height: int, floor: int) -> tuple[float, float]:
    """The part of the slide entries may use (for a grid, one gap more: each card is counted with one)."""
    if layout in GRID_LAYOUTS:
        frame = page_frame(layout, width, height)
        return float(frame.width + frame.gap), float(frame.height + frame.gap)
    if layout == "portrait":
        frame = page_frame(layout, width, height)
        return float(frame.width), float(frame.height)
    if layout == "led":
        return float(width), float(height - floor - 2)  # the header line
    return float(width), float(height)


def page_capacity(layout: str, width: int, height: int) -> int:
    """The densest legible page for this screen: at most this many entries per page, and at least 1.

    Raises:
        ValueError: an unknown layout or an empty screen.
    """
    floor = _check(layout, width, height)
    cell_w, cell_h = _cell(layout, floor)
    area_w, area_h = _area(layout, width, height, floor)
    if layout in GRID_LAYOUTS:
        gap = page_frame(layout, width, height).gap
        return max(1, int(area_w // (cell_w + gap))) * max(1, int(area_h // (cell_h + gap)))
    rows = max(1, int(area_h // cell_h))
    if layout == "portrait" or layout == "led":
        return rows
    return max(1, int(area_w // cell_w))  # bar: one row


def grid_shape(layout: str, width: int, height: int, n: int) -> tuple[int, int]:
    """Columns and rows for a page of ``n`` entries on this screen.

    Grid layouts get the shape with the fewest empty cells among those whose cells hold a legible card,
    then the one whose cells are closest to :data:`PREFERRED_CARD_ASPECT`; portrait and led pages are one column,
    a bar's ticker one row. For ``n`` above :func:`page_capacity` no shape is legible: the closest is
    returned, and the caller must not draw more than the capacity.

    Raises:
        ValueError: ``n`` below 1, an unknown layout or an empty screen.
    """
    if n < 1:
        raise ValueError("a page holds at least one entry")
    floor = _check(layout, width, height)
    if layout in ("portrait", "led"):
        return 1, n
    if layout == "bar":
        return n, 1
    cell_w, cell_h = _cell(layout, floor)
    gap = page_frame(layout, width, height).gap
    cell_w, cell_h = cell_w + gap, cell_h + gap
    area_w, area_h = _area(layout, width, height, floor)

    def score(cols: int) -> tuple[bool, int, float]:
        rows = math.ceil(n / cols)
        fits = area_w / cols >= cell_w and area_h / rows >= cell_h
        aspect = abs(math.log((area_w / cols) / (area_h / rows) / PREFERRED_CARD_ASPECT))
        return not fits, cols * rows - n, aspect

    cols = min(range(1, n + 1), key=score)
    return cols, math.ceil(n / cols)


@dataclass(frozen=True)
class PagePlan:
    """How a list is paged on one screen.

    Attributes:
        entries_per_page: Entries on each page (1: one-entry slides, as before issue 13).
        loop_hours: Average wall-clock hours one cycle of the list takes (quiet hours included).
        covered: Whether ``loop_hours`` is within the target: every entry is shown every day. False when
            even the densest legible page (or the page size the operator forced) cannot get there.
        pages_per_cycle: Pages in one cycle.
        capacity: The densest legible page (the upper bound used).
        target_hours: The ``loop_hours`` asked for.
    """

    entries_per_page: int
    loop_hours: float
    covered: bool
    pages_per_cycle: int = 0
    capacity: int = 1
    target_hours: float = 24.0

    def to_json(self) -> dict[str, object]:
        """The plan as ``signage status --json`` and the heartbeat report it."""
        return {
            "entries_per_page": self.entries_per_page,
            "loop_hours": None if math.isinf(self.loop_hours) else round(self.loop_hours, 3),
            "covered": self.covered,
            "capacity": self.capacity,
        }


def quiet_seconds(quiet: Iterable[tuple[dt.time, dt.time]]) -> int:
    """Seconds of the day inside any of the quiet windows ``(start, end)`` (``end < start``: past midnight).

    Overlapping windows count once.
    """
    spans: list[tuple[int, int]] = []
    for start, end in quiet:
        a = start.hour * 3600 + start.minute * 60 + start.second
        b = end.hour * 3600 + end.minute * 60 + end.second
        spans += [(a, b)] if a < b else [(a, SECONDS_PER_DAY), (0, b)]
    total, reach = 0, 0
    for a, b in sorted(spans):
        a = max(a, reach)
        if b > a:
            total += b - a
            reach = b
    return total


def plan_pages(
    records: int,
    *,
    dwell_s: float,
    transition_s: float = 0.0,
    notices_every: int | None,
    quiet: Iterable[tuple[dt.time, dt.time]] = (),
    loop_hours: float = 24.0,
    capacity: int,
    forced: int | None = None,
) -> PagePlan:
    """Entries per page for ``records`` entries so that one cycle takes at most ``loop_hours``.

    Args:
        records: Entries in the list.
        dwell_s: Seconds each slide stands.
        transition_s: The crossfade; it runs inside the dwell, so it only counts when longer.
        notices_every: One notice after this many pages; ``None`` when there are no notices.
        quiet: Local quiet windows ``(start, end)``, without slides.
        loop_hours: The longest a cycle may take, in wall-clock hours.
        capacity: :func:`page_capacity` of the screen.
        forced: The operator's ``entries_per_page`` (1 forces one-entry slides); kept within the capacity.

    Raises:
        ValueError: a negative count, a dwell or loop of zero, a capacity below 1, or ``notices_every``
            or ``forced`` below 1.
    """
    if records < 0 or dwell_s <= 0 or loop_hours <= 0 or capacity < 1:
        raise ValueError("records must be ≥ 0, dwell_s and loop_hours > 0, capacity ≥ 1")
    if (notices_every is not None and notices_every < 1) or (forced is not None and forced < 1):
        raise ValueError("notices_every and forced must be at least 1")
    step = max(dwell_s, transition_s)
    showing = SECONDS_PER_DAY - quiet_seconds(quiet)

    def hours(per_page: int) -> tuple[int, float]:
        pages = math.ceil(records / per_page)
        steps = pages + (pages / notices_every if notices_every else 0)
        if not showing:
            return pages, math.inf if pages else 0.0
        return pages, steps * step / showing * 24

    if forced is not None:
        chosen = min(forced, capacity)
    else:
        chosen = next((n for n in range(1, capacity + 1) if hours(n)[1] <= loop_hours), capacity)
    pages, loop = hours(chosen)
    return PagePlan(
        entries_per_page=chosen,
        loop_hours=loop,
        covered=loop <= loop_hours,
        pages_per_cycle=pages,
        capacity=capacity,
        target_hours=loop_hours,
    )


#: The player's record of its screen (cache folder): what ``signage status`` plans pages for.
PLAYER_STATE_FILE = "player-state.json"
_PLAYER_STATE_FORMAT = 1
_MAX_PLAYER_STATE_BYTES = 4096


def player_state(screen_id: str, width: int, height: int, layout: str) -> bytes:
    """The document the player saves as :data:`PLAYER_STATE_FILE`: its real slide size and layout."""
    document = {
        "format": _PLAYER_STATE_FORMAT,
        "screen_id": screen_id,
        "slide_size": [width, height],
        "layout": layout,
    }
    return json.dumps(document, separators=(",", ":")).encode()


def read_slide_size(data: bytes | None, screen_id: str) -> tuple[int, int] | None:
    """The slide size in a :func:`player_state` document of ``screen_id``; ``None`` when absent, damaged,
    too large, foreign or implausible (then the caller assumes a size and says so)."""
    if data is None or len(data) > _MAX_PLAYER_STATE_BYTES:
        return None
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):
        return None
    if (
        not isinstance(document, dict)
        or document.get("format") != _PLAYER_STATE_FORMAT
        or document.get("screen_id") != screen_id
    ):
        return None
    size = document.get("slide_size")
    if (
        not isinstance(size, list)
        or len(size) != 2
        or not all(type(value) is int and 1 <= value <= 16_384 for value in size)
    ):
        return None
    return size[0], size[1]


def thumbnail_name(entry_id: str, size: tuple[int, int]) -> str:
    """``e-0123abcd-1920x1080.png``: an entry's slide picture at a size, as the console asks for it
    (``signage.operator.publish.thumbnails``) and the renderer writes it (``signage.kiosk.thumbnails``)."""
    return f"{entry_id}-{size[0]}x{size[1]}.png"
