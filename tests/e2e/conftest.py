"""Browser tests: Playwright for Python driving Debian's chromium against pytest-django's
live server.

Playwright's own browser download does not work on these machines, so the tests launch
/usr/bin/chromium (`make install` installs it with apt when it is missing) and skip, saying
why, when it or the playwright package is absent.

The live server needs a transactional database, and pytest-django empties every table after
each transactional test — the code sets the session loaded once included. So:
- these tests run last in the session (collection reorders them), so nothing after them
  reads the emptied tables;
- each browser test starts with `code_sets`, which re-imports the bundled releases only if a
  previous browser test's flush removed them (about a minute on SQLite; the first browser
  test of a run pays nothing).
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
    from codesets.services import codesets_bootstrap

    if not Release.objects.filter(status=Release.Status.ACTIVE).exists():
        codesets_bootstrap(include_cms=False)
