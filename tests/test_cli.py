"""The command line, called in-process through ``main(argv)`` as a user would call it."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys

from signage.cli import SAMPLE_DIR as SAMPLE
from signage.cli import main
from tests.helpers import HEADERS, person_row, write_csv


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(list(argv), stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


def test_clean_file_exits_zero(tmp_path):
    status, out, _ = run("check", str(write_csv(tmp_path / "ok.csv", [person_row()])))
    assert status == 0
    assert "1 accepted, 0 refused" in out and "接受 1 行" in out


def test_refused_rows_exit_one_with_per_row_messages(tmp_path):
    rows = [person_row("A1"), person_row("A2", 案号="2025-1")]
    status, out, _ = run("check", str(write_csv(tmp_path / "bad.csv", rows)))
    assert status == 1
    assert "[REFUSED] row 3 (序号 A2), column '案号' (case_number)" in out
    assert "[拒绝] 第 3 行（序号 A2），列“案号”" in out


def test_unusable_file_exits_four_with_a_bilingual_message(tmp_path):
    status, out, err = run("check", str(write_csv(tmp_path / "cols.csv", [person_row()], headers=("姓名",))))
    assert status == 4 and out == ""
    assert "缺少必需的列" in err and "required columns are missing" in err


def test_json_output(tmp_path):
    status, out, _ = run("check", "--json", str(write_csv(tmp_path / "ok.csv", [person_row()])))
    assert status == 0 and json.loads(out)["accepted"] == 1


def test_mask_option_is_validated(tmp_path):
    status, _, _ = run("check", "--mask", "weak", str(tmp_path / "x.csv"))
    assert status == 2


def test_a_folder_source_uses_its_only_spreadsheet_and_photos(tmp_path):
    (tmp_path / "photos").mkdir()
    write_csv(tmp_path / "list.csv", [person_row(照片="missing.jpg")], headers=(*HEADERS, "照片"))
    status, out, _ = run("check", str(tmp_path))
    assert status == 0 and "photo folder" in out  # looked in photos/ and said what is missing
    write_csv(tmp_path / "second.csv", [person_row()])
    status, _, err = run("check", str(tmp_path))
    assert status == 4 and "exactly one" in err


def test_sample_reports_only_its_intended_refusals():
    # tests/test_fictional.py compares each finding with the generator's list; here: what the user sees.
    status, out, _ = run("check", str(SAMPLE))
    assert status == 1
    assert "read 73 rows: 64 accepted, 9 refused, 6 warnings" in out
    readme = (SAMPLE / "README.md").read_text(encoding="utf-8")
    for line in out.splitlines():
        if line.startswith(("[REFUSED] row", "[warning] row")):
            # "[REFUSED] row 6 (序号 S000005), column ...": the README names the row by its number.
            assert line.split(",")[0].split("] ")[1].split(" (")[0] in readme


def test_demo_runs_the_whole_system_and_the_player(tmp_path):
    # A fresh process without a display: the demo starts its own Xvfb, plays fullscreen on the real xcb
    # platform and takes screenshots (in-process, an earlier test's offscreen QApplication would be reused).
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    shots = tmp_path / "shots"
    command = ["demo", "--keep", str(tmp_path), "--duration", "9", "--shots", str(shots)]
    result = subprocess.run(
        [sys.executable, "-m", "signage", *command], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "64 accepted, 9 refused on purpose" in result.stdout
    assert "no longer shown; 63 entries displayable" in result.stdout
    # The console's address and the two demo accounts with their generated passwords are printed.
    assert re.search(r"operator console: http://127\.0\.0\.1:\d+/", result.stdout)
    assert re.search(r"demo-clerk +\S{16}\n", result.stdout) and re.search(
        r"demo-reviewer +\S{16}\n", result.stdout
    )
    assert "virtual screen (Xvfb" in result.stdout
    assert (tmp_path / "repo" / "public" / "metadata" / "1.root.json").is_file()
    assert sorted(path.name for path in shots.iterdir())[:1] == ["slide-001.png"]


def test_help_lists_exit_codes():
    assert main(["--help"]) == 0
    result = subprocess.run(
        [sys.executable, "-m", "signage", "check", "--help"], capture_output=True, text=True, check=True
    )
    assert "exit status" in result.stdout and "--photos" in result.stdout
