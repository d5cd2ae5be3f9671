"""Encounters through /api/v1/: the same services, access rules and PHI log as the pages."""

import pytest

from accounts.models import PhiAccess
from encounters.models import DiagnosisAssignment, Encounter, Patient, PhysicianQuery
from tests.factories import DocumentFactory, EncounterFactory, PatientFactory

pytestmark = pytest.mark.django_db
S = Encounter.Status
BASE = "/api/v1"


@pytest.fixture
def coding(junior):
    return EncounterFactory(assignee=junior, status=S.CODING)


def test_my_queue_lists_mine_and_the_pool_not_another_coders(junior, intermediate, api_for):
    mine = EncounterFactory(assignee=junior, status=S.CODING)
    pool = EncounterFactory(status=S.READY)
    EncounterFactory(assignee=intermediate, status=S.CODING)
    response = api_for(junior).get(f"{BASE}/encounters")
    assert response.status_code == 200
    assert {row["id"] for row in response.json()["results"]} == {mine.pk, pool.pk}
    pool_only = api_for(junior).get(f"{BASE}/encounters", {"scope": "pool"}).json()
    assert [row["id"] for row in pool_only["results"]] == [pool.pk]


def test_bad_filters_are_a_400_naming_the_field(junior, api_for):
    response = api_for(junior).get(f"{BASE}/encounters", {"scope": "everything", "limit": 0})
    assert response.status_code == 400
    assert set(response.json()) == {"scope", "limit"}


def test_detail_is_logged_as_a_chart_view_and_another_coders_chart_is_refused(
    junior, intermediate, coding, api_for
):
    response = api_for(junior).get(f"{BASE}/encounters/{coding.pk}")
    assert response.status_code == 200
    assert response.json()["version"] == coding.version
    assert PhiAccess.objects.filter(
        user=junior, action=PhiAccess.Action.VIEW_ENCOUNTER, encounter_id=coding.pk
    ).exists()
    theirs = EncounterFactory(assignee=intermediate, status=S.CODING)
    refused = api_for(junior).get(f"{BASE}/encounters/{theirs.pk}")
    assert refused.status_code == 403
    assert "not in your queue" in refused.json()["detail"]
    assert api_for(junior).get(f"{BASE}/encounters/999999").status_code == 404


def test_document_text_is_read_and_logged(junior, coding, api_for):
    document = DocumentFactory(encounter=coding)
    listed = api_for(junior).get(f"{BASE}/encounters/{coding.pk}/documents").json()
    assert [d["id"] for d in listed] == [document.pk] and "text" not in listed[0]
    one = api_for(junior).get(f"{BASE}/encounters/{coding.pk}/documents/{document.pk}")
    assert one.json()["text"] == document.text
    assert PhiAccess.objects.filter(
        user=junior, action=PhiAccess.Action.VIEW_DOCUMENT, document_id=document.pk
    ).exists()


def test_add_move_update_and_remove_codes_with_the_version(coding, junior, api_for):
    api = api_for(junior)
    url = f"{BASE}/encounters/{coding.pk}/diagnoses"
    first = api.post(url, {"version": 1, "code": "e119"}, format="json")
    assert first.status_code == 201, first.json()
    assert [d["code"] for d in first.json()["diagnoses"]] == ["E11.9"]
    second = api.post(url, {"version": 2, "code": "I10"}, format="json").json()
    i10 = next(d for d in second["diagnoses"] if d["code"] == "I10")
    moved = api.post(f"{url}/{i10['id']}/move", {"version": 3, "position": 1}, format="json")
    assert [d["code"] for d in moved.json()["diagnoses"]] == ["I10", "E11.9"]
    removed = api.delete(f"{url}/{i10['id']}?version=4")
    assert removed.status_code == 200
    assert [(d["code"], d["sequence"]) for d in removed.json()["diagnoses"]] == [("E11.9", 1)]
    assert removed.json()["version"] == 5


def test_a_stale_version_is_409_and_nothing_is_saved(coding, junior, api_for):
    api = api_for(junior)
    url = f"{BASE}/encounters/{coding.pk}/diagnoses"
    api.post(url, {"version": 1, "code": "I10"}, format="json")
    stale = api.post(url, {"version": 1, "code": "E11.9"}, format="json")
    assert stale.status_code == 409
    assert "Someone else saved this encounter" in stale.json()["detail"]
    assert stale.json()["version"] == 2
    assert list(coding.diagnoses.values_list("code", flat=True)) == ["I10"]


def test_an_unknown_code_is_a_400_in_plain_words(coding, junior, api_for):
    response = api_for(junior).post(
        f"{BASE}/encounters/{coding.pk}/diagnoses", {"version": 1, "code": "E11.99"}, format="json"
    )
    assert response.status_code == 400
    assert "E11.99 is not an ICD-10-CM code" in response.json()["code"][0]
    assert not coding.diagnoses.exists()


def test_procedure_lines_are_added_and_updated(coding, junior, api_for):
    api = api_for(junior)
    DiagnosisAssignment.objects.create(encounter=coding, code="I10", sequence=1, created_by=junior)
    url = f"{BASE}/encounters/{coding.pk}/procedures"
    added = api.post(url, {"version": 1, "code": "99213", "system": "cpt"}, format="json")
    assert added.status_code == 201, added.json()
    line = added.json()["procedures"][0]
    updated = api.put(
        f"{url}/{line['id']}",
        {"version": 2, "modifiers": ["59"], "units": 2, "diagnosis_pointers": [1]},
        format="json",
    )
    assert updated.status_code == 200, updated.json()
    assert updated.json()["procedures"][0]["modifiers"] == ["59"]
    bad = api.put(f"{url}/{line['id']}", {"version": 3, "diagnosis_pointers": [5]}, format="json")
    assert bad.status_code == 400 and "between 1 and 1" in bad.json()["diagnosis_pointers"][0]


def test_submit_with_error_edits_is_422_listing_them_then_overridden(junior, api_for):
    encounter = EncounterFactory(assignee=junior, status=S.CODING)
    api = api_for(junior)
    # Z-codes that may not be first-listed make an error edit on their own.
    url = f"{BASE}/encounters/{encounter.pk}"
    empty = api.post(f"{url}/submit", {"version": 1}, format="json")
    assert empty.status_code == 409 and "at least one diagnosis" in empty.json()["detail"]
    api.post(f"{url}/diagnoses", {"version": 1, "code": "E11.9"}, format="json")
    response = api.post(f"{url}/submit", {"version": 2}, format="json")
    if response.status_code == 422:
        assert response.json()["edits"] and "override reason" in response.json()["detail"]
        response = api.post(
            f"{url}/submit", {"version": 2, "override_reason": "Documented."}, format="json"
        )
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == S.REVIEW


def test_claim_twice_is_a_409_for_the_second_coder(junior, intermediate, api_for):
    # Flagged, so the intermediate (complex cases) still sees it once the junior has it.
    pool = EncounterFactory(status=S.READY, complexity_flags=[{"rule": "payer"}])
    first = api_for(junior).post(f"{BASE}/encounters/{pool.pk}/claim")
    assert first.status_code == 200 and first.json()["assignee"] == junior.username
    second = api_for(intermediate).post(f"{BASE}/encounters/{pool.pk}/claim")
    assert second.status_code == 409
    assert "already claimed" in second.json()["detail"]


def test_escalate_needs_a_reason(coding, junior, api_for):
    url = f"{BASE}/encounters/{coding.pk}/escalate"
    assert api_for(junior).post(url, {"version": 1, "reason": ""}, format="json").status_code == 400
    done = api_for(junior).post(url, {"version": 1, "reason": "Conflicting notes"}, format="json")
    assert done.status_code == 200 and done.json()["status"] == S.COMPLEX


def test_intake_creates_patient_and_encounter_or_nothing(junior, api_for):
    body = {
        "mrn": "API-1",
        "last_name": "Doe",
        "first_name": "Jane",
        "birth_date": "1970-01-02",
        "sex": "F",
        "type": "inpatient",
        "admit_date": "2026-05-01",
    }
    # An inpatient stay without a discharge date is refused: the new patient is not kept.
    refused = api_for(junior).post(f"{BASE}/encounters", body, format="json")
    assert refused.status_code == 400 and "discharge date" in refused.json()["discharge_date"][0]
    assert not Patient.objects.filter(mrn="API-1").exists()
    created = api_for(junior).post(
        f"{BASE}/encounters", {**body, "discharge_date": "2026-05-03"}, format="json"
    )
    assert created.status_code == 201, created.json()
    assert created.json()["status"] == S.INTAKE
    pk = created.json()["id"]
    doc = api_for(junior).post(
        f"{BASE}/encounters/{pk}/documents",
        {"note_type": "discharge", "written_on": "2026-05-03", "text": "Discharged home."},
        format="json",
    )
    assert doc.status_code == 201 and doc.json()["title"] == "Discharge summary"
    released = api_for(junior).post(f"{BASE}/encounters/{pk}/release")
    assert released.json()["status"] == S.READY


def test_patients_are_those_of_visible_encounters_and_detail_is_logged(
    junior, intermediate, coding, api_for
):
    hidden = PatientFactory(last_name="Hidden")
    EncounterFactory(patient=hidden, assignee=intermediate, status=S.CODING)
    listed = api_for(junior).get(f"{BASE}/patients").json()
    assert coding.patient_id in {p["id"] for p in listed["results"]}
    assert hidden.pk not in {p["id"] for p in listed["results"]}
    assert api_for(junior).get(f"{BASE}/patients/{hidden.pk}").status_code == 403
    assert api_for(junior).get(f"{BASE}/patients/{coding.patient_id}").status_code == 200
    assert PhiAccess.objects.filter(
        user=junior, action=PhiAccess.Action.VIEW_PATIENT, patient_id=coding.patient_id
    ).exists()


def test_query_send_answer_and_the_aging_list(intermediate, api_for):
    encounter = EncounterFactory(assignee=intermediate, status=S.CODING)
    document = DocumentFactory(encounter=encounter)
    api = api_for(intermediate)
    body = {
        "kind": "open",
        "provider": "Dr. Test",
        "question": "Please clarify the type of diabetes documented in the progress note.",
        "clinical_indicators": [{"document_id": document.pk, "start": 0, "end": 30}],
    }
    sent = api.post(f"{BASE}/encounters/{encounter.pk}/queries", body, format="json")
    assert sent.status_code == 201, sent.json()
    aging = api.get(f"{BASE}/queries").json()
    assert [q["id"] for q in aging["results"]] == [sent.json()["id"]]
    answered = api.post(
        f"{BASE}/encounters/{encounter.pk}/queries/{sent.json()['id']}/answer",
        {"answer": "Type 2 diabetes with polyneuropathy."},
        format="json",
    )
    assert answered.status_code == 200 and answered.json()["status"] == "answered"
    again = api.post(
        f"{BASE}/encounters/{encounter.pk}/queries/{sent.json()['id']}/withdraw",
        {"reason": "late"},
        format="json",
    )
    assert again.status_code == 400 and "already answered" in again.json()["detail"]
    assert PhysicianQuery.objects.get().status == "answered"


def test_review_queue_and_return_with_comments(junior, intermediate, api_for):
    encounter = EncounterFactory(assignee=junior, status=S.CODING)
    DiagnosisAssignment.objects.create(
        encounter=encounter, code="E11.9", sequence=1, created_by=junior
    )
    api_for(junior).post(
        f"{BASE}/encounters/{encounter.pk}/submit",
        {"version": 1, "override_reason": "checked"},
        format="json",
    )
    queue = api_for(intermediate).get(f"{BASE}/reviews/queue").json()
    assert [e["id"] for e in queue["results"]] == [encounter.pk]
    assert api_for(junior).get(f"{BASE}/reviews/queue").status_code == 403
    encounter.refresh_from_db()
    returned = api_for(intermediate).post(
        f"{BASE}/encounters/{encounter.pk}/review/return",
        {
            "version": encounter.version,
            "comments": [
                {
                    "change": "changed",
                    "category": "specificity",
                    "code": "E11.9",
                    "corrected_code": "E11.42",
                    "reason": "The note documents polyneuropathy.",
                }
            ],
        },
        format="json",
    )
    assert returned.status_code == 200, returned.json()
    assert returned.json()["outcome"] == "returned" and len(returned.json()["comments"]) == 1
    encounter.refresh_from_db()
    assert (encounter.status, encounter.assignee_id) == (S.CODING, junior.pk)


def test_ids_beyond_the_database_range_are_a_404_not_a_crash(junior, api_for):
    huge = 10**30
    assert api_for(junior).get(f"{BASE}/encounters/{huge}").status_code == 404
    assert api_for(junior).get(f"{BASE}/patients/{huge}").status_code == 404
    response = api_for(junior).get(f"{BASE}/encounters/{huge}/documents/{huge}")
    assert response.status_code == 404 and response.json()["detail"]
