"""The console's forms."""

from __future__ import annotations

from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _


class LoginForm(AuthenticationForm):
    """Django's login form, with the field labels in the console's words."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("用户名或密码不正确。连续失败 5 次后，该账号将被锁定 15 分钟。"),
        "inactive": _("该账号已停用，请联系管理员。"),
    }
