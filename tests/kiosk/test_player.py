"""The player's timing, driven by a fake clock: first slide, takedowns, freshness, quiet hours, quarantine.

Each test builds a real :class:`Player` around a real offscreen :class:`SlideWindow`, a real
:class:`RenderQueue` (its one background thread) and a real :class:`Rotation`. The slide source paints each
slide in a flat colour of its own, so what the window shows can be read back from its pixels; one test uses
the real :class:`ScreenSource` and the sample set instead. Time is a mutable datetime moved by hand; the
tests wait on signals (a render coming back), never on the wall clock.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from PyQt6.QtCore import QCoreApplication, QObject, QSize, QTimer, pyqtSignal
from PyQt6.QtGui import QColor, QImage
from pytestqt.qtbot import QtBot

from signage.core.playlist import Playlist
from signage.core.records import DebtorRecord, Person, Status
from signage.core.rotation import (
    BLACK_SLIDE,
    STANDBY_SLIDE,
    QuietHours,
    QuietMode,
    Rotation,
    Slide,
    SlideKind,
    day_order,
    record_key,
)
from signage.kiosk.app import ScreenSource, _install_excepthook
from signage.kiosk.bridge import RenderQueue
from signage.kiosk.layout import LayoutKind
from signage.kiosk.player import QUARANTINE, Player
from signage.kiosk.window import SlideWindow
from signage.sync.cache import ContentCache, ObjectRef
from signage.sync.client import ContentSnapshot, SyncResult, SyncState
from tests.helpers import WAIT_MS

UTC = dt.UTC
NOON = dt.datetime(2026, 11, 26, 4, 0, tzinfo=UTC)  # 12:00 in China, a Thursday
MIDNIGHT = dt.datetime(2026, 11, 25, 16, 0, tzinfo=UTC)  # 00:00 on 26 November in China
DAY = dt.date(2026, 11, 26)
SIZE = QSize(480, 270)
SCREEN = "jinan-station-01"
VERSION = 3
DWELL = dt.timedelta(seconds=60)
#: A crossfade that outlasts anything a test checks while it runs, however loaded the machine;
#: Rig.end_fade ends it when the test is done looking.
LONG_FADE = dt.timedelta(seconds=60)
STANDBY_COLOUR = QColor(40, 40, 40)
UNCHANGED = SyncResult(SyncState.UNCHANGED, "无变化", "unchanged")
UPDATED = SyncResult(SyncState.UPDATED, "已更新", "updated")


# --- building blocks ------------------------------------------------------------------------------------


class FakeClock:
    """The player's clock: a datetime the test moves forward."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def move(self, delta: dt.timedelta) -> None:
        self.now += delta


def colour_of(key: str) -> QColor:
    """The flat colour :class:`ColourSource` paints a slide in (distinct per key, never near black)."""
    if key == STANDBY_SLIDE.key:
        return STANDBY_COLOUR
    digest = hashlib.sha256(key.encode()).digest()
    return QColor(64 + digest[0] % 192, 64 + digest[1] % 192, 64 + digest[2] % 192)


class ColourSource:
    """A SlideSource that paints each slide in its own flat colour, and fails for the keys in ``failing``."""

    def __init__(self) -> None:
        self.failing: set[str] = set()
        self.calls: list[str] = []
        self.threads: set[int] = set()

    def render(self, slide: Slide, size: QSize, snapshot: ContentSnapshot | None) -> list[QImage]:
        self.calls.append(slide.key)
        self.threads.add(threading.get_ident())
        if slide.key in self.failing:
            raise RuntimeError(f"cannot render {slide.key}")
        image = QImage(size, QImage.Format.Format_RGB32)
        image.fill(colour_of(slide.key))
        return [image]


def record(entry_id: str) -> DebtorRecord:
    """A fictional record (region 999999 exists nowhere), displayable on :data:`DAY`."""
    return DebtorRecord(
        entry_id=entry_id,
        debtor=Person("林小雨", "9999991980****1234"),
        court="青川市东湖区人民法院",
        case_number="（2025）鲁0102执1号",
        amount=Decimal("1048.67"),
        status=Status.UNFULFILLED,
        listed_on=dt.date(2026, 3, 1),
        term_ends=dt.date(2028, 3, 1),
    )


def records(count: int) -> tuple[DebtorRecord, ...]:
    return tuple(record(f"e{number:03d}") for number in range(count))


def snapshot(
    recs: tuple[DebtorRecord, ...],
    *,
    revoked: frozenset[str] = frozenset(),
    until: dt.datetime = NOON + dt.timedelta(hours=3),
    version: int = VERSION,
    sample: bool = False,
) -> ContentSnapshot:
    """A verified set as the cache would hand it over, built in memory."""
    plist = Playlist(
        channel="c1",
        version=version,
        issued=MIDNIGHT - dt.timedelta(hours=2),
        records=recs,
        sample=sample,
    )
    return ContentSnapshot(
        channel="c1",
        playlist=plist,
        revoked=revoked,
        revocations_version=1,
        verified_until=until,
        time_floor=None,
    )


def order(recs: tuple[DebtorRecord, ...], day: dt.date = DAY) -> list[str]:
    """The slide keys of the screen's day in the order the rotation walks them."""
    return [record_key(entry_id, VERSION) for entry_id in day_order(SCREEN, day, (r.entry_id for r in recs))]


@dataclass
class Rig:
    """A player wired to a real window, render thread and rotation, with a fake clock."""

    qtbot: QtBot
    window: SlideWindow
    player: Player
    queue: RenderQueue
    source: ColourSource | ScreenSource
    clock: FakeClock
    shown: list[Slide] = field(default_factory=list)

    def screen(self) -> QImage:
        """What the window shows, painted into an image."""
        return self.window.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)

    def colour(self) -> QColor:
        """The colour in the middle of the window."""
        return self.screen().pixelColor(SIZE.width() // 2, SIZE.height() // 2)

    def settle(self) -> None:
        """Let every render in flight finish and reach the player (the next slide is rendered ahead)."""
        for _ in range(3):  # a render coming back may queue the next one
            assert self.queue.wait(WAIT_MS)
            QCoreApplication.processEvents()

    def start(self, content: ContentSnapshot) -> Slide:
        """Load ``content`` as at start and wait for the first slide to be rendered and shown."""
        with self.qtbot.waitSignal(self.player.slide_shown, timeout=WAIT_MS) as blocker:
            self.player.on_loaded(content)
        self.settle()
        slide: Slide = blocker.args[0]
        return slide

    def step(self) -> Slide:
        """Let the dwell end: the next slide goes on screen (rendered ahead, or as soon as it is)."""
        with self.qtbot.waitSignal(self.player.slide_shown, timeout=WAIT_MS) as blocker:
            self.player.advance()
        self.settle()
        slide: Slide = blocker.args[0]
        return slide

    def end_fade(self) -> None:
        """End a running crossfade now, as its last frame would, and let the player's render-ahead timer
        (as long as the fade, within half the dwell) fire now too: what follows the fade then runs."""
        fade = self.window._fade
        fade.seek(fade.duration())
        self.qtbot.waitUntil(lambda: not self.window.is_fading(), timeout=WAIT_MS)
        if self.player._ahead.isActive():
            self.player._ahead.start(0)

    def images_held(self) -> int:
        return sum(image is not None for image in (self.window._current, self.window._previous))


@pytest.fixture
def rig(qtbot: QtBot) -> Iterator[Callable[..., Rig]]:
    made: list[Rig] = []

    def make(
        rotation: Rotation | None = None,
        *,
        now: dt.datetime = NOON,
        source: ColourSource | ScreenSource | None = None,
        fade: dt.timedelta = dt.timedelta(0),
    ) -> Rig:
        window = SlideWindow()
        qtbot.addWidget(window)
        window.resize(SIZE)
        clock = FakeClock(now)
        queue = RenderQueue()
        source = source or ColourSource()
        player = Player(
            window,
            source,
            queue,
            rotation or Rotation(SCREEN),
            clock=clock,
            dwell=DWELL,
            fade=fade,
        )
        made.append(built := Rig(qtbot, window, player, queue, source, clock))
        player.slide_shown.connect(built.shown.append)
        return built

    yield make
    for built in made:
        # The window goes with the test; a timer of the player's must not fire into a later one.
        for timer in built.player.findChildren(QTimer):
            timer.stop()
        built.queue.wait(WAIT_MS)


# --- the first slide ------------------------------------------------------------------------------------


def test_the_first_slide_goes_on_screen_once_rendered_off_the_gui_thread(rig, qtbot):
    recs = records(5)
    r = rig()
    with qtbot.waitSignal(r.player.slide_shown, timeout=WAIT_MS) as shown:
        r.player.on_loaded(snapshot(recs))
        assert r.player.current is None  # nothing rendered yet: the GUI thread does not wait for it
    slide = shown.args[0]
    assert slide.kind is SlideKind.PERSON
    assert slide.key == order(recs)[0]
    assert r.colour() == colour_of(slide.key)
    assert r.shown == [slide]
    assert r.source.threads and threading.get_ident() not in r.source.threads
    # The next one is rendered while this one stands, so the transition needs no render.
    r.settle()
    with qtbot.waitSignal(r.player.slide_shown, timeout=0) as second:  # 0: emitted before advance() returns
        r.player.advance()
    assert second.args[0].key == order(recs)[1]
    assert r.colour() == colour_of(order(recs)[1])


def test_with_nothing_published_the_player_shows_standby(rig):
    r = rig()
    r.player.on_loaded(
        ContentSnapshot("c1", None, frozenset(), None, NOON + dt.timedelta(hours=1), time_floor=None)
    )
    assert r.shown == [STANDBY_SLIDE]  # standby needs no render thread: it is on screen at once
    assert r.colour() == STANDBY_COLOUR


# --- fairness over a day --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "sync_every"),
    [
        pytest.param(7, None, id="no-syncs"),
        # Two-minute slides and a takedown poll every six minutes: the poll finds nothing new.
        pytest.param(6, 3, id="polls"),
    ],
)
def test_every_record_gets_equal_exposure_over_a_simulated_day(rig, count, sync_every):
    recs = records(count)
    dwell = dt.timedelta(minutes=2)
    r = rig(now=MIDNIGHT + dt.timedelta(seconds=1))
    content = snapshot(recs, until=MIDNIGHT + dt.timedelta(days=1, hours=1))
    shown = Counter([r.start(content).key])
    while r.clock.now + dwell < MIDNIGHT + dt.timedelta(days=1):
        r.clock.move(dwell)
        if sync_every and sum(shown.values()) % sync_every == 0:
            r.player.on_synced(UNCHANGED, content)
        slide = r.step()
        assert r.colour() == colour_of(slide.key)
        shown[slide.key] += 1
    assert sum(shown.values()) == 720
    assert set(shown) == set(order(recs))
    assert max(shown.values()) - min(shown.values()) <= 1, shown


def test_a_sync_does_not_cost_the_slide_rendered_ahead_its_turn(rig):
    recs = records(5)
    r = rig()
    content = snapshot(recs)
    assert r.start(content).key == order(recs)[0]
    r.player.on_synced(UNCHANGED, content)  # the revocation poll found nothing new
    assert r.step().key == order(recs)[1]


# --- takedowns ------------------------------------------------------------------------------------------


def test_a_revoked_record_on_screen_is_replaced_at_once(rig, qtbot):
    recs = records(5)
    r = rig()
    first = r.start(snapshot(recs))
    assert first.record is not None and r.colour() == colour_of(first.key)
    revoked = snapshot(recs, revoked=frozenset({first.record.entry_id}))
    # The dwell is a minute; the takedown must not wait for it.
    with qtbot.waitSignal(r.player.slide_shown, timeout=WAIT_MS) as replaced:  # far under the dwell
        r.player.on_synced(UPDATED, revoked)
    slide = replaced.args[0]
    assert slide.kind is SlideKind.PERSON and slide.record.entry_id != first.record.entry_id
    assert r.player.current == slide
    assert r.colour() == colour_of(slide.key)
    r.settle()
    # And it never comes back while revoked, however long the screen plays.
    for _ in range(12):
        r.clock.move(dt.timedelta(seconds=60))
        assert r.step().key != first.key


def test_the_next_slide_is_rendered_once_the_crossfade_is_over(rig, qtbot):
    recs = records(5)
    r = rig(fade=LONG_FADE)
    r.start(snapshot(recs))
    qtbot.waitUntil(
        lambda: r.player._upcoming is not None and r.player._upcoming.key in r.player._ready, timeout=WAIT_MS
    )
    shown = r.step()
    # While the window blends the old image into the new one, no third full-screen image is being made.
    assert r.window.is_fading()
    assert not r.player._pending and set(r.player._ready) == {shown.key}
    r.end_fade()
    upcoming = r.player._upcoming
    assert upcoming is not None
    qtbot.waitUntil(lambda: upcoming.key in r.player._ready, timeout=3000)
    assert r.step() == upcoming


def test_a_takedown_cuts_to_the_replacement_while_rotation_crossfades(rig, qtbot):
    recs = records(5)
    r = rig(fade=LONG_FADE)
    r.start(snapshot(recs))
    second = r.step()
    assert r.window.is_fading()  # an ordinary change crossfades
    # The slide after it is rendered once the fade is over.
    r.end_fade()
    qtbot.waitUntil(
        lambda: r.player._upcoming is not None and r.player._upcoming.key in r.player._ready, timeout=WAIT_MS
    )
    assert second.record is not None
    revoked = snapshot(recs, revoked=frozenset({second.record.entry_id}))
    r.player.on_synced(UPDATED, revoked)
    replacement = r.player.current
    assert replacement is not None and replacement.key != second.key
    # Rendered ahead, the replacement is fully on screen before on_synced returned: no fade to wait for.
    assert not r.window.is_fading()
    assert r.colour() == colour_of(replacement.key)
    # The next ordinary change crossfades again.
    r.step()
    assert r.window.is_fading()


def test_revoking_the_last_record_on_screen_shows_standby_at_once(rig):
    recs = records(1)
    r = rig()
    first = r.start(snapshot(recs))
    assert not r.player._fixed  # no standby image is held while debtors play
    r.player.on_synced(UPDATED, snapshot(recs, revoked=frozenset({first.record.entry_id})))
    assert r.shown[-1] == STANDBY_SLIDE  # before on_synced returned: drawn on the spot, no render thread
    assert r.colour() == STANDBY_COLOUR


def test_new_content_takes_effect_at_the_next_slide_not_at_once(rig):
    recs = records(3)
    r = rig()
    first = r.start(snapshot(recs))
    r.player.on_synced(UPDATED, snapshot((*recs, record("e900"))))
    assert r.shown == [first]  # the slide on screen may stay: it stands its dwell


# --- freshness ------------------------------------------------------------------------------------------


def test_the_freshness_bound_passing_switches_to_standby_at_once(rig):
    until = NOON + dt.timedelta(minutes=30)
    r = rig()
    first = r.start(snapshot(records(5), until=until))
    r.clock.now = until - dt.timedelta(seconds=1)
    r.player.watch()
    assert r.shown == [first]  # still fresh: the slide stands
    r.clock.now = until
    r.player.watch()
    assert r.shown == [first, STANDBY_SLIDE]
    assert r.colour() == STANDBY_COLOUR
    r.player.watch()
    r.player.advance()
    assert r.shown[-1] == STANDBY_SLIDE and all(s.kind is SlideKind.STANDBY for s in r.shown[1:])


def test_a_fresh_sync_after_expiry_brings_debtor_slides_back(rig):
    until = NOON + dt.timedelta(minutes=30)
    recs = records(5)
    r = rig()
    r.start(snapshot(recs, until=until))
    r.clock.now = until + dt.timedelta(minutes=5)
    r.player.watch()
    assert r.player.current == STANDBY_SLIDE
    r.player.on_synced(UPDATED, snapshot(recs, until=until + dt.timedelta(hours=1)))
    assert r.step().kind is SlideKind.PERSON


# --- quiet hours ----------------------------------------------------------------------------------------


QUIET = QuietHours(dt.time(12, 30), dt.time(13, 0))


@pytest.mark.parametrize(
    ("mode", "quiet"), [(QuietMode.STANDBY, STANDBY_SLIDE), (QuietMode.BLACK, BLACK_SLIDE)]
)
def test_quiet_hours_replace_debtor_slides_at_once(rig, mode, quiet):
    r = rig(Rotation(SCREEN, quiet_hours=(QUIET,), quiet_mode=mode))
    assert r.start(snapshot(records(5))).kind is SlideKind.PERSON  # 12:00 in China
    r.clock.now = NOON + dt.timedelta(minutes=29, seconds=59)
    r.player.watch()
    assert r.shown[-1].kind is SlideKind.PERSON
    r.clock.now = NOON + dt.timedelta(minutes=30)  # 12:30: quiet hours begin
    r.player.watch()
    assert r.shown[-1] == quiet  # before watch() returned
    expected = QColor(0, 0, 0) if mode is QuietMode.BLACK else STANDBY_COLOUR
    assert r.colour() == expected
    for _ in range(5):  # the dwell ends again and again inside quiet hours: still quiet
        r.clock.move(dt.timedelta(minutes=5))
        r.player.advance()
        assert r.shown[-1] == quiet and r.colour() == expected


def test_a_black_screen_gives_way_as_soon_as_quiet_hours_end(rig, qtbot):
    r = rig(Rotation(SCREEN, quiet_hours=(QUIET,), quiet_mode=QuietMode.BLACK))
    r.clock.now = NOON + dt.timedelta(minutes=45)
    r.player.on_loaded(snapshot(records(5)))
    assert r.shown == [BLACK_SLIDE]
    r.clock.now = NOON + dt.timedelta(hours=1)  # 13:00: over
    with qtbot.waitSignal(r.player.slide_shown, timeout=WAIT_MS) as back:
        r.player.watch()
    assert back.args[0].kind is SlideKind.PERSON
    assert r.colour() == colour_of(back.args[0].key)


@pytest.mark.parametrize("case", ["quiet-hours-end", "cache-loaded-late"])
def test_when_debtors_may_be_shown_again_the_next_slide_is_a_debtor(rig, case):
    if case == "quiet-hours-end":
        r = rig(Rotation(SCREEN, quiet_hours=(QUIET,), quiet_mode=QuietMode.STANDBY))
        r.clock.now = NOON + dt.timedelta(minutes=45)
        r.player.on_loaded(snapshot(records(5)))
        r.clock.now = NOON + dt.timedelta(hours=1)  # 13:00: quiet hours are over
    else:
        r = rig()
        r.player.advance()  # the start grace passed with no cache: standby
        r.player.on_loaded(snapshot(records(5)))
    assert r.shown == [STANDBY_SLIDE]
    r.clock.move(DWELL)
    assert r.step().kind is SlideKind.PERSON


def test_quiet_hours_at_start_never_show_a_debtor(rig):
    rotation = Rotation(
        SCREEN, quiet_hours=(QuietHours(dt.time(22, 0), dt.time(6, 0)),), quiet_mode=QuietMode.BLACK
    )
    r = rig(rotation, now=MIDNIGHT + dt.timedelta(hours=1))  # 01:00 in China
    r.player.on_loaded(snapshot(records(3), until=MIDNIGHT + dt.timedelta(hours=2)))
    assert r.shown == [BLACK_SLIDE]
    assert r.colour() == QColor(0, 0, 0)
    assert r.source.calls == []  # no debtor was even rendered


# --- quarantine -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("position", [0, 1], ids=["waited-for", "rendered-ahead"])
def test_a_slide_that_fails_to_render_is_quarantined_for_ten_minutes(rig, qtbot, caplog, position):
    recs = records(4)
    keys = order(recs)
    broken = keys[position]
    r = rig()
    r.source.failing.add(broken)
    start = r.clock.now
    with qtbot.waitSignal(r.player.quarantined, timeout=WAIT_MS) as quarantined:
        first = r.start(snapshot(recs))
    assert quarantined.args == [broken]
    assert first.key == keys[1 if position == 0 else 0]
    assert broken in caplog.text and "failed to render" in caplog.text
    # For ten minutes of play the slide is skipped, and not even tried again.
    shown = [first.key]
    while r.clock.now + dt.timedelta(minutes=1) < start + QUARANTINE:
        r.clock.move(dt.timedelta(minutes=1))
        shown.append(r.step().key)
    assert broken not in shown
    assert set(shown) == set(keys) - {broken}
    assert r.source.calls.count(broken) == 1
    # Then it is tried again, and shown once it renders.
    r.source.failing.clear()
    r.clock.now = start + QUARANTINE
    later = []
    for _ in range(len(keys) + 1):
        r.clock.move(dt.timedelta(minutes=1))
        later.append(r.step().key)
    assert broken in later
    assert r.source.calls.count(broken) == 2
    assert r.colour() == colour_of(later[-1])


def test_a_slide_that_keeps_failing_is_quarantined_again(rig, qtbot):
    recs = records(2)
    keys = order(recs)
    r = rig()
    r.source.failing.add(keys[1])
    with qtbot.waitSignal(r.player.quarantined, timeout=WAIT_MS):
        r.start(snapshot(recs))
    r.clock.move(QUARANTINE + dt.timedelta(seconds=1))
    with qtbot.waitSignal(r.player.quarantined, timeout=WAIT_MS) as again:
        for _ in range(3):
            r.clock.move(dt.timedelta(minutes=1))
            r.step()
    assert again.args == [keys[1]]
    assert all(slide.key != keys[1] for slide in r.shown)
    assert r.player.current is not None and r.colour() == colour_of(r.player.current.key)


# --- memory ---------------------------------------------------------------------------------------------


def test_memory_stays_bounded_over_two_hundred_slides(rig):
    r = rig(fade=dt.timedelta(milliseconds=50))
    r.start(snapshot(records(9)))
    most_ready = most_images = 0
    for _ in range(200):
        r.clock.move(dt.timedelta(seconds=10))
        r.step()
        most_ready = max(most_ready, len(r.player._ready))
        most_images = max(most_images, r.images_held())
    assert len(r.shown) == 201
    assert most_ready <= 2
    assert most_images <= 2


# --- the real renderer ----------------------------------------------------------------------------------


def test_the_real_renderer_paints_a_debtor_and_a_takedown_paints_standby(rig, qtbot, fonts, sample, tmp_path):
    cache = ContentCache(tmp_path / "cache")
    cache.prepare()
    recs = tuple(rec for rec in sample.records.values() if rec.photo is not None)[:3]
    for rec in recs:
        assert rec.photo is not None
        cache.put(sample.sink.photos[rec.photo.sha256], ObjectRef(rec.photo.sha256, rec.photo.length))
    # 480 × 270 would be an LED board's size; the config's layout key forces the 16:9 one (with the photo).
    source = ScreenSource(fonts, SCREEN, cache, LayoutKind.LANDSCAPE)
    content = snapshot(recs, sample=True)
    r = rig(source=source)
    with qtbot.waitSignal(r.player.slide_shown, timeout=WAIT_MS) as shown:
        r.player.on_loaded(content)
    slide = shown.args[0]
    assert slide.kind in (SlideKind.PERSON, SlideKind.ORGANISATION)
    (expected,) = source.render(slide, SIZE, content)
    assert r.screen() == expected.convertToFormat(QImage.Format.Format_RGB32)
    assert len({r.screen().pixel(x, y) for x in range(0, 480, 24) for y in range(0, 270, 18)}) > 4
    r.settle()
    revoked = snapshot(recs, revoked=frozenset(rec.entry_id for rec in recs), sample=True)
    r.player.on_synced(UPDATED, revoked)
    assert r.player.current == STANDBY_SLIDE
    (standby,) = source.render(STANDBY_SLIDE, SIZE, revoked)
    assert r.screen() == standby.convertToFormat(QImage.Format.Format_RGB32)


# --- an exception in a slot -----------------------------------------------------------------------------


class _Emitter(QObject):
    fired = pyqtSignal()


@pytest.mark.qt_no_exception_capture
def test_an_exception_in_a_slot_is_logged_and_the_player_carries_on(qtbot, monkeypatch, caplog):
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # restored after the test
    _install_excepthook()
    ran: list[str] = []

    def broken() -> None:
        raise RuntimeError("a slot went wrong")

    emitter = _Emitter()
    emitter.fired.connect(broken)
    emitter.fired.connect(lambda: ran.append("next slot of the same signal"))
    with caplog.at_level(logging.ERROR, logger="signage.kiosk.app"):
        emitter.fired.emit()
        QTimer.singleShot(0, broken)
        QTimer.singleShot(0, lambda: ran.append("a later timer"))
        qtbot.waitUntil(lambda: "a later timer" in ran, timeout=WAIT_MS)
    assert ran == ["next slot of the same signal", "a later timer"]
    errors = [
        rec for rec in caplog.records if rec.name == "signage.kiosk.app" and rec.levelno == logging.ERROR
    ]
    assert len(errors) == 2
    assert all("keeps running" in rec.getMessage() for rec in errors)
    assert all("RuntimeError: a slot went wrong" in rec.getMessage() for rec in errors)
