"""Quality dashboard, scorecards, drill-down lists, exports and the printable audit report."""

import csv
import io
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts.models import PhiAccess, Role, User
from audits.models import AuditItem, AuditPlan, AuditSettings, Finding
from encounters.models import Encounter, Transition
from encounters.services import turnaround_steps_backfill
from tests.factories import EncounterFactory, InpatientEncounterFactory

pytestmark = pytest.mark.django_db

S = Encounter.Status
RANGE = {"from": "2026-03-02", "to": "2026-03-29"}
# Queries of a dashboard with its figures cached. PostgreSQL caches the audit figures under
# the audit tables' version (1 query; 2 more to compute them); SQLite computes them on every
# request (2 queries). The turnaround is cached on both (1 more query to compute it).
POSTGRES = connection.vendor == "postgresql"
CACHED = 11 if POSTGRES else 12


def user_make(username: str, role: str = Role.JUNIOR) -> User:
    # No password: the client signs in with force_login, and hashing costs seconds here.
    return User.objects.create(username=username, role=role, first_name=username.title())


@pytest.fixture
def senior_user(db):
    return user_make("qa_senior", Role.SENIOR)


@pytest.fixture
def as_senior(client, senior_user):
    client.force_login(senior_user)
    return client


def local(*args) -> datetime:
    return timezone.make_aware(datetime(*args))


def plan_make(by, name="March sample") -> AuditPlan:
    plan = AuditPlan.objects.create(
        name=name,
        kind=AuditPlan.Kind.POST_BILL,
        party=AuditPlan.Party.EXTERNAL,
        method=AuditPlan.Method.RANDOM_PERCENT,
        percent=Decimal("5"),
        date_from=date(2026, 2, 1),
        date_to=date(2026, 2, 28),
        seed=20260301,
        status=AuditPlan.Status.SAMPLED,
        created_by=by,
    )
    plan.auditors.add(by)
    return plan


def audit_make(plan, coder, *, n: int, compared_at: datetime) -> list[AuditItem]:
    """n compared items for coder: even ones clean, odd ones with a pending finding; every
    third inpatient with a DRG change (upcoding)."""
    items = []
    for i in range(n):
        inpatient = i % 3 == 0
        factory = InpatientEncounterFactory if inpatient else EncounterFactory
        encounter = factory(status=S.CODED, assignee=coder)
        item = AuditItem.objects.create(
            plan=plan,
            encounter=encounter,
            coder=coder,
            selection_reason="Random 5 % of February encounters (seed 20260301)",
            status=AuditItem.Status.COMPARED,
            auditor=plan.created_by,
            original_coding={"diagnoses": [{"code": "E11.42"}, {"code": "I10"}]},
            audited_coding={"diagnoses": [{"code": "E11.40"}, {"code": "I10"}]},
            codes_agreed=3 if i % 2 == 0 else 2,
            codes_total=3,
            compared_at=compared_at,
            original_drg={"drg": "292", "weight": 1.6} if inpatient else {},
            audited_drg={"drg": "291", "weight": 1.3} if inpatient else {},
            weight_difference=Decimal("0.3") if inpatient else None,
            payment_effect=AuditItem.PaymentEffect.UPCODING if inpatient else "",
        )
        if i % 2:
            Finding.objects.create(
                item=item,
                kind=Finding.Kind.CHANGED,
                category=Finding.Category.SPECIFICITY,
                code_kind="diagnosis",
                original_code="E11.42",
                audited_code="E11.40",
                note="Neuropathy not documented as polyneuropathy.",
            )
        items.append(item)
    return items


def coded_make(coder, by, *, n: int, day: int) -> None:
    for i in range(n):
        encounter = EncounterFactory(status=S.CODED, assignee=coder)
        for to, at in ((S.READY, local(2026, 3, day, 8)), (S.CODED, local(2026, 3, day, 9 + i))):
            t = Transition.objects.create(encounter=encounter, to_status=to, by=by)
            Transition.objects.filter(pk=t.pk).update(at=at)
        turnaround_steps_backfill(Encounter.objects.filter(pk=encounter.pk))


def seed(senior, coders: int, per_coder: int) -> list[User]:
    plan = plan_make(senior)
    made = []
    for c in range(coders):
        coder = user_make(f"coder{c}")
        audit_make(plan, coder, n=per_coder, compared_at=local(2026, 3, 3 + c, 10))
        coded_make(coder, senior, n=per_coder, day=3 + c)
        made.append(coder)
    pre = EncounterFactory(status=S.PRE_BILL_AUDIT, assignee=made[0])
    t = Transition.objects.create(encounter=pre, to_status=S.PRE_BILL_AUDIT, by=senior)
    Transition.objects.filter(pk=t.pk).update(at=timezone.now() - timedelta(days=9))
    return made


def test_dashboard_shows_team_totals_with_definitions_and_links(as_senior, senior_user):
    seed(senior_user, coders=1, per_coder=4)
    response = as_senior.get(reverse("audits:dashboard"), RANGE)
    assert response.status_code == 200
    html = response.content.decode()
    # 4 items × 3 codes = 12; agreed 3 + 2 + 3 + 2 = 10 → 83.3 %, below the 95 % target
    assert "83.3 %" in html and "Below target" in html
    # encounters 0 and 2 have no finding: 2 of 4
    assert "50.0 %" in html
    assert "Code-level accuracy" in html and "agreed codes ÷ all codes" in html.lower()
    assert "<svg" in html and "<title" in html and "<desc" in html
    drill = reverse("audits:quality_list")
    assert (
        f'href="{drill}?from=2026-03-02&amp;to=2026-03-29&amp;kind=items&amp;outcome=upcoding"'
        in html
    )


def test_dashboard_queries_do_not_grow_with_rows(client, senior_user, django_assert_num_queries):
    AuditSettings.current()
    client.force_login(senior_user)
    seed(senior_user, coders=1, per_coder=2)
    client.get(reverse("audits:dashboard"), RANGE)  # warm: session, both caches
    # session + user, settings, audit tables' version (audit figures cache key), newest
    # transition (turnaround cache key), backlog, coder names, the coder filter's choices,
    # session save (3)
    with django_assert_num_queries(CACHED):
        client.get(reverse("audits:dashboard"), RANGE)
    plan = plan_make(senior_user, name="Second")
    for i, coder in enumerate([user_make(f"more{i}") for i in range(3)]):
        audit_make(plan, coder, n=6, compared_at=local(2026, 3, 12 + i, 10))
        coded_make(coder, senior_user, n=5, day=12 + i)
    # New audit items and transitions change both keys: the next request computes the
    # audited items by (coder, week), the categories and the turnaround...
    with django_assert_num_queries(CACHED + (3 if POSTGRES else 1)):
        response = client.get(reverse("audits:dashboard"), RANGE)
    assert response.content.decode().count('href="/audits/dashboard/coders/') == 4
    assert "17" in response.content.decode()  # 2 + 15 coded encounters
    # ...and the one after reads the cache, with the same count as with a quarter of the rows.
    with django_assert_num_queries(CACHED):
        client.get(reverse("audits:dashboard"), RANGE)


def test_only_a_step_into_ready_or_coded_recomputes_turnaround(
    client, senior_user, django_assert_num_queries
):
    """Turnaround and volume change only when an encounter first becomes ready or coded, so
    the other steps of a working day (claiming, submitting, audits, billing) keep the cache."""
    AuditSettings.current()
    client.force_login(senior_user)
    coder = seed(senior_user, coders=1, per_coder=2)[0]
    url = reverse("audits:dashboard")
    client.get(url, RANGE)  # computes and caches
    encounter = EncounterFactory(status=S.CODING, assignee=coder)
    Transition.objects.create(
        encounter=encounter, from_status=S.CODING, to_status=S.REVIEW, by=coder
    )
    with django_assert_num_queries(CACHED):  # the cached figures
        response = client.get(url, RANGE)
    coded_before = response.context["flow"].team.coded
    Transition.objects.create(
        encounter=encounter, from_status=S.REVIEW, to_status=S.CODED, by=senior_user
    )
    Transition.objects.filter(encounter=encounter).update(at=local(2026, 3, 20, 10))
    turnaround_steps_backfill(Encounter.objects.filter(pk=encounter.pk))
    with django_assert_num_queries(CACHED + 1):  # turnaround computed: the new one counts
        response = client.get(url, RANGE)
    assert response.context["flow"].team.coded == coded_before + 1


def test_audit_figures_are_recomputed_when_a_finding_changes(as_senior, senior_user):
    """The audit figures are cached across workflow steps, but a senior's resolution (an
    update to a finding) shows at once."""
    seed(senior_user, coders=1, per_coder=4)
    url = reverse("audits:dashboard")
    # items 1 and 3 have a pending finding: 2 of 4 clean, 10 of 12 codes agreed (83.3 %)
    assert "83.3 %" in as_senior.get(url, RANGE).content.decode()
    Finding.objects.filter(item__coder__username="coder0").update(
        resolution=Finding.Resolution.OVERTURNED
    )
    # overturned: each stands for one agreed code again, 12 of 12; and no finding counts
    html = as_senior.get(url, RANGE).content.decode()
    assert "83.3 %" not in html and "100.0 %" in html


def test_scorecard_shows_one_coder(as_senior, senior_user):
    coders = seed(senior_user, coders=2, per_coder=2)
    response = as_senior.get(reverse("audits:scorecard", args=[coders[1].pk]), RANGE)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Coder1" in html
    # coder1: 2 items, agreed 3 + 2 of 6 → 83.3 %
    assert "83.3 %" in html
    assert f"coder={coders[1].pk}" in html


def test_drill_down_lists_the_encounters_behind_a_number(as_senior, senior_user):
    seed(senior_user, coders=1, per_coder=4)
    base = {**RANGE, "kind": "items"}
    errors = as_senior.get(reverse("audits:quality_list"), {**base, "outcome": "errors"})
    assert errors.content.decode().count("data-item=") == 2
    upcoding = as_senior.get(reverse("audits:quality_list"), {**base, "outcome": "upcoding"})
    assert upcoding.content.decode().count("data-item=") == 2  # items 0 and 3
    coded = as_senior.get(reverse("audits:quality_list"), {**RANGE, "kind": "coded"})
    assert coded.content.decode().count("/encounters/") >= 4
    backlog = as_senior.get(reverse("audits:quality_list"), {"kind": "backlog", "bucket": "over_7"})
    assert "badge-bad" in backlog.content.decode()


def test_bad_dates_fall_back_to_the_default_range_with_a_message(as_senior):
    response = as_senior.get(
        reverse("audits:dashboard"), {"from": "2026-03-29", "to": "2026-03-01"}
    )
    assert response.status_code == 200
    assert "The start date is after the end date." in response.content.decode()


def test_quality_pages_need_the_capability(client, db):
    client.force_login(user_make("j"))
    for name in ("audits:dashboard", "audits:quality_list", "audits:access_review"):
        assert client.get(reverse(name)).status_code == 403
    assert client.get(reverse("audits:scorecard", args=[1])).status_code == 403
    client.logout()
    assert client.get(reverse("audits:dashboard")).status_code == 302


def test_target_form_changes_the_target_and_refuses_nonsense(as_senior):
    url = reverse("audits:quality_target")
    bad = as_senior.post(url, {"accuracy_target": "120"})
    assert bad.status_code == 200
    assert "Nothing was saved" in bad.content.decode()
    assert AuditSettings.current().accuracy_target == Decimal("95.00")
    ok = as_senior.post(url, {"accuracy_target": "92.5"})
    assert ok.status_code == 302
    assert AuditSettings.current().accuracy_target == Decimal("92.50")
    assert "92.5 %" in as_senior.get(reverse("audits:dashboard")).content.decode()


def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_csv_exports_of_items_and_findings_are_logged(as_senior, senior_user):
    seed(senior_user, coders=1, per_coder=4)
    items = _csv(as_senior.get(reverse("audits:quality_export_items"), RANGE))
    assert items[0][:4] == ["item_id", "plan", "plan_kind", "account_number"]
    assert len(items) == 5
    assert sorted(r[items[0].index("counts_as_error")] for r in items[1:]) == [
        "no",
        "no",
        "yes",
        "yes",
    ]
    findings = _csv(as_senior.get(reverse("audits:quality_export_findings"), RANGE))
    assert len(findings) == 3
    assert findings[1][findings[0].index("original_code")] == "E11.42"
    exports = PhiAccess.objects.filter(user=senior_user, action=PhiAccess.Action.EXPORT)
    assert exports.count() == 2


def test_plan_report_print_view_and_pdf(as_senior, senior_user):
    seed(senior_user, coders=1, per_coder=3)
    plan = AuditPlan.objects.get()
    page = as_senior.get(reverse("audits:quality_plan_report", args=[plan.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "quality.css" in html and "Download PDF" in html
    assert "E11.42, I10" in html and "External" in html and "20260301" in html
    pdf = as_senior.get(reverse("audits:quality_plan_report_pdf", args=[plan.pk]))
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert len(pdf.content) > 1500
    assert PhiAccess.objects.filter(action=PhiAccess.Action.EXPORT, user=senior_user).exists()


def test_navigation_offers_quality_and_access_log_to_seniors(as_senior):
    html = as_senior.get(reverse("audits:dashboard")).content.decode()
    assert f'href="{reverse("audits:dashboard")}"' in html
    assert f'href="{reverse("audits:access_review")}"' in html


def test_unknown_coder_or_plan_says_so_instead_of_a_bare_404(as_senior):
    for url in (
        reverse("audits:scorecard", args=[987654]),
        reverse("audits:quality_plan_report", args=[987654]),
        reverse("audits:quality_plan_report_pdf", args=[987654]),
    ):
        response = as_senior.get(url, follow=True)
        assert response.redirect_chain, url
        assert "There is no" in response.content.decode(), url


def test_a_range_over_two_years_is_refused_with_a_message(as_senior):
    html = as_senior.get(
        reverse("audits:dashboard"), {"from": "2010-01-01", "to": "2026-03-01"}
    ).content.decode()
    assert "Choose at most two years at a time" in html
