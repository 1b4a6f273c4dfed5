"""Every slide type at every layout, rendered off screen and checked box by box.

Each render must be non-blank, keep every drawn box inside the frame and inside its region, let no two boxes
overlap, set the name in the CJK font, and meet the size rules of its layout (8 % of the height for name and
amount on 16:9, 16 px glyphs and no photo or QR on LED boards).

Set ``SIGNAGE_SCREENSHOTS=docs/screenshots`` to (re)write the documentation PNGs with
:func:`test_write_screenshots`.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import statistics
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from PyQt6.QtCore import QRectF, QSize, Qt
from PyQt6.QtGui import QColor, QImage, QRawFont

from signage.core.records import DebtorRecord, Notice, Organisation, Person, Status
from signage.core.rules.amount import MAXIMUM, display_amount
from signage.core.rules.text import MAX_CONDUCT_CHARS
from signage.kiosk import qr
from signage.kiosk.fonts import Fit
from signage.kiosk.layout import LayoutKind, SlideKind, choose_layout, compute_layout
from signage.kiosk.slides import (
    CONDUCT_CHARS,
    CORRECTION,
    ItemKind,
    RenderedSlide,
    SlideRenderer,
    render_contact_sheet,
    screen_mark,
)

from .conftest import MARK, TODAY

SIZES = [
    (1920, 1080),
    (3840, 2160),
    (1366, 768),
    (1080, 1920),
    (1920, 540),
    (1920, 360),
    (1024, 768),
    (384, 192),
    (256, 128),
]
KINDS = {
    (1920, 1080): LayoutKind.LANDSCAPE,
    (3840, 2160): LayoutKind.LANDSCAPE,
    (1366, 768): LayoutKind.LANDSCAPE,
    (1080, 1920): LayoutKind.PORTRAIT,
    (1920, 540): LayoutKind.BAR,
    (1920, 360): LayoutKind.BAR,
    (1024, 768): LayoutKind.FOUR_THREE,
    (384, 192): LayoutKind.LED,
    (256, 128): LayoutKind.LED,
}
#: Fictional sample entries that stress the layouts.
CASES = {
    "person": "S000001",  # photo, QR, phone
    "person-minority-name": "S000006",  # 古丽扎尔·吐尔逊阿依·买买提明 and a long court name
    "person-non-bmp": "S000004",  # 𠮷春妮: U+20BB7 outside the BMP
    "person-no-photo": "S000027",  # the photo is missing from the sample folder
    "organisation-longest": "S000003",  # 61 characters
    "organisation-non-bmp": "S000009",  # 金穗市𠮷祥冷链物流有限公司
    "organisation-no-qr-no-phone": "S000012",  # second-longest name, QR link and phone removed below
    # Every field of issue 10 at its longest: the largest amount still owed, a 300-character conduct, and
    # for the person no fixed term (ground (1)). See OWED below.
    "person-owed-longest": "S000006",
    "organisation-owed-longest": "S000003",
    "person-owed-short-conduct": "S000002",  # 部分未履行, a conduct that fits whole
}
#: 失信被执行人行为具体情形 as long as a playlist carries it (fictional wording, the SPC's usual phrases).
LONGEST_CONDUCT = (
    "有履行能力而拒不履行生效法律文书确定义务，隐匿、转移财产逃避执行，违反财产报告制度，"
    "违反限制消费令乘坐G字头动车组列车一等座，以伪造证据、暴力、威胁等方法妨碍、抗拒执行。" * 4
)[:MAX_CONDUCT_CHARS]
OWED = {
    "person-owed-longest": {
        "unpaid": MAXIMUM - Decimal("0.01"),
        "conduct": LONGEST_CONDUCT,
        "term_ends": None,
        "filed_on": dt.date(2025, 3, 1),
    },
    "organisation-owed-longest": {
        "unpaid": MAXIMUM - Decimal("0.01"),
        "conduct": LONGEST_CONDUCT,
        "filed_on": dt.date(2025, 3, 1),
    },
    "person-owed-short-conduct": {"unpaid": Decimal("12345.60"), "conduct": "违反财产报告制度"},
}
NOTICE = Notice(
    "n-1",
    "春运期间温馨提示",
    "旅客朋友们：春运期间车站客流量大，请提前到站、有序候车。\n如需帮助，请联系车站服务台或拨打12306。",
)
SLIDES = [*CASES, "notice", "standby"]


def render(renderer: SlideRenderer, sample, case: str, size: tuple[int, int]) -> RenderedSlide:
    if case == "notice":
        slide = renderer.render_notice(NOTICE, QSize(*size))
    elif case == "standby":
        slide = renderer.render_standby(QSize(*size))
    else:
        record = case_record(sample, case)
        slide = renderer.render_record(record, QSize(*size), TODAY)
    return slide


def case_record(sample, case: str) -> DebtorRecord:
    record = sample.records[CASES[case]]
    if case == "organisation-no-qr-no-phone":
        record = replace(record, qr_url=None, court_phone=None)
    return replace(record, **OWED.get(case, {}))


def overlap(a: QRectF, b: QRectF) -> bool:
    """More than a hair of common area (anti-aliased edges may touch)."""
    common = a.intersected(b)
    return common.width() > 0.5 and common.height() > 0.5


def inside(inner: QRectF, outer: QRectF, tolerance: float = 0.5) -> bool:
    return (
        inner.left() >= outer.left() - tolerance
        and inner.top() >= outer.top() - tolerance
        and inner.right() <= outer.right() + tolerance
        and inner.bottom() <= outer.bottom() + tolerance
    )


def luminance_spread(image: QImage) -> float:
    small = image.scaled(
        64, 36, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation
    )
    values = [
        QColor(small.pixel(x, y)).lightness() for x in range(small.width()) for y in range(small.height())
    ]
    return statistics.pstdev(values)


@pytest.mark.parametrize("size", SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
@pytest.mark.parametrize("case", SLIDES)
def test_slide_renders_cleanly(qapp, renderer, fonts, sample, case, size):
    slide = render(renderer, sample, case, size)
    width, height = size
    frame = QRectF(0, 0, width, height)
    assert slide.layout.kind is KINDS[size]
    assert len(slide.pages) >= 1
    if slide.layout.kind is not LayoutKind.LED:
        assert len(slide.pages) == 1
    for page in slide.pages:
        assert page.image.size() == QSize(width, height)
        assert luminance_spread(page.image) > 5, "the page is blank"
        for item in page.items:
            assert inside(item.rect, frame), f"{item.label} leaves the frame: {item.rect}"
            assert inside(item.rect, item.region), (
                f"{item.label} leaves its region: {item.rect} ⊄ {item.region}"
            )
            assert item.fit is not Fit.ELIDED, f"{item.label} was elided: {item.text}"
            assert item.missing_glyphs == 0, f"{item.label} drew a box for a missing glyph"
        for a, b in itertools.combinations(page.items, 2):
            assert not overlap(a.rect, b.rect), f"{a.label} overlaps {b.label}"
    labels = [item.label for page in slide.pages for item in page.items]
    assert "header.sample" in labels, "sample data must carry the 示例 / SAMPLE mark"
    assert all(
        "示例" in item.text for page in slide.pages for item in page.items if item.label == "header.sample"
    )


@pytest.mark.parametrize("size", SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
@pytest.mark.parametrize("case", list(CASES))
def test_debtor_slide_content(qapp, renderer, fonts, sample, case, size):
    record = case_record(sample, case)
    slide = render(renderer, sample, case, size)
    items = [item for page in slide.pages for item in page.items]
    by_label = {}
    for item in items:
        by_label.setdefault(item.label, []).append(item)
    text = "".join(item.text for item in items)
    led = slide.layout.kind is LayoutKind.LED

    # The name: whole, in the CJK font, every glyph real (index 0 is the "missing glyph" box).
    assert "".join(item.text for item in by_label["name"][:1]).replace("\u2028", "") == record.debtor.name
    assert slide.name_families == {fonts.primary}
    raw = QRawFont.fromFont(fonts.font(64, bold=True))
    assert raw.familyName() == fonts.primary
    assert all(raw.supportsCharacter(ord(char)) for char in record.debtor.name)
    assert 0 not in raw.glyphIndexesForString(record.debtor.name)

    # Fields exactly as received; the amount in the display form: what is still owed when known, labelled so.
    label, owed = record.amount_shown
    assert display_amount(owed) in _joined(by_label["amount"])
    assert label in text
    if record.unpaid is not None:
        assert "执行标的" not in text and display_amount(record.amount) not in text
    assert record.case_number in text
    assert record.court in text.replace("\u2028", "") or record.court in _joined(by_label["court"])
    assert record.listed_on.isoformat() in text and "发布日期" in text
    # The term: its end beside the publication date, or nothing at all for ground (1).
    if record.term_ends is None:
        assert "期限" not in text
    else:
        assert f"期限至 {record.term_ends.isoformat()}" in text or (
            _joined(by_label["term"]) == record.term_ends.isoformat() and "期限至" in text
        )
    # The SPC's own words.
    assert by_label["status"][0].text == record.status.value
    assert record.status.value in ("全部未履行", "部分未履行")
    # The conduct: shown (cut with … when it cannot be shown whole), or left out and reported on bars and LED.
    compromises = dict(slide.compromises)
    if record.conduct is None:
        assert "conduct" not in by_label and "conduct" not in compromises
    elif slide.layout.kind in (LayoutKind.BAR, LayoutKind.LED):
        assert "conduct" not in by_label
        assert compromises["conduct"] is Fit.OMITTED
    else:
        shown = _joined(by_label["conduct"])
        assert "失信行为具体情形" in _joined(by_label["conduct.caption"])
        if compromises.get("conduct") is Fit.SHORTENED:
            assert shown.endswith("…") and record.conduct.startswith(shown[:-1])
            assert len(shown) <= CONDUCT_CHARS[slide.layout.kind] + 1
        else:
            assert shown == record.conduct
        assert by_label["conduct"][0].pixel_size <= by_label["case"][0].pixel_size
    if isinstance(record.debtor, Person):
        assert record.debtor.id_masked in text
    else:
        assert isinstance(record.debtor, Organisation)
        assert record.debtor.code in text
        assert record.debtor.legal_representative in text

    # The footer: data date, the correction line (with the phone when given), the screen mark.
    assert TODAY.isoformat() in _joined(by_label["footer.date"])
    correction = _joined(by_label["footer.correction"])
    assert CORRECTION in correction
    if record.court_phone:
        assert record.court_phone in correction
    else:
        assert "电话" not in correction
    assert _joined(by_label["footer.mark"]) == MARK

    kinds = {item.kind for item in items}
    if led:
        assert ItemKind.PHOTO not in kinds and ItemKind.QR not in kinds
        for item in items:
            if item.kind in (ItemKind.TEXT, ItemKind.BADGE):
                assert item.pixel_size >= 16, f"{item.label} at {item.pixel_size} px on an LED board"
        return
    if isinstance(record.debtor, Person):
        assert ItemKind.PHOTO in kinds
        photo = by_label["photo"][0]
        assert (photo.text == "placeholder") == (record.photo is None)
    else:
        assert ItemKind.PHOTO not in kinds
    if record.qr_url:
        matrix = qr.qr_matrix(record.qr_url)
        code = by_label["qr"][0].rect
        module = code.width() / (matrix.size + 2 * qr.QUIET_MODULES)
        assert module == int(module) and module >= qr.MIN_MODULE_PX
        assert code.width() >= qr.MIN_SIDE_PX
    else:
        assert ItemKind.QR not in kinds
    if slide.layout.kind is LayoutKind.LANDSCAPE:
        floor = 0.08 * size[1]
        assert by_label["name"][0].pixel_size >= floor
        assert by_label["amount"][0].pixel_size >= floor
    if isinstance(record.debtor, Person):
        # The name is the largest text of a person's slide.
        assert by_label["name"][0].pixel_size >= max(item.pixel_size for item in items)


def _joined(items) -> str:
    return "".join(item.text for item in items).replace("\u2028", "")


@pytest.mark.parametrize("size", SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
@pytest.mark.parametrize("slide", list(SlideKind))
@pytest.mark.parametrize("with_qr", [True, False])
@pytest.mark.parametrize(("term", "conduct"), [(False, False), (True, False), (False, True), (True, True)])
def test_layout_regions_are_disjoint_and_in_frame(size, slide, with_qr, term, conduct):
    layout = compute_layout(slide, *size, qr=with_qr, term=term, conduct=conduct)
    frame = layout.frame
    for name, region in layout.regions.items():
        assert region.width() > 0 and region.height() > 0, name
        assert inside(region, frame, 0.01), f"{name} leaves the frame"
    for (a, ra), (b, rb) in itertools.combinations(layout.regions.items(), 2):
        assert not overlap(ra, rb), f"{a} overlaps {b}"
    if layout.kind is LayoutKind.LED:
        assert "photo" not in layout.regions and "qr" not in layout.regions
    roomy = layout.kind not in (LayoutKind.BAR, LayoutKind.LED)
    debtor = slide in (SlideKind.PERSON, SlideKind.ORGANISATION)
    assert ("conduct" in layout.regions) == (conduct and roomy and debtor)
    assert ("term" in layout.regions) == (term and roomy and debtor)


@pytest.mark.parametrize(
    ("size", "kind"),
    [
        *KINDS.items(),
        ((1280, 800), LayoutKind.LANDSCAPE),
        ((768, 1024), LayoutKind.PORTRAIT),
        ((1280, 1024), LayoutKind.FOUR_THREE),
        ((3840, 1080), LayoutKind.BAR),
        ((470, 900), LayoutKind.LED),
    ],
)
def test_layout_is_chosen_from_the_size(size, kind):
    assert choose_layout(*size) is kind


def test_layout_can_be_forced():
    assert choose_layout(1920, 1080, "led") is LayoutKind.LED
    with pytest.raises(ValueError):
        choose_layout(1920, 1080, "hologram")


def test_stress_names_never_clip(qapp, renderer, sample):
    """The longest names the rules allow: they shrink, wrap, and only as a last resort elide (reported)."""
    person = sample.records["S000006"]
    longest_person = replace(person, debtor=replace(person.debtor, name="阿" * 18 + "·" + "买" * 21))
    organisation = sample.records["S000003"]
    longest_organisation = replace(
        organisation, debtor=replace(organisation.debtor, name="澄远河谷生态农业" * 12 + "有限公司")
    )
    for record, size in itertools.product((longest_person, longest_organisation), SIZES):
        slide = renderer.render_record(record, QSize(*size), TODAY)
        frame = QRectF(0, 0, *size)
        for page in slide.pages:
            for item in page.items:
                assert inside(item.rect, frame) and inside(item.rect, item.region), item.label
                if item.kind is ItemKind.TEXT and item.fit is not Fit.ELIDED:
                    assert "…" not in item.text
            for a, b in itertools.combinations(page.items, 2):
                assert not overlap(a.rect, b.rect), f"{a.label} overlaps {b.label} at {size}"
        names = "".join(item.text for page in slide.pages for item in page.items if item.label == "name")
        elided = ("name", Fit.ELIDED) in slide.compromises
        assert elided or names.replace("\u2028", "") == record.debtor.name


def test_led_pages_show_every_field_and_keep_the_name(qapp, renderer, sample):
    record = sample.records["S000001"]
    slide = renderer.render_record(record, QSize(256, 128), TODAY)
    assert len(slide.pages) > 1
    for page in slide.pages:
        assert page.item("name") is not None, "every page names the debtor"
        assert page.item("header.page") is not None
    labels = {item.label for page in slide.pages for item in page.items}
    assert {"status", "amount", "id", "court", "case", "listed", "footer.date", "footer.correction"} <= labels


@pytest.mark.parametrize(
    "size", [(1920, 1080), (1920, 360), (384, 192)], ids=lambda size: f"{size[0]}x{size[1]}"
)
def test_a_status_from_an_older_playlist_is_shown_in_the_spc_words(qapp, renderer, sample, size):
    record = replace(sample.records["S000001"], status=Status.from_wire("部分履行"))
    slide = renderer.render_record(record, QSize(*size), TODAY)
    statuses = [item.text for page in slide.pages for item in page.items if item.label == "status"]
    assert statuses == ["部分未履行"]


def test_a_character_no_font_has_is_reported_and_logged(qapp, renderer, sample, caplog):
    record = sample.records["S000001"]
    strange = replace(record, debtor=replace(record.debtor, name="林\U00010000雨"))
    slide = renderer.render_person(strange, QSize(1920, 1080), TODAY)
    assert slide.missing_glyphs == ("name",)
    assert "drawn as boxes" in caplog.text


def test_missing_or_broken_photo_gives_a_placeholder(qapp, fonts, sample):
    record = sample.records["S000001"]
    broken = SlideRenderer(fonts, mark=MARK, sample=False, photos=lambda ref: b"not a jpeg")
    slide = broken.render_person(record, QSize(1920, 1080), TODAY)
    photo = next(item for item in slide.items if item.label == "photo")
    assert photo.text == "placeholder"
    assert all(item.label != "header.sample" for item in slide.items), "no sample mark on real data"


def test_qr_is_left_out_where_it_cannot_be_scanned():
    matrix = qr.qr_matrix("https://zxgk.court.gov.cn/shixin/")
    assert qr.plan(matrix, QRectF(0, 0, 100, 100)) is None
    square = qr.plan(matrix, QRectF(10.3, 20.7, 300, 300))
    assert square is not None
    modules = matrix.size + 2 * qr.QUIET_MODULES
    assert square.width() % modules == 0 and square.width() // modules >= qr.MIN_MODULE_PX
    assert square.left() == int(square.left()) and square.top() == int(square.top())


def test_qr_is_drawn_crisp(qapp):
    from PyQt6.QtGui import QPainter

    matrix = qr.qr_matrix("https://zxgk.court.gov.cn/shixin/")
    image = QImage(400, 400, QImage.Format.Format_RGB32)
    image.fill(QColor("#0b1320"))
    square = qr.plan(matrix, QRectF(0, 0, 400, 400))
    assert square is not None
    painter = QPainter(image)
    qr.draw(painter, matrix, square)
    painter.end()
    colours = {
        image.pixel(x, y)
        for x in range(int(square.left()), int(square.right()))
        for y in range(int(square.top()), int(square.bottom()))
    }
    assert colours == {QColor("black").rgb(), QColor("white").rgb()}
    module = int(square.width()) // (matrix.size + 2 * qr.QUIET_MODULES)
    # The quiet zone is light all round.
    for offset in range(qr.QUIET_MODULES * module):
        assert QColor(image.pixel(int(square.left()) + offset, int(square.top()) + offset)) == QColor("white")


def test_contact_sheet_tiles_images(qapp):
    images = []
    for colour in ("red", "green", "blue"):
        image = QImage(200, 100, QImage.Format.Format_RGB32)
        image.fill(QColor(colour))
        images.append(image)
    sheet = render_contact_sheet(images, 2, cell_width=100, gap=10)
    assert (sheet.width(), sheet.height()) == (10 + 2 * 110, 10 + 2 * 60)
    assert QColor(sheet.pixel(20, 20)) == QColor("red")
    assert QColor(sheet.pixel(130, 20)) == QColor("green")
    assert QColor(sheet.pixel(20, 80)) == QColor("blue")
    with pytest.raises(ValueError):
        render_contact_sheet([], 2)


def test_screen_mark():
    assert screen_mark("jinan-01", 12) == "jinan-01 · v12"
    assert screen_mark("jinan-01", None) == "jinan-01 · v–"


SCREENSHOT_SIZES = [(1920, 1080), (1080, 1920), (1920, 360), (384, 192)]
#: The person owes a part (未履行金额) and has a long conduct and no fixed term; the organisation has 执行标的 and a term.
SCREENSHOT_CASES = {
    "person": "person-owed-longest",
    "organisation": "organisation-longest",
    "notice": "notice",
    "standby": "standby",
}


@pytest.mark.skipif(
    not os.environ.get("SIGNAGE_SCREENSHOTS"), reason="set SIGNAGE_SCREENSHOTS=docs/screenshots"
)
def test_write_screenshots(qapp, renderer, sample):
    target = Path(os.environ["SIGNAGE_SCREENSHOTS"])
    target.mkdir(parents=True, exist_ok=True)
    for (name, entry), size in itertools.product(SCREENSHOT_CASES.items(), SCREENSHOT_SIZES):
        if entry == "notice":
            slide = renderer.render_notice(NOTICE, QSize(*size))
        elif entry == "standby":
            slide = renderer.render_standby(QSize(*size))
        else:
            slide = renderer.render_record(case_record(sample, entry), QSize(*size), TODAY)
        # LED pages side by side, at their true pixel size, as the board shows them one after another.
        image = (
            slide.image
            if len(slide.pages) == 1
            else render_contact_sheet([page.image for page in slide.pages], 4, gap=8)
        )
        path = target / f"{name}-{size[0]}x{size[1]}.png"
        assert image.save(str(path), "PNG")
        assert path.stat().st_size < 600_000
