"""The current playlist and revocations versions of every channel in a repository, for the fleet view.

The ingest and the fleet logic (:mod:`signage.operator.hub.fleet`) are given these versions as a function and never
import ``publish``; this module is that function.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

from signage.operator.hub.fleet import ChannelState


class RepositoryChannels:
    """The current playlist and revocations versions of every channel in ``DIR``, for the fleet view.

    A callable, so the ingest can ask at every page view. Documents are parsed once per content hash
    (a playlist may be tens of megabytes); old revocations documents still on disk are read to tell which
    takedowns a screen behind has not applied (:class:`signage.operator.hub.fleet.ChannelState`).

    Raises:
        RepositoryError: ``DIR`` is not an initialised repository.
    """

    def __init__(self, repo_dir: Path) -> None:
        from signage.operator.publish.repo import OperatorRepository

        self._repository = OperatorRepository(repo_dir)
        self._versions: dict[str, int] = {}
        self._revocations: dict[str, tuple[int, frozenset[str]] | None] = {}
        self._lock = threading.Lock()

    def __call__(self) -> dict[str, ChannelState]:
        """Channel id -> what it publishes now."""
        from signage.operator.publish.repo import header_path, playlist_path, revocations_path

        with self._lock:
            targets = self._repository.targets().signed.targets
            names = {
                path.split("/")[1]
                for path in targets
                if path.startswith("channels/") and path.count("/") == 2
            }
            channels = {}
            for channel in sorted(names):
                # The sharded header when there is one (the single file may be turned off), else the file.
                path = header_path(channel) if header_path(channel) in targets else playlist_path(channel)
                playlist = targets.get(path)
                revocations = targets.get(revocations_path(channel))
                playlist_version = None
                if playlist is not None:
                    playlist_version = self._playlist_version(path, playlist.hashes["sha256"])
                current = 0
                sets: dict[int, frozenset[str]] = {}
                if revocations is not None:
                    folder = self._repository.targets_dir / "channels" / channel
                    for file in sorted(folder.glob("*.revocations.json")):
                        parsed = self._revocations_document(file, channel)
                        if parsed is not None:
                            sets[parsed[0]] = parsed[1]
                    name = f"{revocations.hashes['sha256']}.revocations.json"
                    current_parsed = self._revocations_document(folder / name, channel)
                    current = current_parsed[0] if current_parsed else 0
                    sets = {version: ids for version, ids in sets.items() if version <= current}
                channels[channel] = ChannelState(playlist_version, current, sets)
            return channels

    def _playlist_version(self, path: str, digest: str) -> int | None:
        if digest not in self._versions:
            data = self._repository.read_target(path)
            if data is None:
                return None
            self._versions[digest] = int(json.loads(data)["version"])
        return self._versions[digest]

    def _revocations_document(self, file: Path, channel: str) -> tuple[int, frozenset[str]] | None:
        """Version and entry ids of a revocations file; its name is its hash, so it is read once."""
        from signage.core.errors import ContentError
        from signage.core.playlist import decode_revocations

        if file.name not in self._revocations:
            try:
                document = decode_revocations(file.read_bytes(), channel=channel)
            except (OSError, ContentError):
                return None  # pruned since the listing, or not ours: it only sharpens the view
            self._revocations[file.name] = (document.version, document.entry_ids())
        return self._revocations[file.name]
