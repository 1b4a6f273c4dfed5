"""URLs of the screens app (filled in by the telemetry port)."""

from __future__ import annotations

urlpatterns: list[object] = []
