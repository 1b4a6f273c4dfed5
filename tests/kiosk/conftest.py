"""Fixtures for the Qt tests: an offscreen platform, the CJK fonts, the fictional sample set and a renderer.

Rendering needs a QGuiApplication but no display: ``QT_QPA_PLATFORM=offscreen`` is set before anything imports
Qt, and pytest-qt's ``qapp`` creates the application once per session.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from signage.core.records import DebtorRecord, PhotoRef
from signage.operator.importer import ImportOptions, import_file

SAMPLE = Path(__file__).resolve().parents[2] / "assets" / "sample"
TODAY = dt.date(2026, 11, 26)
MARK = "jinan-station-01 · v12"


@dataclass
class MemorySink:
    """A PhotoSink that keeps the normalised JPEGs, so a loader can hand them to the renderer."""

    photos: dict[str, bytes] = field(default_factory=dict)

    def put(self, jpeg: bytes) -> PhotoRef:
        ref = PhotoRef(hashlib.sha256(jpeg).hexdigest(), len(jpeg))
        self.photos[ref.sha256] = jpeg
        return ref

    def load(self, ref: PhotoRef) -> bytes | None:
        return self.photos.get(ref.sha256)


@dataclass(frozen=True)
class SampleSet:
    records: dict[str, DebtorRecord]
    sink: MemorySink


@pytest.fixture(scope="session")
def sample() -> SampleSet:
    sink = MemorySink()
    report = import_file(
        SAMPLE / "records.csv", ImportOptions(today=TODAY, photos=SAMPLE / "photos", sink=sink)
    )
    # Keyed by the sample's 编号 (its 序号 column, S000001…): entry ids are derived from the identity now.
    return SampleSet({report.serials[record.entry_id]: record for record in report.records}, sink)


@pytest.fixture(scope="session")
def fonts(qapp):
    from signage.kiosk.fonts import find_fonts

    return find_fonts()


@pytest.fixture(scope="session")
def renderer(fonts, sample):
    from signage.kiosk.slides import SlideRenderer

    return SlideRenderer(fonts, mark=MARK, sample=True, photos=sample.sink.load)
