"""The audit pages with the test client: a plan from the form to closed findings, blindness,
PHI access logging, and who may see what."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from accounts.models import PhiAccess, Role
from accounts.services import user_create
from audits import services
from audits.models import AuditItem, AuditPlan, Finding
from encounters.models import Encounter
from tests.audits.plan_factories import coded_encounter, plan
from tests.codesets.drg_data import drg_weights, drg_weights_release  # noqa: F401
from tests.conftest import PASSWORD
from tests.factories import DocumentFactory

pytestmark = pytest.mark.django_db


def sign_in(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


@pytest.fixture
def other_junior(db):
    return user_create(username="jun2", password=PASSWORD, role=Role.JUNIOR)


@pytest.fixture
def compared_item(senior, junior):
    """A pre-bill item, re-coded and compared: E11.9 became E11.42, I10 was unsupported."""
    encounter = coded_encounter(junior, status="coded", diagnoses=[("E11.9", ""), ("I10", "")])
    audit_plan = plan(senior, kind=AuditPlan.Kind.PRE_BILL, percent=Decimal("100"))
    item = services.plan_sample(plan=audit_plan, by=senior)[0]
    services.item_start(item=item, by=senior)
    services.recode_code_add(item=item, by=senior, kind="diagnoses", code="E11.42")
    item = services.item_complete(item=item, by=senior)
    assert item.encounter_id == encounter.pk
    return item


def test_the_senior_creates_a_plan_with_the_form_and_draws_its_sample(client, senior, junior):
    encounters = [coded_encounter(junior, status="billed") for _ in range(4)]
    sign_in(client, senior)
    response = client.post(
        reverse("audits:plan_new"),
        {
            "name": "May post-bill",
            "kind": "post_bill",
            "party": "internal",
            "auditors": [senior.pk],
            "method": "random_percent",
            "percent": "50",
            "date_from": "2026-05-01",
            "date_to": "2026-05-31",
            "encounter_types": ["outpatient"],
            "codes": "E11.*",
            "seed": "99",
        },
    )
    audit_plan = AuditPlan.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("audits:plan_detail", args=[audit_plan.pk])
    assert audit_plan.targets == {"encounter_types": ["outpatient"], "codes": ["E11.*"]}
    response = client.post(reverse("audits:plan_sample", args=[audit_plan.pk]), follow=True)
    assert "Drew 2 encounters" in response.content.decode()
    page = client.get(reverse("audits:plan_detail", args=[audit_plan.pk])).content.decode()
    sampled = audit_plan.items.values_list("encounter_id", flat=True)
    assert set(sampled) <= {e.pk for e in encounters}
    # Before the re-code the targeted part of the reason (it names the coder's codes) is hidden.
    assert "random 50 % of 4 billed outpatient encounters" in page
    assert "E11.9 matches" not in page
    assert "targeted (details after the re-code)" in page


def test_a_bad_plan_form_keeps_what_was_typed_and_says_what_is_wrong(client, senior):
    sign_in(client, senior)
    response = client.post(
        reverse("audits:plan_new"),
        {
            "name": "Keep me",
            "kind": "pre_bill",
            "party": "internal",
            "auditors": [senior.pk],
            "method": "per_coder",
            "date_from": "2026-05-31",
            "date_to": "2026-05-01",
            "drg_families": "291",
        },
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert 'value="Keep me"' in page
    assert "Give the number of encounters per coder." in page
    assert not AuditPlan.objects.exists()
    response = client.post(
        reverse("audits:plan_new"),
        {
            "name": "Keep me",
            "kind": "pre_bill",
            "party": "internal",
            "auditors": [senior.pk],
            "method": "per_coder",
            "per_coder": "3",
            "date_from": "2026-05-31",
            "date_to": "2026-05-01",
            "drg_families": "291",
        },
    )
    page = response.content.decode()
    assert "The period ends before it starts." in page
    assert "Write a DRG family as a range" in page


def test_the_recode_page_hides_the_original_codes_and_logs_the_chart_open(client, senior, junior):
    encounter = coded_encounter(junior, status="billed", diagnoses=[("E11.9", ""), ("I10", "")])
    document = DocumentFactory(encounter=encounter, text="Assessment: hypertension, diabetes.")
    item = services.plan_sample(plan=plan(senior, percent=Decimal("100")), by=senior)[0]
    sign_in(client, senior)
    client.post(reverse("audits:item_start", args=[item.pk]))
    page = client.get(reverse("audits:item_detail", args=[item.pk])).content.decode()
    assert "Assessment: hypertension, diabetes." in page
    assert "E11.9" not in page and "I10" not in page
    logged = PhiAccess.objects.filter(user=senior, encounter_id=encounter.pk)
    assert logged.filter(action=PhiAccess.Action.VIEW_ENCOUNTER).exists()
    assert logged.filter(action=PhiAccess.Action.VIEW_DOCUMENT, document_id=document.pk).exists()


def test_the_blind_recode_flow_through_the_pages(client, senior, junior):
    encounter = coded_encounter(junior, status="billed", diagnoses=[("E11.9", ""), ("I10", "")])
    item = services.plan_sample(plan=plan(senior, percent=Decimal("100")), by=senior)[0]
    sign_in(client, senior)
    client.post(reverse("audits:item_start", args=[item.pk]))
    add = reverse("audits:item_code_add", args=[item.pk])
    # htmx answers with the lists only, out of band.
    response = client.post(add, {"kind": "diagnoses", "q": "E11.42"}, HTTP_HX_REQUEST="true")
    assert response["HX-Trigger"] == "codingSaved"
    assert 'id="audit-dx"' in response.content.decode() and "E11.42" in response.content.decode()
    response = client.post(add, {"kind": "diagnoses", "q": "NOTACODE"}, HTTP_HX_REQUEST="true")
    assert "NOTACODE is not a ICD10CM code" in response.content.decode()
    client.post(add, {"kind": "diagnoses", "q": "I10"})
    client.post(
        reverse("audits:item_code_move", args=[item.pk]),
        {"kind": "diagnoses", "index": "1", "position": "0"},
    )
    item.refresh_from_db()
    assert [d["code"] for d in item.audited_coding["diagnoses"]] == ["I10", "E11.42"]
    response = client.post(reverse("audits:item_complete", args=[item.pk]), follow=True)
    page = response.content.decode()
    assert "Re-code complete: 0 of 3 codes agree, 2 findings." in page
    item.refresh_from_db()
    assert item.status == AuditItem.Status.COMPARED
    assert sorted(item.findings.values_list("kind", flat=True)) == ["changed", "resequenced"]
    # The comparison shows both sides now.
    assert "Coder’s codes" in page and "E11.9" in page and "E11.42" in page
    finding = item.findings.get(kind="changed")
    response = client.post(
        reverse("audits:finding_edit", args=[finding.pk]),
        {"category": "guideline", "severity": "high", "note": "Neuropathy documented"},
        HTTP_HX_REQUEST="true",
    )
    assert f'id="finding-{finding.pk}"' in response.content.decode()
    finding.refresh_from_db()
    assert (finding.category, finding.severity, finding.note) == (
        "guideline",
        "high",
        "Neuropathy documented",
    )
    assert encounter.pk == item.encounter_id


def test_the_coder_disputes_and_a_senior_resolves(client, senior, junior, compared_item):
    finding = compared_item.findings.get(kind="deleted")
    sign_in(client, junior)
    page = client.get(reverse("audits:my_findings")).content.decode()
    assert "I10" in page and "Education list" in page
    response = client.post(
        reverse("audits:finding_respond", args=[finding.pk]),
        {"response": "disputed", "reason": ""},
        follow=True,
    )
    assert "Say why you dispute the finding." in response.content.decode()
    client.post(
        reverse("audits:finding_respond", args=[finding.pk]),
        {"response": "disputed", "reason": "Hypertension is in the H&P."},
    )
    other = compared_item.findings.get(kind="changed")
    client.post(reverse("audits:finding_respond", args=[other.pk]), {"response": "agreed"})
    finding.refresh_from_db()
    assert (finding.response, finding.dispute_reason) == ("disputed", "Hypertension is in the H&P.")

    client.logout()
    sign_in(client, senior)
    disputes = client.get(reverse("audits:disputes")).content.decode()
    assert "Hypertension is in the H&amp;P." in disputes
    # The item cannot close while the dispute waits.
    response = client.post(reverse("audits:item_close", args=[compared_item.pk]), follow=True)
    assert "1 disputed finding still to resolve." in response.content.decode()
    client.post(
        reverse("audits:finding_resolve", args=[finding.pk]),
        {"resolution": "overturned", "note": "Documented in the H&P."},
    )
    finding.refresh_from_db()
    assert (finding.resolution, finding.resolved_by) == ("overturned", senior)
    client.post(reverse("audits:item_close", args=[compared_item.pk]))
    compared_item.refresh_from_db()
    compared_item.encounter.refresh_from_db()
    assert compared_item.status == AuditItem.Status.CLOSED
    # The specificity finding stands, so the pre-bill encounter goes back to coding.
    assert compared_item.encounter.status == Encounter.Status.CODING
    last = compared_item.encounter.transitions.order_by("-pk").first()
    assert "changed E11.9" in last.note


def test_a_pre_bill_item_without_standing_findings_goes_to_billing(client, senior, junior):
    coded_encounter(junior, status="coded", diagnoses=[("E11.9", "")])
    item = services.plan_sample(
        plan=plan(senior, kind=AuditPlan.Kind.PRE_BILL, percent=Decimal("100")), by=senior
    )[0]
    services.item_start(item=item, by=senior)
    services.recode_code_add(item=item, by=senior, kind="diagnoses", code="E11.9")
    services.item_complete(item=item, by=senior)
    sign_in(client, senior)
    client.post(reverse("audits:item_close", args=[item.pk]))
    item.encounter.refresh_from_db()
    assert item.encounter.status == Encounter.Status.READY_TO_BILL
    audit_plan = item.plan
    client.post(reverse("audits:plan_close", args=[audit_plan.pk]))
    audit_plan.refresh_from_db()
    assert audit_plan.status == AuditPlan.Status.CLOSED


def test_the_landing_lists_plans_open_items_and_disputes(client, senior, junior, compared_item):
    finding = compared_item.findings.first()
    services.finding_respond(finding=finding, by=junior, response="disputed", reason="No.")
    sign_in(client, senior)
    page = client.get(reverse("audits:home")).content.decode()
    assert "Test plan" in page
    assert compared_item.encounter.account_number in page
    assert "/audits/dashboard/" in page
    assert reverse("audits:item_detail", args=[compared_item.pk]) in page


@pytest.mark.parametrize(
    "name",
    ["audits:home", "audits:plan_list", "audits:plan_new", "audits:disputes"],
)
def test_a_junior_cannot_see_audit_plans(client, junior, name):
    sign_in(client, junior)
    assert client.get(reverse(name)).status_code == 403


def test_a_junior_cannot_open_an_item(client, junior, compared_item):
    sign_in(client, junior)
    assert client.get(reverse("audits:item_detail", args=[compared_item.pk])).status_code == 403


def test_a_junior_sees_only_findings_on_their_own_work(client, junior, other_junior, compared_item):
    sign_in(client, other_junior)
    page = client.get(reverse("audits:my_findings")).content.decode()
    assert "E11.9" not in page and "No findings" in page
    finding = compared_item.findings.first()
    response = client.post(
        reverse("audits:finding_respond", args=[finding.pk]), {"response": "agreed"}
    )
    assert response.status_code == 403
    finding.refresh_from_db()
    assert finding.response == Finding.Response.PENDING


def test_findings_stay_hidden_from_the_coder_until_the_audit_is_complete(client, senior, junior):
    coded_encounter(junior, status="billed")
    item = services.plan_sample(plan=plan(senior, percent=Decimal("100")), by=senior)[0]
    services.item_start(item=item, by=senior)
    sign_in(client, junior)
    assert "No findings" in client.get(reverse("audits:my_findings")).content.decode()


def test_the_coder_of_an_encounter_cannot_audit_it(senior, intermediate):
    other_senior = user_create(username="sen2", password=PASSWORD, role=Role.SENIOR)
    coded_encounter(other_senior, status="billed")
    audit_plan = plan(senior, auditors=[other_senior], percent=Decimal("100"))
    item = services.plan_sample(plan=audit_plan, by=senior)[0]

    with pytest.raises(PermissionDenied, match="another auditor"):
        services.item_start(item=item, by=other_senior)


def test_post_only_actions_check_the_role_before_the_method(client, junior, senior):
    url = reverse("audits:plan_sample", args=[1])
    assert client.get(url).url.startswith(reverse("accounts:login"))
    sign_in(client, junior)
    assert client.get(url).status_code == 403
    client.logout()
    sign_in(client, senior)
    assert client.get(url).status_code == 405


def test_a_missing_plan_or_item_sends_the_senior_back_with_a_message(client, senior):
    sign_in(client, senior)
    response = client.get(reverse("audits:plan_detail", args=[999999]), follow=True)
    assert "That audit plan does not exist" in response.content.decode()
    response = client.get(reverse("audits:item_detail", args=[999999]), follow=True)
    assert "That audit item does not exist" in response.content.decode()


@pytest.mark.usefixtures("drg_weights")
def test_the_inpatient_comparison_shows_both_drgs_and_possible_upcoding(client, senior, junior):
    coded_encounter(
        junior,
        inpatient=True,
        status="billed",
        diagnoses=[("J18.9", "Y"), ("N17.0", "Y"), ("E11.9", "Y")],
    )
    item = services.plan_sample(plan=plan(senior, percent=Decimal("100")), by=senior)[0]
    services.item_start(item=item, by=senior)
    for code, poa in (("J18.9", "Y"), ("E11.9", "N"), ("E87.1", "Y")):
        services.recode_code_add(item=item, by=senior, kind="diagnoses", code=code, poa=poa)
    services.item_complete(item=item, by=senior)
    sign_in(client, senior)
    page = client.get(reverse("audits:item_detail", args=[item.pk])).content.decode()
    assert "193 → 194" in page
    assert "Simple Pneumonia and Pleurisy with MCC" in page
    assert "0.5085" in page  # 1.3144 − 0.8059
    assert "Possible upcoding" in page
    assert "POA Y → N" in page
    plan_page = client.get(reverse("audits:plan_detail", args=[item.plan_id])).content.decode()
    assert "25.0 %" in plan_page  # J18.9 agreed of J18.9, N17.0, E11.9, E87.1


def test_the_auditor_sets_poa_modifiers_and_units_on_their_lines(client, senior, junior):
    coded_encounter(junior, status="billed", diagnoses=[("E11.9", "")])
    coded_encounter(junior, status="billed", inpatient=True, diagnoses=[("J18.9", "Y")])
    items = services.plan_sample(plan=plan(senior, percent=Decimal("100")), by=senior)
    outpatient, inpatient = sorted(items, key=lambda i: i.encounter.type == "inpatient")
    sign_in(client, senior)
    for item in items:
        client.post(reverse("audits:item_start", args=[item.pk]))
    line = reverse("audits:item_code_line", args=[inpatient.pk])
    client.post(
        reverse("audits:item_code_add", args=[inpatient.pk]), {"kind": "diagnoses", "q": "J18.9"}
    )
    client.post(line, {"kind": "diagnoses", "index": "0", "poa": "N"})
    response = client.post(
        line, {"kind": "diagnoses", "index": "0", "poa": "X"}, HTTP_HX_REQUEST="true"
    )
    assert "POA is Y, N, U, W or 1." in response.content.decode()
    inpatient.refresh_from_db()
    assert inpatient.audited_coding["diagnoses"][0]["poa"] == "N"

    add = reverse("audits:item_code_add", args=[outpatient.pk])
    client.post(add, {"kind": "procedures", "system": "cpt", "q": "99213"})
    client.post(
        reverse("audits:item_code_line", args=[outpatient.pk]),
        {"kind": "procedures", "index": "0", "modifiers": ["25", "", "", ""], "units": "2"},
    )
    outpatient.refresh_from_db()
    line = outpatient.audited_coding["procedures"][0]
    assert (line["system"], line["code"], line["modifiers"], line["units"]) == (
        "cpt",
        "99213",
        ["25"],
        2,
    )
    page = client.get(reverse("audits:item_detail", args=[outpatient.pk])).content.decode()
    assert 'value="25"' in page
