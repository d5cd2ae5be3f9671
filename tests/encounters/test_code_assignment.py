from datetime import date

import pytest
from django.core.exceptions import ValidationError

from encounters import services
from encounters.models import Encounter
from tests.factories import DocumentFactory, EncounterFactory, InpatientEncounterFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def coding(junior):
    return EncounterFactory(assignee=junior, status=Encounter.Status.CODING)


def _codes(encounter):
    return list(encounter.diagnoses.order_by("sequence").values_list("code", flat=True))


def test_diagnoses_are_added_with_the_dot_and_description(coding, junior):
    added = services.diagnosis_add(encounter=coding, by=junior, version=1, code="e119")
    assert (added.code, added.sequence) == ("E11.9", 1)
    assert added.description == "Type 2 diabetes mellitus without complications"
    coding.refresh_from_db()
    assert coding.version == 2


def test_an_unknown_code_is_refused_with_the_date_of_service(coding, junior):
    with pytest.raises(
        ValidationError,
        match=r"E11\.99 is not an ICD-10-CM code in the release in force on 2026-05-04",
    ):
        services.diagnosis_add(encounter=coding, by=junior, version=1, code="E11.99")


def test_the_same_code_twice_is_refused(coding, junior):
    services.diagnosis_add(encounter=coding, by=junior, version=1, code="I10")
    with pytest.raises(ValidationError, match="already on this encounter"):
        services.diagnosis_add(encounter=coding, by=junior, version=2, code="I10")


def test_reordering_makes_a_new_principal_and_removing_renumbers(coding, junior):
    for version, code in enumerate(["I10", "E11.9", "N18.31"], start=1):
        services.diagnosis_add(encounter=coding, by=junior, version=version, code=code)
    n18 = coding.diagnoses.get(code="N18.31")
    services.diagnosis_move(encounter=coding, by=junior, version=4, diagnosis_id=n18.pk, position=1)
    assert _codes(coding) == ["N18.31", "I10", "E11.9"]
    i10 = coding.diagnoses.get(code="I10")
    services.diagnosis_remove(encounter=coding, by=junior, version=5, diagnosis_id=i10.pk)
    assert list(coding.diagnoses.values_list("code", "sequence")) == [("N18.31", 1), ("E11.9", 2)]


def test_a_stale_copy_is_refused_and_nothing_is_lost(coding, junior, intermediate):
    services.diagnosis_add(encounter=coding, by=junior, version=1, code="I10")
    with pytest.raises(services.StaleEdit, match="Someone else saved this encounter"):
        services.diagnosis_add(encounter=coding, by=intermediate, version=1, code="E11.9")
    assert _codes(coding) == ["I10"]


def test_poa_is_for_inpatient_stays_and_must_be_valid(junior):
    inpatient = InpatientEncounterFactory(assignee=junior, status=Encounter.Status.CODING)
    dx = services.diagnosis_add(encounter=inpatient, by=junior, version=1, code="J18.9", poa="Y")
    assert dx.poa == "Y"
    with pytest.raises(ValidationError, match="not a POA indicator"):
        services.diagnosis_set_poa(
            encounter=inpatient, by=junior, version=2, diagnosis_id=dx.pk, poa="X"
        )
    outpatient = EncounterFactory(assignee=junior, status=Encounter.Status.CODING)
    with pytest.raises(ValidationError, match="inpatient stays only"):
        services.diagnosis_add(encounter=outpatient, by=junior, version=1, code="I10", poa="Y")


def test_inpatient_procedures_are_pcs_and_take_no_modifiers(junior):
    inpatient = InpatientEncounterFactory(assignee=junior, status=Encounter.Status.CODING)
    line = services.procedure_add(encounter=inpatient, by=junior, version=1, code="0dtj4zz")
    assert (line.system, line.code) == ("icd10pcs", "0DTJ4ZZ")
    assert line.performed_on == date(2026, 5, 5)
    with pytest.raises(ValidationError, match="not reported on inpatient"):
        services.procedure_add(
            encounter=inpatient, by=junior, version=2, code="99213", system="cpt"
        )
    with pytest.raises(ValidationError, match="take no modifiers"):
        services.procedure_add(
            encounter=inpatient, by=junior, version=2, code="0FT44ZZ", modifiers=["59"]
        )


def test_cpt_numbers_are_kept_without_descriptions(coding, junior):
    services.diagnosis_add(encounter=coding, by=junior, version=1, code="I10")
    line = services.procedure_add(
        encounter=coding,
        by=junior,
        version=2,
        code="99214",
        system="cpt",
        modifiers=["25", "", "rt"],
        units=1,
        diagnosis_pointers=[1],
    )
    assert (line.code, line.description, line.modifiers) == ("99214", "", ["25", "RT"])


def test_procedure_lines_check_modifiers_units_and_pointers(coding, junior):
    services.diagnosis_add(encounter=coding, by=junior, version=1, code="I10")
    base = {"encounter": coding, "by": junior, "version": 2, "code": "99213", "system": "cpt"}
    with pytest.raises(ValidationError, match="at most four modifiers"):
        services.procedure_add(**base, modifiers=["25", "59", "LT", "76", "77"])
    with pytest.raises(ValidationError, match="Units must be at least 1"):
        services.procedure_add(**base, units=0)
    with pytest.raises(ValidationError, match="between 1 and 1"):
        services.procedure_add(**base, diagnosis_pointers=[2])


def test_evidence_links_a_code_to_a_passage(junior):
    document = DocumentFactory(
        encounter=EncounterFactory(assignee=junior, status=Encounter.Status.CODING)
    )
    encounter = document.encounter
    dx = services.diagnosis_add(encounter=encounter, by=junior, version=1, code="E11.42")
    start = document.text.index("type 2 diabetes")
    end = start + len("type 2 diabetes mellitus with diabetic polyneuropathy")
    services.evidence_attach(
        encounter=encounter,
        by=junior,
        version=2,
        kind="diagnosis",
        assignment_id=dx.pk,
        document_id=document.pk,
        start=start,
        end=end,
    )
    dx.refresh_from_db()
    assert dx.evidence_quote == "type 2 diabetes mellitus with diabetic polyneuropathy"
    assert dx.evidence_document == document
    with pytest.raises(ValidationError, match="outside the document"):
        services.evidence_attach(
            encounter=encounter,
            by=junior,
            version=3,
            kind="diagnosis",
            assignment_id=dx.pk,
            document_id=document.pk,
            start=5,
            end=10**6,
        )


def test_codes_of_a_finished_encounter_cannot_change(junior):
    billed = EncounterFactory(assignee=junior, status=Encounter.Status.BILLED)
    with pytest.raises(ValidationError, match="cannot change"):
        services.diagnosis_add(encounter=billed, by=junior, version=1, code="I10")


def test_submit_needs_a_diagnosis(coding, junior):
    with pytest.raises(ValidationError, match="at least one diagnosis"):
        services.encounter_submit(encounter=coding, by=junior, version=1)


def test_submitting_an_inpatient_stay_keeps_its_drg(intermediate):
    stay = InpatientEncounterFactory(assignee=intermediate, status=Encounter.Status.CODING)
    services.diagnosis_add(encounter=stay, by=intermediate, version=1, code="J18.9", poa="Y")
    services.diagnosis_add(encounter=stay, by=intermediate, version=2, code="J96.01", poa="Y")
    services.encounter_submit(encounter=stay, by=intermediate, version=3, override_reason="ok")
    stay.refresh_from_db()
    assert stay.status == Encounter.Status.REVIEW
    assert stay.drg_at_save["drg"] == "193"
