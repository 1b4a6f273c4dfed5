"""``signage demo``: the whole distribution on one machine, with the fictional sample channel.

It creates a fresh repository in a temporary folder, publishes the sample, serves it with the hub on
127.0.0.1, syncs a screen's cache from it, takes one entry down and syncs again, printing each step.
The fullscreen player that shows the slides arrives in the next release; until then the demo ends with
what a screen *would* show (``signage status``).
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from signage.config import PlayerConfig
from signage.hub.files import make_app
from signage.hub.server import Hub
from signage.publish.channel import ChannelSettings, publish_channel, revoke_entries
from signage.publish.repo import OperatorRepository
from signage.sync.client import ScreenSync
from signage.sync.fetcher import HttpFetcher

CHANNEL = "sample"


def run_demo(
    sample: Path, out: TextIO, *, clock: Callable[[], dt.datetime], keep: Path | None = None
) -> bool:
    """Run the demo; returns whether every step worked. ``keep`` names a folder to leave the files in."""
    with tempfile.TemporaryDirectory(prefix="signage-demo-") as scratch:
        folder = keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        return _run(sample, folder, out, clock)


def _run(sample: Path, folder: Path, out: TextIO, clock: Callable[[], dt.datetime]) -> bool:
    def step(zh: str, en: str) -> None:
        print(f"\n== {zh} / {en}", file=out, flush=True)

    step("1. 创建发布目录与密钥", f"1. a fresh repository with its keys in {folder / 'repo'}")
    repository = OperatorRepository.init(folder / "repo", now=clock())
    step("2. 检查并发布示例名单（虚构数据）", "2. check and publish the fictional sample list")
    result = publish_channel(
        repository,
        CHANNEL,
        sample / "records.csv",
        photos=sample / "photos",
        now=clock(),
        settings=ChannelSettings(sample=True),
        allow_partial=True,
    )
    report = result.report
    print(
        f"   {len(report.records)} accepted, {len(report.refused_rows)} refused on purpose "
        f"(see `signage check {sample}`), {result.photos} photos; playlist v{result.version}",
        file=out,
    )

    def refresh() -> None:
        with repository.locked():
            repository.refresh(now=clock())

    hub = Hub(make_app(repository.public), refresh, host="127.0.0.1", port=0)
    hub.start()
    try:
        step("3. 集线器已启动", f"3. the hub serves it on http://127.0.0.1:{hub.port}/")
        config = PlayerConfig(
            screen_id="demo-screen",
            hub_url=f"http://127.0.0.1:{hub.port}/",
            channel=CHANNEL,
            root=repository.metadata_dir / "1.root.json",
            cache_dir=folder / "screen-cache",
        )
        with HttpFetcher(user_agent="signage-demo") as fetcher:
            screen = ScreenSync(config, fetcher=fetcher, clock=clock)
            step("4. 屏幕同步并验证签名", "4. a screen syncs and verifies the signatures")
            first = screen.sync_once()
            print(
                f"   {first.state}: {first.en}; {first.photos_downloaded} photos, {first.bytes_received:,} bytes",
                file=out,
            )
            shown = screen.current(clock())
            print(
                f"   displayable now: {len(shown.records)} entries, fresh until {shown.verified_until}",
                file=out,
            )
            for record in shown.records[:5]:
                print(f"     {record.entry_id}  {record.debtor.name}", file=out)
            if not shown.records:
                return False
            victim = shown.records[0]
            step("5. 撤回一条（如已履行）", f"5. take {victim.entry_id} down (say, it was paid)")
            revoke_entries(repository, CHANNEL, [victim.entry_id], reason="已履行 / paid (demo)", now=clock())
            second = screen.sync_once(full=False)
            after = screen.current(clock())
            gone = all(record.entry_id != victim.entry_id for record in after.records)
            print(
                f"   {second.state}: {second.bytes_received:,} bytes; {victim.entry_id} "
                f"{'no longer shown' if gone else 'STILL SHOWN'}; {len(after.records)} entries displayable",
                file=out,
            )
    finally:
        hub.stop()
    step(
        "完成。全屏播放器将在下一版本加入",
        "done. The fullscreen player that shows these as slides arrives in the next release",
    )
    return first.ok and second.ok and gone
