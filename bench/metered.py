"""Sync cost on a metered bus link: bytes and requests per poll, per takedown, per added record, per first sync.

The fictional sample channel (``assets/sample``: 73 rows, of which 64 are published, with their
generated portraits) is published into a fresh repository under ``bench/out/metered/`` as ``signage demo``
publishes it, served by a real Hub on 127.0.0.1, and reached through a counting TCP relay by one screen
(``ScreenSync`` with the ``HttpFetcher`` every screen uses, one ``requests`` session kept for the whole
run, as a player keeps it). In order:

1. **First sync** from an empty cache (``sync_once()``: TUF metadata, playlist, revocations, photos).
2. **Nothing new**: the takedown check (``sync_once(full=False)``, every ``revocation_poll_seconds``),
   then the full sync (``sync_once()``, every ``sync_minutes``); then the takedown check again after the
   hub's hourly re-sign of the timestamp.
3. **One revocation** (``revoke_entries`` of one displayed entry): the takedown check, then the full sync.
4. **One added record with a photo**: the sample republished with one extra fictional person row
   (:func:`signage.operator.fictional.person_row`) and its generated portrait; the full sync.

Each step is counted three ways: HTTP body bytes as ``HttpFetcher.bytes_received`` counts them (headers
left out); requests as ``HttpFetcher.requests_made`` counts them (failed ones included: python-tuf asks for
the next root version on every refresh and gets a 404); and **on the wire**, every byte the relay passed
each way (request lines, headers and bodies of HTTP/1.1 without TLS, as the Hub's waitress sends them; TCP
and IP headers, TCP handshakes, and TLS if a deployment adds it, are not included), with the TCP
connections the screen opened. A day with nothing new is estimated from step 2 at the default intervals.
Times on 127.0.0.1 say nothing about a mobile link and are printed only as a sanity check.

Usage: ``python -m bench.metered [--figures PATH]``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shutil
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit

from bench.figures import Figure, command_line, machine, write
from bench.player import _table as text_table
from bench.sync_cost import Screen, Step, new_repository, now, publish, read_rows, serve
from signage.operator.fictional import person_row, write_csv, write_portraits
from signage.operator.publish.channel import ChannelSettings, revoke_entries
from signage.operator.publish.repo import OperatorRepository
from signage.sync.config import PlayerConfig

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "metered"
SAMPLE = ROOT / "assets" / "sample"
SECTION = "Metered link"
MODULE = "bench.metered"
CHANNEL = "sample"
#: The added row's generator seed, and the JPEG quality the sample's portraits are saved at
#: (``playlists/generate_sample.py``).
ADDED_SEED = 74
PHOTO_QUALITY = 80
DAY_SECONDS = 24 * 3600


# --- a counting relay ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Wire:
    """Bytes a relay passed each way, and connections it accepted."""

    up: int = 0
    down: int = 0
    connections: int = 0

    def __sub__(self, other: Wire) -> Wire:
        return Wire(self.up - other.up, self.down - other.down, self.connections - other.connections)


class Relay:
    """A TCP relay from ``127.0.0.1:<port>`` to ``target``, counting the bytes it passes each way."""

    def __init__(self, target: tuple[str, int]) -> None:
        self._target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._counts = Wire()
        self._sockets: list[socket.socket] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="relay", daemon=True)
        self._thread.start()

    def __enter__(self) -> Relay:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def counts(self) -> Wire:
        """The totals so far."""
        with self._lock:
            return self._counts

    def settled(self, quiet: float = 0.1, limit: float = 2.0) -> Wire:
        """The totals once nothing has moved for ``quiet`` seconds (bytes the screen did not wait for)."""
        deadline = time.monotonic() + limit
        last = self.counts()
        while time.monotonic() < deadline:
            time.sleep(quiet)
            current = self.counts()
            if current == last:
                break
            last = current
        return last

    def close(self) -> None:
        """Stop accepting and close every connection."""
        self._stopping.set()
        self._thread.join()
        self._listener.close()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.close()

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            client.settimeout(None)
            upstream = socket.create_connection(self._target)
            with self._lock:
                self._sockets += [client, upstream]
                self._counts = Wire(self._counts.up, self._counts.down, self._counts.connections + 1)
            for source, sink, up in ((client, upstream, True), (upstream, client, False)):
                threading.Thread(target=self._pump, args=(source, sink, up), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, up: bool) -> None:
        with contextlib.suppress(OSError):
            while chunk := source.recv(64 * 1024):
                with self._lock:  # counted before it is passed on, so the screen never sees uncounted bytes
                    size = len(chunk)
                    counts = self._counts
                    self._counts = Wire(
                        counts.up + (size if up else 0), counts.down + (0 if up else size), counts.connections
                    )
                sink.sendall(chunk)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


# --- the steps -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cost:
    """One sync: what the fetcher counted, and what went over the relay."""

    step: Step
    wire: Wire

    @property
    def on_wire(self) -> int:
        """Bytes both ways."""
        return self.wire.up + self.wire.down


def measure(screen: Screen, relay: Relay, *, full: bool) -> Cost:
    """One ``sync_once(full=full)``, counted."""
    before = relay.settled()
    step = screen.measure(full=full)
    return Cost(step, relay.settled() - before)


def added_export(work: Path) -> tuple[Path, Path]:
    """The sample's CSV and photos plus one fictional person row with a generated portrait."""
    rows = read_rows(SAMPLE / "records.csv")
    # The sample ends with a total row (合计), as court exports do: only numbered rows count.
    number = max(int(row["编号"].lstrip("S")) for row in rows if row["编号"].lstrip("S").isdigit()) + 1
    row = person_row(random.Random(ADDED_SEED), number, photo=True)
    photos = work / "added-photos"
    shutil.rmtree(photos, ignore_errors=True)
    shutil.copytree(SAMPLE / "photos", photos)
    write_portraits([row], photos, quality=PHOTO_QUALITY)
    return write_csv([*rows, row], work / "added.csv"), photos


@dataclass
class Run:
    """Every step measured, by name, in the order run."""

    records: int
    photos: int
    revoked: str
    added: str
    costs: dict[str, Cost]


FIRST = "first sync, empty cache"
CHECK = "nothing new: takedown check (full=False)"
FULL = "nothing new: full sync"
RESIGNED = "after the hourly re-sign: takedown check"
REVOKE_CHECK = "one revocation: takedown check"
REVOKE_FULL = "one revocation: full sync after it"
ADDED = "one added record with a photo: full sync"


def run(work: Path) -> Run:
    """Publish the sample, serve it behind the relay, and measure every step."""
    repository, root = new_repository(work)
    settings = ChannelSettings(sample=True)
    published = publish(
        repository, SAMPLE / "records.csv", SAMPLE / "photos", channel=CHANNEL, settings=settings
    )
    added_csv, added_photos = added_export(work)
    costs: dict[str, Cost] = {}
    with serve(repository.public) as hub_url, Relay(("127.0.0.1", urlsplit(hub_url).port or 80)) as relay:
        screen = Screen(f"http://127.0.0.1:{relay.port}/", root, work / "cache", channel=CHANNEL)
        try:
            costs[FIRST] = measure(screen, relay, full=True)
            shown = screen.sync.current(now()).records
            costs[CHECK] = measure(screen, relay, full=False)
            costs[FULL] = measure(screen, relay, full=True)
            _refresh(repository)
            costs[RESIGNED] = measure(screen, relay, full=False)
            revoked = shown[0].entry_id
            revoke_entries(repository, CHANNEL, [revoked], reason="已履行 / paid (bench)", now=now())
            costs[REVOKE_CHECK] = measure(screen, relay, full=False)
            costs[REVOKE_FULL] = measure(screen, relay, full=True)
            publish(repository, added_csv, added_photos, channel=CHANNEL, settings=settings)
            costs[ADDED] = measure(screen, relay, full=True)
            after = screen.sync.current(now()).records
        finally:
            screen.close()
    new = {record.entry_id for record in after} - {record.entry_id for record in shown}
    if len(new) != 1 or costs[ADDED].step.photos != 1:
        raise RuntimeError(f"the added record was not shown with its photo: {new}, {costs[ADDED]}")
    return Run(len(shown), published.photos, revoked, ", ".join(sorted(new)), costs)


def _refresh(repository: OperatorRepository) -> None:
    # What the hub's hourly job does.
    with repository.locked():
        repository.refresh(now=now())


# --- the report ------------------------------------------------------------------------------------------


def _defaults() -> PlayerConfig:
    return PlayerConfig("default", "http://hub.invalid/", CHANNEL, Path("root.json"), Path("cache"))


def day_estimate(costs: dict[str, Cost]) -> tuple[int, int, int, int, int]:
    """Checks and full syncs per day at the default intervals, and the bytes and requests they take."""
    defaults = _defaults()
    checks = round(DAY_SECONDS / defaults.revocation_poll_seconds)
    fulls = round(DAY_SECONDS / (defaults.sync_minutes * 60))
    check, full = costs[CHECK], costs[FULL]
    body = checks * check.step.bytes + fulls * full.step.bytes
    wire = checks * check.on_wire + fulls * full.on_wire
    requests = checks * check.step.requests + fulls * full.step.requests
    return checks, fulls, body, wire, requests


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def value(cost: Cost) -> str:
    """A figure's value: body bytes and requests, then the wire."""
    photos = f", {_plural(cost.step.photos, 'photo')}" if cost.step.photos else ""
    return (
        f"{cost.step.bytes:,} B in {_plural(cost.step.requests, 'request')}{photos}; on the wire "
        f"{cost.on_wire:,} B ({cost.wire.down:,} down, {cost.wire.up:,} up), "
        f"{_plural(cost.wire.connections, 'new TCP connection')}"
    )


def report(result: Run) -> list[str]:
    """The detailed report, after the machine lines."""
    header = ("step", "body B", "requests", "photos", "wire down B", "wire up B", "connections", "time")
    rows = [header]
    for name, cost in result.costs.items():
        rows.append(
            (
                name,
                f"{cost.step.bytes:,}",
                str(cost.step.requests),
                str(cost.step.photos),
                f"{cost.wire.down:,}",
                f"{cost.wire.up:,}",
                str(cost.wire.connections),
                f"{cost.step.seconds * 1000:.0f} ms",
            )
        )
    checks, fulls, body, wire, requests = day_estimate(result.costs)
    return [
        f"sample channel: {result.records} records, {result.photos} photos; hub on 127.0.0.1 behind a counting "
        "relay; HTTP/1.1 without TLS",
        f"revoked: {result.revoked}; added: {result.added}",
        "body = HTTP bodies as HttpFetcher counts them; wire = request and response bytes with headers, both ways "
        "(TCP/IP headers, handshakes and TLS not included)",
        *text_table(rows),
        f"a day with nothing new at the default intervals ({checks:,} takedown checks, {fulls} full syncs): "
        f"{body / 1e6:.2f} MB of bodies, {wire / 1e6:.2f} MB on the wire, {requests:,} requests",
    ]


def figures_of(result: Run, command: str) -> list[Figure]:
    """The headline figures for docs/benchmarks.md."""
    costs = result.costs
    checks, fulls, body, wire, requests = day_estimate(costs)

    def figure(name: str, text: str) -> Figure:
        return Figure(SECTION, name, text, command)

    return [
        figure("Poll with nothing new, takedown check", value(costs[CHECK])),
        figure("Poll with nothing new, full sync", value(costs[FULL])),
        figure("Takedown check after the hourly timestamp re-sign", value(costs[RESIGNED])),
        figure("One revocation, takedown check", value(costs[REVOKE_CHECK])),
        figure("One revocation, full sync after it", value(costs[REVOKE_FULL])),
        figure("One added record with a photo, full sync", value(costs[ADDED])),
        figure(
            f"First sync of the sample channel ({result.records} records), empty cache", value(costs[FIRST])
        ),
        figure(
            f"A day with nothing new, default intervals ({checks:,} checks, {fulls} full syncs; estimate)",
            f"{body / 1e6:.2f} MB of bodies in {requests:,} requests; {wire / 1e6:.2f} MB on the wire",
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the report, write the figures."""
    parser = argparse.ArgumentParser(
        prog=f"python -m {MODULE}", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--figures", type=Path, help="write the headline figures as JSON to this file")
    parser.add_argument("--work", type=Path, default=OUT, help=f"scratch folder (default {OUT})")
    arguments = parser.parse_args(argv)
    load_at_start = os.getloadavg()[0]
    result = run(arguments.work.resolve())
    print("\n".join([*machine(load_at_start), *report(result)]))
    write(arguments.figures, figures_of(result, command_line(MODULE, argv)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
