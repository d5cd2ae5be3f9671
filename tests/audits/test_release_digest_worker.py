"""Activating a release makes a real Celery worker publish its digest: the signal after commit,
the receiver queueing the task on commit, the worker process writing the bulletin once.

Like tests/coding_bench/test_celery_worker.py (whose worker fixture this reuses), it needs
PostgreSQL: the worker is another process and must see the committed test data."""

import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import Role
from accounts.services import user_create
from audits.models import Bulletin
from audits.tasks import publish_release_digest_task
from codesets import selectors, services
from codesets.models import Release
from encounters.models import DiagnosisAssignment, Encounter
from tests.coding_bench.test_celery_worker import worker  # noqa: F401 - the fixture
from tests.conftest import PASSWORD
from tests.factories import EncounterFactory

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="a worker process cannot see the in-memory SQLite test database; CI runs this "
        "on PostgreSQL",
    ),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def routed_to(worker):  # noqa: F811 - the imported fixture
    """Send the digest task to this test's worker queue, however it is queued."""
    from coding_bench.celery import app

    previous = app.conf.task_routes
    app.conf.task_routes = {publish_release_digest_task.name: {"queue": worker}}
    app.amqp.flush_routes()
    app.amqp.router = app.amqp.Router()
    yield worker
    app.conf.task_routes = previous
    app.amqp.flush_routes()
    app.amqp.router = app.amqp.Router()


FY2026 = "ICD-10-CM FY2026 April update"


def _fy2026() -> Release:
    release = selectors.release_get_by_label(
        system="icd10cm", label="ICD-10-CM FY2026 April update"
    )
    if release is None or release.status != Release.Status.ACTIVE:
        # An earlier transactional test's flush emptied the code tables.
        services.codesets_bootstrap(include_cms=False)
        release = selectors.release_get_by_label(system="icd10cm", label=FY2026)
    return release


def _wait_for_digest(release: Release, seconds: int = 120) -> Bulletin | None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        digest = Bulletin.objects.filter(release=release).first()
        if digest is not None:
            return digest
        time.sleep(0.5)
    return None


def test_activation_has_the_worker_publish_one_digest(routed_to):
    release = _fy2026()
    coder = user_create(username="coder", password=PASSWORD, role=Role.JUNIOR)
    admitted = timezone.localdate() - timedelta(days=20)
    # Closed: the activation queues no re-check of open encounters beside the digest.
    encounter = EncounterFactory(
        status=Encounter.Status.CLOSED, admit_date=admitted, discharge_date=admitted
    )
    DiagnosisAssignment.objects.create(
        encounter=encounter, code="G35", sequence=1, created_by=coder
    )

    services.release_activate(release=release)
    digest = _wait_for_digest(release)
    assert digest is not None, "the worker published no digest"
    assert [r["code"] for r in digest.detail["not_billable"]] == ["G35"]

    # A redelivered task finds the digest already there.
    publish_release_digest_task.apply_async(args=[release.pk], queue=routed_to)
    publish_release_digest_task.apply_async(args=[release.pk], queue=routed_to)
    time.sleep(5)
    assert Bulletin.objects.filter(release=release).count() == 1
