"""``python -m signage.kiosk.thumbnails``: slide thumbnails for the console, rendered by the player's renderer.

The hub never imports PyQt6, so ``signage.operator.publish.thumbnails`` runs this module as a subprocess on the
``offscreen`` Qt platform. It reads records in the playlist wire format from a JSON file (checked as a screen
checks them), renders each at each screen size with the same fonts and layouts a screen uses, scales the first
page to at most ``--max-width`` pixels wide, and writes ``<entry id>-<W>x<H>.png`` into ``--out``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from PyQt6.QtCore import QSize, Qt

from signage.core.pages import thumbnail_name
from signage.core.playlist import MAX_PHOTO_BYTES, decode_records
from signage.core.records import PhotoRef
from signage.kiosk.fonts import find_fonts
from signage.kiosk.preview import ensure_gui
from signage.kiosk.slides import SlideRenderer, screen_mark

#: The records file is written by the hub for at most a few dozen records; anything larger is refused.
MAX_RECORDS_FILE_BYTES = 8 * 1024 * 1024


def _size(text: str) -> tuple[int, int]:
    width, height = (int(part) for part in text.lower().split("x"))
    if not (64 <= width <= 8192 and 64 <= height <= 8192):
        raise argparse.ArgumentTypeError(f"{text!r}: each side must be 64 to 8192 pixels")
    return width, height


def main(argv: Sequence[str] | None = None) -> int:
    """Render the thumbnails; exit 0 when every one was written."""
    parser = argparse.ArgumentParser(prog="python -m signage.kiosk.thumbnails", description=__doc__)
    parser.add_argument("--records", type=Path, required=True, help='JSON file: {"records": [...]}')
    parser.add_argument("--photos", type=Path, required=True, help="folder of photos named by SHA-256")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--size", type=_size, action="append", required=True, metavar="WxH")
    parser.add_argument("--max-width", type=int, default=480)
    parser.add_argument(
        "--date", type=dt.date.fromisoformat, required=True, help="the data date in the footer"
    )
    parser.add_argument("--sample", action="store_true", help="mark every slide 示例 / SAMPLE")
    arguments = parser.parse_args(argv)

    with arguments.records.open("rb") as handle:
        data = handle.read(MAX_RECORDS_FILE_BYTES + 1)
    if len(data) > MAX_RECORDS_FILE_BYTES:
        print(f"{arguments.records} is over {MAX_RECORDS_FILE_BYTES} bytes", file=sys.stderr)
        return 2
    records = decode_records(json.loads(data).get("records"), str(arguments.records))

    def photo(ref: PhotoRef) -> bytes | None:
        # Only the photo the record names, by hash: a damaged or missing file shows the silhouette.
        try:
            with (arguments.photos / ref.sha256).open("rb") as file:
                content = file.read(MAX_PHOTO_BYTES + 1)
        except OSError:
            return None
        return content if hashlib.sha256(content).hexdigest() == ref.sha256 else None

    app = ensure_gui()  # keep a reference: a collected QGuiApplication takes the fonts with it
    renderer = SlideRenderer(
        find_fonts(), mark=screen_mark("预览 preview", None), sample=arguments.sample, photos=photo
    )
    arguments.out.mkdir(parents=True, exist_ok=True)
    for record in records:
        for size in arguments.size:
            image = renderer.render_record(record, QSize(*size), arguments.date).image
            if image.width() > arguments.max_width:
                image = image.scaledToWidth(arguments.max_width, Qt.TransformationMode.SmoothTransformation)
            path = arguments.out / thumbnail_name(record.entry_id, size)
            temporary = path.with_name(f".{path.name}.tmp")
            if not image.save(str(temporary), "PNG"):
                print(f"could not write {path}", file=sys.stderr)
                return 1
            temporary.replace(path)
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main())
