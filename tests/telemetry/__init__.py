"""Tests of signage.sync.telemetry: proof of play, heartbeats, uploads."""
