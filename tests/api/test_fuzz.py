"""Schema-driven fuzzing (schemathesis) of every /api/v1/ operation.

The schema is the one drf-spectacular serves at /api/schema/; requests go through Django's WSGI
handler in-process, signed in with a token of a user who holds every capability (an admin who
is also a senior coder). Path ids point at real objects the user may work on, so the generated
bodies reach the services rather than stopping at a 404. For every response:

- never a 5xx;
- an error is a 4xx whose JSON body says what is wrong ("detail" or field errors);
- a refused write leaves nothing saved (counts and the encounter's version are unchanged).
"""

import json

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, Phase, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error

from accounts.models import Role
from accounts.services import user_create
from audits.models import AuditItem, AuditPlan, Finding
from encounters.models import (
    DiagnosisAssignment,
    Document,
    Encounter,
    Patient,
    PhysicianQuery,
    ProcedureAssignment,
    Review,
)
from tests.factories import DocumentFactory, EncounterFactory

pytestmark = pytest.mark.django_db


def _schema_dict() -> dict:
    # The same generator as /api/schema/; JSON round trip for plain types.
    raw = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(json.dumps(raw, default=str))


schema = schemathesis.openapi.from_dict(_schema_dict())
schema.app = WSGIHandler()
# Uploading a release file stages it on disk and queues a Celery import: slow, and covered by
# tests/api/test_release_api.py with real files.
schema = schema.exclude(path="/api/v1/releases", method="POST")

MAX_EXAMPLES = 10


@pytest.fixture
def world(db):
    """A fuzzing user and one encounter in each state the endpoints act on."""
    user = user_create(
        username="fuzz", password="x" * 20, role=Role.ADMIN, also_coder_role=Role.SENIOR
    )
    coding = EncounterFactory(assignee=user, status=Encounter.Status.CODING)
    document = DocumentFactory(encounter=coding)
    diagnosis = DiagnosisAssignment.objects.create(
        encounter=coding, code="E11.9", description="Type 2 diabetes", sequence=1, created_by=user
    )
    procedure = ProcedureAssignment.objects.create(
        encounter=coding, system="cpt", code="99213", sequence=1, created_by=user
    )
    query = PhysicianQuery.objects.create(
        encounter=coding,
        kind="open",
        provider="Dr. Test",
        question="Please clarify the type of diabetes.",
        clinical_indicators=[{"document_id": document.pk, "start": 0, "end": 10, "quote": "x"}],
        created_by=user,
    )
    coder = user_create(username="fuzzcoder", password="x" * 20, role=Role.JUNIOR)
    audited = EncounterFactory(assignee=coder, status=Encounter.Status.CODED)
    plan = AuditPlan.objects.create(
        name="Fuzz plan",
        kind=AuditPlan.Kind.POST_BILL,
        method=AuditPlan.Method.PER_CODER,
        per_coder=1,
        date_from=audited.admit_date,
        date_to=audited.admit_date,
        seed=1,
        created_by=user,
    )
    plan.auditors.set([user])
    item = AuditItem.objects.create(
        plan=plan,
        encounter=audited,
        coder=coder,
        selection_reason="fuzz",
        original_coding={"diagnoses": [], "procedures": []},
    )
    finding = Finding.objects.create(
        item=item, kind="added", category="missing_code", code_kind="diagnosis"
    )
    token = Token.objects.create(user=user)
    ids = {
        "plan_id": plan.pk,
        "item_id": item.pk,
        "finding_id": finding.pk,
        "release_id": 999_999_999,  # activating or retiring real code sets: test_release_api
        "index": 0,
        "kind": "diagnoses",
        "pk": coding.pk,
        "id": coding.pk,
        "document_id": document.pk,
        "diagnosis_id": diagnosis.pk,
        "procedure_id": procedure.pk,
        "query_id": query.pk,
    }
    # Django's handler closes the database connection around each request; inside the test's
    # transaction that must not happen (the test client does the same).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield {"headers": {"Authorization": f"Token {token.key}"}, "ids": ids, "encounter": coding}
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _snapshot(encounter: Encounter) -> tuple:
    encounter.refresh_from_db()
    return (
        encounter.version,
        encounter.status,
        encounter.assignee_id,
        Patient.objects.count(),
        Encounter.objects.count(),
        Document.objects.count(),
        DiagnosisAssignment.objects.count(),
        ProcedureAssignment.objects.count(),
        PhysicianQuery.objects.filter(status="sent").count(),
        Review.objects.count(),
        AuditPlan.objects.count(),
        AuditItem.objects.count(),
        Finding.objects.count(),
    )


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    database=None,
    # Random generation only: schemathesis's coverage phase adds dozens of boundary examples
    # per operation (minutes in all); the suite must stay fast.
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_no_server_errors_clear_4xx_and_nothing_partial_saved(case, world):
    for name in list(case.path_parameters or {}):
        if name in world["ids"]:
            case.path_parameters[name] = world["ids"][name]
    before = _snapshot(world["encounter"])
    # The current version, so generated bodies get past the stale check to the rules behind it.
    if isinstance(case.body, dict) and "version" in case.body:
        case.body["version"] = before[0]
    if isinstance(case.query, dict) and "version" in case.query:
        case.query["version"] = before[0]
    response = case.call(headers=world["headers"])
    case.validate_response(response, checks=[not_a_server_error], headers=world["headers"])
    assert response.status_code < 500
    if response.status_code >= 400:
        body = response.json()
        assert body and isinstance(body, dict), response.text
        messages = json.dumps(body)
        assert len(messages) > 10, messages  # words, not just a code
        assert _snapshot(world["encounter"]) == before, (case.method, case.path, body)
