"""Console thumbnails: real slides rendered by the player's renderer in a subprocess on Qt's offscreen platform.

The caller (``signage.operator.publish.thumbnails``) imports no Qt; these tests run it on the fictional sample set with
its photos and check the PNGs it leaves: one per record and screen size, scaled to 480 px wide, not blank.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from PIL import Image

from signage.core.records import Organisation, Person
from signage.operator.publish.thumbnails import MAX_THUMBNAIL_RECORDS, ThumbnailError, render_thumbnails
from tests.kiosk.conftest import TODAY, SampleSet

SIZES = ((1920, 1080), (1080, 1920), (1920, 360))


def photo_folder(sample: SampleSet, folder: Path) -> Path:
    folder.mkdir()
    for digest, data in sample.sink.photos.items():
        (folder / digest).write_bytes(data)
    return folder


def test_thumbnails_of_a_person_and_an_organisation_in_every_screen_shape(sample, tmp_path):
    person = next(r for r in sample.records.values() if isinstance(r.debtor, Person) and r.photo is not None)
    organisation = next(r for r in sample.records.values() if isinstance(r.debtor, Organisation))
    out = tmp_path / "thumbs"
    written = render_thumbnails(
        [person, organisation],
        photos_dir=photo_folder(sample, tmp_path / "photos"),
        sizes=SIZES,
        out_dir=out,
        sample=True,
        timeout=120,
        data_date=TODAY,
    )
    assert list(written) == [person.entry_id, organisation.entry_id]
    assert sorted(path.name for path in out.iterdir()) == sorted(
        f"{record.entry_id}-{w}x{h}.png" for record in (person, organisation) for w, h in SIZES
    )
    for paths in written.values():
        shapes = []
        for path in paths:
            with Image.open(path) as image:
                shapes.append(image.size)
                colours = image.convert("RGB").getcolors(maxcolors=1_000_000)
                # A real slide: many colours (text anti-aliasing, the photo), not one flat fill.
                assert colours is not None and len(colours) > 50, path
        assert shapes == [(480, 270), (480, 853), (480, 90)]


def test_too_many_records_or_no_size_are_refused_before_anything_runs(sample, tmp_path):
    records = list(sample.records.values())
    many = (records * (MAX_THUMBNAIL_RECORDS // len(records) + 2))[: MAX_THUMBNAIL_RECORDS + 1]
    with pytest.raises(ValueError, match=str(MAX_THUMBNAIL_RECORDS)):
        render_thumbnails(many, photos_dir=tmp_path, out_dir=tmp_path / "o", sample=True, timeout=60)
    with pytest.raises(ValueError, match="size"):
        render_thumbnails(
            records[:1], photos_dir=tmp_path, sizes=(), out_dir=tmp_path / "o", sample=True, timeout=60
        )
    assert render_thumbnails([], photos_dir=tmp_path, out_dir=tmp_path / "o", sample=True, timeout=60) == {}
    assert not (tmp_path / "o").exists()


def test_a_renderer_that_takes_too_long_is_stopped(sample, tmp_path):
    record = next(iter(sample.records.values()))
    with pytest.raises(ThumbnailError) as caught:
        render_thumbnails([record], photos_dir=tmp_path, out_dir=tmp_path / "o", sample=True, timeout=0.01)
    assert "stopped" in caught.value.en and "超时" in caught.value.zh


def test_a_failing_renderer_is_reported_with_its_message(sample, tmp_path):
    record = next(iter(sample.records.values()))
    out = tmp_path / "out"
    # A folder where the PNG must go: the renderer cannot write it and exits with an error.
    (out / f"{record.entry_id}-1920x1080.png").mkdir(parents=True)
    with pytest.raises(ThumbnailError) as caught:
        render_thumbnails(
            [record],
            photos_dir=tmp_path,
            out_dir=out,
            sample=True,
            timeout=120,
            data_date=dt.date(2026, 1, 1),
        )
    assert "failed (exit status" in caught.value.en and "1920x1080.png" in caught.value.en
