"""The architecture's hard lines: PyQt6 only in signage.kiosk, Django only in signage.operator.hub.

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
    names = [name for name in _modules() if not name.startswith("signage.operator.hub")]
    assert "signage.operator.importer.run" in names
    assert "signage.cli" in names
    script = (
        "import importlib, sys\n"
        f"for name in {names!r}: importlib.import_module(name)\n"
        "print('PyQt6' in sys.modules, 'django' in sys.modules)"
    )
    assert _run(script) == "False False"


def test_the_hub_runs_django_without_pyqt6():
    names = [name for name in _modules() if name.startswith("signage.operator.hub")]
    assert "signage.operator.hub.console.models" in names
    script = (
        "import importlib, os, sys\n"
        "os.environ['DJANGO_SETTINGS_MODULE'] = 'signage.operator.hub.settings'\n"
        "import django; django.setup()\n"
        f"for name in {names!r}: importlib.import_module(name)\n"
        "print('PyQt6' in sys.modules)"
    )
    assert _run(script) == "False"


# --- the direction of imports between the four parts of the tree --------------------------------------------

#: What each part of ``signage/`` may import from the others (itself always). ``cli`` and ``demo`` wire the
#: whole system together and may import anything.
ALLOWED = {
    "core": {"core"},
    "sync": {"core", "sync"},
    "kiosk": {"core", "sync", "kiosk"},
    "operator": {"core", "operator"},
}

#: Edges across those lines that are shared formats rather than behaviour, each with its reason.
EXCEPTIONS = {
    # The hub validates the screens' heartbeat and screen ids with the limits the screens write them under.
    ("signage.operator.hub.screens.ingest", "signage.sync.telemetry.heartbeat"),
    ("signage.operator.hub.screens.ingest", "signage.sync.config"),
    ("signage.operator.hub.commands", "signage.sync.config"),
    # `signage doctor --hub` reports in the same Check shape as the screen's doctor.
    ("signage.operator.hub.doctor", "signage.sync.doctor"),
}


def _part(module: str) -> str | None:
    pieces = module.split(".")
    return pieces[1] if len(pieces) > 1 and pieces[1] in ALLOWED else None


def _imports(path, module: str) -> set[str]:
    import ast

    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name.startswith("signage.")}


def test_imports_follow_the_tree():
    from pathlib import Path

    root = Path(signage.__file__).parent
    crossings = []
    checked = 0
    for path in sorted(root.rglob("*.py")):
        module = ".".join(("signage", *path.relative_to(root).with_suffix("").parts))
        part = _part(module)
        if part is None:
            continue
        checked += 1
        for name in _imports(path, module):
            other = _part(name)
            if other is None or other in ALLOWED[part]:
                continue
            if any(module == a and (name == b or name.startswith(b + ".")) for a, b in EXCEPTIONS):
                continue
            crossings.append(f"{module} imports {name}")
    assert checked > 100
    assert crossings == []


def test_the_top_level_shows_the_deployables():
    from pathlib import Path

    root = Path(signage.__file__).parent
    # A folder left holding only __pycache__ (an old checkout's) is not part of the tree.
    entries = sorted(
        p.name for p in root.iterdir() if p.suffix == ".py" or (p.is_dir() and any(p.rglob("*.py")))
    )
    assert entries == ["__init__.py", "__main__.py", "cli.py", "core", "demo.py", "kiosk", "operator", "sync"]


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
        "import signage.sync.service, signage.sync.telemetry.reporter, signage.sync.journal\n"
        "print('PyQt6' in sys.modules, 'tuf' in sys.modules)"
    )
    assert _run(script) == "False True"
