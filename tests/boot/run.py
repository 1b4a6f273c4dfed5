"""``make boot-test``: boot what users install, a Debian 12 screen, in QEMU and check it shows a slide.

Steps (each failure is named on standard error and the exit status is 1):

1. base image (cached in .boot-cache/): mmdebstrap of Debian 12 with systemd, the kernel and the packages
   ``deploy/install.sh --list-packages`` names, from the mirror this machine's apt uses;
2. the project's wheels, built offline from the venv ``make test`` installed: the project's own with
   ``pip wheel --no-index --no-build-isolation``, every installed dependency repacked from its installed
   files with ``wheel pack``;
3. the project's own ``deploy/install.sh`` run inside the image (chroot), pip pointed at those wheels only;
4. a verified cache made by the project's own ``signage repo init``, ``publish`` and ``sync`` (hub on
   127.0.0.1) of the fictional sample channel, copied into the image with its root file and a config;
5. boot in QEMU (KVM when /dev/kvm works, TCG otherwise; no network device), wait for kiosk.service READY
   on the serial console, QMP screendump, compare with ``signage render`` of the same channel;
6. signage-sync.service (issue 15: the sync beside the painter) is active too; SIGSTOP the player, then the
   sync service: systemd must restart each (READY again) within its WatchdogSec plus a margin, and the
   screen shows a slide throughout the sync service's restart;
7. kill -9 QEMU (a power cut), boot again: the cache hashes are unchanged, a slide is back and both units run.

Out: boot-out/first-boot.png, after-watchdog.png, after-sync-watchdog.png, after-power-cut.png, serial-*.log, kiosk-journal-*.txt,
status- and state-after-power-cut.txt, times.txt. Run as root on Debian 12 (mmdebstrap, qemu-system-x86 and
qemu-utils are installed when missing). The test image differs from a screen in three test-only ways: QEMU
boots its kernel directly (no GRUB); a command agent on a virtio serial port (boot-test-agent.service) runs
``systemctl``, ``kill`` and ``sha256sum`` for the test; boot-test-ready.service, ordered after kiosk.service,
writes "kiosk.service READY" on the serial console.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import cast

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from PIL import Image, ImageChops, ImageStat

ROOT = Path(__file__).resolve().parent.parent.parent
OUT = ROOT / "boot-out"
CACHE = ROOT / ".boot-cache"
#: Bump when the base recipe below changes in a way the package list does not show.
BASE_RECIPE = 1
#: What the image needs besides the installer's packages: init, the kernel, fsck, the installer's tools.
BASE_PACKAGES = (
    "systemd-sysv",
    "udev",
    "linux-image-amd64",
    "e2fsprogs",
    "kmod",
    "adduser",
    "passwd",
    "dbus",
    "procps",
)
HOST_TOOLS = {"mmdebstrap": "mmdebstrap", "qemu-system-x86_64": "qemu-system-x86", "qemu-img": "qemu-utils"}
SCREEN_ID = "boot-test"
CHANNEL = "sample"
AGENT_PORT = "signage.boottest"
READY_RE = re.compile(r"boot-test: kiosk\.service READY")
WATCHDOG_MARGIN = 30.0

AGENT = r"""#!/bin/bash
# boot-test agent: runs one shell command per line from the host, answers with its output and status.
# Until the host connects, reads on the port end at once: wait and open it again.
port=/dev/virtio-ports/__PORT__
while :; do
    if exec 3<>"$port"; then
        while IFS= read -r line <&3; do
            out=$(bash -c "$line" 2>&1)
            printf '%s\n@@rc %d\n' "$out" "$?" >&3
        done
        exec 3>&-
    fi
    sleep 1
done
"""
AGENT_UNIT = """[Unit]
Description=boot-test command agent (test images only, never on a screen)
StartLimitIntervalSec=0
[Service]
ExecStart=/usr/local/sbin/boot-test-agent
Restart=always
RestartSec=1
[Install]
WantedBy=multi-user.target
"""
#: Ordered after kiosk.service, a Type=notify unit: it runs once the player sent READY=1, and says so on the
#: serial console (systemd's own status lines stop once boot has finished).
READY_MARK = "boot-test: kiosk.service READY"
READY_UNIT = f"""[Unit]
Description=boot-test: report kiosk.service READY on the serial console (test images only)
Requires=kiosk.service
After=kiosk.service
[Service]
Type=oneshot
ExecStart=/bin/sh -c 'echo "{READY_MARK} at uptime $$(cut -d" " -f1 /proc/uptime) s" >/dev/ttyS0'
[Install]
WantedBy=multi-user.target
"""


class BootTestError(Exception):
    """A named step failed."""


@dataclass
class Times:
    """Measured durations in seconds (and a few figures in other units), written to boot-out/times.txt."""

    values: dict[str, float] = field(default_factory=dict)

    def note(self, name: str, seconds: float, unit: str = "s") -> None:
        self.values[name] = seconds
        say(f"{'time' if unit == 's' else 'figure'}: {name} = {seconds:.1f} {unit}")

    def write(self, path: Path) -> None:
        path.write_text("".join(f"{k}\t{v:.1f}\n" for k, v in self.values.items()), encoding="utf-8")


def say(text: str) -> None:
    print(f"boot-test: {text}", file=sys.stderr, flush=True)


def run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, check=True, text=True, **kwargs)  # type: ignore[call-overload, no-any-return]


# --- 1. base image ---------------------------------------------------------------------------------------


def apt_sources() -> list[Path]:
    """This machine's Debian bookworm sources (deb822 or one-line), to hand to mmdebstrap unchanged."""
    candidates = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]
    found = []
    for path in candidates:
        if path.suffix not in (".list", ".sources") or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if re.search(r"^\s*(deb\s|Types:.*\bdeb\b)", text, re.M) and "bookworm" in text and "debian" in text:
            found.append(path)
    if not found:
        raise BootTestError("no Debian bookworm source in /etc/apt/sources.list*: mmdebstrap has no mirror")
    return found


def installer_packages() -> list[str]:
    listed = run([str(ROOT / "deploy" / "install.sh"), "--list-packages"], capture_output=True).stdout
    return listed.split()


def base_image(times: Times) -> tuple[Path, bool]:
    """The cached mmdebstrap tarball of the base system, and whether it was built just now."""
    sources = apt_sources()
    packages = sorted({*BASE_PACKAGES, *installer_packages()})
    key = hashlib.sha256(
        json.dumps([BASE_RECIPE, packages, [p.read_text(encoding="utf-8") for p in sources]]).encode()
    ).hexdigest()[:16]
    tarball = CACHE / f"base-{key}.tar"
    if tarball.exists():
        say(f"base image: cached {tarball.name}")
        return tarball, False
    say(f"base image: mmdebstrap bookworm with {len(packages)} packages (first run: several minutes)")
    CACHE.mkdir(exist_ok=True)
    for old in CACHE.glob("base-*.tar"):
        old.unlink()
    started = time.monotonic()
    partial = tarball.with_suffix(".tar.partial")
    run(
        [
            "mmdebstrap",
            "--variant=minbase",
            "--mode=root",
            "--format=tar",
            f"--include={','.join(packages)}",
            "bookworm",
            str(partial),
            *map(str, sources),
        ]
    )
    partial.rename(tarball)
    times.note("base image build (mmdebstrap, cold)", time.monotonic() - started)
    return tarball, True


# --- 2. wheels -------------------------------------------------------------------------------------------


def runtime_closure() -> list[metadata.Distribution]:
    """The installed distributions signage needs at run time, plus setuptools (the guest's pip builds
    the project from source with it, without an index)."""
    environment = cast(dict[str, str], default_environment())
    seen: dict[str, metadata.Distribution] = {}
    extras_done: set[tuple[str, str]] = set()
    # (requirement, the extra its marker is evaluated under: "" for plain dependencies)
    todo = [(Requirement(r), "") for r in metadata.requires("signage") or []]
    todo.append((Requirement("setuptools"), ""))
    while todo:
        requirement, extra = todo.pop()
        if requirement.marker is not None and not requirement.marker.evaluate(
            {**environment, "extra": extra}
        ):
            continue
        dist = metadata.distribution(requirement.name)
        name = canonicalize_name(requirement.name)
        for wanted in set(requirement.extras) - {e for n, e in extras_done if n == name}:
            extras_done.add((name, wanted))
            todo.extend((Requirement(r), wanted) for r in dist.requires or [])
        if name not in seen:
            seen[name] = dist
            todo.extend((Requirement(r), "") for r in dist.requires or [])
    return list(seen.values())


def repack(dist: metadata.Distribution, into: Path) -> None:
    """A wheel of an installed distribution, from the files its RECORD lists (``wheel pack``)."""
    site = Path(str(dist.locate_file("")))
    with tempfile.TemporaryDirectory() as scratch:
        unpacked = Path(scratch) / "unpacked"
        for entry in dist.files or []:
            parts = entry.parts
            # Scripts outside site-packages come back from entry_points.txt; bytecode is rebuilt.
            if parts[0] == ".." or "__pycache__" in parts:
                continue
            if parts[0].endswith(".dist-info") and parts[-1] in {
                "RECORD",
                "INSTALLER",
                "REQUESTED",
                "direct_url.json",
            }:
                continue
            source = site / entry
            if source.is_file():
                target = unpacked / entry
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
        run(
            [sys.executable, "-m", "wheel", "pack", "--dest-dir", str(into), str(unpacked)],
            capture_output=True,
        )


def build_wheels(into: Path) -> None:
    into.mkdir(parents=True)
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-index",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(into),
            str(ROOT),
        ],
    )
    closure = runtime_closure()
    for dist in closure:
        repack(dist, into)
    # pip itself, so the installer's `pip install --upgrade pip` finds it without an index.
    repack(metadata.distribution("pip"), into)
    say(f"wheels: signage and {len(closure) + 1} repacked distributions in {into}")


# --- 3. install into the image ---------------------------------------------------------------------------


def source_files() -> list[str]:
    listed = run(
        ["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
    ).stdout
    return [name for name in listed.split("\0") if name and (ROOT / name).is_file()]


def in_chroot(root: Path, script: str, env: dict[str, str] | None = None) -> None:
    """Run ``script`` with bash inside ``root``, with /dev, /proc and /sys in a private mount namespace."""
    exports = "".join(f"export {k}={v!s}\n" for k, v in (env or {}).items())
    outer = (
        "set -e\n"
        f"mount --bind /dev {root}/dev\nmount -t proc proc {root}/proc\nmount -t sysfs sys {root}/sys\n"
        f'exec chroot {root} /bin/bash -euc "$0"\n'
    )
    run(["unshare", "--mount", "--propagation", "private", "--fork", "bash", "-c", outer, exports + script])


def install_into(root: Path, wheels: Path) -> None:
    src = root / "root" / "signage-src"
    for name in source_files():
        target = src / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    shutil.copytree(wheels, root / "root" / "wheels")
    say("install: the project's deploy/install.sh inside the image, pip offline")
    in_chroot(
        root,
        "/root/signage-src/deploy/install.sh --source /root/signage-src",
        env={"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": "/root/wheels", "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    shutil.rmtree(src)
    shutil.rmtree(root / "root" / "wheels")


def image_extras(root: Path) -> None:
    """What an installer does by hand (fstab, hostname) and the test-only agent."""
    (root / "etc" / "fstab").write_text("/dev/vda / ext4 errors=remount-ro 0 1\n", encoding="utf-8")
    (root / "etc" / "hostname").write_text("signage-boot-test\n", encoding="utf-8")
    agent = root / "usr" / "local" / "sbin" / "boot-test-agent"
    agent.parent.mkdir(parents=True, exist_ok=True)
    agent.write_text(AGENT.replace("__PORT__", AGENT_PORT), encoding="utf-8")
    agent.chmod(0o755)
    units = root / "etc" / "systemd" / "system"
    wants = units / "multi-user.target.wants"
    wants.mkdir(parents=True, exist_ok=True)
    for name, text in (("boot-test-agent.service", AGENT_UNIT), ("boot-test-ready.service", READY_UNIT)):
        (units / name).write_text(text, encoding="utf-8")
        with contextlib.suppress(FileExistsError):
            (wants / name).symlink_to(f"/etc/systemd/system/{name}")


# --- 4. a verified cache ----------------------------------------------------------------------------------


def signage(*arguments: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return run([str(Path(sys.executable).parent / "signage"), *arguments], **kwargs)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def hub(repo: Path) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "signage"), "hub", "--repo", str(repo), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            if process.poll() is not None or time.monotonic() > deadline:
                raise BootTestError("seed: `signage hub` did not start")
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/"
    finally:
        process.terminate()
        process.wait(timeout=30)


def player_toml(hub_url: str, root_file: str, cache_dir: str) -> str:
    return (
        f'screen_id = "{SCREEN_ID}"\nhub_url = "{hub_url}"\nchannel = "{CHANNEL}"\n'
        f'root = "{root_file}"\ncache_dir = "{cache_dir}"\n'
    )


def seed_cache(work: Path, root: Path) -> Path:
    """Publish the sample with the project's commands, sync it, and put the cache into the image.

    Returns the operator repository (for ``signage render``)."""
    from signage.cli import SAMPLE_DIR

    repo = work / "repo"
    signage("repo", "init", str(repo), capture_output=True)
    (repo / "channels").mkdir(exist_ok=True)
    (repo / "channels" / f"{CHANNEL}.toml").write_text("sample = true\n", encoding="utf-8")
    # The sample refuses a few rows on purpose (its README): publish the good ones.
    signage(
        "publish",
        str(SAMPLE_DIR / "records.csv"),
        "--photos",
        str(SAMPLE_DIR / "photos"),
        "--repo",
        str(repo),
        "--channel",
        CHANNEL,
        "--allow-partial",
        capture_output=True,
    )
    root_json = repo / "public" / "metadata" / "1.root.json"
    with hub(repo) as url:
        config = work / "seed.toml"
        config.write_text(player_toml(url, str(root_json), str(work / "seed-cache")), encoding="utf-8")
        synced = signage("sync", "--config", str(config), "--once", capture_output=True)
        say(f"seed: {synced.stdout.strip().splitlines()[0] if synced.stdout.strip() else 'synced'}")
    etc = root / "etc" / "signage"
    shutil.copy2(root_json, etc / "root.json")
    (etc / "root.json").chmod(0o644)
    # The hub address is where a real hub would be; the guest has no network, so it plays offline.
    (etc / "player.toml").write_text(
        player_toml("http://127.0.0.1:8080/", "root.json", "/var/lib/signage/cache"), encoding="utf-8"
    )
    cache = root / "var" / "lib" / "signage" / "cache"
    shutil.rmtree(cache)
    shutil.copytree(work / "seed-cache", cache, symlinks=True)
    uid, gid = owner_in(root, "signage")
    for path in [cache, *cache.rglob("*")]:
        os.chown(path, uid, gid, follow_symlinks=False)
    return repo


def owner_in(root: Path, user: str) -> tuple[int, int]:
    for line in (root / "etc" / "passwd").read_text(encoding="utf-8").splitlines():
        fields = line.split(":")
        if fields[0] == user:
            return int(fields[2]), int(fields[3])
    raise BootTestError(f"install: no user {user} in the image (deploy/install.sh step 2)")


def make_disk(root: Path, disk: Path) -> tuple[Path, Path]:
    boot = root / "boot"
    kernels = sorted(boot.glob("vmlinuz-*"))
    initrds = sorted(boot.glob("initrd.img-*"))
    if not kernels or not initrds:
        raise BootTestError("image: no kernel or initrd in /boot (linux-image-amd64)")
    kernel, initrd = disk.parent / "vmlinuz", disk.parent / "initrd.img"
    shutil.copy2(kernels[-1], kernel)
    shutil.copy2(initrds[-1], initrd)
    disk.unlink(missing_ok=True)
    run(["mkfs.ext4", "-q", "-F", "-L", "signage-root", "-d", str(root), str(disk), "6G"])
    return kernel, initrd


# --- 5-7. boot ------------------------------------------------------------------------------------------


def kvm_works(kernel: Path, work: Path) -> bool:
    """Whether KVM really runs this kernel: /dev/kvm can exist and open yet hang every guest (nested
    virtualisation in some containers), so the kernel must print its banner within 30 s."""
    try:
        os.close(os.open("/dev/kvm", os.O_RDWR))
    except OSError:
        return False
    log = work / "kvm-probe.log"
    log.unlink(missing_ok=True)
    probe = subprocess.Popen(
        ["qemu-system-x86_64", "-accel", "kvm", "-cpu", "host", "-m", "512", "-kernel", str(kernel),
         "-append", "console=ttyS0", "-display", "none", "-nic", "none", "-serial", f"file:{log}"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and probe.poll() is None:
            if log.exists() and b"Linux version" in log.read_bytes():
                return True
            time.sleep(0.5)
        return False
    finally:
        probe.kill()
        probe.wait()


class Machine:
    """One QEMU run: serial console to a log file, QMP and the agent on unix sockets."""

    def __init__(
        self, work: Path, kernel: Path, initrd: Path, disk: Path, serial_log: Path, kvm: bool
    ) -> None:
        self.work = work
        self.serial_log = serial_log
        self.qmp_path = work / "qmp.sock"
        self.agent_path = work / "agent.sock"
        for path in (self.qmp_path, self.agent_path):
            path.unlink(missing_ok=True)
        self.kvm = kvm
        accel = ["-accel", "kvm", "-cpu", "host"] if self.kvm else ["-accel", "tcg", "-cpu", "max"]
        command = [
            "qemu-system-x86_64", *accel, "-machine", "q35", "-m", "2048", "-smp", "2",
            "-kernel", str(kernel), "-initrd", str(initrd),
            "-append", "root=/dev/vda ro console=ttyS0,115200 systemd.show_status=1 net.ifnames=0",
            "-drive", f"file={disk},format=raw,if=virtio",
            "-vga", "std", "-display", "none", "-nic", "none",
            "-serial", f"file:{serial_log}",
            "-qmp", f"unix:{self.qmp_path},server=on,wait=off",
            "-device", "virtio-serial",
            "-chardev", f"socket,id=agent,path={self.agent_path},server=on,wait=off",
            "-device", f"virtserialport,chardev=agent,name={AGENT_PORT}",
        ]  # fmt: skip
        self.started = time.monotonic()
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL)
        self._agent: socket.socket | None = None
        self._buffer = b""

    def wait_serial(self, pattern: re.Pattern[str], timeout: float, what: str, after: int = 0) -> float:
        """Seconds since power-on when ``pattern`` appears in the console log past offset ``after``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BootTestError(f"{what}: QEMU exited ({self.process.returncode})")
            raw = self.serial_log.read_bytes() if self.serial_log.exists() else b""
            # systemd colours the unit names on the console.
            text = re.sub(r"\x1b\[[0-9;]*m", "", raw[after:].decode("utf-8", "replace"))
            if pattern.search(text):
                return time.monotonic() - self.started
            time.sleep(0.5)
        raise BootTestError(f"{what}: not seen on the serial console within {timeout:.0f} s")

    def ready_uptime(self) -> float:
        """The guest's uptime when the READY mark was written (its own clock, from kernel start)."""
        text = self.serial_log.read_bytes().decode("utf-8", "replace")
        found = re.findall(r"kiosk\.service READY at uptime ([\d.]+) s", text)
        return float(found[-1]) if found else float("nan")

    def qmp(self, command: str, **arguments: object) -> object:
        with socket.socket(socket.AF_UNIX) as qmp:
            qmp.connect(str(self.qmp_path))
            stream = qmp.makefile("rw")
            stream.readline()
            for message in ({"execute": "qmp_capabilities"}, {"execute": command, "arguments": arguments}):
                stream.write(json.dumps(message) + "\n")
                stream.flush()
                while True:
                    reply = json.loads(stream.readline())
                    if "return" in reply or "error" in reply:
                        break
            if "error" in reply:
                raise BootTestError(f"QMP {command}: {reply['error']}")
            return reply["return"]

    def screendump(self, png: Path) -> Image.Image:
        ppm = self.work / "screen.ppm"
        ppm.unlink(missing_ok=True)
        self.qmp("screendump", filename=str(ppm))
        image = Image.open(ppm).convert("RGB")
        image.save(png)
        return image

    def sh(self, command: str, timeout: float = 60) -> tuple[int, str]:
        """Run ``command`` in the guest through the agent."""
        if self._agent is None:
            self._agent = socket.socket(socket.AF_UNIX)
            self._agent.connect(str(self.agent_path))
        self._agent.settimeout(timeout)
        self._agent.sendall(command.encode() + b"\n")
        while True:
            match = re.search(rb"\n?@@rc (\d+)\n", self._buffer)
            if match:
                output = self._buffer[: match.start()].decode("utf-8", "replace")
                self._buffer = self._buffer[match.end() :]
                return int(match.group(1)), output
            chunk = self._agent.recv(65536)
            if not chunk:
                raise BootTestError(f"agent: connection closed running {command!r}")
            self._buffer += chunk

    def wait_agent(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sh("true", timeout=5)
                return
            except (OSError, BootTestError):
                self._agent = None
                self._buffer = b""
                if time.monotonic() > deadline:
                    raise BootTestError("agent: the guest's command agent never answered") from None
                time.sleep(1)

    def power_cut(self) -> None:
        if self._agent is not None:
            self._agent.close()
            self._agent = None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()


# --- the slide check -------------------------------------------------------------------------------------


def slide_score(screen: Image.Image, renders: list[Path]) -> tuple[float, Path | None, int]:
    """(lowest mean difference to a rendered slide, that slide, the screen's colour count)."""
    colours = len(screen.getcolors(maxcolors=1 << 24) or [])
    small = screen.convert("L").resize((160, 90))
    best, best_path = 255.0, None
    for path in renders:
        other = Image.open(path).convert("L").resize((160, 90))
        difference = ImageStat.Stat(ImageChops.difference(small, other)).mean[0]
        if difference < best:
            best, best_path = difference, path
    return best, best_path, colours


def text_pixels(screen: Image.Image) -> int:
    """Pixels on a sharp edge (glyph strokes): a blank or flat screen has next to none."""
    grey = screen.convert("L")
    shifted = ImageChops.offset(grey, 1, 0)
    edges = ImageChops.difference(grey, shifted).point(lambda v: 255 if v > 96 else 0)
    return int(ImageStat.Stat(edges).sum[0] / 255)


def check_slide(screen: Image.Image, repo: Path, work: Path, what: str) -> str:
    renders_dir = work / f"render-{screen.width}x{screen.height}"
    if not renders_dir.exists():
        signage(
            "render", "--repo", str(repo), "--channel", CHANNEL, "--size", f"{screen.width}x{screen.height}",
            "--screen-id", SCREEN_ID, "--out", str(renders_dir), capture_output=True,
        )  # fmt: skip
    renders = [p for p in sorted(renders_dir.glob("*.png")) if p.name != "contact-sheet.png"]
    difference, match, colours = slide_score(screen, renders)
    edges = text_pixels(screen)
    verdict = (
        f"{what}: {screen.width}x{screen.height}, {colours} colours, {edges} text-edge pixels, mean difference "
        f"{difference:.1f}/255 to {match.name if match else '-'} of `signage render`"
    )
    say(verdict)
    if colours < 256 or edges < 2000:
        raise BootTestError(f"{what}: no slide on screen (black, blank or flat): {verdict}")
    if difference > 15:
        raise BootTestError(f"{what}: the screen does not look like any rendered slide: {verdict}")
    return verdict


def wait_for_slide(machine: Machine, png: Path, repo: Path, work: Path, what: str, timeout: float) -> str:
    """Screendumps until a slide is on screen (READY means painted, but the first fade may be running)."""
    deadline = time.monotonic() + timeout
    while True:
        screen = machine.screendump(png)
        try:
            return check_slide(screen, repo, work, what)
        except BootTestError:
            if time.monotonic() > deadline:
                raise
            time.sleep(3)


# --- main ------------------------------------------------------------------------------------------------


#: The units the test checks: the painter and the sync service beside it.
PLAYER_UNIT = "kiosk.service"
SYNC_UNIT = "signage-sync.service"


def kiosk_state(machine: Machine, unit: str = PLAYER_UNIT) -> dict[str, str]:
    _, output = machine.sh(
        f"systemctl show {unit} -p MainPID -p NRestarts -p ActiveState -p SubState -p WatchdogUSec"
    )
    return dict(line.split("=", 1) for line in output.splitlines() if "=" in line)


#: The verified set in the cache: what sync wrote and nothing but a sync may change (the play log and the
#: clock memory beside it change while the player runs).
VERIFIED = re.compile(r"^(current\.json|objects/.+|tuf/.+)$")


def diff(before: dict[str, str], after: dict[str, str]) -> str:
    changed = sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))
    return f"{len(changed)} files: {', '.join(changed[:5])}"


def verified_hashes(listing: str) -> dict[str, str]:
    """{path: sha256} of the verified set, from ``sha256sum`` lines run in the cache folder."""
    found = {}
    for line in listing.splitlines():
        digest, _, name = line.partition("  ")
        name = name.removeprefix("./")
        if VERIFIED.match(name):
            found[name] = digest
    return found


def seeded_hashes(cache: Path) -> dict[str, str]:
    return {
        str(path.relative_to(cache)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in cache.rglob("*")
        # As `find -type f` in the guest: tuf/root.json is a link to the newest root in root_history/.
        if path.is_file() and not path.is_symlink() and VERIFIED.match(str(path.relative_to(cache)))
    }


def cache_hashes(machine: Machine) -> dict[str, str]:
    rc, output = machine.sh(
        "cd /var/lib/signage/cache && find . -type f -print0 | sort -z | xargs -0 sha256sum"
    )
    if rc != 0:
        raise BootTestError(f"cache: cannot hash the cache in the guest: {output}")
    return verified_hashes(output)


def play_log_ok(machine: Machine) -> str:
    """SQLite's integrity check of the player's local play log (written right up to the power cut), or
    "absent" when the player has written none."""
    rc, output = machine.sh(
        'log=$(find /var/lib/signage -name plays.sqlite | head -n 1); if [ -z "$log" ]; then echo absent; '
        "else /opt/signage/venv/bin/python -c 'import sqlite3, sys; "
        'print(sqlite3.connect(sys.argv[1]).execute("pragma integrity_check").fetchone()[0])\' "$log"; fi'
    )
    return output.strip() if rc == 0 else f"failed ({rc}): {output.strip()}"


_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "min": 60.0, "h": 3600.0}


def timespan(text: str) -> float:
    """Seconds in a time span as ``systemctl show`` prints it: "30s", "1min 30s", "500ms", "0"."""
    parts = re.findall(r"([\d.]+)\s*(us|ms|min|s|h)?", text)
    return sum(float(number) * _UNITS[unit or "us"] for number, unit in parts)


def running(machine: Machine, unit: str, limit: float, what: str) -> None:
    """Wait until ``unit`` is active and running (a Type=notify unit: READY was sent)."""
    deadline = time.monotonic() + limit
    state = kiosk_state(machine, unit)
    while state.get("SubState") != "running" or state.get("ActiveState") != "active":
        if time.monotonic() > deadline:
            raise BootTestError(f"{what}: {unit} not running within {limit:.0f} s ({state})")
        time.sleep(1)
        state = kiosk_state(machine, unit)


def watchdog(machine: Machine, times: Times, ready_limit: float, unit: str = PLAYER_UNIT) -> None:
    before = kiosk_state(machine, unit)
    limit = timespan(before.get("WatchdogUSec", "0"))
    if limit <= 0:
        raise BootTestError(f"watchdog: {unit} has no WatchdogSec ({before})")
    pid = before["MainPID"]
    rc, output = machine.sh(f"kill -STOP {pid}")
    if rc != 0:
        raise BootTestError(f"watchdog: cannot SIGSTOP {unit}'s process {pid}: {output}")
    stopped = time.monotonic()
    say(
        f"watchdog: {unit} process {pid} stopped; WatchdogSec={limit:.0f} s, restart allowed "
        f"{limit + WATCHDOG_MARGIN:.0f} s"
    )
    # The restart: systemd kills the frozen process once WatchdogSec passes and starts a new one.
    while True:
        state = kiosk_state(machine, unit)
        if state.get("MainPID") not in (pid, "0", None):
            break
        if time.monotonic() - stopped > limit + WATCHDOG_MARGIN:
            raise BootTestError(
                f"watchdog: no restart within WatchdogSec + {WATCHDOG_MARGIN:.0f} s ({state})"
            )
        time.sleep(1)
    times.note(f"watchdog: SIGSTOP to a new {unit} process", time.monotonic() - stopped)
    # Then the new process must come up (READY: the unit is "running" again).
    while state.get("SubState") != "running" or state.get("ActiveState") != "active":
        if time.monotonic() - stopped > ready_limit:
            raise BootTestError(
                f"watchdog: the restarted {unit} was not READY within {ready_limit:.0f} s ({state})"
            )
        time.sleep(1)
        state = kiosk_state(machine, unit)
    times.note(f"watchdog: SIGSTOP to the new {unit} READY", time.monotonic() - stopped)


def memory_report(machine: Machine, times: Times) -> None:
    """PSS of the X server, the painter and the sync service in the booted screen (a figure, not a check).

    Noted in MiB in boot-out/times.txt beside the durations; PSS from /proc/PID/smaps_rollup, so memory
    the processes share (libraries, the X server's shared images) is split between them.
    """
    for name, pid_command in (
        ("X server (Xorg)", "pidof Xorg"),
        ("painter (kiosk.service)", f"systemctl show -p MainPID --value {PLAYER_UNIT}"),
        ("sync service (signage-sync.service)", f"systemctl show -p MainPID --value {SYNC_UNIT}"),
    ):
        rc, pid = machine.sh(pid_command)
        pid = pid.strip().split()[0] if rc == 0 and pid.strip() else ""
        if not pid.isdigit() or pid == "0":
            say(f"memory: {name}: no process")
            continue
        rc, text = machine.sh(f"grep '^Pss:' /proc/{pid}/smaps_rollup")
        match = re.search(r"Pss:\s+(\d+) kB", text)
        if rc == 0 and match:
            times.note(f"memory: {name} PSS", int(match.group(1)) / 1024, "MiB")
        # Mesa's libLLVM is what glamor and GLX pull in (deploy/xorg-signage.conf turns both off).
        rc, text = machine.sh(f"grep -c libLLVM /proc/{pid}/maps")
        say(f"memory: {name}: libLLVM {'mapped' if text.strip() not in ('', '0') else 'not mapped'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--timeout", type=float, help="seconds to wait for READY (default 240 KVM, 900 TCG)")
    arguments = parser.parse_args(argv)
    if os.geteuid() != 0:
        say("run as root (mmdebstrap, chroot, mkfs with owners)")
        return 2
    missing = [package for tool, package in HOST_TOOLS.items() if shutil.which(tool) is None]
    if missing:
        say(f"installing {' '.join(missing)}")
        run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})  # fmt: skip
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir()
    times = Times()
    try:
        return boot_test(times, arguments.timeout)
    except (BootTestError, subprocess.CalledProcessError) as error:
        detail = f"{error}"
        if isinstance(error, subprocess.CalledProcessError):
            detail += f"\n{error.stderr or ''}{error.stdout or ''}"
        say(f"FAILED: {detail}")
        return 1
    finally:
        times.write(OUT / "times.txt")


def boot_test(times: Times, timeout: float | None) -> int:
    started = time.monotonic()
    tarball, cold = base_image(times)
    work = CACHE / "work"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    root = work / "root"
    root.mkdir()
    run(["tar", "-xpf", str(tarball), "--numeric-owner", "-C", str(root)])
    build_wheels(work / "wheels")
    install_into(root, work / "wheels")
    image_extras(root)
    repo = seed_cache(work, root)
    kernel, initrd = make_disk(root, work / "disk.raw")
    times.note(
        "image build, cold (base included)" if cold else "image build from the cached base",
        time.monotonic() - started,
    )
    shutil.rmtree(root)

    kvm = kvm_works(kernel, work)
    machine = Machine(work, kernel, initrd, work / "disk.raw", OUT / "serial-first-boot.log", kvm)
    limit = timeout or (240.0 if machine.kvm else 900.0)
    say(
        f"boot 1: QEMU with {'KVM' if machine.kvm else 'TCG (/dev/kvm missing or not running guests)'}, waiting for READY"
    )
    try:
        ready = machine.wait_serial(READY_RE, limit, "boot 1: kiosk.service READY")
        times.note("boot 1: power-on to kiosk.service READY (wall clock)", ready)
        times.note("boot 1: guest uptime at READY", machine.ready_uptime())
        machine.wait_agent(120)
        wait_for_slide(machine, OUT / "first-boot.png", repo, work, "boot 1: screen", 60)
        running(machine, SYNC_UNIT, 120, "boot 1")
        memory_report(machine, times)
        watchdog(machine, times, limit)
        wait_for_slide(machine, OUT / "after-watchdog.png", repo, work, "watchdog: screen", 60)
        # The sync service frozen, then restarted: the painter is not touched (same process, a slide on).
        painter = kiosk_state(machine)["MainPID"]
        watchdog(machine, times, limit, SYNC_UNIT)
        if kiosk_state(machine)["MainPID"] != painter:
            raise BootTestError("watchdog: restarting the sync service restarted the player too")
        wait_for_slide(machine, OUT / "after-sync-watchdog.png", repo, work, "sync watchdog: screen", 60)
        seeded = seeded_hashes(work / "seed-cache")
        hashes = cache_hashes(machine)
        # The player may add to it (ngclient keeps its trusted root as tuf/root.json), never change it.
        if {name: hashes.get(name) for name in seeded} != seeded:
            raise BootTestError(
                f"cache: the guest's verified set differs from the one seeded: {diff(seeded, hashes)}"
            )
        rc, journal = machine.sh("journalctl -b -u kiosk.service -o short-monotonic --no-pager")
        (OUT / "kiosk-journal-first-boot.txt").write_text(journal, encoding="utf-8")
        rc, journal = machine.sh(f"journalctl -b -u {SYNC_UNIT} -o short-monotonic --no-pager")
        (OUT / "sync-journal-first-boot.txt").write_text(journal, encoding="utf-8")
        # Cut the power while the player writes its play log (one row per slide shown), not before it has one.
        deadline = time.monotonic() + 120
        while machine.sh("test -s /var/lib/signage/cache/plays.sqlite")[0] != 0:
            if time.monotonic() > deadline:
                raise BootTestError("play log: the player recorded no play within 120 s of its restart")
            time.sleep(2)
        say("power cut: kill -9 QEMU")
    finally:
        machine.power_cut()

    machine = Machine(work, kernel, initrd, work / "disk.raw", OUT / "serial-after-power-cut.log", kvm)
    try:
        ready = machine.wait_serial(READY_RE, limit, "boot 2 (after the power cut): kiosk.service READY")
        times.note("boot 2 (after the power cut): power-on to READY (wall clock)", ready)
        times.note("boot 2: guest uptime at READY", machine.ready_uptime())
        machine.wait_agent(120)
        after = cache_hashes(machine)
        if after != hashes:
            raise BootTestError(f"power cut: the verified set in the cache changed: {diff(hashes, after)}")
        say(f"power cut: the verified set is intact ({len(after)} files, hashes as seeded)")
        integrity = play_log_ok(machine)
        if integrity != "ok":
            raise BootTestError(f"power cut: the play log is damaged: {integrity}")
        say(f"power cut: play log integrity check: {integrity}")
        _, listing = machine.sh("ls -laR /var/lib/signage")
        (OUT / "state-after-power-cut.txt").write_text(listing, encoding="utf-8")
        rc, status = machine.sh("signage status --config /etc/signage/player.toml")
        (OUT / "status-after-power-cut.txt").write_text(status, encoding="utf-8")
        if rc != 0:
            raise BootTestError(f"power cut: `signage status` failed ({rc}): {status}")
        wait_for_slide(machine, OUT / "after-power-cut.png", repo, work, "boot 2: screen", 60)
        running(machine, SYNC_UNIT, 120, "boot 2 (after the power cut)")
        rc, journal = machine.sh("journalctl -b -u kiosk.service -o short-monotonic --no-pager")
        (OUT / "kiosk-journal-after-power-cut.txt").write_text(journal, encoding="utf-8")
    finally:
        machine.power_cut()
    times.note("boot test total", time.monotonic() - started)
    say("PASSED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
