"""Uploading a document and linking evidence through /api/v1/: the pages' services."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from encounters import services
from encounters.models import Document, Encounter
from tests.factories import DocumentFactory, EncounterFactory

pytestmark = pytest.mark.django_db
BASE = "/api/v1"


@pytest.fixture
def coding(junior, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return EncounterFactory(assignee=junior, status=Encounter.Status.CODING)


def _upload(client, encounter, name, content, content_type):
    return client.post(
        f"{BASE}/encounters/{encounter.pk}/documents/upload",
        {
            "note_type": "progress",
            "written_on": "2026-05-04",
            "file": SimpleUploadedFile(name, content, content_type=content_type),
        },
        format="multipart",
    )


def test_a_text_file_is_uploaded_with_its_original_kept(junior, coding, api_for):
    response = _upload(
        api_for(junior), coding, "note.txt", b"Assessment: hypertension.", "text/plain"
    )
    assert response.status_code == 201, response.content
    document = Document.objects.get(pk=response.json()["id"])
    assert document.text == "Assessment: hypertension."
    assert document.original_name == "note.txt" and document.original_file


def test_an_unsupported_file_is_a_400_and_nothing_is_kept(junior, coding, api_for):
    response = _upload(api_for(junior), coding, "scan.png", b"\x89PNG\r\n\x1a\n", "image/png")
    assert response.status_code == 400
    assert "PDF" in str(response.json())
    assert not coding.documents.exists()


def test_evidence_links_a_code_to_its_passage_and_a_stale_version_is_409(junior, coding, api_for):
    document = DocumentFactory(encounter=coding, text="Assessment: essential hypertension.")
    diagnosis = services.diagnosis_add(
        encounter=coding, by=junior, version=coding.version, code="I10"
    )
    coding.refresh_from_db()
    start = document.text.index("essential hypertension")
    body = {
        "version": coding.version,
        "kind": "diagnosis",
        "assignment_id": diagnosis.pk,
        "document_id": document.pk,
        "start": start,
        "end": start + len("essential hypertension"),
    }
    response = api_for(junior).post(f"{BASE}/encounters/{coding.pk}/evidence", body, format="json")
    assert response.status_code == 200, response.content
    diagnosis.refresh_from_db()
    assert diagnosis.evidence_quote == "essential hypertension"
    stale = api_for(junior).post(f"{BASE}/encounters/{coding.pk}/evidence", body, format="json")
    assert stale.status_code == 409
    assert stale.json()["version"] == coding.version + 1


def test_breaking_the_glass_opens_another_coders_chart_with_the_reason_logged(
    junior, intermediate, api_for
):
    from accounts.models import BreakGlass, PhiAccess

    theirs = EncounterFactory(assignee=intermediate, status=Encounter.Status.CODING)
    client = api_for(junior)
    assert client.get(f"{BASE}/encounters/{theirs.pk}").status_code == 403
    short = client.post(f"{BASE}/encounters/{theirs.pk}/break-glass", {"reason": "need it"})
    assert short.status_code == 400 and "at least 20 characters" in str(short.json())
    reason = "Patient called about a bill; verifying the diagnosis coded on this visit."
    response = client.post(f"{BASE}/encounters/{theirs.pk}/break-glass", {"reason": reason})
    assert response.status_code == 201, response.content
    assert BreakGlass.objects.filter(user=junior, encounter_id=theirs.pk).count() == 1
    assert PhiAccess.objects.filter(
        user=junior, action=PhiAccess.Action.BREAK_GLASS, encounter_id=theirs.pk
    ).exists()
    assert client.get(f"{BASE}/encounters/{theirs.pk}").status_code == 200
