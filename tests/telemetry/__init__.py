"""Tests of signage.telemetry: proof of play, heartbeats, uploads."""
