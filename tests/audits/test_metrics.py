"""Quality metrics on small hand-checked cases: the expected numbers are worked out in comments."""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from accounts.models import Role, User
from audits import metrics
from audits.models import AuditItem, AuditPlan, Finding
from encounters.models import Encounter, Transition
from encounters.services import transition_record, turnaround_steps_backfill
from tests.factories import EncounterFactory, InpatientEncounterFactory

pytestmark = pytest.mark.django_db

S = Encounter.Status
RANGE = metrics.QualityFilters(date_from=date(2026, 3, 2), date_to=date(2026, 3, 29))


def local(*args) -> datetime:
    return timezone.make_aware(datetime(*args))


def plan_make(by, **extra) -> AuditPlan:
    values = {
        "name": "March sample",
        "kind": AuditPlan.Kind.POST_BILL,
        "method": AuditPlan.Method.RANDOM_PERCENT,
        "percent": Decimal("5"),
        "date_from": date(2026, 2, 1),
        "date_to": date(2026, 2, 28),
        "seed": 42,
        "status": AuditPlan.Status.SAMPLED,
        "created_by": by,
    }
    values.update(extra)
    return AuditPlan.objects.create(**values)


def item_make(plan, coder, *, encounter=None, agreed, total, compared_at, findings=(), **extra):
    item = AuditItem.objects.create(
        plan=plan,
        encounter=encounter or EncounterFactory(status=S.CODED, assignee=coder),
        coder=coder,
        selection_reason="Random 5 %",
        status=AuditItem.Status.COMPARED,
        codes_agreed=agreed,
        codes_total=total,
        compared_at=compared_at,
        **extra,
    )
    for category, resolution, response in findings:
        Finding.objects.create(
            item=item,
            kind=Finding.Kind.CHANGED,
            category=category,
            code_kind="diagnosis",
            response=response,
            resolution=resolution,
        )
    return item


def drg(code: str, weight: float) -> dict:
    return {"drg": code, "weight": weight}


def user_make(username: str, role: str = Role.JUNIOR) -> User:
    # No password: hashing one costs a second on a busy machine and these tests never sign in.
    return User.objects.create(username=username, role=role, first_name=username.title())


@pytest.fixture
def senior(db):
    return user_make("auditor", Role.SENIOR)


@pytest.fixture
def coders(db):
    return user_make("coder_a"), user_make("coder_b", Role.INTERMEDIATE)


@pytest.fixture
def audited(coders, senior):
    """Coder A (junior): items 1–3; coder B (intermediate): items 4–5; two that do not count."""
    a, b = coders
    plan = plan_make(senior)
    C = Finding.Category
    R = Finding.Resolution
    week1, week2 = local(2026, 3, 3, 10), local(2026, 3, 10, 10)
    items = {
        # 4 of 5 agreed; a pending specificity finding → an error.
        1: item_make(
            plan,
            a,
            agreed=4,
            total=5,
            compared_at=week1,
            findings=[(C.SPECIFICITY, R.NONE, Finding.Response.PENDING)],
        ),
        # 6 of 6, same DRG → clean.
        2: item_make(
            plan,
            a,
            encounter=InpatientEncounterFactory(status=S.CODED, assignee=a),
            agreed=6,
            total=6,
            compared_at=week1,
            original_drg=drg("291", 1.3),
            audited_drg=drg("291", 1.3),
        ),
        # 3 of 5, one missing code upheld (error), one sequencing overturned (+1 agreed → 4);
        # DRG 292 → 291, weight difference +0.3: possible upcoding.
        3: item_make(
            plan,
            a,
            encounter=InpatientEncounterFactory(status=S.CODED, assignee=a),
            agreed=3,
            total=5,
            compared_at=week1,
            findings=[
                (C.MISSING_CODE, R.UPHELD, Finding.Response.DISPUTED),
                (C.SEQUENCING, R.OVERTURNED, Finding.Response.DISPUTED),
            ],
            original_drg=drg("292", 1.6),
            audited_drg=drg("291", 1.3),
            weight_difference=Decimal("0.3000"),
            payment_effect=AuditItem.PaymentEffect.UPCODING,
        ),
        # 2 of 3 and its only finding overturned → 3 of 3, clean.
        4: item_make(
            plan,
            b,
            agreed=2,
            total=3,
            compared_at=week2,
            findings=[(C.MODIFIER, R.OVERTURNED, Finding.Response.DISPUTED)],
        ),
        # 5 of 5 but a POA finding disputed and not yet resolved → still an error;
        # DRG 872 → 871, −0.5: possible downcoding.
        5: item_make(
            plan,
            b,
            encounter=InpatientEncounterFactory(status=S.CODED, assignee=b),
            agreed=5,
            total=5,
            compared_at=week2,
            findings=[(C.POA, R.NONE, Finding.Response.DISPUTED)],
            original_drg=drg("872", 1.0),
            audited_drg=drg("871", 1.5),
            weight_difference=Decimal("-0.5000"),
            payment_effect=AuditItem.PaymentEffect.DOWNCODING,
        ),
    }
    # Not compared yet, and compared before the range: neither counts.
    item_make(plan, a, agreed=0, total=0, compared_at=None, findings=[])
    item_make(
        plan,
        b,
        agreed=0,
        total=4,
        compared_at=local(2026, 2, 20, 10),
        findings=[(C.GUIDELINE, R.NONE, Finding.Response.PENDING)],
    )
    return items


def test_team_code_level_accuracy_counts_overturned_findings_as_agreed(audited):
    totals = metrics.team_totals(RANGE)
    # union: 5 + 6 + 5 + 3 + 5 = 24; agreed: 4 + 6 + (3+1) + (2+1) + 5 = 22
    assert totals["codes_total"] == 24
    assert totals["codes_agreed"] == 22
    assert totals["code_accuracy"] == pytest.approx(22 / 24)
    assert totals["code_error_rate"] == pytest.approx(2 / 24)


def test_encounter_level_accuracy_counts_pending_and_upheld_findings(audited):
    totals = metrics.team_totals(RANGE)
    # clean: item 2 (no finding) and item 4 (only finding overturned) → 2 of 5
    assert totals["items"] == 5
    assert totals["clean"] == 2
    assert totals["encounter_accuracy"] == pytest.approx(0.4)
    assert totals["encounter_error_rate"] == pytest.approx(0.6)


def test_drg_accuracy_and_payment_effect(audited):
    totals = metrics.team_totals(RANGE)
    # grouped to an MS-DRG both times: items 2, 3, 5 (inpatient); unchanged: item 2
    assert (totals["drg_items"], totals["drg_same"]) == (3, 1)
    assert totals["drg_accuracy"] == pytest.approx(1 / 3)
    assert (totals["upcoding"], totals["downcoding"]) == (1, 1)
    assert totals["upcoding_weight"] == Decimal("0.3")
    assert totals["downcoding_weight"] == Decimal("-0.5")


def test_per_coder_accuracy(audited, coders):
    a, b = coders
    by_coder = metrics.coder_accuracy(RANGE)
    # A: 14 of 16 codes, 1 of 3 encounters clean; B: 8 of 8 codes, 1 of 2 clean
    assert by_coder[a.pk]["code_accuracy"] == pytest.approx(14 / 16)
    assert by_coder[a.pk]["encounter_accuracy"] == pytest.approx(1 / 3)
    assert by_coder[b.pk]["code_accuracy"] == 1
    assert by_coder[b.pk]["encounter_accuracy"] == pytest.approx(0.5)
    assert metrics.team_totals(RANGE.replace(coder_id=b.pk))["items"] == 2


def test_error_rate_by_category_leaves_out_overturned_findings(audited):
    rates = {row["category"]: row for row in metrics.error_categories(RANGE)}
    assert rates["specificity"]["items"] == 1
    assert rates["specificity"]["error_rate"] == pytest.approx(1 / 5)
    assert rates["missing_code"]["error_rate"] == pytest.approx(1 / 5)
    assert rates["poa"]["error_rate"] == pytest.approx(1 / 5)
    assert rates["sequencing"]["findings"] == 0  # overturned
    assert rates["modifier"]["error_rate"] == 0  # overturned
    assert rates["guideline"]["findings"] == 0  # before the range


def test_weekly_trend_splits_by_the_week_of_comparison(audited):
    weeks = metrics.weekly_accuracy(RANGE)
    assert [w["week"] for w in weeks] == [date(2026, 3, 2), date(2026, 3, 9)]
    assert [w["items"] for w in weeks] == [3, 2]
    assert weeks[0]["code_accuracy"] == pytest.approx(14 / 16)
    assert weeks[1]["code_accuracy"] == 1


def test_one_query_summary_agrees_with_the_separate_figures(audited, coders):
    summary = metrics.item_summary(RANGE)
    assert summary.team == metrics.team_totals(RANGE)
    for coder_id, row in metrics.coder_accuracy(RANGE).items():
        row.pop("coder_id")
        assert summary.by_coder[coder_id] == row
    weekly = metrics.weekly_accuracy(RANGE)
    assert list(summary.by_week) == [w["week"] for w in weekly]
    assert [v["code_accuracy"] for v in summary.by_week.values()] == [
        w["code_accuracy"] for w in weekly
    ]


def test_encounter_type_filter(audited):
    inpatient = metrics.team_totals(RANGE.replace(encounter_type="inpatient"))
    assert inpatient["items"] == 3
    # 6 + 4 + 5 of 6 + 5 + 5
    assert inpatient["code_accuracy"] == pytest.approx(15 / 16)


def test_drill_down_lists_match_the_numbers(audited):
    assert set(metrics.items_for(RANGE, outcome="clean")) == {audited[2], audited[4]}
    assert set(metrics.items_for(RANGE, outcome="drg_changed")) == {audited[3], audited[5]}
    assert set(metrics.items_for(RANGE, category="poa")) == {audited[5]}
    assert list(metrics.items_for(RANGE, outcome="upcoding")) == [audited[3]]


def steps(encounter, by, *moves):
    """Transitions at given local times: moves are (to_status, datetime)."""
    for to, at in moves:
        t = Transition.objects.create(encounter=encounter, to_status=to, by=by)
        Transition.objects.filter(pk=t.pk).update(at=at)  # `at` is auto_now_add
    # Written around transition_record (to set times): keep the encounter's steps as it would.
    turnaround_steps_backfill(Encounter.objects.filter(pk=encounter.pk))


@pytest.fixture
def coded(coders, senior):
    a, b = coders
    e = {n: EncounterFactory(status=S.CODED, assignee=(a if n <= 2 else b)) for n in range(1, 6)}
    # E1 (A): ready Mar 2 08:00 → coded 12:00 = 4 h
    steps(e[1], a, (S.READY, local(2026, 3, 2, 8)), (S.CODED, local(2026, 3, 2, 12)))
    # E2 (A): first ready Mar 2 08:00, handed back (ready again) Mar 3 09:00,
    # first coded Mar 3 10:00 = 26 h; coded again Mar 4 after an audit (ignored)
    steps(
        e[2],
        a,
        (S.READY, local(2026, 3, 2, 8)),
        (S.CODING, local(2026, 3, 2, 9)),
        (S.READY, local(2026, 3, 3, 9)),
        (S.CODED, local(2026, 3, 3, 10)),
        (S.PRE_BILL_AUDIT, local(2026, 3, 3, 11)),
        (S.CODING, local(2026, 3, 4, 9)),
        (S.CODED, local(2026, 3, 4, 12)),
    )
    # E3 (B): Mar 3 08:00 → 18:00 = 10 h
    steps(e[3], b, (S.READY, local(2026, 3, 3, 8)), (S.CODED, local(2026, 3, 3, 18)))
    # E4 (B): Mar 2 08:00 → Mar 6 08:00 = 96 h
    steps(e[4], b, (S.READY, local(2026, 3, 2, 8)), (S.CODED, local(2026, 3, 6, 8)))
    # E5 (B): coded before the range: not counted
    steps(e[5], b, (S.READY, local(2026, 2, 2, 8)), (S.CODED, local(2026, 2, 3, 8)))
    return e


def test_turnaround_median_and_90th_percentile(coded, coders):
    a, b = coders
    result = metrics.throughput(RANGE)
    # team hours 4, 10, 26, 96: median (10 + 26) / 2 = 18; p90 at rank 2.7: 26 + 0.7 × 70 = 75
    assert result.team.coded == 4
    assert result.team.median_hours == pytest.approx(18)
    assert result.team.p90_hours == pytest.approx(75)
    # A: 4, 26 → median 15, p90 4 + 0.9 × 22 = 23.8; B: 10, 96 → 53, 10 + 0.9 × 86 = 87.4
    assert result.by_coder[a.pk].median_hours == pytest.approx(15)
    assert result.by_coder[a.pk].p90_hours == pytest.approx(23.8)
    assert result.by_coder[b.pk].median_hours == pytest.approx(53)
    assert result.by_coder[b.pk].p90_hours == pytest.approx(87.4)


def test_volume_per_coder_per_day(coded, coders):
    a, b = coders
    result = metrics.throughput(RANGE)
    # team coded on Mar 2, 3 and 6: 4 encounters over 3 active days
    assert (result.team.coded, result.team.active_days) == (4, 3)
    # A: Mar 2 and Mar 3, one each; B: Mar 3 and Mar 6
    assert (result.by_coder[a.pk].coded, result.by_coder[a.pk].active_days) == (2, 2)
    assert result.by_coder[a.pk].per_day == 1
    assert result.by_week == {date(2026, 3, 2): result.by_week[date(2026, 3, 2)]}
    assert result.by_week[date(2026, 3, 2)].coded == 4
    assert {r["encounter_id"] for r in metrics.coded_for(RANGE.replace(coder_id=b.pk))} == {
        coded[3].pk,
        coded[4].pk,
    }


def test_prebill_backlog_ages(senior):
    now = timezone.now()
    held = {}
    for days in (1, 3, 10):
        encounter = EncounterFactory(status=S.PRE_BILL_AUDIT)
        steps(encounter, senior, (S.PRE_BILL_AUDIT, now - timedelta(days=days)))
        held[days] = encounter
    EncounterFactory(status=S.CODED)  # not held
    summary = metrics.prebill_backlog_summary(RANGE)
    assert summary["total"] == 3
    assert summary["oldest_days"] == 10
    assert [b["count"] for b in summary["buckets"]] == [1, 1, 1]
    assert list(metrics.prebill_backlog(RANGE)) == [held[10], held[3], held[1]]
    over_7 = metrics.backlog_age_filter(metrics.prebill_backlog(RANGE), "over_7")
    assert list(over_7) == [held[10]]


def test_no_audits_gives_no_rate_rather_than_100_percent(db):
    totals = metrics.team_totals(RANGE)
    assert totals["items"] == 0
    assert totals["code_accuracy"] is None
    assert metrics.throughput(RANGE).team.median_hours is None


def test_workflow_steps_keep_the_turnaround_hours_on_the_encounter(senior):
    encounter = EncounterFactory(status=S.INTAKE, assignee=senior)

    def step(to):
        with transaction.atomic():
            locked = Encounter.objects.select_for_update().get(pk=encounter.pk)
            transition_record(encounter=locked, to=to, by=senior)

    for to in (S.READY, S.CODING, S.REVIEW):
        step(to)
    encounter.refresh_from_db()
    assert encounter.turnaround_hours is None  # not coded yet
    step(S.CODED)
    encounter.refresh_from_db()
    first = encounter.turnaround_hours
    hours = (encounter.first_coded_at - encounter.first_ready_at).total_seconds() / 3600
    assert first == pytest.approx(hours) and first > 0
    # Coded again after a pre-bill audit: turnaround is still to the first "coded".
    for to in (S.PRE_BILL_AUDIT, S.CODING, S.REVIEW, S.CODED):
        step(to)
    encounter.refresh_from_db()
    assert encounter.turnaround_hours == first


@pytest.fixture
def coded_more(coded, coders, senior):
    """The `coded` encounters plus: one unassigned, one inpatient, one coded late in the
    evening (another day in UTC), and a practice chart (never counted)."""
    a, _b = coders
    # E6 (unassigned): Mar 9 08:00 → 14:00 = 6 h
    e6 = EncounterFactory(status=S.CODED, assignee=None)
    steps(e6, senior, (S.READY, local(2026, 3, 9, 8)), (S.CODED, local(2026, 3, 9, 14)))
    # E7 (A, inpatient): Mar 10 08:00 → 23:30 = 15.5 h, on Mar 10 local time
    e7 = InpatientEncounterFactory(status=S.CODED, assignee=a)
    steps(e7, a, (S.READY, local(2026, 3, 10, 8)), (S.CODED, local(2026, 3, 10, 23, 30)))
    # E8 (A): coded without ever being ready: counted, no turnaround
    e8 = EncounterFactory(status=S.CODED, assignee=a)
    steps(e8, a, (S.CODED, local(2026, 3, 10, 9)))
    practice = EncounterFactory(status=S.CODED, assignee=a, is_practice=True)
    steps(practice, a, (S.READY, local(2026, 3, 10, 8)), (S.CODED, local(2026, 3, 10, 9)))
    turnaround_steps_backfill(Encounter.with_practice.filter(pk=practice.pk))
    assert Encounter.with_practice.get(pk=practice.pk).turnaround_hours == 1
    return {**coded, 6: e6, 7: e7, 8: e8}


def test_turnaround_counts_the_unassigned_and_local_days(coded_more, coders):
    a, _b = coders
    result = metrics.throughput(RANGE)
    # team: 4, 10, 26, 96 + 6 (unassigned) + 15.5 (E7); E8 has no "ready"
    # sorted 4, 6, 10, 15.5, 26, 96: median (10 + 15.5) / 2 = 12.75; p90 at rank 4.5: 61
    assert (result.team.coded, result.team.with_ready) == (7, 6)
    assert result.team.median_hours == pytest.approx(12.75)
    assert result.team.p90_hours == pytest.approx(61)
    # A: 4, 26, 15.5 (E8 counted, no hours): median 15.5, p90 at rank 1.8: 15.5 + 0.8 × 10.5
    assert (result.by_coder[a.pk].coded, result.by_coder[a.pk].with_ready) == (4, 3)
    assert result.by_coder[a.pk].median_hours == pytest.approx(15.5)
    assert result.by_coder[a.pk].p90_hours == pytest.approx(23.9)
    # A coded on Mar 2, 3 and 10 (E7 at 23:30 local is Mar 11 in UTC, still Mar 10 here)
    assert result.by_coder[a.pk].active_days == 3
    assert (result.by_coder[None].coded, result.by_coder[None].median_hours) == (1, 6)
    # team days: Mar 2, 3, 6, 9, 10; weeks of Mar 2 (4 coded) and Mar 9 (3)
    assert result.team.active_days == 5
    assert {w: t.coded for w, t in result.by_week.items()} == {
        date(2026, 3, 2): 4,
        date(2026, 3, 9): 3,
    }
    inpatient = metrics.throughput(RANGE.replace(encounter_type="inpatient"))
    assert (inpatient.team.coded, inpatient.team.median_hours) == (1, pytest.approx(15.5))


def test_turnaround_in_the_database_matches_the_definition_computed_here(coded_more, coders):
    """PostgreSQL computes the figures in one query; the same rows computed in Python (the
    SQLite path, straight from the definition) must give the same numbers."""
    a, _b = coders
    for filters in (RANGE, RANGE.replace(coder_id=a.pk), RANGE.replace(encounter_type="inpatient")):
        in_python = metrics.throughput_from_rows(filters, metrics._throughput_rows_python(filters))
        computed = metrics._throughput(filters)
        assert computed.by_week == in_python.by_week
        assert computed.by_coder.keys() == in_python.by_coder.keys()
        for got, want in zip(
            [computed.team, *computed.by_coder.values()],
            [in_python.team, *(in_python.by_coder[k] for k in computed.by_coder)],
            strict=True,
        ):
            assert (got.coded, got.with_ready, got.active_days) == (
                want.coded,
                want.with_ready,
                want.active_days,
            )
            assert got.median_hours == pytest.approx(want.median_hours)
            assert got.p90_hours == pytest.approx(want.p90_hours)
