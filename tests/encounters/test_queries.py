"""Physician (CDI) queries: compliant wording, quoted indicators, and the query-pending step."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from encounters import queries
from encounters.models import DiagnosisAssignment, Encounter, PhysicianQuery
from tests.factories import DocumentFactory, InpatientEncounterFactory

pytestmark = pytest.mark.django_db

NOTE = (
    "Hgb 6.9 g/dL on admission, down from 11.2. Two units PRBC transfused. Melena noted overnight."
)
QUESTION = (
    "Based on the indicators above, please clarify the condition being monitored and treated."
)


@pytest.fixture
def chart(junior):
    encounter = InpatientEncounterFactory(assignee=junior, status=Encounter.Status.CODING)
    DocumentFactory(encounter=encounter, text=NOTE)
    return encounter


def _indicator(encounter, phrase="Hgb 6.9 g/dL"):
    document = encounter.documents.get()
    start = document.text.index(phrase)
    return {"document_id": document.pk, "start": start, "end": start + len(phrase)}


def _send(encounter, by, **overrides):
    values = {
        "encounter": encounter,
        "by": by,
        "kind": PhysicianQuery.Kind.OPEN,
        "provider": "Dr. Grey",
        "question": QUESTION,
        "clinical_indicators": [_indicator(encounter)],
    }
    return queries.query_send(**{**values, **overrides})


def _refusal(encounter, by, field, **overrides) -> str:
    with pytest.raises(ValidationError) as caught:
        _send(encounter, by, **overrides)
    return " ".join(caught.value.message_dict[field])


def test_a_compliant_query_is_sent_and_the_encounter_waits_in_query_pending(chart, intermediate):
    query = _send(chart, intermediate)
    chart.refresh_from_db()
    assert chart.status == Encounter.Status.QUERY_PENDING
    assert (query.status, query.provider, query.created_by) == ("sent", "Dr. Grey", intermediate)
    assert query.clinical_indicators == [{**_indicator(chart), "quote": "Hgb 6.9 g/dL"}]
    step = chart.transitions.get()
    assert (step.from_status, step.to_status, step.by) == ("coding", "query_pending", intermediate)
    assert step.detail == {"query_id": query.pk}


def test_a_complex_case_can_be_queried(chart, intermediate):
    Encounter.objects.filter(pk=chart.pk).update(status=Encounter.Status.COMPLEX)
    _send(chart, intermediate)
    chart.refresh_from_db()
    assert chart.status == Encounter.Status.QUERY_PENDING


def test_a_second_query_on_a_pending_encounter_records_no_new_step(chart, intermediate):
    _send(chart, intermediate)
    _send(chart, intermediate, question="What is the clinical significance of the melena noted?")
    assert chart.transitions.count() == 1
    assert chart.queries.filter(status="sent").count() == 2


def test_multiple_choice_always_ends_with_undetermined_and_other(chart, intermediate):
    query = _send(
        chart,
        intermediate,
        kind=PhysicianQuery.Kind.MULTIPLE_CHOICE,
        options=[
            "Acute blood loss anemia",
            " acute blood loss anemia",
            "",
            "Other",
            "Anemia of chronic disease",
        ],
    )
    assert query.options == [
        "Acute blood loss anemia",
        "Anemia of chronic disease",
        "Clinically undetermined",
        "Other (please specify)",
    ]


def test_an_option_that_only_starts_with_other_is_kept():
    assert queries.query_options_normalise(["Other specified anemia", "Iron deficiency"]) == [
        "Other specified anemia",
        "Iron deficiency",
        *queries.REQUIRED_OPTIONS,
    ]


def test_multiple_choice_with_one_diagnosis_is_refused(chart, intermediate):
    message = _refusal(
        chart,
        intermediate,
        "options",
        kind=PhysicianQuery.Kind.MULTIPLE_CHOICE,
        options=["Acute blood loss anemia", "Clinically undetermined"],
    )
    assert "at least two" in message
    assert chart.queries.count() == 0


@pytest.mark.parametrize(
    ("question", "rule_words"),
    [
        (
            "Please document acute blood loss anemia given the hemoglobin drop.",
            "tells the provider",
        ),
        ("Can you add acute blood loss anemia to the discharge summary?", "tells the provider"),
        ("Consider documenting the type of anemia treated with transfusion.", "tells the provider"),
        ("Would you agree the patient has acute blood loss anemia?", "agree"),
        ("Clarifying the anemia type will raise the DRG; what type is it?", "reimbursement"),
        ("What anemia is present? This affects reimbursement for the stay.", "reimbursement"),
        ("What is the financial impact of the anemia on this stay's payment?", "reimbursement"),
        ("Does the patient have acute blood loss anemia?", "yes/no"),
    ],
)
def test_leading_wording_is_refused_with_the_reason(chart, intermediate, question, rule_words):
    message = _refusal(chart, intermediate, "question", question=question)
    assert message.startswith("The question is leading:")
    assert rule_words in message
    chart.refresh_from_db()
    assert chart.status == Encounter.Status.CODING


def test_a_leading_option_is_refused(chart, intermediate):
    message = _refusal(
        chart,
        intermediate,
        "options",
        kind=PhysicianQuery.Kind.MULTIPLE_CHOICE,
        options=["Acute blood loss anemia (higher DRG)", "Anemia of chronic disease"],
    )
    assert "reimbursement" in message


def test_open_clinical_questions_pass_every_rule():
    for question in (
        QUESTION,
        "What is the clinical significance of the hemoglobin of 6.9 g/dL?",
        "Please clarify the type of heart failure being treated.",
        "The patient had fecal impaction; what condition is being monitored?",
    ):
        assert queries.leading_wording(question) == [], question


def test_a_query_must_quote_at_least_one_indicator(chart, intermediate):
    message = _refusal(chart, intermediate, "clinical_indicators", clinical_indicators=[])
    assert "at least one clinical indicator" in message


@pytest.mark.parametrize(
    "bad",
    [
        {"start": -1, "end": 5},
        {"start": 10, "end": 10},
        {"start": 0, "end": len(NOTE) + 1},
        {"start": "x", "end": 4},
    ],
)
def test_indicator_offsets_are_checked_against_the_document(chart, intermediate, bad):
    indicator = {**_indicator(chart), **bad}
    _refusal(chart, intermediate, "clinical_indicators", clinical_indicators=[indicator])


def test_an_indicator_from_another_encounters_document_is_refused(chart, intermediate):
    other = DocumentFactory(text=NOTE)
    indicator = {"document_id": other.pk, "start": 0, "end": 10}
    message = _refusal(chart, intermediate, "clinical_indicators", clinical_indicators=[indicator])
    assert "not from this encounter" in message


def test_juniors_cannot_send_answer_or_withdraw_queries(chart, junior, intermediate):
    with pytest.raises(PermissionDenied):
        _send(chart, junior)
    query = _send(chart, intermediate)
    with pytest.raises(PermissionDenied):
        queries.query_answer(query=query, by=junior, answer="Acute blood loss anemia")
    with pytest.raises(PermissionDenied):
        queries.query_withdraw(query=query, by=junior, reason="No longer needed")


def test_a_chart_in_review_cannot_be_queried(chart, intermediate):
    Encounter.objects.filter(pk=chart.pk).update(status=Encounter.Status.REVIEW)
    with pytest.raises(ValidationError, match="cannot be queried"):
        _send(chart, intermediate)


def test_the_answer_returns_the_encounter_to_coding_only_when_no_query_is_open(chart, intermediate):
    first = _send(chart, intermediate)
    second = _send(chart, intermediate, question="What is the clinical significance of melena?")
    answered = queries.query_answer(
        query=first, by=intermediate, answer="Acute blood loss anemia", answered_by="Dr. Grey"
    )
    assert (answered.status, answered.answer, answered.answered_by) == (
        "answered",
        "Acute blood loss anemia",
        "Dr. Grey",
    )
    assert answered.recorded_by == intermediate and answered.answered_at is not None
    chart.refresh_from_db()
    assert chart.status == Encounter.Status.QUERY_PENDING
    queries.query_answer(query=second, by=intermediate, answer="Upper GI bleed")
    chart.refresh_from_db()
    assert chart.status == Encounter.Status.CODING
    last = chart.transitions.order_by("-pk").first()
    assert (last.from_status, last.to_status, last.detail) == (
        "query_pending",
        "coding",
        {"query_id": second.pk},
    )


def test_a_multiple_choice_answer_is_one_of_the_options(chart, intermediate):
    query = _send(
        chart,
        intermediate,
        kind=PhysicianQuery.Kind.MULTIPLE_CHOICE,
        options=["Acute blood loss anemia", "Anemia of chronic disease"],
    )
    with pytest.raises(ValidationError):
        queries.query_answer(query=query, by=intermediate, option="Sepsis")
    with pytest.raises(ValidationError, match="specified for Other"):
        queries.query_answer(query=query, by=intermediate, option=queries.OTHER)
    answered = queries.query_answer(
        query=query, by=intermediate, option=queries.OTHER, answer="Dilutional anemia"
    )
    assert answered.answer == "Other: Dilutional anemia"


def test_an_answer_time_in_the_future_is_refused(chart, intermediate):
    query = _send(chart, intermediate)
    later = timezone.now() + timedelta(days=1)
    with pytest.raises(ValidationError, match="future"):
        queries.query_answer(query=query, by=intermediate, answer="x anemia", answered_at=later)


def test_a_query_is_answered_only_once(chart, intermediate):
    query = _send(chart, intermediate)
    queries.query_answer(query=query, by=intermediate, answer="Acute blood loss anemia")
    with pytest.raises(ValidationError, match="already answered"):
        queries.query_answer(query=query, by=intermediate, answer="Something else")


def test_withdrawing_needs_a_reason_and_follows_the_same_rule(chart, intermediate):
    first = _send(chart, intermediate)
    second = _send(chart, intermediate, question="What is the clinical significance of melena?")
    with pytest.raises(ValidationError):
        queries.query_withdraw(query=first, by=intermediate, reason="  ")
    withdrawn = queries.query_withdraw(query=first, by=intermediate, reason="Answered in the DS")
    assert (withdrawn.status, withdrawn.withdrawn_reason) == ("withdrawn", "Answered in the DS")
    chart.refresh_from_db()
    assert chart.status == Encounter.Status.QUERY_PENDING
    queries.query_withdraw(query=second, by=intermediate, reason="Duplicate")
    chart.refresh_from_db()
    assert chart.status == Encounter.Status.CODING


def test_the_drg_as_coded_is_kept_with_the_query(chart, intermediate):
    assert _send(chart, intermediate).drg_at_send == {}  # no principal diagnosis yet: no DRG
    DiagnosisAssignment.objects.create(
        encounter=chart, code="D62", sequence=1, poa="Y", created_by=intermediate
    )
    query = _send(chart, intermediate, question="What is the clinical significance of the melena?")
    assert query.drg_at_send["drg"] == "812"  # red blood cell disorders without MCC
    assert "at" in query.drg_at_send
