"""The hub's own settings file, ``DIR/hub.toml`` (optional, never served), read without Django.

Its keys: ``fleet_page_public`` (serve ``/fleet`` to every client, not only to the hub's own machine) and
``raw_play_days`` (days raw proof-of-play rows are kept after their day; the daily roll-ups are kept for good). The database is no longer named here: it is ``DATABASE_URL`` (SQLite ``DIR/hub.sqlite3`` when
unset; see :mod:`signage.operator.hub.settings`), so a file that still has ``telemetry_store`` is refused with a message
saying what to do instead.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from signage.core.errors import ConfigError

#: The hub's own settings file, next to ``repo.json``.
SETTINGS_FILE: Final = "hub.toml"
_KEYS: Final = {"fleet_page_public": bool, "raw_play_days": int}
#: Days raw plays are kept by default, and the bounds of ``raw_play_days``.
DEFAULT_RAW_PLAY_DAYS: Final = 30
RAW_PLAY_DAYS: Final = (1, 3660)


@dataclass(frozen=True)
class HubOptions:
    """What ``DIR/hub.toml`` says.

    Attributes:
        fleet_page_public: Serve ``/fleet`` to every client, not only to loopback addresses.
        raw_play_days: Days raw plays are kept after their day (then only their daily roll-up is).
    """

    fleet_page_public: bool = False
    raw_play_days: int = DEFAULT_RAW_PLAY_DAYS


def load_options(repo_dir: Path) -> HubOptions:
    """Read ``DIR/hub.toml`` (optional) into :class:`HubOptions`.

    Raises:
        ConfigError: the file is not TOML, has an unknown or retired key, or a value of the wrong kind.
    """
    settings_file = repo_dir / SETTINGS_FILE
    try:
        text = settings_file.read_text(encoding="utf-8")
    except FileNotFoundError:
        return HubOptions()
    except (OSError, UnicodeError) as error:
        raise ConfigError(
            f"无法读取 {settings_file}：{error}", f"cannot read {settings_file}: {error}"
        ) from error
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(
            f"{settings_file} 不是有效的 TOML：{error}", f"{settings_file} is not valid TOML: {error}"
        ) from error
    if "telemetry_store" in document:
        raise ConfigError(
            f"{settings_file} 中的 telemetry_store 已不再使用：集线器的数据库由环境变量 DATABASE_URL 指定"
            f"（例如 DATABASE_URL=postgres://…），不设置则使用 {repo_dir / 'hub.sqlite3'}；请删除这一行",
            f"{settings_file}: telemetry_store is no longer used: the hub's database is set with the "
            f"DATABASE_URL environment variable (e.g. DATABASE_URL=postgres://…), and is "
            f"{repo_dir / 'hub.sqlite3'} when unset; remove the line",
        )
    for key, value in document.items():
        kind = _KEYS.get(key)
        if kind is None:
            known = ", ".join(sorted(_KEYS))
            raise ConfigError(
                f"{settings_file} 中的设置项“{key}”无法识别；可用的设置项：{known}",
                f"{settings_file}: unknown key '{key}'; the keys are: {known}",
            )
        if type(value) is not kind:
            raise ConfigError(
                f"{settings_file} 中“{key}”的值类型错误，应为 {kind.__name__}",
                f"{settings_file}: '{key}' must be a {kind.__name__}",
            )
    raw_play_days = int(document.get("raw_play_days", DEFAULT_RAW_PLAY_DAYS))
    low, high = RAW_PLAY_DAYS
    if not low <= raw_play_days <= high:
        raise ConfigError(
            f"{settings_file} 中 raw_play_days 必须在 {low} 到 {high} 之间（天），而不是 {raw_play_days}",
            f"{settings_file}: raw_play_days must be between {low} and {high} (days), not {raw_play_days}",
        )
    return HubOptions(
        fleet_page_public=bool(document.get("fleet_page_public", False)), raw_play_days=raw_play_days
    )
