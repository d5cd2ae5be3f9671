"""The browser side of the junior workspace: queue, intake, FHIR import, coding workspace."""

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from accounts.models import PhiAccess
from encounters import services
from encounters.models import DiagnosisAssignment, Document, Encounter, Patient
from tests.conftest import PASSWORD
from tests.e2e.bundles import diabetes_bundle
from tests.factories import DocumentFactory, EncounterFactory, InpatientEncounterFactory

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def as_junior(client, junior):
    client.login(username=junior.username, password=PASSWORD)
    return client


@pytest.fixture
def chart(junior):
    """An outpatient chart the junior is coding, with one progress note."""
    encounter = EncounterFactory(assignee=junior, status=Encounter.Status.CODING)
    DocumentFactory(encounter=encounter)
    return encounter


def _url(name, encounter, **kwargs):
    return reverse(f"encounters:{name}", kwargs={"pk": encounter.pk, **kwargs})


# --- work queue -----------------------------------------------------------------------------


def test_the_queue_lists_my_charts_and_the_pool_with_links_to_the_workspace(as_junior, junior):
    mine = EncounterFactory(assignee=junior, status=Encounter.Status.CODING)
    pool = EncounterFactory()
    response = as_junior.get(reverse("encounters:queue"))
    assert response.status_code == 200
    body = response.content.decode()
    assert _url("workspace", mine) in body
    assert _url("claim", pool) in body  # pool rows have a claim button
    assert _url("claim", mine) not in body


def test_the_queue_filters_by_scope_type_and_due_date(as_junior, junior):
    today = timezone.localdate()
    mine = EncounterFactory(assignee=junior, status=Encounter.Status.CODING, account_number="MINE")
    EncounterFactory(account_number="POOL-OUT", due_date=today + timedelta(days=9))
    EncounterFactory(
        account_number="POOL-IN", type=Encounter.Type.INPATIENT, due_date=today + timedelta(1)
    )
    queue = reverse("encounters:queue")
    assert list(as_junior.get(queue, {"scope": "mine"}).context["encounters"]) == [mine]
    inpatient = as_junior.get(queue, {"scope": "pool", "type": "inpatient"}).context["encounters"]
    assert [e.account_number for e in inpatient] == ["POOL-IN"]
    due = as_junior.get(queue, {"due_before": (today + timedelta(days=1)).isoformat()})
    assert [e.account_number for e in due.context["encounters"]] == ["POOL-IN"]


def test_an_invalid_filter_is_ignored_not_an_error(as_junior):
    EncounterFactory()
    response = as_junior.get(reverse("encounters:queue"), {"due_before": "soon", "sort": "x"})
    assert response.status_code == 200
    assert len(response.context["encounters"]) == 1


def test_the_queue_pages_by_25_and_htmx_gets_only_the_list(
    as_junior, django_assert_max_num_queries
):
    EncounterFactory.create_batch(30)
    with django_assert_max_num_queries(8):
        first = as_junior.get(reverse("encounters:queue"))
    assert len(first.context["encounters"]) == 25
    second = as_junior.get(reverse("encounters:queue"), {"page": 2}, **HX)
    assert second.content.count(b"<tr data-href=") == 5
    assert b'id="queue-list"' in second.content
    assert b"<html" not in second.content


def test_next_chart_claims_the_oldest_due_and_opens_it(as_junior, junior):
    today = timezone.localdate()
    EncounterFactory(due_date=today + timedelta(days=5))
    oldest = EncounterFactory(due_date=today + timedelta(days=1))
    response = as_junior.post(reverse("encounters:queue_next"))
    assert response.status_code == 302
    assert response.url == _url("workspace", oldest)
    oldest.refresh_from_db()
    assert (oldest.assignee, oldest.status) == (junior, Encounter.Status.CODING)


def test_next_chart_with_an_empty_pool_says_so(as_junior):
    response = as_junior.post(reverse("encounters:queue_next"), follow=True)
    assert "The pool is empty" in response.content.decode()


def test_claiming_a_chart_someone_else_took_explains_why(as_junior, intermediate):
    taken = EncounterFactory()
    services.encounter_claim(encounter=taken, by=intermediate)
    response = as_junior.post(_url("claim", taken))
    assert response.status_code == 403  # no longer in the junior's pool


# --- intake ---------------------------------------------------------------------------------


def _chart_form(**overrides):
    data = {
        "mrn": "M-100",
        "last_name": "Lee",
        "first_name": "Ann",
        "birth_date": "1950-01-02",
        "sex": "F",
        "coverage": "Medicare",
        "type": "inpatient",
        "admit_date": "2026-05-01",
        "discharge_date": "2026-05-03",
        "account_number": "",
        "provider": "Dr. Chen",
        "payer": "Medicare",
        "due_date": "2026-05-20",
    }
    data.update(overrides)
    return data


def test_a_junior_creates_a_patient_and_encounter_then_adds_documents(as_junior):
    response = as_junior.post(reverse("encounters:intake_new"), _chart_form())
    encounter = Encounter.objects.get(patient__mrn="M-100")
    assert response.url == _url("document_new", encounter)
    assert encounter.status == Encounter.Status.INTAKE
    response = as_junior.post(
        _url("document_new", encounter),
        {"note_type": "hp", "title": "H&P", "written_on": "2026-05-01", "text": "Chest pain."},
    )
    assert response.url == _url("workspace", encounter)
    assert encounter.documents.get().text == "Chest pain."


def test_the_intake_form_shows_the_services_errors_and_saves_nothing(as_junior):
    response = as_junior.post(
        reverse("encounters:intake_new"), _chart_form(discharge_date="2026-04-01")
    )
    assert response.status_code == 200
    assert response.context["form"].errors["discharge_date"] == ["Discharge is before admission."]
    assert "Discharge is before admission." in response.content.decode()
    assert not Patient.objects.filter(mrn="M-100").exists()


def test_the_intake_form_reports_missing_fields(as_junior):
    response = as_junior.post(reverse("encounters:intake_new"), {"mrn": "X"})
    errors = response.context["form"].errors
    assert {"last_name", "birth_date", "type", "admit_date"} <= set(errors)
    assert b"Nothing was saved" in response.content


def test_an_mrn_on_file_with_another_name_is_refused(as_junior):
    as_junior.post(reverse("encounters:intake_new"), _chart_form())
    response = as_junior.post(
        reverse("encounters:intake_new"), _chart_form(last_name="Other", account_number="A2")
    )
    assert "belongs to another patient" in response.context["form"].errors["mrn"][0]
    assert Encounter.objects.count() == 1


def test_typing_an_empty_document_is_refused(as_junior):
    encounter = EncounterFactory(status=Encounter.Status.INTAKE)
    response = as_junior.post(
        _url("document_new", encounter),
        {"note_type": "progress", "written_on": "2026-05-04", "text": "   "},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["text"]
    assert not encounter.documents.exists()


def test_an_upload_of_the_wrong_type_shows_the_error_by_the_field(as_junior, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    encounter = EncounterFactory(status=Encounter.Status.INTAKE)
    upload = SimpleUploadedFile("scan.docx", b"PK\x03\x04 not text", content_type="x/y")
    response = as_junior.post(
        _url("document_upload", encounter),
        {"note_type": "progress", "written_on": "2026-05-04", "file": upload},
    )
    assert response.status_code == 200
    assert "only plain text (.txt) and PDF" in response.context["form"].errors["file"][0]
    assert not encounter.documents.exists()
    assert not any(tmp_path.rglob("*.docx"))


def test_an_uploaded_text_file_is_kept_and_served_only_through_the_checked_view(
    as_junior, junior, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    encounter = EncounterFactory(status=Encounter.Status.INTAKE)
    upload = SimpleUploadedFile("note.txt", b"Discharge: home.", content_type="text/plain")
    response = as_junior.post(
        _url("document_upload", encounter),
        {"note_type": "discharge", "written_on": "2026-05-04", "file": upload},
    )
    assert response.status_code == 302
    document = encounter.documents.get()
    original = as_junior.get(_url("document_original", encounter, document_pk=document.pk))
    assert original.status_code == 200
    assert b"".join(original.streaming_content) == b"Discharge: home."
    assert original["X-Content-Type-Options"] == "nosniff"
    assert original["Cache-Control"] == "private, no-store"
    logged = PhiAccess.objects.filter(
        user=junior, action=PhiAccess.Action.VIEW_DOCUMENT, document_id=document.pk
    )
    assert logged.count() == 1


def test_the_original_file_view_refuses_charts_outside_my_queue_and_logs_nothing(
    client, junior, intermediate, admin_user, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    encounter = EncounterFactory(assignee=intermediate, status=Encounter.Status.CODING)
    document = DocumentFactory(encounter=encounter)
    document.original_file.save("n.txt", ContentFile(b"secret"), save=True)
    url = _url("document_original", encounter, document_pk=document.pk)
    for outsider in (junior, admin_user):
        client.login(username=outsider.username, password=PASSWORD)
        assert client.get(url).status_code == 403
    assert not PhiAccess.objects.filter(document_id=document.pk).exists()
    client.login(username=intermediate.username, password=PASSWORD)
    assert client.get(url).status_code == 200


def test_a_document_without_an_original_has_no_file_to_serve(as_junior, chart):
    document = chart.documents.get()
    url = _url("document_original", chart, document_pk=document.pk)
    assert as_junior.get(url).status_code == 404


def test_releasing_an_intake_chart_puts_it_in_the_queue(as_junior):
    encounter = EncounterFactory(status=Encounter.Status.INTAKE)
    response = as_junior.post(_url("release", encounter))
    assert response.url == reverse("encounters:intake")
    encounter.refresh_from_db()
    assert encounter.status == Encounter.Status.READY


def test_the_intake_page_lists_charts_waiting_in_intake(as_junior):
    waiting = EncounterFactory(status=Encounter.Status.INTAKE)
    EncounterFactory()
    response = as_junior.get(reverse("encounters:intake"))
    assert list(response.context["encounters"]) == [waiting]


def test_a_fhir_bundle_import_shows_what_it_brought_in(as_junior):
    upload = SimpleUploadedFile("b.json", diabetes_bundle(), content_type="application/json")
    response = as_junior.post(reverse("encounters:fhir_import"), {"bundle": upload})
    assert response.status_code == 200
    result = response.context["result"]
    assert (len(result.encounters), result.documents, result.source_codes) == (1, 1, 1)
    body = response.content.decode()
    assert "Harper, Elena" in body
    assert _url("workspace", result.encounters[0]) in body


def test_a_malformed_bundle_is_refused_in_plain_words_and_nothing_is_saved(as_junior):
    upload = SimpleUploadedFile("b.json", b'{"resourceType": "Patient"}')
    response = as_junior.post(reverse("encounters:fhir_import"), {"bundle": upload})
    assert "Expected a FHIR R4 Bundle" in response.context["error"]
    assert b"Nothing was imported" in response.content
    assert not Patient.objects.exists()


# --- the coding workspace -------------------------------------------------------------------


def test_opening_the_workspace_records_phi_access_for_the_chart_and_its_documents(
    as_junior, junior, chart
):
    DocumentFactory(encounter=chart, title="Second note")
    response = as_junior.get(_url("workspace", chart))
    assert response.status_code == 200
    body = response.content.decode()
    assert chart.patient.mrn in body and "Second note" in body
    records = PhiAccess.objects.filter(user=junior, encounter_id=chart.pk)
    assert records.filter(action=PhiAccess.Action.VIEW_ENCOUNTER).count() == 1
    assert records.filter(action=PhiAccess.Action.VIEW_DOCUMENT).count() == 2


def test_a_chart_outside_my_queue_is_refused(as_junior, intermediate):
    theirs = EncounterFactory(assignee=intermediate, status=Encounter.Status.CODING)
    assert as_junior.get(_url("workspace", theirs)).status_code == 403


def test_the_workspace_reads_without_javascript_and_shows_source_codes_as_not_assigned(
    as_junior,
):
    upload = SimpleUploadedFile("b.json", diabetes_bundle(suffix="src"))
    as_junior.post(reverse("encounters:fhir_import"), {"bundle": upload})
    encounter = Encounter.objects.get(source_id="enc-src")
    response = as_junior.get(_url("workspace", encounter), {"doc": "source"})
    body = response.content.decode()
    assert "44054006" in body and "Not assigned" in body
    assert "type 2 diabetes mellitus without complications" in body
    assert "Claim and start coding" in body  # read-only until claimed


def test_document_text_keeps_carriage_returns_so_offsets_match(as_junior, chart):
    DocumentFactory(encounter=chart, text="Line one\r\nLine <two> & more")
    body = as_junior.get(_url("workspace", chart)).content.decode()
    assert "Line one&#13;\nLine &lt;two&gt; &amp; more" in body


def test_adding_a_diagnosis_rerenders_the_lists_edits_and_version(as_junior, chart):
    response = as_junior.post(
        _url("diagnosis_add", chart), {"version": chart.version, "q": "E11"}, **HX
    )
    assert response.status_code == 200
    assert response["HX-Trigger"] == "codingSaved"
    body = response.content.decode()
    for fragment in ('id="dx-list"', 'id="edits"', 'id="ws-version"', 'id="evidence-target"'):
        assert fragment in body
    assert "NOT_BILLABLE" in body
    assert f'value="{chart.version + 1}"' in body
    assert chart.diagnoses.get().code == "E11"


def test_fixing_the_code_clears_the_edit(as_junior, chart, junior):
    header = services.diagnosis_add(encounter=chart, by=junior, version=1, code="E11")
    as_junior.post(_url("diagnosis_remove", chart), {"version": 2, "diagnosis_id": header.pk}, **HX)
    response = as_junior.post(_url("diagnosis_add", chart), {"version": 3, "q": "E11.9"}, **HX)
    assert "NOT_BILLABLE" not in response.content.decode()
    assert list(chart.diagnoses.values_list("code", flat=True)) == ["E11.9"]


def test_a_stale_version_is_refused_with_a_message_and_nothing_changes(as_junior, chart, junior):
    services.diagnosis_add(encounter=chart, by=junior, version=1, code="E11.9")  # now version 2
    response = as_junior.post(_url("diagnosis_add", chart), {"version": 1, "q": "I10"}, **HX)
    body = response.content.decode()
    assert "Someone else saved this encounter" in body
    assert "Reload the chart" in body
    assert 'id="dx-list"' not in body  # the page keeps what the coder sees and typed
    assert list(chart.diagnoses.values_list("code", flat=True)) == ["E11.9"]


def test_an_unknown_code_is_reported_beside_the_entry_box(as_junior, chart):
    response = as_junior.post(_url("diagnosis_add", chart), {"version": 1, "q": "Q99.99X"}, **HX)
    body = response.content.decode()
    assert 'id="dx-error"' in body and "is not an ICD-10-CM code" in body
    assert not chart.diagnoses.exists()


def test_without_javascript_a_change_redirects_back_with_a_message(as_junior, chart):
    response = as_junior.post(
        _url("diagnosis_add", chart), {"version": 1, "code": "E11.9"}, follow=True
    )
    assert response.redirect_chain[-1][0] == _url("workspace", chart)
    assert "E11.9 added as diagnosis 1" in response.content.decode()


def test_reordering_and_poa_on_an_inpatient_stay(as_junior, junior):
    stay = InpatientEncounterFactory(assignee=junior, status=Encounter.Status.CODING)
    first = services.diagnosis_add(encounter=stay, by=junior, version=1, code="I50.33")
    second = services.diagnosis_add(encounter=stay, by=junior, version=2, code="E11.42")
    as_junior.post(
        _url("diagnosis_move", stay), {"version": 3, "diagnosis_id": second.pk, "position": 1}, **HX
    )
    response = as_junior.post(
        _url("diagnosis_poa", stay), {"version": 4, "diagnosis_id": first.pk, "poa": "Y"}, **HX
    )
    assert response.status_code == 200
    assert list(stay.diagnoses.values_list("code", "poa")) == [("E11.42", ""), ("I50.33", "Y")]
    assert "POA_MISSING" in response.content.decode()


def test_a_procedure_line_is_added_and_edited_inline(as_junior, chart, junior):
    services.diagnosis_add(encounter=chart, by=junior, version=1, code="E11.9")
    as_junior.post(
        _url("procedure_add", chart), {"version": 2, "system": "cpt", "q": "99213"}, **HX
    )
    line = chart.procedures.get()
    response = as_junior.post(
        _url("procedure_update", chart),
        {
            "version": 3,
            "procedure_id": line.pk,
            "modifiers": ["25", "", "", ""],
            "units": "2",
            "performed_on": "2026-05-04",
            "diagnosis_pointers": "1",
        },
        **HX,
    )
    assert response.status_code == 200
    line.refresh_from_db()
    assert (line.code, line.modifiers, line.units, line.diagnosis_pointers) == (
        "99213",
        ["25"],
        2,
        [1],
    )


def test_a_bad_procedure_line_shows_its_error_on_that_line(as_junior, chart, junior):
    services.diagnosis_add(encounter=chart, by=junior, version=1, code="E11.9")
    line = services.procedure_add(encounter=chart, by=junior, version=2, code="99213", system="cpt")
    response = as_junior.post(
        _url("procedure_update", chart),
        {"version": 3, "procedure_id": line.pk, "units": "1", "diagnosis_pointers": "7"},
        **HX,
    )
    body = response.content.decode()
    assert f'id="px-error-{line.pk}"' in body and "between 1 and 1" in body


def test_evidence_is_attached_from_document_offsets(as_junior, chart, junior):
    dx = services.diagnosis_add(encounter=chart, by=junior, version=1, code="E11.42")
    document = chart.documents.get()
    start = document.text.index("type 2 diabetes")
    end = start + len("type 2 diabetes mellitus with diabetic polyneuropathy")
    response = as_junior.post(
        _url("evidence_attach", chart),
        {
            "version": 2,
            "target": f"diagnosis:{dx.pk}",
            "document_id": document.pk,
            "start": start,
            "end": end,
        },
        **HX,
    )
    assert response.status_code == 200
    dx.refresh_from_db()
    assert dx.evidence_quote == "type 2 diabetes mellitus with diabetic polyneuropathy"
    assert f'data-evidence-start="{start}"' in response.content.decode()


def test_submitting_with_error_edits_shows_them_and_asks_for_a_reason(as_junior, chart, junior):
    services.diagnosis_add(encounter=chart, by=junior, version=1, code="E11")
    response = as_junior.post(_url("submit", chart), {"version": 2}, **HX)
    body = response.content.decode()
    assert "NOT_BILLABLE" in body and "override reason" in body
    chart.refresh_from_db()
    assert chart.status == Encounter.Status.CODING
    response = as_junior.post(
        _url("submit", chart), {"version": 2, "override_reason": "Payer accepts it"}, **HX
    )
    assert response["HX-Redirect"] == reverse("encounters:queue")
    chart.refresh_from_db()
    assert chart.status == Encounter.Status.REVIEW


def test_escalating_needs_a_reason(as_junior, chart):
    response = as_junior.post(_url("escalate", chart), {"version": 1, "reason": " "}, **HX)
    assert "Say why this encounter is complex" in response.content.decode()
    response = as_junior.post(
        _url("escalate", chart), {"version": 1, "reason": "Sepsis, query needed"}, **HX
    )
    assert response["HX-Redirect"] == reverse("encounters:queue")
    chart.refresh_from_db()
    assert chart.status == Encounter.Status.COMPLEX


def test_the_edits_panel_says_so_when_the_engine_is_unavailable(as_junior, chart, monkeypatch):
    def unavailable(*, encounter):
        raise ImportError("codesets.edits")

    monkeypatch.setattr("encounters.coding.encounter_edits", unavailable)
    body = as_junior.get(_url("workspace", chart)).content.decode()
    assert "edits engine is unavailable" in body


def test_a_code_notes_fragment_loads_on_demand(as_junior):
    response = as_junior.get(
        reverse("encounters:code_notes", args=["icd10cm", "E11.9"]), {"date": "2026-05-04"}
    )
    assert response.status_code == 200
    assert b"Use additional code" in response.content


def test_returning_a_chart_to_the_pool(as_junior, chart):
    response = as_junior.post(_url("unclaim", chart), {"version": 1})
    assert response.url == reverse("encounters:queue")
    chart.refresh_from_db()
    assert (chart.assignee, chart.status) == (None, Encounter.Status.READY)


def test_diagnosis_assignment_model_is_untouched_by_reading(as_junior, chart):
    as_junior.get(_url("workspace", chart))
    assert not DiagnosisAssignment.objects.exists()
    assert Document.objects.filter(encounter=chart).count() == 1
