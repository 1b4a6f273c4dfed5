"""The architecture's one hard line: nothing outside signage.kiosk imports PyQt6."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import signage


def test_core_modules_import_without_pyqt6():
    names = [
        module.name
        for module in pkgutil.walk_packages(signage.__path__, "signage.")
        if not module.name.startswith("signage.kiosk") and module.name != "signage.__main__"
    ]
    assert "signage.importer.run" in names
    script = (
        "import importlib, sys\n"
        f"for name in {names!r}: importlib.import_module(name)\n"
        "print('PyQt6' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
