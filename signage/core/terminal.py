"""Text bound for a terminal: control, escape and reordering characters are shown escaped, never sent.

Everything ``signage`` prints can carry text from outside: a court name from an operator's spreadsheet,
a file name, a screen's telemetry. Sent raw, ``ESC [ 2 J`` clears the operator's terminal, an OSC
sequence retitles the window or writes to the clipboard, BEL rings, and U+202E (RLO) reverses the rest
of a line so that a report says something it does not. :func:`for_terminal` replaces each such
character with its escape (``\\u001b``, ``\\u202e``), which stays readable, keeps a JSON document valid
and equal once parsed, and shows the operator that something was there. :class:`TerminalWriter` applies
it to every write; ``signage.cli.main`` wraps standard output in one, so ``check``, ``fleet``,
``status`` and every other command print through the same function.
"""

from __future__ import annotations

import io
import unicodedata
from typing import TextIO

# Controls (C0, DEL, C1), format characters (bidi overrides and isolates, zero-width characters),
# lone surrogates, and the line and paragraph separators some terminals break lines on.
_UNSAFE = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
# Line feed and tab are layout this project prints on purpose.
_KEPT = frozenset("\n\t")


def for_terminal(text: str) -> str:
    """``text`` with every control, escape and reordering character replaced by its ``\\uXXXX`` escape."""
    if text.isprintable():  # the common case, decided in C
        return text
    return "".join(_escape(char) if _unsafe(char) else char for char in text)


def _unsafe(char: str) -> bool:
    return char not in _KEPT and unicodedata.category(char) in _UNSAFE


def _escape(char: str) -> str:
    code = ord(char)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    # Beyond the BMP, as JSON writes it: a surrogate pair.
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


class TerminalWriter(io.TextIOBase):
    """A text stream that passes every write through :func:`for_terminal` to ``stream``."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self._stream = stream

    def write(self, text: str) -> int:
        """Write ``text`` made safe; returns the length of ``text`` as given."""
        self._stream.write(for_terminal(text))
        return len(text)

    def flush(self) -> None:
        """Flush the wrapped stream."""
        self._stream.flush()

    def isatty(self) -> bool:
        """Whether the wrapped stream is a terminal."""
        return self._stream.isatty()

    def fileno(self) -> int:
        """The wrapped stream's file descriptor."""
        return self._stream.fileno()

    def writable(self) -> bool:
        """Always: this is an output stream."""
        return True

    @property
    def encoding(self) -> str:  # type: ignore[override]
        """The wrapped stream's encoding."""
        return self._stream.encoding

    @property
    def wrapped(self) -> TextIO:
        """The stream written to."""
        return self._stream
