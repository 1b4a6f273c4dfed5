"""signage: signed playlists of dishonest judgment debtors (失信被执行人) for public screens.

The package is layered; see docs/architecture.md. Everything outside ``signage.kiosk`` is pure Python
and never imports PyQt6.
"""

__version__ = "0.1.0"
