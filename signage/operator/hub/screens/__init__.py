"""The screens: their registration and tokens, their telemetry (heartbeats, proof of play) and the fleet."""
