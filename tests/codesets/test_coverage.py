"""Payer coverage rules: validation against the real code sets, the COVERAGE edit (supporting
diagnoses, diagnosis pointers, frequency limits with prior services), the API and CLI accepting
the new fields, the stored encounter's JSON, and the admin pages."""

import json
from datetime import date
from io import StringIO

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.urls import reverse

from codesets.coverage import (
    coverage_rule_create,
    coverage_rule_deactivate,
    coverage_rule_update,
    coverage_rules_in_force,
)
from codesets.edits import check, encounter_from_json
from codesets.edits.releases import forget_active_releases
from codesets.models import CoverageRule
from encounters.coding import encounter_as_json, encounter_edits
from encounters.models import DiagnosisAssignment, ProcedureAssignment
from tests.conftest import PASSWORD
from tests.factories import EncounterFactory

pytestmark = pytest.mark.django_db

FROM = date(2026, 4, 1)
API = "/api/v1/edits/check"


@pytest.fixture(autouse=True)
def hcpcs(cms_releases):
    """The real CMS HCPCS file (G0439 is the annual wellness visit, subsequent)."""
    forget_active_releases()
    return cms_releases


@pytest.fixture
def awv_rule(admin_user) -> CoverageRule:
    return coverage_rule_create(
        by=admin_user,
        payer="Medicare",
        procedure_system="hcpcs",
        procedure_code="g0439",
        supporting_diagnoses="Z00.00, z00.01",
        frequency_limit=1,
        frequency_days=365,
        policy="NCD 140.1 (test)",
        effective_from=FROM,
    )


def _professional(*dx: str, payer="Medicare", procedures=None, prior=None, **extra) -> dict:
    data = {
        "encounter_type": "professional",
        "service_date": "2026-04-15",
        "patient": {"age": 70, "sex": "F"},
        "payer": payer,
        "diagnoses": [{"code": code} for code in dx],
        "procedures": procedures or [{"system": "hcpcs", "code": "G0439"}],
        **extra,
    }
    if prior is not None:
        data["prior_services"] = prior
    return data


def _coverage(data: dict) -> list[dict]:
    return [e.as_dict() for e in check(encounter_from_json(data)) if e.rule == "COVERAGE"]


def _errors(**fields) -> dict[str, list[str]]:
    base = {
        "payer": "Medicare",
        "procedure_system": "hcpcs",
        "procedure_code": "G0439",
        "supporting_diagnoses": "Z00.00",
        "effective_from": FROM,
    }
    with pytest.raises(ValidationError) as caught:
        from codesets.coverage import coverage_rule_clean

        coverage_rule_clean(**(base | fields))
    return caught.value.message_dict


# -- validation ------------------------------------------------------------------------------


def test_a_rule_for_a_real_hcpcs_code_is_stored_as_coders_write_the_codes(awv_rule, admin_user):
    assert awv_rule.procedure_code == "G0439"
    assert awv_rule.supporting_diagnoses == ["Z00.00", "Z00.01"]
    assert awv_rule.updated_by == admin_user and awv_rule.active


def test_a_prefix_an_icd10pcs_code_and_a_cpt_number_are_accepted(admin_user):
    spirometry = coverage_rule_create(
        by=admin_user,
        payer="Acme",
        procedure_system="cpt",
        procedure_code="94010",
        supporting_diagnoses="J44*\nJ45.*",
        effective_from=FROM,
    )
    knee = coverage_rule_create(
        by=admin_user,
        payer="Acme",
        procedure_system="icd10pcs",
        procedure_code="0SRD0J9",
        supporting_diagnoses="M17.11",
        effective_from=FROM,
    )
    assert spirometry.supporting_diagnoses == ["J44*", "J45.*"]
    assert knee.procedure_code == "0SRD0J9"


def test_a_procedure_code_not_in_force_is_refused_with_the_release():
    errors = _errors(procedure_code="G9999X")
    assert "G9999X is not a code of" in errors["procedure_code"][0]
    assert "(HCPCS, in force on 2026-04-01)" in errors["procedure_code"][0]
    errors = _errors(procedure_system="icd10pcs", procedure_code="0SRD0J")
    assert "0SRD0J is not a code of" in errors["procedure_code"][0]


def test_a_cpt_code_must_be_five_characters():
    assert (
        "CPT codes are five characters"
        in _errors(procedure_system="cpt", procedure_code="9401")["procedure_code"][0]
    )


def test_each_bad_diagnosis_is_named():
    typed = "Z00.00, XYZ, E11, U99*, Q99.99"
    problems = _errors(supporting_diagnoses=typed)["supporting_diagnoses"]
    assert len(problems) == 4
    assert any(p.startswith("XYZ: not an ICD-10-CM code") for p in problems)
    assert any("E11: a category, not a billable code; write E11* " in p for p in problems)
    assert any(p.startswith("U99*: no ICD-10-CM code") for p in problems)
    assert any(p.startswith("Q99.99: not an ICD-10-CM code in") for p in problems)


def test_a_frequency_limit_needs_its_days_and_the_other_way_round():
    assert "both" in _errors(frequency_limit=1)["frequency_days"][0]
    assert "both" in _errors(frequency_days=30)["frequency_limit"][0]
    assert (
        "Between 1 and 3650" in _errors(frequency_limit=1, frequency_days=4000)["frequency_days"][0]
    )


def test_a_rule_that_checks_nothing_is_refused():
    assert "checks nothing" in _errors(supporting_diagnoses="")["supporting_diagnoses"][0]


def test_a_second_rule_for_the_same_payer_and_code_is_refused(awv_rule):
    assert "already has a rule for G0439" in _errors(payer="MEDICARE")["procedure_code"][0]


def test_an_update_may_keep_its_own_payer_and_code(awv_rule, admin_user):
    updated = coverage_rule_update(
        rule=awv_rule,
        by=admin_user,
        payer="Medicare",
        procedure_system="hcpcs",
        procedure_code="G0439",
        supporting_diagnoses="Z00.0*",
        effective_from=FROM,
    )
    assert updated.supporting_diagnoses == ["Z00.0*"] and updated.frequency_limit is None


def test_only_admins_maintain_rules(senior):
    with pytest.raises(PermissionDenied):
        coverage_rule_create(
            by=senior,
            payer="Medicare",
            procedure_system="hcpcs",
            procedure_code="G0439",
            supporting_diagnoses="Z00.00",
        )


def test_rules_in_force_follow_payer_dates_and_status(awv_rule, admin_user):
    assert coverage_rules_in_force(payer="medicare", on=date(2026, 4, 15)) == [awv_rule]
    assert coverage_rules_in_force(payer="Medicare", on=date(2026, 3, 31)) == []
    coverage_rule_deactivate(rule=awv_rule, by=admin_user)
    assert coverage_rules_in_force(payer="Medicare", on=date(2026, 4, 15)) == []


# -- the COVERAGE edit -----------------------------------------------------------------------


def test_coverage_fires_when_no_diagnosis_supports_the_service(awv_rule):
    [edit] = _coverage(_professional("I10"))
    assert edit["severity"] == "error" and edit["codes"] == ["G0439"]
    assert edit["message"] == (
        "Medicare covers G0439 only with a supporting diagnosis, and none of the encounter's "
        "diagnoses (I10) supports it. Diagnoses that would: Z00.00, Z00.01. "
        "Policy: NCD 140.1 (test)."
    )
    assert edit["reference"].startswith("Coverage rule of Medicare for G0439: NCD 140.1 (test);")
    assert "updated 20" in edit["reference"]


def test_coverage_is_quiet_with_a_supporting_diagnosis(awv_rule):
    assert _coverage(_professional("I10", "Z00.00")) == []


def test_coverage_is_quiet_for_another_payer_or_none(awv_rule):
    assert _coverage(_professional("I10", payer="Aetna HMO")) == []
    data = _professional("I10")
    del data["payer"]
    assert _coverage(data) == []


def test_coverage_reads_only_the_pointed_diagnoses_when_a_line_has_pointers(awv_rule):
    line = {"system": "hcpcs", "code": "G0439", "diagnosis_pointers": [1]}
    [edit] = _coverage(_professional("I10", "Z00.00", procedures=[line]))
    assert "the diagnoses this line points to (I10)" in edit["message"]
    line["diagnosis_pointers"] = [2]
    assert _coverage(_professional("I10", "Z00.00", procedures=[line])) == []


def test_pointers_past_the_diagnoses_fall_back_to_every_diagnosis(awv_rule):
    line = {"system": "hcpcs", "code": "G0439", "diagnosis_pointers": [5]}
    [edit] = _coverage(_professional("I10", "E11.9", procedures=[line]))
    assert "the encounter's diagnoses (I10, E11.9)" in edit["message"]


def test_a_prefix_rule_accepts_any_code_under_it(admin_user):
    coverage_rule_create(
        by=admin_user,
        payer="Acme",
        procedure_system="cpt",
        procedure_code="94010",
        supporting_diagnoses="J44*",
        effective_from=FROM,
    )
    line = [{"system": "cpt", "code": "94010"}]
    assert _coverage(_professional("J44.9", payer="Acme", procedures=line)) == []
    [edit] = _coverage(_professional("J18.9", payer="Acme", procedures=line))
    assert "Diagnoses that would: any code under J44." in edit["message"]


def test_the_frequency_limit_counts_prior_services_in_the_window(awv_rule):
    prior = [{"code": "G0439", "date": "2026-01-10"}]
    [edit] = _coverage(_professional("Z00.00", prior=prior))
    assert "at most 1 service in 365 days" in edit["message"]
    assert "already had it on 2026-01-10, and this claim adds 1 — 2 in all." in edit["message"]
    assert edit["message"].endswith("Policy: NCD 140.1 (test).")
    outside = [{"code": "G0439", "date": "2025-04-15"}, {"code": "G0438", "date": "2026-01-10"}]
    assert _coverage(_professional("Z00.00", prior=outside)) == []


def test_units_alone_can_exceed_the_limit(awv_rule):
    line = [{"system": "hcpcs", "code": "G0439", "units": 2}]
    [edit] = _coverage(_professional("Z00.00", procedures=line))
    assert (
        "had no earlier service in that time, and this claim adds 2 — 2 in all" in edit["message"]
    )


def test_a_deactivated_rule_is_not_checked(awv_rule, admin_user):
    coverage_rule_deactivate(rule=awv_rule, by=admin_user)
    assert _coverage(_professional("I10")) == []


def test_a_rule_not_yet_in_force_on_the_date_of_service_is_not_checked(awv_rule):
    assert _coverage(_professional("I10", service_date="2026-03-15")) == []


# -- API, CLI and stored encounters ----------------------------------------------------------


def test_the_api_accepts_payer_and_prior_services(client, junior, awv_rule):
    client.login(username=junior.username, password=PASSWORD)
    body = _professional("Z00.00", prior=[{"code": "G0439", "date": "2026-02-01"}])
    response = client.post(API, body, content_type="application/json")
    assert response.status_code == 200
    assert [e["rule"] for e in response.json()["edits"] if e["rule"] == "COVERAGE"] == ["COVERAGE"]


def test_the_api_still_refuses_unknown_fields_inside_prior_services(client, junior):
    client.login(username=junior.username, password=PASSWORD)
    body = _professional("Z00.00", prior=[{"code": "G0439", "day": "2026-02-01"}])
    response = client.post(API, body, content_type="application/json")
    assert response.status_code == 400
    assert "prior_services[0]: unknown field 'day'" in json.dumps(response.json())


def test_the_command_accepts_the_new_fields(tmp_path, awv_rule):
    path = tmp_path / "encounter.json"
    path.write_text(json.dumps(_professional("I10")))
    out = StringIO()
    call_command("edits", "check", "--json", str(path), stdout=out)
    assert "COVERAGE" in {e["rule"] for e in json.loads(out.getvalue())["edits"]}


def _line(encounter, code, by, performed_on, pointers=()):
    return ProcedureAssignment.objects.create(
        encounter=encounter,
        system="hcpcs",
        code=code,
        sequence=encounter.procedures.count() + 1,
        performed_on=performed_on,
        diagnosis_pointers=list(pointers),
        created_by=by,
    )


def test_a_stored_encounter_sends_its_payer_and_the_patients_earlier_services(
    awv_rule, junior, django_assert_num_queries
):
    earlier = EncounterFactory(
        payer="Medicare", admit_date=date(2026, 1, 5), discharge_date=date(2026, 1, 5)
    )
    _line(earlier, "G0439", junior, date(2026, 1, 5))
    _line(earlier, "99213", junior, date(2026, 1, 5))  # another code: not sent
    now = EncounterFactory(
        patient=earlier.patient,
        payer="Medicare",
        type="professional",
        admit_date=date(2026, 4, 15),
        discharge_date=date(2026, 4, 15),
    )
    DiagnosisAssignment.objects.create(encounter=now, code="Z00.00", sequence=1, created_by=junior)
    _line(now, "G0439", junior, date(2026, 4, 15), pointers=[1])
    EncounterFactory(payer="Medicare")  # another patient's encounter: never counted
    now = type(now).objects.select_related("patient").get(pk=now.pk)
    with django_assert_num_queries(3):  # diagnoses, procedures, the patient's prior services
        data = encounter_as_json(now)
    assert data["payer"] == "Medicare"
    assert data["prior_services"] == [{"code": "G0439", "date": "2026-01-05"}]
    assert data["procedures"][0]["diagnosis_pointers"] == [1]
    [edit] = [e for e in encounter_edits(encounter=now) if e["rule"] == "COVERAGE"]
    assert "already had it on 2026-01-05" in edit["message"]


# -- pages -----------------------------------------------------------------------------------


def test_the_list_filters_by_payer_and_code(client, admin_user, awv_rule):
    coverage_rule_create(
        by=admin_user,
        payer="Acme",
        procedure_system="cpt",
        procedure_code="94010",
        supporting_diagnoses="J44*",
    )
    client.login(username=admin_user.username, password=PASSWORD)
    url = reverse("codesets:coverage_list")
    body = client.get(url).content.decode()
    assert "G0439" in body and "94010" in body
    body = client.get(url, {"payer": "medi"}).content.decode()
    assert "G0439" in body and "94010" not in body
    body = client.get(url, {"code": "940"}).content.decode()
    assert "G0439" not in body and "94010" in body


@pytest.mark.parametrize("persona", ["junior", "intermediate", "senior"])
def test_coders_cannot_reach_the_coverage_pages(client, persona, request):
    user = request.getfixturevalue(persona)
    client.login(username=user.username, password=PASSWORD)
    assert client.get(reverse("codesets:coverage_list")).status_code == 403
    assert client.get(reverse("codesets:coverage_new")).status_code == 403


def test_a_bad_form_keeps_what_was_typed_and_says_why(client, admin_user):
    client.login(username=admin_user.username, password=PASSWORD)
    response = client.post(
        reverse("codesets:coverage_new"),
        {
            "payer": "Acme",
            "procedure_system": "hcpcs",
            "procedure_code": "G0439",
            "supporting_diagnoses": "Z00.00, E11",
            "frequency_limit": "1",
        },
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "Nothing was saved" in body
    assert "E11: a category, not a billable code" in body
    assert "Give both the number of services and the number of days" in body
    assert "Z00.00, E11" in body
    assert not CoverageRule.objects.exists()


def test_an_admin_creates_edits_and_deactivates_a_rule(client, admin_user):
    client.login(username=admin_user.username, password=PASSWORD)
    form = {
        "payer": "Acme",
        "procedure_system": "hcpcs",
        "procedure_code": "G0439",
        "supporting_diagnoses": "Z00.00",
        "frequency_limit": "1",
        "frequency_days": "365",
        "policy": "ACME-7",
    }
    response = client.post(reverse("codesets:coverage_new"), form)
    assert response.status_code == 302
    rule = CoverageRule.objects.get()
    edit_url = reverse("codesets:coverage_edit", args=[rule.pk])
    assert "ACME-7" in client.get(edit_url).content.decode()
    response = client.post(edit_url, form | {"supporting_diagnoses": "Z00.00\nZ00.01"})
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.supporting_diagnoses == ["Z00.00", "Z00.01"]
    response = client.post(
        reverse("codesets:coverage_active", args=[rule.pk]),
        {"active": "0", "next": "https://evil.example/"},
    )
    assert response.status_code == 302 and response.url == reverse("codesets:coverage_list")
    rule.refresh_from_db()
    assert not rule.active


def test_a_missing_rule_sends_the_admin_back_to_the_list(client, admin_user):
    client.login(username=admin_user.username, password=PASSWORD)
    response = client.get(reverse("codesets:coverage_edit", args=[999999]))
    assert response.status_code == 302 and response.url == reverse("codesets:coverage_list")
