"""The screens app's tables (filled in by the telemetry port)."""
