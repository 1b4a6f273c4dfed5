"""The service manager's notification protocol (``sd_notify``), in plain Python.

Under ``kiosk.service`` (``Type=notify``, ``WatchdogSec=``) systemd hands the player a datagram
socket in ``$NOTIFY_SOCKET`` and expects ``READY=1`` once the screen shows something, then ``WATCHDOG=1``
at least once per ``$WATCHDOG_USEC``. Without those variables (a desktop, the tests, ``signage demo``)
every function here does nothing and returns ``False``, so callers never need to ask where they run.

This is the protocol of ``sd_notify(3)``: one datagram per message, sent to a path or, when the address
starts with ``@``, to the same name in the abstract namespace. No libsystemd, no dependency, no Qt; the
player decides *when* to call (``signage.kiosk.health``), this module only sends.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from collections.abc import Mapping

#: The exit status of a planned restart (memory ceiling); ``kiosk.service`` counts it as success and
#: ``Restart=always`` starts the player again. 75 is ``EX_TEMPFAIL`` of ``sysexits.h``: "try again".
RESTART_EXIT_STATUS = 75


def notify(message: str, *, env: Mapping[str, str] = os.environ) -> bool:
    """Send one notification (e.g. ``"READY=1"``) to the service manager.

    Args:
        message: Newline-separated ``KEY=VALUE`` assignments, as ``sd_notify(3)`` defines them.
        env: Where ``NOTIFY_SOCKET`` is looked up (the process environment unless a test passes one).

    Returns:
        Whether the message was handed to the socket: ``False`` when not run by systemd (no
        ``NOTIFY_SOCKET``), for an address kind this module does not speak (``vsock:``), or when sending
        failed. A failure is never raised: a screen must keep playing whatever its supervisor does.
    """
    address = env.get("NOTIFY_SOCKET", "")
    if address.startswith("@"):
        # Abstract namespace: a leading NUL byte instead of the '@' (Linux only, as systemd is).
        target = "\0" + address[1:]
    elif address.startswith("/"):
        target = address
    else:
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(target)
            sock.sendall(message.encode("utf-8"))
    except OSError:
        return False
    return True


def ready(*, env: Mapping[str, str] = os.environ) -> bool:
    """Tell systemd that start-up is complete (``READY=1``); for the player: the first slide is painted."""
    return notify("READY=1", env=env)


def watchdog(*, env: Mapping[str, str] = os.environ) -> bool:
    """Keep the watchdog from firing (``WATCHDOG=1``); send at least every half :func:`watchdog_interval`."""
    return notify("WATCHDOG=1", env=env)


def stopping(*, env: Mapping[str, str] = os.environ) -> bool:
    """Tell systemd that the process is shutting down on purpose (``STOPPING=1``)."""
    return notify("STOPPING=1", env=env)


def status(text: str, *, env: Mapping[str, str] = os.environ) -> bool:
    """Set the one-line status ``systemctl status`` shows (``STATUS=``); newlines become spaces."""
    return notify("STATUS=" + " ".join(text.split()), env=env)


def watchdog_interval(env: Mapping[str, str] = os.environ, *, pid: int | None = None) -> dt.timedelta | None:
    """The watchdog timeout systemd enforces on this process, or ``None`` when there is none.

    ``WATCHDOG_USEC`` is the timeout in microseconds. When ``WATCHDOG_PID`` is set, the watchdog belongs
    to that process only (a child that inherited the variables must not ping in its parent's name), as
    ``sd_watchdog_enabled(3)`` specifies.

    Args:
        env: The environment to read.
        pid: This process's id; ``os.getpid()`` unless a test passes one.
    """
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    if usec <= 0:
        return None
    owner = env.get("WATCHDOG_PID")
    if owner:
        try:
            if int(owner) != (os.getpid() if pid is None else pid):
                return None
        except ValueError:
            return None
    return dt.timedelta(microseconds=usec)
