"""The architecture's hard lines: PyQt6 only in signage.kiosk, Django only in signage.hub.

Each line is checked the way it matters, in a fresh interpreter: importing every module on the allowed side
of a line must not pull in what lies beyond it.
"""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import signage


def _modules() -> list[str]:
    return [
        module.name
        for module in pkgutil.walk_packages(signage.__path__, "signage.")
        if not module.name.startswith("signage.kiosk") and module.name != "signage.__main__"
    ]


def _run(script: str) -> str:
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_core_modules_import_without_pyqt6_or_django():
    names = [name for name in _modules() if not name.startswith("signage.hub")]
    assert "signage.importer.run" in names
    assert "signage.cli" in names
    script = (
        "import importlib, sys\n"
        f"for name in {names!r}: importlib.import_module(name)\n"
        "print('PyQt6' in sys.modules, 'django' in sys.modules)"
    )
    assert _run(script) == "False False"


def test_the_hub_runs_django_without_pyqt6():
    names = [name for name in _modules() if name.startswith("signage.hub")]
    assert "signage.hub.console.models" in names
    script = (
        "import importlib, os, sys\n"
        "os.environ['DJANGO_SETTINGS_MODULE'] = 'signage.hub.settings'\n"
        "import django; django.setup()\n"
        f"for name in {names!r}: importlib.import_module(name)\n"
        "print('PyQt6' in sys.modules)"
    )
    assert _run(script) == "False"
