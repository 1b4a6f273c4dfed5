"""The page ``make bench`` writes: sections in the issue's order, missed targets named, failures shown."""

from __future__ import annotations

import json
from pathlib import Path

from bench import figures
from bench.__main__ import Outcome, Step, kept, render
from bench.figures import Figure, at_least, at_most, command_line


def _figure(section: str, name: str, met: bool | None = None, shortfall: str = "") -> Figure:
    return Figure(
        section, name, "1.0 s", "python -m bench.x", "< 2 s" if met is not None else "", met, shortfall
    )


def test_sections_follow_the_issue_and_missed_targets_are_listed() -> None:
    outcomes = [
        Outcome(Step("day"), 0, 3.0, (_figure("A day compressed", "growth", True),), ""),
        Outcome(
            Step("chromium"),
            0,
            5.0,
            (_figure("Against a Chromium kiosk", "PSS ratio", False, "0.80× short (20 % below the target)"),),
            "",
        ),
        Outcome(Step("import_speed"), 0, 1.0, (_figure("Import (35,000 rows)", "rows | s"),), ""),
    ]
    page = render(["machine: test"], outcomes, "## Why\n\nBecause.")
    chromium, day, extra = (page.index(f"## {name}") for name in ("Against", "A day", "Import"))
    assert chromium < day < extra
    assert "| PSS ratio | 1.0 s | < 2 s | **no**: 0.80× short (20 % below the target) |" in page
    assert "- Against a Chromium kiosk, PSS ratio: 1.0 s; target < 2 s; 0.80× short" in page
    assert "rows \\| s" in page  # a pipe in a cell does not break the table
    assert "- machine: test" in page
    assert page.rstrip().endswith("Because.")
    assert "Steps that failed" not in page


def test_a_failed_step_is_named_with_the_end_of_its_output() -> None:
    outcomes = [Outcome(Step("takedown"), 2, 7.0, (), "Traceback\nValueError: boom")]
    page = render([], outcomes, "")
    assert "`python -m bench.takedown` ended with exit status 2 after 7 s" in page
    assert "ValueError: boom" in page
    assert "No figures were measured." in page


def test_figures_round_trip_and_targets(tmp_path: Path) -> None:
    written = [Figure("S", "n", "v", "c", "≥ 4×", False, "short")]
    figures.write(tmp_path / "f.json", written)
    assert figures.read(tmp_path / "f.json") == written
    assert at_least(4.2, 4.0) == (True, "")
    assert at_least(3.0, 4.0) == (False, "1.00× short (25% below the target)")
    assert at_most(3.5, 3.0, "s") == (False, "0.50 s over (17% above the limit)")
    assert command_line("bench.day", ["--transitions", "5", "--figures", "x.json"]) == (
        "python -m bench.day --transitions 5"
    )


def test_a_step_not_rerun_keeps_its_last_figures_with_when_and_what_it_measured(tmp_path: Path) -> None:
    (tmp_path / "figures").mkdir()
    assert kept(Step("day"), tmp_path) is None
    figures.write(tmp_path / "figures" / "day.json", [_figure("A day compressed", "growth", True)])
    record = {"status": 0, "seconds": 641.8, "tail": "", "finished": "2026-11-26 16:20", "commit": "abc1234"}
    (tmp_path / "figures" / "day.run.json").write_text(json.dumps(record))
    outcome = kept(Step("day"), tmp_path)
    assert outcome is not None and outcome.figures[0].name == "growth"
    assert "| `bench.day` | 642 | 0 | 2026-11-26 16:20 | abc1234 |" in render([], [outcome], "")
