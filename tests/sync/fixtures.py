"""An operator's real repository served by the fault server, and screens syncing from it.

Import the fixtures a test module needs by their function names (``from tests.sync.fixtures import
screen_fixture``); pytest knows them by their short names (``screen``).

Times: python-tuf's ngclient checks expiry against the real system clock, so everything is signed at
:func:`real_now` and expiries count from it. The screens get their own :class:`Clock`, which tests move
by hand; nothing here sleeps.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import subprocess
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
import requests
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from PIL import Image
from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import Metadata, MetaFile, Timestamp
from tuf.api.serialization.json import JSONSerializer

from signage.core.display import DisplaySet
from signage.core.playlist import Playlist, decode_playlist, encode_playlist
from signage.core.records import Notice
from signage.operator.publish.channel import ChannelSettings, publish_channel, revoke_entries
from signage.operator.publish.repo import OperatorRepository, playlist_path
from signage.sync.client import ScreenSync, StateLog, SyncResult, SyncState
from signage.sync.config import PlayerConfig
from signage.sync.fetcher import HttpFetcher
from tests.helpers import HEADERS, entry_id_of, person_row, write_csv
from tests.sync.conftest import FaultServer, _Handler

CHANNEL = "c1"
OTHER_CHANNEL = "c2"
PHOTO_HEADERS = (*HEADERS, "照片")
NOTICE = Notice(notice_id="n1", title="诚信建设", body="请依法履行生效法律文书确定的义务")
SETTINGS = ChannelSettings(notices=(NOTICE,))
#: Distinct colours make distinct JPEGs, hence distinct hashes.
COLOURS = {"p1.jpg": (200, 30, 30), "p2.jpg": (30, 200, 30), "p3.jpg": (30, 30, 200), "p4.jpg": (90, 90, 9)}


def real_now() -> dt.datetime:
    """The real time, whole seconds: what python-tuf will compare expiries with."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def row(number: int, photo: str | None = None, **overrides: str) -> dict[str, str]:
    """Person row ``A<number>`` with its own case number and, optionally, a photo file name.

    The listing term runs around the real date, since the signing times (and so ``current()``) must.
    """
    today = real_now().date()
    fields = {
        "案号": f"（2025）鲁0102执{1200 + number}号",
        "发布日期": (today - dt.timedelta(days=30)).isoformat(),
        "期限截止日期": (today + dt.timedelta(days=730)).isoformat(),
        **overrides,
    }
    if photo is not None:
        fields["照片"] = photo
    return person_row(f"A{number}", **fields)


#: The first publish of every test: two people, each with a photo.
FIRST_ROWS = (row(1, "p1.jpg"), row(2, "p2.jpg"))
#: Entry id -> the serial (A1, A2, ...) of the :func:`row` it comes from: tests name entries as a clerk
#: would, by the export's serial, while screens know only ids derived from case number and ID.
SERIAL = {entry_id_of(row(number)): f"A{number}" for number in range(1, 100)}


def serial(entry_id: str) -> str:
    """The serial of an entry built by :func:`row`, or the id itself for any other entry."""
    return SERIAL.get(entry_id, entry_id)


def entry_id(serial_: str) -> str:
    """The entry id of the :func:`row` with serial ``A<n>``."""
    return entry_id_of(row(int(serial_.removeprefix("A"))))


@dataclasses.dataclass
class Operator:
    """The operator's repository ``DIR`` and the folders a publish reads."""

    directory: Path
    repo: OperatorRepository
    photos: Path
    now: dt.datetime
    exports: int = 0

    @property
    def public(self) -> Path:
        """``DIR/public``, what the hub serves."""
        return self.directory / "public"

    @property
    def metadata(self) -> Path:
        """``DIR/public/metadata``."""
        return self.public / "metadata"

    def publish(
        self,
        rows: Sequence[dict[str, str]],
        *,
        channel: str = CHANNEL,
        now: dt.datetime | None = None,
        settings: ChannelSettings = SETTINGS,
    ) -> int:
        """Publish ``rows`` as ``channel``'s next playlist; returns its version."""
        self.exports += 1
        source = write_csv(
            self.directory.parent / f"export-{self.exports}.csv", list(rows), headers=PHOTO_HEADERS
        )
        result = publish_channel(
            self.repo, channel, source, photos=self.photos, now=now or self.now, settings=settings
        )
        assert result.version is not None, [problem.finding.en for problem in result.report.problems]
        return result.version

    def revoke(self, *serials: str, now: dt.datetime | None = None) -> None:
        """Take the entries of :func:`row` serials (``A1``) down from ``c1``, by their case numbers."""
        queries = [row(int(name.removeprefix("A")))["案号"] for name in serials]
        revoke_entries(self.repo, CHANNEL, queries, reason="已履行完毕", now=now or self.now)

    def playlist(self, channel: str = CHANNEL) -> Playlist:
        """The channel's current signed playlist, decoded."""
        data = self.repo.read_target(playlist_path(channel))
        assert data is not None
        return decode_playlist(data, channel=channel)

    def playlist_bytes(self, channel: str = CHANNEL) -> bytes:
        """The channel's current playlist as published."""
        data = self.repo.read_target(playlist_path(channel))
        assert data is not None
        return data

    def target_file(self, path: str) -> Path:
        """Where the current version of a target (``channels/c1/playlist.json``) is served from."""
        info = self.repo.targets().signed.targets[path]
        folder, name = path.rsplit("/", 1)
        return self.public / "targets" / folder / f"{info.hashes['sha256']}.{name}"

    def signer(self, role: str) -> CryptoSigner:
        """The private key of ``role``, as a thief of ``DIR/keys/<role>.pem`` would hold it."""
        return CryptoSigner(
            load_pem_private_key((self.directory / "keys" / f"{role}.pem").read_bytes(), None)
        )

    def photo_sha(self, serial_: str, channel: str = CHANNEL) -> str:
        """The hash of the photo of the entry with serial ``serial_`` in the current playlist."""
        [record] = [r for r in self.playlist(channel).records if r.entry_id == entry_id(serial_)]
        assert record.photo is not None
        return record.photo.sha256


def forge_playlist(playlist: Playlist, *, add: str = "X9", name: str = "王伪造") -> bytes:
    """``playlist`` with one more person, as an attacker would want it shown."""
    extra = dataclasses.replace(
        playlist.records[0],
        entry_id=add,
        debtor=dataclasses.replace(playlist.records[0].debtor, name=name),
        photo=None,
    )
    return encode_playlist(
        dataclasses.replace(playlist, version=playlist.version + 1, records=(*playlist.records, extra))
    )


class Clock:
    """The screen's local clock: it says what a test sets, and can be reset like a bus PC's."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@dataclasses.dataclass
class Screen:
    """A screen under test: its sync, its clock, its state log and its cache folder."""

    sync: ScreenSync
    clock: Clock
    fetcher: HttpFetcher
    cache_dir: Path
    log: StateLog

    def poll(self, *, full: bool = True) -> SyncResult:
        """One sync, logged through the screen's :class:`StateLog` as the player would."""
        result = self.sync.sync_once(full=full)
        self.log.record(result)
        return result

    def current(self) -> DisplaySet:
        """What may be shown at the screen's clock."""
        return self.sync.current(self.clock())

    def shown(self) -> list[str]:
        """The serials (``A1``) of the entries displayable now."""
        return [serial(record.entry_id) for record in self.current().records]


ScreenFactory = Callable[..., Screen]


@pytest.fixture(name="operator")
def operator_fixture(tmp_path: Path) -> Operator:
    """A repository with channel ``c1`` published once (A1, A2 with photos), signed at the real time."""
    now = real_now()
    photos = tmp_path / "photos"
    photos.mkdir()
    for name, colour in COLOURS.items():
        Image.new("RGB", (48, 64), colour).save(photos / name, format="JPEG")
    directory = tmp_path / "DIR"
    operator = Operator(directory, OperatorRepository.init(directory, now=now), photos, now)
    operator.publish(FIRST_ROWS)
    return operator


@pytest.fixture(name="hub")
def hub_fixture(
    fault_server: FaultServer, operator: Operator, monkeypatch: pytest.MonkeyPatch
) -> FaultServer:
    """The fault server serving ``DIR/public``, as the hub does."""
    # Headers and body go out in two writes; with Nagle's algorithm on, each answer then waits ~40 ms
    # for the client's delayed ACK. waitress sends without that delay, and so should the test server.
    monkeypatch.setattr(_Handler, "disable_nagle_algorithm", True)
    fault_server.serve_dir(operator.public)
    return fault_server


@pytest.fixture(name="make_screen")
def make_screen_fixture(hub: FaultServer, operator: Operator, tmp_path: Path) -> Iterator[ScreenFactory]:
    """Build screens of ``c1`` on the hub; their HTTP sessions are closed after the test."""
    sessions: list[requests.Session] = []

    def make(
        *,
        cache_dir: Path | None = None,
        channel: str = CHANNEL,
        name: str = "t1",
        clock: Clock | None = None,
        # Room for a healthy answer from this process's server on a loaded machine (they take
        # milliseconds); a fault that must hit them stays silent or trickles for far longer.
        read_timeout: float = 2.0,
        deadline: float = 5.0,
        sharded: bool = True,
    ) -> Screen:
        session = requests.Session()
        # A proxy from the environment must not see requests meant for 127.0.0.1.
        session.trust_env = False
        sessions.append(session)
        fetcher = HttpFetcher(session, read_timeout=read_timeout, deadline=deadline)
        clock = clock or Clock(operator.now)
        cache_dir = cache_dir or tmp_path / f"cache-{name}"
        config = PlayerConfig(
            screen_id=name,
            hub_url=hub.url,
            channel=channel,
            root=operator.metadata / "1.root.json",
            cache_dir=cache_dir,
        )
        sync = ScreenSync(config, fetcher=fetcher, clock=clock, sharded=sharded)
        return Screen(sync, clock, fetcher, cache_dir, StateLog(logging.getLogger(f"tests.screen.{name}")))

    yield make
    for session in sessions:
        session.close()


@pytest.fixture(name="screen")
def screen_fixture(make_screen: ScreenFactory, hub: FaultServer) -> Screen:
    """A screen that has synced the first publish: A1 and A2 on show."""
    screen = make_screen()
    result = screen.poll()
    assert result.state is SyncState.UPDATED, result
    assert screen.shown() == ["A1", "A2"]
    hub.wait_idle()
    return screen


@pytest.fixture(name="old_screen")
def old_screen_fixture(make_screen: ScreenFactory, hub: FaultServer) -> Screen:
    """A screen reading only the single-file playlist, as screens did before the sharded form, that has
    synced the first publish: the attacks on that path must still fail while the hub publishes it."""
    screen = make_screen(name="old", sharded=False)
    result = screen.poll()
    assert result.state is SyncState.UPDATED, result
    assert screen.shown() == ["A1", "A2"]
    hub.wait_idle()
    return screen


def requested(server: FaultServer, since: int = 0) -> list[str]:
    """Paths requested from ``server`` since request number ``since`` (after it went idle)."""
    server.wait_idle()
    return [request.path for request in server.requests[since:]]


def mark(server: FaultServer) -> int:
    """The number of requests so far, to count the next poll's from."""
    server.wait_idle()
    return len(server.requests)


@dataclasses.dataclass
class Mount:
    """A small filesystem of its own, for disk-full and read-only tests."""

    path: Path

    def remount(self, options: str) -> None:
        """Change the mount's options (``ro``, ``rw``)."""
        subprocess.run(["mount", "-o", f"remount,{options}", str(self.path)], check=True, capture_output=True)


@pytest.fixture(name="tiny_tmpfs")
def tiny_tmpfs_fixture(tmp_path: Path) -> Iterator[Mount]:
    """A 256 KiB tmpfs (a set of a few dozen small files: header, shards, bins, photos, 4 KiB each on tmpfs),
    unmounted after the test; skipped where mounting is not permitted."""
    path = tmp_path / "tmpfs"
    path.mkdir()
    try:
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=256k,mode=0755", "tmpfs", str(path)],
            check=True,
            capture_output=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError) as error:
        pytest.skip(f"cannot mount a tmpfs here (needs root and CAP_SYS_ADMIN): {error}")
    try:
        yield Mount(path)
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False, capture_output=True, timeout=10)


def sign_timestamp(
    operator: Operator,
    signer: CryptoSigner,
    *,
    snapshot_version: int | None = None,
    expires: dt.datetime | None = None,
) -> bytes:
    """A timestamp one version past the served one, signed by ``signer`` (trusted or not)."""
    current = operator.repo.timestamp().signed
    timestamp = Metadata(
        Timestamp(
            version=current.version + 1,
            expires=expires or operator.now + dt.timedelta(hours=12),
            snapshot_meta=MetaFile(version=snapshot_version or current.snapshot_meta.version),
        )
    )
    timestamp.sign(signer)
    return timestamp.to_bytes(JSONSerializer(compact=True))


def refused(
    screen: Screen,
    caplog: pytest.LogCaptureFixture,
    *,
    state: SyncState,
    says: str,
    full: bool = True,
) -> SyncResult:
    """Poll once and check the poll failed as ``state`` with one log line, the old set still showing."""
    before = screen.current()
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        result = screen.poll(full=full)
    assert result.state is state, result
    assert says in result.en, result.en
    lines = [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING]
    assert lines == [f"sync {state}: {result.en}"]
    after = screen.current()
    assert after.playlist_version == before.playlist_version
    assert after.records == before.records
    assert after.verified_until == before.verified_until and after.fresh
    assert result.playlist_version == before.playlist_version
    return result
