import threading
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone

from accounts.models import Role
from accounts.services import user_create
from encounters import selectors, services
from encounters.models import Encounter
from encounters.selectors import QueueFilters
from tests.factories import EncounterFactory

pytestmark = pytest.mark.django_db


def test_my_queue_lists_my_encounters_and_the_unassigned_pool(junior, intermediate):
    mine = EncounterFactory(assignee=junior, status=Encounter.Status.CODING)
    pool = EncounterFactory()
    EncounterFactory(assignee=intermediate, status=Encounter.Status.CODING)
    EncounterFactory(status=Encounter.Status.BILLED)
    assert set(selectors.encounter_queue_for(user=junior)) == {mine, pool}
    only_pool = selectors.encounter_queue_for(user=junior, filters=QueueFilters(scope="pool"))
    assert list(only_pool) == [pool]


def test_queue_filters_and_sorts(junior):
    today = timezone.localdate()
    late = EncounterFactory(
        type=Encounter.Type.INPATIENT, payer="Aetna", due_date=today + timedelta(days=9)
    )
    soon = EncounterFactory(
        type=Encounter.Type.OUTPATIENT, payer="Medicare", due_date=today + timedelta(days=1)
    )
    assert list(selectors.encounter_queue_for(user=junior)) == [soon, late]
    by_due_desc = selectors.encounter_queue_for(user=junior, filters=QueueFilters(sort="-due"))
    assert list(by_due_desc) == [late, soon]
    inpatient = QueueFilters(type=Encounter.Type.INPATIENT)
    assert list(selectors.encounter_queue_for(user=junior, filters=inpatient)) == [late]
    aetna = QueueFilters(payer="aet")
    assert list(selectors.encounter_queue_for(user=junior, filters=aetna)) == [late]
    due_soon = QueueFilters(due_before=today + timedelta(days=2))
    assert list(selectors.encounter_queue_for(user=junior, filters=due_soon)) == [soon]


def test_next_chart_claims_the_oldest_due_and_records_the_transition(junior):
    today = timezone.localdate()
    EncounterFactory(due_date=today + timedelta(days=5))
    oldest = EncounterFactory(due_date=today + timedelta(days=1))
    claimed = services.encounter_claim_next(by=junior)
    assert claimed == oldest
    assert (claimed.assignee, claimed.status) == (junior, Encounter.Status.CODING)
    step = claimed.transitions.get()
    assert (step.from_status, step.to_status, step.by) == ("ready", "coding", junior)


def test_next_chart_with_an_empty_pool_says_so(junior):
    assert services.encounter_claim_next(by=junior) is None


def test_claiming_an_encounter_someone_else_holds_is_refused(junior, intermediate):
    held = EncounterFactory(assignee=intermediate, status=Encounter.Status.CODING)
    with pytest.raises(ValidationError, match="already claimed"):
        services.encounter_claim(encounter=held, by=junior)


@pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="the in-memory SQLite test database locks whole tables; CI runs this on PostgreSQL",
)
@pytest.mark.django_db(transaction=True)
def test_two_coders_clicking_next_chart_at_once_never_get_the_same_one():
    coders = [
        user_create(username=f"c{i}", password="correct-horse-battery-staple", role=Role.JUNIOR)
        for i in range(2)
    ]
    for _ in range(2):
        EncounterFactory()
    results, errors = [], []
    barrier = threading.Barrier(2)

    def claim(user):
        try:
            barrier.wait(timeout=10)
            results.append(services.encounter_claim_next(by=user))
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(c,)) for c in coders]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    claimed = [r.pk for r in results if r is not None]
    assert len(claimed) == len(set(claimed)) == 2


def test_workflow_refuses_a_step_that_does_not_exist(junior):
    encounter = EncounterFactory(assignee=junior, status=Encounter.Status.CODING)
    with pytest.raises(ValidationError, match="cannot move to billed"):
        services.transition_record(encounter=encounter, to=Encounter.Status.BILLED, by=junior)


def test_escalating_needs_a_reason_and_records_it(junior):
    encounter = EncounterFactory(assignee=junior, status=Encounter.Status.CODING)
    with pytest.raises(ValidationError):
        services.encounter_escalate(encounter=encounter, by=junior, version=1, reason=" ")
    escalated = services.encounter_escalate(
        encounter=encounter, by=junior, version=1, reason="Sepsis with multiple organ failure"
    )
    assert escalated.status == Encounter.Status.COMPLEX
    assert escalated.escalation_reason == "Sepsis with multiple organ failure"
    assert escalated.transitions.last().note == "Sepsis with multiple organ failure"


def test_juniors_cannot_take_reviewer_steps(junior):
    encounter = EncounterFactory(assignee=junior, status=Encounter.Status.REVIEW)
    with pytest.raises(PermissionDenied):
        services.transition_record(encounter=encounter, to=Encounter.Status.CODED, by=junior)


def test_admins_without_a_coder_role_cannot_open_charts(admin_user, junior):
    encounter = EncounterFactory()
    with pytest.raises(PermissionDenied):
        selectors.encounter_get_for(user=admin_user, pk=encounter.pk)
    assert selectors.encounter_get_for(user=junior, pk=encounter.pk) == encounter


def test_a_junior_cannot_open_another_coders_encounter(junior, intermediate):
    theirs = EncounterFactory(assignee=intermediate, status=Encounter.Status.CODING)
    with pytest.raises(PermissionDenied):
        selectors.encounter_get_for(user=junior, pk=theirs.pk)
    assert selectors.encounter_get_for(user=intermediate, pk=theirs.pk) == theirs


def test_opening_a_chart_writes_phi_access_records(junior):
    from accounts.models import PhiAccess
    from tests.factories import DocumentFactory

    document = DocumentFactory()
    encounter = document.encounter
    selectors.chart_open(user=junior, encounter=encounter, documents=[document])
    actions = sorted(PhiAccess.objects.filter(user=junior).values_list("action", flat=True))
    assert actions == ["view_document", "view_encounter"]
    record = PhiAccess.objects.get(action="view_document")
    assert (record.patient_id, record.document_id) == (encounter.patient_id, document.pk)
