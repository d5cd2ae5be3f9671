"""Fixtures for the proof tests: transactional tests that keep the code database.

Concurrency and backup tests need committed rows (other threads, pg_dump), so they run
transactional; pytest-django would empty every table after each, the code sets loaded once
for the session included. Like the browser tests, they flush all but the code tables, and
re-import the bundled releases only when an earlier transactional test removed them.
"""

import pytest

from tests.e2e.conftest import _flush_all_but_code_sets


@pytest.fixture(scope="module", autouse=True)
def _keep_code_sets():
    """Module scope: in place before pytest-django's function-scoped database fixture, so the
    teardown of each transactional test here empties every table but the code database."""
    from django.test.testcases import TransactionTestCase

    original = TransactionTestCase._fixture_teardown
    TransactionTestCase._fixture_teardown = _flush_all_but_code_sets
    yield
    TransactionTestCase._fixture_teardown = original


@pytest.fixture
def code_sets(transactional_db):
    """The bundled code sets, re-imported if an earlier transactional test flushed them."""
    from codesets.models import Release
    from codesets.services import codesets_bootstrap

    if not Release.objects.filter(status=Release.Status.ACTIVE, system__slug="icd10cm").exists():
        codesets_bootstrap(include_cms=False)
