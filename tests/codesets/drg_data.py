"""The CMS Table 5 (MS-DRG weights) release for DRG tests, imported once per run."""

from pathlib import Path

import pytest
from django.conf import settings

from codesets.models import Release


@pytest.fixture(scope="session")
def drg_weights_release(django_db_setup, django_db_blocker) -> Release:
    """Import and activate ../shared/data/msdrg/ms-drg-table5-weights-fy2026.txt once."""
    from codesets import services
    from codesets.importers.cms_manifest import CMS_FILES

    entry = next((e for e in CMS_FILES if e.system == "drg-weights"), None)
    if not Path(settings.CMS_DATA_DIR).is_dir() or entry is None or not entry.path.is_file():
        pytest.skip(f"CMS Table 5 (MS-DRG weights) not found under {settings.CMS_DATA_DIR}")
    with django_db_blocker.unblock():
        release, needs_import = services.release_register_file(
            system=entry.system,
            path=entry.path,
            label=entry.label,
            effective_from=entry.effective_from,
            setting=entry.setting,
        )
        if needs_import:
            release = services.release_import_now(release=release)
        if release.status == Release.Status.IMPORTED:
            release = services.release_activate(release=release)
        assert release.status == Release.Status.ACTIVE, release.error
    return release


@pytest.fixture
def drg_weights(drg_weights_release):
    """Fresh caches: other tests activate releases inside rolled-back transactions."""
    from codesets.drg import forget_weights
    from codesets.edits.releases import forget_active_releases

    forget_active_releases()
    forget_weights()
    yield drg_weights_release
    forget_active_releases()
    forget_weights()
