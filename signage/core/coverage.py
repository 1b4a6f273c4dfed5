"""`signage coverage`: the player's own rotation and page planner, run on a simulated clock (pure).

Not a formula: a :class:`~signage.core.rotation.Rotation` built as the player builds it is asked for a slide,
the clock moves on by one step (the dwell; the crossfade runs inside it), and every entry on every slide
is counted, for ``days`` local days from a local midnight. Quiet hours are asked about like any other
moment (the rotation answers with the quiet slide), and a notice is assumed to exist (the conservative
case: one notice after every ``notice_every`` pages). Each day gets a display set computed that day, as
on a screen.

Cost: one :meth:`Rotation.next_slide` per step (8,640 a day at a 10 s dwell) and one count per entry
shown, so 60,000 records over 4 days take about a second.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from signage.core.display import DisplaySet
from signage.core.pages import PagePlan
from signage.core.playlist import CHINA_STANDARD_TIME
from signage.core.records import DebtorRecord, Notice
from signage.core.rotation import Paging, QuietHours, Rotation, SlideKind

#: The notice assumed present during a simulation (sample text; never shown anywhere).
SIMULATED_NOTICE = Notice("coverage-notice", "示例通知 SAMPLE", "coverage simulation")


@dataclass(frozen=True)
class CoverageReport:
    """What a simulation found.

    Attributes:
        records: Entries in the list.
        days: Local days simulated.
        entries_per_page: Entries per page the planner chose (the largest page seen).
        loop_hours: Measured: wall-clock hours simulated divided by the cycles completed (shows per entry).
        planned_loop_hours: What :func:`signage.core.pages.plan_pages` expects.
        shows_min: The fewest shows of any entry over the whole run.
        shows_max: The most shows of any entry over the whole run.
        daily_min: Per day, the fewest shows of any entry that day.
        every_day: Whether every entry was shown at least once on every day.
        max_gap_hours: The longest wall-clock time between two shows of one entry (``None`` if none was
            shown twice).
        covered: The plan's verdict: the list goes round within ``loop_hours``.
        steps: Slides simulated (quiet ones included).
    """

    records: int
    days: int
    entries_per_page: int
    loop_hours: float
    planned_loop_hours: float
    shows_min: int
    shows_max: int
    daily_min: tuple[int, ...]
    every_day: bool
    max_gap_hours: float | None
    covered: bool
    steps: int

    def to_json(self) -> dict[str, object]:
        """The documented JSON form of ``signage coverage --json``."""
        return {
            "records": self.records,
            "days": self.days,
            "entries_per_page": self.entries_per_page,
            "loop_hours": _hours(self.loop_hours),
            "planned_loop_hours": _hours(self.planned_loop_hours),
            "shows_min": self.shows_min,
            "shows_max": self.shows_max,
            "daily_min": list(self.daily_min),
            "every_day": self.every_day,
            "max_gap_hours": None if self.max_gap_hours is None else _hours(self.max_gap_hours),
            "covered": self.covered,
        }


def _hours(value: float) -> float | None:
    return None if math.isinf(value) else round(value, 2)


def simulate(
    records: tuple[DebtorRecord, ...],
    *,
    days: int,
    dwell_s: float,
    transition_s: float,
    notice_every: int,
    quiet: tuple[tuple[dt.time, dt.time], ...],
    capacity: int,
    forced: int | None = None,
    loop_hours: float = 24.0,
    screen_id: str = "coverage",
    first_day: dt.date = dt.date(2026, 1, 5),
    utc_offset: dt.timedelta = CHINA_STANDARD_TIME,
) -> CoverageReport:
    """Run a screen's rotation over ``days`` local days and count every entry shown.

    Raises:
        ValueError: ``days`` below 1, no records, or an argument the rotation or planner refuses.
    """
    if days < 1:
        raise ValueError("days must be at least 1")
    if not records:
        raise ValueError("there are no records to simulate")
    rotation = Rotation(
        screen_id,
        notice_every=notice_every,
        quiet_hours=tuple(QuietHours(start, end) for start, end in quiet),
        utc_offset=utc_offset,
        paging=Paging(
            capacity=capacity,
            dwell_s=dwell_s,
            transition_s=transition_s,
            forced=forced,
            loop_hours=loop_hours,
        ),
    )
    index = {record.entry_id: number for number, record in enumerate(records)}
    total = [0] * len(records)
    last_seen = [-1.0] * len(records)
    daily_min: list[int] = []
    largest_page = 1
    max_gap = -1.0
    step = max(dwell_s, transition_s)
    midnight = dt.datetime.combine(first_day, dt.time(0), tzinfo=dt.timezone(utc_offset)).astimezone(dt.UTC)
    steps = 0
    for day in range(days):
        day_start = midnight + dt.timedelta(days=day)
        shown = DisplaySet(
            channel="coverage",
            at=day_start,
            playlist_version=1,
            revocations_version=1,
            verified_until=midnight + dt.timedelta(days=days + 1),
            fresh=True,
            records=records,
            notices=(SIMULATED_NOTICE,),
        )
        today = [0] * len(records)
        # Whole steps from the first simulated midnight, so a step that spans midnight stays in its day.
        number = math.ceil(day * 86_400 / step)
        end = math.ceil((day + 1) * 86_400 / step)
        while number < end:
            seconds = number * step
            slide = rotation.next_slide(shown, midnight + dt.timedelta(seconds=seconds))
            number += 1
            if slide.kind is SlideKind.PAGE:
                largest_page = max(largest_page, len(slide.records))
            for record in slide.entries:
                position = index[record.entry_id]
                today[position] += 1
                if last_seen[position] >= 0:
                    max_gap = max(max_gap, seconds - last_seen[position])
                last_seen[position] = seconds
        steps += end - math.ceil(day * 86_400 / step)
        daily_min.append(min(today))
        for position, count in enumerate(today):
            total[position] += count
    plan = rotation.plan
    assert plan is not None  # paging is given, and the records were seen
    cycles = sum(total) / len(records)
    return CoverageReport(
        records=len(records),
        days=days,
        entries_per_page=max(largest_page, plan.entries_per_page if plan.entries_per_page > 1 else 1),
        loop_hours=days * 24 / cycles if cycles else math.inf,
        planned_loop_hours=plan.loop_hours,
        shows_min=min(total),
        shows_max=max(total),
        daily_min=tuple(daily_min),
        every_day=min(daily_min) >= 1,
        max_gap_hours=None if max_gap < 0 else max_gap / 3600,
        covered=plan.covered,
        steps=steps,
    )


def plan_report_lines(plan: PagePlan) -> list[str]:
    """How ``signage status`` prints a page plan, Chinese and English."""
    loop = "∞" if math.isinf(plan.loop_hours) else f"{plan.loop_hours:.1f}"
    lines = [
        f"loop / 轮播一遍: {loop} h, entries per page / 每屏条数: {plan.entries_per_page} "
        f"(legible capacity / 可读上限 {plan.capacity})"
    ]
    if not plan.covered:
        lines.append(
            f"NOT COVERED / 未覆盖: even {plan.entries_per_page} per page the list needs {loop} h, more than "
            f"{plan.target_hours:g} h; not everyone is shown every day / 即使每屏最多条数，名单也无法每天轮播一遍"
        )
    return lines


def sample_records(count: int) -> tuple[DebtorRecord, ...]:
    """``count`` fictional records for ``--records N`` (region 999999 exists nowhere; marked 示例)."""
    from decimal import Decimal

    from signage.core.records import Person, Status

    return tuple(
        DebtorRecord(
            entry_id=f"sample-{number:06d}",
            debtor=Person("示例人员", "9999991980****1234"),
            court="青川市东湖区人民法院（示例）",
            case_number=f"（2025）示0102执{number + 1}号",
            amount=Decimal("1048.67"),
            status=Status.UNFULFILLED,
            listed_on=dt.date(2026, 1, 1),
            term_ends=None,
        )
        for number in range(count)
    )
