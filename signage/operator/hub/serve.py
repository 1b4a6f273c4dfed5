"""Start the whole hub in this process: Django for ``DIR``, the views' dependencies, and waitress serving
the static repository beside Django (:func:`signage.operator.hub.wsgi.make_hub_application`).

Used by ``signage hub``, ``signage demo``, the benchmarks and the tests that need a real hub, so that each of
them wires it the same way. Django is configured once per process (:func:`signage.operator.hub.bootstrap.setup`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path

from signage.operator.hub.context import Clock, HubContext, configure
from signage.operator.hub.fleet import ChannelState
from signage.operator.hub.screens.ingest import MAX_REQUEST_BODY_BYTES, Limits
from signage.operator.hub.screens.provenance import Issued
from signage.operator.hub.server import BodyLimits, Hub


def make_hub(
    repo_dir: Path,
    *,
    clock: Clock,
    refresh: Callable[[], None],
    host: str = "127.0.0.1",
    port: int = 8080,
    keys_dir: Path | None = None,
    passphrase: bytes | None = None,
    limits: Limits | None = None,
    channels: Callable[[], Mapping[str, ChannelState]] | None = None,
    fleet_page_public: bool | None = None,
    monotonic: Callable[[], float] = time.monotonic,
    setup: bool = True,
    versions: Callable[[str, int], Issued | None] | None = None,
) -> Hub:
    """A :class:`~signage.operator.hub.server.Hub` (not started) serving ``DIR/public`` and the Django hub.

    Args:
        repo_dir: The repository ``DIR``.
        clock: The hub's time for every view (received times, ``hub_time``, the fleet page, the console).
        refresh: Re-signs what expires, at start and every hour.
        host: Address to listen on.
        port: TCP port; 0 picks a free one.
        keys_dir: The online keys (``DIR/keys`` by default).
        passphrase: Decrypts the keys when they are encrypted at rest.
        limits: Bounds of the telemetry ingest; :class:`Limits` by default.
        channels: The channels' current versions for the fleet page; by default read from ``DIR``.
        fleet_page_public: Serve ``/fleet`` to every client; by default as ``DIR/hub.toml`` says.
        monotonic: The time the ingest's rate limits count in.
        setup: Set Django up for ``DIR`` and migrate first (a test whose database pytest-django made says no).
        versions: What each channel's versions published, to judge plays by; by default the repository's
            playlist files and the console's published versions.

    Raises:
        ConfigError: ``DIR/hub.toml`` is invalid, or the database cannot be opened or migrated.
        RepositoryError: ``channels`` is not given and ``DIR`` is not an initialised repository.
    """
    from signage.operator.hub import bootstrap
    from signage.operator.hub.options import load_options

    options = load_options(repo_dir)
    if setup:
        bootstrap.setup(repo_dir)
    from django.urls import reverse

    from signage.operator.hub.console.uploads import MAX_UPLOAD_BYTES
    from signage.operator.hub.screens import views
    from signage.operator.hub.wsgi import make_hub_application

    if channels is None:
        from signage.operator.hub.channels import RepositoryChannels

        channels = RepositoryChannels(repo_dir)
    configure(HubContext(repo_dir=repo_dir, clock=clock, keys_dir=keys_dir, passphrase=passphrase))
    from signage.operator.hub.console.jobs import recover_interrupted_jobs

    # An import or a publish cut off by a restart: raw uploads deleted, submissions settled (console/jobs.py).
    recover_interrupted_jobs()
    views.configure(
        limits=limits,
        channels=channels,
        fleet_page_public=options.fleet_page_public if fleet_page_public is None else fleet_page_public,
        monotonic=monotonic,
        versions=versions,
    )
    return Hub(
        make_hub_application(repo_dir / "public"),
        with_telemetry_upkeep(refresh, clock, raw_play_days=options.raw_play_days),
        host=host,
        port=port,
        body_limits=upload_body_limits(reverse("console:upload"), MAX_UPLOAD_BYTES),
    )


def with_telemetry_upkeep(
    refresh: Callable[[], None], clock: Clock, *, raw_play_days: int
) -> Callable[[], None]:
    """``refresh``, then the telemetry's roll-up and retention (:mod:`signage.operator.hub.screens.retention`).

    They ride on the hub's hourly refresh job: the roll-up only has work once a China-local day has ended
    (and for late plays), and both are idempotent. A roll-up failure is logged and retried the next hour; it
    never stops the refresh, which runs first.
    """
    import logging

    from django.db import connections

    from signage.operator.hub.screens import retention
    from signage.operator.hub.screens.ingest import china_day

    def refresh_then_upkeep() -> None:
        try:
            refresh()
        finally:
            try:
                now = clock()
                retention.maintain(china_day(now), now, raw_play_days=raw_play_days)
            except Exception:
                logging.getLogger(__name__).exception("telemetry roll-up failed; retried at the next refresh")
            finally:
                # The scheduler's thread holds no connection between runs (an hour apart).
                connections.close_all()

    return refresh_then_upkeep


def upload_body_limits(upload_path: str, max_upload_bytes: int) -> BodyLimits:
    """2 MiB for every request, except a POST to the console's upload page, which may carry an upload.

    waitress spools a body over 512 KB to a temporary file, so these bound the disk an anonymous client
    can fill. Only a signed-in clerk's upload needs the large limit, but waitress decides from the headers
    and cannot see the session: the path is the bound, and the upload view checks the clerk after the body
    has arrived. nginx's ``client_max_body_size`` per location does the same in production (issue 14).
    """
    return BodyLimits(default=MAX_REQUEST_BODY_BYTES, larger={("POST", upload_path): max_upload_bytes})
