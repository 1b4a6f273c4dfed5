"""Nothing printed by ``signage`` can drive the operator's terminal (issue 10, part 5).

Real escape sequences go in where outside text really enters: a court name and a file name in an
operator's spreadsheet (``check``), a screen's telemetry and an entry argument (``fleet``), a config path
(``status``). They go through the real command line (``main``) and must not come out raw.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from signage.cli import main
from signage.core.terminal import for_terminal
from tests.helpers import HEADERS, person_row, write_csv

CLEAR = "\x1b[2J"  # CSI: erase the screen
TITLE = "\x1b]0;owned\x07"  # OSC: set the window title, ended by BEL
BELL = "\x07"
RLO = "\u202e"  # right-to-left override
C1_CSI = "\x9b2J"  # the one-byte CSI some terminals honour
SEQUENCES = (CLEAR, TITLE, BELL, RLO, C1_CSI)
RAW = ("\x1b", "\x07", "\u202e", "\x9b")


def assert_clean(text: str) -> None:
    for char in RAW:
        assert char not in text, f"{char!r} reached the terminal"


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        (CLEAR, "\\u001b[2J"),
        (TITLE, "\\u001b]0;owned\\u0007"),
        (f"林{RLO}小雨", "林\\u202e小雨"),
        ("\x00\x7f\x9b\u2028", "\\u0000\\u007f\\u009b\\u2028"),
        ("\U000e0001", "\\udb40\\udc01"),  # a tag character, as a JSON surrogate pair
        ("第 1 行\n\t林小雨 𠮷", "第 1 行\n\t林小雨 𠮷"),  # layout and ordinary text pass unchanged
    ],
)
def test_for_terminal_escapes_controls_and_keeps_text(raw: str, shown: str) -> None:
    assert for_terminal(raw) == shown
    assert json.loads(f'"{for_terminal(raw)}"'.replace("\n", "\\n").replace("\t", "\\t")) == raw


def test_check_prints_no_escape_sequence_from_the_spreadsheet(tmp_path: Path, capsys) -> None:
    rows = [
        person_row("A1", 执行法院=f"青川市{CLEAR}东湖区人民法院"),
        person_row("A2", 姓名=f"林{RLO}小雨"),
        person_row("A3", 案号=f"（2025）鲁0102执{TITLE}1号"),
        person_row("A4", 履行情况=f"未{C1_CSI}履行{BELL}"),
    ]
    path = write_csv(tmp_path / f"名单{CLEAR}.csv", rows, headers=HEADERS)
    assert main(["check", str(path)]) == 1
    out, err = capsys.readouterr()
    assert_clean(out + err)
    assert "\\u001b[2J" in out and "\\u202e" in out  # shown escaped, so the operator sees something was there
    assert main(["check", "--json", str(path)]) == 1
    out, err = capsys.readouterr()
    assert_clean(out + err)
    values = [problem["value"] for problem in json.loads(out)["problems"]]
    assert f"青川市{CLEAR}东湖区人民法院" in values and f"林{RLO}小雨" in values  # the same text once parsed


def test_check_error_naming_a_hostile_file_name_is_escaped(tmp_path: Path, capsys) -> None:
    path = tmp_path / f"{CLEAR}{TITLE}.csv"
    path.write_bytes(b"")
    assert main(["check", str(path)]) == 4
    out, err = capsys.readouterr()
    assert_clean(out + err)
    assert "\\u001b[2J" in err


@pytest.mark.django_db
def test_fleet_prints_no_escape_sequence_from_a_screens_report(tmp_path: Path, capsys) -> None:
    from signage.operator.hub.screens import records

    repo = tmp_path / "DIR"
    assert main(["repo", "init", str(repo)]) == 0
    assert main(["screens", "add", "--repo", str(repo), "bus-0412"]) == 0
    # A screen's heartbeat is text from outside; suppose one carried sequences past the hub.
    beat = {"channel": f"jinan{CLEAR}{TITLE}", "playlist_version": 1, "last_sync_state": f"ok{RLO}{BELL}"}
    records.record_heartbeat("bus-0412", beat, dt.datetime.now(dt.UTC))
    capsys.readouterr()
    for argv in (["fleet", "--repo", str(repo)], ["fleet", "--repo", str(repo), "--json"]):
        assert main(argv) == 0
        out, err = capsys.readouterr()
        assert_clean(out + err)
        assert "jinan" in out
    assert main(["fleet", "--repo", str(repo), "--entry", f"A1{CLEAR}"]) == 0
    out, err = capsys.readouterr()
    assert_clean(out + err)
    assert "A1\\u001b[2J" in out


def test_status_prints_no_escape_sequence_from_its_arguments(tmp_path: Path, capsys) -> None:
    config = tmp_path / f"player{CLEAR}{RLO}.toml"
    assert main(["status", "--config", str(config)]) != 0
    out, err = capsys.readouterr()
    assert_clean(out + err)
    assert "player\\u001b[2J\\u202e.toml" in out + err
