"""Telemetry of a screen: proof of play, heartbeats, and their upload to the hub.

- :mod:`signage.sync.telemetry.plays`: every slide shown, recorded in a local SQLite database (WAL, synchronous
  FULL) when it ends, batched under persistent idempotency keys, pruned by age and by row count.
- :mod:`signage.sync.telemetry.heartbeat`: the once-a-minute state report (pure) and the few readings it
  needs from the operating system (RSS, free disk, a read-only filesystem, the clock offset).
- :mod:`signage.sync.telemetry.uploader`: the HTTP side: batches and heartbeats posted to the hub under
  bounded time and size, never raising for network trouble, and a bounded queue of unsent heartbeats.

Records are pseudonymised: a play names a debtor by entry id and record hash
(:func:`signage.core.playlist.record_hash`), never by name or ID number, so the audit trail cannot become a
second copy of the list. Nothing here imports PyQt6; the player hands finished plays to its worker thread.
"""
