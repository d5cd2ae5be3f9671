"""Browser tests: Playwright for Python driving Debian's chromium against pytest-django's
live server.

Playwright's own browser download does not work on these machines, so the tests launch
/usr/bin/chromium (`make install` installs it with apt when it is missing) and skip, saying
why, when it or the playwright package is absent.

The live server needs a transactional database, and pytest-django empties every table after
each transactional test — the code sets the session loaded once included. So:
- these tests run last in the session (collection reorders them), so nothing after them
  reads the emptied tables;
- between browser tests the flush keeps the code database (`_keep_code_sets`): it empties
  every other table, so a browser test still starts from no users, charts or logs;
- each browser test starts with `code_sets`, which re-imports the bundled releases only if an
  earlier transactional test's flush removed them (once per run at most).
`serialized_rollback` would not help: Django serializes the test database when it is created,
before the session fixture imports the code sets, and serializing ~200k codes is slower than
re-importing them.
"""

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
E2E_DIR = Path(__file__).parent


def pytest_collection_modifyitems(config, items):
    browser_tests = [item for item in items if E2E_DIR in Path(item.path).parents]
    if browser_tests:
        others = [item for item in items if E2E_DIR not in Path(item.path).parents]
        items[:] = others + browser_tests


# Tables a browser test's teardown leaves alone: the code database, and the content types and
# permissions Django would otherwise re-create after every flush.
KEPT_TABLE_PREFIXES = ("codesets_", "django_content_type", "auth_permission")


def _flush_all_but_code_sets(self) -> None:
    from django.db import connections

    for alias in self._databases_names(include_mirrors=False):
        connection = connections[alias]
        tables = [
            table
            for table in connection.introspection.django_table_names(
                only_existing=True, include_views=False
            )
            if not table.startswith(KEPT_TABLE_PREFIXES)
        ]
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # DELETE, not TRUNCATE: kept tables reference users (created_by) by foreign
                # key, and TRUNCATE refuses that even when no row points anywhere.
                cursor.execute("SET session_replication_role = replica")
                for table in tables:
                    cursor.execute(f'DELETE FROM "{table}"')
                cursor.execute("SET session_replication_role = DEFAULT")
            else:
                cursor.execute("PRAGMA foreign_keys = OFF")
                for table in tables:
                    cursor.execute(f'DELETE FROM "{table}"')
                cursor.execute("PRAGMA foreign_keys = ON")


@pytest.fixture(scope="session", autouse=True)
def _keep_code_sets():
    """Browser tests run last; from the first one on, teardown flushes all but the codes."""
    from django.test.testcases import TransactionTestCase

    original = TransactionTestCase._fixture_teardown
    TransactionTestCase._fixture_teardown = _flush_all_but_code_sets
    yield
    TransactionTestCase._fixture_teardown = original


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"Debian chromium is not installed at {CHROMIUM} (make install adds it)")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="the playwright package is not installed (make install)"
    )
    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
    # between browser steps are ordinary synchronous calls, so Django's async guard is relaxed
    # for the browser tests only.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_api.sync_playwright() as playwright:
            launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            yield launched
            launched.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors
    yield page
    context.close()


@pytest.fixture
def code_sets(transactional_db, django_db_blocker):
    """The bundled code sets, re-imported if an earlier browser test's flush removed them."""
    from codesets.models import Release
    from codesets.search import warm_indexes
    from codesets.services import codesets_bootstrap

    if not Release.objects.filter(status=Release.Status.ACTIVE).exists():
        codesets_bootstrap(include_cms=False)
    # The live server runs in this process: build the search indexes before the browser types,
    # so the first search is not the one paying for it (SEARCH_WARM_UP is off in tests).
    warm_indexes()
