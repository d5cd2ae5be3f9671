"""Release administration through /api/v1/releases: upload → import → activate → retire."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from codesets.models import Release

pytestmark = pytest.mark.django_db

HEADER = (
    "modifier,long_description,short_description,add_date,action_effective_date,"
    "termination_date,action_code\n"
)
V1 = HEADER + (
    "ZA,Test modifier alpha,Alpha,20260101,20260101,,N\n"
    "ZB,Test modifier bravo,Bravo,20260101,20260101,,N\n"
)
V2 = HEADER + "ZA,Test modifier alpha,Alpha,20260101,20260101,,N\n"


@pytest.fixture(autouse=True)
def isolated(settings, tmp_path):
    """Staged files under a temporary MEDIA_ROOT, progress in a private cache, and no modifier
    release active but ours (the test's transaction puts the real ones back)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    Release.objects.filter(system__slug="modifier", status=Release.Status.ACTIVE).update(
        status=Release.Status.RETIRED
    )


@pytest.fixture
def eager_celery():
    from coding_bench.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


def _upload(api, captured, name: str, text: str, **extra):
    with captured(execute=True):
        return api.post(
            "/api/v1/releases",
            {"file": SimpleUploadedFile(name, text.encode(), "text/csv"), **extra},
            format="multipart",
        )


def test_upload_imports_then_activate_and_retire(
    admin_user, api_for, eager_celery, django_capture_on_commit_callbacks
):
    api = api_for(admin_user)
    first = _upload(api, django_capture_on_commit_callbacks, "hcpcs_modifiers_2026-07-01.csv", V1)
    assert first.status_code == 201, first.json()
    assert first.json()["queued"] is True
    release_id = first.json()["release"]["id"]
    detail = api.get(f"/api/v1/releases/{release_id}").json()
    assert detail["status"] == Release.Status.IMPORTED and detail["row_count"] == 2
    assert detail["effective_from"] == "2026-07-01" and detail["running"] is False

    # The same file again: the existing release, nothing new.
    again = _upload(api, django_capture_on_commit_callbacks, "copy.csv", V1)
    assert again.status_code == 200 and again.json()["release"]["id"] == release_id
    assert Release.objects.filter(system__slug="modifier").exclude(status="retired").count() == 1

    active = api.post(f"/api/v1/releases/{release_id}/activate")
    assert active.status_code == 200 and active.json()["status"] == Release.Status.ACTIVE
    only = api.post(f"/api/v1/releases/{release_id}/retire")
    assert only.status_code == 400 and "only active" in only.json()["detail"]

    second = _upload(
        api, django_capture_on_commit_callbacks, "hcpcs_modifiers_2027-01-01.csv", V2
    ).json()["release"]
    api.post(f"/api/v1/releases/{second['id']}/activate")
    retired = api.post(f"/api/v1/releases/{release_id}/retire")
    assert retired.status_code == 200 and retired.json()["status"] == Release.Status.RETIRED
    listed = api.get("/api/v1/releases", {"system": "modifier"}).json()["results"]
    assert {r["id"] for r in listed} >= {release_id, second["id"]}


def test_a_file_of_no_known_format_is_a_400_with_nothing_saved(
    admin_user, api_for, django_capture_on_commit_callbacks, settings
):
    before = Release.objects.count()
    response = _upload(
        api_for(admin_user), django_capture_on_commit_callbacks, "notes.csv", "a,b\n1,2\n"
    )
    assert response.status_code == 400 and response.json()["detail"]
    assert Release.objects.count() == before
    staging = settings.MEDIA_ROOT / "release-staging"
    assert not staging.exists() or not any(staging.iterdir())


def test_only_release_managers_change_releases(junior, senior, api_for):
    for user in (junior, senior):
        api = api_for(user)
        assert api.get("/api/v1/releases").status_code == 200
        assert api.post("/api/v1/releases", {}, format="multipart").status_code == 403
        assert api.post("/api/v1/releases/1/retire").status_code == 403
    assert api_for(senior).get("/api/v1/releases/999999").status_code == 404
