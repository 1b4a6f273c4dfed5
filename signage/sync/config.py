"""The screen's settings: one small TOML file, by default ``/etc/signage/player.toml``.

The people who write this file are station and bus IT staff, so every problem is reported with the key
it concerns and the fix, in Chinese and English, and all problems of a file are reported at once (a
screen on a bus is configured once, in a depot, without a second chance that day).

Every key is described once, in :data:`KEYS`: its TOML type, whether it is required, its default, the
function that checks and converts it, its description and an example value. The loader, the
unknown-key check ("did you mean …") and :func:`example_config` are all driven by that table, so a new
setting is one new :class:`PlayerConfig` field plus one :class:`KeySpec` entry.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from signage.core.errors import ConfigError

DEFAULT_CONFIG_PATH = Path("/etc/signage/player.toml")
MAX_CONFIG_BYTES = 64 * 1024
# A root with a handful of keys is a few kilobytes; python-tuf's own cap for root metadata is 512,000.
MAX_ROOT_BYTES = 512 * 1024
ID_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_CREDENTIALS_RE = re.compile(r"[^/@\s]*@")


@dataclass(frozen=True)
class PlayerConfig:
    """A screen's validated settings; build it with :func:`load_player_config`.

    Attributes:
        screen_id: This screen's name in the fleet, e.g. ``bus-0412``.
        hub_url: Base URL of the operator's hub, always ending in ``/``.
        channel: Which list the screen shows, e.g. ``station-east``.
        root: The trusted TUF root metadata the installer copied from the operator.
        cache_dir: Where verified content is kept; created by the sync layer.
        rotation: Degrees the picture is turned for a screen mounted on its side (0, 90, 180, 270).
        layout: ``auto`` (from the screen size) or a forced layout name.
        display: Which connected screen shows the player (0 is the first).
        dwell_seconds: How long each slide stands.
        transition_seconds: Crossfade length; 0 for none.
        sync_minutes: Interval of full syncs.
        revocation_poll_seconds: The longest time between two small takedown checks (the player spreads them
            at random within the last tenth of it).
        quiet_hours: Local ``(start, end)`` windows without debtor slides.
        quiet_mode: ``standby`` or ``black`` during quiet hours.
        notice_every: One operator notice after this many debtor slides.
        entries_per_page: Debtor entries on one slide, or 0 to choose automatically so the list goes
            round within a day (``signage.core.pages.plan_pages``); 1 forces one entry per slide.
        memory_ceiling_mb: Resident memory (MB) above which the player restarts itself between slides.
        token_file: The file holding this screen's hub token (``signage doctor`` checks its mode).
        heartbeat_seconds: Interval of the screen's heartbeat to the hub.
        photo_downloads: Photo downloads a sync keeps under way at once.
        photo_deadline_seconds: The longest a sync spends on photos; what it fetched is kept and the
            next sync continues from there.
    """

    screen_id: str
    hub_url: str
    channel: str
    root: Path
    cache_dir: Path = Path("/var/lib/signage/cache")
    rotation: int = 0
    layout: str = "auto"
    display: int = 0
    dwell_seconds: float = 10.0
    transition_seconds: float = 1.0
    sync_minutes: float = 5.0
    revocation_poll_seconds: float = 30.0
    quiet_hours: tuple[tuple[dt.time, dt.time], ...] = ()
    quiet_mode: str = "standby"
    notice_every: int = 5
    entries_per_page: int = 0
    memory_ceiling_mb: int = 600
    token_file: Path = Path("/etc/signage/token")
    heartbeat_seconds: float = 60.0
    photo_downloads: int = 4
    photo_deadline_seconds: float = 300.0


class Invalid(Exception):
    """Raised by a :class:`KeySpec` validator: why a value is wrong and how to fix it.

    The loader adds the file and the key name, so validators only say what is wrong with the value.

    Args:
        zh: The reason and fix in Chinese.
        en: The same in English.
    """

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(en)
        self.zh = zh
        self.en = en


#: A validator takes the TOML value (already of the spec's type) and the config file's folder, and
#: returns the value to store in :class:`PlayerConfig`, or raises :class:`Invalid`.
Validator = Callable[[Any, Path], Any]


@dataclass(frozen=True)
class KeySpec:
    """One setting of the config file.

    Attributes:
        name: The TOML key, also the :class:`PlayerConfig` field it fills.
        kind: The TOML type expected (``str``, ``int``, ``float``, ``bool``, ``list`` or ``dict``).
        required: Whether the key must be present.
        validate: Checks and converts the value; see :data:`Validator`.
        zh: What the key is for, in Chinese (shown in error messages and the example config).
        en: The same in English.
        example: The value as a TOML literal, used in the example config and in "add a line" fixes.
        default: The value used when an optional key is absent (already converted).
    """

    name: str
    kind: type[object]
    required: bool
    validate: Validator
    zh: str
    en: str
    example: str
    default: object = None


# What each TOML type is called in messages, and how it is written.
_KIND_NAMES: dict[type[object], tuple[str, str]] = {
    str: ("字符串（用英文双引号括起来的文字）", "a string (text in straight double quotes)"),
    int: ("整数", "an integer"),
    float: ("数字", "a number"),
    bool: ("true 或 false", "true or false"),
    list: ("列表（方括号 [ ]）", "a list (square brackets [ ])"),
    dict: ("表（[名称] 段或 { }）", "a table ([name] section or { })"),
}


def _identifier(value: str, _base_dir: Path) -> str:
    if ID_RE.fullmatch(value):
        return value
    rule_zh = "只能用 1–64 个小写字母 a-z、数字 0-9 和“.”“_”“-”，且以字母或数字开头"
    rule_en = (
        "use 1-64 characters: lowercase a-z, digits 0-9, '.', '_' or '-', starting with a letter or digit"
    )
    hint_zh, hint_en = "", ""
    lowered = value.strip().lower().replace(" ", "-")
    if lowered != value and ID_RE.fullmatch(lowered):
        hint_zh, hint_en = f"；是否应写成 “{lowered}”？", f'; did you mean "{lowered}"?'
    raise Invalid(
        f"值 “{value}” 不符合要求：{rule_zh}{hint_zh}", f"{value!r} is not allowed: {rule_en}{hint_en}"
    )


def _hub_url(value: str, _base_dir: Path) -> str:
    # Messages end up in logs: never repeat a password written into the address.
    shown = _CREDENTIALS_RE.sub("***@", value)
    example = '例如 "https://hub.example.org/signage/"'
    example_en = 'e.g. "https://hub.example.org/signage/"'
    if not value or any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise Invalid(
            f"地址 “{shown}” 为空或含有空格、控制字符；请只写地址本身，{example}",
            f"{shown!r} is empty or contains spaces or control characters; write the address alone, {example_en}",
        )
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https"):
        raise Invalid(
            f"地址 “{shown}” 必须以 http:// 或 https:// 开头；{example}",
            f"{shown!r} must start with http:// or https://; {example_en}",
        )
    if "@" in parts.netloc:
        raise Invalid(
            "地址中含有用户名或密码（@ 之前的部分）；屏幕不使用密码登录，请删掉这一部分",
            "the address contains a user name or password (the part before '@'); screens do not log in, "
            "remove it",
        )
    try:
        hostname, _port = parts.hostname, parts.port
    except ValueError:
        hostname = None
    if not hostname:
        raise Invalid(
            f"地址 “{shown}” 缺少主机名或端口无效；{example}",
            f"{shown!r} has no host name or an invalid port; {example_en}",
        )
    if "?" in value or "#" in value:
        raise Invalid(
            f"地址 “{shown}” 不能含有“?”查询参数或“#”片段；请只写到频道上一级的路径，{example}",
            f"{shown!r} must not contain a '?' query or a '#' fragment; give the base path only, {example_en}",
        )
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def _resolve(value: str, base_dir: Path) -> Path:
    if not value or "\0" in value:
        raise Invalid("路径为空或含有无效字符", "the path is empty or contains a NUL character")
    path = Path(value)
    return path if path.is_absolute() else base_dir / path


def _root(value: str, base_dir: Path) -> Path:
    path = _resolve(value, base_dir)
    fix_zh = "请把运营方提供的 public/metadata/1.root.json 复制到这个位置，或改正路径"
    fix_en = "copy public/metadata/1.root.json from the operator to that place, or correct the path"
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise Invalid(f"{path} 不是文件；{fix_zh}", f"{path} is not a file; {fix_en}")
        if size > MAX_ROOT_BYTES:
            raise Invalid(
                f"{path} 有 {size} 字节，超过上限 {MAX_ROOT_BYTES} 字节，不像根元数据文件；{fix_zh}",
                f"{path} is {size} bytes, over the {MAX_ROOT_BYTES}-byte limit for a root file; {fix_en}",
            )
        data = path.read_bytes()
    except FileNotFoundError:
        raise Invalid(f"找不到文件 {path}；{fix_zh}", f"{path} does not exist; {fix_en}") from None
    except OSError as error:
        raise Invalid(
            f"无法读取 {path}（{error.strerror}）；请让播放程序的用户可以读取它（例如 chmod 644）",
            f"cannot read {path} ({error.strerror}); let the player's user read it (e.g. chmod 644)",
        ) from None
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):
        raise Invalid(f"{path} 不是有效的 JSON；{fix_zh}", f"{path} is not valid JSON; {fix_en}") from None
    signed = document.get("signed") if isinstance(document, dict) else None
    # Only a sanity check that the installer copied the right file: TUF verifies the root itself.
    if not isinstance(signed, dict) or signed.get("_type") != "root":
        raise Invalid(
            f'{path} 不是 TUF 根元数据（signed._type 不是 "root"），可能复制成了 timestamp.json 等其他文件；{fix_zh}',
            f'{path} is not TUF root metadata (signed._type is not "root"); perhaps timestamp.json or '
            f"another file was copied; {fix_en}",
        )
    return path


def _cache_dir(value: str, base_dir: Path) -> Path:
    path = _resolve(value, base_dir)
    if path.exists() and not path.is_dir():
        raise Invalid(
            f"{path} 已经是一个文件；请填写一个文件夹路径（不存在时会自动创建）",
            f"{path} is a file; give a folder path (it is created when missing)",
        )
    return path


def _token_file(value: str, base_dir: Path) -> Path:
    # Only the shape is checked here: a missing token or a world-readable one is for `signage doctor` to
    # report, since the player must start (and show the list) without the hub's token.
    path = _resolve(value, base_dir)
    if path.is_dir():
        raise Invalid(
            f"{path} 是一个文件夹；请填写令牌文件本身的路径",
            f"{path} is a folder; give the path of the token file itself",
        )
    return path


LAYOUTS = ("auto", "landscape", "portrait", "bar", "four-three", "led")
_QUIET = re.compile(r"([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)")


def _choice(options: tuple[str, ...]) -> Validator:
    def check(value: str, _base_dir: Path) -> str:
        if value not in options:
            listed = "、".join(options)
            raise Invalid(
                f"“{value}”不是可选值；可选：{listed}", f"{value!r} is not one of: {', '.join(options)}"
            )
        return value

    return check


def _number_between(low: float, high: float, unit_zh: str, unit_en: str) -> Validator:
    def check(value: float, _base_dir: Path) -> float:
        if not low <= value <= high:
            raise Invalid(
                f"{value:g} 超出范围：应在 {low:g} 到 {high:g} {unit_zh}之间",
                f"{value:g} is out of range: use {low:g} to {high:g} {unit_en}",
            )
        return value

    return check


def _rotation(value: int, _base_dir: Path) -> int:
    if value not in (0, 90, 180, 270):
        raise Invalid(f"旋转角度 {value} 无效：只能是 0、90、180 或 270", f"{value} is not 0, 90, 180 or 270")
    return value


def _whole_between(low: int, high: int) -> Validator:
    def check(value: int, _base_dir: Path) -> int:
        if not low <= value <= high:
            raise Invalid(
                f"{value} 超出范围：应在 {low} 到 {high} 之间",
                f"{value} is out of range: use {low} to {high}",
            )
        return value

    return check


def _entries_per_page(value: int, _base_dir: Path) -> int:
    if not 0 <= value <= 100:
        raise Invalid(
            f"{value} 超出范围：0 表示自动（让整个名单每天至少轮播一遍），1 表示每屏一条，最多 100",
            f"{value} is out of range: 0 for automatic (the whole list goes round every day), 1 for one "
            "entry per slide, at most 100",
        )
    # The screen still draws no more than its legible capacity (signage.core.pages.page_capacity).
    return value


def _quiet_hours(value: list[object], _base_dir: Path) -> tuple[tuple[dt.time, dt.time], ...]:
    windows = []
    for item in value:
        match = _QUIET.fullmatch(item) if isinstance(item, str) else None
        if match is None or item[:5] == item[6:]:  # type: ignore[index]
            raise Invalid(
                f'静默时段“{item}”格式不对：应写成 "23:30-05:30" 这样的字符串',
                f'the quiet window {item!r} must look like "23:30-05:30"',
            )
        hour_a, minute_a, hour_b, minute_b = (int(part) for part in match.groups())
        windows.append((dt.time(hour_a, minute_a), dt.time(hour_b, minute_b)))
    return tuple(windows)


#: Every setting of the player config. Order is the order of the example config.
KEYS: tuple[KeySpec, ...] = (
    KeySpec(
        name="screen_id",
        kind=str,
        required=True,
        validate=_identifier,
        zh="本屏幕在整个屏幕群中的唯一编号，例如车辆编号或站台位置",
        en="this screen's unique name in the fleet, e.g. a bus number or a platform position",
        example='"bus-0412"',
    ),
    KeySpec(
        name="hub_url",
        kind=str,
        required=True,
        validate=_hub_url,
        zh="运营方服务器（hub）的地址，http:// 或 https:// 开头",
        en="address of the operator's hub, starting with http:// or https://",
        example='"https://hub.example.org/signage/"',
    ),
    KeySpec(
        name="channel",
        kind=str,
        required=True,
        validate=_identifier,
        zh="本屏幕显示哪个名单（频道），由运营方告知",
        en="which list (channel) this screen shows, as given by the operator",
        example='"station-east"',
    ),
    KeySpec(
        name="root",
        kind=str,
        required=True,
        validate=_root,
        zh="运营方提供的可信根文件（public/metadata/1.root.json 的副本）；相对路径以本文件所在文件夹为准",
        en="the trusted root file from the operator (a copy of public/metadata/1.root.json); "
        "relative to this file's folder",
        example='"root.json"',
    ),
    KeySpec(
        name="cache_dir",
        kind=str,
        required=False,
        validate=_cache_dir,
        zh="已验证内容的存放文件夹，不存在时自动创建；省略时使用下面的默认值",
        en="folder for verified content, created when missing; the value below is the default",
        example='"/var/lib/signage/cache"',
        default=Path("/var/lib/signage/cache"),
    ),
    KeySpec(
        name="rotation",
        kind=int,
        required=False,
        validate=_rotation,
        zh="画面旋转角度（屏幕竖装时用 90 或 270）",
        en="degrees to turn the picture (90 or 270 for a screen mounted on its side)",
        example="0",
        default=0,
    ),
    KeySpec(
        name="layout",
        kind=str,
        required=False,
        validate=_choice(LAYOUTS),
        zh="版式：auto 按屏幕尺寸自动选择，或强制 landscape、portrait、bar（公交条形屏）、four-three、led（低分辨率文字屏）",
        en="layout: auto from the screen size, or force landscape, portrait, bar (bus bar displays), "
        "four-three or led (low-resolution text boards)",
        example='"auto"',
        default="auto",
    ),
    KeySpec(
        name="display",
        kind=int,
        required=False,
        validate=_whole_between(0, 15),
        zh="接了多块屏幕时用哪一块（0 为第一块）",
        en="which connected screen to use (0 is the first)",
        example="0",
        default=0,
    ),
    KeySpec(
        name="dwell_seconds",
        kind=float,
        required=False,
        validate=_number_between(2, 3600, "秒", "seconds"),
        zh="每张幻灯片停留的秒数",
        en="seconds each slide stands",
        example="10",
        default=10.0,
    ),
    KeySpec(
        name="transition_seconds",
        kind=float,
        required=False,
        validate=_number_between(0, 5, "秒", "seconds"),
        zh="淡入淡出过渡的秒数；0 表示不过渡",
        en="crossfade length in seconds; 0 for none",
        example="1",
        default=1.0,
    ),
    KeySpec(
        name="sync_minutes",
        kind=float,
        required=False,
        validate=_number_between(1, 1440, "分钟", "minutes"),
        zh="完整同步（名单与照片）的间隔分钟数",
        en="minutes between full syncs (playlist and photos)",
        example="5",
        default=5.0,
    ),
    KeySpec(
        name="revocation_poll_seconds",
        kind=float,
        required=False,
        validate=_number_between(5, 3600, "秒", "seconds"),
        zh="两次检查撤回清单之间最长的秒数（在最后十分之一内随机提前，避免所有屏幕同时请求）",
        en="longest time in seconds between takedown checks (each comes at random within its last tenth, so a fleet does not poll in lockstep)",
        example="30",
        default=30.0,
    ),
    KeySpec(
        name="quiet_hours",
        kind=list,
        required=False,
        validate=_quiet_hours,
        zh='静默时段（当地时间），期间不显示名单，例如 ["23:30-05:30"]',
        en='local windows without debtor slides, e.g. ["23:30-05:30"]',
        example="[]",
        default=(),
    ),
    KeySpec(
        name="quiet_mode",
        kind=str,
        required=False,
        validate=_choice(("standby", "black")),
        zh="静默时段显示：standby（待机画面）或 black（黑屏）",
        en="what quiet hours show: standby (the neutral slide) or black",
        example='"standby"',
        default="standby",
    ),
    KeySpec(
        name="notice_every",
        kind=int,
        required=False,
        validate=_whole_between(1, 100),
        zh="每隔多少张名单幻灯片插播一条通知",
        en="one operator notice after this many debtor slides",
        example="5",
        default=5,
    ),
    KeySpec(
        name="entries_per_page",
        kind=int,
        required=False,
        validate=_entries_per_page,
        zh="每张幻灯片显示几条名单：0 为自动（按名单长度选择，使整个名单每天至少轮播一遍，且字不小于可读下限），1 为每屏一条，或指定条数",
        en="debtor entries per slide: 0 for automatic (as many as the list needs to go round every day, never "
        "below the legible text size), 1 for one entry per slide, or a number",
        example="0",
        default=0,
    ),
    KeySpec(
        name="memory_ceiling_mb",
        kind=int,
        required=False,
        validate=_whole_between(100, 8192),
        zh="播放器内存占用（MB）超过此值时，在两张幻灯片之间自动重启（由 systemd 拉起）",
        en="resident memory in MB above which the player restarts itself between slides (systemd brings it back)",
        example="600",
        default=600,
    ),
    KeySpec(
        name="token_file",
        kind=str,
        required=False,
        validate=_token_file,
        zh="本屏幕访问集线器的令牌文件；不得让所有用户可读（signage doctor 会检查）",
        en="the file holding this screen's hub token; must not be world-readable (signage doctor checks it)",
        example='"/etc/signage/token"',
        default=Path("/etc/signage/token"),
    ),
    KeySpec(
        name="heartbeat_seconds",
        kind=float,
        required=False,
        validate=_number_between(10, 3600, "秒", "seconds"),
        zh="向集线器报告在线状态（心跳）的间隔秒数",
        en="seconds between heartbeats to the hub",
        example="60",
        default=60.0,
    ),
    KeySpec(
        name="photo_downloads",
        kind=int,
        required=False,
        validate=_whole_between(1, 16),
        zh="同步时同时下载的照片数",
        en="photo downloads a sync keeps under way at once",
        example="4",
        default=4,
    ),
    KeySpec(
        name="photo_deadline_seconds",
        kind=float,
        required=False,
        validate=_number_between(10, 3600, "秒", "seconds"),
        zh="一次同步下载照片最多用的秒数；已下载的照片会保留，下次同步接着下载",
        en="the most seconds a sync spends on photos; photos already fetched are kept and the next sync "
        "continues from there",
        example="300",
        default=300.0,
    ),
)


def load_player_config(path: Path) -> PlayerConfig:
    """Read and validate the config file at ``path``.

    Relative paths inside it are resolved against the file's folder.

    Raises:
        ConfigError: the file is missing, unreadable, too large, not UTF-8 or not valid TOML, or any
            key is missing, unknown, of the wrong type or invalid; the message names each key and fix.
    """
    try:
        with path.open("rb") as handle:
            # Read one byte past the limit so an oversized file is refused without reading it all.
            data = handle.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(
            f"找不到配置文件 {path}；请按安装指南（docs/installer-guide.md）创建，或用 --config 指定正确的文件",
            f"config file {path} does not exist; create it as docs/installer-guide.md shows, or name the "
            "right file with --config",
        ) from None
    except OSError as error:
        raise ConfigError(
            f"无法读取配置文件 {path}（{error.strerror}）；请确认它是文件，并且播放程序的用户可以读取",
            f"cannot read config file {path} ({error.strerror}); check that it is a file the player's user "
            "may read",
        ) from None
    if len(data) > MAX_CONFIG_BYTES:
        raise _too_large(str(path))
    try:
        # utf-8-sig: Windows Notepad adds a byte-order mark, which tomllib would reject.
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"配置文件 {path} 第 {error.start} 字节处不是 UTF-8 编码；请用 UTF-8 编码另存",
            f"config file {path} is not UTF-8 (at byte {error.start}); save it as UTF-8",
        ) from None
    return parse_player_config(text, source=str(path), base_dir=path.absolute().parent)


def parse_player_config(text: str, *, source: str, base_dir: Path) -> PlayerConfig:
    """Validate a config given as text.

    Args:
        text: The TOML document.
        source: What to call it in messages, usually its path.
        base_dir: The folder relative paths are resolved against.

    Raises:
        ConfigError: as :func:`load_player_config`, with every problem of the document at once.
    """
    if len(text.encode("utf-8", "surrogatepass")) > MAX_CONFIG_BYTES:
        raise _too_large(source)
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise _syntax_error(text, source, error) from None

    by_name = {spec.name: spec for spec in KEYS}
    zh_problems: list[str] = []
    en_problems: list[str] = []

    for key in document:
        if key not in by_name:
            zh, en = _unknown_key(key, list(by_name))
            zh_problems.append(f"{source}：{zh}")
            en_problems.append(f"{source}: {en}")

    values: dict[str, Any] = {}
    for spec in KEYS:
        if spec.name not in document:
            if spec.required:
                zh_problems.append(
                    f"{source}：缺少必填配置项 {spec.name}（{spec.zh}）；请添加一行：{spec.name} = {spec.example}"
                )
                en_problems.append(
                    f"{source}: missing required key '{spec.name}' ({spec.en}); add a line such as: "
                    f"{spec.name} = {spec.example}"
                )
            else:
                values[spec.name] = spec.default
            continue
        try:
            values[spec.name] = spec.validate(_typed(spec, document[spec.name]), base_dir)
        except Invalid as problem:
            zh_problems.append(f"{source}：配置项 {spec.name}：{problem.zh}")
            en_problems.append(f"{source}: key '{spec.name}': {problem.en}")

    if en_problems:
        raise ConfigError("\n".join(zh_problems), "\n".join(en_problems))
    return PlayerConfig(**values)


def example_config() -> str:
    """A commented example config covering every key, for the installer guide.

    It is valid for :func:`parse_player_config` once the root file it names exists next to it.
    """
    lines = [
        "# signage screen configuration / 屏幕配置文件",
        f"# Usually {DEFAULT_CONFIG_PATH}. Relative paths are relative to this file's folder.",
        "# 通常位于 /etc/signage/player.toml；相对路径以本文件所在文件夹为准。",
    ]
    for spec in KEYS:
        need_zh, need_en = ("必填", "required") if spec.required else ("可省略", "optional")
        lines += [
            "",
            f"# {spec.zh}（{need_zh}）",
            f"# {spec.en} ({need_en})",
            f"{spec.name} = {spec.example}",
        ]
    return "\n".join(lines) + "\n"


def _typed(spec: KeySpec, value: object) -> object:
    # bool is a subclass of int in Python, but `dwell = true` is not a number in TOML.
    if isinstance(value, spec.kind) and not (isinstance(value, bool) and spec.kind is not bool):
        return value
    if spec.kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    want_zh, want_en = _KIND_NAMES[spec.kind]
    got_zh, got_en = _KIND_NAMES.get(type(value), (type(value).__name__, type(value).__name__))
    raise Invalid(
        f"应为{want_zh}，现在是{got_zh}；例如：{spec.name} = {spec.example}",
        f"must be {want_en}, not {got_en}; e.g. {spec.name} = {spec.example}",
    )


def _unknown_key(key: str, known: list[str]) -> tuple[str, str]:
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if close:
        return (
            f"未知配置项 {key}；是否想写 {close[0]}？",
            f"unknown key '{key}'; did you mean '{close[0]}'?",
        )
    listed = ", ".join(known)
    return (
        f"未知配置项 {key}；请删除或改正，可用的配置项有：{listed}",
        f"unknown key '{key}'; remove or correct it (known keys: {listed})",
    )


def _too_large(source: str) -> ConfigError:
    return ConfigError(
        f"配置文件 {source} 超过 {MAX_CONFIG_BYTES // 1024} KiB；屏幕配置只有几行，请确认文件是否正确",
        f"config file {source} is over {MAX_CONFIG_BYTES // 1024} KiB; a screen config is a few lines, "
        "check that this is the right file",
    )


_POSITION_RE = re.compile(r"\s*\((?:at line (\d+), column (\d+)|at end of document)\)$")
_KEY_AT_LINE_RE = re.compile(r"\s*([A-Za-z0-9_.-]+)\s*=")


def _syntax_error(text: str, source: str, error: tomllib.TOMLDecodeError) -> ConfigError:
    message = str(error)
    match = _POSITION_RE.search(message)
    reason = _POSITION_RE.sub("", message)
    hint_zh = '文字要用英文双引号括起来（不能用中文引号“”），例如 channel = "station-east"'
    hint_en = 'text values need straight double quotes, e.g. channel = "station-east"'
    if reason.startswith("Cannot overwrite"):
        hint_zh, hint_en = "同一个配置项写了两次，请只保留一行", "the same key is set twice; keep one line"
    lines = text.splitlines()
    if match is None or match.group(1) is None:
        # tomllib reports problems on an unterminated last line "at end of document".
        filled = [number for number, content in enumerate(lines, 1) if content.strip()]
        line, column = (filled[-1], 1) if filled else (1, 1)
    else:
        line, column = int(match.group(1)), int(match.group(2))
    key = _KEY_AT_LINE_RE.match(lines[line - 1]) if 0 < line <= len(lines) else None
    where_zh = f"（配置项 {key.group(1)}）" if key else ""
    where_en = f" (key '{key.group(1)}')" if key else ""
    return ConfigError(
        f"{source} 第 {line} 行第 {column} 列{where_zh}有 TOML 语法错误（{reason}）；{hint_zh}",
        f"{source} line {line}, column {column}{where_en}: TOML syntax error ({reason}); {hint_en}",
    )
