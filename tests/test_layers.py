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


#: What the painting process never loads (issue 15): the sync service verifies, fetches and uploads.
PAINTER_NEVER = (
    "tuf",
    "requests",
    "cryptography",
    "securesystemslib",
    "apscheduler",
    "stdnum",
    "PIL",
    "django",
)


def test_the_painter_imports_nothing_of_the_sync_side():
    script = (
        "import sys\n"
        "import signage.cli, signage.kiosk.app, signage.kiosk.watcher, signage.kiosk.telemetry\n"
        f"print(sorted(name for name in {PAINTER_NEVER!r} + ('qrcode', 'urllib3') if name in sys.modules))"
    )
    assert _run(script) == "[]"


def test_the_painter_loads_qrcode_only_to_draw_a_qr_code():
    script = (
        "import sys\n"
        "from signage.kiosk import qr\n"
        "before = 'qrcode' in sys.modules\n"
        "qr.qr_matrix('https://example.org/case')\n"
        f"print(before, 'qrcode' in sys.modules, sorted(n for n in {PAINTER_NEVER!r} if n in sys.modules))"
    )
    # Pillow comes with qrcode (its image modules), only once a slide draws a link.
    assert _run(script).startswith("False True")


def test_the_sync_service_runs_without_pyqt6():
    script = (
        "import sys\n"
        "import signage.sync.service, signage.telemetry.reporter, signage.journal\n"
        "print('PyQt6' in sys.modules, 'tuf' in sys.modules)"
    )
    assert _run(script) == "False True"
