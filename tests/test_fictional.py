"""The fictional data generator and the committed sample channel built from it."""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import pytest
from stdnum.cn import ric, uscc

from signage.core.records import Organisation, Person, Status
from signage.operator import fictional
from signage.operator.importer import ImportOptions, import_file
from signage.operator.report import Severity, summarise_codes

TODAY = dt.date(2026, 11, 26)
ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "assets" / "sample"


def load_generator() -> ModuleType:
    """Import playlists/generate_sample.py, which is a script and not part of a package."""
    name = "generate_sample"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "playlists" / "generate_sample.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is being built
    spec.loader.exec_module(module)
    return module


def test_rows_are_deterministic_per_seed():
    first = fictional.fictional_rows(500, 7, photos=True)
    assert first == fictional.fictional_rows(500, 7, photos=True)
    assert first != fictional.fictional_rows(500, 8, photos=True)


def test_rows_have_the_promised_shape():
    rows = fictional.fictional_rows(5_000, 3, photos=True)
    assert len({row["编号"] for row in rows}) == len(rows)
    persons = [row for row in rows if row["类型"] == "个人"]
    organisations = [row for row in rows if row["类型"] == "单位"]
    assert 0.8 < len(persons) / len(rows) < 0.9
    assert all(row["照片"] == f"p{row['编号'][1:]}.jpg" for row in persons)
    assert not any(row["照片"] for row in organisations)
    assert all(row["法定代表人"] and uscc.is_valid(row["证件号码"]) for row in organisations)
    full = [row["证件号码"] for row in persons if "*" not in row["证件号码"]]
    assert full and all(number.startswith(fictional.FICTIONAL_REGION) for number in full)
    # ric.is_valid refuses the unknown region, so the check digit is compared on its own.
    assert all(number[-1] == ric.calc_check_digit(number) for number in full)
    masked = [row["证件号码"] for row in persons if "*" in row["证件号码"]]
    assert all(
        number[:6] in fictional.MASK_REGIONS and 1950 <= int(number[6:10]) <= 1995 for number in masked
    )
    assert {row["履行情况"] for row in rows} == {"未履行", "部分履行"}
    for row in rows:
        listed = dt.date.fromisoformat(row["发布日期"])
        assert fictional.LISTED_FROM <= listed <= fictional.LISTED_UNTIL
        assert row["期限截止日期"] == listed.replace(year=listed.year + 5).isoformat()
    assert not any(fictional.photo_seed(row["照片"]) == 0 for row in persons)


def test_rows_without_photos_name_none():
    assert not any(row["照片"] for row in fictional.fictional_rows(300, 1, photos=False))


def test_every_generated_row_is_accepted(tmp_path):
    rows = fictional.fictional_rows(3_000, 11, photos=False)
    path = fictional.write_csv(rows, tmp_path / "rows.csv")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    report = import_file(path, ImportOptions(today=TODAY))
    assert report.refused_rows == []
    assert len(report.records) == len(rows)
    warnings = summarise_codes(report.warnings)
    # Full IDs in region 999999 warn; the photo column is there but this import has no photo folder.
    assert set(warnings) == {"id.region_unknown", "photo.no_folder"}
    full_ids = sum(row["类型"] == "个人" and "*" not in row["证件号码"] for row in rows)
    assert warnings["id.region_unknown"] == full_ids > 0
    kinds = {type(record.debtor) for record in report.records}
    assert kinds == {Person, Organisation}
    assert {record.status for record in report.records} == set(Status)
    amounts = [record.amount for record in report.records]
    assert min(amounts) < Decimal(10_000) and max(amounts) >= Decimal(100_000_000)
    assert any(Decimal(10_000) <= amount < Decimal(100_000_000) for amount in amounts)
    assert all(record.is_displayable(TODAY) for record in report.records)


def test_large_files_are_quick_to_build_and_unique(tmp_path):
    rows = fictional.fictional_rows(35_000, 2026, photos=True)
    assert len({row["编号"] for row in rows}) == 35_000
    path = fictional.write_csv(rows, tmp_path / "big.csv")
    assert path.stat().st_size < 16 * 1024 * 1024


def test_write_csv_puts_extra_columns_last_in_first_seen_order(tmp_path):
    rows = [{"照片": "", "编号": "S1", "住址": "青川市"}, {"编号": "S2", "备注": "x", "住址": ""}]
    data = fictional.write_csv(rows, tmp_path / "x.csv").read_bytes()
    assert data.startswith("\ufeff编号,照片,住址,备注\r\n".encode())
    assert data.count(b"\r\n") == 3


def test_portraits_are_deterministic_and_differ_per_seed():
    first = fictional.portrait(1)
    assert first.size == (480, 640) and first.mode == "RGB"
    assert first.tobytes() == fictional.portrait(1).tobytes()
    images = [fictional.portrait(seed, (120, 160)).tobytes() for seed in range(12)]
    assert len(set(images)) == len(images)


def test_portraits_are_drawings_not_noise():
    image = fictional.portrait(5, (240, 320))
    colours = image.getcolors(maxcolors=240 * 320)
    assert colours is not None
    # Flat shapes: a few colours cover most of the picture.
    biggest = sorted((count for count, _ in colours), reverse=True)[:40]
    assert sum(biggest) > 0.8 * 240 * 320


def test_write_portraits_saves_one_jpeg_per_named_photo(tmp_path):
    rows = [{"照片": "p000003.jpg"}, {"照片": ""}, {"照片": "p000003.jpg"}, {"照片": "p000009.jpg"}]
    written = fictional.write_portraits(rows, tmp_path / "photos")
    assert [path.name for path in written] == ["p000003.jpg", "p000009.jpg"]
    assert all(path.read_bytes()[:2] == b"\xff\xd8" for path in written)


def test_committed_sample_reproduces(tmp_path):
    generator = load_generator()
    assert generator.main([str(tmp_path)]) == 0
    assert (tmp_path / "records.csv").read_bytes() == (SAMPLE / "records.csv").read_bytes()
    assert (tmp_path / "README.md").read_bytes() == (SAMPLE / "README.md").read_bytes()
    names = sorted(path.name for path in (tmp_path / "photos").iterdir())
    assert names == sorted(path.name for path in (SAMPLE / "photos").iterdir())


def test_committed_sample_reports_exactly_the_intended_findings():
    generator = load_generator()
    sample = generator.build_sample()
    report = import_file(SAMPLE / "records.csv", ImportOptions(today=TODAY, photos=SAMPLE / "photos"))
    actual = [(p.row, str(p.severity), p.finding.code, p.column) for p in report.problems]
    # A file-level problem names its column in the message only.
    intended = [(i.row, i.severity, i.code, i.column if i.row else None) for i in sample.intended]
    assert actual == intended
    for problem, item in zip(report.problems, sample.intended, strict=True):
        if item.row is None:
            assert f"“{item.column}”" in problem.finding.zh
    refused = [i for i in sample.intended if i.severity == "refused"]
    assert len(report.records) >= 60
    assert len(report.records) == report.rows_read - len(refused)
    assert len({i.code for i in refused}) == len(refused)


def test_sample_shows_the_range_of_accepted_data():
    report = import_file(SAMPLE / "records.csv", ImportOptions(today=TODAY, photos=SAMPLE / "photos"))
    records = report.records
    names = [record.debtor.name for record in records]
    assert any(any(ord(char) > 0xFFFF for char in name) for name in names)
    assert any("·" in name and len(name) >= 10 for name in names)
    assert any(len(name) >= 40 for name in names)
    assert any(len(record.court) >= 15 for record in records)
    persons = [record for record in records if isinstance(record.debtor, Person)]
    assert sum(record.photo is not None for record in persons) > 0.8 * len(persons)
    assert any(record.debtor.id_masked.startswith("999999") for record in persons)
    assert all("*" in record.debtor.id_masked for record in persons)
    assert {record.status for record in records} == set(Status)
    amounts = [record.amount for record in records]
    assert min(amounts) < Decimal(10_000) and max(amounts) >= Decimal(100_000_000)
    photos = list((SAMPLE / "photos").iterdir())
    assert sum(path.stat().st_size for path in photos) < 3 * 1024 * 1024


@pytest.mark.parametrize("file_name, seed", [("p000123.jpg", 123), ("photo.jpg", 0)])
def test_photo_seed(file_name, seed):
    assert fictional.photo_seed(file_name) == seed


def test_severity_names_match_the_generator():
    generator = load_generator()
    assert {i.severity for i in generator.build_sample().intended} == {str(s) for s in Severity}


def test_the_court_export_example_is_reproducible_and_imports_as_the_guide_says(tmp_path):
    spec = importlib.util.spec_from_file_location(
        "generate_court_export", ROOT / "playlists/generate_court_export.py"
    )
    assert spec is not None and spec.loader is not None
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    committed = ROOT / "playlists/court-export/court-export.xlsx"
    assert generator.write(tmp_path / "again.xlsx").read_bytes() == committed.read_bytes()

    report = import_file(committed, ImportOptions(today=dt.date(2026, 11, 26)))
    assert [p.row for p in report.problems if p.severity is Severity.REFUSED] == [8]  # 序号 4: no 发布时间
    infos = [p.finding.code for p in report.problems if p.severity is Severity.INFO]
    assert infos == ["row.title", "row.title", "column.not_shown", "row.trailer", "row.trailer"]
    given = import_file(
        committed, ImportOptions(today=dt.date(2026, 11, 26), published_on=dt.date(2026, 6, 1))
    )
    first, second, organisation, fourth = given.records
    assert first.term_ends is None and second.case_number == "（2025）鲁0102执1288号"
    assert second.unpaid is not None and str(second.status) == "部分未履行"
    assert isinstance(organisation.debtor, Organisation) and fourth.listed_on == dt.date(2026, 6, 1)
