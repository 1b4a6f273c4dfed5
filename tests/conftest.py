"""Settings for the whole suite."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

# Hypothesis fails an example that runs over 200 ms, and a run whose data generation is slow: wall-clock
# bounds on speed, which a loaded machine breaks. Speed is measured in bench/, never in a test.
settings.register_profile("signage", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("signage")

# The hub's test database settings (a module under tests/hub, where Django may be imported).
pytest_plugins = ["tests.hub.database"]
