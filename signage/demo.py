"""``signage demo``: the whole distribution on one machine, with the fictional sample channel.

It creates a fresh repository in a temporary folder, publishes the sample, serves it with the hub on
127.0.0.1, syncs a screen's cache from it, takes one entry down and syncs again, printing each step. The
hub also serves the operator console; the demo creates a clerk (``demo-clerk``) and a reviewer
(``demo-reviewer``) with fresh passwords and prints them with the console's address. Then it starts the
player against that hub: in a window on a desktop, or, with no display, fullscreen under Xvfb with a
screenshot every few slides in ``demo-out/``, with the screen's sync service beside it (on a thread here; its
own process on a screen). What the two accounts publish to the sample channel reaches
the player within about a minute; the hub stays up until the player stops. Ctrl-C stops everything cleanly.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import secrets
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TextIO

from signage.core.playlist import local_time_text
from signage.core.records import DebtorRecord
from signage.operator.hub.screens.ingest import hash_token, new_token
from signage.operator.hub.serve import make_hub
from signage.operator.publish.channel import ChannelSettings, publish_channel, revoke_entries
from signage.operator.publish.repo import OperatorRepository
from signage.sync.client import ScreenSync
from signage.sync.config import PlayerConfig
from signage.sync.fetcher import HttpFetcher

CHANNEL = "sample"
SCREEN_ID = "demo-screen"
#: The console's demo accounts: a clerk uploads and submits, the reviewer approves (four eyes).
DEMO_ACCOUNTS = (("demo-clerk", "clerk"), ("demo-reviewer", "reviewer"))


def _fleet_summary(repo: Path, out: TextIO) -> None:
    """What the operator sees afterwards: the fleet line and the exposure counts from proof of play."""
    from signage.operator.hub.screens import records

    heartbeats = records.latest_heartbeats()
    rows = records.exposure(dt.date(2000, 1, 1), dt.date(2100, 1, 1))
    plays = sum(row.plays for row in rows)
    print(
        f"   the hub received {len(heartbeats)} screen heartbeat(s) and {plays} plays "
        f"(signage fleet / signage report --repo {repo})",
        file=out,
    )


@dataclass(frozen=True)
class PlayOptions:
    """How the demo runs the player after the distribution steps.

    Attributes:
        shots: Where screenshots go when there is no display.
        duration: Stop after this many seconds (``None``: until Ctrl-C).
        size: Xvfb's screen size, or the window's on a desktop.
    """

    shots: Path
    duration: float | None = None
    size: tuple[int, int] = (1920, 1080)


def run_demo(
    sample: Path,
    out: TextIO,
    *,
    clock: Callable[[], dt.datetime],
    keep: Path | None = None,
    play: PlayOptions | None = None,
) -> bool:
    """Run the demo; returns whether every step worked. ``keep`` names a folder to leave the files in."""
    with tempfile.TemporaryDirectory(prefix="signage-demo-") as scratch:
        folder = keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        return _run(sample, folder, out, clock, play)


def _run(
    sample: Path, folder: Path, out: TextIO, clock: Callable[[], dt.datetime], play: PlayOptions | None
) -> bool:
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

    # One Django hub per process, set up for this repository (its database is beside it).
    hub = make_hub(repository.directory, clock=lambda: dt.datetime.now(dt.UTC), refresh=refresh, port=0)
    # The hub also takes the screens' heartbeats and proof of play; the demo screen gets a token.
    from signage.operator.hub.screens import records

    token = new_token()
    records.add_screen(
        SCREEN_ID, hash_token(token), added_at=clock(), name="示例屏幕 SAMPLE", location="演示"
    )
    (folder / "screen.token").write_text(token + "\n", encoding="utf-8")
    (folder / "screen.token").chmod(0o600)
    hub.start()
    try:
        step("3. 集线器已启动", f"3. the hub serves it on http://127.0.0.1:{hub.port}/")
        console = _console_accounts(f"http://127.0.0.1:{hub.port}/", clock, out)
        config = PlayerConfig(
            screen_id=SCREEN_ID,
            hub_url=f"http://127.0.0.1:{hub.port}/",
            channel=CHANNEL,
            root=repository.metadata_dir / "1.root.json",
            cache_dir=folder / "screen-cache",
            token_file=folder / "screen.token",
            heartbeat_seconds=10.0,
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
                f"   displayable now: {len(shown.records)} entries, fresh until "
                f"{'-' if shown.verified_until is None else local_time_text(shown.verified_until)}",
                file=out,
            )
            # The sync side's sets hold full records (only the painter's hold compact handles).
            listed = [record for record in shown.records if isinstance(record, DebtorRecord)]
            for record in listed[:5]:
                print(f"     {record.debtor.name}  {record.case_number}", file=out)
            if not listed:
                return False
            victim = listed[0]
            label = f"{victim.debtor.name} {victim.case_number}"
            step(f"5. 撤回 {label}（如已履行）", f"5. take {label} down (say, it was paid)")
            revoke_entries(
                repository,
                CHANNEL,
                [victim.case_number],
                reason="已履行 / paid (demo)",
                now=clock(),
                by="demo",
            )
            second = screen.sync_once(full=False)
            after = screen.current(clock())
            gone = all(record.entry_id != victim.entry_id for record in after.records)
            print(
                f"   {second.state}: {second.bytes_received:,} bytes; {label} "
                f"{'no longer shown' if gone else 'STILL SHOWN'}; {len(after.records)} entries displayable",
                file=out,
            )
        if play is not None:
            step("6. 启动播放器", "6. the player shows the channel (Ctrl-C stops the demo)")
            print(f"   {console}", file=out, flush=True)
            played = _play(config, play, out)
        else:
            played = True
        if play is not None:
            _fleet_summary(repository.directory, out)
    finally:
        hub.stop()
    step("完成", "done")
    return first.ok and second.ok and gone and played


def _console_accounts(url: str, clock: Callable[[], dt.datetime], out: TextIO) -> str:
    """Create the demo's clerk and reviewer with fresh passwords, print them and the console's address.

    Returns a one-line reminder of the address and the accounts, printed again when the player starts.
    """
    from signage.operator.hub.accounts import create_account
    from signage.operator.hub.console.roles import Role

    accounts = [(name, role, secrets.token_urlsafe(12)) for name, role in DEMO_ACCOUNTS]
    for name, role, password in accounts:
        create_account(name, role, password, at=clock(), actor="signage demo")
    print(
        f"   操作台 / operator console: {url}\n"
        + "".join(
            f"     {Role(role).label:<17} {name:<13}  {password}\n" for name, role, password in accounts
        )
        + f"   书记员上传名单到频道“{CHANNEL}”并提交，审核员批准后，播放器约一分钟内显示新名单。\n"
        f"   Log in as {accounts[0][0]}, upload a list to the channel '{CHANNEL}' and submit it; log in as "
        f"{accounts[1][0]} and approve it: the player shows it within about a minute.",
        file=out,
        flush=True,
    )
    return "; ".join([f"console {url}", *(f"{name} / {password}" for name, _role, password in accounts)])


def _play(config: PlayerConfig, play: PlayOptions, out: TextIO) -> bool:
    config = replace(
        config, dwell_seconds=4.0, transition_seconds=1.0, revocation_poll_seconds=10.0, sync_minutes=1.0
    )
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        print(
            f"   a {play.size[0]}x{play.size[1]} window opens on this desktop; close it or press Ctrl-C",
            file=out,
        )
        return _run_player(config, play, windowed=play.size, shots=None)
    with xvfb(play.size) as display:
        print(
            f"   no display: playing fullscreen on a virtual screen (Xvfb {display}); a screenshot every few slides "
            f"goes to {play.shots.resolve()}",
            file=out,
            flush=True,
        )
        ok = _run_player(config, play, windowed=None, shots=play.shots)
    taken = sorted(play.shots.glob("slide-*.png"))
    print(f"   {len(taken)} screenshots in {play.shots.resolve()}", file=out)
    return ok and bool(taken)


def _run_player(
    config: PlayerConfig, play: PlayOptions, *, windowed: tuple[int, int] | None, shots: Path | None
) -> bool:
    # Imported here: the demo's distribution steps need no Qt, and PyQt6 lives in signage.kiosk alone.
    from signage.kiosk.app import run_demo_player

    with sync_service(config):
        return run_demo_player(config, windowed=windowed, shots=shots, duration=play.duration) == 0


@contextlib.contextmanager
def sync_service(config: PlayerConfig) -> Iterator[None]:
    """The screen's sync service (signage/sync/service.py) beside the painter while the demo plays.

    On a screen it is its own process (``signage-sync.service``); here it runs on a thread of the demo's
    process, which has the hub's and the publisher's libraries loaded anyway. The painter only watches the
    cache, exactly as on a screen.
    """
    import threading

    from signage.sync.service import PAINTER_STATE_EVERY, SyncService
    from signage.sync.telemetry.painter import stale_after
    from signage.sync.telemetry.reporter import Reporter

    def now() -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    fetcher = HttpFetcher(user_agent="signage-demo")
    service = SyncService(
        config,
        screen=ScreenSync(config, fetcher=fetcher, clock=now),
        reporter=Reporter(config, clock=now, stale_after=stale_after(PAINTER_STATE_EVERY)),
        progress=lambda: fetcher.bytes_received,
        notify=lambda _message: False,
    )
    thread = threading.Thread(target=service.run, name="sync-service", daemon=True)
    thread.start()
    try:
        yield
    finally:
        service.stop()
        thread.join(timeout=30)
        fetcher.close()


@contextlib.contextmanager
def xvfb(size: tuple[int, int]) -> Iterator[str]:
    """A virtual X server for as long as the block runs; ``DISPLAY`` points at it meanwhile."""
    read, write = os.pipe()
    process = subprocess.Popen(
        # No GLX: the player paints with QPainter (raster) and never needs OpenGL, and a GLX-enabled X server
        # maps Mesa's libLLVM (about 50 MiB of PSS on Debian 12). The screens' Xorg runs without GLX too.
        [
            "Xvfb",
            "-displayfd",
            str(write),
            "-screen",
            "0",
            f"{size[0]}x{size[1]}x24",
            "-nolisten",
            "tcp",
            "-extension",
            "GLX",
        ],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        # Its own session: Ctrl-C in the terminal reaches the demo, which then stops the player and this
        # server in order, instead of the X server dying under a player still drawing on it.
        start_new_session=True,
    )
    os.close(write)
    try:
        with os.fdopen(read) as pipe:
            number = pipe.readline().strip()
        if not number:
            raise RuntimeError("Xvfb did not start (is the xvfb package installed? make test installs it)")
        display = f":{number}"
        previous = os.environ.get("DISPLAY")
        os.environ["DISPLAY"] = display
        try:
            yield display
        finally:
            if previous is None:
                os.environ.pop("DISPLAY", None)
            else:
                os.environ["DISPLAY"] = previous
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
