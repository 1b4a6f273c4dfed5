"""QR codes drawn as crisp squares, or not at all.

A QR code on a public screen is scanned by a phone held a few metres away, so it is drawn with whole-pixel
modules (no resampling blur), dark on light (phones expect that polarity), inside a light quiet zone of
:data:`QUIET_MODULES` modules on every side (ISO/IEC 18004 asks for 4). When a region cannot hold the code
with modules of at least :data:`MIN_MODULE_PX` pixels and a total side of at least :data:`MIN_SIDE_PX`, the
code is left out: a code too small to scan is worse than none.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from PyQt6.QtCore import QRectF
from PyQt6.QtGui import QColor, QPainter

#: Light modules around the code on every side.
QUIET_MODULES = 4
#: Smallest module, in screen pixels: below this a phone at a few metres cannot resolve it.
MIN_MODULE_PX = 4
#: Smallest total side (quiet zone included), in pixels.
MIN_SIDE_PX = 120
DARK = QColor(0, 0, 0)
LIGHT = QColor(255, 255, 255)


@dataclass(frozen=True)
class QrMatrix:
    """The modules of one code, without quiet zone.

    Attributes:
        rows: ``rows[y][x]`` is true for a dark module.
    """

    rows: tuple[tuple[bool, ...], ...]

    @property
    def size(self) -> int:
        """Modules per side."""
        return len(self.rows)


def qr_matrix(url: str) -> QrMatrix:
    """Encode ``url`` at error-correction level M (15 %: a smudged or partly glared screen still scans)."""
    # Imported here: qrcode pulls in Pillow, which a screen needs only when a slide carries a link.
    import qrcode  # type: ignore[import-untyped]

    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    code.add_data(url)
    code.make(fit=True)
    return QrMatrix(tuple(tuple(bool(cell) for cell in row) for row in code.get_matrix()))


def plan(matrix: QrMatrix, region: QRectF) -> QRectF | None:
    """The square (quiet zone included) the code occupies, centred at the top of ``region``, or ``None``.

    The side is a whole number of modules of a whole number of pixels, at the largest module that fits.
    """
    modules = matrix.size + 2 * QUIET_MODULES
    # Whole pixels inside the region, so every module edge falls on a pixel edge.
    left, top = math.ceil(region.left()), math.ceil(region.top())
    width, height = math.floor(region.right()) - left, math.floor(region.bottom()) - top
    module = min(width, height) // modules
    side = module * modules
    if module < MIN_MODULE_PX or side < MIN_SIDE_PX:
        return None
    return QRectF(left + (width - side) // 2, top, side, side)


def fits(matrix: QrMatrix, region: QRectF) -> bool:
    """Whether ``region`` can hold ``matrix`` legibly (see :func:`plan`)."""
    return plan(matrix, region) is not None


def draw(painter: QPainter, matrix: QrMatrix, square: QRectF) -> None:
    """Draw ``matrix`` into ``square`` (from :func:`plan`): light square, then dark modules, unsmoothed."""
    modules = matrix.size + 2 * QUIET_MODULES
    module = int(square.width()) // modules
    left, top = int(square.left()), int(square.top())
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
    painter.fillRect(left, top, module * modules, module * modules, LIGHT)
    for y, row in enumerate(matrix.rows):
        x = 0
        # One rectangle per run of dark modules: fewer calls, identical pixels.
        while x < len(row):
            if not row[x]:
                x += 1
                continue
            start = x
            while x < len(row) and row[x]:
                x += 1
            painter.fillRect(
                left + (start + QUIET_MODULES) * module,
                top + (y + QUIET_MODULES) * module,
                (x - start) * module,
                module,
                DARK,
            )
    painter.restore()
