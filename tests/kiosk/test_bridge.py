"""The takedown check's spacing: at random, never further apart than the operator's bound."""

from __future__ import annotations

import datetime as dt

import pytest
from apscheduler.triggers.interval import IntervalTrigger
from hypothesis import given
from hypothesis import strategies as st

from signage.kiosk.bridge import poll_spacing


@given(st.floats(min_value=5, max_value=3600))
def test_interval_and_jitter_add_up_to_the_bound(seconds):
    interval, jitter = poll_spacing(seconds)
    assert interval + jitter == pytest.approx(seconds)
    assert 1 <= jitter <= max(1, seconds * 0.1)


@pytest.mark.parametrize("seconds", [5.0, 30.0, 600.0])
def test_apschedulers_runs_are_never_further_apart_than_the_bound_and_not_in_step(seconds):
    interval, jitter = poll_spacing(seconds)
    trigger = IntervalTrigger(seconds=interval, jitter=jitter, timezone=dt.UTC)
    start = dt.datetime(2026, 11, 26, tzinfo=dt.UTC)
    previous, now = None, start
    gaps = []
    for _ in range(500):
        fire = trigger.get_next_fire_time(previous, now)
        assert fire is not None
        if previous is not None:
            gaps.append((fire - previous).total_seconds())
        previous, now = fire, fire
    assert max(gaps) <= seconds + 1e-6
    assert max(gaps) - min(gaps) > jitter / 2  # spread, so a fleet that started together drifts apart
