"""The CJK font chain: the family chosen, its coverage (non-BMP included), loud logs, and text fitting."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest
from PyQt6.QtCore import QRectF, QThread
from PyQt6.QtGui import QRawFont, QTextLayout

from signage.kiosk.fonts import (
    Align,
    Fit,
    Fonts,
    Style,
    find_fonts,
    log_coverage,
    set_text,
    texts_of,
    wrap_lines,
)

#: U+10000 LINEAR B SYLLABLE B008 A: no CJK font has it.
UNCOVERED = "\U00010000"


def test_noto_sans_cjk_sc_is_chosen(fonts):
    assert fonts.primary == "Noto Sans CJK SC"
    assert fonts.primary not in fonts.fallbacks
    # The ideographs sit above the baseline: their ink centre is negative.
    assert -0.5 < fonts.ink_centre < -0.2


def test_the_sample_set_is_covered_including_non_bmp(fonts, sample):
    assert "𠮷" in "".join(texts_of(sample.records.values()))
    assert fonts.check_coverage(texts_of(sample.records.values())) == []
    assert fonts.primary_covers("𠮷春妮")
    raw = QRawFont.fromFont(fonts.font(48))
    assert raw.supportsCharacter(0x20BB7)


def test_uncovered_characters_are_found_and_logged_loudly(fonts, caplog):
    with caplog.at_level(logging.ERROR, logger="signage.kiosk.fonts"):
        gaps = log_coverage(fonts, ["林小雨", f"张{UNCOVERED}三"])
    assert len(gaps) == 1
    assert gaps[0].text == f"张{UNCOVERED}三"
    assert gaps[0].missing == (0x10000,)
    assert "U+10000" in caplog.text and "NO FONT COVERS" in caplog.text
    assert all(record.levelno == logging.ERROR for record in caplog.records)


def test_a_missing_preferred_family_falls_back_to_an_installed_cjk_font(qapp, caplog):
    with caplog.at_level(logging.ERROR, logger="signage.kiosk.fonts"):
        fonts = find_fonts(("No Such Font SC", "Noto Sans CJK TC"))
    assert fonts.primary == "Noto Sans CJK TC"
    assert "No Such Font SC" in caplog.text


def test_characters_missing_from_the_primary_come_from_a_cjk_fallback(qapp, fonts):
    """Per-character fallback through our chain: glyphs, never boxes."""
    chain = Fonts("DejaVu Sans", (fonts.primary,), fonts.ink_centre)
    placed = set_text(chain, "AB林小雨", QRectF(0, 0, 800, 100), Style(60, 20))
    assert placed.families == {"DejaVu Sans", fonts.primary}
    for run in _layout_runs(chain, "林小雨"):
        assert run.rawFont().familyName() == fonts.primary
        assert 0 not in run.glyphIndexes()


def _layout_runs(chain: Fonts, text: str):
    layout = QTextLayout(text, chain.font(40))
    layout.beginLayout()
    layout.createLine()
    layout.endLayout()
    return layout.glyphRuns()


def test_non_bmp_name_is_set_from_the_cjk_font(qapp, fonts):
    placed = set_text(fonts, "𠮷春妮", QRectF(0, 0, 600, 200), Style(120, 60, bold=True))
    assert placed.families == {fonts.primary}
    assert placed.lines == ["𠮷春妮"]


def test_text_shrinks_to_one_line_first(qapp, fonts):
    rect = QRectF(0, 0, 500, 200)
    placed = set_text(fonts, "云岭彝族苗族自治州人民法院", rect, Style(80, 30))
    assert len(placed.lines) == 1
    assert 30 <= placed.pixel_size < 80
    assert placed.fit is Fit.OK
    assert rect.contains(placed.rect)


def test_text_wraps_when_shrinking_would_go_below_the_target(qapp, fonts):
    rect = QRectF(0, 0, 400, 300)
    text = "云岭彝族苗族自治州雾溪县澄远河谷现代生态农业与乡村文化旅游综合开发集团有限责任公司"
    placed = set_text(fonts, text, rect, Style(80, 40, balance=True))
    assert len(placed.lines) > 1
    assert placed.pixel_size >= 40
    assert "".join(placed.lines) == text
    assert rect.contains(placed.rect)
    # Balanced: no orphaned last character.
    assert min(len(line) for line in placed.lines) >= len(max(placed.lines, key=len)) // 2


def test_minority_names_break_at_the_middle_dot(qapp, fonts):
    rect = QRectF(0, 0, 1100, 300)
    placed = set_text(
        fonts, "古丽扎尔·吐尔逊阿依·买买提明", rect, Style(100, 80, break_after="·", balance=True)
    )
    # Too wide for one line at 80 px: two lines, broken after a dot, never inside 吐尔逊阿依.
    assert placed.lines == ["古丽扎尔·", "吐尔逊阿依·买买提明"]
    assert placed.pixel_size == 100


def test_elision_is_the_last_resort_and_is_reported(qapp, fonts):
    rect = QRectF(0, 0, 200, 40)
    placed = set_text(fonts, "云岭彝族苗族自治州雾溪县澄远河谷现代生态农业有限公司", rect, Style(30, 24, 20))
    assert placed.fit is Fit.ELIDED
    assert placed.lines[-1].endswith("…")
    assert placed.pixel_size == 20


def test_below_target_is_reported(qapp, fonts):
    rect = QRectF(0, 0, 300, 40)
    placed = set_text(fonts, "云岭彝族苗族自治州中级人民法院", rect, Style(40, 30, 16))
    assert placed.fit is Fit.BELOW_TARGET
    assert 16 <= placed.pixel_size < 30
    assert rect.contains(placed.rect)


@pytest.mark.parametrize("align", list(Align))
def test_alignment_keeps_the_ink_inside(qapp, fonts, align):
    rect = QRectF(10, 10, 300, 60)
    placed = set_text(fonts, "jinan-station-01 · v12", rect, Style(40, 10, align=align, max_lines=1))
    assert rect.contains(placed.rect)


def test_opening_bracket_hangs_into_the_margin(qapp, fonts):
    rect = QRectF(100, 0, 800, 100)
    placed = set_text(fonts, "（2025）鲁0192执5258号", rect, Style(60, 30))
    # The ink of the bracket starts near the left edge, not half an em in.
    assert placed.rect.left() - rect.left() < 0.1 * placed.pixel_size


def test_wrap_lines_for_led_pages(qapp, fonts):
    lines = wrap_lines(fonts, "如有异议请向执行法院申请纠正\n电话 12368", 160, 16)
    assert lines[-1] == "电话 12368"
    assert "".join(lines[:-1]) == "如有异议请向执行法院申请纠正"


def _font_faces_mapped() -> int:
    """How many CJK font faces the process has open: FreeType maps the file once per face it loads."""
    maps = Path("/proc/self/maps").read_text(encoding="utf-8").splitlines()
    return sum(1 for line in maps if "CJK" in line and line.endswith((".ttc", ".otf", ".ttf")))


class _Probe(QThread):
    """A fresh thread (a fresh font cache of its own): counts the faces one call loads, while it runs."""

    def __init__(self, job) -> None:
        super().__init__()
        self._job = job
        self.loaded = -1

    def run(self) -> None:
        before = _font_faces_mapped()
        self._job()
        self.loaded = _font_faces_mapped() - before


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="counts mappings in /proc/self/maps")
def test_checking_a_covered_set_loads_only_the_primary_face(fonts, sample):
    # Each face loaded stays in the loading thread's font cache (about a megabyte of heap each): a set the
    # primary covers must not load the fourteen other Noto CJK faces of the chain.
    assert len(fonts.families) > 2
    probe = _Probe(lambda: fonts.check_coverage(texts_of(sample.records.values())))
    probe.start()
    assert probe.wait(30_000)
    assert probe.loaded <= 1


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="counts mappings in /proc/self/maps")
def test_finding_the_fonts_leaves_no_faces_open(qapp):
    # find_fonts opens every CJK family to probe it; those faces must be gone when it returns (the player
    # would otherwise keep about 18 MiB of them for good).
    probe = _Probe(find_fonts)
    probe.start()
    assert probe.wait(30_000)
    assert probe.loaded == 0
