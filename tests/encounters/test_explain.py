"""'Explain this coding': what it says about each code, who sees what, sign-off and printing."""

import pytest
from django.urls import reverse

from accounts.models import PhiAccess
from encounters.explain import encounter_explanation
from encounters.models import (
    DiagnosisAssignment,
    Encounter,
    ExplanationSignOff,
    ProcedureAssignment,
)
from tests.conftest import PASSWORD
from tests.factories import DocumentFactory, EncounterFactory, InpatientEncounterFactory

pytestmark = pytest.mark.django_db

STAY_TEXT = (
    "Admitted with community acquired pneumonia. "
    "Acute respiratory failure with hypoxia, on BiPAP. "
    "Sodium 128: hyponatremia."
)


def _url(name, encounter):
    return reverse(f"encounters:{name}", kwargs={"pk": encounter.pk})


def _dx(encounter, by, sequence, code, poa="Y", quote="", document=None):
    start = document.text.find(quote) if document is not None and quote else None
    return DiagnosisAssignment.objects.create(
        encounter=encounter,
        code=code,
        sequence=sequence,
        poa=poa,
        created_by=by,
        evidence_document=document if quote else None,
        evidence_start=start,
        evidence_end=start + len(quote) if quote else None,
        evidence_quote=quote,
    )


@pytest.fixture
def stay(intermediate):
    """A pneumonia stay with an MCC (J96.01) and a CC (E87.1), quoted from the H&P."""
    encounter = InpatientEncounterFactory(assignee=intermediate, status=Encounter.Status.CODING)
    document = DocumentFactory(
        encounter=encounter, title="H&P", note_type="hp", text=STAY_TEXT, author="Dr. Lee"
    )
    _dx(
        encounter, intermediate, 1, "J18.9", quote="community acquired pneumonia", document=document
    )
    _dx(
        encounter,
        intermediate,
        2,
        "J96.01",
        quote="Acute respiratory failure with hypoxia",
        document=document,
    )
    _dx(encounter, intermediate, 3, "E87.1", poa="", quote="hyponatremia", document=document)
    return encounter


def _login(client, user):
    client.login(username=user.username, password=PASSWORD)
    return client


def test_each_code_shows_its_description_evidence_and_principal_diagnosis_guideline(
    client, intermediate, stay
):
    body = _login(client, intermediate).get(_url("explain", stay)).content.decode()
    assert "Pneumonia, unspecified organism" in body  # the description from the code database
    assert "“community acquired pneumonia”" in body
    assert "H&amp;P (history and physical), 2026-05-04, Dr. Lee" in body
    assert "Principal diagnosis" in body and "Section II" in body
    assert "Section III" in body  # the secondary diagnoses
    assert "Y — present at the time of admission" in body


def test_the_edits_show_what_passed_and_what_fired_per_code(intermediate, stay):
    x = encounter_explanation(user=intermediate, encounter=stay)
    pneumonia, _failure, sodium = x.diagnoses
    checks = {c.rule: c for c in pneumonia.checks}
    assert set(checks) >= {"INVALID_CODE", "EXCLUDES1", "POA_", "MCE_"}
    assert checks["INVALID_CODE"].passed and checks["EXCLUDES1"].passed and checks["POA_"].passed
    # J18's "code first associated influenza, if applicable": a warning, shown on J18.9.
    assert checks["CODE_FIRST"].severity == "warning"
    fired = [c for c in sodium.checks if not c.passed]
    assert [c.rule for c in fired] == ["POA_"]  # E87.1 has no POA indicator
    assert fired[0].fired[0]["rule"] == "POA_MISSING"
    assert x.edit_counts["fired"] >= 1


def test_an_intermediate_sees_how_the_drg_follows_from_the_codes(client, intermediate, stay):
    x = encounter_explanation(user=intermediate, encounter=stay)
    assert x.drg["drg"] == "193"
    assert x.diagnoses[1].drg_role["severity"] == "MCC"
    assert x.diagnoses[1].drg_role["status"] == "counted"
    assert any("J96.01 is an MCC" in step.text for step in x.drg_steps)
    body = _login(client, intermediate).get(_url("explain", stay)).content.decode()
    assert 'data-drg="193"' in body


def test_a_junior_gets_the_explanation_without_the_drg(client, junior):
    encounter = InpatientEncounterFactory(assignee=junior, status=Encounter.Status.CODING)
    _dx(encounter, junior, 1, "J18.9")
    x = encounter_explanation(user=junior, encounter=encounter)
    assert x.show_drg is False and x.drg is None
    body = _login(client, junior).get(_url("explain", encounter)).content.decode()
    assert "data-drg=" not in body
    assert "Pneumonia, unspecified organism" in body


def test_an_outpatient_first_listed_diagnosis_cites_section_iv(junior):
    encounter = EncounterFactory(assignee=junior, status=Encounter.Status.CODING)
    _dx(encounter, junior, 1, "E11.9", poa="")
    _dx(encounter, junior, 2, "Z79.4", poa="")
    x = encounter_explanation(user=junior, encounter=encounter)
    first, insulin = x.diagnoses
    assert first.role == "First-listed diagnosis"
    assert "Section IV.A" in first.reasons[0].source
    assert first.poa_meaning == ""  # POA is for inpatient stays only
    # E11's "use additional code ... insulin (Z79.4)" note names the code that is here.
    assert any("Use additional code" in r.text and "Z79.4" in r.text for r in first.reasons)
    assert insulin.role == "Additional diagnosis"


def test_a_manifestation_code_explains_the_code_first_convention(junior):
    encounter = EncounterFactory(assignee=junior, status=Encounter.Status.CODING)
    _dx(encounter, junior, 1, "G30.9", poa="")
    _dx(encounter, junior, 2, "F02.80", poa="")
    x = encounter_explanation(user=junior, encounter=encounter)
    reasons = [r for r in x.diagnoses[1].reasons if "Manifestation code" in r.text]
    assert reasons, [r.text for r in x.diagnoses[1].reasons]
    assert "listed after G30.9" in reasons[0].text
    assert "Section I.A.13" in reasons[0].source


def test_viewing_and_printing_are_access_logged(client, intermediate, stay):
    _login(client, intermediate)
    assert client.get(_url("explain", stay)).status_code == 200
    assert client.get(_url("explain_print_provider", stay)).status_code == 200
    logged = PhiAccess.objects.filter(
        action=PhiAccess.Action.EXPLAIN_CODING, encounter_id=stay.pk, user=intermediate
    )
    assert list(logged.order_by("pk").values_list("reason", flat=True)) == [
        "Explain this coding",
        "Printed the provider version",
    ]
    assert logged.first().patient_id == stay.patient_id


def test_the_patient_version_is_refused_without_a_sign_off(client, intermediate, stay):
    response = _login(client, intermediate).get(_url("explain_print_patient", stay), follow=True)
    assert response.redirect_chain[-1][0] == _url("explain", stay)
    assert "needs a staff sign-off" in response.content.decode()
    assert not PhiAccess.objects.filter(reason="Printed the patient version").exists()


def test_an_intermediate_signs_off_and_the_patient_version_prints_in_plain_words(
    client, intermediate, stay
):
    _login(client, intermediate)
    response = client.post(
        _url("explain_sign_off", stay),
        {"audience": "patient", "version": stay.version, "note": "Read with the provider."},
    )
    assert response.status_code == 302
    sign_off = ExplanationSignOff.objects.get(encounter=stay)
    assert (sign_off.audience, sign_off.coding_version) == ("patient", stay.version)
    body = client.get(_url("explain_print_patient", stay)).content.decode()
    assert "What your record says" in body and "community acquired pneumonia" in body
    assert "main reason you were admitted" in body
    assert "mcc" not in body.lower()  # no unexplained jargon
    assert "simple pneumonia and pleurisy with a major complication or comorbidity" in body
    assert "Reviewed and approved for you by Ira Intermediate" in body


def test_a_coding_change_needs_a_new_sign_off(client, intermediate, stay):
    ExplanationSignOff.objects.create(
        encounter=stay, audience="patient", coding_version=stay.version, signed_by=intermediate
    )
    _login(client, intermediate)
    assert client.get(_url("explain_print_patient", stay)).status_code == 200
    Encounter.objects.filter(pk=stay.pk).update(version=stay.version + 1)
    assert client.get(_url("explain_print_patient", stay)).status_code == 302


def test_signing_off_an_outdated_reading_is_refused(client, intermediate, stay):
    _login(client, intermediate)
    response = client.post(
        _url("explain_sign_off", stay),
        {"audience": "patient", "version": stay.version - 1},
        follow=True,
    )
    assert "coding changed while you were reading it" in response.content.decode()
    assert not ExplanationSignOff.objects.exists()


def test_a_junior_cannot_sign_off(client, junior):
    encounter = EncounterFactory(assignee=junior, status=Encounter.Status.CODING)
    _dx(encounter, junior, 1, "E11.9", poa="")
    response = _login(client, junior).post(
        _url("explain_sign_off", encounter), {"audience": "patient", "version": encounter.version}
    )
    assert response.status_code == 403
    assert not ExplanationSignOff.objects.exists()


def test_no_cpt_description_is_ever_shown(client, junior):
    encounter = EncounterFactory(
        assignee=junior, status=Encounter.Status.CODING, type=Encounter.Type.PROFESSIONAL
    )
    _dx(encounter, junior, 1, "E11.9", poa="")
    ProcedureAssignment.objects.create(
        encounter=encounter,
        system="cpt",
        code="99213",
        description="LICENSED CPT WORDING",
        sequence=1,
        created_by=junior,
    )
    body = _login(client, junior).get(_url("explain", encounter)).content.decode()
    assert "99213" in body
    assert "LICENSED CPT WORDING" not in body
    assert "description is licensed by the AMA" in body


def test_a_coder_outside_the_chart_cannot_open_its_explanation(client, junior, stay):
    response = _login(client, junior).get(_url("explain", stay))
    assert response.status_code == 403
    assert not PhiAccess.objects.filter(action=PhiAccess.Action.EXPLAIN_CODING).exists()
