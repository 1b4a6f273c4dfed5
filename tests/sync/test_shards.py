"""The sharded playlist end to end: what a one-row change downloads, the move from the single file, and the
attacks on shards, headers and hashed bins (each refused, the old set playing on)."""

from __future__ import annotations

import json

import pytest
from tuf.api.metadata import Metadata, Targets
from tuf.api.serialization.json import JSONSerializer

from signage.core.playlist import decode_header, encode_header
from signage.operator.publish.channel import ChannelSettings, current_playlist
from signage.operator.publish.repo import BIN_PREFIX, header_path, playlist_path, shard_path
from signage.operator.publish.sharded import read_header
from signage.sync.cache import SHARDED, SINGLE, ContentCache
from signage.sync.client import SyncState
from tests.sync.conftest import Fault
from tests.sync.fixtures import (  # noqa: F401 (the *_fixture names are fixtures)
    CHANNEL,
    SETTINGS,
    entry_id,
    hub_fixture,
    make_screen_fixture,
    mark,
    operator_fixture,
    refused,
    requested,
    row,
)

COMPACT = JSONSerializer(compact=True)
#: Enough rows for four shards (160 records a shard before the count doubles).
MANY = [row(number) for number in range(1, 400)]
SHARDS = 4


@pytest.fixture(name="many")
def many_fixture(operator, hub, make_screen):
    """c1 published with 399 rows in four shards, and a sharded screen that has synced them."""
    operator.publish(MANY)
    header = read_header(operator.repo, CHANNEL)
    assert header is not None and len(header.shards) == SHARDS and all(header.shards)
    screen = make_screen()
    assert screen.poll().state is SyncState.UPDATED
    assert len(screen.current().records) == len(MANY)
    hub.wait_idle()
    return screen


def shard_url(operator, index: int) -> str:
    header = read_header(operator.repo, CHANNEL)
    assert header is not None
    ref = header.shards[index]
    assert ref is not None
    return f"/targets/channels/{CHANNEL}/shards/{ref.sha256}.{index:04d}.json"


def changed_one_row() -> list[dict[str, str]]:
    """The list with one record's amount changed."""
    return [row(1, 执行标的="2,000.00"), *MANY[1:]]


def test_a_one_row_change_downloads_the_header_one_shard_and_its_bin(operator, hub, many):
    operator.publish(changed_one_row())
    since = mark(hub)
    result = many.poll()
    assert result.state is SyncState.UPDATED
    paths = requested(hub, since)
    shards = [path for path in paths if "/shards/" in path]
    bins = [path for path in paths if f".{BIN_PREFIX}-" in path]
    assert shards == [shard_url(operator, _shard_of_row_1(operator))]
    assert len(bins) == 1
    assert [path for path in paths if path.endswith(".header.json")]
    assert not [path for path in paths if path.endswith(".playlist.json")]
    assert len(paths) == 8, paths  # timestamp, snapshot, targets, revocations, header, bin, shard, next root
    [record] = [r for r in many.current().records if r.entry_id == entry_id("A1")]
    assert str(record.amount) == "2000.00"
    assert len(many.current().records) == len(MANY)
    state = ContentCache(many.cache_dir).load_state(CHANNEL)
    assert state.layout == SHARDED and state.playlist is not None and state.playlist.version == 3


def _shard_of_row_1(operator) -> int:
    from signage.core.playlist import shard_of

    return shard_of(entry_id("A1"), SHARDS)


def test_an_old_cache_moves_over_without_interrupting_the_content(operator, hub, make_screen):
    operator.publish(MANY)
    old = make_screen(name="moving", sharded=False)
    assert old.poll().state is SyncState.UPDATED
    cache = ContentCache(old.cache_dir)
    assert cache.load_state(CHANNEL).layout == SINGLE
    # A pointer written before the sharded form has no layout field: it still loads, as single.
    pointer = old.cache_dir / "current.json"
    document = json.loads(pointer.read_bytes())
    del document["layout"]
    pointer.write_bytes(json.dumps(document).encode())
    assert cache.load_state(CHANNEL).playlist is not None
    # The upgraded screen: the move breaks off at a shard; the single file keeps playing, still fresh.
    new = make_screen(name="moving", cache_dir=old.cache_dir)
    before = new.current()
    assert len(before.records) == len(MANY)
    hub.set_fault(shard_url(operator, 2), Fault(status=404))
    assert new.poll().state is SyncState.OFFLINE
    assert cache.load_state(CHANNEL).layout == SINGLE
    assert new.current().records == before.records
    # A takedown meanwhile applies at once, on the single file.
    operator.revoke("A7")
    assert new.poll(full=False).state is SyncState.UPDATED
    assert entry_id("A7") not in {record.entry_id for record in new.current().records}
    hub.clear_faults()
    assert new.poll().state is SyncState.UPDATED
    state = cache.load_state(CHANNEL)
    assert state.layout == SHARDED and entry_id("A7") in state.revoked
    shown = {record.entry_id for record in new.current().records}
    assert len(shown) == len(MANY) - 1 and entry_id("A7") not in shown
    # The old-style screen still syncs from the same repository, single file and takedown alike.
    assert old.poll().state is SyncState.UPDATED
    assert entry_id("A7") not in {record.entry_id for record in old.current().records}


def test_with_the_single_file_turned_off_only_sharded_screens_play(operator, hub, make_screen):
    old = make_screen(name="old", sharded=False)
    new = make_screen(name="new")
    assert old.poll().ok and new.poll().ok
    off = ChannelSettings(notices=SETTINGS.notices, legacy_playlist=False)
    operator.publish([*MANY[:3]], settings=off)
    assert operator.repo.target_info(playlist_path(CHANNEL)) is None
    assert new.poll().state is SyncState.UPDATED
    assert len(new.current().records) == 3
    # The operator's tools read the sharded form.
    playlist = current_playlist(operator.repo, CHANNEL)
    assert playlist is not None and len(playlist.records) == 3
    operator.revoke("A2")
    assert new.poll().ok
    assert entry_id("A2") not in {record.entry_id for record in new.current().records}
    # A screen that never moved over finds no playlist rather than an old one: it shows no debtor.
    old.poll()
    assert old.current().records == ()


# --- attacks -----------------------------------------------------------------------------------------


def test_a_tampered_shard_is_refused(operator, hub, many, caplog):
    operator.publish(changed_one_row())
    path = operator.public / shard_url(operator, _shard_of_row_1(operator)).lstrip("/")
    path.write_bytes(path.read_bytes().replace("林小雨".encode(), "林小云".encode(), 1))
    refused(many, caplog, state=SyncState.REFUSED, says="length or hash mismatch")


def test_a_shard_swapped_for_another_is_refused(operator, hub, many, caplog):
    operator.publish(changed_one_row())
    index = _shard_of_row_1(operator)
    other = (index + 1) % SHARDS
    body = (operator.public / shard_url(operator, other).lstrip("/")).read_bytes()
    hub.set_fault(shard_url(operator, index), Fault(body=body))
    refused(many, caplog, state=SyncState.REFUSED, says="length or hash mismatch")


def test_a_shard_signed_in_another_shards_place_is_refused(operator, hub, many, caplog):
    # A stolen targets key (or a broken tool) signs shard 1's records as shard 0, header and bin alike.
    header = read_header(operator.repo, CHANNEL)
    assert header is not None
    data = [operator.repo.read_target(shard_path(CHANNEL, index)) for index in range(SHARDS)]
    swapped = [data[1], data[0], *data[2:]]
    forged = header.playlist.__class__(**{**header.playlist.__dict__, "version": header.playlist.version + 1})
    files = {shard_path(CHANNEL, index): part for index, part in enumerate(swapped) if part is not None}
    files[header_path(CHANNEL)] = encode_header(forged, swapped)
    decode_header(files[header_path(CHANNEL)], channel=CHANNEL)
    with operator.repo.locked():
        operator.repo.put_targets(files, now=operator.now)
    refused(many, caplog, state=SyncState.REFUSED, says="not 0 of 4")


def test_a_bin_naming_another_shard_than_the_header_is_refused(operator, hub, many, caplog):
    operator.publish(changed_one_row())
    index = _shard_of_row_1(operator)
    other = operator.repo.read_target(shard_path(CHANNEL, (index + 1) % SHARDS))
    assert other is not None
    with operator.repo.locked():
        operator.repo.put_targets({shard_path(CHANNEL, index): other}, now=operator.now)
    refused(many, caplog, state=SyncState.REFUSED, says="not the one the playlist header names")


def test_an_older_bin_at_the_new_bins_path_is_refused(operator, hub, many, caplog):
    roles = operator.repo.targets().signed.delegations
    assert roles is not None and roles.succinct_roles is not None
    name = roles.succinct_roles.get_role_for_target(shard_path(CHANNEL, _shard_of_row_1(operator)))
    old = operator.repo.bin(name)
    operator.publish(changed_one_row())
    version = operator.repo.bin(name).signed.version
    assert version > old.signed.version
    hub.set_fault(f"/metadata/{version}.{name}.json", Fault(body=old.to_bytes(COMPACT)))
    refused(many, caplog, state=SyncState.REFUSED, says="rollback to an older version")


def test_an_older_header_re_signed_is_refused(operator, hub, many, caplog):
    first = operator.repo.read_target(header_path(CHANNEL))
    assert first is not None
    operator.publish(changed_one_row())
    assert many.poll().state is SyncState.UPDATED
    with operator.repo.locked():
        operator.repo.put_targets({header_path(CHANNEL): first}, now=operator.now)
    refused(many, caplog, state=SyncState.REFUSED, says="older than the playing 3")


@pytest.mark.parametrize("what", ["header", "shard", "bin"])
def test_endless_sharded_downloads_are_cut_off(operator, hub, many, caplog, what):
    operator.publish(changed_one_row())
    index = _shard_of_row_1(operator)
    roles = operator.repo.targets().signed.delegations
    assert roles is not None and roles.succinct_roles is not None
    name = roles.succinct_roles.get_role_for_target(shard_path(CHANNEL, index))
    info = operator.repo.target_info(header_path(CHANNEL))
    assert info is not None
    limits = {
        "header": (f"/targets/channels/{CHANNEL}/{info.hashes['sha256']}.header.json", info.length),
        "shard": (shard_url(operator, index), read_header(operator.repo, CHANNEL).shards[index].length),
        "bin": (
            f"/metadata/{operator.repo.bin(name).signed.version}.{name}.json",
            operator.repo.snapshot().signed.meta[f"{name}.json"].length,
        ),
    }
    path, limit = limits[what]
    hub.set_fault(path, Fault(endless=True))
    since = mark(hub)
    result = refused(many, caplog, state=SyncState.OFFLINE, says="length limit")
    whole = sum(r.bytes_sent for r in hub.requests[since:] if r.path != path and 200 <= r.status < 300)
    assert limit < result.bytes_received - whole <= limit + many.fetcher.chunk_size


def test_bin_metadata_is_written_once_per_change(operator, hub, many):
    roles = operator.repo.targets().signed.delegations
    assert roles is not None and roles.succinct_roles is not None
    before = {name: operator.repo.bin(name).signed.version for name in roles.succinct_roles.get_roles()}
    operator.publish(changed_one_row())
    after = {name: operator.repo.bin(name).signed.version for name in roles.succinct_roles.get_roles()}
    assert [name for name in before if before[name] != after[name]] == [
        roles.succinct_roles.get_role_for_target(shard_path(CHANNEL, _shard_of_row_1(operator)))
    ]
    stored = Metadata[Targets].from_file(
        str(operator.metadata / f"{after[next(iter(after))]}.{next(iter(after))}.json")
    )
    assert stored.signed.expires > operator.repo.targets().signed.expires
