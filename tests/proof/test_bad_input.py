"""Bad input proof: hostile text in the forms' text fields, damaged and oversized uploads,
wrong encodings, invalid codes and dates.

Hostile text is saved as typed (the ORM binds parameters: the SQL string is just text) and every
page that shows it escapes it: the raw tag never reaches the HTML. Refused input says why, in a
message on the page, and nothing saved before is lost.
"""

import json
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils.html import escape

from encounters import claims, reviews, services
from encounters.models import Document, Encounter, Patient, PhysicianQuery
from tests.factories import DocumentFactory, EncounterFactory, InpatientEncounterFactory

pytestmark = pytest.mark.django_db

SQL = "'; DROP TABLE encounters_encounter; --"
SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
PAYLOADS = [SQL, SCRIPT, IMG]
# One string with all three, for the fields long enough to take it.
ALL = f"{SQL} {SCRIPT} {IMG}"
RAW_TAGS = ("<script>alert(1)", "<img src=x onerror", "onerror=alert(1)>")


def assert_escaped(html: str, text: str, *, shown: bool = True) -> None:
    """The raw markup never appears; when the page shows the text, it shows it escaped."""
    for raw in RAW_TAGS:
        assert raw not in html, f"unescaped {raw!r} in the page"
    if shown:
        assert escape(text) in html


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


def signed_in(client, user):
    client.force_login(user)
    return client


# ---------------------------------------------------------------- hostile text in the forms


@pytest.mark.parametrize("payload", PAYLOADS, ids=["sql", "script", "img"])
def test_intake_form_keeps_hostile_text_as_text_and_shows_it_escaped(client, junior, payload):
    signed_in(client, junior)
    response = client.post(
        reverse("encounters:intake_new"),
        {
            "mrn": payload[:64],
            "last_name": payload,
            "first_name": payload,
            "birth_date": "1960-05-17",
            "sex": "F",
            "coverage": payload,
            "phone": payload[:40],
            "address": payload,
            "type": "outpatient",
            "admit_date": "2026-05-04",
            "account_number": payload[:64],
            "provider": payload,
            "payer": payload,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    encounter = Encounter.objects.get(account_number=payload[:64])  # the table is still there
    assert (encounter.provider, encounter.payer) == (payload, payload)
    assert (encounter.patient.last_name, encounter.patient.first_name) == (payload, payload)
    assert_escaped(page(client, response.url), payload)
    assert_escaped(page(client, reverse("encounters:intake")), payload)


def test_document_form_keeps_hostile_text_and_the_workspace_escapes_it(client, junior):
    encounter = EncounterFactory(status=Encounter.Status.CODING, assignee=junior)
    signed_in(client, junior)
    response = client.post(
        reverse("encounters:document_new", args=[encounter.pk]),
        {
            "note_type": "progress",
            "title": ALL,
            "written_on": "2026-05-04",
            "author": ALL[:120],
            "text": f"Assessment: {ALL}",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    document = encounter.documents.get()
    assert (document.title, document.text) == (ALL, f"Assessment: {ALL}")
    assert_escaped(page(client, reverse("encounters:workspace", args=[encounter.pk])), ALL)


def test_escalation_and_override_reasons_are_escaped_where_shown(client, junior, intermediate):
    escalated = EncounterFactory(status=Encounter.Status.CODING, assignee=junior)
    submitted = EncounterFactory(status=Encounter.Status.CODING, assignee=junior)
    DocumentFactory(encounter=submitted)
    services.diagnosis_add(encounter=submitted, by=junior, version=1, code="E11.9")
    signed_in(client, junior)
    hx = {"HTTP_HX_REQUEST": "true"}
    client.post(
        reverse("encounters:escalate", args=[escalated.pk]), {"version": 1, "reason": ALL}, **hx
    )
    client.post(
        reverse("encounters:submit", args=[submitted.pk]),
        {"version": 2, "override_reason": ALL},
        **hx,
    )
    escalated.refresh_from_db()
    submitted.refresh_from_db()
    assert escalated.escalation_reason == ALL and escalated.status == Encounter.Status.COMPLEX
    assert submitted.status == Encounter.Status.REVIEW
    signed_in(client, intermediate)
    assert_escaped(page(client, reverse("encounters:complex")), ALL)
    assert_escaped(page(client, reverse("encounters:workspace", args=[escalated.pk])), ALL)
    review_page = page(client, reverse("encounters:review", args=[submitted.pk]))
    assert_escaped(review_page, ALL, shown=False)


def test_query_form_keeps_hostile_text_and_escapes_it(client, intermediate):
    encounter = EncounterFactory(status=Encounter.Status.CODING, assignee=intermediate)
    document = DocumentFactory(encounter=encounter)
    signed_in(client, intermediate)
    response = client.post(
        reverse("encounters:query_new", args=[encounter.pk]),
        {
            "kind": "multiple_choice",
            "provider": ALL[:120],
            "question": f"Please clarify: {ALL}",
            "options": f"{SCRIPT}\n{IMG}",
            "indicator": [f"{document.pk}:0:10"],  # "Assessment", quoted from the note
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    query = PhysicianQuery.objects.get(encounter=encounter)
    assert ALL in query.question
    assert_escaped(page(client, reverse("encounters:workspace", args=[encounter.pk])), ALL)
    assert_escaped(page(client, reverse("encounters:queries")), ALL, shown=False)


def test_review_comments_are_escaped_on_the_coders_feedback(client, junior, intermediate):
    encounter = EncounterFactory(status=Encounter.Status.CODING, assignee=junior)
    services.diagnosis_add(encounter=encounter, by=junior, version=1, code="E11.9")
    encounter = services.encounter_submit(
        encounter=encounter, by=junior, version=2, override_reason="checked"
    )
    reviews.review_return(
        encounter=encounter,
        by=intermediate,
        version=encounter.version,
        comments=[
            reviews.CommentInput(change="changed", category="specificity", code="E11.9", reason=ALL)
        ],
    )
    signed_in(client, junior)
    html = page(client, reverse("encounters:feedback_detail", args=[encounter.pk]))
    assert_escaped(html, ALL)
    workspace = page(client, reverse("encounters:workspace", args=[encounter.pk]))
    assert_escaped(workspace, ALL, shown=False)


@pytest.fixture
def billed(intermediate):
    encounter = InpatientEncounterFactory(
        assignee=intermediate, status=Encounter.Status.CODING, payer="Acme Health"
    )
    DocumentFactory(encounter=encounter)
    services.diagnosis_add(encounter=encounter, by=intermediate, version=1, code="J18.9")
    Encounter.objects.filter(pk=encounter.pk).update(status=Encounter.Status.READY_TO_BILL)
    encounter.refresh_from_db()
    return claims.claim_bill(encounter=encounter, by=intermediate, billed_amount="5000")


def test_denial_text_and_appeal_letter_are_escaped_on_the_claim_pages(client, intermediate, billed):
    pk = billed.encounter_id
    signed_in(client, intermediate)
    response = client.post(
        reverse("encounters:claim_deny", args=[pk]), {"carc_codes": "CO-50", "text": ALL}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    response = client.post(
        reverse("encounters:claim_appeal", args=[pk]), {"appeal_letter": f"Dear payer, {ALL}"}
    )
    assert response.status_code == 302
    billed.refresh_from_db()
    assert billed.appeal_letter == f"Dear payer, {ALL}"
    assert_escaped(page(client, reverse("encounters:claim_detail", args=[pk])), ALL)
    assert_escaped(page(client, reverse("encounters:claim_appeal", args=[pk])), ALL)
    assert_escaped(page(client, reverse("encounters:claim_appeal_print", args=[pk])), ALL)


def test_coverage_rule_text_is_escaped_on_the_rule_pages(client, admin_user):
    from codesets.models import CoverageRule

    signed_in(client, admin_user)
    response = client.post(
        reverse("codesets:coverage_new"),
        {
            "payer": ALL[:120],
            "procedure_system": "icd10pcs",
            "procedure_code": "0DTJ4ZZ",
            "supporting_diagnoses": "K35.80",
            "policy": ALL[:200],
            "note": ALL,
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    rule = CoverageRule.objects.get()
    assert rule.note == ALL
    assert_escaped(page(client, reverse("codesets:coverage_list")), ALL[:120])
    assert_escaped(page(client, reverse("codesets:coverage_edit", args=[rule.pk])), ALL)


def test_audit_plan_name_is_escaped_on_the_plan_pages(client, senior):
    from audits.models import AuditPlan

    signed_in(client, senior)
    response = client.post(
        reverse("audits:plan_new"),
        {
            "name": ALL,
            "kind": "post_bill",
            "party": "internal",
            "auditors": [senior.pk],
            "method": "random_percent",
            "percent": "10",
            "date_from": "2026-05-01",
            "date_to": "2026-05-31",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    plan = AuditPlan.objects.get()
    assert plan.name == ALL
    assert_escaped(page(client, reverse("audits:plan_detail", args=[plan.pk])), ALL)
    assert_escaped(page(client, reverse("audits:plan_list")), ALL)


# ---------------------------------------------------------------- uploads


def _upload(client, encounter, name: str, content: bytes):
    return client.post(
        reverse("encounters:document_upload", args=[encounter.pk]),
        {
            "note_type": "progress",
            "written_on": "2026-05-04",
            "file": SimpleUploadedFile(name, content),
        },
    )


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.txt", b"", "is empty"),
        ("big.txt", b"a" * 2049, "larger than"),
        ("fake.pdf", b"%PDF-1.7\nthis is not a pdf at all", "is not a readable PDF"),
        ("binary.txt", b"\x7fELF\x02\x01\x01\x00\x00\x00" * 20, "neither plain text nor PDF"),
        ("setup.exe", b"MZ text that is not wanted", "only plain text (.txt) and PDF"),
        ("blank.txt", b"   \n\n  ", "has no text"),
    ],
    ids=["empty", "oversized", "fake-pdf", "binary", "wrong-type", "blank"],
)
def test_a_bad_upload_is_refused_with_a_message_and_nothing_is_lost(
    client, junior, settings, tmp_path, name, content, message
):
    settings.MEDIA_ROOT = tmp_path
    settings.DOCUMENT_UPLOAD_MAX_BYTES = 2048
    encounter = EncounterFactory(status=Encounter.Status.CODING, assignee=junior)
    kept = DocumentFactory(encounter=encounter)
    signed_in(client, junior)
    response = _upload(client, encounter, name, content)
    assert response.status_code in (200, 400)
    assert message in response.content.decode()
    assert list(encounter.documents.all()) == [kept]
    assert not any(tmp_path.rglob("*.*"))  # no stray original kept either


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("Patient café, naïve résumé: CHF.".encode("latin-1"), "Patient café, naïve résumé"),
        ("Note: pneumonia, Größe 1,80 m.".encode("utf-16"), "Note: pneumonia, Größe"),
        ("Fièvre 39 °C, toux.".encode("utf-8-sig"), "Fièvre 39 °C"),
    ],
    ids=["latin-1", "utf-16", "utf-8-bom"],
)
def test_text_files_in_other_encodings_are_read_correctly(
    client, junior, settings, tmp_path, content, expected
):
    settings.MEDIA_ROOT = tmp_path
    encounter = EncounterFactory(status=Encounter.Status.CODING, assignee=junior)
    signed_in(client, junior)
    response = _upload(client, encounter, "note.txt", content)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert encounter.documents.get().text.startswith(expected)


def test_invalid_utf8_bytes_are_refused_or_read_never_a_server_error(
    client, junior, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    encounter = EncounterFactory(status=Encounter.Status.CODING, assignee=junior)
    signed_in(client, junior)
    # 0x81 and 0x8d are undefined in cp1252 too: no decoding the app tries fits.
    response = _upload(client, encounter, "note.txt", b"Assessment \xc3\x28 \x81\x8d fever")
    assert response.status_code in (200, 400)
    assert "is not readable text" in response.content.decode()
    assert not encounter.documents.exists()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"{not json", "not"),
        (b"\xff\xfe\x00garbage", "not"),
        (json.dumps({"resourceType": "Patient", "id": "p1"}).encode(), "Bundle"),
        (json.dumps({"resourceType": "Bundle", "type": "collection", "entry": []}).encode(),
         "exactly one Patient"),
    ],
    ids=["malformed", "binary", "not-a-bundle", "no-patient"],
)  # fmt: skip
def test_a_bad_fhir_bundle_is_refused_with_a_message(client, junior, raw, message):
    signed_in(client, junior)
    patients = Patient.objects.count()
    response = client.post(
        reverse("encounters:fhir_import"),
        {"bundle": SimpleUploadedFile("bundle.json", raw, content_type="application/json")},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    assert Patient.objects.count() == patients


def test_a_huge_fhir_bundle_is_refused_before_parsing(client, junior, monkeypatch):
    import encounters.fhir

    monkeypatch.setattr(encounters.fhir, "MAX_BUNDLE_BYTES", 1024)
    signed_in(client, junior)
    raw = json.dumps({"resourceType": "Bundle", "type": "collection", "pad": "x" * 2000})
    response = client.post(
        reverse("encounters:fhir_import"),
        {"bundle": SimpleUploadedFile("bundle.json", raw.encode())},
    )
    assert "larger than" in response.content.decode()
    assert not Patient.objects.exists()


# ---------------------------------------------------------------- invalid codes and dates


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("ZZZ.99", "is not an ICD-10-CM code"),
        ("E11.999", "is not an ICD-10-CM code"),
        (SCRIPT, "is not an ICD-10-CM code"),
        ("", "Type a code"),
    ],
    ids=["unknown", "too-long", "markup", "blank"],
)
def test_an_invalid_code_is_refused_with_a_message_and_the_codes_stay(
    client, junior, code, message
):
    encounter = EncounterFactory(status=Encounter.Status.CODING, assignee=junior)
    services.diagnosis_add(encounter=encounter, by=junior, version=1, code="I10")
    signed_in(client, junior)
    response = client.post(
        reverse("encounters:diagnosis_add", args=[encounter.pk]),
        {"code": code, "version": 2},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert message in html
    assert_escaped(html, code, shown=False)
    encounter.refresh_from_db()
    assert encounter.version == 2
    assert list(encounter.diagnoses.values_list("code", flat=True)) == ["I10"]


def test_a_stale_or_garbled_version_is_refused_and_nothing_is_lost(client, junior):
    encounter = EncounterFactory(status=Encounter.Status.CODING, assignee=junior)
    services.diagnosis_add(encounter=encounter, by=junior, version=1, code="I10")
    signed_in(client, junior)
    url = reverse("encounters:diagnosis_add", args=[encounter.pk])
    for version in ("1", "abc", "", "99999999999999999999"):
        response = client.post(url, {"code": "E11.9", "version": version}, HTTP_HX_REQUEST="true")
        assert response.status_code in (200, 400), version
        assert 'role="alert"' in response.content.decode() or "alert" in response.content.decode()
    assert list(encounter.diagnoses.values_list("code", flat=True)) == ["I10"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"birth_date": "1960-13-45"}, "Enter a valid date"),
        ({"admit_date": "05/04/2026x"}, "Enter a valid date"),
        ({"type": "inpatient", "admit_date": "2026-05-04", "discharge_date": "2026-05-01"},
         "before"),
        ({"birth_date": "2090-01-01"}, "future"),
        ({"ssn": "12-345-678"}, "Enter the SSN as 9 digits"),
    ],
    ids=["impossible-date", "garbled-date", "discharge-before-admit", "born-later", "ssn"],
)  # fmt: skip
def test_invalid_intake_dates_are_refused_with_a_message_and_nothing_saved(
    client, junior, changes, message
):
    signed_in(client, junior)
    form = {
        "mrn": "MRN-DATES",
        "last_name": "Dates",
        "first_name": "Dana",
        "birth_date": "1960-05-17",
        "sex": "F",
        "type": "outpatient",
        "admit_date": "2026-05-04",
    } | changes
    response = client.post(reverse("encounters:intake_new"), form)
    html = response.content.decode()
    assert response.status_code == 200
    assert message in html
    assert 'value="Dates"' in html  # what was typed is kept in the form
    assert not Patient.objects.filter(last_name="Dates").exists()


def test_an_invalid_document_date_keeps_the_typed_text(client, junior):
    encounter = EncounterFactory(status=Encounter.Status.CODING, assignee=junior)
    signed_in(client, junior)
    response = client.post(
        reverse("encounters:document_new", args=[encounter.pk]),
        {"note_type": "progress", "written_on": "2026-02-30", "text": "Long dictated note."},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Enter a valid date" in html and "Long dictated note." in html
    assert not Document.objects.filter(encounter=encounter).exists()


def test_a_date_of_service_outside_every_release_is_refused_with_a_message(junior):
    from django.core.exceptions import ValidationError

    encounter = EncounterFactory(
        status=Encounter.Status.CODING,
        assignee=junior,
        admit_date=date(1990, 1, 1),
        discharge_date=date(1990, 1, 1),
    )
    with pytest.raises(ValidationError, match="release in force on 1990-01-01"):
        services.diagnosis_add(encounter=encounter, by=junior, version=1, code="E11.9")
    assert not encounter.diagnoses.exists()
