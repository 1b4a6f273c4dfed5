"""The console's publishing flow, end to end through Django's test client: upload a real export, follow its
import, read the report, the diff against what is live and the thumbnails, submit, and have another
reviewer approve (four eyes) or reject. Real SQLite, a real initialised repository, the real job thread.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import shutil
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from PIL import Image

from signage.operator.hub.audit.models import AuditEvent
from signage.operator.hub.audit.models import verify as verify_audit
from signage.operator.hub.console.models import PublishedVersion, Submission
from signage.operator.hub.context import HubContext, configure
from signage.operator.publish.channel import ChannelSettings, current_playlist, publish_channel
from signage.operator.publish.repo import OperatorRepository
from tests.helpers import HEADERS, full_id, person_row, wait_until, write_csv

CHANNEL = "jinan-station"
PUBLISHED = dt.datetime(2026, 11, 26, 2, 0, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 11, 26, 4, 0, tzinfo=dt.UTC)
COURT_EXPORT = Path(__file__).resolve().parents[2] / "playlists" / "court-export" / "court-export.xlsx"
PASSWORD = "示例-correct-horse-battery"

#: What is live before the test: three fictional debtors (示例), case numbers with full-width brackets.
LIVE = [
    person_row("S1", 姓名="示例林小雨", 证件号码="9999991980****1234", 案号="（2025）鲁0102执1001号"),
    person_row("S2", 姓名="示例张三", 证件号码="9999991975****5678", 案号="（2025）鲁0102执1002号"),
    person_row("S3", 姓名="示例王五", 证件号码="9999991990****4321", 案号="（2025）鲁0102执1003号"),
]

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def repo(tmp_path: Path) -> OperatorRepository:
    """A repository with the three live rows published as version 1, and the hub configured on it."""
    repository = OperatorRepository.init(tmp_path / "DIR", now=PUBLISHED)
    source = write_csv(tmp_path / "live.csv", LIVE)
    assert publish_channel(
        repository, CHANNEL, source, photos=None, now=PUBLISHED, settings=ChannelSettings()
    ).version
    configure(HubContext(repo_dir=repository.directory, clock=lambda: NOW))
    return repository


def live_version(repo: OperatorRepository) -> int:
    playlist = current_playlist(repo, CHANNEL)
    assert playlist is not None
    return playlist.version


def operator(name: str, role: str) -> Client:
    user = User.objects.create_user(name, password=PASSWORD)
    user.groups.add(Group.objects.get(name=role))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def clerk(repo: OperatorRepository) -> Client:
    return operator("书记员甲", "clerk")


@pytest.fixture
def reviewer(repo: OperatorRepository) -> Client:
    return operator("审核员乙", "reviewer")


def upload(client: Client, source: Path, photos: bytes | None = None, **fields: Any) -> Any:
    data: dict[str, Any] = {"channel": CHANNEL, **fields}
    with source.open("rb") as handle:
        data["source"] = handle
        if photos is not None:
            data["photos"] = _named(photos, "photos.zip")
        return client.post("/upload/", data)


def _named(data: bytes, name: str) -> io.BytesIO:
    handle = io.BytesIO(data)
    handle.name = name
    return handle


def imported(response: Any) -> Submission:
    """The submission an upload created, once its import has finished."""
    assert response.status_code == 302, response.content.decode()[:2000]
    pk = int(response["Location"].rstrip("/").split("/")[-1])
    wait_until(
        lambda: Submission.objects.get(pk=pk).status != Submission.Status.IMPORTING,
        timeout=120,
        what="the import to finish",
    )
    submission: Submission = Submission.objects.get(pk=pk)
    return submission


def export_with_changes(folder: Path) -> Path:
    """The live list with S1 changed (amount), S3 gone, one new debtor with a photo, and a refused row: an ID
    turned into a number by Excel."""
    rows = [
        person_row(
            "S1",
            姓名="示例林小雨",
            证件号码="9999991980****1234",
            案号="(2025)鲁0102执1001号",
            执行标的="2,000.00",
        ),
        LIVE[1],
        person_row(
            "S4", 姓名="示例赵六", 证件号码="9999991985****2468", 案号="（2025）鲁0102执1004号", 照片="p4.jpg"
        ),
        person_row("S5", 姓名="示例钱七", 证件号码="9.99999E+17", 案号="（2025）鲁0102执1005号"),
    ]
    return write_csv(folder / "新名单.csv", rows, headers=(*HEADERS, "照片"))


def approve_as_seen(client: Client, pk: int, comment: str, **kwargs: Any) -> Any:
    """Open the submission's page as the reviewer does, then click approve on that page's form."""
    return client.post(
        f"/submissions/{pk}/approve", {"comment": comment, "seen": seen_on(client, pk)}, **kwargs
    )


def seen_on(client: Client, pk: int) -> str:
    """The live playlist the page's diff was computed against, as its review form carries it."""
    page = client.get(f"/submissions/{pk}/").content.decode()
    found = re.search(r'name="seen" value="([^"]*)"', page)
    assert found, "the review form carries what was shown"
    return found.group(1)


def photos_zip(**members: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def jpeg(colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (60, 80), colour).save(out, format="JPEG")
    return out.getvalue()


def test_upload_shows_report_diff_and_thumbnails_and_keeps_only_masked_records(repo, clerk, tmp_path):
    source = export_with_changes(tmp_path)
    submission = imported(upload(clerk, source, photos_zip(**{"photos/p4.jpg": jpeg((200, 30, 30))})))
    assert submission.status == Submission.Status.DRAFT, submission.error
    assert submission.report["refused_row_count"] == 1 and submission.report["accepted"] == 3
    assert submission.diff["counts"] == {"added": 1, "removed": 1, "changed": 1, "unchanged": 1}
    assert submission.diff["live_version"] == 1
    page = clerk.get(f"/submissions/{submission.pk}/").content.decode()
    # The per-row report as `signage check` words it: row 5, 序号 S5, the ID column, refused.
    assert 'id="report-problems"' in page and 'class="sev-refused"' in page
    assert ">5</td>" in page and ">S5</td>" in page
    assert 'id="diff-added">1<' in page and 'id="diff-removed">1<' in page and 'id="diff-changed">1<' in page
    assert "示例赵六" in page and "示例王五" in page and "（2025）鲁0102执1003号" in page
    assert 'id="submit-for-review"' in page
    # Thumbnails of the added and the changed entry, in both screen shapes, served from the private folder.
    assert sorted(len(files) for files in submission.thumbnails.values()) == [2, 2]
    thumb = next(iter(submission.thumbnails.values()))[0]
    image = clerk.get(f"/submissions/{submission.pk}/thumbnails/{thumb}")
    assert image.status_code == 200 and b"".join(image.streaming_content).startswith(b"\x89PNG")
    assert not (repo.public / thumb).exists() and page.count('class="thumb"') == 4
    # The raw upload is gone; the records kept are masked.
    private = repo.directory / "console"
    assert (
        not any((private / "uploads").iterdir())
        and not (private / "extracting" / str(submission.pk)).exists()
    )
    stored = json.dumps(submission.records, ensure_ascii=False)
    assert "9999991985****2468" in stored or "999999********2468" in stored
    assert len(list((private / "photos").iterdir())) == 1
    # Logins are audited too; this test is about the acts on the list.
    events = [e.action for e in AuditEvent.objects.exclude(action="login").order_by("sequence")]
    assert events == ["upload"]


def test_court_xlsx_export_with_title_and_total_rows_imports(repo, clerk):
    submission = imported(upload(clerk, COURT_EXPORT))
    assert submission.status == Submission.Status.DRAFT, submission.error
    assert submission.report["accepted"] > 0
    assert submission.progress_done == submission.report["rows_read"]
    skipped = [p for p in submission.report["problems"] if p["severity"] == "info"]
    assert skipped, "the title and total rows are reported as skipped"
    page = clerk.get(f"/submissions/{submission.pk}/").content.decode()
    assert 'class="sev-info"' in page and 'id="diff-added"' in page


def test_four_eyes_then_another_reviewer_approves_and_the_repository_has_the_new_version(
    repo, clerk, reviewer, tmp_path
):
    submission = imported(
        upload(clerk, export_with_changes(tmp_path), photos_zip(**{"p4.jpg": jpeg((1, 2, 3))}))
    )
    assert clerk.post(f"/submissions/{submission.pk}/submit").status_code == 302
    page = clerk.get(f"/submissions/{submission.pk}/").content.decode()
    assert 'id="own-submission"' in page and 'id="approve"' not in page
    assert clerk.post(f"/submissions/{submission.pk}/approve").status_code == 403

    # A reviewer who uploads cannot approve their own either: the button is absent and the POST refused.
    own = imported(
        upload(
            reviewer, export_with_changes(tmp_path / "x" if (tmp_path / "x").mkdir() is None else tmp_path)
        )
    )
    reviewer.post(f"/submissions/{own.pk}/submit")
    assert 'id="approve"' not in reviewer.get(f"/submissions/{own.pk}/").content.decode()
    refused = reviewer.post(f"/submissions/{own.pk}/approve", {"comment": "自己批准"})
    assert refused.status_code == 403 and "四眼" in refused.content.decode()
    assert Submission.objects.get(pk=own.pk).status == Submission.Status.SUBMITTED

    page = reviewer.get(f"/submissions/{submission.pk}/").content.decode()
    assert 'id="approve"' in page and 'id="reject"' in page and 'id="id_comment"' in page
    response = approve_as_seen(reviewer, submission.pk, "核对无误", follow=True)
    assert "已批准并发布为第 2 版" in response.content.decode()
    submission.refresh_from_db()
    assert submission.status == Submission.Status.PUBLISHED and submission.published_version == 2
    live = current_playlist(repo, CHANNEL)
    assert live is not None and live.version == 2
    assert sorted(r.debtor.name for r in live.records) == ["示例张三", "示例林小雨", "示例赵六"]
    assert any(r.photo is not None and (repo.photos_dir / r.photo.sha256).is_file() for r in live.records)
    version = PublishedVersion.objects.get(channel=CHANNEL, version=2)
    assert version.entry_count == 3 and len(version.records) == 3 and version.published_by == "审核员乙"
    approve = AuditEvent.objects.get(action="approve")
    assert approve.version == 2 and approve.reason == "核对无误" and "示例王五" in approve.entry_text
    assert [e.action for e in AuditEvent.objects.exclude(action="login").order_by("sequence")] == [
        "upload",
        "submit",
        "upload",
        "submit",
        "approve",
    ]
    assert verify_audit().ok


def test_reject_needs_a_comment_and_is_audited(repo, clerk, reviewer, tmp_path):
    submission = imported(upload(clerk, export_with_changes(tmp_path)))
    clerk.post(f"/submissions/{submission.pk}/submit")
    assert reviewer.post(f"/submissions/{submission.pk}/reject", {"comment": ""}).status_code == 400
    assert (
        reviewer.post(f"/submissions/{submission.pk}/reject", {"comment": "第5行证件号码有误"}).status_code
        == 302
    )
    submission.refresh_from_db()
    assert (
        submission.status == Submission.Status.REJECTED and submission.review_comment == "第5行证件号码有误"
    )
    event = AuditEvent.objects.get(action="reject")
    assert event.actor == "审核员乙" and event.reason == "第5行证件号码有误"
    assert live_version(repo) == 1
    # Nothing more can be done with a rejected list.
    assert reviewer.post(f"/submissions/{submission.pk}/approve").status_code == 409


def test_stale_submission_shows_a_warning_and_the_fresh_diff_and_approval_needs_it_seen(
    repo, clerk, reviewer, tmp_path
):
    submission = imported(upload(clerk, export_with_changes(tmp_path)))
    clerk.post(f"/submissions/{submission.pk}/submit")
    seen_before = seen_on(reviewer, submission.pk)
    # Meanwhile someone publishes from the command line: S2 is no longer live.
    later = write_csv(tmp_path / "later.csv", [LIVE[0], LIVE[2]])
    publish_channel(repo, CHANNEL, later, photos=None, now=NOW, settings=ChannelSettings())
    # The approval clicked on the page opened before is held back, with the fresh diff shown.
    response = reviewer.post(
        f"/submissions/{submission.pk}/approve", {"comment": "ok", "seen": seen_before}, follow=True
    )
    page = response.content.decode()
    assert 'id="stale"' in page and "重新计算" in page and "未发布" in page
    assert 'id="diff-added">2<' in page  # S4 and S2, which is no longer live
    submission.refresh_from_db()
    assert submission.status == Submission.Status.SUBMITTED and live_version(repo) == 2
    # A form that names no diff at all is refused too.
    assert reviewer.post(f"/submissions/{submission.pk}/approve", {"comment": "ok"}).status_code == 400
    approve_as_seen(reviewer, submission.pk, "已核对新差异")
    assert live_version(repo) == 3
    submission.refresh_from_db()
    assert submission.diff["live_version"] == 2 and submission.diff["counts"]["added"] == 2


def test_publish_failure_is_shown_never_a_500(repo, clerk, reviewer, tmp_path):
    submission = imported(
        upload(clerk, export_with_changes(tmp_path), photos_zip(**{"p4.jpg": jpeg((9, 9, 9))}))
    )
    clerk.post(f"/submissions/{submission.pk}/submit")
    # The staged photo vanished (a disk cleaned by hand): publishing must fail with the reason.
    shutil.rmtree(repo.directory / "console" / "photos")
    response = approve_as_seen(reviewer, submission.pk, "ok", follow=True)
    assert response.status_code == 200 and "发布失败" in response.content.decode()
    submission.refresh_from_db()
    assert submission.status == Submission.Status.PUBLISH_FAILED and "照片" in submission.error
    assert AuditEvent.objects.filter(action="publish-failed").count() == 1
    assert live_version(repo) == 1


def _bomb(members: int, member_bytes: int = 256 << 20) -> bytes:
    """A ZIP bomb written by hand: every member's directory entry points at the same deflated zeros, so a file
    of a few hundred KB declares gigabytes (and building it takes a second, not minutes)."""
    chunk = b"\0" * (1 << 20)
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    payload = b"".join(packer.compress(chunk) for _ in range(member_bytes >> 20)) + packer.flush()
    crc = 0
    for _ in range(member_bytes >> 20):
        crc = zlib.crc32(chunk, crc)
    name = b"p0.jpg"
    out = io.BytesIO()
    header = (b"PK\x03\x04", 20, 0, 8, 0, 0x21, crc, len(payload), member_bytes, len(name), 0)
    out.write(struct.pack("<4s5H3L2H", *header) + name + payload)
    central = b"".join(
        struct.pack(
            "<4s6H3L5H2L",
            *(
                b"PK\x01\x02",
                20,
                20,
                0,
                8,
                0,
                0x21,
                crc,
                len(payload),
                member_bytes,
                len(f"p{i}.jpg"),
                0,
                0,
                0,
                0,
            ),
            0,
            0,
        )
        + f"p{i}.jpg".encode()
        for i in range(members)
    )
    start = out.tell()
    out.write(
        central + struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, members, members, len(central), start, 0)
    )
    return out.getvalue()


def test_a_zip_bomb_is_refused_with_a_clear_message(repo, clerk, tmp_path):
    bomb = _bomb(12)
    assert (
        len(bomb) < 1_000_000
        and sum(i.file_size for i in zipfile.ZipFile(io.BytesIO(bomb)).infolist()) >= 3 << 30
    )
    response = upload(clerk, export_with_changes(tmp_path), bomb)
    assert response.status_code == 200
    page = response.content.decode()
    # In the page's language: Chinese by default, English after the switch.
    assert "压缩炸弹" in page and "ZIP bomb" not in page
    clerk.post("/i18n/setlang/", {"language": "en", "next": "/upload/"})
    page = upload(clerk, export_with_changes(tmp_path), bomb).content.decode()
    assert "ZIP bomb" in page and "压缩炸弹" not in page
    assert Submission.objects.count() == 0 and not (repo.directory / "console" / "uploads").exists()


def test_path_traversal_and_links_in_the_photos_zip_are_refused(repo, clerk, tmp_path):
    evil = photos_zip(**{"../../../etc/cron.d/x.jpg": jpeg((1, 1, 1))})
    page = upload(clerk, export_with_changes(tmp_path), evil).content.decode()
    assert "指向压缩包以外" in page and Submission.objects.count() == 0
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        link = zipfile.ZipInfo("p4.jpg")
        link.external_attr = 0o120777 << 16
        archive.writestr(link, "/etc/passwd")
    page = upload(clerk, export_with_changes(tmp_path), out.getvalue()).content.decode()
    assert "是链接" in page and Submission.objects.count() == 0


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("list.xlsx", "姓名,案号\n".encode(), "不是 Excel 工作簿"),
        ("list.csv", b"PK\x03\x04garbage", "不是文本"),
        ("list.xls", b"\xd0\xcf\x11\xe0", "另存为"),
        ("list.pdf", b"%PDF-1.4", "不支持的文件类型"),
        ("list.csv", b"", "空"),
    ],
)
def test_garbage_uploads_get_form_errors(repo, clerk, tmp_path, name, content, message):
    (tmp_path / name).write_bytes(content)
    response = upload(clerk, tmp_path / name)
    assert response.status_code == 200 and message in response.content.decode()
    assert Submission.objects.count() == 0


def test_broken_workbook_and_bad_channel_never_500(repo, clerk, tmp_path):
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04" + b"\x00" * 200)
    submission = imported(upload(clerk, broken))
    assert submission.status == Submission.Status.IMPORT_FAILED and submission.error
    assert clerk.get(f"/submissions/{submission.pk}/").status_code == 200
    assert clerk.post(f"/submissions/{submission.pk}/submit").status_code == 409
    response = upload(clerk, export_with_changes(tmp_path), channel="../Etc")
    assert response.status_code == 200 and "频道编号" in response.content.decode()
    assert clerk.get("/submissions/999/").status_code == 404
    assert clerk.post("/submissions/999/approve").status_code == 403  # a clerk may not review at all
    assert clerk.get(f"/submissions/{submission.pk}/thumbnails/..%2Fsecret_key").status_code == 404
    assert clerk.get(f"/submissions/{submission.pk}/progress").json()["finished"] is True


def test_submissions_list_filters_by_status(repo, clerk, reviewer, tmp_path):
    first = imported(upload(clerk, export_with_changes(tmp_path)))
    imported(upload(clerk, COURT_EXPORT))
    clerk.post(f"/submissions/{first.pk}/submit")
    page = reviewer.get("/submissions/").content.decode()
    assert 'id="submissions"' in page and page.count("书记员甲") == 2
    filtered = reviewer.get("/submissions/?status=submitted").content.decode()
    assert "新名单.csv" in filtered and "court-export.xlsx" not in filtered
    assert reviewer.get("/submissions/?status=nonsense").status_code == 200


def test_upload_needs_the_permission(repo):
    nobody = Client()
    nobody.force_login(User.objects.create_user("访客", password=PASSWORD))
    assert nobody.get("/upload/").status_code == 403
    assert Client().get("/upload/").status_code == 302
    assert full_id("19800101")  # the helpers build fictional IDs only
