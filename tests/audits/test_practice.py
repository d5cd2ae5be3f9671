"""Practice charts: the case library, a coder's attempt coded in the workspace and scored with
the audit comparison engine, and the learning statistics."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.models import PhiAccess
from audits.models import PracticeAttempt, PracticeCase
from audits.practice import library, selectors, services
from encounters.models import Encounter, Patient
from tests.audits.plan_factories import coded_encounter
from tests.factories import DocumentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_cases(db) -> dict[str, PracticeCase]:
    library.practice_demo_import(by=None)
    return {c.source_ref: c for c in PracticeCase.objects.all()}


def _code(client, encounter, code, poa=""):
    encounter.refresh_from_db()
    return client.post(
        reverse("encounters:diagnosis_add", args=[encounter.pk]),
        {"code": code, "poa": poa, "version": encounter.version},
    )


def _submit(client, encounter):
    encounter.refresh_from_db()
    return client.post(
        reverse("encounters:submit", args=[encounter.pk]), {"version": encounter.version}
    )


# --- the library -----------------------------------------------------------------------------


def test_the_demo_charts_import_once_with_keys_valid_in_todays_release(demo_cases):
    assert len(demo_cases) == 4
    for case in demo_cases.values():
        assert case.encounter.is_practice and case.encounter.patient.is_practice
        assert case.encounter.documents.exists()
        # Every key code was found in the release in force (a description came with it).
        assert all(d["description"] for d in case.answer_key["diagnoses"]), case.answer_key
        assert case.teaching_note
    again = library.practice_demo_import(by=None)
    assert (again.created, again.existing) == (0, 4)
    # The real demo patients' identities are not reused.
    assert not Patient.with_practice.filter(is_practice=True, mrn__startswith="DEMO-").exists()


def test_a_senior_makes_a_practice_case_from_a_coded_encounter_on_a_fictional_patient(
    senior, junior
):
    real = coded_encounter(junior, diagnoses=(("E11.9", ""), ("I10", "")))
    patient = real.patient
    patient.phone = "(555) 010-0199"
    patient.save(update_fields=["phone"])
    DocumentFactory(
        encounter=real,
        text=f"{patient.first_name} {patient.last_name}, MRN {patient.mrn}, born "
        f"{patient.birth_date:%m/%d/%Y}, phone (555) 010-0199. Seen {real.admit_date}: "
        "has diabetes.",
    )
    case = services.practice_case_from_encounter(encounter=real, by=senior)
    chart = case.encounter
    assert chart.is_practice and chart.patient.is_practice
    assert chart.patient.mrn != patient.mrn and chart.patient.last_name != patient.last_name
    text = chart.documents.get().text
    assert patient.mrn not in text and patient.last_name not in text
    assert "555" not in text and "phone [removed]" in text
    assert f"born {chart.patient.birth_date:%m/%d/%Y}" in text
    assert f"Seen {chart.admit_date}: has diabetes." in text  # dates in the text move too
    # Dates move together: the length of stay is kept.
    assert chart.discharge_date - chart.admit_date == real.discharge_date - real.admit_date
    assert [d["code"] for d in case.answer_key["diagnoses"]] == ["E11.9", "I10"]
    assert set(case.answer_key) == {"diagnoses", "procedures", "principal_known"}
    assert not chart.diagnoses.exists()  # coders start from an uncoded chart


def test_only_a_coded_real_encounter_becomes_a_case_and_only_for_seniors(senior, junior):
    real = coded_encounter(junior, status=Encounter.Status.CODING)
    with pytest.raises(ValidationError):
        services.practice_case_from_encounter(encounter=real, by=senior)
    real.status = Encounter.Status.CODED
    with pytest.raises(PermissionDenied, match="cannot manage practice cases"):
        services.practice_case_from_encounter(encounter=real, by=junior)


def test_a_senior_edits_the_answer_key_and_bad_codes_are_refused(senior, demo_cases):
    case = demo_cases["ACC-50004"]
    with pytest.raises(ValidationError) as bad:
        services.practice_case_update(
            case=case,
            by=senior,
            title="COPD",
            diagnoses="J44.9\nXYZ.99",
            procedures="",
            teaching_note="",
            principal_known=True,
            is_active=True,
        )
    assert "XYZ.99" in str(bad.value)
    services.practice_case_update(
        case=case,
        by=senior,
        title="COPD follow-up",
        diagnoses="J44.9\nI10",
        procedures="",
        teaching_note="Two codes.",
        principal_known=True,
        is_active=False,
    )
    case.refresh_from_db()
    assert [d["code"] for d in case.answer_key["diagnoses"]] == ["J44.9", "I10"]
    assert not case.is_active


# --- attempts and scoring --------------------------------------------------------------------


def test_a_junior_codes_a_practice_copy_in_the_workspace_and_gets_it_scored(
    client, junior, demo_cases
):
    case = demo_cases["ACC-50004"]  # key: J44.9, I10, Z87.891 (in sequence)
    client.force_login(junior)
    response = client.post(reverse("audits:practice_start", args=[case.pk]))
    attempt = PracticeAttempt.objects.get(coder=junior)
    copy = attempt.encounter
    assert response.url == reverse("encounters:workspace", args=[copy.pk])
    assert copy.is_practice and copy.assignee == junior and copy.pk != case.encounter_id
    page = client.get(response.url)
    assert page.status_code == 200
    assert b"Submit for scoring" in page.content

    _code(client, copy, "I10")  # principal differs from the key
    _code(client, copy, "J44.9")
    _code(client, copy, "J45.909")  # extra
    assert list(copy.diagnoses.values_list("code", flat=True)) == ["I10", "J44.9", "J45.909"]
    result = _submit(client, copy)
    assert result.status_code == 302
    assert result.url == reverse("audits:practice_result", args=[attempt.pk])

    attempt.refresh_from_db()
    assert attempt.status == PracticeAttempt.Status.SCORED
    assert attempt.missed_codes == ["Z87.891"]
    assert attempt.extra_codes == ["J45.909"]
    assert attempt.principal_correct is False
    kinds = sorted(d["kind"] for d in attempt.differences)
    assert kinds == ["added", "deleted", "resequenced"]
    # 4 codes in the union; I10 and J44.9 are on both sides but the resequencing touches both.
    assert (attempt.codes_agreed, attempt.codes_total) == (0, 4)
    copy.refresh_from_db()
    assert copy.status == Encounter.Status.CODED
    assert not copy.transitions.exists()  # no workflow step: nothing counts practice

    page = client.get(result.url)
    assert page.status_code == 200
    body = page.content.decode()
    assert "Z87.891" in body and "J45.909" in body and "Teaching note" in body
    assert case.teaching_note[:40] in body


def test_a_perfect_attempt_scores_full_marks_and_a_retry_is_a_new_attempt(
    client, junior, demo_cases
):
    case = demo_cases["ACC-50004"]
    client.force_login(junior)
    for _round in range(2):
        client.post(reverse("audits:practice_start", args=[case.pk]))
    first, second = PracticeAttempt.objects.filter(coder=junior).order_by("pk")
    assert first.encounter_id != second.encounter_id
    # An unfinished attempt is continued from the list rather than started again.
    listing = client.get(reverse("audits:practice")).content.decode()
    assert 'aria-label="Continue COPD and hypertension' in listing
    for code in ("J44.9", "I10", "Z87.891"):
        _code(client, first.encounter, code)
    _submit(client, first.encounter)
    first.refresh_from_db()
    assert (first.codes_agreed, first.codes_total, first.principal_correct) == (3, 3, True)
    assert first.differences == []
    # Scored attempts are closed: a second submit is refused, the codes cannot change.
    _submit(client, first.encounter)
    assert _code(client, first.encounter, "R05.9").status_code == 302
    assert first.encounter.diagnoses.count() == 3


def test_an_unsequenced_key_scores_neither_order_nor_poa():
    answer = {
        "diagnoses": [{"code": "R50.9", "poa": ""}, {"code": "A23.9", "poa": ""}],
        "procedures": [],
        "principal_known": False,
    }
    mine = {"diagnoses": [{"code": "A23.9", "poa": "Y"}, {"code": "R50.9", "poa": "N"}]}
    result = services.practice_score(submitted=mine, key=answer, inpatient=True)
    assert result.findings == []
    assert (result.codes_agreed, result.codes_total) == (2, 2)
    # The same with the principal known: resequenced and POA findings.
    ordered = services.practice_score(
        submitted=mine, key={**answer, "principal_known": True}, inpatient=True
    )
    assert {f.kind for f in ordered.findings} == {"resequenced", "poa_changed"}


def test_another_coder_cannot_open_or_submit_my_practice_copy(
    client, junior, intermediate, senior, demo_cases
):
    attempt = services.practice_attempt_start(case=demo_cases["ACC-50002"], by=junior)
    client.force_login(intermediate)
    assert (
        client.get(reverse("encounters:workspace", args=[attempt.encounter_id])).status_code == 404
    )
    assert client.get(reverse("audits:practice_result", args=[attempt.pk])).status_code == 403
    with pytest.raises(PermissionDenied, match="another coder"):
        services.practice_attempt_submit(encounter=attempt.encounter, by=intermediate, version=1)
    # A senior who keeps the library may look (read-only for them: it is assigned to junior).
    client.force_login(senior)
    assert (
        client.get(reverse("encounters:workspace", args=[attempt.encounter_id])).status_code == 200
    )


# --- isolation --------------------------------------------------------------------------------


@pytest.fixture
def practice_copy(junior, demo_cases) -> Encounter:
    attempt = services.practice_attempt_start(case=demo_cases["ACC-50001"], by=junior)
    return attempt.encounter


def _force(encounter: Encounter, **fields) -> None:
    """Put a practice chart where real work would find it (no service would do so)."""
    Encounter.with_practice.filter(pk=encounter.pk).update(**fields)


def test_practice_charts_never_reach_a_queue_or_the_pool(junior, practice_copy):
    from encounters.selectors import encounter_queue_for, encounters_visible_to
    from encounters.services import encounter_claim_next

    assert not encounter_queue_for(user=junior).filter(pk=practice_copy.pk).exists()
    assert not encounters_visible_to(user=junior).filter(pk=practice_copy.pk).exists()
    _force(practice_copy, status=Encounter.Status.READY, assignee=None)
    assert encounter_claim_next(by=junior) is None


def test_practice_charts_never_reach_review_or_the_complex_list(
    intermediate, senior, practice_copy
):
    from encounters.reviews import complex_queue_for, review_queue_for

    _force(practice_copy, status=Encounter.Status.REVIEW)
    assert practice_copy.pk not in [e.pk for e in review_queue_for(user=senior)]
    _force(
        practice_copy,
        status=Encounter.Status.COMPLEX,
        complexity_flags=[{"rule": "mcc", "reason": "MCC"}],
    )
    assert practice_copy.pk not in [e.pk for e in complex_queue_for(user=intermediate)]


def test_practice_charts_never_reach_audit_samples_or_metrics(senior, junior, practice_copy):
    from audits import metrics, sampling
    from tests.audits.plan_factories import plan

    today = timezone.localdate()
    real = coded_encounter(junior, status=Encounter.Status.BILLED, discharged=today)
    _force(
        practice_copy,
        status=Encounter.Status.BILLED,
        first_coded_at=timezone.now(),
        discharge_date=today,
    )
    audit_plan = plan(senior, date_from=today - timedelta(days=30), date_to=today, percent=100)
    drawn = [c.encounter.pk for c in sampling.candidates_for(audit_plan)]
    assert real.pk in drawn and practice_copy.pk not in drawn
    filters = metrics.QualityFilters(date_from=today - timedelta(days=7), date_to=today)
    assert not metrics.coded_encounters(filters).filter(pk=practice_copy.pk).exists()


def test_no_workflow_step_claim_or_recode_check_takes_a_practice_chart(
    intermediate, junior, practice_copy
):
    from codesets.selectors import release_in_force
    from encounters import recode
    from encounters.claims.services import claim_bill
    from encounters.models import Claim
    from encounters.services import WorkflowError, encounter_escalate, encounter_submit

    practice_copy.diagnoses.create(code="I10", sequence=1, created_by=junior)
    with pytest.raises(WorkflowError, match="practice chart"):
        encounter_submit(
            encounter=practice_copy,
            by=junior,
            version=practice_copy.version,
            override_reason="edits stand",
        )
    with pytest.raises(WorkflowError, match="practice chart"):
        encounter_escalate(
            encounter=practice_copy, by=junior, version=practice_copy.version, reason="hard"
        )
    _force(practice_copy, status=Encounter.Status.READY_TO_BILL)
    with pytest.raises(WorkflowError, match="practice chart"):
        claim_bill(encounter=practice_copy, by=intermediate)
    assert not Claim.objects.filter(encounter_id=practice_copy.pk).exists()
    # The re-check after a new release looks at open real encounters only.
    _force(practice_copy, status=Encounter.Status.CODING)
    real = coded_encounter(
        junior,
        status=Encounter.Status.CODING,
        discharged=practice_copy.discharge_date,
        diagnoses=(("I10", ""),),
    )
    release = release_in_force(system="icd10cm", on=practice_copy.discharge_date)
    found = set(recode._candidates(release=release, codes=["I10"]).values_list("pk", flat=True))
    assert real.pk in found and practice_copy.pk not in found


def test_the_workspace_edits_work_on_my_practice_copy_and_are_logged_as_chart_views(
    client, junior, practice_copy
):
    client.force_login(junior)
    assert client.get(reverse("encounters:workspace", args=[practice_copy.pk])).status_code == 200
    assert PhiAccess.objects.filter(user=junior, encounter_id=practice_copy.pk).exists()
    _code(client, practice_copy, "I50.33", "Y")
    assert practice_copy.diagnoses.get().poa == "Y"
    practice_copy.refresh_from_db()
    removed = client.post(
        reverse("encounters:diagnosis_remove", args=[practice_copy.pk]),
        {"diagnosis_id": practice_copy.diagnoses.get().pk, "version": practice_copy.version},
    )
    assert removed.status_code == 302 and not practice_copy.diagnoses.exists()


# --- pages and statistics ---------------------------------------------------------------------


def test_the_practice_pages_show_scores_to_the_coder_and_to_seniors(
    client, junior, senior, demo_cases
):
    case = demo_cases["ACC-50004"]
    for codes in (("J44.9",), ("J44.9", "I10", "Z87.891")):
        attempt = services.practice_attempt_start(case=case, by=junior)
        for n, code in enumerate(codes, start=1):
            attempt.encounter.diagnoses.create(code=code, sequence=n, created_by=junior)
        services.practice_attempt_submit(
            encounter=attempt.encounter, by=junior, version=attempt.encounter.version
        )
    stats = selectors.practice_stats_for(coder=junior)
    assert stats.attempts == 2
    assert (round(stats.first, 2), stats.latest) == (0.33, 1.0)

    client.force_login(junior)
    page = client.get(reverse("audits:practice"))
    assert page.status_code == 200
    assert b"Practice accuracy over time" in page.content  # the trend chart, two attempts
    assert client.get(reverse("audits:practice_cases")).status_code == 403

    client.force_login(senior)
    library_page = client.get(reverse("audits:practice_cases"))
    assert library_page.status_code == 200
    coders = selectors.practice_coder_stats()
    assert coders[0]["attempts"] == 2 and round(coders[0]["average"], 2) == 0.67
    assert "Jo Junior" in library_page.content.decode()
    case_page = client.get(reverse("audits:practice_case", args=[case.pk]))
    assert case_page.status_code == 200 and b"100 %" in case_page.content


def test_a_senior_imports_the_demo_library_from_the_page(client, senior):
    client.force_login(senior)
    response = client.post(reverse("audits:practice_import"), {"source": "demo"}, follow=True)
    assert PracticeCase.objects.count() == 4
    assert "4 case(s) added" in response.content.decode()


def test_practice_accuracy_shows_beside_the_review_statistics(client, junior, senior, demo_cases):
    case = demo_cases["ACC-50004"]
    attempt = services.practice_attempt_start(case=case, by=junior)
    attempt.encounter.diagnoses.create(code="J44.9", sequence=1, created_by=junior)
    services.practice_attempt_submit(
        encounter=attempt.encounter, by=junior, version=attempt.encounter.version
    )
    client.force_login(junior)
    mine = client.get(reverse("encounters:feedback")).content.decode()
    assert "1 scored attempt, 33 % of codes agreed" in mine
    client.force_login(senior)
    theirs = client.get(reverse("encounters:coder_statistics") + f"?coder={junior.pk}")
    assert theirs.status_code == 200
    assert "1 scored attempt, 33 % of codes agreed" in theirs.content.decode()


def test_a_physician_query_is_never_sent_from_a_practice_chart(intermediate, demo_cases):
    from encounters.models import PhysicianQuery
    from encounters.queries import query_send
    from encounters.services import WorkflowError

    chart = services.practice_attempt_start(case=demo_cases["ACC-50001"], by=intermediate)
    document = chart.encounter.documents.first()
    with pytest.raises(WorkflowError, match="practice chart"):
        query_send(
            encounter=chart.encounter,
            by=intermediate,
            kind="open",
            provider="Dr. A. Chen",
            question="Please clarify the type and acuity of the heart failure documented.",
            clinical_indicators=[
                {"document_id": document.pk, "start": 0, "end": 40, "quote": document.text[:40]}
            ],
        )
    assert not PhysicianQuery.objects.filter(encounter_id=chart.encounter_id).exists()


def _queries(client, url: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def _scored(case, coder, codes=("J44.9",)):
    attempt = services.practice_attempt_start(case=case, by=coder)
    for n, code in enumerate(codes, start=1):
        attempt.encounter.diagnoses.create(code=code, sequence=n, created_by=coder)
    return services.practice_attempt_submit(
        encounter=attempt.encounter, by=coder, version=attempt.encounter.version
    )


def test_the_practice_lists_take_the_same_queries_however_many_rows(
    client, junior, senior, demo_cases
):
    _scored(demo_cases["ACC-50004"], junior)
    client.force_login(junior)
    mine = _queries(client, reverse("audits:practice"))
    client.force_login(senior)
    library_page = _queries(client, reverse("audits:practice_cases"))
    for case in demo_cases.values():
        _scored(case, junior, codes=("I10",))
        _scored(case, senior, codes=("I10",))
    client.force_login(junior)
    assert _queries(client, reverse("audits:practice")) == mine
    client.force_login(senior)
    assert _queries(client, reverse("audits:practice_cases")) == library_page
