"""The one error root, its few subclasses, and the exit status each maps to.

Every failure the project expects is a :class:`SignageError`. Messages are bilingual because the people
who read them are court and transit staff, not programmers: each error carries a Chinese and an English
sentence, and says what to do about it. ``signage.cli`` is the one place that turns errors into exit
codes (:func:`exit_status_for`); the player (a later issue) is the one place that turns them into an
on-screen fallback.
"""

from __future__ import annotations

import enum


class ExitStatus(enum.IntEnum):
    """Exit codes of the ``signage`` command, documented in ``signage --help``."""

    OK = 0
    #: The input was read, but at least one row was refused (or a warning under --strict).
    ROWS_REFUSED = 1
    #: The command line itself was wrong (argparse uses 2 as well).
    USAGE = 2
    #: A configuration file or option value is invalid.
    CONFIG = 3
    #: An input file cannot be used at all: missing, empty, unreadable, missing columns, too large.
    INPUT = 4
    #: Signed content was refused: bad signature, rollback, expired, wrong channel, hash mismatch.
    REFUSED = 5
    #: The hub could not be reached or answered with an error; try again later.
    NETWORK = 6
    #: The local disk could not be written (full, read-only, permissions).
    DISK = 7
    #: The player stopped on purpose for systemd to start it again (memory ceiling); sysexits' EX_TEMPFAIL.
    RESTART = 75
    #: Anything unexpected: a bug. The message says where to report it.
    INTERNAL = 70


class SignageError(Exception):
    """Root of every error this project raises on purpose.

    Args:
        zh: The message in Chinese.
        en: The same message in English.
    """

    exit_status = ExitStatus.INTERNAL

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(en)
        self.zh = zh
        self.en = en

    def bilingual(self) -> str:
        """Both languages, Chinese first, one per line."""
        return f"{self.zh}\n{self.en}"


class UsageError(SignageError):
    """A command was asked for something that cannot be done as given (an unknown entry id, say)."""

    exit_status = ExitStatus.USAGE


class ConfigError(SignageError):
    """A setting or option is invalid; the message names the key."""

    exit_status = ExitStatus.CONFIG


class InputFileError(SignageError):
    """An operator's input file cannot be used at all (as opposed to one bad row in it)."""

    exit_status = ExitStatus.INPUT


class ContentError(SignageError):
    """A playlist or revocation document is malformed or breaks a display rule."""

    exit_status = ExitStatus.REFUSED


class TrustError(SignageError):
    """Signed content failed verification: signature, rollback, expiry, channel, hash or length."""

    exit_status = ExitStatus.REFUSED


class NetworkError(SignageError):
    """The hub could not be reached, was too slow, or answered with an HTTP error."""

    exit_status = ExitStatus.NETWORK


class DiskError(SignageError):
    """Writing the local cache or repository failed (full disk, read-only filesystem)."""

    exit_status = ExitStatus.DISK


class RepositoryError(SignageError):
    """The operator's repository directory is missing, incomplete or locked by another command."""

    exit_status = ExitStatus.CONFIG


def exit_status_for(error: BaseException) -> ExitStatus:
    """Map any exception to the exit status the command line reports."""
    if isinstance(error, SignageError):
        return error.exit_status
    return ExitStatus.INTERNAL
