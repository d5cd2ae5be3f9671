"""Release feeds against a real HTTP server on 127.0.0.1 serving real CMS files.

The served file is the real HCPCS modifier file with one description changed per variant, so
its checksum is new to this database (the session may have imported the original).
"""

import itertools
import os
import threading
import time
from datetime import date
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.urls import reverse

from codesets import feeds, release_admin
from codesets.models import Release, ReleaseFeed
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

NAME = "hcpcs_level2_modifiers_2026Q1.csv"
_clock = itertools.count(1)


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep the test output clean
        pass


@pytest.fixture
def served(cms_data, tmp_path):
    """A folder served over HTTP: returns (folder, base URL)."""
    folder = tmp_path / "served"
    folder.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _publish(folder: Path, cms_data: Path, variant: str) -> Path:
    original = (cms_data / "modifiers" / NAME).read_text()
    assert "Dressing for one wound," in original
    text = original.replace("Dressing for one wound,", f"Dressing for one wound ({variant}),", 1)
    target = folder / NAME
    target.write_text(text)
    # A later modification time than any earlier variant, so If-Modified-Since sees the change.
    stamp = time.time() + 10 * next(_clock)
    os.utime(target, (stamp, stamp))
    return target


@pytest.fixture
def feed(served, admin_user):
    _folder, base = served
    return feeds.feed_register(
        system="modifier", url=f"{base}/{NAME}", label="Modifier feed", by=admin_user
    )


def test_the_first_check_registers_a_release_for_review_and_never_activates_it(
    feed, served, cms_data
):
    _publish(served[0], cms_data, "A")
    result = feeds.check_feed(feed=feed)
    assert result.error == ""
    release = result.release
    assert release is not None
    assert release.status == Release.Status.PENDING
    assert release.system.slug == "modifier"
    assert release.effective_from == date(2026, 1, 1)  # "2026Q1" in the file name
    assert release.label.startswith("Modifier feed ")
    assert release.source == Release.Source.URL
    release.refresh_from_db()
    assert release.source_url == feed.url
    feed.refresh_from_db()
    assert "registered for review" in feed.last_status
    assert feed.last_checksum == release.checksum
    assert feed.last_modified and feed.last_checked_at


def test_a_second_check_of_the_same_file_creates_nothing(feed, served, cms_data):
    _publish(served[0], cms_data, "A")
    feeds.check_feed(feed=feed)
    before = Release.objects.count()

    # The server answers 304 to If-Modified-Since ...
    result = feeds.check_feed(feed=feed)
    assert result.release is None
    assert "No change" in result.status
    # ... and without the validators the checksum still recognises the file.
    feed.etag = feed.last_modified = ""
    result = feeds.check_feed(feed=feed)
    assert result.release is None
    assert "same file as last time" in result.status
    assert Release.objects.count() == before


def test_a_file_known_as_another_release_creates_nothing(feed, served, cms_data):
    _publish(served[0], cms_data, "A")
    first = feeds.check_feed(feed=feed).release
    feed.etag = feed.last_modified = feed.last_checksum = ""
    result = feeds.check_feed(feed=feed)
    assert result.release is None
    assert first.label in result.status


def test_a_changed_file_creates_a_new_release(feed, served, cms_data):
    _publish(served[0], cms_data, "A")
    first = feeds.check_feed(feed=feed).release
    _publish(served[0], cms_data, "B")
    second = feeds.check_feed(feed=feed).release
    assert second is not None and second.pk != first.pk
    assert second.checksum != first.checksum
    assert second.label == f"{first.label} (2)"


def test_a_missing_file_is_reported_in_plain_words(feed, served):
    result = feeds.check_feed(feed=feed)  # nothing published: 404
    assert result.release is None
    feed.refresh_from_db()
    assert feed.last_status == "Download failed."
    assert "404" in feed.last_error
    assert Release.objects.filter(source_url=feed.url).count() == 0


def test_an_oversized_file_is_refused_and_nothing_is_kept(feed, served, cms_data, settings):
    _publish(served[0], cms_data, "A")
    settings.RELEASE_UPLOAD_MAX_BYTES = 10_000
    before = Release.objects.count()
    feeds.check_feed(feed=feed)
    feed.refresh_from_db()
    assert "the limit is 10,000 bytes" in feed.last_error
    assert feed.last_checksum == ""
    assert Release.objects.count() == before
    assert not list((Path(settings.MEDIA_ROOT) / "releases").glob("*"))


def test_a_file_in_the_wrong_format_is_refused(feed, served):
    (served[0] / NAME).write_text("this is not,a modifier file\n1,2\n")
    before = Release.objects.count()
    result = feeds.check_feed(feed=feed)
    assert result.status == "The new file was refused."
    assert result.error
    assert Release.objects.count() == before


def test_the_beat_task_checks_only_feeds_that_are_due(feed, served, cms_data, admin_user):
    from codesets.tasks import check_release_feeds_task

    _publish(served[0], cms_data, "A")
    off = feeds.feed_register(
        system="hcpcs", url=f"{served[1]}/other.zip", label="Off", by=admin_user
    )
    feeds.feed_deactivate(feed=off)
    results = check_release_feeds_task.apply().get()
    assert len(results) == 1 and results[0]["release_id"]
    assert check_release_feeds_task.apply().get() == []  # checked a moment ago: not due


def test_registering_refuses_bad_input():
    with pytest.raises(feeds.FeedError, match="http"):
        feeds.feed_register(system="hcpcs", url="ftp://example.org/x.zip", label="X")
    with pytest.raises(feeds.FeedError, match="Unknown code system"):
        feeds.feed_register(system="nope", url="https://example.org/x.zip", label="X")
    feeds.feed_register(system="hcpcs", url="https://example.org/x.zip", label="X")
    with pytest.raises(feeds.FeedError, match="already a feed"):
        feeds.feed_register(system="hcpcs", url="https://example.org/x.zip", label="Y")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("ncci_ptp_practitioner_v30.1r0_2024-04-01_from_northstar.csv.gz", date(2024, 4, 1)),
        ("MCR_MUE_PractitionerServices_Eff_04-01-2026.csv", date(2026, 4, 1)),
        ("HCPC2026_JAN_ANWEB_01122026.csv.gz", date(2026, 1, 1)),
        ("january-2026-alpha-numeric-hcpcs-file.zip", date(2026, 1, 1)),
        ("icd10cm-codes-FY2027.zip", date(2026, 10, 1)),
        ("release.zip", None),
    ],
)
def test_effective_dates_come_from_the_file_name(name, expected):
    assert release_admin.effective_date_in_name(name)[0] == expected


# ---------------------------------------------------------------- pages


def test_an_admin_registers_checks_and_deactivates_a_feed(client, admin_user, served, cms_data):
    client.login(username=admin_user.username, password=PASSWORD)
    url = f"{served[1]}/{NAME}"
    response = client.post(
        reverse("codesets:feeds"),
        {"system": "modifier", "setting": "", "url": url, "label": "Mods", "interval_hours": 12},
    )
    assert response.status_code == 302
    feed = ReleaseFeed.objects.get(url=url)
    assert (feed.interval_hours, feed.created_by) == (12, admin_user)
    page = client.get(reverse("codesets:feeds")).content.decode()
    assert url in page and "Check now" in page

    _publish(served[0], cms_data, "A")
    response = client.post(reverse("codesets:feed_check", args=[feed.pk]), follow=True)
    assert "registered for review" in response.content.decode()
    assert Release.objects.filter(source_url=url, status=Release.Status.PENDING).count() == 1

    client.post(reverse("codesets:feed_deactivate", args=[feed.pk]))
    feed.refresh_from_db()
    assert feed.active is False


def test_bad_feed_input_keeps_what_was_typed_and_says_why(client, admin_user):
    client.login(username=admin_user.username, password=PASSWORD)
    response = client.post(
        reverse("codesets:feeds"),
        {"system": "hcpcs", "url": "not an address", "label": "Kept label", "interval_hours": 0},
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert "Nothing was saved" in page
    assert 'value="Kept label"' in page
    assert ReleaseFeed.objects.count() == 0


def test_coders_cannot_reach_the_feed_pages(client, senior):
    client.login(username=senior.username, password=PASSWORD)
    assert client.get(reverse("codesets:feeds")).status_code == 403
