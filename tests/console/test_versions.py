"""Versions and rollback: a rollback re-publishes an earlier version as a new version number, only for a
reviewer, after a confirm page, and never brings back an entry taken down since."""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest

from signage.operator.hub.audit.models import Action, AuditEvent
from signage.operator.hub.console.models import PublishedVersion
from signage.operator.hub.context import HubContext, configure
from signage.operator.publish.channel import current_playlist, records_to_json
from signage.operator.publish.repo import OperatorRepository
from tests.console import ops
from tests.console.ops import CHANNEL, NOW, PUBLISHED, ROWS, publish_rows
from tests.helpers import entry_id_of

clock, hub, make_user, login = ops.clock, ops.hub, ops.make_user, ops.login

pytestmark = pytest.mark.django_db


def keep_version(repo, by: str) -> int:
    """What an approval in the console stores: the published version's records."""
    playlist = current_playlist(repo, CHANNEL)
    PublishedVersion.objects.create(
        channel=CHANNEL,
        version=playlist.version,
        published_at=playlist.issued,
        published_by=by,
        entry_count=len(playlist.records),
        records=records_to_json(playlist.records),
    )
    return playlist.version


@pytest.fixture
def history(hub, tmp_path, login):
    """v1: three entries; 示例林小雨 taken down; v2: only 示例张三."""
    keep_version(hub, "zhao")
    clerk = login("lin", "clerk")
    reply = clerk.post("/takedowns/", {"channel": CHANNEL, "query": "示例林小雨", "reason": "已履行（示例）"})
    assert reply.status_code == 302
    publish_rows(hub, tmp_path, [ROWS[1]], PUBLISHED + dt.timedelta(hours=1))
    keep_version(hub, "zhao")
    return clerk


def test_a_rollback_is_a_new_version_and_leaves_the_revoked_entry_out(hub, history, login, clock):
    reviewer = login("qian", "reviewer")
    page = reviewer.get("/versions/").content.decode()
    assert 'id="versions"' in page
    assert page.count('class="rollback"') == 1  # only v1: v2 is the current one
    assert f"/versions/{CHANNEL}/1/rollback/" in page

    confirm = reviewer.get(f"/versions/{CHANNEL}/1/rollback/")
    html = confirm.content.decode()
    assert confirm.status_code == 200 and 'id="rollback-form"' in html
    assert "示例林小雨" in html and "仍不会显示" in html
    assert current_playlist(hub, CHANNEL).version == 2  # the confirm page changed nothing

    clock.now = NOW + dt.timedelta(minutes=5)
    done = reviewer.post(f"/versions/{CHANNEL}/1/rollback/", {"reason": "第 2 版漏了两条（示例）"})
    assert done.status_code == 302
    playlist = current_playlist(hub, CHANNEL)
    assert playlist.version == 3
    assert {r.entry_id for r in playlist.records} == {entry_id_of(ROWS[1]), entry_id_of(ROWS[2])}
    assert playlist.sample  # the channel's settings carried over

    row = PublishedVersion.objects.get(channel=CHANNEL, version=3)
    assert row.rollback_of == 1 and row.published_by == "qian" and row.entry_count == 2
    event = AuditEvent.objects.get(action=Action.ROLLBACK)
    assert event.version == 3 and event.actor == "qian" and event.reason == "第 2 版漏了两条（示例）"
    assert event.details == {"rollback_of": 1, "published": 2, "left_out": 1}
    assert [e["name"] for e in event.entries] == ["示例林小雨"]
    listing = reviewer.get("/versions/").content.decode()
    assert "回滚到第 1 版" in listing
    # Rolling back again to v1 gives v4, never a number used before.
    assert (
        reviewer.post(f"/versions/{CHANNEL}/1/rollback/", {"reason": "再来一次（示例）"}).status_code == 302
    )
    assert current_playlist(hub, CHANNEL).version == 4


def test_a_clerk_cannot_roll_back(hub, history):
    page = history.get("/versions/")
    assert page.status_code == 200 and 'class="rollback"' not in page.content.decode()
    assert history.get(f"/versions/{CHANNEL}/1/rollback/").status_code == 403
    assert history.post(f"/versions/{CHANNEL}/1/rollback/", {"reason": "示例原因"}).status_code == 403
    assert current_playlist(hub, CHANNEL).version == 2


def test_anonymous_goes_to_login(hub, client):
    response = client.get(f"/versions/{CHANNEL}/1/rollback/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_only_an_earlier_stored_version_can_be_restored(hub, history, login):
    reviewer = login("qian", "reviewer")
    for version in (2, 7, 0):
        assert reviewer.get(f"/versions/{CHANNEL}/{version}/rollback/").status_code == 404
    assert reviewer.get("/versions/other-channel/1/rollback/").status_code == 404
    short = reviewer.post(f"/versions/{CHANNEL}/1/rollback/", {"reason": "x"})
    assert short.status_code == 400
    assert current_playlist(hub, CHANNEL).version == 2


def test_a_version_published_outside_the_console_is_listed(hub, login):
    page = login("qian", "reviewer").get("/versions/").content.decode()
    assert "在操作台之外发布" in page and 'class="rollback"' not in page


def test_a_rollback_serves_the_old_versions_photos_again_from_the_consoles_copies(hub, tmp_path, login):
    from PIL import Image

    from tests.helpers import HEADERS, write_csv

    photos = tmp_path / "src" / "photos"
    photos.mkdir(parents=True)
    Image.new("RGB", (60, 80), (200, 30, 30)).save(photos / "lin.jpg", format="JPEG")
    with_photo = [{**ROWS[0], "照片": "lin.jpg"}, {**ROWS[1], "照片": ""}]
    source = write_csv(tmp_path / "src" / "list.csv", with_photo, headers=(*HEADERS, "照片"))
    from signage.operator.publish.channel import ChannelSettings, publish_channel

    publish_channel(
        hub,
        CHANNEL,
        source,
        photos=photos,
        now=PUBLISHED + dt.timedelta(minutes=5),
        settings=ChannelSettings(sample=True),
    )
    version = keep_version(hub, "zhao")
    digest = current_playlist(hub, CHANNEL).records[0].photo.sha256
    # What the console keeps for every approved list: its photos, by hash, beside the repository.
    kept = hub.directory / "console" / "photos"
    kept.mkdir(parents=True, exist_ok=True)
    (kept / digest).write_bytes((hub.photos_dir / digest).read_bytes())

    # Two versions later the photo has left the served folder (the last versions' photos stay served).
    for hours in (1, 2):
        publish_rows(hub, tmp_path, [ROWS[1]], PUBLISHED + dt.timedelta(hours=hours))
        keep_version(hub, "zhao")
    assert not (hub.photos_dir / digest).exists()

    reviewer = login("qian", "reviewer")
    assert (
        reviewer.post(
            f"/versions/{CHANNEL}/{version}/rollback/", {"reason": "恢复第 2 版（示例）"}
        ).status_code
        == 302
    )
    assert (hub.photos_dir / digest).exists()
    assert current_playlist(hub, CHANNEL).records[0].photo.sha256 == digest


class _NextPublisherWaits(HubContext):
    """The hub's repository, where another publisher takes the lock the moment a publish releases it (the
    worst moment for a view that would read the live list after the lock)."""

    def repository(self):
        context = self

        class Repository(OperatorRepository):
            @contextlib.contextmanager
            def locked(self):
                with super().locked():
                    yield
                if context.next_publish:
                    rows, context.next_publish = context.next_publish, []
                    publish_rows(self, context.folder, rows, NOW + dt.timedelta(minutes=9))

        return Repository(self.repo_dir, self.keys_dir, passphrase=self.passphrase)


def test_a_rollback_stores_the_records_it_signed_not_a_concurrent_publishs(
    hub, history, login, clock, tmp_path
):
    reviewer = login("qian", "reviewer")
    context = _NextPublisherWaits(repo_dir=hub.directory, clock=clock)
    object.__setattr__(context, "next_publish", [ROWS[1]])
    object.__setattr__(context, "folder", tmp_path)
    configure(context)
    assert reviewer.post(f"/versions/{CHANNEL}/1/rollback/", {"reason": "回滚（示例）"}).status_code == 302
    assert current_playlist(hub, CHANNEL).version == 4  # the other publisher's, right after the rollback's v3
    row = PublishedVersion.objects.get(channel=CHANNEL, version=3)
    assert {r["id"] for r in row.records} == {entry_id_of(ROWS[1]), entry_id_of(ROWS[2])}
    assert row.entry_count == 2
