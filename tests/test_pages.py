"""Multi-entry pages: layouts, the legibility floor, capacity, grid shapes and the page plan."""

from __future__ import annotations

import datetime as dt

import pytest

from signage.core.pages import (
    COURT_EMS,
    LAYOUTS,
    LEGIBILITY,
    PAGE_QR_PX,
    grid_shape,
    layout_for,
    page_capacity,
    page_frame,
    plan_pages,
    quiet_seconds,
)

QUIET = ((dt.time(0), dt.time(6)),)


@pytest.mark.parametrize(
    ("size", "layout"),
    [((1920, 1080), "landscape"), ((1080, 1920), "portrait"), ((1920, 360), "bar"), ((1024, 768), "four-three"),
     ((384, 192), "led")],
)  # fmt: skip
def test_layout_follows_the_screen_unless_forced(size, layout):
    assert layout_for(*size) == layout
    assert layout_for(*size, "led") == "led"
    with pytest.raises(ValueError, match="not a layout"):
        layout_for(*size, "round")


def test_every_layout_has_a_sourced_floor():
    assert set(LEGIBILITY) == set(LAYOUTS)
    for legibility in LEGIBILITY.values():
        assert legibility.source and legibility.min_text_px >= 16
    # 10 m × 2.5 mm/m on a 65" 1080p screen (0.75 mm pitch): 34 px; twice that at 4K.
    assert LEGIBILITY["landscape"].floor_px(1920, 1080) == 34
    assert LEGIBILITY["landscape"].floor_px(3840, 2160) == 68
    assert LEGIBILITY["led"].floor_px(256, 128) == 16


@pytest.mark.parametrize(
    ("layout", "size", "capacity", "shape"),
    [("landscape", (1920, 1080), 12, (3, 4)), ("landscape", (3840, 2160), 12, (3, 4)),
     ("four-three", (1024, 768), 8, (2, 4)), ("portrait", (1080, 1920), 27, (1, 27)),
     ("bar", (1920, 360), 4, (4, 1)), ("led", (384, 192), 9, (1, 9))],
)  # fmt: skip
def test_capacity_and_the_densest_shape(layout, size, capacity, shape):
    assert page_capacity(layout, *size) == capacity
    assert grid_shape(layout, *size, capacity) == shape


def test_a_grid_card_holds_a_court_name_and_the_footer_the_page_qr():
    # Capacity and renderer agree: cards at least COURT_EMS floor glyphs wide (plus padding), the footer
    # with room for a scannable page QR code.
    for layout, size in (
        ("landscape", (1920, 1080)),
        ("four-three", (1024, 768)),
        ("landscape", (1366, 768)),
    ):
        floor = LEGIBILITY[layout].floor_px(*size)
        frame = page_frame(layout, *size)
        columns, _rows = grid_shape(layout, *size, page_capacity(layout, *size))
        assert (frame.width - (columns - 1) * frame.gap) / columns >= COURT_EMS * floor + floor / 2
        assert frame.footer >= PAGE_QR_PX + 2 * frame.gap
        assert frame.top + frame.height + frame.gap + frame.footer == size[1]


def test_grid_shapes_leave_few_empty_cells():
    assert grid_shape("landscape", 1920, 1080, 2) == (2, 1)
    assert grid_shape("landscape", 1920, 1080, 6) == (3, 2)
    assert grid_shape("landscape", 1920, 1080, 9) == (3, 3)
    with pytest.raises(ValueError, match="at least one"):
        grid_shape("landscape", 1920, 1080, 0)


def test_quiet_seconds_count_overlaps_once():
    assert quiet_seconds(QUIET) == 6 * 3600
    assert quiet_seconds(((dt.time(23), dt.time(5)), (dt.time(4), dt.time(6)))) == 7 * 3600


@pytest.mark.parametrize(("records", "quiet", "per_page"), [(300, (), 1), (300, QUIET, 1), (20_000, (), 3),
                         (20_000, QUIET, 4), (60_000, (), 9), (60_000, QUIET, 12)])  # fmt: skip
def test_the_plan_takes_the_fewest_entries_per_page_that_cover_the_day(records, quiet, per_page):
    plan = plan_pages(records, dwell_s=10, transition_s=1, notices_every=5, quiet=quiet, capacity=12)
    assert plan.entries_per_page == per_page and plan.covered and plan.loop_hours <= 24


def test_an_uncoverable_list_says_so_and_the_operator_can_force():
    plan = plan_pages(200_000, dwell_s=10, notices_every=5, quiet=QUIET, capacity=12)
    assert plan.entries_per_page == 12 and not plan.covered and plan.loop_hours > 24
    assert plan_pages(60_000, dwell_s=10, notices_every=5, capacity=12, forced=1).entries_per_page == 1
    # Never beyond what is legible.
    assert plan_pages(60_000, dwell_s=10, notices_every=None, capacity=12, forced=40).entries_per_page == 12
    assert not plan_pages(10, dwell_s=10, notices_every=None, quiet=((dt.time(0), dt.time(12)),
                          (dt.time(12), dt.time(0))), capacity=1).covered  # fmt: skip


def test_the_players_slide_size_reads_back_and_anything_else_is_ignored():
    from signage.core.pages import player_state, read_slide_size

    assert read_slide_size(player_state("bus-1", 1920, 360, "bar"), "bus-1") == (1920, 360)
    assert read_slide_size(player_state("bus-1", 1920, 360, "bar"), "bus-2") is None  # another screen's
    for damaged in (None, b"", b"\x00", b'{"format": 1}', b"[" * 5000, player_state("bus-1", 0, 360, "bar")):
        assert read_slide_size(damaged, "bus-1") is None
