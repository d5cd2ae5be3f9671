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


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hashing():
    """A cheap hasher for test users: PBKDF2 costs ~2 s a user on these machines, and the
    hashing itself is Django's, not ours. Production settings are tested in a subprocess."""
    from django.contrib.auth import hashers

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    hashers.get_hashers.cache_clear()
    hashers.get_hashers_by_algorithm.cache_clear()


@pytest.fixture(scope="session", autouse=True)
def _sign_in_steps_off():
    """The test client signs in with client.login / force_login: no second step and no
    lockout by default (django-axes needs a request, which client.login does not pass), even
    for users a test gave a TOTP device. The MFA and lockout tests turn them on with the
    `settings` fixture; `otp_verified` signs in through both steps."""
    settings.MFA_REQUIRED_ROLES = []
    settings.MFA_ENFORCED = False
    settings.AXES_ENABLED = False


def otp_verified(client, user):
    """Sign `user` in on `client` through both steps: password session plus a confirmed TOTP
    device marked as used in this session (django_otp.login), as the code step does."""
    from django.http import HttpRequest
    from django_otp import login as otp_login
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    client.force_login(user)
    request = HttpRequest()
    request.session = client.session
    request.user = user
    otp_login(request, device)
    request.session.save()
    return device


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Import every bundled release into the test database once for the whole run."""
    from codesets.services import codesets_bootstrap

    with django_db_blocker.unblock():
        codesets_bootstrap(include_cms=False)


# The CMS files loaded once per run and kept (committed) for every test that needs them;
# the NCCI PTP tables are the big ones (2.5 M and 1.8 M rows), imported exactly once.
SESSION_CMS_FILES = {
    ("hcpcs", ""),
    ("modifier", ""),
    ("ncci-ptp", "practitioner"),
    ("ncci-ptp", "hospital"),
    ("mue", "practitioner"),
    ("mue", "hospital"),
}


@pytest.fixture(scope="session")
def cms_releases(django_db_setup, django_db_blocker) -> list:
    """Import and activate the real CMS files once for the whole run."""
    from codesets import services
    from codesets.importers.cms_manifest import CMS_FILES
    from codesets.models import Release

    if not Path(settings.CMS_DATA_DIR).is_dir():
        pytest.skip(f"CMS reference data not found at {settings.CMS_DATA_DIR}")
    loaded = []
    with django_db_blocker.unblock():
        for entry in CMS_FILES:
            if (entry.system, entry.setting) not in SESSION_CMS_FILES or not entry.path.is_file():
                continue
            release, needs_import = services.release_register_file(
                system=entry.system,
                path=entry.path,
                label=entry.label,
                effective_from=entry.effective_from,
                setting=entry.setting,
            )
            if needs_import or release.status == Release.Status.PENDING:
                release = services.release_import_now(release=release)
            if release.status == Release.Status.IMPORTED:
                release = services.release_activate(release=release)
            assert release.status == Release.Status.ACTIVE, release.error
            loaded.append(release)
    return loaded


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
