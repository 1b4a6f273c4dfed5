"""What the signage package ships besides its code, installed as the package ``signage.assets``.

- ``sample/``: the fictional sample channel (示例 / SAMPLE) that ``signage demo`` publishes and plays, written
  by ``playlists/generate_sample.py``. Found through :data:`signage.cli.SAMPLE_DIR`, so it works from a wheel.

The player itself needs no files from here: its slides, the standby slide and the header are drawn with
QPainter (signage/kiosk/slides.py), with no logo or image; its fonts are the system's CJK fonts (Debian's
fonts-noto-cjk, chosen in signage/kiosk/fonts.py).
"""
