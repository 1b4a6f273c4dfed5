"""``signage doctor`` against real things: an operator's repository served over a real socket, a screen's
cache after a real sync, real files with real modes. Only the Qt font check and, where no X server is
wanted, the display probe are stand-ins (the Qt font check has its test in tests/kiosk/test_health.py).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from signage.demo import xvfb
from signage.operator.publish.repo import OperatorRepository
from signage.sync.cache import ContentCache
from signage.sync.config import PlayerConfig
from signage.sync.doctor import (
    Account,
    Check,
    FontFindings,
    check_clock,
    check_disk,
    check_token,
    check_write,
    exit_status,
    hub_probe,
    ntp_synchronized,
    probe_display,
    render_report,
    run_checks,
    scan_cache,
    verify_cache,
)
from signage.sync.fetcher import HttpFetcher
from tests.sync.conftest import Fault, FaultServer, fault_server  # noqa: F401 (a fixture)
from tests.sync.fixtures import (  # noqa: F401 (the *_fixture names are fixtures)
    CHANNEL,
    Operator,
    Screen,
    hub_fixture,
    make_screen_fixture,
    operator_fixture,
    real_now,
    row,
    screen_fixture,
    serial,
)

ROOT = Path(__file__).resolve().parent.parent
NOBODY = Account("nobody", 65534, frozenset({65534}))
WELL = Check("display", True, "显示正常", "display fine")


@pytest.fixture
def token(tmp_path: Path) -> Path:
    path = tmp_path / "token"
    path.write_text("s3cret-token\n")
    path.chmod(0o640)
    return path


@pytest.fixture
def fetcher():
    session = requests.Session()
    session.trust_env = False  # a proxy from the environment must not see 127.0.0.1
    with HttpFetcher(session, read_timeout=2, deadline=3) as fetcher:
        yield fetcher
    session.close()


def config_of(screen: Screen, operator: Operator, hub: FaultServer, token: Path, **changes) -> PlayerConfig:
    config = PlayerConfig(
        screen_id="t1",
        hub_url=hub.url,
        channel=CHANNEL,
        root=operator.metadata / "1.root.json",
        cache_dir=screen.cache_dir,
        token_file=token,
    )
    return dataclasses.replace(config, **changes)


def doctor(config: PlayerConfig, fetcher: HttpFetcher, **overrides) -> dict[str, Check]:
    options = {
        "clock": real_now,
        "http_get": hub_probe(fetcher),
        "fonts_check": lambda playlist: FontFindings("Noto Sans CJK SC"),
        "display_check": lambda: WELL,
        "run": lambda command: "yes\n",
        **overrides,
    }
    checks = run_checks(config, **options)
    assert [check.name for check in checks] == [
        "trust-root", "cache", "fonts", "display", "hub", "clock", "disk", "write", "token",
    ]  # fmt: skip
    return {check.name: check for check in checks}


def failed(checks: dict[str, Check]) -> list[str]:
    return [name for name, check in checks.items() if not check.ok]


# --- the whole doctor on a screen that synced ------------------------------------------------------------


def test_a_synced_screen_is_well(screen, operator, hub, token, fetcher):
    checks = doctor(config_of(screen, operator, hub, token), fetcher)
    assert failed(checks) == [], render_report(list(checks.values()))
    assert exit_status(list(checks.values())) == 0
    # the header and its one shard (two entries fit in one), the revocations, two photos and the painter's
    # compact index
    assert "re-hashed 6 files" in checks["cache"].en
    report = render_report(list(checks.values()))
    assert report.endswith("全部 9 项正常 / all 9 checks passed\n")
    assert "[FAIL]" not in report


def test_the_font_check_gets_the_cached_playlist(screen, operator, hub, token, fetcher):
    seen = []

    def fonts(playlist):
        seen.append(playlist)
        return FontFindings("Noto Sans CJK SC", ("U+20BB7 𠮷 in '𠮷先生'",))

    checks = doctor(config_of(screen, operator, hub, token), fetcher, fonts_check=fonts)
    [playlist] = seen
    assert [serial(record.entry_id) for record in playlist.records] == ["A1", "A2"]
    assert failed(checks) == ["fonts"]
    assert "𠮷" in checks["fonts"].en and "fonts-noto-cjk" in checks["fonts"].fix
    assert exit_status(list(checks.values())) == 1


def test_a_corrupted_object_is_found_deleted_and_reported(screen, operator, hub, token, fetcher):
    photo = screen.sync.cache.object_path(operator.photo_sha("A1"))
    photo.write_bytes(b"not the photo any more")
    checks = doctor(config_of(screen, operator, hub, token), fetcher)
    assert failed(checks) == ["cache"]
    assert not photo.exists()
    assert "1 files failed their hash and were deleted" in checks["cache"].en
    # The installer reads whose photo it is by name and case number, never by an internal id.
    assert "lacks 1 files" in checks["cache"].en and f"林小雨 {row(1)['案号']}" in checks["cache"].en
    assert checks["cache"].fix == "signage sync --once"
    report = render_report(list(checks.values()))
    assert "[FAIL] 缓存 / cache" in report
    assert "修复 / fix: signage sync --once" in report
    assert report.endswith("1 项有问题 / 1 of 9 checks failed: cache\n")


def test_verify_cache_removes_only_bad_objects_and_leaves_downloads_alone(screen, operator):
    cache = screen.sync.cache
    good = sorted(path.name for path in cache.objects_dir.iterdir())
    bad = cache.object_path("0" * 64)
    bad.write_bytes(b"junk")
    partial = cache.object_path("1" * 64).with_suffix(".download")
    partial.write_bytes(b"half a photo")
    assert verify_cache(cache) == 1
    assert not bad.exists() and partial.exists()
    assert sorted(path.name for path in cache.objects_dir.iterdir()) == sorted([*good, partial.name])
    assert scan_cache(cache).checked == len(good)
    assert verify_cache(ContentCache(screen.cache_dir / "nowhere")) == 0


@pytest.mark.parametrize("which", ["photo", "playlist"])
def test_an_object_deleted_at_start_is_fetched_again_by_the_next_sync(screen, make_screen, operator, which):
    cache = screen.sync.cache
    state = cache.load_state(CHANNEL)
    assert state.playlist is not None
    sha = operator.photo_sha("A1") if which == "photo" else state.playlist.sha256
    cache.object_path(sha).write_bytes(b"rotten")
    fresh = make_screen(cache_dir=screen.cache_dir, name="restarted")  # the player after a restart
    assert verify_cache(cache) == 1
    fresh.poll()
    assert cache.object_path(sha).exists()
    assert fresh.shown() == ["A1", "A2"]


def test_a_screen_that_never_synced(tmp_path, operator, hub, token, fetcher):
    config = PlayerConfig(
        screen_id="t1",
        hub_url=hub.url,
        channel=CHANNEL,
        root=operator.metadata / "1.root.json",
        cache_dir=tmp_path / "fresh-cache",
        token_file=token,
    )
    checks = doctor(config, fetcher)
    assert failed(checks) == ["cache"]
    assert "never synced" in checks["cache"].en
    assert checks["write"].ok  # the parent folder it will be created in is writable


# --- trust root ------------------------------------------------------------------------------------------


def test_a_missing_root_file(screen, operator, hub, token, fetcher, tmp_path):
    config = config_of(screen, operator, hub, token, root=tmp_path / "missing.json")
    checks = doctor(config, fetcher)
    assert failed(checks) == ["trust-root"]
    assert "cannot read" in checks["trust-root"].en and "1.root.json" in checks["trust-root"].en


def test_a_root_that_is_not_a_root(screen, operator, hub, token, fetcher):
    config = config_of(screen, operator, hub, token, root=operator.metadata / "timestamp.json")
    assert not doctor(config, fetcher)["trust-root"].ok


def test_a_root_that_was_edited_fails_its_own_signatures(screen, operator, hub, token, fetcher, tmp_path):
    document = json.loads((operator.metadata / "1.root.json").read_bytes())
    document["signed"]["expires"] = "2099-01-01T00:00:00Z"
    edited = tmp_path / "edited-root.json"
    edited.write_text(json.dumps(document))
    checks = doctor(config_of(screen, operator, hub, token, root=edited), fetcher)
    assert "not signed by its own root keys" in checks["trust-root"].en


def test_a_root_from_another_repository_does_not_match_the_cache(
    screen, operator, hub, token, fetcher, tmp_path
):
    other = OperatorRepository.init(tmp_path / "other", now=real_now())
    config = config_of(screen, operator, hub, token, root=other.metadata_dir / "1.root.json")
    checks = doctor(config, fetcher)
    assert "trust-root" in failed(checks)
    assert "differs from the root the cache was last synced with" in checks["trust-root"].en
    assert checks["trust-root"].fix.startswith(f"rm -r {screen.cache_dir / 'tuf'}")


def test_the_root_chain_in_the_cache_is_followed(screen, operator, hub, token, fetcher):
    with operator.repo.locked():
        operator.repo.rotate("timestamp", now=real_now())
    assert screen.poll().ok
    checks = doctor(config_of(screen, operator, hub, token), fetcher)
    assert checks["trust-root"].ok, checks["trust-root"].en
    assert "v1 → v2" in checks["trust-root"].en
    # A broken link: v2 replaced by a copy of v1.
    history = screen.cache_dir / "tuf" / "root_history"
    shutil.copy(history / "1.root.json", history / "2.root.json")
    checks = doctor(config_of(screen, operator, hub, token), fetcher)
    assert "breaks at 2.root.json" in checks["trust-root"].en


# --- hub and clock ---------------------------------------------------------------------------------------


def test_an_unreachable_hub(screen, operator, hub, token, fetcher):
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    config = config_of(screen, operator, hub, token, hub_url=f"http://127.0.0.1:{port}/")
    checks = doctor(config, fetcher)
    assert failed(checks) == ["hub"]
    assert "cannot fetch" in checks["hub"].en
    assert "not compared with the hub" in checks["clock"].en  # still checked against the floor and NTP
    assert exit_status(list(checks.values())) == 1


def test_a_hub_error_status(screen, operator, hub, token, fetcher):
    hub.set_fault("/metadata/timestamp.json", Fault(status=503))
    checks = doctor(config_of(screen, operator, hub, token), fetcher)
    assert failed(checks) == ["hub"]
    assert "HTTP 503" in checks["hub"].en


def test_a_captive_portal_is_not_the_hub(screen, operator, hub, token, fetcher):
    hub.set_fault("/metadata/timestamp.json", Fault(body=b"<html>Please log in to Bus-WiFi</html>"))
    checks = doctor(config_of(screen, operator, hub, token), fetcher)
    assert failed(checks) == ["hub"]
    assert "captive portal" in checks["hub"].en


def test_a_clock_far_from_the_hubs_date(screen, operator, hub, token, fetcher):
    late = lambda: real_now() + dt.timedelta(hours=3)  # noqa: E731
    checks = doctor(config_of(screen, operator, hub, token), fetcher, clock=late)
    assert failed(checks) == ["clock"]
    assert "ahead of the hub's" in checks["clock"].en
    assert checks["clock"].fix == "sudo timedatectl set-ntp true"


NOW = dt.datetime(2026, 11, 26, 8, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("hub_date", "floor", "ntp", "ok", "words"),
    [
        (NOW + dt.timedelta(seconds=30), None, True, True, "-30 s from the hub's clock"),
        (NOW - dt.timedelta(minutes=10), None, None, False, "600 s ahead of the hub's"),
        (NOW + dt.timedelta(minutes=10), None, None, False, "600 s behind the hub's"),
        (None, NOW + dt.timedelta(days=2), None, False, "behind the newest trusted time"),
        (None, NOW - dt.timedelta(days=2), None, True, "not compared with the hub"),
        (NOW, None, False, False, "NTP is not synchronised"),
    ],
)
def test_the_clock_check(hub_date, floor, ntp, ok, words):
    check = check_clock(NOW, floor=floor, hub_date=hub_date, ntp_synchronized=ntp)
    assert check.ok is ok
    assert words in check.en


@pytest.mark.parametrize(("answer", "expected"), [("yes\n", True), ("no\n", False), ("", None), (None, None)])
def test_ntp_state_from_timedatectl(answer, expected):
    commands = []

    def run(command):
        commands.append(list(command))
        return answer

    assert ntp_synchronized(run) is expected
    assert commands == [["timedatectl", "show", "-p", "NTPSynchronized", "--value"]]


# --- disk, write access, token ---------------------------------------------------------------------------


def test_low_disk(tmp_path):
    check = check_disk(tmp_path / "cache", min_free=10**18)
    assert not check.ok and "MB needed" in check.en
    assert check_disk(tmp_path / "cache", min_free=1).ok


def test_write_access_as_the_current_user(tmp_path):
    assert check_write(tmp_path / "not-yet" / "cache").ok
    assert list(tmp_path.iterdir()) == []  # the probe leaves nothing behind


def test_a_folder_the_service_user_cannot_write(tmp_path):
    folder = tmp_path / "cache"
    folder.mkdir(mode=0o755)
    check = check_write(folder, account=NOBODY)
    assert not check.ok
    assert "the user nobody cannot write" in check.en
    assert check.fix == f"sudo install -d -o nobody -g nobody -m 750 {folder}"
    folder.chmod(0o777)
    assert check_write(folder, account=NOBODY).ok
    (folder / "objects").mkdir(mode=0o700)  # a sub-folder root made by hand, e.g. by a sync run as root
    check = check_write(folder, account=NOBODY)
    assert not check.ok and f"cannot write {folder / 'objects'}" in check.en
    assert check.fix == f"sudo chown -R nobody: {folder}"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a process as nobody")
def test_a_read_only_folder_for_a_real_other_user(tmp_path):
    tmp_path.chmod(0o755)
    folder = tmp_path / "cache"
    folder.mkdir(mode=0o755)
    script = (
        "import json, sys; from pathlib import Path; from signage.sync.doctor import check_write; "
        "c = check_write(Path(sys.argv[1])); print(json.dumps([c.ok, c.en]))"
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", script, str(folder)],
            user=65534,
            group=65534,
            extra_groups=[],
            capture_output=True,
            text=True,
            cwd="/",
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            check=False,
        )
    except PermissionError as error:
        pytest.skip(f"nobody cannot run this Python: {error}")
    if done.returncode != 0:
        pytest.skip(f"cannot run as nobody here: {done.stderr.strip()[-200:]}")
    ok, english = json.loads(done.stdout)
    assert not ok and "Permission denied" in english


def test_the_sandbox_allows_only_var_lib_signage(tmp_path):
    check = check_write(tmp_path / "cache", writable_roots=(Path("/var/lib/signage"),))
    assert not check.ok and "ReadWritePaths" not in check.en and "outside what kiosk.service" in check.en
    assert check_write(tmp_path / "cache", writable_roots=(tmp_path,)).ok


def test_token_checks(tmp_path):
    path = tmp_path / "token"
    missing = check_token(path)
    assert not missing.ok and "ask the operator" in missing.en
    path.write_text("t0ken")
    path.chmod(0o644)
    readable = check_token(path)
    assert not readable.ok and "every user can read it" in readable.en
    assert readable.fix == f"sudo chmod o-rwx {path}"
    path.chmod(0o640)
    assert check_token(path).ok
    assert not check_token(path, account=NOBODY).ok  # root:root 0640: the service user cannot read it
    path.write_text("")
    assert "empty" in check_token(path).en


# --- display ---------------------------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("Xvfb") is None, reason="Xvfb is not installed")
def test_the_display_probe_on_a_real_x_server():
    with xvfb((320, 240)) as display:
        check = probe_display({"DISPLAY": display})
    assert check.ok, check.en
    gone = probe_display({"DISPLAY": display})  # the server stopped with the block
    assert not gone.ok and "check signage-x.service" in gone.en


def test_the_display_probe_without_a_display():
    check = probe_display({"DISPLAY": ":987"})
    assert not check.ok
    assert not probe_display({"DISPLAY": "not a display"}).ok
    unset = probe_display({})
    assert "DISPLAY is not set; checked :0" in unset.en


def test_the_display_probe_on_a_wayland_socket(tmp_path):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(tmp_path / "wayland-1"))
        server.listen(1)
        env = {"WAYLAND_DISPLAY": "wayland-1", "XDG_RUNTIME_DIR": str(tmp_path), "DISPLAY": ":987"}
        assert probe_display(env).ok
    assert not probe_display({"WAYLAND_DISPLAY": str(tmp_path / "wayland-9")}).ok


# --- robustness ------------------------------------------------------------------------------------------


def test_a_crashing_check_is_a_failed_check(screen, operator, hub, token, fetcher):
    def broken(playlist):
        raise RuntimeError("Qt exploded")

    checks = doctor(config_of(screen, operator, hub, token), fetcher, fonts_check=broken)
    assert failed(checks) == ["fonts"]
    assert "Qt exploded" in checks["fonts"].en


def test_the_doctor_module_stays_qt_free():
    done = subprocess.run(
        [sys.executable, "-c", "import sys, signage.sync.doctor; print('PyQt6' in sys.modules)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "False"


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_token_group_bits_owner_and_folder(tmp_path):
    # Issue 14: the token check looked at the other bits only.
    folder = tmp_path / "etc-signage"
    folder.mkdir(mode=0o755)
    path = folder / "token"
    path.write_text("t0ken")
    path.chmod(0o660)
    writable = check_token(path)
    assert not writable.ok and "its group may only read it" in writable.en and "chmod 640" in writable.fix
    path.chmod(0o640)
    os.chown(path, -1, 65534)  # a group that is neither ours nor the service's
    stranger = check_token(path)
    assert not stranger.ok and "gid 65534" in stranger.en
    path.chmod(0o600)
    assert check_token(path).ok  # no group bits: its group does not matter
    os.chown(path, 65534, -1)
    owned = check_token(path)
    assert not owned.ok and "owned by uid 65534" in owned.en
    os.chown(path, os.geteuid(), -1)
    folder.chmod(0o777)
    replaceable = check_token(path)
    assert not replaceable.ok and f"the folder {folder}" in replaceable.en and "777" in replaceable.en
    folder.chmod(0o755)
    assert check_token(path).ok
