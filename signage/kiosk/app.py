"""``signage play``: the painter. Wires the cache watcher, the renderer, the rotation and the window.

Since issue 15 the painter never syncs and never opens a network connection: the sync service (``signage
sync``, signage/sync/service.py) verifies and switches the cache, and this process reads it when
``current.json`` is replaced (signage/kiosk/watcher.py). It records plays into the local play log and
writes its state for the service's heartbeat. It imports neither python-tuf, requests, cryptography,
APScheduler, python-stdnum nor Pillow (tests/test_layers.py), which keeps it small.

Everything is built here and passed in; nothing below looks anything up globally. An exception in a Qt
slot is logged and the player carries on (PyQt6 would otherwise abort the process), and SIGTERM/SIGINT
quit cleanly. The render thread reads photos from the verified cache only.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import logging
import shutil
import signal
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from PyQt6.QtCore import QSize, QTimer
from PyQt6.QtGui import QGuiApplication, QImage
from PyQt6.QtNetwork import QNetworkInterface
from PyQt6.QtWidgets import QApplication

from signage import __version__
from signage.core import pages
from signage.core.display import Entry
from signage.core.records import DebtorRecord, PhotoRef
from signage.core.rotation import DirectoryStore, Paging, QuietHours, QuietMode, Rotation, Slide, SlideKind
from signage.kiosk.bridge import RenderQueue
from signage.kiosk.fonts import Fonts, find_fonts, log_coverage, texts_of
from signage.kiosk.health import Health
from signage.kiosk.layout import LayoutKind
from signage.kiosk.page_slides import PageRenderer
from signage.kiosk.player import Player
from signage.kiosk.slides import screen_mark
from signage.kiosk.state import BackgroundStore
from signage.kiosk.telemetry import Telemetry
from signage.kiosk.watcher import CacheWatcher
from signage.kiosk.window import SlideWindow
from signage.sync import systemd
from signage.sync.cache import ContentCache, ObjectRef
from signage.sync.config import PlayerConfig

# Re-exported: `signage play` and its tests configure the log through this module.
from signage.sync.journal import LOG_FORMAT as LOG_FORMAT
from signage.sync.journal import QUIET_LOGGERS as QUIET_LOGGERS
from signage.sync.journal import configure_logging as configure_logging
from signage.sync.snapshot import ContentSnapshot, SnapshotReader
from signage.sync.telemetry.heartbeat import Display

log = logging.getLogger(__name__)

_LAYOUTS = {
    "landscape": LayoutKind.LANDSCAPE,
    "portrait": LayoutKind.PORTRAIT,
    "bar": LayoutKind.BAR,
    "four-three": LayoutKind.FOUR_THREE,
    "led": LayoutKind.LED,
}


class ScreenSource:
    """Renders rotation slides from the verified set; runs on the render thread.

    Args:
        fonts: The CJK font chain (plain data, safe to share between threads).
        screen_id: For the discreet screen/version mark.
        cache: Photos are read from here by hash (the sync verified them on the way in).
        layout: A forced layout, or ``None`` for one chosen from the size.
    """

    def __init__(self, fonts: Fonts, screen_id: str, cache: ContentCache, layout: LayoutKind | None) -> None:
        self._fonts = fonts
        self._screen_id = screen_id
        self._cache = cache
        self._layout = layout

    def render(self, slide: Slide, size: QSize, snapshot: ContentSnapshot | None) -> list[QImage]:
        """The pages of ``slide`` at ``size``."""
        playlist = None if snapshot is None else snapshot.playlist
        renderer = PageRenderer(
            self._fonts,
            mark=screen_mark(self._screen_id, None if playlist is None else playlist.version),
            sample=playlist is not None and playlist.sample,
            photos=self._photo,
            layout=self._layout,
        )
        if slide.kind is SlideKind.STANDBY or playlist is None:
            rendered = renderer.render_standby(size)
        elif slide.notice is not None:
            rendered = renderer.render_notice(slide.notice, size)
        elif slide.records:
            # The records are loaded here, on the render thread, from the compact index (issue 15).
            rendered = renderer.render_page(_resolve(snapshot, slide.records), size, _data_date(snapshot))
        elif slide.record is not None:
            (record,) = _resolve(snapshot, (slide.record,))
            rendered = renderer.render_record(record, size, _data_date(snapshot))
        else:
            rendered = renderer.render_standby(size)
        return [page.image for page in rendered.pages]

    def _photo(self, ref: PhotoRef) -> bytes | None:
        return self._cache.read(ObjectRef(ref.sha256, ref.length))


def _resolve(snapshot: ContentSnapshot | None, entries: tuple[Entry, ...]) -> tuple[DebtorRecord, ...]:
    assert snapshot is not None
    return snapshot.resolve(entries)


def _data_date(snapshot: ContentSnapshot | None) -> dt.date:
    playlist = None if snapshot is None else snapshot.playlist
    assert playlist is not None
    return (playlist.issued + playlist.utc_offset).date()


def layout_of(config: PlayerConfig, size: QSize) -> str:
    """The layout this screen's slides use (:func:`signage.core.pages.layout_for`)."""
    return pages.layout_for(size.width(), size.height(), None if config.layout == "auto" else config.layout)


def paging_for(config: PlayerConfig, size: QSize) -> Paging:
    """How many entries a page of this screen may hold (the densest legible page) and the config's choice."""
    layout = layout_of(config, size)
    return Paging(
        capacity=pages.page_capacity(layout, size.width(), size.height()),
        dwell_s=config.dwell_seconds,
        transition_s=config.transition_seconds,
        forced=config.entries_per_page or None,
    )


#: glibc's ``M_MMAP_THRESHOLD`` (malloc.h) and the value set: slide images (8 MiB at 1080p) are far above it.
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD = 1 << 20


def map_large_blocks_apart() -> bool:
    """Have glibc give every block of 1 MiB or more its own mapping, returned to the system when freed.

    By default glibc raises its mmap threshold each time a large mapped block is freed, after which slide
    images come from the render thread's heap arena, which keeps the memory once used (bench/profile.py
    found about 30 MiB in it on a 1080p screen). A fixed threshold stops that adjustment. Returns whether
    it was set (not glibc: nothing to do).
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD))


def run_player(
    config: PlayerConfig,
    *,
    windowed: tuple[int, int] | None = None,
    clock: Callable[[], dt.datetime],
    on_ready: Callable[[SlideWindow, Player], None] | None = None,
) -> int:
    """Run the player until it is told to stop; returns the process exit code.

    Args:
        config: The screen's settings.
        windowed: Play in a normal window of this size (width, height) instead of fullscreen.
        clock: The current time (aware UTC).
        on_ready: Called once the objects exist (the demo uses it to take screenshots).
    """
    log.info(
        "signage %s starting: screen %s, channel %s, hub %s",
        __version__,
        config.screen_id,
        config.channel,
        config.hub_url,
    )
    map_large_blocks_apart()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("signage")
    app.setQuitOnLastWindowClosed(True)
    _install_excepthook()
    fonts = find_fonts()
    app.setFont(fonts.font(16))

    cache = ContentCache(config.cache_dir)
    window = SlideWindow(rotation=config.rotation)
    screens = QGuiApplication.screens()
    window.place(
        screens[config.display] if config.display < len(screens) else None,
        None if windowed is None else QSize(*windowed),
    )

    queue = RenderQueue()
    source = ScreenSource(fonts, config.screen_id, cache, _LAYOUTS.get(config.layout))
    # The rotation saves its position with every decision; the writes (fsync) go to a worker thread.
    store = BackgroundStore(DirectoryStore(config.cache_dir))
    size = window.slide_size()
    display = Display(size.width(), size.height(), layout_of(config, size))
    # `signage status` plans pages for the size the slides really have, recorded here (and the heartbeat
    # reports it, so the console draws thumbnails in the shapes the fleet has).
    store.save(
        pages.PLAYER_STATE_FILE,
        pages.player_state(config.screen_id, display.width, display.height, display.layout),
    )
    rotation = Rotation(
        config.screen_id,
        resume_slot=dt.timedelta(seconds=config.dwell_seconds),
        notice_every=config.notice_every,
        quiet_hours=tuple(QuietHours(start, end) for start, end in config.quiet_hours),
        quiet_mode=QuietMode(config.quiet_mode),
        paging=paging_for(config, size),
        store=store,
    )
    player = Player(
        window,
        source,
        queue,
        rotation,
        clock=clock,
        dwell=dt.timedelta(seconds=config.dwell_seconds),
        fade=dt.timedelta(seconds=config.transition_seconds),
    )
    checked: set[int] = set()

    def check_fonts(snapshot: ContentSnapshot) -> None:
        # On the watcher's worker thread, once per playlist: every character of the set must have a glyph,
        # or the log says so loudly. Walking 35,000 records must not stall the GUI thread; from the compact
        # index they are read a batch at a time, never all at once.
        playlist = snapshot.playlist
        if playlist is not None and playlist.version not in checked:
            checked.add(playlist.version)
            records = playlist.records if snapshot.index is None else snapshot.index.all_records()
            log_coverage(fonts, texts_of(records, playlist.notices))

    watcher = CacheWatcher(SnapshotReader(cache, config.channel, clock), after_read=check_fonts)
    window.overlay_requested.connect(lambda: window.show_overlay(overlay_lines(config, player)))
    window.first_painted.connect(lambda: log.info("first slide painted"))

    # Python handles signals only when the interpreter runs; a short timer lets it do so inside Qt's loop.
    heartbeat = QTimer()
    heartbeat.start(250)
    heartbeat.timeout.connect(lambda: None)
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda *_: app.quit())

    telemetry = Telemetry(
        config,
        player,
        clock=clock,
        plan=lambda: rotation.plan,
        display=display,
        store=store,
    )

    def on_changed(snapshot: ContentSnapshot) -> None:
        player.on_changed(snapshot)
        telemetry.set_changed()

    watcher.changed.connect(on_changed)
    # systemd: READY once the first slide is painted, WATCHDOG pings from this (GUI) thread, and a planned
    # restart between slides when memory passes the ceiling.
    health = Health(
        memory_ceiling_mb=config.memory_ceiling_mb, exit=app.exit, watchdog=systemd.watchdog_interval()
    )
    health.watch(window.first_painted, player.slide_shown)
    player.start()
    watcher.start()
    telemetry.start()
    if on_ready is not None:
        on_ready(window, player)
    try:
        return app.exec()
    finally:
        watcher.stop()
        queue.wait(3000)
        telemetry.stop()
        store.close()


def overlay_lines(config: PlayerConfig, player: Player) -> list[str]:
    """What the technician overlay shows (F1)."""
    snapshot = player.snapshot
    addresses = [
        address.toString()
        for address in QNetworkInterface.allAddresses()
        if not address.isLoopback() and address.toString()
    ]
    try:
        free = f"{shutil.disk_usage(config.cache_dir).free / 1e9:.1f} GB"
    except OSError:
        free = "unknown"
    until = None if snapshot is None else snapshot.verified_until
    return [
        f"screen / 屏幕: {config.screen_id}    signage {__version__}",
        f"channel / 频道: {config.channel}    hub: {config.hub_url}",
        f"playlist / 名单: v{None if snapshot is None or snapshot.playlist is None else snapshot.playlist.version}"
        f"    revocations / 撤回: v{None if snapshot is None else snapshot.revocations_version}",
        "sync / 同步: signage-sync.service (journalctl -u signage-sync)",
        f"verified until / 有效期至: {until}",
        f"IP: {', '.join(addresses) or '-'}    free disk / 剩余空间: {free}",
        f"on screen / 当前: {None if player.current is None else player.current.key}",
    ]


def _install_excepthook() -> None:
    def hook(kind: type[BaseException], error: BaseException, trace: TracebackType | None) -> None:
        # PyQt6 aborts the process on an exception that escapes a slot; a screen must keep playing.
        log.error(
            "unexpected error in the player (it keeps running):\n%s",
            "".join(traceback.format_exception(kind, error, trace)),
        )

    sys.excepthook = hook


class Screenshots:
    """Saves what the window shows every few slides (the demo without a display, and the benchmarks).

    Args:
        folder: Where ``slide-NNN.png`` files go.
        every: Take one after every ``every`` slides.
        limit: Stop taking them after this many (0 for no limit).
        settle_ms: Wait this long after a slide change, so a crossfade has finished.
    """

    def __init__(self, folder: Path, *, every: int = 3, limit: int = 0, settle_ms: int = 1500) -> None:
        self.folder = folder
        self.taken: list[Path] = []
        self._every = every
        self._limit = limit
        self._settle_ms = settle_ms
        self._count = 0
        self._window: SlideWindow | None = None

    def attach(self, window: SlideWindow, player: Player) -> None:
        """Start watching ``player``'s slides in ``window``."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self._window = window
        player.slide_shown.connect(self._on_slide_shown)

    def _on_slide_shown(self, _slide: object) -> None:
        self._count += 1
        if self._count % self._every == 1 or self._every == 1:
            QTimer.singleShot(self._settle_ms, self._take)

    def _take(self) -> None:
        if self._window is None or (self._limit and len(self.taken) >= self._limit):
            return
        path = self.folder / f"slide-{len(self.taken) + 1:03d}.png"
        screen = self._window.screen()
        image = screen.grabWindow() if screen is not None else self._window.grab()
        image.save(str(path), "PNG")
        self.taken.append(path)
        log.info("screenshot %s", path)


def run_demo_player(
    config: PlayerConfig, *, windowed: tuple[int, int] | None, shots: Path | None, duration: float | None
) -> int:
    """The player as ``signage demo`` runs it: screenshots every few slides, optionally for a fixed time."""
    screenshots = None if shots is None else Screenshots(shots, every=3)

    def ready(window: SlideWindow, player: Player) -> None:
        if screenshots is not None:
            screenshots.attach(window, player)
        if duration is not None:
            QTimer.singleShot(int(duration * 1000), QApplication.quit)

    return run_player(config, windowed=windowed, clock=lambda: dt.datetime.now(dt.UTC), on_ready=ready)
