"""Drawing an audit sample: reproducible from the seed, the right counts, every target, and a
reason for each encounter."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from accounts.models import Role, User
from audits import sampling, services
from audits.models import AuditItem, AuditPlan
from encounters.models import Encounter
from tests.audits.plan_factories import aware, coded_encounter, plan
from tests.codesets.drg_data import drg_weights, drg_weights_release  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def coders(db):
    # They never sign in: no password to hash (a million PBKDF2 rounds per user).
    return [User.objects.create(username=name, role=Role.JUNIOR) for name in ("ann", "bob", "cy")]


@pytest.fixture
def twenty(coders):
    """20 billed outpatient encounters: ann 10, bob 6, cy 4."""
    spread = [coders[0]] * 10 + [coders[1]] * 6 + [coders[2]] * 4
    return [coded_encounter(c, status="billed") for c in spread]


def picked(audit_plan) -> list[int]:
    return [p.encounter.pk for p in sampling.draw(audit_plan)]


def test_the_same_seed_over_the_same_data_draws_the_same_sample(senior, twenty):
    first = plan(senior, seed=777, percent=Decimal("30"))
    again = plan(senior, seed=777, percent=Decimal("30"))
    other = plan(senior, seed=778, percent=Decimal("30"))
    assert picked(first) == picked(again)
    assert len(picked(first)) == 6
    # Another seed almost surely draws differently (C(20,6) = 38,760 samples).
    assert picked(first) != picked(other)


def test_the_stored_sample_is_the_draw_of_the_stored_seed(senior, twenty):
    audit_plan = plan(senior, seed=4242, percent=Decimal("25"))
    expected = picked(audit_plan)
    items = services.plan_sample(plan=audit_plan, by=senior)
    assert sorted(i.encounter_id for i in items) == sorted(expected)
    audit_plan.refresh_from_db()
    assert (audit_plan.status, audit_plan.seed) == (AuditPlan.Status.SAMPLED, 4242)


def test_a_percentage_rounds_half_up_and_never_draws_nothing_from_a_pool(senior, twenty):
    assert len(picked(plan(senior, percent=Decimal("10")))) == 2
    assert len(picked(plan(senior, percent=Decimal("12.5")))) == 3  # 2.5 → 3
    assert len(picked(plan(senior, percent=Decimal("1")))) == 1  # 0.2 → at least one
    assert len(picked(plan(senior, percent=Decimal("100")))) == 20


def test_n_per_coder_takes_n_from_each_coder_or_all_they_have(senior, coders, twenty):
    audit_plan = plan(senior, method=AuditPlan.Method.PER_CODER, per_coder=5, percent=None)
    picks = sampling.draw(audit_plan)
    per_coder = {}
    for pick in picks:
        per_coder[pick.coder.username] = per_coder.get(pick.coder.username, 0) + 1
    assert per_coder == {"ann": 5, "bob": 5, "cy": 4}
    reason = next(p.reason for p in picks if p.coder.username == "cy")
    assert "4 of 4" in reason and "coded by cy" in reason


def test_each_pick_says_why_it_was_chosen(senior, twenty):
    picks = sampling.draw(plan(senior, percent=Decimal("10")))
    reasons = [p.reason for p in picks]
    assert reasons[0] == ("random 10 % of 20 billed encounters in May 2026; draw 1 of 2")
    assert reasons[1].endswith("draw 2 of 2")


def test_only_the_period_counts_by_discharge_date(senior, coders):
    inside = coded_encounter(coders[0], status="billed", discharged=date(2026, 5, 31))
    coded_encounter(coders[0], status="billed", discharged=date(2026, 6, 1))
    coded_encounter(coders[0], status="billed", discharged=date(2026, 4, 30))
    assert picked(plan(senior, percent=Decimal("100"))) == [inside.pk]


def test_pre_bill_takes_coded_encounters_and_holds_them(senior, coders):
    coded = coded_encounter(coders[0], status="coded")
    coded_encounter(coders[0], status="billed")
    coded_encounter(coders[0], status="review")
    audit_plan = plan(senior, kind=AuditPlan.Kind.PRE_BILL, percent=Decimal("100"))
    items = services.plan_sample(plan=audit_plan, by=senior)
    assert [i.encounter_id for i in items] == [coded.pk]
    coded.refresh_from_db()
    assert coded.status == Encounter.Status.PRE_BILL_AUDIT
    transition = coded.transitions.order_by("-pk").first()
    assert (transition.from_status, transition.to_status, transition.by) == (
        "coded",
        "pre_bill_audit",
        senior,
    )


def test_post_bill_takes_billed_and_closed_but_not_coded(senior, coders):
    billed = coded_encounter(coders[0], status="billed")
    closed = coded_encounter(coders[0], status="closed")
    coded_encounter(coders[0], status="coded")
    assert picked(plan(senior, percent=Decimal("100"))) == [billed.pk, closed.pk]


def test_sampling_freezes_the_original_coding_with_descriptions(senior, coders):
    encounter = coded_encounter(
        coders[0],
        status="billed",
        diagnoses=[("E11.9", ""), ("I10", "")],
        procedures=[("hcpcs", "G0008", ["25"], 2)],
    )
    services.plan_sample(plan=plan(senior, percent=Decimal("100")), by=senior)
    item = AuditItem.objects.get(encounter=encounter)
    assert [d["code"] for d in item.original_coding["diagnoses"]] == ["E11.9", "I10"]
    assert item.original_coding["diagnoses"][0]["description"] == "desc E11.9"
    line = item.original_coding["procedures"][0]
    assert (line["code"], line["modifiers"], line["units"]) == ("G0008", ["25"], 2)
    assert item.coder == coders[0]
    # Changing the chart afterwards does not change what was frozen.
    encounter.diagnoses.filter(code="I10").delete()
    item.refresh_from_db()
    assert len(item.original_coding["diagnoses"]) == 2


def test_the_coder_is_who_submitted_for_review_not_the_assignee(senior, coders):
    encounter = coded_encounter(coders[0], status="billed")
    Encounter.objects.filter(pk=encounter.pk).update(assignee=coders[1])
    assert sampling.coders_of([encounter.pk]) == {encounter.pk: coders[0].pk}


def test_targeting_a_coder(senior, coders, twenty):
    picks = sampling.draw(plan(senior, percent=Decimal("100"), targets={"coders": [coders[2].pk]}))
    assert {p.coder for p in picks} == {coders[2]}
    assert "coded by cy" in picks[0].reason


def test_targeting_an_encounter_type_and_a_payer(senior, coders):
    wanted = coded_encounter(coders[0], status="billed", inpatient=True, payer="Aetna")
    coded_encounter(coders[0], status="billed", inpatient=True, payer="Medicare")
    coded_encounter(coders[0], status="billed", inpatient=False, payer="Aetna")
    picks = sampling.draw(
        plan(
            senior,
            percent=Decimal("100"),
            targets={"encounter_types": ["inpatient"], "payers": ["aetna"]},
        )
    )
    assert [p.encounter.pk for p in picks] == [wanted.pk]
    assert picks[0].reason == (
        "random 100 % of 1 billed inpatient encounter for aetna in May 2026; draw 1 of 1"
    )


def test_targeting_codes_exactly_and_by_prefix(senior, coders):
    heart = coded_encounter(coders[0], status="billed", diagnoses=[("I50.23", ""), ("E11.9", "")])
    sugar = coded_encounter(coders[0], status="billed", diagnoses=[("E11.42", "")])
    coded_encounter(coders[0], status="billed", diagnoses=[("J18.9", "")])
    by_prefix = sampling.draw(plan(senior, percent=Decimal("100"), targets={"codes": ["I50.*"]}))
    assert [p.encounter.pk for p in by_prefix] == [heart.pk]
    assert "targeted: code I50.23 matches I50.*" in by_prefix[0].reason
    exact = sampling.draw(plan(senior, percent=Decimal("100"), targets={"codes": ["E1142"]}))
    assert [p.encounter.pk for p in exact] == [sugar.pk]


@pytest.mark.usefixtures("drg_weights")
def test_targeting_a_drg_a_drg_family_and_a_high_weight(senior, coders):
    mcc = coded_encounter(
        coders[0], status="billed", inpatient=True, diagnoses=[("J18.9", "Y"), ("N17.0", "Y")]
    )
    cc = coded_encounter(
        coders[0], status="billed", inpatient=True, diagnoses=[("J18.9", "Y"), ("E87.1", "Y")]
    )
    plain = coded_encounter(coders[0], status="billed", inpatient=True, diagnoses=[("J18.9", "Y")])

    def pks(targets):
        picks = sampling.draw(plan(senior, percent=Decimal("100"), targets=targets))
        return [p.encounter.pk for p in picks], picks

    found, picks = pks({"drgs": ["194"]})
    assert found == [cc.pk]
    assert "targeted: DRG 194" in picks[0].reason
    assert picks[0].drg["drg"] == "194"
    found, picks = pks({"drg_families": ["193-195"]})
    assert found == [mcc.pk, cc.pk, plain.pk]
    assert "in family 193–195" in picks[0].reason
    found, picks = pks({"min_weight": "0.8"})
    assert found == [mcc.pk, cc.pk]
    assert "relative weight 1.3144 ≥ 0.8" in picks[0].reason


def test_targeting_new_coders(senior, coders):
    old_hand, newcomer = coders[0], coders[1]
    coded_encounter(old_hand, status="billed", submitted_at=aware(date(2025, 1, 10)))
    mine = coded_encounter(old_hand, status="billed", submitted_at=aware(date(2026, 5, 3)))
    new = coded_encounter(newcomer, status="billed", submitted_at=aware(date(2026, 4, 20)))
    picks = sampling.draw(plan(senior, percent=Decimal("100"), targets={"new_coders_days": 90}))
    assert [p.encounter.pk for p in picks] == [new.pk]
    assert "new coder (first coded 2026-04-20, within 90 days)" in picks[0].reason
    assert mine.pk not in [p.encounter.pk for p in picks]


def test_an_empty_draw_is_refused_and_leaves_the_plan_a_draft(senior, coders):
    audit_plan = plan(senior, percent=Decimal("100"))
    with pytest.raises(ValidationError, match="No encounter matches"):
        services.plan_sample(plan=audit_plan, by=senior)
    audit_plan.refresh_from_db()
    assert audit_plan.status == AuditPlan.Status.DRAFT


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": " "}, "name"),
        ({"percent": Decimal("0")}, "percent"),
        ({"percent": Decimal("120")}, "percent"),
        ({"method": AuditPlan.Method.PER_CODER, "per_coder": 0}, "per_coder"),
        ({"date_from": date(2026, 6, 1)}, "date_to"),
        ({"auditors": []}, "auditors"),
        ({"targets": {"drgs": ["29x"]}}, "drgs"),
        ({"targets": {"drg_families": ["291"]}}, "drg_families"),
        ({"targets": {"min_weight": "heavy"}}, "min_weight"),
        ({"targets": {"codes": ["I50 .9"]}}, "codes"),
    ],
)
def test_a_bad_plan_is_refused_with_a_message_on_the_field(senior, overrides, field):
    with pytest.raises(ValidationError) as caught:
        plan(senior, **overrides)
    assert field in caught.value.message_dict
    assert not AuditPlan.objects.exists()


def test_a_junior_cannot_be_an_auditor(senior, coders):
    with pytest.raises(ValidationError) as caught:
        plan(senior, auditors=[coders[0]])
    assert "senior" in caught.value.message_dict["auditors"][0]
