"""Photos: plain names only, decompression bombs refused, EXIF applied then every byte of metadata gone."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from PIL import Image

from signage.core.rules import RuleViolation
from signage.operator.importer import ImportOptions, import_file
from signage.operator.photos import (
    MAX_OUTPUT_BYTES,
    OUTPUT_BOX,
    DirectorySink,
    HashingSink,
    normalise_photo,
    resolve_photo,
)
from signage.operator.report import Severity
from tests.helpers import HEADERS, TODAY, person_row, write_csv

GPS_IFD = 0x8825
ORIENTATION = 0x0112


def jpeg_with_exif(path: Path, size=(300, 200), orientation=6) -> Path:
    image = Image.new("RGB", size, (200, 30, 30))
    image.paste((30, 30, 200), (0, 0, size[0] // 2, size[1]))  # left half blue: shows the rotation
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[0x010F] = "FictionalCam"  # Make
    exif.get_ifd(GPS_IFD)[2] = (36.0, 40.0, 0.0)  # GPSLatitude
    image.save(path, format="JPEG", exif=exif.tobytes())
    return path


def test_exif_orientation_is_applied_and_all_metadata_stripped(tmp_path):
    source = jpeg_with_exif(tmp_path / "p.jpg")
    assert b"FictionalCam" in source.read_bytes()
    output = normalise_photo(source)
    image = Image.open(io.BytesIO(output))
    assert image.format == "JPEG"
    assert image.size == (200, 300)  # orientation 6: rotated a quarter turn
    assert image.getpixel((100, 5))[2] > 150  # the blue half is now on top
    assert not image.getexif()
    assert "exif" not in image.info and "icc_profile" not in image.info
    assert b"FictionalCam" not in output and b"Exif" not in output


def test_output_is_bounded_in_size_and_pixels(tmp_path):
    noisy = Image.effect_noise((4000, 3000), 120).convert("RGB")
    noisy.save(tmp_path / "big.jpg", quality=95)
    output = normalise_photo(tmp_path / "big.jpg")
    image = Image.open(io.BytesIO(output))
    assert image.width <= OUTPUT_BOX[0] and image.height <= OUTPUT_BOX[1]
    assert len(output) <= MAX_OUTPUT_BYTES


def test_transparent_png_turns_white_not_black(tmp_path):
    Image.new("RGBA", (50, 50), (0, 0, 0, 0)).save(tmp_path / "clear.png")
    image = Image.open(io.BytesIO(normalise_photo(tmp_path / "clear.png")))
    assert min(image.getpixel((25, 25))) > 240


def test_decompression_bomb_is_refused_before_decoding(tmp_path):
    # 400 megapixels of one colour compress to a few hundred kilobytes.
    Image.new("1", (20_000, 20_000)).save(tmp_path / "bomb.png")
    assert (tmp_path / "bomb.png").stat().st_size < 1_000_000
    with pytest.raises(RuleViolation) as caught:
        normalise_photo(tmp_path / "bomb.png")
    assert caught.value.finding.code == "photo.pixels"


@pytest.mark.parametrize("content", [b"", b"not an image", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40])
def test_corrupt_files_are_refused(tmp_path, content):
    (tmp_path / "bad.jpg").write_bytes(content)
    with pytest.raises(RuleViolation) as caught:
        normalise_photo(tmp_path / "bad.jpg")
    assert caught.value.finding.code == "photo.corrupt"


def test_truncated_jpeg_is_refused(tmp_path):
    jpeg_with_exif(tmp_path / "whole.jpg")
    data = (tmp_path / "whole.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(RuleViolation):
        normalise_photo(tmp_path / "cut.jpg")


@pytest.mark.parametrize(
    "name", ["../secret.jpg", "..", "/etc/passwd", "sub/p.jpg", "..\\p.jpg", "C:p.jpg", "p.jpg\x00.png"]
)
def test_paths_are_refused(tmp_path, name):
    with pytest.raises(RuleViolation) as caught:
        resolve_photo(tmp_path, name)
    assert caught.value.finding.code == "photo.path"


def test_links_leading_out_of_the_folder_are_refused(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    jpeg_with_exif(tmp_path / "outside.jpg")
    (folder / "link.jpg").symlink_to(tmp_path / "outside.jpg")
    with pytest.raises(RuleViolation) as caught:
        resolve_photo(folder, "link.jpg")
    assert caught.value.finding.code == "photo.path"


def test_missing_photo_is_reported(tmp_path):
    with pytest.raises(RuleViolation) as caught:
        resolve_photo(tmp_path, "nobody.jpg")
    assert caught.value.finding.code == "photo.missing"


def test_directory_sink_is_content_addressed_and_atomic(tmp_path):
    sink = DirectorySink(tmp_path / "store")
    ref = sink.put(b"jpeg bytes")
    assert ref.sha256 == hashlib.sha256(b"jpeg bytes").hexdigest() and ref.length == 10
    assert (tmp_path / "store" / ref.sha256).read_bytes() == b"jpeg bytes"
    assert sink.put(b"jpeg bytes") == ref
    assert [p.name for p in (tmp_path / "store").iterdir()] == [ref.sha256]  # no temp files left


def test_bad_photos_keep_their_record_valid(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    jpeg_with_exif(folder / "good.jpg")
    Image.new("1", (20_000, 20_000)).save(folder / "bomb.png")
    (folder / "bad.jpg").write_bytes(b"garbage")
    names = ["good.jpg", "bomb.png", "bad.jpg", "../good.jpg", "missing.jpg", "good.jpg"]
    rows = [person_row(f"A{i}", 照片=name, 案号=f"（2025）鲁0102执{i + 1}号") for i, name in enumerate(names)]
    path = write_csv(tmp_path / "list.csv", rows, headers=(*HEADERS, "照片"))
    report = import_file(path, ImportOptions(today=TODAY, photos=folder))
    assert len(report.records) == 6 and report.refused_rows == []
    photos = [record.photo for record in report.records]
    assert photos[0] is not None and photos[0] == photos[5]  # one file, decoded once, same reference
    assert photos[1:5] == [None, None, None, None]
    warned = {(p.row, p.finding.code) for p in report.problems if p.severity is Severity.WARNING}
    assert warned == {(3, "photo.pixels"), (4, "photo.corrupt"), (5, "photo.path"), (6, "photo.missing")}
    good = normalise_photo(folder / "good.jpg")
    assert photos[0] == HashingSink().put(good)
