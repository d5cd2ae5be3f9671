"""Provider documentation feedback on a small hand-checked case (the numbers are worked out in
the comments), the pages, the CSV, and who may see them."""

import csv
import io
from datetime import date, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from audits import providers
from audits.metrics import QualityFilters
from audits.models import AuditItem, AuditPlan, Finding
from encounters.models import CodingVersion, PhysicianQuery
from tests.conftest import PASSWORD
from tests.factories import EncounterFactory, InpatientEncounterFactory

pytestmark = pytest.mark.django_db

RANGE = QualityFilters(date_from=date(2026, 3, 2), date_to=date(2026, 3, 29))
K = PhysicianQuery.Kind
S = PhysicianQuery.Status


# SQLite has no percentile_cont: one more query reads the response times (not one per row).
QUERIES = 4 if connection.vendor == "postgresql" else 5


def local(*args) -> datetime:
    return timezone.make_aware(datetime(*args))


def query(by, encounter, provider, question, *, kind=K.OPEN, sent, answered=None, answer="",
          status=None):  # fmt: skip
    made = PhysicianQuery.objects.create(
        encounter=encounter,
        kind=kind,
        provider=provider,
        question=question,
        status=status or (S.ANSWERED if answered else S.SENT),
        answer=answer,
        answered_at=answered,
        created_by=by,
    )
    PhysicianQuery.objects.filter(pk=made.pk).update(sent_at=sent)  # sent_at is auto_now_add
    return made


def version(by, encounter, number, drg, at):
    made = CodingVersion.objects.create(
        encounter=encounter, number=number, coding={}, drg={"drg": drg}, created_by=by
    )
    CodingVersion.objects.filter(pk=made.pk).update(created_at=at)


@pytest.fixture
def case(intermediate):
    me = intermediate
    # Dr. Adams. Two inpatient stays:
    # e1: billed as DRG 194 on Mar 1 (before q1 was sent), DRG 193 saved Mar 4 (after the
    #     answer)  -> measurable, changed.
    # e2: DRG 871 saved Mar 4 (before q2 was sent Mar 5), a coding version with 871 on Mar 8
    #     (after the answer on Mar 7) -> measurable, unchanged.
    e1 = InpatientEncounterFactory(
        provider="Dr. Adams", drg_at_save={"drg": "193", "saved_at": "2026-03-04T10:00:00+00:00"}
    )
    version(me, e1, 1, "194", local(2026, 3, 1, 12))
    e2 = InpatientEncounterFactory(
        provider="Dr. Adams", drg_at_save={"drg": "871", "saved_at": "2026-03-04T10:00:00+00:00"}
    )
    version(me, e2, 1, "871", local(2026, 3, 8, 12))
    e3 = EncounterFactory(provider="Dr. Adams")  # outpatient: no DRG
    # Response times of the answered ones: 10 h, 48 h, 20 h -> sorted 10, 20, 48:
    # median 20; p90 at k = 2 * 0.9 = 1.8 -> 20 + (48 - 20) * 0.8 = 42.4.
    query(me, e1, "Dr. Adams", "Lactate 4.1 and hypotension on arrival. Sepsis workup: what "
          "condition does this represent?", sent=local(2026, 3, 3, 9),
          answered=local(2026, 3, 3, 19), answer="Sepsis due to pneumonia")  # fmt: skip
    query(me, e2, "Dr. Adams", "ABG shows hypoxia with pO2 55 on BiPAP. Please clarify the "
          "diagnosis being treated.", kind=K.MULTIPLE_CHOICE, sent=local(2026, 3, 5, 8),
          answered=local(2026, 3, 7, 8), answer="Clinically undetermined")  # fmt: skip
    query(me, e3, "Dr. Adams", "Sodium 127 on day two, treated with fluid restriction. What "
          "condition is being monitored?", kind=K.MULTIPLE_CHOICE, sent=local(2026, 3, 10, 8),
          answered=local(2026, 3, 11, 4), answer="Other: SIADH")  # fmt: skip
    query(me, e3, "Dr. Adams", "Chest CT notes a 6 mm nodule. What is its clinical "
          "significance, if any?", sent=local(2026, 3, 12, 8))  # fmt: skip
    query(me, e3, "Dr. Adams", "Fever and tachycardia: is sepsis present, or another "
          "condition?", sent=local(2026, 3, 20, 8), status=S.WITHDRAWN)  # fmt: skip
    query(me, e3, "Dr. Adams", "Outside the range: sepsis?", sent=local(2026, 2, 20, 8))
    # Dr. Baker: one open-ended query answered after 5 h; a practice chart's query never counts.
    e4 = EncounterFactory(provider="Dr. Baker")
    query(me, e4, "Dr. Baker", "Albumin 2.1, weight loss 12 % in 3 months: what condition "
          "does this represent?", sent=local(2026, 3, 16, 8),
          answered=local(2026, 3, 16, 13), answer="Severe malnutrition")  # fmt: skip
    practice = EncounterFactory(provider="Dr. Baker", is_practice=True)
    query(me, practice, "Dr. Baker", "Practice: sepsis?", sent=local(2026, 3, 16, 8))
    # Audit findings: Dr. Adams has two unsupported J96.01 (counted), one overturned (not) and
    # one specificity (another category); Dr. Carter one unsupported E43 and no query.
    plan = AuditPlan.objects.create(
        name="March", kind=AuditPlan.Kind.POST_BILL, method=AuditPlan.Method.RANDOM_PERCENT,
        percent=Decimal("5"), date_from=date(2026, 2, 1), date_to=date(2026, 2, 28), seed=1,
        status=AuditPlan.Status.SAMPLED, created_by=me,
    )  # fmt: skip

    def item(encounter, findings):
        made = AuditItem.objects.create(
            plan=plan, encounter=encounter, coder=me, selection_reason="Random",
            status=AuditItem.Status.COMPARED, compared_at=local(2026, 3, 15, 12),
        )  # fmt: skip
        for category, code, resolution in findings:
            Finding.objects.create(
                item=made, kind=Finding.Kind.DELETED, category=category, code_kind="diagnosis",
                original_code=code, resolution=resolution,
            )  # fmt: skip

    U = Finding.Category.UNSUPPORTED
    item(e1, [(U, "J96.01", ""), (U, "J96.01", ""), (U, "E87.1", "overturned"),
              (Finding.Category.SPECIFICITY, "J18.9", "")])  # fmt: skip
    item(EncounterFactory(provider="Dr. Carter"), [(U, "E43", "upheld")])
    return e1


def test_the_figures_per_provider_match_the_hand_count(case, django_assert_num_queries):
    with django_assert_num_queries(QUERIES):
        rows = providers.provider_feedback(RANGE)
    assert [r.provider for r in rows] == ["Dr. Adams", "Dr. Baker", "Dr. Carter"]
    adams, baker, carter = rows
    assert (adams.sent, adams.answered, adams.withdrawn, adams.open) == (5, 3, 1, 1)
    assert (adams.open_ended, adams.multiple_choice) == (3, 2)
    assert (adams.mc_clinical, adams.mc_undetermined, adams.mc_other) == (0, 1, 1)
    assert adams.median_hours == pytest.approx(20)
    assert adams.p90_hours == pytest.approx(42.4)
    assert adams.by_kind["open"] == {"answered": 1, "withdrawn": 1, "open": 1}
    assert adams.topics == {
        "Sepsis / SIRS": 2,
        "Respiratory failure": 1,
        "Electrolytes": 1,
        "Clinical significance of a finding": 1,
    }
    assert adams.unsupported == 2 and adams.unsupported_codes == {"J96.01": 2}
    assert adams.top_gaps(3) == [
        ("Sepsis / SIRS", 2, "query topic"),
        ("J96.01", 2, "unsupported finding"),
        ("Clinical significance of a finding", 1, "query topic"),
    ]
    assert (adams.drg_answered_inpatient, adams.drg_measured, adams.drg_changed) == (2, 2, 1)
    assert (baker.sent, baker.median_hours, baker.p90_hours) == (1, 5, 5)
    assert baker.topics == {"Malnutrition": 1}
    assert (carter.sent, carter.unsupported, carter.median_hours) == (0, 1, None)
    totals = providers.team_totals(rows)
    assert (totals["sent"], totals["unsupported"], totals["drg_change_rate"]) == (6, 3, 0.5)


def test_a_drg_saved_only_before_the_query_is_not_measurable(case, intermediate):
    stay = InpatientEncounterFactory(
        provider="Dr. Dean", drg_at_save={"drg": "193", "saved_at": "2026-03-02T10:00:00+00:00"}
    )
    query(intermediate, stay, "Dr. Dean", "Hypoxia: what condition?", sent=local(2026, 3, 3, 9),
          answered=local(2026, 3, 3, 12), answer="Acute respiratory failure")  # fmt: skip
    (dean,) = providers.provider_feedback(RANGE, provider="Dr. Dean")
    assert (dean.drg_answered_inpatient, dean.drg_measured, dean.drg_not_measurable) == (1, 0, 1)
    assert dean.drg_change_rate is None


def test_the_query_count_does_not_grow_with_providers(
    case, intermediate, django_assert_num_queries
):
    for n in range(5):
        query(intermediate, case, f"Dr. Extra {n}", "Sepsis?", sent=local(2026, 3, 4, 8))
    with django_assert_num_queries(QUERIES):
        rows = providers.provider_feedback(RANGE)
    assert len(rows) == 8


def _get(client, user, url_name, **params):
    client.login(username=user.username, password=PASSWORD)
    dates = {"from": "2026-03-02", "to": "2026-03-29"}
    return client.get(reverse(f"audits:{url_name}"), {**dates, **params})


def test_the_report_lists_counts_only(client, intermediate, case):
    response = _get(client, intermediate, "provider_feedback")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Dr. Adams" in body and "Dr. Carter" in body
    assert "20.0 h" in body and "42.4 h" in body
    assert "1 of 2" in body  # DRG changed of measurable, Dr. Adams
    assert "the MS-DRG grouped when the query was sent" in body  # the honest definition
    assert case.account_number not in body and case.patient.mrn not in body
    assert case.patient.last_name not in body


def test_the_provider_page_shows_answers_and_gaps(client, intermediate, case):
    body = _get(client, intermediate, "provider_detail", name="Dr. Adams").content.decode()
    assert "Answers by type" in body and "Clinically undetermined" in body
    assert "Sepsis / SIRS" in body and "J96.01" in body
    assert case.account_number not in body


def test_the_provider_page_without_a_name_goes_back_to_the_report(client, intermediate):
    response = _get(client, intermediate, "provider_detail")
    assert response.status_code == 302
    assert response.url.startswith(reverse("audits:provider_feedback"))


def test_the_csv_has_one_row_per_provider(client, intermediate, case):
    response = _get(client, intermediate, "provider_export")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][0] == "provider" and len(rows) == 4
    adams = dict(zip(rows[0], rows[1], strict=True))
    assert adams["queries sent"] == "5" and adams["median response hours"] == "20.0"
    assert adams["DRG changed"] == "1"
    assert adams["top documentation gaps"].startswith("Sepsis / SIRS (2); J96.01 (2)")


def test_a_junior_cannot_see_the_report(client, junior):
    assert _get(client, junior, "provider_feedback").status_code == 403
    assert _get(client, junior, "provider_export").status_code == 403
    assert _get(client, junior, "provider_detail", name="Dr. Adams").status_code == 403


def test_the_drg_grouped_when_the_query_was_sent_is_the_before(case, intermediate):
    # Saved DRG 193 before the query would say "unchanged"; the DRG grouped at send (194) wins.
    stay = InpatientEncounterFactory(
        provider="Dr. Ellis", drg_at_save={"drg": "193", "saved_at": "2026-03-09T10:00:00+00:00"}
    )
    sent = query(intermediate, stay, "Dr. Ellis", "Hypoxia: what condition?",
                 sent=local(2026, 3, 5, 9), answered=local(2026, 3, 6, 12))  # fmt: skip
    PhysicianQuery.objects.filter(pk=sent.pk).update(drg_at_send={"drg": "194"})
    (ellis,) = providers.provider_feedback(RANGE, provider="Dr. Ellis")
    assert (ellis.drg_answered_inpatient, ellis.drg_measured, ellis.drg_changed) == (1, 1, 1)
