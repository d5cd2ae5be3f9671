"""Shared fixtures: the real bundled code sets loaded once per run, and one persona per role."""

from pathlib import Path

import pytest
from django.conf import settings

from accounts.models import Role
from accounts.services import user_create

PASSWORD = "correct-horse-battery-staple"


def _is_transactional(item) -> bool:
    marker = item.get_closest_marker("django_db")
    uses_live_server = "live_server" in getattr(item, "fixturenames", ())
    return bool(marker and marker.kwargs.get("transaction")) or uses_live_server


def pytest_collection_modifyitems(config, items):
    """Transactional tests empty every table when they end, the code sets loaded once for the
    session included: they run last (browser tests restore the code sets they need)."""
    items[:] = [i for i in items if not _is_transactional(i)] + [
        i for i in items if _is_transactional(i)
    ]


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Import every bundled release into the test database once for the whole run."""
    from codesets.services import codesets_bootstrap

    with django_db_blocker.unblock():
        codesets_bootstrap(include_cms=False)


@pytest.fixture
def cms_data() -> Path:
    """The folder of real CMS files; tests that need it skip when it is absent."""
    path = Path(settings.CMS_DATA_DIR)
    if not path.is_dir():
        pytest.skip(f"CMS reference data not found at {path} (only on the project's machines)")
    return path


def _persona(username: str, role: str, **extra):
    return user_create(username=username, password=PASSWORD, role=role, **extra)


@pytest.fixture
def junior(db):
    return _persona("jun", Role.JUNIOR, first_name="Jo", last_name="Junior")


@pytest.fixture
def intermediate(db):
    return _persona("mid", Role.INTERMEDIATE, first_name="Ira", last_name="Intermediate")


@pytest.fixture
def senior(db):
    return _persona("sen", Role.SENIOR, first_name="Sam", last_name="Senior")


@pytest.fixture
def admin_user(db):
    return _persona("adm", Role.ADMIN, first_name="Ada", last_name="Admin")


@pytest.fixture
def personas(junior, intermediate, senior, admin_user) -> dict:
    return {
        Role.JUNIOR: junior,
        Role.INTERMEDIATE: intermediate,
        Role.SENIOR: senior,
        Role.ADMIN: admin_user,
    }
