"""Claims and denials: bill, deny with CARC/RARC, correct (versions kept), resubmit, appeal, pay."""

from datetime import datetime, time, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from encounters import claims, services
from encounters.models import Claim, ClaimEvent, CodingVersion, Encounter, Transition
from tests.factories import DocumentFactory, InpatientEncounterFactory

pytestmark = pytest.mark.django_db

NOTE = "Assessment: community-acquired pneumonia with acute hypoxic respiratory failure."


def _ready_to_bill(coder, codes=(("J18.9", "Y"), ("J96.01", "Y")), payer="Acme Health"):
    """An inpatient stay coded with real codes, then moved on to ready to bill."""
    stay = InpatientEncounterFactory(assignee=coder, status=Encounter.Status.CODING, payer=payer)
    document = DocumentFactory(encounter=stay, text=NOTE, title="Discharge summary")
    for version, (code, poa) in enumerate(codes, start=1):
        services.diagnosis_add(encounter=stay, by=coder, version=version, code=code, poa=poa)
    first = stay.diagnoses.get(sequence=1)
    start = NOTE.index("community-acquired pneumonia")
    services.evidence_attach(
        encounter=stay,
        by=coder,
        version=len(codes) + 1,
        kind="diagnosis",
        assignment_id=first.pk,
        document_id=document.pk,
        start=start,
        end=start + len("community-acquired pneumonia"),
    )
    # Review and pre-bill are other people's steps; this test starts where billing does.
    Encounter.objects.filter(pk=stay.pk).update(status=Encounter.Status.READY_TO_BILL)
    stay.refresh_from_db()
    return stay


@pytest.fixture
def stay(intermediate):
    return _ready_to_bill(intermediate)


@pytest.fixture
def billed(stay, intermediate):
    return claims.claim_bill(encounter=stay, by=intermediate, billed_amount="12,480.50")


def _steps(encounter):
    return list(
        Transition.objects.filter(encounter=encounter)
        .exclude(from_status="")
        .order_by("at", "pk")
        .values_list("from_status", "to_status")
    )


def test_billing_creates_the_claim_version_one_and_one_transition(stay, intermediate):
    claim = claims.claim_bill(encounter=stay, by=intermediate, billed_amount="$12,480.50")
    stay.refresh_from_db()
    assert stay.status == Encounter.Status.BILLED
    assert (claim.status, claim.payer, str(claim.billed_amount)) == (
        "billed",
        "Acme Health",
        "12480.50",
    )
    assert claim.claim_number.startswith("CLM-") and claim.claim_number.endswith(f"{stay.pk:06d}")
    version = stay.coding_versions.get()
    assert version.number == 1 and version.reason == "As billed"
    assert [d["code"] for d in version.coding["diagnoses"]] == ["J18.9", "J96.01"]
    assert version.coding["diagnoses"][0]["description"] == "Pneumonia, unspecified organism"
    assert version.drg["drg"] in {"189", "190", "191", "192", "193", "194", "195"}
    assert _steps(stay) == [("ready_to_bill", "billed")]
    assert list(claim.events.values_list("kind", "to_status")) == [("billed", "billed")]


def test_only_ready_to_bill_encounters_are_billed_once_and_by_denial_workers(
    stay, intermediate, junior
):
    with pytest.raises(PermissionDenied):
        claims.claim_bill(encounter=stay, by=junior)
    claims.claim_bill(encounter=stay, by=intermediate)
    with pytest.raises(ValidationError, match="already been billed"):
        claims.claim_bill(encounter=stay, by=intermediate)
    coding = InpatientEncounterFactory(status=Encounter.Status.CODING)
    with pytest.raises(ValidationError, match="ready to bill"):
        claims.claim_bill(encounter=coding, by=intermediate)
    assert not Claim.objects.filter(encounter=coding).exists()


def test_a_bad_amount_is_refused_and_nothing_is_billed(stay, intermediate):
    with pytest.raises(ValidationError, match="not an amount"):
        claims.claim_bill(encounter=stay, by=intermediate, billed_amount="twelve")
    stay.refresh_from_db()
    assert stay.status == Encounter.Status.READY_TO_BILL
    assert not CodingVersion.objects.filter(encounter=stay).exists()


def test_codes_are_parsed_with_group_codes_and_checked_against_the_table():
    assert claims.carc_parse("CO-50, pr 1;OA 18 co45 B15") == [
        {"group": "CO", "code": "50"},
        {"group": "PR", "code": "1"},
        {"group": "OA", "code": "18"},
        {"group": "CO", "code": "45"},
        {"group": "", "code": "B15"},
    ]
    assert claims.rarc_parse("N115 ma130, M15") == ["N115", "MA130", "M15"]
    for bad, message in [
        ("XX-50", "not a claim adjustment reason code"),
        ("CO-999", "CARC 999 is not in the table"),
        ("N115", "is a remark code"),
    ]:
        with pytest.raises(ValidationError, match=message):
            claims.carc_parse(bad)
    with pytest.raises(ValidationError, match="start with M, MA or N"):
        claims.rarc_parse("Z12")
    with pytest.raises(ValidationError, match="RARC N999 is not in the table"):
        claims.rarc_parse("N999")


def test_an_invalid_carc_is_refused_and_nothing_is_saved(billed, intermediate):
    with pytest.raises(ValidationError) as caught:
        claims.claim_deny(
            claim=billed, by=intermediate, carc_codes="CO-50 CO-777", rarc_codes="N115"
        )
    assert "CARC 777" in " ".join(caught.value.message_dict["carc_codes"])
    billed.refresh_from_db()
    assert (billed.status, billed.carc_codes, billed.rarc_codes) == ("billed", [], [])
    assert billed.events.count() == 1
    assert _steps(billed.encounter) == [("ready_to_bill", "billed")]
    with pytest.raises(ValidationError, match="at least one CARC"):
        claims.claim_deny(claim=billed, by=intermediate, carc_codes="", rarc_codes="N115")


def test_the_whole_denial_round_trip_keeps_every_version_and_step(billed, intermediate):
    stay = billed.encounter
    claim = claims.claim_deny(
        claim=billed,
        by=intermediate,
        carc_codes="CO-50",
        rarc_codes="N115",
        text="Not medically necessary per LCD.",
    )
    assert claim.status == "denied" and claim.carc_codes == [{"group": "CO", "code": "50"}]
    causes = claims.likely_causes(claim=claim, edits=[])
    assert [c["code"] for c in causes] == ["CO-50", "N115"]
    assert "COVERAGE" in causes[0]["rules"] and causes[1]["rules"] == ["COVERAGE"]

    claims.claim_correction_start(claim=claim, by=intermediate)
    stay.refresh_from_db()
    assert (stay.status, stay.assignee) == (Encounter.Status.CORRECTED, intermediate)

    # The coder corrects in the workspace: a more specific code, then a header code by mistake.
    services.diagnosis_add(
        encounter=stay, by=intermediate, version=stay.version, code="E11.9", poa="Y"
    )
    stay.refresh_from_db()
    services.diagnosis_add(
        encounter=stay, by=intermediate, version=stay.version, code="J96.0", poa="Y"
    )
    stay.refresh_from_db()
    with pytest.raises(claims.ResubmitBlocked) as blocked:
        claims.claim_resubmit(claim=claim, by=intermediate, reason="Added diabetes")
    assert any(e["rule"] == "NOT_BILLABLE" and "J96.0" in e["codes"] for e in blocked.value.errors)
    claim.refresh_from_db()
    assert claim.status == "corrected" and stay.coding_versions.count() == 1

    header = stay.diagnoses.get(code="J96.0")
    services.diagnosis_remove(
        encounter=stay, by=intermediate, version=stay.version, diagnosis_id=header.pk
    )
    stay.refresh_from_db()
    with pytest.raises(services.StaleEdit):
        claims.claim_resubmit(claim=claim, by=intermediate, reason="x", version=stay.version - 1)
    claims.claim_resubmit(
        claim=claim, by=intermediate, reason="Added diabetes", version=stay.version
    )

    one, two = stay.coding_versions.order_by("number")
    assert [d["code"] for d in one.coding["diagnoses"]] == ["J18.9", "J96.01"]  # kept as billed
    assert [d["code"] for d in two.coding["diagnoses"]] == ["J18.9", "J96.01", "E11.9"]
    assert two.reason == "Added diabetes"
    assert claims.coding_diff(one.coding, two.coding) == [
        {
            "kind": "diagnosis",
            "change": "added",
            "code": "E11.9",
            "description": "Type 2 diabetes mellitus without complications",
            "what": [],
        }
    ]

    claims.claim_mark_paid(claim=claim, by=intermediate, paid_amount="9800")
    claims.claim_close(claim=claim, by=intermediate)
    claim.refresh_from_db()
    stay.refresh_from_db()
    assert (claim.status, str(claim.paid_amount), stay.status) == ("closed", "9800.00", "closed")
    assert _steps(stay) == [
        ("ready_to_bill", "billed"),
        ("billed", "denied"),
        ("denied", "corrected"),
        ("corrected", "resubmitted"),
        ("resubmitted", "closed"),
    ]
    assert list(claim.events.values_list("kind", flat=True)) == [
        "billed",
        "denied",
        "corrected",
        "resubmitted",
        "paid",
        "closed",
    ]
    assert claim.events.get(kind="resubmitted").detail["coding_version"] == 2


def test_the_diff_names_position_poa_modifier_and_unit_changes():
    before = {
        "diagnoses": [
            {"code": "A", "sequence": 1, "poa": "Y"},
            {"code": "B", "sequence": 2, "poa": "N"},
        ],
        "procedures": [{"system": "hcpcs", "code": "P", "modifiers": [], "units": 1}],
    }
    after = {
        "diagnoses": [{"code": "B", "sequence": 1, "poa": "Y"}],
        "procedures": [{"system": "hcpcs", "code": "P", "modifiers": ["59"], "units": 2}],
    }
    changes = {(c["code"], c["change"]): c["what"] for c in claims.coding_diff(before, after)}
    assert changes == {
        ("A", "removed"): [],
        ("B", "changed"): ["position 2 → 1 (principal)", "POA N → Y"],
        ("P", "changed"): ["modifiers none → 59", "units 1 → 2"],
    }


def test_likely_causes_show_the_current_edits_of_the_mapped_rules(intermediate):
    stay = _ready_to_bill(intermediate, codes=(("J18.9", ""), ("J96.01", "Y")))
    claim = claims.claim_bill(encounter=stay, by=intermediate)
    claim = claims.claim_deny(
        claim=claim, by=intermediate, carc_codes="CO-16", rarc_codes="MA130 M15"
    )
    from encounters.coding import encounter_edits

    causes = {
        c["code"]: c
        for c in claims.likely_causes(claim=claim, edits=encounter_edits(encounter=stay))
    }
    assert any(
        e["rule"] == "POA_MISSING" and "J18.9" in e["codes"] for e in causes["CO-16"]["edits"]
    )
    assert [e["rule"] for e in causes["MA130"]["edits"]] == [
        e["rule"] for e in causes["CO-16"]["edits"]
    ]
    assert causes["M15"]["edits"] == []  # bundling: no NCCI pair on this stay


def test_unpaid_and_denied_claims_close_only_with_reason(billed, intermediate):
    with pytest.raises(ValidationError, match="why an unpaid claim"):
        claims.claim_close(claim=billed, by=intermediate)
    claims.claim_deny(claim=billed, by=intermediate, carc_codes="CO-29")
    with pytest.raises(ValidationError, match="cannot be marked paid"):
        claims.claim_mark_paid(claim=billed, by=intermediate)
    with pytest.raises(ValidationError, match="why an unpaid claim"):
        claims.claim_close(claim=billed, by=intermediate)
    # Timely filing (CO-29) has no coding fix: the denial is written off with its reason.
    claims.claim_close(claim=billed, by=intermediate, note="Filed too late: written off.")
    billed.refresh_from_db()
    assert billed.status == Claim.Status.CLOSED
    assert billed.encounter.status == Encounter.Status.CLOSED
    assert billed.encounter.transitions.last().note == "Filed too late: written off."


def test_a_denial_date_before_billing_or_in_the_future_is_refused(billed, intermediate):
    today = timezone.localdate()
    for day, message in [
        (today + timedelta(days=1), "future"),
        (today - timedelta(days=3), "before"),
    ]:
        with pytest.raises(ValidationError, match=message):
            claims.claim_deny(claim=billed, by=intermediate, carc_codes="CO-50", denied_on=day)
    billed.refresh_from_db()
    assert billed.status == "billed"


def test_the_appeal_draft_quotes_the_evidence_and_the_reasons_and_is_saved(billed, intermediate):
    billed = claims.claim_deny(
        claim=billed,
        by=intermediate,
        carc_codes="CO-50",
        rarc_codes="N115",
        text="Does not meet LCD criteria.",
    )
    draft = claims.appeal_draft(claim=billed, by=intermediate)
    assert f"claim {billed.claim_number}" in draft
    assert (
        "CARC CO-50: Not covered: the payer does not deem the service medically necessary." in draft
    )
    assert "RARC N115: The decision is based on a Local Coverage Determination (LCD)." in draft
    assert "1. J18.9 Pneumonia, unspecified organism (principal)" in draft
    assert "“community-acquired pneumonia”" in draft
    assert "no supporting passage linked" in draft  # J96.01 has no evidence yet
    assert "Discharge summary (Progress note" in draft
    assert "Ira Intermediate" in draft
    claims.claim_appeal_save(claim=billed, by=intermediate, text=draft + "\nEdited.")
    claims.claim_appeal_save(claim=billed, by=intermediate, text=draft + "\nEdited twice.")
    billed.refresh_from_db()
    assert billed.appeal_letter.endswith("Edited twice.") and billed.status == "denied"
    notes = list(
        billed.events.filter(kind=ClaimEvent.Kind.APPEAL_DRAFTED).values_list("note", flat=True)
    )
    assert notes == ["Appeal letter drafted", "Appeal letter revised"]
    with pytest.raises(ValidationError, match="empty"):
        claims.claim_appeal_save(claim=billed, by=intermediate, text="  ")


def test_the_worklist_filters_by_status_payer_and_carc_and_sorts_by_age(intermediate, junior):
    old = claims.claim_bill(
        encounter=_ready_to_bill(intermediate, payer="Acme Health"), by=intermediate
    )
    new = claims.claim_bill(
        encounter=_ready_to_bill(intermediate, payer="Blue Shield"), by=intermediate
    )
    paid = claims.claim_bill(
        encounter=_ready_to_bill(intermediate, payer="Acme Health"), by=intermediate
    )
    today = timezone.localdate()
    claims.claim_deny(
        claim=old, by=intermediate, carc_codes="CO-50", denied_on=today - timedelta(days=0)
    )
    claims.claim_deny(claim=new, by=intermediate, carc_codes="CO-97 CO-4", rarc_codes="M15")
    Claim.objects.filter(pk=old.pk).update(
        denied_at=timezone.make_aware(datetime.combine(today - timedelta(days=40), time(12)))
    )
    claims.claim_mark_paid(claim=paid, by=intermediate)

    def listed(**filters):
        return list(
            claims.denial_worklist(user=intermediate, filters=claims.WorklistFilters(**filters))
        )

    assert listed() == [old, new]  # open denials, oldest first
    assert listed(sort="-age") == [new, old]
    assert listed(carc="97") == [new] and listed(carc="CO-50") == [old]
    assert listed(payer="Acme Health") == [old]
    assert listed(status="paid") == [paid]
    assert listed(older_than_days=30) == [old] and listed(older_than_days=60) == []
    assert set(listed(status="all")) == {old, new, paid}
    assert claims.days_since(Claim.objects.get(pk=old.pk).denied_at) == 40
    assert list(claims.denial_worklist(user=junior)) == []
    assert claims.claim_payers_for(user=intermediate) == ["Acme Health", "Blue Shield"]


def test_the_demo_claims_load_once_and_the_denial_points_at_the_coverage_edit(intermediate):
    from codesets.coverage import coverage_demo_rules_load
    from encounters.coding import encounter_edits

    coverage_demo_rules_load()
    assert claims.claims_demo_load(by=intermediate) == 2
    assert claims.claims_demo_load(by=intermediate) == 0
    billed = Claim.objects.get(encounter__account_number="ACC-50005")
    denied = Claim.objects.get(encounter__account_number="ACC-50006")
    assert (billed.status, denied.status) == ("billed", "denied")
    assert claims.days_since(denied.denied_at) == 6
    assert billed.encounter.coding_versions.get().drg["drg"]
    causes = claims.likely_causes(claim=denied, edits=encounter_edits(encounter=denied.encounter))
    assert [c["code"] for c in causes] == ["CO-50", "N115"]
    for cause in causes:
        assert [(e["rule"], e["codes"]) for e in cause["edits"]] == [("COVERAGE", ["94010"])]


def test_a_resubmitted_claim_can_be_denied_and_corrected_again(billed, intermediate):
    claims.claim_deny(claim=billed, by=intermediate, carc_codes="CO-50", rarc_codes="N115")
    claims.claim_correction_start(claim=billed, by=intermediate)
    claims.claim_resubmit(claim=billed, by=intermediate, reason="Appeal with records attached")
    claim = claims.claim_deny(claim=billed, by=intermediate, carc_codes="CO-97", rarc_codes="M15")
    assert (claim.status, claim.carc_codes, claim.rarc_codes) == (
        "denied",
        [{"group": "CO", "code": "97"}],
        ["M15"],
    )
    first = claim.events.filter(kind="denied").order_by("pk").first()
    assert first.detail["carc"] == [{"group": "CO", "code": "50"}]  # the first denial is kept
    claims.claim_correction_start(claim=claim, by=intermediate)
    claims.claim_resubmit(claim=claim, by=intermediate, reason="Second try")
    stay = claim.encounter
    assert list(stay.coding_versions.values_list("number", "reason")) == [
        (1, "As billed"),
        (2, "Appeal with records attached"),
        (3, "Second try"),
    ]
    assert _steps(stay)[-3:] == [
        ("resubmitted", "denied"),
        ("denied", "corrected"),
        ("corrected", "resubmitted"),
    ]
