"""The operators' accounts from the command line: ``signage users add|list|unlock``.

Accounts are made here, on the hub machine, never through a sign-up page: the hub faces the internet.
A password is read from standard input (never from the command line, where ``ps`` and the shell history
would show it) and checked by Django's password validators; the messages come in Chinese and English.
Every command starts Django for the repository first (:func:`signage.operator.hub.bootstrap.setup`).
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from signage.core.errors import ExitStatus, UsageError

Clock = Callable[[], Any]

#: Longest password read from standard input; a longer one is refused rather than cut.
MAX_PASSWORD_CHARS = 256


def add_user_commands(commands: Any, *, clock: Clock) -> None:
    """Add ``users add|list|unlock`` to the ``signage`` subcommands.

    Args:
        commands: What ``ArgumentParser.add_subparsers()`` returned.
        clock: The command line's clock, for the audit log.
    """
    from signage.operator.hub.console.roles import Role

    users = commands.add_parser(
        "users",
        help="create the console's operator accounts (clerk, reviewer, admin)",
        description="The console has no sign-up page: accounts are made on the hub machine. A clerk uploads "
        "and takes down, a reviewer also approves, reinstates and rolls back, an admin also has /admin/.",
    )
    actions = users.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    add = actions.add_parser(
        "add",
        help="create an account (password from standard input)",
        description="Create NAME with a role. The password is read from standard input, one line, e.g. "
        "`read -rs P && printf '%%s\\n' \"$P\" | signage users add lin --role clerk --repo DIR --password-stdin`; "
        "it must have at least 10 characters and not be common, all digits, or like the name.",
    )
    add.add_argument("name", metavar="NAME", help="the login name")
    add.add_argument("--role", required=True, choices=[role.value for role in Role])
    add.add_argument("--repo", type=Path, required=True, metavar="DIR")
    add.add_argument(
        "--password-stdin", action="store_true", required=True, help="read the password from standard input"
    )
    add.set_defaults(handler=functools.partial(users_add, clock=clock))
    listing = actions.add_parser("list", help="list the accounts with their roles")
    listing.add_argument("--repo", type=Path, required=True, metavar="DIR")
    listing.set_defaults(handler=users_list)
    unlock = actions.add_parser(
        "unlock",
        help="lift the lockout after repeated failed logins",
        description="After 5 failed logins an account is locked for 15 minutes; this lifts it at once.",
    )
    unlock.add_argument("name", metavar="NAME")
    unlock.add_argument("--repo", type=Path, required=True, metavar="DIR")
    unlock.set_defaults(handler=functools.partial(users_unlock, clock=clock))


def users_add(arguments: argparse.Namespace, out: TextIO, err: TextIO, *, clock: Clock) -> ExitStatus:
    """``signage users add NAME --role ROLE --repo DIR --password-stdin``."""
    from signage.operator.hub.bootstrap import setup

    setup(arguments.repo)
    name = str(arguments.name).strip()
    role = str(arguments.role)
    create_account(name, role, _read_password(sys.stdin), at=clock(), actor="signage users")
    print(f"已创建用户 {name}（{role}）/ created user {name} ({role})", file=out)
    return ExitStatus.OK


def create_account(name: str, role: str, password: str, *, at: Any, actor: str) -> None:
    """Create the account ``name`` with ``role``'s group, audited as USER_ADDED by ``actor`` (Django set up).

    ``signage users add`` and ``signage demo`` (its two demo accounts) both come here.

    Raises:
        UsageError: the name is taken or invalid, or Django's validators refuse the password.
    """
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db import transaction

    from signage.operator.hub.audit.models import Action, record

    model = get_user_model()
    _check_name(name, model)
    user = model(username=name)
    _validate_password(password, user)
    with transaction.atomic():
        user.set_password(password)
        user.is_staff = user.is_superuser = role == "admin"
        user.save()
        user.groups.add(Group.objects.get(name=role))
        record(str(Action.USER_ADDED), actor=actor, at=at, details={"user": name, "role": role})


def users_list(arguments: argparse.Namespace, out: TextIO, err: TextIO) -> ExitStatus:
    """``signage users list --repo DIR``: one line per account: name, role, active, last login."""
    from signage.operator.hub.bootstrap import setup

    setup(arguments.repo)
    from django.contrib.auth import get_user_model

    from signage.operator.hub.console.roles import role_of

    users = get_user_model().objects.order_by("username").prefetch_related("groups")
    if not users:
        print(
            "还没有用户 / no users yet: signage users add NAME --role clerk --repo DIR --password-stdin",
            file=out,
        )
    for user in users:
        role = role_of(user)
        state = "" if user.is_active else "\t停用 disabled"
        seen = f"\t最近登录 last login {user.last_login:%Y-%m-%d %H:%M} UTC" if user.last_login else ""
        print(f"{user.username}\t{role.value if role else '-'}{state}{seen}", file=out)
    return ExitStatus.OK


def users_unlock(arguments: argparse.Namespace, out: TextIO, err: TextIO, *, clock: Clock) -> ExitStatus:
    """``signage users unlock NAME --repo DIR``: forget the account's failed logins (django-axes), audited as
    USER_UNLOCKED."""
    from signage.operator.hub.bootstrap import setup

    setup(arguments.repo)
    from axes.utils import reset
    from django.contrib.auth import get_user_model

    from signage.operator.hub.audit.models import Action, record

    name = str(arguments.name)
    if not get_user_model().objects.filter(username=name).exists():
        raise UsageError(f"没有名为 {name} 的用户", f"there is no user named {name}")
    cleared = reset(username=name)
    record(
        str(Action.USER_UNLOCKED),
        actor="signage users",
        at=clock(),
        details={"user": name, "cleared": cleared},
    )
    print(
        f"已解锁 {name}（清除 {cleared} 条失败记录）/ unlocked {name} ({cleared} failure records cleared)",
        file=out,
    )
    return ExitStatus.OK


def _check_name(name: str, model: Any) -> None:
    from django.core.exceptions import ValidationError

    field = model._meta.get_field(model.USERNAME_FIELD)
    try:
        field.run_validators(name)
    except ValidationError:
        raise UsageError(
            f"用户名“{name}”不可用：只能用字母、数字和 @ . + - _，最多 150 个字符",
            f"the name '{name}' cannot be used: letters, digits and @ . + - _ only, at most 150 characters",
        ) from None
    if not name:
        raise UsageError("用户名不能为空", "the name must not be empty")
    if model.objects.filter(username=name).exists():
        raise UsageError(f"用户 {name} 已存在", f"the user {name} already exists")


def _read_password(stream: TextIO) -> str:
    line = stream.readline(MAX_PASSWORD_CHARS + 2)
    password = line.rstrip("\r\n")
    if len(password) > MAX_PASSWORD_CHARS:
        raise UsageError(
            f"密码太长（最多 {MAX_PASSWORD_CHARS} 个字符）",
            f"the password is too long (at most {MAX_PASSWORD_CHARS})",
        )
    if not password:
        raise UsageError(
            "标准输入中没有密码：请用 --password-stdin 并在标准输入给出一行密码",
            "no password on standard input: give one line with the password",
        )
    return password


#: Chinese for the codes of Django's password validators (Django's own zh-hans catalogue lacks some, e.g.
#: the plural of "too short").
_PASSWORD_ZH = {
    "password_too_short": "密码太短，至少需要 {min_length} 个字符",
    "password_too_common": "密码太常见，容易被猜到",
    "password_entirely_numeric": "密码不能全是数字",
    "password_too_similar": "密码与用户名太相似",
}


def _validate_password(password: str, user: Any) -> None:
    """Django's validators; each problem named in Chinese and in English."""
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError
    from django.utils import translation

    try:
        with translation.override("en"):
            validate_password(password, user)
    except ValidationError as error:
        zh, en = [], []
        for problem in error.error_list:
            params = problem.params or {}
            zh.append(
                _PASSWORD_ZH.get(problem.code or "", "{message}").format(**params, message=problem.message)
            )
            en.append(str(problem.message % params if params else problem.message))
        raise UsageError(
            "密码不符合要求：" + "；".join(zh), "the password was refused: " + " ".join(en)
        ) from None
