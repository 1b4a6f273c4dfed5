"""The player: the one package that imports PyQt6 (``tests/test_layers.py`` and ruff enforce the line).

Modules:
    fonts: the CJK font chain, its coverage of the current set, and text fitting.
    layout: regions and type sizes per screen shape and slide kind (a plain function of size).
    qr: QR codes as crisp whole-pixel squares, or none when too small to scan.
    slides: ``SlideRenderer``, which renders every slide off screen into QImages.
"""
