"""``signage doctor``: is this screen well? Fonts, display, trust root, cache, clock, disk, hub, token.

Each check is a plain function that returns a :class:`Check` (name, verdict, what was found in Chinese
and English, and a command that fixes it when there is one). Everything a check needs from outside is
passed in: the clock, the HTTP probe, the font check (Qt lives in ``signage.kiosk``, so this module stays
Qt-free), the display probe and the command runner, so the tests run every check against real folders
and a real socket without patching anything. A check that crashes is reported as failed, never raised:
the technician gets the whole report in one go. The exit status is 0 only when every check passed.

:func:`verify_cache` is also what the player runs at start (on its worker thread): an object whose
bytes no longer match its hash is deleted, so the next sync fetches it again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import grp
import hashlib
import json
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TextIO

from tuf.api.exceptions import DownloadHTTPError, UnsignedMetadataError
from tuf.api.metadata import Metadata, Root

from signage.core.playlist import Playlist
from signage.sync.cache import ContentCache, ObjectRef, read_playlist
from signage.sync.config import PlayerConfig, load_player_config

#: Below this much free space on the cache's filesystem the report warns: a new playlist with its
#: photos needs room next to the old one until the switch.
MIN_FREE_BYTES = 500 * 1000 * 1000
#: How far the local clock may be from the hub's ``Date`` before the report flags it. Signed lists
#: expire by the hour, so minutes matter little; an hour off usually means a reset clock.
CLOCK_TOLERANCE = dt.timedelta(minutes=2)
#: The account ``kiosk.service`` runs the player as (``deploy/install.sh`` creates it).
SERVICE_USER = "signage"
#: Exit status of ``signage doctor`` when at least one check failed.
UNHEALTHY = 1

_HEX64 = re.compile(r"[0-9a-f]{64}")
_HUB_BODY_LIMIT = 64 * 1024


@dataclass(frozen=True)
class Check:
    """The outcome of one check.

    Attributes:
        name: A short stable id (``fonts``, ``display``, ``trust-root``, ``cache``, ``clock``, ``disk``,
            ``write``, ``hub``, ``token``).
        ok: Whether all is well.
        zh: What was found (and what to do), in Chinese.
        en: The same in English.
        fix: A command that fixes the problem, when there is one (empty otherwise).
        warning: A problem worth fixing that does not make the machine unhealthy (exit status stays 0).
    """

    name: str
    ok: bool
    zh: str
    en: str
    fix: str = ""
    warning: bool = False


@dataclass(frozen=True)
class FontFindings:
    """What the Qt side found about the CJK fonts (see ``signage.kiosk.health.check_fonts``).

    Attributes:
        primary: The family slides are set in, or ``None`` when no installed font can set Chinese.
        missing: One description per text with characters no font has (``U+20BB7 𠮷 in '...'``).
    """

    primary: str | None
    missing: tuple[str, ...] = ()


@dataclass(frozen=True)
class HubAnswer:
    """What the hub answered to the connectivity probe.

    Attributes:
        status: The HTTP status.
        date: The response's ``Date`` header (aware UTC), if any.
        body: The first bytes of the body.
    """

    status: int
    date: dt.datetime | None
    body: bytes


@dataclass(frozen=True)
class Account:
    """Whose write access is checked: the service's user when the doctor runs as root.

    Attributes:
        name: The user name, for messages.
        uid: The user id.
        gids: The primary and supplementary group ids.
    """

    name: str
    uid: int
    gids: frozenset[int]


@dataclass(frozen=True)
class CacheScan:
    """The result of re-hashing every object of the cache.

    Attributes:
        checked: How many objects were hashed.
        removed: Hashes of the objects that did not match and were deleted.
        failed: Objects that did not match but could not be deleted (``name: reason``).
    """

    checked: int = 0
    removed: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()


#: Fetches a URL for the hub probe; raises on a network failure or an HTTP error status.
HttpGet = Callable[[str], HubAnswer]
#: The Qt font check: the cached playlist (or ``None``) in, findings out.
FontsCheck = Callable[[Playlist | None], FontFindings]
#: Probes the display the player would use.
DisplayCheck = Callable[[], Check]
#: Runs a command and returns its standard output, or ``None`` when the command is not available.
Runner = Callable[[Sequence[str]], str | None]


# --- the cache --------------------------------------------------------------------------------------------


def scan_cache(cache: ContentCache) -> CacheScan:
    """Re-hash every object under ``cache_dir/objects`` and delete those whose bytes do not match.

    Only files named by a SHA-256 are looked at: downloads in progress (``*.download``) and temp files
    are the sync's own. Safe to run next to a sync: objects are written by rename, so a reader sees a
    whole file, and a file that matches its name is never touched.
    """
    checked = 0
    removed: list[str] = []
    failed: list[str] = []
    try:
        paths = sorted(cache.objects_dir.iterdir())
    except OSError:
        return CacheScan()
    for path in paths:
        if not _HEX64.fullmatch(path.name) or not path.is_file():
            continue
        checked += 1
        try:
            with path.open("rb") as handle:
                digest = hashlib.file_digest(handle, "sha256").hexdigest()
        except OSError as error:
            failed.append(f"{path.name}: {error.strerror}")
            continue
        if digest == path.name:
            continue
        try:
            path.unlink()
        except OSError as error:
            failed.append(f"{path.name}: {error.strerror}")
            continue
        removed.append(path.name)
    return CacheScan(checked, tuple(removed), tuple(failed))


def verify_cache(cache: ContentCache) -> int:
    """Delete every cached object that fails its hash; returns how many were deleted.

    The player calls this at start, on its worker thread (it reads every object: seconds on a slow
    disk). A deleted object is downloaded again by the next sync that needs it.
    """
    return len(scan_cache(cache).removed)


def _missing_objects(cache: ContentCache, channel: str) -> tuple[list[str], Playlist | None]:
    """Objects the current set names but the cache lacks, and the current playlist (read verified)."""
    state = cache.load_state(channel)
    missing: list[str] = []
    playlist = None
    for role, ref in (("playlist", state.playlist), ("revocations", state.revocations)):
        if ref is not None and not cache.has(ref):
            missing.append(role)
    read = read_playlist(cache, state.playlist, state.layout, channel)
    if read is not None:
        playlist = read[0]
    if playlist is not None:
        for record in playlist.records:
            photo = record.photo
            if photo is None or record.entry_id in state.revoked:
                continue
            if not cache.has(ObjectRef(photo.sha256, photo.length)):
                missing.append(f"photo {photo.sha256[:12]}… ({record.debtor.name} {record.case_number})")
    return missing, playlist


def check_cache(cache: ContentCache, channel: str) -> tuple[Check, Playlist | None]:
    """Re-hash everything, delete what is bad, and say whether the current set is complete."""
    scan = scan_cache(cache)
    if not (cache.cache_dir / "current.json").exists():
        return Check(
            "cache",
            False,
            f"{cache.cache_dir} 中还没有已验证的名单（从未成功同步）；屏幕只显示待机画面",
            f"no verified list in {cache.cache_dir} yet (never synced); the screen shows standby only",
            "signage sync --once",
        ), None
    missing, playlist = _missing_objects(cache, channel)
    problems_zh: list[str] = []
    problems_en: list[str] = []
    if scan.removed:
        problems_zh.append(f"{len(scan.removed)} 个文件哈希不符，已删除")
        problems_en.append(f"{len(scan.removed)} files failed their hash and were deleted")
    if scan.failed:
        problems_zh.append(f"{len(scan.failed)} 个损坏文件无法读取或删除：{'; '.join(scan.failed[:3])}")
        problems_en.append(
            f"{len(scan.failed)} bad files could not be read or deleted: {'; '.join(scan.failed[:3])}"
        )
    if missing:
        shown = ", ".join(missing[:5]) + (" …" if len(missing) > 5 else "")
        problems_zh.append(f"当前名单缺少 {len(missing)} 个文件（{shown}）")
        problems_en.append(f"the current set lacks {len(missing)} files ({shown})")
    if problems_en:
        return Check(
            "cache",
            False,
            "；".join(problems_zh) + "；下次同步会重新下载",
            "; ".join(problems_en) + "; the next sync downloads them again",
            "signage sync --once",
        ), playlist
    return Check(
        "cache",
        True,
        f"已重新校验 {scan.checked} 个文件，全部完好",
        f"re-hashed {scan.checked} files: all intact",
    ), playlist


# --- trust root -------------------------------------------------------------------------------------------


def check_trust_root(root_path: Path, cache: ContentCache, now: dt.datetime) -> Check:
    """The installed root parses, is signed by its own keys, and starts the chain the cache holds."""
    fix_zh = "请向运营方重新索取 1.root.json（当面或 U 盘），复制到配置中 root 所指的位置"
    fix_en = "get 1.root.json again from the operator (in person or on a USB stick) and copy it to the configured root"
    try:
        data = root_path.read_bytes()
        root = Metadata[Root].from_bytes(data)
        root.verify_delegate(Root.type, root)
    except OSError as error:
        return Check(
            "trust-root",
            False,
            f"无法读取 {root_path}（{error.strerror}）；{fix_zh}",
            f"cannot read {root_path} ({error.strerror}); {fix_en}",
        )
    except UnsignedMetadataError:
        return Check(
            "trust-root",
            False,
            f"{root_path} 没有足够的根密钥签名（文件被改动过？）；{fix_zh}",
            f"{root_path} is not signed by its own root keys (was it edited?); {fix_en}",
        )
    except Exception as error:  # DeserializationError, ValueError: any way of not being a root
        return Check(
            "trust-root",
            False,
            f"{root_path} 不是有效的 TUF 根元数据（{error}）；{fix_zh}",
            f"{root_path} is not valid TUF root metadata ({error}); {fix_en}",
        )
    digest = hashlib.sha256(data).hexdigest()
    version = root.signed.version
    history = cache.tuf_dir / "root_history"
    start = history / f"{version}.root.json"
    with contextlib.suppress(OSError):
        if start.read_bytes() != data:
            return Check(
                "trust-root",
                False,
                f"{root_path}（v{version}）与缓存中上次同步所用的根文件不同：根文件被更换过。若是运营方要求的，"
                f"删除 {cache.tuf_dir} 后重新同步；否则请核对 SHA-256 {digest}",
                f"{root_path} (v{version}) differs from the root the cache was last synced with: it was replaced. "
                f"If the operator asked for that, delete {cache.tuf_dir} and sync again; otherwise compare its "
                f"SHA-256 {digest} with the operator",
                f"rm -r {cache.tuf_dir} && signage sync --once",
            )
    # Walk the chain python-tuf keeps: each newer root must be signed by the one before and by itself.
    newest = root
    while (history / f"{newest.signed.version + 1}.root.json").is_file():
        path = history / f"{newest.signed.version + 1}.root.json"
        try:
            following = Metadata[Root].from_file(str(path))
            if following.signed.version != newest.signed.version + 1:
                raise ValueError(f"it holds version {following.signed.version}")
            newest.verify_delegate(Root.type, following)
            following.verify_delegate(Root.type, following)
        except Exception as error:
            return Check(
                "trust-root",
                False,
                f"缓存中的根链在 {path.name} 处断开（{error}）；删除 {cache.tuf_dir} 后重新同步",
                f"the cached root chain breaks at {path.name} ({error}); delete {cache.tuf_dir} and sync again",
                f"rm -r {cache.tuf_dir} && signage sync --once",
            )
        newest = following
    expires = newest.signed.expires
    if newest.signed.is_expired(now):
        return Check(
            "trust-root",
            False,
            f"最新的根元数据 v{newest.signed.version} 已于 {expires:%Y-%m-%d} 过期；运营方须运行 signage repo rotate",
            f"the newest root v{newest.signed.version} expired on {expires:%Y-%m-%d}; the operator must run "
            "signage repo rotate",
        )
    chain = f"v{version}" if newest is root else f"v{version} → v{newest.signed.version}"
    return Check(
        "trust-root",
        True,
        f"根文件 {root_path} 有效（{chain}，有效期至 {expires:%Y-%m-%d}），SHA-256 {digest}",
        f"root {root_path} is valid ({chain}, expires {expires:%Y-%m-%d}), SHA-256 {digest}",
    )


# --- fonts and display ------------------------------------------------------------------------------------


def check_fonts(findings: FontFindings) -> Check:
    """Turn the Qt side's findings into a verdict."""
    if findings.primary is None:
        return Check(
            "fonts",
            False,
            "没有安装能显示中文的字体；名单无法显示",
            "no installed font can set Chinese; the list cannot be shown",
            "sudo apt-get install fonts-noto-cjk",
        )
    if findings.missing:
        listed = "; ".join(findings.missing[:5]) + (" …" if len(findings.missing) > 5 else "")
        return Check(
            "fonts",
            False,
            f"字体 {findings.primary} 等缺少 {len(findings.missing)} 处文字的字形（会显示为方框）：{listed}",
            f"{len(findings.missing)} texts have characters no installed font has (they show as boxes): {listed}",
            "sudo apt-get install fonts-noto-cjk fonts-noto-cjk-extra",
        )
    return Check(
        "fonts",
        True,
        f"中文字体 {findings.primary} 覆盖当前名单的全部文字",
        f"the CJK font {findings.primary} covers every character of the current list",
    )


def probe_display(env: Mapping[str, str] = os.environ, *, timeout: float = 2.0) -> Check:
    """Whether the display the player would use accepts connections (a socket connect, no protocol).

    ``WAYLAND_DISPLAY`` wins over ``DISPLAY``, as in Qt. With neither set (the doctor run over SSH), the
    X display ``:0`` that ``kiosk.service`` uses is tried.
    """
    wayland = env.get("WAYLAND_DISPLAY")
    if wayland:
        path = (
            Path(wayland)
            if wayland.startswith("/")
            else Path(env.get("XDG_RUNTIME_DIR", "/nonexistent")) / wayland
        )
        return _display_result(f"Wayland {path}", _connect_unix([str(path)], timeout))
    given = env.get("DISPLAY")
    name = given or ":0"
    match = re.fullmatch(r"(?:unix)?([^:]*):(\d+)(?:\.\d+)?", name)
    if match is None:
        return Check(
            "display", False, f"DISPLAY={name} 格式无效", f"DISPLAY={name} is not a valid display name"
        )
    host, number = match.groups()
    if host in ("", "unix"):
        socket_path = f"/tmp/.X11-unix/X{number}"
        # libxcb tries the abstract socket first, so a player with PrivateTmp= reaches the server too.
        error = _connect_unix(["\0" + socket_path, socket_path], timeout)
    else:
        error = _connect_tcp(host, 6000 + int(number), timeout)
    label = f"X {name}" + ("" if given else "（DISPLAY 未设置，检查 kiosk.service 使用的 :0）")
    label_en = f"X {name}" + ("" if given else " (DISPLAY is not set; checked :0, which kiosk.service uses)")
    return _display_result(label, error, label_en)


def _display_result(label: str, error: str | None, label_en: str | None = None) -> Check:
    label_en = label_en or label
    if error is None:
        return Check(
            "display", True, f"显示服务 {label} 可以连接", f"the display {label_en} accepts connections"
        )
    return Check(
        "display",
        False,
        f"无法连接显示服务 {label}（{error}）；请检查 signage-x.service",
        f"cannot connect to the display {label_en} ({error}); check signage-x.service",
        "systemctl status signage-x.service kiosk.service",
    )


def _connect_unix(addresses: Sequence[str], timeout: float) -> str | None:
    last = "no address"
    for address in addresses:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(timeout)
                sock.connect(address)
            return None
        except OSError as error:
            last = error.strerror or str(error)
    return last


def _connect_tcp(host: str, port: int, timeout: float) -> str | None:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as error:
        return error.strerror or str(error)


# --- hub and clock ----------------------------------------------------------------------------------------


def check_hub(hub_url: str, http_get: HttpGet) -> tuple[Check, HubAnswer | None]:
    """``GET {hub_url}metadata/timestamp.json`` answers 200 with TUF timestamp metadata."""
    url = hub_url.rstrip("/") + "/metadata/timestamp.json"
    try:
        answer = http_get(url)
    except Exception as error:
        status = error.status_code if isinstance(error, DownloadHTTPError) else None
        reason = f"HTTP {status}" if status is not None else _short(str(error) or type(error).__name__)
        return Check(
            "hub",
            False,
            f"无法从集线器获取 {url}（{reason}）；请检查网络、hub_url 和集线器是否在运行",
            f"cannot fetch {url} ({reason}); check the network, hub_url and that the hub is running",
            f"curl -sS -o /dev/null -w '%{{http_code}}\\n' {url}",
        ), None
    if answer.status != 200:
        return Check(
            "hub",
            False,
            f"集线器对 {url} 返回 HTTP {answer.status}",
            f"the hub answered HTTP {answer.status} for {url}",
        ), answer
    try:
        kind = json.loads(answer.body).get("signed", {}).get("_type")
    except (ValueError, AttributeError):
        kind = None
    if kind != "timestamp":
        return Check(
            "hub",
            False,
            f"{url} 的回答不是 TUF 时间戳（可能是代理或需要登录的 Wi-Fi 门户页面）",
            f"{url} did not answer TUF timestamp metadata (a proxy or a captive portal page?)",
        ), answer
    return Check("hub", True, f"集线器 {hub_url} 可以访问", f"the hub {hub_url} answers"), answer


def _short(message: str) -> str:
    """The useful tail of a requests/urllib3 error (``[Errno 111] Connection refused``), not its whole chain."""
    found = re.findall(r"\[Errno -?\d+\][^\"')\]]*", message)
    return found[-1].strip() if found else message[:200]


def check_clock(
    now: dt.datetime,
    *,
    floor: dt.datetime | None,
    hub_date: dt.datetime | None,
    ntp_synchronized: bool | None,
    tolerance: dt.timedelta = CLOCK_TOLERANCE,
) -> Check:
    """The local clock against the hub's ``Date``, the cache's time floor, and NTP.

    Args:
        now: The local clock.
        floor: The newest trustworthy time the screen has seen (``clock.json``), if any.
        hub_date: The hub's ``Date`` header, if the hub answered.
        ntp_synchronized: ``timedatectl``'s ``NTPSynchronized``, or ``None`` when unknown.
        tolerance: How far from the hub's time the clock may be.
    """
    zh: list[str] = []
    en: list[str] = []
    ok = True
    fix = ""
    if hub_date is not None:
        offset = (now - hub_date).total_seconds()
        if abs(offset) > tolerance.total_seconds():
            ok = False
            way_zh, way_en = ("快", "ahead of") if offset > 0 else ("慢", "behind")
            zh.append(f"本机时钟比集线器{way_zh} {abs(offset):.0f} 秒")
            en.append(f"the clock is {abs(offset):.0f} s {way_en} the hub's")
            fix = "sudo timedatectl set-ntp true"
        else:
            zh.append(f"与集线器相差 {offset:+.0f} 秒")
            en.append(f"{offset:+.0f} s from the hub's clock")
    else:
        zh.append("未能与集线器时间比较")
        en.append("not compared with the hub (no answer)")
    if floor is not None and now < floor:
        ok = False
        zh.append(f"本机时钟早于屏幕已见过的最新可信时间 {floor:%Y-%m-%d %H:%M}（时钟被回拨？）")
        en.append(
            f"the clock is behind the newest trusted time this screen has seen, {floor:%Y-%m-%d %H:%M} (reset?)"
        )
        fix = "sudo timedatectl set-ntp true"
    if ntp_synchronized is False:
        ok = False
        zh.append("NTP 未同步")
        en.append("NTP is not synchronised")
        fix = "sudo timedatectl set-ntp true"
    elif ntp_synchronized is True:
        zh.append("NTP 已同步")
        en.append("NTP synchronised")
    head_zh = "时钟正常" if ok else "时钟有问题"
    head_en = "clock OK" if ok else "clock problem"
    return Check(
        "clock",
        ok,
        f"{head_zh}（{now:%Y-%m-%d %H:%M:%S} UTC）：{'；'.join(zh)}；名单签名会过期，时钟必须准确",
        f"{head_en} ({now:%Y-%m-%d %H:%M:%S} UTC): {'; '.join(en)}; signed lists expire, so the clock must be right",
        fix,
    )


def ntp_synchronized(run: Runner) -> bool | None:
    """``timedatectl show -p NTPSynchronized --value``: ``True``/``False``, or ``None`` when unknown."""
    answer = run(["timedatectl", "show", "-p", "NTPSynchronized", "--value"])
    if answer is None:
        return None
    value = answer.strip().lower()
    return True if value == "yes" else False if value == "no" else None


def run_command(command: Sequence[str]) -> str | None:
    """Run ``command`` briefly; its output, or ``None`` when it is missing, fails or hangs."""
    try:
        done = subprocess.run(list(command), capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


# --- disk, write access, token ----------------------------------------------------------------------------


def _existing(path: Path) -> Path:
    """``path`` or its nearest existing parent (the cache folder is created on the first sync)."""
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_disk(folder: Path, *, min_free: int = MIN_FREE_BYTES) -> Check:
    """Free space on the cache's filesystem."""
    target = _existing(folder)
    try:
        free = shutil.disk_usage(target).free
    except OSError as error:
        return Check(
            "disk",
            False,
            f"无法读取 {target} 的剩余空间（{error.strerror}）",
            f"cannot read the free space of {target} ({error.strerror})",
        )
    if free < min_free:
        return Check(
            "disk",
            False,
            f"{target} 所在磁盘只剩 {free / 1e6:.0f} MB（至少需要 {min_free / 1e6:.0f} MB）；请清理磁盘",
            f"only {free / 1e6:.0f} MB free on {target}'s disk (at least {min_free / 1e6:.0f} MB needed); free space",
            "sudo journalctl --vacuum-size=100M",
        )
    return Check("disk", True, f"剩余空间 {free / 1e9:.1f} GB", f"{free / 1e9:.1f} GB free")


def service_account(name: str = SERVICE_USER) -> Account | None:
    """The service's account when the doctor runs as root and that user exists, else ``None`` (check as self)."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return None
    return Account(name, entry.pw_uid, frozenset(os.getgrouplist(name, entry.pw_gid)))


def _may(stat: os.stat_result, account: Account, bits: tuple[int, int, int]) -> bool:
    """Whether ``account`` has the permission ``bits`` (user, group, other) on a file of ``stat``."""
    if account.uid == 0:
        return True
    if stat.st_uid == account.uid:
        wanted = bits[0]
    elif stat.st_gid in account.gids:
        wanted = bits[1]
    else:
        wanted = bits[2]
    return stat.st_mode & wanted == wanted


_WRITE = (0o300, 0o030, 0o003)  # write and search on a folder
_READ = (0o400, 0o040, 0o004)


def check_write(
    folder: Path, *, account: Account | None = None, writable_roots: Sequence[Path] | None = None
) -> Check:
    """The cache folder (or the parent it will be created in) can be written, and not on a read-only disk.

    Args:
        folder: The configured ``cache_dir``.
        account: Check for this user by the permission bits (the service's user when run as root);
            ``None`` writes a real temp file as the current user.
        writable_roots: Folders the service's sandbox lets it write (``ReadWritePaths=``); ``None`` when
            the player does not run under ``kiosk.service``.
    """
    target = _existing(folder)
    if writable_roots is not None and not any(folder.is_relative_to(root) for root in writable_roots):
        allowed = ", ".join(str(root) for root in writable_roots)
        return Check(
            "write",
            False,
            f"cache_dir {folder} 不在 kiosk.service 允许写入的位置（{allowed}）；请改用 /var/lib/signage/cache",
            f"cache_dir {folder} is outside what kiosk.service lets the player write ({allowed}); "
            "use /var/lib/signage/cache",
        )
    try:
        if os.statvfs(target).f_flag & os.ST_RDONLY:
            return Check(
                "write",
                False,
                f"{target} 所在文件系统是只读的",
                f"the filesystem of {target} is read-only",
                "sudo mount -o remount,rw /",
            )
    except OSError as error:
        return Check(
            "write",
            False,
            f"无法检查 {target}（{error.strerror}）",
            f"cannot check {target} ({error.strerror})",
        )
    owner = account.name if account is not None else "signage"
    fix = f"sudo install -d -o {owner} -g {owner} -m 750 {folder}"
    if account is not None:
        folders = [target] + [
            f for f in (target / "objects", target / "tuf") if target == folder and f.is_dir()
        ]
        for each in folders:
            if not _may(each.stat(), account, _WRITE):
                return Check(
                    "write",
                    False,
                    f"用户 {account.name} 不能写入 {each}；请把它交给该用户",
                    f"the user {account.name} cannot write {each}; give it to that user",
                    fix if each == target else f"sudo chown -R {account.name}: {folder}",
                )
        return Check(
            "write",
            True,
            f"用户 {account.name} 可以写入 {target}",
            f"the user {account.name} can write {target}",
        )
    try:
        with tempfile.NamedTemporaryFile(dir=target, prefix=".doctor-", suffix=".tmp") as probe:
            probe.write(b"x")
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as error:
        if error.errno == errno.EROFS:
            return Check(
                "write", False, f"{target} 所在文件系统是只读的", f"the filesystem of {target} is read-only"
            )
        return Check(
            "write",
            False,
            f"无法写入 {target}（{error.strerror}）",
            f"cannot write {target} ({error.strerror})",
            fix,
        )
    return Check("write", True, f"可以写入 {target}", f"{target} is writable")


def check_token(path: Path, *, account: Account | None = None) -> Check:
    """The screen's hub token exists, is not empty, and no other user can read it."""
    fix_install = f"sudo install -m 640 -o root -g {SERVICE_USER} TOKEN {path}"
    try:
        stat = path.stat()
    except FileNotFoundError:
        return Check(
            "token",
            False,
            f"没有令牌文件 {path}；请向运营方索取本屏幕的令牌并放到这里",
            f"no token file at {path}; ask the operator for this screen's token and put it there",
            fix_install,
        )
    except OSError as error:
        return Check(
            "token", False, f"无法检查 {path}（{error.strerror}）", f"cannot check {path} ({error.strerror})"
        )
    if not path.is_file():
        return Check("token", False, f"{path} 不是普通文件", f"{path} is not a regular file", fix_install)
    if stat.st_mode & 0o007:
        return Check(
            "token",
            False,
            f"{path} 的权限是 {stat.st_mode & 0o777:o}，所有用户都能读取；令牌是密钥，请收紧权限",
            f"{path} has mode {stat.st_mode & 0o777:o}: every user can read it; a token is a secret, restrict it",
            f"sudo chmod o-rwx {path}",
        )
    loose = _loose_secret(path, stat, account)
    if loose is not None:
        zh, en, fix = loose
        return Check("token", False, zh, en, fix)
    if stat.st_size == 0:
        return Check("token", False, f"{path} 是空文件", f"{path} is empty", fix_install)
    if account is not None and not _may(stat, account, _READ):
        return Check(
            "token",
            False,
            f"用户 {account.name} 无法读取 {path}",
            f"the user {account.name} cannot read {path}",
            f"sudo chgrp {account.name} {path} && sudo chmod 640 {path}",
        )
    return Check("token", True, f"令牌文件 {path} 权限正确", f"the token file {path} is present and private")


def _loose_secret(path: Path, status: os.stat_result, account: Account | None) -> tuple[str, str, str] | None:
    """Why a secret file at ``path`` is open to someone it should not be (zh, en, fix), or None.

    Other bits are checked by the caller. Here: the owner is root or the service's user (the current user
    when not run as root); the group may read, never write or run, and only when it is a group of the service's
    user; the folder holding it is writable by its owner only (whoever may write the folder may replace the
    file with their own token, or move it away).
    """
    owners = {0, account.uid if account is not None else os.geteuid()}
    groups = account.gids if account is not None else frozenset({os.getegid(), *_group_ids(SERVICE_USER)})
    mode = status.st_mode & 0o777
    if status.st_uid not in owners:
        return (
            f"{path} 的所有者是 uid {status.st_uid}；只应属于 root 或服务用户",
            f"{path} is owned by uid {status.st_uid}; only root or the service's user may own it",
            f"sudo chown root:{SERVICE_USER} {path}",
        )
    if mode & 0o030 or (mode & 0o040 and status.st_gid not in groups):
        return (
            f"{path} 的权限是 {mode:o}（组 gid {status.st_gid}）；同组用户只可读取，且只能是服务用户的组",
            f"{path} has mode {mode:o} (group gid {status.st_gid}): its group may only read it, and only the "
            "service's own group",
            f"sudo chown root:{SERVICE_USER} {path} && sudo chmod 640 {path}",
        )
    folder = path.parent
    try:
        folder_status = folder.stat()
    except OSError as error:
        return (f"无法检查 {folder}（{error.strerror}）", f"cannot check {folder} ({error.strerror})", "")
    if folder_status.st_mode & 0o022 or folder_status.st_uid not in owners:
        folder_mode = folder_status.st_mode & 0o7777
        return (
            f"{path} 所在目录 {folder} 的权限是 {folder_mode:o}（所有者 uid {folder_status.st_uid}），"
            "其他用户可以替换令牌；目录只应由 root 或服务用户写入",
            f"the folder {folder} holding {path} has mode {folder_mode:o} (owner uid {folder_status.st_uid}): "
            "someone else could replace the token; only root or the service's user may write it",
            f"sudo chown root: {folder} && sudo chmod go-w {folder}",
        )
    return None


def _group_ids(name: str) -> set[int]:
    try:
        return {grp.getgrnam(name).gr_gid}
    except KeyError:
        return set()


# --- all together -----------------------------------------------------------------------------------------


def run_checks(
    config: PlayerConfig,
    *,
    clock: Callable[[], dt.datetime],
    http_get: HttpGet,
    fonts_check: FontsCheck,
    display_check: DisplayCheck,
    run: Runner = run_command,
    account: Account | None = None,
    writable_roots: Sequence[Path] | None = None,
    min_free: int = MIN_FREE_BYTES,
) -> list[Check]:
    """Run every check, in the order of the report; never raises.

    Args:
        config: The screen's settings.
        clock: The current time (aware UTC).
        http_get: Fetches the hub probe; see :func:`hub_probe`.
        fonts_check: The Qt font check (``signage.kiosk.health.check_fonts``).
        display_check: Probes the display; usually ``probe_display``.
        run: Runs ``timedatectl``.
        account: Whose write access to check (see :func:`service_account`); ``None`` for the current user.
        writable_roots: What the service's sandbox lets it write; ``None`` when not under systemd.
        min_free: The least free disk space that counts as well.
    """
    cache = ContentCache(config.cache_dir)
    checks: list[Check] = []
    playlist: Playlist | None = None
    answer: HubAnswer | None = None

    def guarded(name: str, check: Callable[[], Check]) -> None:
        try:
            checks.append(check())
        except Exception as error:  # a crashing check is a failed check, and the others still run
            checks.append(Check(name, False, f"检查出错：{error!r}", f"the check crashed: {error!r}"))

    def cache_check() -> Check:
        nonlocal playlist
        result, playlist = check_cache(cache, config.channel)
        return result

    def hub_check() -> Check:
        nonlocal answer
        result, answer = check_hub(config.hub_url, http_get)
        return result

    guarded("trust-root", lambda: check_trust_root(config.root, cache, clock()))
    guarded("cache", cache_check)
    guarded("fonts", lambda: check_fonts(fonts_check(playlist)))
    guarded("display", display_check)
    guarded("hub", hub_check)
    guarded(
        "clock",
        lambda: check_clock(
            clock(),
            floor=cache.time_floor(),
            hub_date=None if answer is None else answer.date,
            ntp_synchronized=ntp_synchronized(run),
        ),
    )
    guarded("disk", lambda: check_disk(config.cache_dir, min_free=min_free))
    guarded("write", lambda: check_write(config.cache_dir, account=account, writable_roots=writable_roots))
    guarded("token", lambda: check_token(config.token_file, account=account))
    return checks


_TITLES = {
    "trust-root": "信任根 / trust root",
    "cache": "缓存 / cache",
    "fonts": "字体 / fonts",
    "display": "显示 / display",
    "hub": "集线器 / hub",
    "clock": "时钟 / clock",
    "disk": "磁盘空间 / free disk",
    "write": "写入权限 / write access",
    "token": "令牌 / token",
    "hub-keys": "集线器密钥文件 / hub key files",
    "hub-keys-encrypted": "密钥加密存放 / keys encrypted at rest",
    "hub-root-key": "根密钥不在集线器上 / no root key on the hub",
    "hub-secret-key": "会话密钥 / secret key",
    "hub-database": "数据库文件权限 / database file modes",
    "hub-debug": "调试模式关闭 / DEBUG off",
    "hub-owners": "密钥的所有者与目录 / key owners and folders",
    "hub-front": "nginx 在前 / nginx in front",
}


def render_report(checks: Sequence[Check]) -> str:
    """The plain-text report: one block per check, Chinese then English, then a summary line."""
    lines = ["signage doctor", ""]
    for check in checks:
        mark = "[ OK ]" if check.ok else "[WARN]" if check.warning else "[FAIL]"
        lines.append(f"{mark} {_TITLES.get(check.name, check.name)}")
        lines.append(f"       {check.zh}")
        lines.append(f"       {check.en}")
        if check.fix and not check.ok:
            lines.append(f"       修复 / fix: {check.fix}")
    failed = [check.name for check in checks if not check.ok and not check.warning]
    warned = [check.name for check in checks if not check.ok and check.warning]
    lines.append("")
    if warned:
        lines.append(f"{len(warned)} 项提醒 / {len(warned)} warning(s): {', '.join(warned)}")
    if failed:
        lines.append(
            f"{len(failed)} 项有问题 / {len(failed)} of {len(checks)} checks failed: {', '.join(failed)}"
        )
    elif warned:
        lines.append(f"没有失败项 / none of {len(checks)} checks failed")
    else:
        lines.append(f"全部 {len(checks)} 项正常 / all {len(checks)} checks passed")
    return "\n".join(lines) + "\n"


def exit_status(checks: Sequence[Check]) -> int:
    """0 when every check passed (warnings aside), else :data:`UNHEALTHY`."""
    return 0 if all(check.ok or check.warning for check in checks) else UNHEALTHY


class BytesFetcher(Protocol):
    """What :func:`hub_probe` needs of ``signage.sync.fetcher.HttpFetcher``."""

    last_date: dt.datetime | None

    def get_bytes(self, url: str, max_length: int) -> bytes:
        """At most ``max_length`` bytes of ``url``; raises on network trouble or an HTTP error."""
        ...


def hub_probe(fetcher: BytesFetcher) -> HttpGet:
    """An :data:`HttpGet` over the screens' own fetcher (timeouts, a size cap, no redirects)."""

    def get(url: str) -> HubAnswer:
        body = fetcher.get_bytes(url, _HUB_BODY_LIMIT)
        return HubAnswer(200, fetcher.last_date, body)

    return get


def doctor_command(
    config_path: Path,
    out: TextIO,
    *,
    clock: Callable[[], dt.datetime],
    fonts_check: FontsCheck,
    env: Mapping[str, str] = os.environ,
) -> int:
    """``signage doctor --config FILE``: run every check, print the report, return the exit status.

    Raises:
        ConfigError: the config file is unusable (the CLI maps it to exit status 3).
    """
    from signage.sync.fetcher import HttpFetcher, screen_user_agent

    config = load_player_config(config_path)
    under_systemd = Path("/etc/systemd/system/kiosk.service").exists()
    with HttpFetcher(
        connect_timeout=5, read_timeout=5, deadline=10, user_agent=screen_user_agent(config.screen_id)
    ) as fetcher:
        checks = run_checks(
            config,
            clock=clock,
            http_get=hub_probe(fetcher),
            fonts_check=fonts_check,
            display_check=lambda: probe_display(env),
            account=service_account(),
            writable_roots=(Path("/var/lib/signage"),) if under_systemd else None,
        )
    out.write(render_report(checks))
    return exit_status(checks)
