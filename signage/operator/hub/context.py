"""What the hub process was started with, for the views: the repository, the key passphrase and the clock.

Django builds views itself, so the hub's dependencies cannot be passed to their constructors. They are given
once, by whoever starts the hub (``signage hub``, ``signage demo``, a test), through :func:`configure`, and
views ask :func:`hub_context` for them. Nothing here reads the environment or the wall clock on its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from signage.core.errors import ConfigError
from signage.operator.publish.repo import OperatorRepository

Clock = Callable[[], dt.datetime]


@dataclass(frozen=True)
class HubContext:
    """The hub's dependencies.

    Attributes:
        repo_dir: The repository directory ``DIR``.
        clock: The current time (aware, UTC).
        keys_dir: The online keys; ``DIR/keys`` by default.
        passphrase: Decrypts the keys when they are encrypted at rest; held in memory only.
    """

    repo_dir: Path
    clock: Clock
    keys_dir: Path | None = None
    passphrase: bytes | None = None

    def repository(self) -> OperatorRepository:
        """The repository, opened for signing with the online keys."""
        return OperatorRepository(self.repo_dir, self.keys_dir, passphrase=self.passphrase)

    @property
    def private_dir(self) -> Path:
        """The console's private folder beside the repository (staged photos, thumbnails); never served."""
        return self.repo_dir / "console"


_context: HubContext | None = None


def configure(context: HubContext) -> None:
    """Give the views their dependencies (once per process, or again by a test)."""
    global _context
    _context = context


def hub_context() -> HubContext:
    """The dependencies given to :func:`configure`.

    Raises:
        ConfigError: the hub was not configured (a programming error in whoever started it).
    """
    if _context is None:
        raise ConfigError(
            "集线器尚未配置", "the hub was not configured: call signage.operator.hub.context.configure first"
        )
    return _context
