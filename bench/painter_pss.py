"""Painter PSS at a large record count, without publishing: a quick check of issue 15's 120 MiB target.

``python -m bench.painter_pss --records 35000`` publishes the fictional sample channel (as
:func:`bench.player.prepare` does), syncs a screen cache from a real Hub once, then grows the cached set to
``--records`` entries by repeating the sample's records under new entry ids (their photos are the sample's,
already in the cache), switches the cache to that set (building the compact index as the sync service
does, :mod:`signage.sync.index`), and runs the painter (:mod:`bench.player`'s instrumented child) on its
own Xvfb 1920x1080, sampling its PSS every second for ``--seconds`` after the first debtor slide; the
figure is the median sample, for the large set and for the sample channel alternately, ``--rounds`` runs.

This skips the 35,000-row import and photo publishing of :mod:`bench.scale` (many minutes on two cores);
the painter reads the same cache either way, so the PSS it measures is the same quantity.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
from dataclasses import replace
from pathlib import Path

from bench import player as bench_player
from bench import scale

OUT = Path(__file__).resolve().parent / "out" / "painter-pss"


def grow(sample_config: Path, work: Path, records: int) -> Path:
    """A copy of the sample screen's folder whose cached set holds ``records`` entries; its config path."""
    from signage.core.playlist import encode_playlist
    from signage.sync.cache import SINGLE, ContentCache, ObjectRef, read_playlist
    from signage.sync.config import load_player_config

    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(sample_config.parent, work)
    config_path = work / sample_config.name
    text = config_path.read_text().replace(str(sample_config.parent), str(work))
    config_path.write_text(text)
    config = load_player_config(config_path)
    cache = ContentCache(config.cache_dir)
    state = cache.load_state(config.channel)
    read = read_playlist(cache, state.playlist, state.layout, config.channel)
    assert read is not None
    playlist = read[0]
    base = playlist.records
    grown = tuple(
        replace(base[i % len(base)], entry_id=f"{base[i % len(base)].entry_id[:40]}-x{i}")
        for i in range(records)
    )
    playlist = replace(playlist, records=grown, version=playlist.version + 1)
    data = encode_playlist(playlist)
    import hashlib

    ref = ObjectRef(hashlib.sha256(data).hexdigest(), len(data), playlist.version)
    cache.put(data, ref)
    now = dt.datetime.now(dt.UTC)
    state = state.with_changes(playlist=ref, layout=SINGLE, verified_until=now + dt.timedelta(days=30))
    try:
        from signage.sync.index import with_index  # type: ignore[attr-defined,unused-ignore]
    except ImportError:  # before the compact index: the painter decodes the playlist
        pass
    else:
        state = with_index(cache, state, playlist)
    cache.switch(state)
    return config_path


def main(argv: list[str] | None = None) -> int:
    """Run the measure and print the medians."""
    parser = argparse.ArgumentParser(prog="python -m bench.painter_pss", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--records", type=int, default=35_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--work", type=Path, default=OUT)
    arguments = parser.parse_args(argv)
    work: Path = arguments.work.resolve()
    sample = bench_player.prepare(work / "sample")
    large = grow(sample, work / "large", arguments.records)
    configs = {f"{arguments.records:,} records": large, "sample": sample}
    runs = scale.measure_players(configs, arguments.seconds, arguments.rounds)
    for label, measured in runs.items():
        steady = statistics.median(run.steady for run in measured) / 2**20
        peak = max(max(run.samples) for run in measured) / 2**20
        print(
            f"{label}: painter steady PSS {steady:.1f} MiB (max sample {peak:.1f} MiB), {len(measured)} runs"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
