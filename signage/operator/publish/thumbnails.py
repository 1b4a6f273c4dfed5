"""Slide thumbnails for the console, rendered out of process by the player's own renderer (no Qt here).

The hub must never import PyQt6 (a Qt crash or a font bug must not take the console down), so
:func:`render_thumbnails` writes the records to a small JSON file and runs ``python -m
signage.kiosk.thumbnails`` on Qt's ``offscreen`` platform, bounded by a timeout and by
:data:`MAX_THUMBNAIL_RECORDS` records per call (the console thumbnails only added and changed entries).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from signage.core.errors import SignageError
from signage.core.pages import thumbnail_name
from signage.core.records import DebtorRecord
from signage.operator.publish.channel import records_to_json

#: The most records one call renders; the console shows the first ones and says how many more there are.
MAX_THUMBNAIL_RECORDS = 60
#: The screen shapes of the fleet, by default: landscape, portrait and a bar.
DEFAULT_SIZES = ((1920, 1080), (1080, 1920), (1920, 360))
#: Thumbnails are at most this wide.
THUMBNAIL_WIDTH = 480
#: What the renderer may print on failure that is kept for the message.
_MAX_ERROR_TEXT = 2000


#: What the renderer inherits from the hub's environment, and nothing else: it handles uploaded content, so
#: the hub's secrets (key passphrase, secret key, database URL, credentials directory) never reach it.
#: PATH and PYTHONPATH to run, HOME/XDG_RUNTIME_DIR/TMPDIR for Qt, locale and fontconfig for CJK fonts.
RENDERER_ENVIRONMENT = (
    "PATH",
    "PYTHONPATH",
    "HOME",
    "XDG_RUNTIME_DIR",
    "TMPDIR",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "FONTCONFIG_FILE",
    "FONTCONFIG_PATH",
    "QT_QPA_FONTDIR",
)


def renderer_environment(hub: Mapping[str, str]) -> dict[str, str]:
    """The renderer's environment: the :data:`RENDERER_ENVIRONMENT` variables of ``hub``, on Qt's offscreen
    platform (the hub has no display)."""
    kept = {name: hub[name] for name in RENDERER_ENVIRONMENT if name in hub}
    return {**kept, "QT_QPA_PLATFORM": "offscreen"}


class ThumbnailError(SignageError):
    """The thumbnails could not be rendered (the renderer failed or ran out of time); publishing is unaffected."""


def render_thumbnails(
    records: Sequence[DebtorRecord],
    *,
    photos_dir: Path,
    sizes: Sequence[tuple[int, int]] = DEFAULT_SIZES,
    out_dir: Path,
    sample: bool,
    timeout: float,
    data_date: dt.date | None = None,
    max_width: int = THUMBNAIL_WIDTH,
) -> dict[str, list[Path]]:
    """Render each record at each screen size and return entry id -> its thumbnails (in ``sizes`` order).

    ``photos_dir`` holds photos named by SHA-256; ``data_date`` is the footer's data date (today by default).

    Raises:
        ValueError: more than :data:`MAX_THUMBNAIL_RECORDS` records, or no size.
        ThumbnailError: the renderer failed or took longer than ``timeout`` seconds (it is killed).
    """
    if len(records) > MAX_THUMBNAIL_RECORDS:
        raise ValueError(f"at most {MAX_THUMBNAIL_RECORDS} records per call, not {len(records)}")
    if not sizes:
        raise ValueError("no screen size given")
    if not records:
        return {}
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="signage-thumbnails-") as scratch:
        records_file = Path(scratch) / "records.json"
        records_file.write_text(
            json.dumps({"records": records_to_json(records)}, ensure_ascii=False), "utf-8"
        )
        command = [
            sys.executable,
            "-m",
            "signage.kiosk.thumbnails",
            "--records",
            str(records_file),
            "--photos",
            str(photos_dir),
            "--out",
            str(out_dir),
            "--max-width",
            str(max_width),
            "--date",
            (data_date or dt.date.today()).isoformat(),
            *[argument for size in sizes for argument in ("--size", f"{size[0]}x{size[1]}")],
            *(["--sample"] if sample else []),
        ]
        # The renderer finds its CJK fonts through fontconfig as on a screen.
        try:
            finished = subprocess.run(
                command,
                env=renderer_environment(os.environ),
                capture_output=True,
                timeout=timeout,
                check=False,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            raise ThumbnailError(
                f"缩略图生成超时（{timeout:g} 秒），已停止；名单本身不受影响",
                f"rendering the thumbnails took over {timeout:g} s and was stopped; the list itself is unaffected",
            ) from None
    if finished.returncode != 0:
        detail = finished.stderr.decode("utf-8", "replace")[-_MAX_ERROR_TEXT:]
        raise ThumbnailError(
            f"缩略图生成失败（退出码 {finished.returncode}）：{detail}",
            f"rendering the thumbnails failed (exit status {finished.returncode}): {detail}",
        )
    return {
        record.entry_id: [out_dir / thumbnail_name(record.entry_id, size) for size in sizes]
        for record in records
    }
