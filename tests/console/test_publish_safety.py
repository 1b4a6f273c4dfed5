"""The publishing flow's safety against what the security review found: an approval against a diff the
reviewer never saw (H1), a hub restart mid-job (M1), a photos ZIP whose directory exhausts memory (M2), an act
done but not audited (L2), and the hub's secrets reaching the thumbnail renderer (L5). Real SQLite, a real
repository, Django's test client, the real renderer subprocess.
"""

from __future__ import annotations

import io
import os
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.db import connection

from signage.operator.hub.audit.models import AuditEvent
from signage.operator.hub.console import publishing
from signage.operator.hub.console.jobs import recover_interrupted_jobs
from signage.operator.hub.console.models import PublishedVersion, Submission
from signage.operator.hub.console.uploads import MAX_PHOTO_MEMBERS, UploadRefused, check_photos_zip
from signage.operator.publish.channel import current_playlist, publish_records, records_from_json
from signage.operator.publish.thumbnails import render_thumbnails, renderer_environment
from tests.console import test_publish
from tests.console.test_publish import (
    CHANNEL,
    LIVE,
    NOW,
    approve_as_seen,
    export_with_changes,
    imported,
    live_version,
    operator,
    seen_on,
    upload,
)
from tests.helpers import write_csv

repo, clerk, reviewer = test_publish.repo, test_publish.clerk, test_publish.reviewer

pytestmark = pytest.mark.django_db(transaction=True)


def submitted(client, path: Path) -> Submission:
    submission = imported(upload(client, path))
    assert submission.status == Submission.Status.DRAFT, submission.error
    assert client.post(f"/submissions/{submission.pk}/submit").status_code == 302
    return submission


def test_an_approval_against_a_diff_never_seen_is_refused_and_a_get_writes_nothing(repo, clerk, tmp_path):
    first, second = operator("审核员甲", "reviewer"), operator("审核员乙", "reviewer")
    # A: the live list unchanged. B: S3 dropped.
    a = submitted(clerk, write_csv(tmp_path / "a.csv", LIVE))
    b = submitted(clerk, write_csv(tmp_path / "b.csv", LIVE[:2]))
    seen_by_first = seen_on(first, a.pk)  # its diff against v1: no change
    assert approve_as_seen(second, b.pk, "核对无误").status_code == 302 and live_version(repo) == 2
    stored = Submission.objects.get(pk=a.pk).diff
    page = clerk.get(f"/submissions/{a.pk}/").content.decode()  # anyone opens A's page
    assert 'id="stale"' in page and 'id="diff-added">1<' in page  # S3 would come back: shown
    assert Submission.objects.get(pk=a.pk).diff == stored  # but nothing written on a GET
    # The first reviewer clicks approve on the page they opened before B: refused, nothing published.
    response = first.post(
        f"/submissions/{a.pk}/approve", {"comment": "无变化", "seen": seen_by_first}, follow=True
    )
    text = response.content.decode()
    assert response.status_code == 200 and "未发布" in text and 'id="diff-added">1<' in text
    assert live_version(repo) == 2
    assert {r.debtor.name for r in current_playlist(repo, CHANNEL).records} == {"示例林小雨", "示例张三"}
    assert Submission.objects.get(pk=a.pk).status == Submission.Status.SUBMITTED
    assert not AuditEvent.objects.filter(action="approve", version=3).exists()


def test_the_live_list_is_checked_again_under_the_repository_lock(repo, clerk, tmp_path):
    a = submitted(clerk, write_csv(tmp_path / "a.csv", LIVE))
    seen = publishing.parse_seen(seen_on(operator("审核员甲", "reviewer"), a.pk))
    assert seen is not None and seen[0] == 1
    # Another publish lands after the page was read (the view holds no check of its own before this).
    publish_records(
        repo, CHANNEL, records_from_json(a.records)[:1], photos_from=tmp_path, now=NOW,
        settings=publishing.channel_settings(CHANNEL), by="cli", source_name="other.csv",
    )  # fmt: skip
    outcome = publishing.approve(a, reviewer=User.objects.get(username="审核员甲"), comment="ok", seen=seen)
    assert outcome.stale and "第 1 版" in outcome.error and live_version(repo) == 2
    assert Submission.objects.get(pk=a.pk).status == Submission.Status.SUBMITTED


def test_a_restart_clears_raw_uploads_and_stuck_imports_which_can_be_withdrawn(repo, clerk, tmp_path):
    stuck = Submission.objects.create(
        channel=CHANNEL,
        source_name="中断.csv",
        uploaded_by=User.objects.get(username="书记员甲"),
        created_at=NOW,
        status=Submission.Status.IMPORTING,
    )
    private = repo.directory / "console"
    raw = publishing.upload_dir(stuck.pk)
    raw.mkdir(parents=True)
    (raw / "source.csv").write_text("姓名,证件号码\n示例,999999198001011234\n", "utf-8")
    (private / "uploads" / f"{stuck.pk}-photos-x").mkdir()
    (private / "extracting" / str(stuck.pk)).mkdir(parents=True)
    counts = recover_interrupted_jobs()
    assert counts["uploads_deleted"] == 3 and counts["imports_failed"] == 1
    assert not any((private / "uploads").iterdir()) and not any((private / "extracting").iterdir())
    stuck.refresh_from_db()
    assert stuck.status == Submission.Status.IMPORT_FAILED and "重新上传" in stuck.error
    # Withdrawing an import still running (or stuck) is allowed too.
    other = Submission.objects.create(
        channel=CHANNEL, source_name="b.csv", uploaded_by=stuck.uploaded_by, created_at=NOW,
        status=Submission.Status.IMPORTING,
    )  # fmt: skip
    assert clerk.post(f"/submissions/{other.pk}/withdraw").status_code == 302
    assert Submission.objects.get(pk=other.pk).status == Submission.Status.WITHDRAWN


def test_a_restart_reconciles_interrupted_publishes_with_the_repository(repo, clerk, reviewer, tmp_path):
    done = submitted(clerk, write_csv(tmp_path / "a.csv", LIVE[:2]))
    lost = submitted(clerk, write_csv(tmp_path / "b.csv", LIVE[1:]))
    user = User.objects.get(username="审核员乙")
    # "done" was signed as v2 and the hub stopped before the database was told; "lost" never got signed.
    publish_records(
        repo, CHANNEL, records_from_json(done.records), photos_from=tmp_path, now=NOW,
        settings=publishing.channel_settings(CHANNEL), by="审核员乙", source_name="a.csv",
    )  # fmt: skip
    later = NOW.replace(minute=30)
    Submission.objects.filter(pk=done.pk).update(status="publishing", reviewed_by=user, reviewed_at=NOW)
    Submission.objects.filter(pk=lost.pk).update(status="publishing", reviewed_by=user, reviewed_at=later)
    assert recover_interrupted_jobs()["published"] == 1
    done.refresh_from_db()
    lost.refresh_from_db()
    assert done.status == Submission.Status.PUBLISHED and done.published_version == 2
    assert PublishedVersion.objects.get(channel=CHANNEL, version=2).submission_id == done.pk
    assert lost.status == Submission.Status.PUBLISH_FAILED and "重新批准" in lost.error
    assert {e.action for e in AuditEvent.objects.filter(actor="审核员乙").exclude(action="login")} == {
        "approve",
        "publish-failed",
    }
    # The failed one can be approved again.
    assert approve_as_seen(reviewer, lost.pk, "重新批准").status_code == 302 and live_version(repo) == 3


def test_an_upload_that_cannot_be_saved_is_a_form_error_not_a_500(repo, clerk, tmp_path):
    private = repo.directory / "console"
    private.mkdir(parents=True, exist_ok=True)
    (private / "uploads").write_bytes(b"")  # the folder cannot be made (as on a full or broken disk)
    response = upload(clerk, export_with_changes(tmp_path))
    assert response.status_code == 200 and "无法保存" in response.content.decode()
    assert Submission.objects.count() == 0


def test_a_zip_of_many_empty_entries_is_refused_before_its_directory_is_parsed():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for i in range(MAX_PHOTO_MEMBERS + 10_000):
            archive.writestr(f"p{i}.jpg", b"")
    handle = io.BytesIO(out.getvalue())
    tracemalloc.start()
    try:
        with pytest.raises(UploadRefused) as refused:
            check_photos_zip(handle)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert f"{MAX_PHOTO_MEMBERS + 10_000:,}" in refused.value.zh
    assert peak < 1_000_000, peak  # zipfile would hold 30,000 ZipInfo objects: many MB


def test_an_act_done_whose_audit_cannot_be_written_says_it_is_done(repo, clerk, reviewer, tmp_path, caplog):
    submission = submitted(clerk, write_csv(tmp_path / "a.csv", LIVE[:2]))
    seen = seen_on(reviewer, submission.pk)
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_auditevent RENAME TO audit_auditevent_away")
    try:
        response = reviewer.post(
            f"/submissions/{submission.pk}/approve", {"comment": "ok", "seen": seen}, follow=True
        )
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE audit_auditevent_away RENAME TO audit_auditevent")
    text = response.content.decode()
    assert response.status_code == 200 and "已发布为第 2 版" in text and "审计记录写入失败" in text
    assert live_version(repo) == 2
    assert any(r.levelname == "ERROR" and "AUDIT NOT WRITTEN" in r.getMessage() for r in caplog.records)


def test_the_thumbnail_renderer_never_sees_the_hubs_secrets(repo, tmp_path, monkeypatch):
    secrets = {
        "SIGNAGE_KEYS_PASSPHRASE": "示例-passphrase",
        "SIGNAGE_SECRET_KEY": "示例-secret",
        "DATABASE_URL": "postgres://u:p@127.0.0.1/x",
        "CREDENTIALS_DIRECTORY": "/run/credentials/x",
    }
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    assert not set(secrets) & set(renderer_environment(os.environ))
    # The real renderer, with a sitecustomize on its PYTHONPATH that writes down the names it was given.
    spy = tmp_path / "spy"
    spy.mkdir()
    seen = tmp_path / "environment.txt"
    (spy / "sitecustomize.py").write_text(
        f"import os\nopen({str(seen)!r}, 'w').write('\\n'.join(sorted(os.environ)))\n", "utf-8"
    )
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(spy), os.environ.get("PYTHONPATH", "")]))
    playlist = current_playlist(repo, CHANNEL)
    assert playlist is not None
    rendered = render_thumbnails(
        playlist.records[:1], photos_dir=tmp_path, sizes=((640, 360),), out_dir=tmp_path / "out",
        sample=True, timeout=120,
    )  # fmt: skip
    assert all(path.is_file() for paths in rendered.values() for path in paths)
    names = set(seen.read_text("utf-8").split("\n"))
    assert "QT_QPA_PLATFORM" in names and not names & set(secrets)
