"""The hub's test database for the whole suite (a pytest plugin named by tests/conftest.py).

pytest-django makes the test database from ``signage.operator.hub.settings``: SQLite in a file (waitress's threads open
their own connections to it), or the database ``DATABASE_URL`` names (``make test``'s PostgreSQL run).
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def django_db_modify_db_settings() -> None:
    """pytest-django's hook: no connection outlives its request or thread in the tests.

    The hub keeps PostgreSQL connections for a minute (``conn_max_age``); in a test run, a kept connection of a
    stopped hub's thread would stop pytest-django from dropping the test database at the end.
    """
    from django.conf import settings

    for database in settings.DATABASES.values():
        database["CONN_MAX_AGE"] = 0
