"""The boot stack in deploy/: the systemd units pass ``systemd-analyze verify``, keep their promises
(notify, watchdog, never waiting for the network, the sandbox), and deploy/install.sh sets up a fake root
twice without harm. Nothing here touches the machine itself: no apt, no users, no running systemd.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from signage.sync.config import example_config
from signage.sync.systemd import RESTART_EXIT_STATUS

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
#: kiosk.service, the unit users install, is at the top of the project; deploy/ keeps the X server's.
UNIT_FILES = {
    "kiosk.service": ROOT / "kiosk.service",
    "signage-x.service": DEPLOY / "signage-x.service",
    "signage-sync.service": DEPLOY / "signage-sync.service",
}
UNITS = tuple(UNIT_FILES)
INSTALL = DEPLOY / "install.sh"
#: The commands of each unit that exist only on an installed screen (stubbed for verify).
SCREEN_ONLY = {
    "kiosk.service": {"/opt/signage/venv/bin/signage"},
    "signage-x.service": {"/usr/local/lib/signage/x-session"},
    "signage-sync.service": {"/opt/signage/venv/bin/signage"},
}
EXEC_RE = re.compile(
    r"^(Exec(?:Start|StartPre|StartPost|Stop|StopPost|Reload|Condition)=)([-@:+!]*)(\S+)(.*)$"
)

needs_analyze = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze is missing"
)


def directives(unit: str) -> list[tuple[str, str, str]]:
    """(section, key, value) of every directive, in order; repeated keys stay repeated."""
    section = ""
    found = []
    for line in UNIT_FILES[unit].read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        found.append((section, key, value))
    return found


def values(unit: str, key: str) -> list[str]:
    return [value for _, name, value in directives(unit) if name == key]


def one(unit: str, key: str) -> str:
    [value] = values(unit, key)
    return value


def verifiable_copy(unit: str, folder: Path) -> tuple[Path, set[str]]:
    """A copy of ``unit`` whose commands that exist only on a screen point at stub scripts instead."""
    stubs = folder / "stubs"
    stubs.mkdir(exist_ok=True)
    replaced: set[str] = set()
    lines = []
    for line in UNIT_FILES[unit].read_text(encoding="utf-8").splitlines():
        match = EXEC_RE.match(line)
        if match and not Path(match.group(3)).exists():
            command = match.group(3)
            stub = stubs / command.strip("/").replace("/", "_")
            stub.write_text("#!/bin/sh\nexit 0\n")
            stub.chmod(0o755)
            replaced.add(command)
            line = f"{match.group(1)}{match.group(2)}{stub}{match.group(4)}"
        lines.append(line)
    copy = folder / unit
    copy.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return copy, replaced


@needs_analyze
def test_systemd_analyze_verify_passes(tmp_path):
    copies = []
    for unit in UNITS:
        copy, replaced = verifiable_copy(unit, tmp_path)
        # Only the screen's own programs are stubbed; everything else is checked as written.
        assert replaced <= SCREEN_ONLY[unit], (unit, replaced)
        copies.append(str(copy))
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *copies],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    # Unknown or misspelt keys are only warnings for systemd: here they fail.
    assert done.stderr.strip() == "", done.stderr


@needs_analyze
def test_verify_catches_a_mistake(tmp_path):
    copy, _ = verifiable_copy("kiosk.service", tmp_path)
    copy.write_text(copy.read_text().replace("Type=notify", "Type=notfy"))
    (tmp_path / "signage-x.service").write_text(UNIT_FILES["signage-x.service"].read_text())
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(copy)], capture_output=True, text=True, check=False
    )
    assert "Failed to parse service type, ignoring: notfy" in done.stderr  # a warning, not an error code


@needs_analyze
@pytest.mark.parametrize(("unit", "most"), [("kiosk.service", 2.5), ("signage-sync.service", 2.5)])
def test_the_players_sandbox_rates_ok(tmp_path, unit, most):
    copy, _ = verifiable_copy(unit, tmp_path)
    done = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", str(copy)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    match = re.search(r"Overall exposure level for \S+: ([\d.]+)", done.stdout)
    if match is None:
        pytest.skip(f"systemd-analyze security --offline is not available: {done.stderr.strip()[:200]}")
    assert float(match.group(1)) <= most, done.stdout


@pytest.mark.parametrize("unit", ["kiosk.service", "signage-sync.service"])
def test_the_player_units_keep_their_promises(unit):
    text = UNIT_FILES[unit].read_text(encoding="utf-8")
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    assert "network-online" not in code and "network.target" not in code  # starts offline
    assert one(unit, "Type") == "notify"
    assert int(one(unit, "WatchdogSec")) <= 60
    assert one(unit, "Restart") == "always"
    assert int(one(unit, "RestartSec")) <= 5
    assert one(unit, "RestartPreventExitStatus") == "3"  # a config error: retrying cannot help
    assert one(unit, "User") == "signage"
    assert one(unit, "StartLimitIntervalSec") == "0"
    assert one(unit, "ProtectSystem") == "strict"
    assert values(unit, "ReadWritePaths") == ["/var/lib/signage"]
    for key in ("NoNewPrivileges", "PrivateTmp", "ProtectHome", "ProtectKernelTunables", "ProtectKernelModules",
                "ProtectKernelLogs", "ProtectControlGroups", "LockPersonality", "RestrictRealtime"):  # fmt: skip
        assert one(unit, key) == "yes", key
    assert one(unit, "SystemCallArchitectures") == "native"
    assert one(unit, "StandardOutput") == one(unit, "StandardError") == "journal"
    assert one(unit, "MemoryMax")
    assert "HOME=/var/lib/signage" in values(unit, "Environment")
    assert "MALLOC_ARENA_MAX=2" in values(unit, "Environment")


def test_the_painter_paints_and_never_uses_the_network():
    unit = "kiosk.service"
    assert one(unit, "WatchdogSec") == "30"
    assert one(unit, "SuccessExitStatus") == str(RESTART_EXIT_STATUS)
    assert one(unit, "RestrictAddressFamilies") == "AF_UNIX AF_INET AF_INET6 AF_NETLINK"
    assert one(unit, "IPAddressDeny") == "any"
    assert "/opt/signage/venv/bin/signage play --config /etc/signage/player.toml" in one(unit, "ExecStart")


def test_the_sync_service_syncs_without_a_display():
    unit = "signage-sync.service"
    assert one(unit, "ExecStart") == "/opt/signage/venv/bin/signage sync --config /etc/signage/player.toml"
    assert "--once" not in one(unit, "ExecStart")
    assert one(unit, "RestrictAddressFamilies") == "AF_UNIX AF_INET AF_INET6"
    assert one(unit, "PrivateDevices") == "yes"
    assert not any(value.startswith("DISPLAY") for value in values(unit, "Environment"))
    # Independent of the player: stopping or restarting one never takes the other along.
    assert not values(unit, "Requires") and not values(unit, "BindsTo") and not values(unit, "PartOf")


def test_the_x_variant_waits_for_its_own_x_server():
    assert one("kiosk.service", "NotifyAccess") == "main"
    assert one("kiosk.service", "Requires") == "signage-x.service"
    assert "signage-x.service" in one("kiosk.service", "After")
    environment = values("kiosk.service", "Environment")
    assert {"QT_QPA_PLATFORM=xcb", "DISPLAY=:0", "XAUTHORITY=/run/signage-x/Xauthority"} <= set(environment)
    xorg = one("signage-x.service", "ExecStart").split()
    # The cookie is written by the command that then execs Xorg (a chgrp before it did not last, issue 11).
    assert xorg[:2] == ["/usr/local/lib/signage/x-session", "start"]
    assert one("signage-x.service", "Group") == "signage"
    assert not values("signage-x.service", "ExecStartPre")
    # No blanking, no DPMS, no cursor, no TCP.
    # No GLX (the player never uses OpenGL; Mesa's libLLVM is ~50 MiB), and glamor off in xorg.conf.d.
    for flag in ("-s 0", "-dpms", "-nocursor", "-nolisten tcp", "-extension GLX"):
        assert flag in " ".join(xorg)
    assert one("signage-x.service", "ExecStartPost") == "/usr/local/lib/signage/x-session ready"


# --- the X helper ----------------------------------------------------------------------------------------


def test_x_session_is_valid_bash():
    subprocess.run(["bash", "-n", str(DEPLOY / "x-session")], check=True)
    done = subprocess.run([str(DEPLOY / "x-session")], capture_output=True, text=True, check=False)
    assert done.returncode == 2 and "usage" in done.stderr


@pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("xauth", "mcookie", "Xvfb")), reason="needs xauth, mcookie, Xvfb"
)
def test_the_cookie_lets_the_player_in_and_keeps_others_out(tmp_path):
    auth = tmp_path / "run" / "Xauthority"
    auth.parent.mkdir()
    group = subprocess.run(["id", "-gn"], capture_output=True, text=True, check=True).stdout.strip()
    env = {**os.environ, "SIGNAGE_XAUTH": str(auth), "SIGNAGE_GROUP": group, "SIGNAGE_DISPLAY": ":0"}
    subprocess.run([str(DEPLOY / "x-session"), "cookie"], env=env, check=True, timeout=30)
    assert auth.stat().st_mode & 0o777 == 0o640
    listed = subprocess.run(["xauth", "-f", str(auth), "list"], capture_output=True, text=True, check=True)
    assert listed.stdout.startswith("#ffff#")  # a wildcard entry: survives a change of host name
    cookie = listed.stdout.split()[-1]
    subprocess.run([str(DEPLOY / "x-session"), "cookie"], env=env, check=True, timeout=30)
    assert (
        subprocess.run(["xauth", "-f", str(auth), "list"], capture_output=True, text=True).stdout.split()[-1]
        != cookie
    )

    # An X server that demands the cookie, started as signage-x.service starts Xorg (`x-session start`
    # writes a fresh cookie, then execs the server with it): the player gets in with the file, anyone
    # without it is turned away.
    number = next(n for n in range(57, 157) if not Path(f"/tmp/.X{n}-lock").exists())
    display = f":{number}"
    read, write = os.pipe()
    server = subprocess.Popen(
        [str(DEPLOY / "x-session"), "start", "-displayfd", str(write), "-nolisten", "tcp"],
        env={**env, "SIGNAGE_DISPLAY": display, "SIGNAGE_XSERVER": "Xvfb"},
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    probe = "from PyQt6.QtGui import QGuiApplication; QGuiApplication(['probe']); print('connected')"
    try:
        with os.fdopen(read) as pipe:
            assert pipe.readline().strip() == str(number)
        base = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}
        results = {}
        for name, authority in (("player", auth), ("stranger", tmp_path / "none")):
            results[name] = subprocess.run(
                [sys.executable, "-c", probe],
                env={**base, "XAUTHORITY": str(authority)},
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert results["player"].stdout.strip() == "connected", results["player"].stderr
    assert "connected" not in results["stranger"].stdout
    assert results["stranger"].returncode != 0


# --- install.sh ------------------------------------------------------------------------------------------


def install(root: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        ["bash", str(INSTALL), "--root", str(root), "--skip-venv", "--python", sys.executable, *extra],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o7777


def test_install_into_a_fake_root_twice(tmp_path):
    root = tmp_path / "root"
    first = install(root)
    assert "writing the config skeleton" in first.stdout
    etc = root / "etc" / "signage"
    assert (etc / "player.toml").read_text(encoding="utf-8") == example_config()
    assert mode(etc / "player.toml") == 0o644
    assert mode(root / "var/lib/signage") == 0o750 and mode(root / "var/lib/signage/cache") == 0o750
    for unit in UNITS:
        installed = root / "etc/systemd/system" / unit
        assert installed.read_bytes() == UNIT_FILES[unit].read_bytes()
        assert mode(installed) == 0o644
    assert mode(root / "usr/local/lib/signage/x-session") == 0o755
    xorg_conf = root / "etc/X11/xorg.conf.d/20-signage.conf"
    assert mode(xorg_conf) == 0o644
    assert 'Disable "glamoregl"' in xorg_conf.read_text() and '"GLX" "Disable"' in xorg_conf.read_text()
    if shutil.which("systemctl"):
        wants = root / "etc/systemd/system/multi-user.target.wants"
        assert sorted(path.name for path in wants.iterdir()) == [
            "kiosk.service",
            "signage-sync.service",
            "signage-x.service",
        ]

    # The technician edited the config and added the token; a second run keeps both and fixes the mode.
    (etc / "player.toml").write_text('screen_id = "bus-0412"\n', encoding="utf-8")
    (etc / "token").write_text("t0ken")
    (etc / "token").chmod(0o644)
    before = sorted(str(path.relative_to(root)) for path in root.rglob("*"))
    second = install(root)
    assert "keeping the existing" in second.stdout
    assert (etc / "player.toml").read_text(encoding="utf-8") == 'screen_id = "bus-0412"\n'
    assert mode(etc / "token") == 0o640
    assert sorted(str(path.relative_to(root)) for path in root.rglob("*")) == before
    assert not list(root.rglob("*.new"))


@pytest.mark.skipif(shutil.which("systemctl") is None, reason="systemctl is missing")
def test_the_removed_cage_variant_is_taken_away(tmp_path):
    root = tmp_path / "root"
    units = root / "etc/systemd/system"
    units.mkdir(parents=True)
    (units / "kiosk-cage.service").write_text(
        "[Service]\nExecStart=/usr/bin/cage\n[Install]\nWantedBy=multi-user.target\n"
    )
    (units / "multi-user.target.wants").mkdir()
    (units / "multi-user.target.wants/kiosk-cage.service").symlink_to(
        "/etc/systemd/system/kiosk-cage.service"
    )
    assert "removing the old cage variant" in install(root).stdout
    assert not (units / "kiosk-cage.service").exists()
    assert sorted(path.name for path in (units / "multi-user.target.wants").iterdir()) == [
        "kiosk.service",
        "signage-sync.service",
        "signage-x.service",
    ]


def test_the_package_list_is_printed_for_image_builders():
    done = subprocess.run(
        ["bash", str(INSTALL), "--list-packages"], capture_output=True, text=True, check=True
    )
    listed = done.stdout.split()
    assert {"xserver-xorg-core", "xauth", "fonts-noto-cjk", "python3-venv"} <= set(listed)
    assert "cage" not in listed


def test_install_refuses_nonsense(tmp_path):
    for arguments in (["--display", "cage"], ["--frobnicate"], ["--source", str(tmp_path)]):
        done = subprocess.run(
            ["bash", str(INSTALL), "--root", str(tmp_path / "r"), *arguments],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode != 0, arguments
        assert "signage install: error" in done.stderr
    help_text = subprocess.run(["bash", str(INSTALL), "--help"], capture_output=True, text=True, check=True)
    assert "--root DIR" in help_text.stdout and "set -euo" not in help_text.stdout
