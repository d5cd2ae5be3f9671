"""The admin's release pages: upload or URL → checked → Celery import (eager here) with
progress → counts; refusals that write nothing; schedule + beat; retire; diff filters and CSV.

The release files are small HCPCS Level II modifier CSVs in the real CMS format, written here.
"""

import csv
import functools
import http.server
import io
import threading
from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from codesets import release_admin
from codesets.importers.base import progress_publish
from codesets.models import Code, Release
from codesets.tasks import activate_scheduled_releases_task

pytestmark = pytest.mark.django_db

HEADER = (
    "modifier,long_description,short_description,add_date,action_effective_date,"
    "termination_date,action_code\n"
)
V1 = HEADER + (
    "ZA,Test modifier alpha,Alpha,20260101,20260101,,N\n"
    "ZB,Test modifier bravo,Bravo,20260101,20260101,,N\n"
    "ZC,Test modifier charlie,Charlie,20260101,20260101,,N\n"
)
V2 = HEADER + (
    "ZA,Test modifier alpha,Alpha,20260101,20260101,,N\n"
    "ZB,Test modifier bravo revised wording,Bravo,20260101,20270101,,C\n"
    "ZD,Test modifier delta,Delta,20270101,20270101,,A\n"
    "ZE,Test modifier echo,Echo,20270101,20270101,,A\n"
)
V1_NAME = "hcpcs_modifiers_2026-07-01.csv"
V2_NAME = "hcpcs_modifiers_2027-01-01.csv"


@pytest.fixture(autouse=True)
def isolated(settings, tmp_path):
    """Files under a temporary MEDIA_ROOT; progress in a private cache; no modifier release
    active but ours (the test's transaction puts the real ones back)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    Release.objects.filter(system__slug="modifier", status=Release.Status.ACTIVE).update(
        status=Release.Status.RETIRED
    )


@pytest.fixture
def eager_celery():
    """Unit tests run Celery tasks in-process; the real worker is tested elsewhere."""
    from coding_bench.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@pytest.fixture
def admin_client(admin_user):
    browser = Client()
    browser.force_login(admin_user)
    return browser


def _staging_entries(settings) -> list:
    root = settings.MEDIA_ROOT / "release-staging"
    return list(root.iterdir()) if root.exists() else []


def _upload(client, name: str, text: str, system: str = ""):
    return client.post(
        reverse("codesets:release_upload"),
        {"file": SimpleUploadedFile(name, text.encode(), "text/csv"), "system": system},
    )


def _confirm(client, confirm_url: str, capture, **overrides):
    page = client.get(confirm_url)
    form = page.context["form"]
    data = {
        "staged": page.context["staged"].token,
        "system": form.initial["system"],
        "setting": form.initial["setting"],
        "label": form.initial["label"],
        "effective_from": form.initial["effective_from"].isoformat(),
        "effective_to": "",
        **overrides,
    }
    with capture(execute=True):
        return client.post(reverse("codesets:release_confirm"), data)


def _import(client, capture, name: str, text: str) -> Release:
    staged = _upload(client, name, text)
    response = _confirm(client, staged.url, capture)
    assert response.status_code == 302, response.content
    return Release.objects.get(pk=response.url.rstrip("/").split("/")[-1])


def test_an_uploaded_file_is_checked_prefilled_imported_and_counted(
    admin_client, admin_user, eager_celery, django_capture_on_commit_callbacks, settings
):
    response = _upload(admin_client, V1_NAME, V1)
    assert response.status_code == 302
    assert response.url.startswith(reverse("codesets:release_confirm"))
    assert not Release.objects.filter(label__startswith="HCPCS modifiers 2026-07").exists()

    page = admin_client.get(response.url)
    form = page.context["form"]
    # Pre-filled from what the file name says; the system detected from the file itself.
    assert form.initial["system"] == "modifier"
    assert form.initial["label"] == "HCPCS modifiers 2026-07-01"
    assert form.initial["effective_from"] == date(2026, 7, 1)
    assert "HCPCS Level II modifier CSV" in page.content.decode()

    done = _confirm(admin_client, response.url, django_capture_on_commit_callbacks)
    release = Release.objects.get(label="HCPCS modifiers 2026-07-01")
    assert done.url == reverse("codesets:release_detail", args=[release.pk])
    assert release.status == Release.Status.IMPORTED
    assert release.source == Release.Source.UPLOAD
    assert release.created_by == admin_user
    assert release.row_count == 3
    assert sorted(Code.objects.filter(release=release).values_list("code", flat=True)) == [
        "ZA",
        "ZB",
        "ZC",
    ]
    assert _staging_entries(settings) == []  # the staged copy is gone once registered

    partial = admin_client.get(reverse("codesets:release_progress", args=[release.pk]))
    text = partial.content.decode()
    assert partial.status_code == 200
    assert "Imported <strong>3</strong> rows" in text
    assert "every 1s" not in text  # finished: no more polling
    assert "Rows per section" in text  # the importer's breakdown is shown


def test_the_progress_fragment_polls_and_shows_rows_done_of_total(admin_client, admin_user):
    release = Release.objects.create(
        system=release_admin.services.code_system_get("modifier"),
        label="Modifiers in flight",
        effective_from=date(2026, 7, 1),
        source=Release.Source.UPLOAD,
        source_name="x.csv",
        checksum="f" * 64,
        status=Release.Status.IMPORTING,
    )
    progress_publish(release.pk, 5000, 20000)  # what the importer writes while it runs
    url = reverse("codesets:release_progress", args=[release.pk])
    running = admin_client.get(url, {"poll": "1"}, HTTP_HX_REQUEST="true")
    text = running.content.decode()
    assert 'hx-trigger="every 1s"' in text
    assert "<strong>5,000</strong> of 20,000 rows" in text
    assert 'max="20000" value="5000"' in text
    assert "HX-Refresh" not in running.headers

    Release.objects.filter(pk=release.pk).update(status=Release.Status.IMPORTED, row_count=20000)
    finished = admin_client.get(url, {"poll": "1"}, HTTP_HX_REQUEST="true")
    assert finished.headers["HX-Refresh"] == "true"  # reload once: actions match the status
    assert "every 1s" not in finished.content.decode()


def test_a_failed_import_shows_the_error_in_plain_words(
    admin_client, eager_celery, django_capture_on_commit_callbacks
):
    broken = V1 + "ZA,Alpha again,Alpha,20260101,20260101,,N\n"
    release = _import(admin_client, django_capture_on_commit_callbacks, V1_NAME, broken)
    assert release.status == Release.Status.FAILED
    assert not Code.objects.filter(release=release).exists()  # no half release
    page = admin_client.get(reverse("codesets:release_detail", args=[release.pk]))
    text = page.content.decode()
    assert "The import failed." in text
    assert "ZA appears twice in the file." in text

    refused = admin_client.post(
        reverse("codesets:release_activate", args=[release.pk]), follow=True
    )
    assert "Not activated. Only an imported release can be activated" in refused.content.decode()
    release.refresh_from_db()
    assert release.status == Release.Status.FAILED


def test_the_same_file_twice_opens_the_existing_release(
    admin_client, eager_celery, django_capture_on_commit_callbacks, settings
):
    first = _import(admin_client, django_capture_on_commit_callbacks, V1_NAME, V1)
    before = Release.objects.count()
    again = _upload(admin_client, "renamed-copy.csv", V1)
    assert again.status_code == 302
    assert again.url == reverse("codesets:release_detail", args=[first.pk])
    assert Release.objects.count() == before
    assert _staging_entries(settings) == []


def test_a_file_of_the_wrong_format_is_refused_with_nothing_written(admin_client, settings):
    before = Release.objects.count()
    response = _upload(admin_client, "notes.csv", "code,description\nA1,Something\n")
    assert response.status_code == 200
    text = response.content.decode()
    assert "Nothing was imported." in text and "no known format fits" in text
    chosen = _upload(admin_client, "notes.csv", "code,description\nA1,x\n", system="modifier")
    assert "notes.csv is not a HCPCS/CPT modifiers file" in chosen.content.decode()
    assert "or the HCPCS Level II modifier CSV (modifier, long_description" in (
        chosen.content.decode()
    )
    assert Release.objects.count() == before
    assert _staging_entries(settings) == []


def test_a_file_over_the_size_limit_is_refused_with_nothing_written(admin_client, settings):
    settings.RELEASE_UPLOAD_MAX_BYTES = 100
    before = Release.objects.count()
    response = _upload(admin_client, V1_NAME, V1)
    assert response.status_code == 200
    assert "the limit is 100 bytes" in response.content.decode()
    assert Release.objects.count() == before
    assert _staging_entries(settings) == []


@pytest.fixture
def file_server(tmp_path):
    """A local HTTP server on 127.0.0.1 serving a temporary folder (no network)."""
    folder = tmp_path / "served"
    folder.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_release_is_imported_from_a_url(
    admin_client, eager_celery, django_capture_on_commit_callbacks, file_server
):
    folder, base = file_server
    (folder / V2_NAME).write_text(V2)
    response = admin_client.post(
        reverse("codesets:release_upload"), {"url": f"{base}/{V2_NAME}", "system": "modifier"}
    )
    assert response.status_code == 302, response.content
    done = _confirm(admin_client, response.url, django_capture_on_commit_callbacks)
    release = Release.objects.get(pk=done.url.rstrip("/").split("/")[-1])
    assert release.source == Release.Source.URL
    assert release.source_url == f"{base}/{V2_NAME}"
    assert release.effective_from == date(2027, 1, 1)
    assert release.status == Release.Status.IMPORTED and release.row_count == 4


def test_a_url_that_fails_is_refused_in_plain_words(admin_client, file_server, settings):
    _folder, base = file_server
    before = Release.objects.count()
    response = admin_client.post(
        reverse("codesets:release_upload"), {"url": f"{base}/missing.csv", "system": ""}
    )
    assert "The server answered 404" in response.content.decode()
    assert Release.objects.count() == before
    assert _staging_entries(settings) == []


def test_activate_now_puts_the_release_in_force(
    admin_client, eager_celery, django_capture_on_commit_callbacks
):
    release = _import(admin_client, django_capture_on_commit_callbacks, V1_NAME, V1)
    response = admin_client.post(
        reverse("codesets:release_activate", args=[release.pk]), follow=True
    )
    assert "is active: in force from 2026-07-01" in response.content.decode()
    release.refresh_from_db()
    assert release.status == Release.Status.ACTIVE


def test_a_scheduled_release_is_activated_by_the_beat_task_on_its_date(
    admin_client, eager_celery, django_capture_on_commit_callbacks
):
    old = _import(admin_client, django_capture_on_commit_callbacks, V1_NAME, V1)
    admin_client.post(reverse("codesets:release_activate", args=[old.pk]))
    new = _import(admin_client, django_capture_on_commit_callbacks, V2_NAME, V2)
    on = date(2027, 1, 1)
    response = admin_client.post(
        reverse("codesets:release_schedule", args=[new.pk]), {"activate_on": on.isoformat()}
    )
    assert response.status_code == 302
    new.refresh_from_db()
    assert new.activate_on == on and new.status == Release.Status.IMPORTED

    assert release_admin.releases_activate_due(today=on - timedelta(days=1)) == []
    new.refresh_from_db()
    assert new.status == Release.Status.IMPORTED

    activated = release_admin.releases_activate_due(today=on)
    assert [(r.pk, error) for r, error in activated] == [(new.pk, "")]
    new.refresh_from_db()
    old.refresh_from_db()
    assert new.status == Release.Status.ACTIVE and new.activate_on is None
    assert old.effective_to == on - timedelta(days=1)  # one release in force per date


def test_the_beat_task_activates_what_is_due_today(
    admin_client, eager_celery, django_capture_on_commit_callbacks
):
    release = _import(admin_client, django_capture_on_commit_callbacks, V1_NAME, V1)
    today = timezone.localdate()
    admin_client.post(
        reverse("codesets:release_schedule", args=[release.pk]),
        {"activate_on": today.isoformat()},
    )
    result = activate_scheduled_releases_task.apply().get()
    assert result == [{"release_id": release.pk, "status": "active", "error": ""}]
    release.refresh_from_db()
    assert release.status == Release.Status.ACTIVE


def test_scheduling_in_the_past_or_a_failed_release_is_refused(
    admin_client, eager_celery, django_capture_on_commit_callbacks
):
    release = _import(admin_client, django_capture_on_commit_callbacks, V1_NAME, V1)
    past = admin_client.post(
        reverse("codesets:release_schedule", args=[release.pk]),
        {"activate_on": "2020-01-01"},
        follow=True,
    )
    assert "Not scheduled. 2020-01-01 is in the past" in past.content.decode()
    release.refresh_from_db()
    assert release.activate_on is None


def test_retiring_keeps_one_release_in_force(
    admin_client, eager_celery, django_capture_on_commit_callbacks
):
    old = _import(admin_client, django_capture_on_commit_callbacks, V1_NAME, V1)
    admin_client.post(reverse("codesets:release_activate", args=[old.pk]))
    only = admin_client.post(reverse("codesets:release_retire", args=[old.pk]), follow=True)
    assert "is the only active HCPCS/CPT modifiers release" in only.content.decode()
    old.refresh_from_db()
    assert old.status == Release.Status.ACTIVE

    new = _import(admin_client, django_capture_on_commit_callbacks, V2_NAME, V2)
    admin_client.post(reverse("codesets:release_activate", args=[new.pk]))
    retired = admin_client.post(reverse("codesets:release_retire", args=[old.pk]), follow=True)
    assert "is retired" in retired.content.decode()
    old.refresh_from_db()
    assert old.status == Release.Status.RETIRED


@pytest.fixture
def two_releases(admin_client, eager_celery, django_capture_on_commit_callbacks):
    old = _import(admin_client, django_capture_on_commit_callbacks, V1_NAME, V1)
    admin_client.post(reverse("codesets:release_activate", args=[old.pk]))
    new = _import(admin_client, django_capture_on_commit_callbacks, V2_NAME, V2)
    return old, new


def test_the_release_page_counts_changes_against_the_active_release(admin_client, two_releases):
    old, new = two_releases
    page = admin_client.get(reverse("codesets:release_detail", args=[new.pk]))
    assert page.context["base"] == old
    assert page.context["changes"] == {"added": 2, "deleted": 1, "revised": 1}


def test_the_diff_filters_by_kind_prefix_and_words(admin_client, two_releases):
    old, new = two_releases
    url = reverse("codesets:release_diff", args=[old.pk, new.pk])

    def codes(**params):
        page = admin_client.get(url, params)
        return [row["code"] for row in page.context["page"].object_list]

    assert codes(show="added") == ["ZD", "ZE"]
    assert codes(show="deleted") == ["ZC"]
    assert codes(show="revised") == ["ZB"]
    assert codes(show="added", prefix="zd") == ["ZD"]
    assert codes(show="added", q="echo") == ["ZE"]
    assert codes(show="all") == ["ZD", "ZE", "ZC", "ZB"]
    assert codes(show="all", q="bravo") == ["ZB"]


def test_the_diff_exports_the_filtered_rows_as_csv(admin_client, two_releases):
    old, new = two_releases
    url = reverse("codesets:release_diff", args=[old.pk, new.pk])
    response = admin_client.get(url, {"show": "all", "prefix": "Z", "format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:2] == ["change", "code"]
    assert rows[1:] == [
        ["added", "ZD", "", "Test modifier delta"],
        ["added", "ZE", "", "Test modifier echo"],
        ["deleted", "ZC", "Test modifier charlie", ""],
        ["revised", "ZB", "Test modifier bravo", "Test modifier bravo revised wording"],
    ]
    only_added = admin_client.get(url, {"show": "added", "q": "delta", "format": "csv"})
    assert len(list(csv.reader(io.StringIO(only_added.content.decode())))) == 2


def test_coders_see_a_release_but_cannot_import_or_change_it(client, junior, two_releases):
    old, new = two_releases
    client.force_login(junior)
    assert client.get(reverse("codesets:release_detail", args=[new.pk])).status_code == 200
    assert client.get(reverse("codesets:release_upload")).status_code == 403
    assert client.post(reverse("codesets:release_activate", args=[new.pk])).status_code == 403
    assert client.post(reverse("codesets:release_retire", args=[old.pk])).status_code == 403
    new.refresh_from_db()
    assert new.status == Release.Status.IMPORTED


@pytest.mark.parametrize(
    ("name", "system", "label", "effective_from"),
    [
        ("HCPC2026_JAN_ANWEB_01122026.csv.gz", "hcpcs", "HCPCS 2026 January", date(2026, 1, 1)),
        (
            "MCR_MUE_PractitionerServices_Eff_04-01-2027.csv",
            "mue",
            "NCCI MUE practitioner 2027-04-01",
            date(2027, 4, 1),
        ),
        ("icd10cm-drug-April-1-2027.xml.gz", "icd10cm-drugs", None, date(2027, 4, 1)),
        ("hcpcs_level2_modifiers_2027Q2.csv", "modifier", None, date(2027, 4, 1)),
        ("ms-drg-table5-weights-fy2027.txt", "drg-weights", "MS-DRG weights FY2027", None),
    ],
)
def test_labels_and_dates_are_suggested_from_the_file_name(name, system, label, effective_from):
    suggestion = release_admin.release_suggest(system=system, name=name)
    if label:
        # A label already taken (the session's CMS releases may hold it) gets " (2)" added.
        assert suggestion.label in (label, f"{label} (2)")
    if effective_from:
        assert suggestion.effective_from == effective_from
    if system == "drg-weights":
        assert suggestion.effective_from == date(2026, 10, 1)


def test_every_release_admin_page_declares_its_capability():
    from accounts.permissions import Capability
    from codesets import release_admin_urls

    capabilities = {p.name: p.callback.required_capability for p in release_admin_urls.urlpatterns}
    readable = {"release_detail", "release_progress"}
    assert {capabilities[n] for n in readable} == {Capability.VIEW_RELEASES}
    assert {c for n, c in capabilities.items() if n not in readable} == {Capability.MANAGE_RELEASES}
