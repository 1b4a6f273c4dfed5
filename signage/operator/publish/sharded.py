"""A channel's live playlist in the repository, in its two forms: reading it, and the files of the next.

The sharded form (``signage.core.playlist``: a header in the top-level targets, shards in the hashed bins of
``signage.operator.publish.repo``) is what screens prefer; the single file ``channels/<ID>/playlist.json`` is kept
beside it while the channel's ``legacy_playlist`` setting is on, for screens not yet moved over. Code
reading the live list (find, revoke, diff, the console, the hub) goes through :func:`read_playlist`, so it
works with either form and with the single file turned off.
"""

from __future__ import annotations

import json

from tuf.api.metadata import TargetFile

from signage.core.playlist import (
    Playlist,
    PlaylistHeader,
    ShardRef,
    decode_header,
    decode_playlist,
    encode_header,
    encode_playlist,
    encode_shards,
    shard_count,
)
from signage.operator.publish.repo import OperatorRepository, header_path, playlist_path, shard_path


def live_info(repository: OperatorRepository, channel: str) -> TargetFile | None:
    """The signed entry of the channel's live playlist: its header, else its single file, else ``None``.

    Its SHA-256 identifies the whole list (the header names every shard by hash).
    """
    targets = repository.targets().signed.targets
    return targets.get(header_path(channel)) or targets.get(playlist_path(channel))


def live_version(repository: OperatorRepository, channel: str) -> int:
    """The live playlist's version, or 0 when the channel was never published."""
    for path in (header_path(channel), playlist_path(channel)):
        data = repository.read_target(path)
        if data is not None:
            return int(json.loads(data)["version"])
    return 0


def read_header(repository: OperatorRepository, channel: str) -> PlaylistHeader | None:
    """The channel's live header, or ``None`` when it was never published sharded."""
    data = repository.read_target(header_path(channel))
    return None if data is None else decode_header(data, channel=channel)


def read_playlist(repository: OperatorRepository, channel: str) -> Playlist | None:
    """The channel's live playlist, decoded from its header and shards, else from its single file."""
    header = read_header(repository, channel)
    if header is None:
        data = repository.read_target(playlist_path(channel))
        return None if data is None else decode_playlist(data, channel=channel)

    def shard(index: int, ref: ShardRef) -> bytes:
        path = shard_path(channel, index)
        return repository.target_file(path, TargetFile(ref.length, {"sha256": ref.sha256}, path)).read_bytes()

    return header.read(channel, shard)


def playlist_files(
    repository: OperatorRepository, playlist: Playlist, *, legacy: bool
) -> tuple[dict[str, bytes], list[str]]:
    """The target files publishing ``playlist`` writes, and the target paths it delists.

    The header and every non-empty shard; the single file too when ``legacy``, else it is delisted (a
    screen still on it then finds no playlist rather than an old one). The shard count follows the list's
    size but sticks to the live one while it fits (:func:`~signage.core.playlist.shard_count`); shards left
    empty or beyond a new count are delisted.
    """
    previous = read_header(repository, playlist.channel)
    count = shard_count(len(playlist.records), None if previous is None else len(previous.shards))
    shards = encode_shards(playlist, count)
    files = {header_path(playlist.channel): encode_header(playlist, shards)}
    remove: list[str] = []
    for index, data in enumerate(shards):
        if data is not None:
            files[shard_path(playlist.channel, index)] = data
    if previous is not None:
        remove += [
            shard_path(playlist.channel, index)
            for index, ref in enumerate(previous.shards)
            if ref is not None and (index >= count or shards[index] is None)
        ]
    if legacy:
        files[playlist_path(playlist.channel)] = encode_playlist(playlist)
    else:
        remove.append(playlist_path(playlist.channel))
    return files, remove
