"""Original coding against the blind re-code: every kind of difference on real codes, the
counts the dashboards read, and upcoding/downcoding from real MS-DRG weights (CMS Table 5)."""

from datetime import date
from decimal import Decimal

import pytest

from accounts.models import Role, User
from audits import services
from audits.comparison import compare
from audits.models import AuditItem, AuditPlan, Finding
from tests.audits.plan_factories import coded_encounter, plan
from tests.codesets.drg_data import drg_weights, drg_weights_release  # noqa: F401

K = Finding.Kind


def dx(*codes, poa="Y"):
    return [{"code": c, "poa": poa, "description": ""} for c in codes]


def px(*lines):
    return [
        {"system": s, "code": c, "modifiers": list(m), "units": u, "description": ""}
        for s, c, m, u in lines
    ]


def kinds(result):
    return sorted((f.kind, f.original_code, f.audited_code) for f in result.findings)


def test_identical_coding_agrees_on_every_code():
    coding = {"diagnoses": dx("J18.9", "E11.9"), "procedures": px(("hcpcs", "G0008", (), 1))}
    result = compare(coding, coding, inpatient=False)
    assert result.findings == []
    assert (result.codes_agreed, result.codes_total) == (3, 3)


def test_a_code_of_the_same_category_is_a_specificity_change():
    result = compare({"diagnoses": dx("E11.9")}, {"diagnoses": dx("E11.42")}, inpatient=False)
    assert kinds(result) == [(K.CHANGED, "E11.9", "E11.42")]
    finding = result.findings[0]
    assert (finding.category, finding.code_kind) == (Finding.Category.SPECIFICITY, "diagnosis")
    # Two different codes in the union, none agreed.
    assert (result.codes_agreed, result.codes_total) == (0, 2)


def test_a_code_only_the_auditor_assigned_is_a_missing_code():
    result = compare(
        {"diagnoses": dx("J18.9")}, {"diagnoses": dx("J18.9", "N17.9")}, inpatient=False
    )
    assert kinds(result) == [(K.ADDED, "", "N17.9")]
    assert result.findings[0].category == Finding.Category.MISSING_CODE
    assert (result.codes_agreed, result.codes_total) == (1, 2)


def test_a_code_only_the_coder_assigned_is_unsupported_by_documentation():
    result = compare(
        {"diagnoses": dx("J18.9", "J44.9")}, {"diagnoses": dx("J18.9")}, inpatient=False
    )
    assert kinds(result) == [(K.DELETED, "J44.9", "")]
    assert result.findings[0].category == Finding.Category.UNSUPPORTED


def test_swapping_the_principal_diagnosis_is_resequencing():
    result = compare(
        {"diagnoses": dx("I50.23", "J18.9")}, {"diagnoses": dx("J18.9", "I50.23")}, inpatient=True
    )
    assert kinds(result) == [(K.RESEQUENCED, "I50.23", "J18.9")]
    finding = result.findings[0]
    assert (finding.category, finding.severity) == (
        Finding.Category.SEQUENCING,
        Finding.Severity.HIGH,
    )
    assert (result.codes_agreed, result.codes_total) == (0, 2)


def test_another_poa_indicator_on_an_inpatient_code_is_a_poa_finding():
    original = {"diagnoses": [*dx("J18.9"), {"code": "N17.9", "poa": "Y"}]}
    audited = {"diagnoses": [*dx("J18.9"), {"code": "N17.9", "poa": "N"}]}
    result = compare(original, audited, inpatient=True)
    assert kinds(result) == [(K.POA_CHANGED, "N17.9", "N17.9")]
    assert result.findings[0].category == Finding.Category.POA
    assert result.findings[0].detail["original_poa"] == "Y"
    assert result.findings[0].detail["audited_poa"] == "N"
    assert (result.codes_agreed, result.codes_total) == (1, 2)


def test_poa_is_not_compared_outside_inpatient_stays():
    result = compare(
        {"diagnoses": dx("J18.9", poa="Y")}, {"diagnoses": dx("J18.9", poa="")}, inpatient=False
    )
    assert result.findings == []


def test_other_modifiers_or_units_on_the_same_procedure_are_modifier_findings():
    original = {
        "diagnoses": dx("E11.9"),
        "procedures": px(("hcpcs", "J1885", (), 2), ("hcpcs", "G0008", ("25",), 1)),
    }
    audited = {
        "diagnoses": dx("E11.9"),
        "procedures": px(("hcpcs", "J1885", (), 1), ("hcpcs", "G0008", (), 1)),
    }
    result = compare(original, audited, inpatient=False)
    assert kinds(result) == [
        (K.MODIFIER_CHANGED, "G0008", "G0008"),
        (K.UNITS_CHANGED, "J1885", "J1885"),
    ]
    assert {f.category for f in result.findings} == {Finding.Category.MODIFIER}
    assert {f.code_kind for f in result.findings} == {"procedure"}
    assert (result.codes_agreed, result.codes_total) == (1, 3)


def test_codes_of_different_categories_are_a_deletion_and_an_addition_not_a_change():
    result = compare({"diagnoses": dx("E11.9")}, {"diagnoses": dx("E10.9")}, inpatient=False)
    assert kinds(result) == [(K.ADDED, "", "E10.9"), (K.DELETED, "E11.9", "")]


def test_codes_compare_without_their_dots():
    result = compare({"diagnoses": dx("E11.9")}, {"diagnoses": dx("E119")}, inpatient=False)
    assert result.findings == []


# -- MS-DRG and payment effect, through the services with real grouping ------------------------


def _audit(senior, coder, original, audited):
    """Sample one coded inpatient stay, re-code it blind with `audited`, complete."""
    encounter = coded_encounter(
        coder, inpatient=True, status="billed", diagnoses=[(c, "Y") for c in original]
    )
    audit_plan = plan(senior, percent=Decimal("100"))
    items = services.plan_sample(plan=audit_plan, by=senior)
    item = next(i for i in items if i.encounter_id == encounter.pk)
    services.item_start(item=item, by=senior)
    for code in audited:
        services.recode_code_add(item=item, by=senior, kind="diagnoses", code=code, poa="Y")
    return services.item_complete(item=item, by=senior)


@pytest.fixture
def coder(db):
    return User.objects.create(username="coder1", role=Role.JUNIOR)  # never signs in


@pytest.mark.django_db
@pytest.mark.usefixtures("drg_weights")
def test_an_mcc_the_documentation_does_not_support_is_possible_upcoding(senior, coder):
    item = _audit(senior, coder, ["J18.9", "N17.0"], ["J18.9"])
    assert (item.original_drg["drg"], item.audited_drg["drg"]) == ("193", "195")
    # Table 5 FY2026: 193 = 1.3144, 195 = 0.6285.
    assert item.weight_difference == Decimal("1.3144") - Decimal("0.6285")
    assert item.payment_effect == AuditItem.PaymentEffect.UPCODING
    finding = item.findings.get()
    assert (finding.kind, finding.original_code) == (K.DELETED, "N17.0")
    # The deleted code was the MCC that set the DRG: the most severe kind of finding.
    assert finding.severity == Finding.Severity.HIGH


@pytest.mark.django_db
@pytest.mark.usefixtures("drg_weights")
def test_a_missed_cc_is_possible_downcoding(senior, coder):
    item = _audit(senior, coder, ["J18.9"], ["J18.9", "E87.1"])
    assert (item.original_drg["drg"], item.audited_drg["drg"]) == ("195", "194")
    assert item.weight_difference == Decimal("0.6285") - Decimal("0.8059")
    assert item.payment_effect == AuditItem.PaymentEffect.DOWNCODING
    assert item.findings.get().kind == K.ADDED
    assert (item.codes_agreed, item.codes_total) == (1, 2)


@pytest.mark.django_db
@pytest.mark.usefixtures("drg_weights")
def test_the_same_drg_has_no_payment_effect(senior, coder):
    item = _audit(senior, coder, ["J18.9", "E11.9"], ["J18.9", "E11.42"])
    assert item.original_drg["drg"] == item.audited_drg["drg"]
    assert item.weight_difference == 0
    assert item.payment_effect == ""
    assert item.findings.get().kind == K.CHANGED


@pytest.mark.django_db
def test_post_bill_plans_leave_the_encounter_where_it_is(senior, coder):
    encounter = coded_encounter(coder, status="billed", diagnoses=[("E11.9", "")])
    audit_plan = plan(senior, percent=Decimal("100"), date_from=date(2026, 5, 1))
    assert audit_plan.kind == AuditPlan.Kind.POST_BILL
    services.plan_sample(plan=audit_plan, by=senior)
    encounter.refresh_from_db()
    assert encounter.status == "billed"
