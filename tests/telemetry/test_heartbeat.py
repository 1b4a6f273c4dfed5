"""The heartbeat's contents (pure) and the readings it takes from the operating system."""

from __future__ import annotations

import datetime as dt
import json
import os
import textwrap
from pathlib import Path

import pytest

from signage.core.pages import LAYOUTS, PagePlan, page_capacity, plan_pages
from signage.operator.hub.screens import ingest
from signage.sync.telemetry.heartbeat import (
    MAX_HEARTBEAT_BYTES,
    MAX_LOOP_HOURS,
    MAX_MESSAGE_CHARS,
    Display,
    Heartbeat,
    build_heartbeat,
    clock_offset,
    filesystem_read_only,
    free_disk_bytes,
    rss_bytes,
)
from tests.telemetry.conftest import HEARTBEAT_KEYS, START, tmpfs_python

CST = dt.timezone(dt.timedelta(hours=8))


def heartbeat(**changes: object) -> Heartbeat:
    fields: dict[str, object] = {
        "screen_id": "bus-0412",
        "channel": "station-east",
        "now": dt.datetime(2026, 11, 26, 16, 0, 30, tzinfo=CST),
        "playlist_version": 12,
        "revocations_version": 4,
        "verified_until": dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.UTC),
        "last_sync_state": "unchanged",
        "last_sync_message": "内容没有变化 / nothing new",
        "uptime_s": 3600.12345,
        "rss_bytes": 150_000_000,
        "free_disk_bytes": 2_000_000_000,
        "disk_read_only": False,
        "clock_offset_s": -1.23456,
        "on_screen": "A17",
    }
    fields.update(changes)
    return build_heartbeat(**fields)  # type: ignore[arg-type]


def test_the_json_is_the_contracts() -> None:
    document = json.loads(heartbeat().encode())
    assert set(document) == HEARTBEAT_KEYS
    assert document == {
        "screen_id": "bus-0412",
        "channel": "station-east",
        "playlist_version": 12,
        "revocations_version": 4,
        "verified_until": "2026-11-26T09:00:00Z",
        "last_sync": {"state": "unchanged", "message": "内容没有变化 / nothing new"},
        "uptime_s": 3600.123,
        "rss_bytes": 150_000_000,
        "free_disk_bytes": 2_000_000_000,
        "disk_read_only": False,
        "clock_offset_s": -1.235,
        "on_screen": "A17",
        "sent_at": "2026-11-26T08:00:30Z",
    }


def test_a_screen_that_never_synced_reports_nulls() -> None:
    document = heartbeat(
        playlist_version=None,
        revocations_version=None,
        verified_until=None,
        last_sync_state=None,
        last_sync_message="",
        rss_bytes=None,
        free_disk_bytes=-1,
        clock_offset_s=None,
        on_screen="standby",
    ).to_json()
    assert document["last_sync"] == {"state": "none", "message": ""}
    assert document["playlist_version"] is None and document["verified_until"] is None
    assert document["free_disk_bytes"] is None and document["clock_offset_s"] is None
    assert document["on_screen"] == "standby"


def test_a_huge_message_still_fits_the_limit() -> None:
    beat = heartbeat(last_sync_message="同步失败：" * 10_000, last_sync_state="x" * 500)
    assert len(beat.last_sync_message) == MAX_MESSAGE_CHARS
    assert len(beat.encode()) <= MAX_HEARTBEAT_BYTES


@pytest.mark.parametrize(
    "changes",
    [
        {"on_screen": "林小雨"},
        {"on_screen": "notice:"},
        {"screen_id": "Bus 0412"},
        {"now": dt.datetime(2026, 11, 26, 8, 0)},
        {"verified_until": dt.datetime(2026, 11, 26, 8, 0)},
        {"playlist_version": -1},
    ],
)
def test_invalid_inputs_are_refused(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        heartbeat(**changes)


def test_clock_offset_is_local_minus_hub() -> None:
    hub = START
    assert clock_offset(START + dt.timedelta(seconds=90), hub) == 90.0
    assert clock_offset(START.astimezone(CST) - dt.timedelta(seconds=2.5), hub) == -2.5
    with pytest.raises(ValueError):
        clock_offset(dt.datetime(2026, 11, 26, 8, 0), hub)


def test_rss_of_this_process() -> None:
    rss = rss_bytes()
    assert rss is not None
    status = Path("/proc/self/status").read_text()
    vm_rss = next(int(line.split()[1]) * 1024 for line in status.splitlines() if line.startswith("VmRSS:"))
    # Read a moment apart, so they may differ a little.
    assert 1 << 20 < rss < 64 << 30
    assert abs(rss - vm_rss) < 64 << 20


def test_rss_falls_back_to_status_and_then_to_none(tmp_path: Path) -> None:
    (tmp_path / "status").write_text("Name:\tplayer\nVmRSS:\t  123456 kB\nThreads:\t4\n")
    assert rss_bytes(tmp_path) == 123456 * 1024
    assert rss_bytes(tmp_path / "missing") is None


def test_free_disk(tmp_path: Path) -> None:
    free = free_disk_bytes(tmp_path)
    stats = os.statvfs(tmp_path)
    assert free is not None and 0 <= free <= stats.f_blocks * stats.f_frsize
    assert free_disk_bytes(tmp_path / "missing") is None


def test_a_writable_folder_is_not_read_only(tmp_path: Path) -> None:
    assert filesystem_read_only(tmp_path) is False
    assert filesystem_read_only(tmp_path, probe=False) is False
    assert list(tmp_path.iterdir()) == [], "the write probe leaves nothing behind"


def test_a_read_only_remount_is_detected_by_flags_and_by_probe(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import subprocess, sys
        from pathlib import Path
        from signage.sync.telemetry.heartbeat import filesystem_read_only, free_disk_bytes
        folder = Path(sys.argv[1])
        assert not filesystem_read_only(folder)
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
        print(filesystem_read_only(folder, probe=False), filesystem_read_only(folder), free_disk_bytes(folder))
        """
    )
    mount = tmp_path / "mnt"
    mount.mkdir()
    result = tmpfs_python(mount, script, str(mount), size="1m")
    assert result.returncode == 0, result.stderr
    flags, probe, free = result.stdout.split()
    assert (flags, probe) == ("True", "True")
    assert int(free) > 0


# --- coverage and display (issue 13) --------------------------------------------------------------------


def test_coverage_and_display_are_sent_when_known() -> None:
    plan = plan_pages(60_000, dwell_s=10, notices_every=None, capacity=12)
    document = json.loads(heartbeat(coverage=plan, display=Display(1920, 1080, "landscape")).encode())
    assert document["coverage"] == plan.to_json()
    assert document["display"] == {"width": 1920, "height": 1080, "layout": "landscape"}
    assert set(json.loads(heartbeat().encode())) == HEARTBEAT_KEYS  # neither, before the first list


def test_values_beyond_the_hubs_bounds_are_brought_within_or_left_out() -> None:
    # Quiet all day: the loop never completes (null); a list so long the loop passes 10,000 hours.
    never = plan_pages(10, dwell_s=10, notices_every=None, quiet=[(dt.time(0), dt.time(0))], capacity=1)
    endless = PagePlan(entries_per_page=1, loop_hours=50_000.0, covered=False, capacity=1)
    huge = PagePlan(entries_per_page=454, loop_hours=2.0, covered=True, capacity=2000)
    assert heartbeat(coverage=never).coverage == {
        "entries_per_page": 1,
        "loop_hours": None,
        "covered": False,
        "capacity": 1,
    }
    assert heartbeat(coverage=endless).coverage == {
        "entries_per_page": 1,
        "loop_hours": MAX_LOOP_HOURS,
        "covered": False,
        "capacity": 1,
    }
    assert heartbeat(coverage=huge).coverage == {
        "entries_per_page": 454,
        "loop_hours": 2.0,
        "covered": True,
        "capacity": 1000,
    }
    for display in (Display(32, 1080, "landscape"), Display(1920, 9000, "bar"), Display(1920, 1080, "wide")):
        assert heartbeat(display=display).display is None


@pytest.mark.parametrize("layout", LAYOUTS)
def test_the_hub_accepts_every_plan_and_size_a_player_reports(layout: str) -> None:
    now = dt.datetime(2026, 11, 26, 8, 0, 30, tzinfo=dt.UTC)
    for width, height in ((64, 64), (1920, 360), (1080, 1920), (3840, 2160), (8192, 8192)):
        capacity = page_capacity(layout, width, height)
        for records in (0, 1, 300, 20_000, 10_000_000):
            for forced in (None, 1, 500):
                plan = plan_pages(records, dwell_s=10, notices_every=5, capacity=capacity, forced=forced)
                body = json.loads(heartbeat(coverage=plan, display=Display(width, height, layout)).encode())
                checked = ingest.heartbeat(body, "bus-0412", now=now, limits=ingest.Limits())
                assert checked["coverage"] == body["coverage"] and checked["display"] == body["display"]
