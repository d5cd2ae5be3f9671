"""The release digest, with the real bundled ICD-10-CM releases: FY2025 replaced by the FY2026
April update. Codes below are what those two releases really changed:
T78.1XXA deleted, A52.16 revised (Charcot → Charcôt), G35 made a header (G35.A, G35.B0, …
added), E11.A added under E11; I10 unchanged, with nothing new under it. And the real CMS
HCPCS files of October 2025 and January 2026 (skipped without the CMS data folder)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Role
from audits import bulletins
from audits.digests import release_digest_publish
from audits.models import Bulletin
from audits.tasks import publish_release_digest_task
from codesets import selectors, services
from encounters.models import DiagnosisAssignment, Encounter, ProcedureAssignment
from tests.factories import EncounterFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def fy2026():
    release = selectors.release_get_by_label(
        system="icd10cm", label="ICD-10-CM FY2026 April update"
    )
    assert release.status == release.Status.ACTIVE
    return release


def _coded(by, *codes, days_ago=30, practice=False):
    """A closed (billed and done) encounter carrying `codes`: closed, so activating a release
    queues no re-check of open encounters."""
    admitted = timezone.localdate() - timedelta(days=days_ago)
    encounter = EncounterFactory(
        status=Encounter.Status.CLOSED,
        admit_date=admitted,
        discharge_date=admitted,
        is_practice=practice,
        patient__is_practice=practice,
    )
    for sequence, code in enumerate(codes, start=1):
        DiagnosisAssignment.objects.create(
            encounter=encounter, code=code, sequence=sequence, created_by=by
        )
    return encounter


@pytest.fixture
def team_work(junior):
    _coded(junior, "E11.9", "G35", "A52.16")
    _coded(junior, "E11.9", "T78.1XXA")
    _coded(junior, "I10")
    _coded(junior, "S30.1XXA", practice=True)  # deleted, but only on a practice chart
    _coded(junior, "T78.07XA", days_ago=500)  # deleted, but coded too long ago to count


def test_the_digest_lists_what_changed_for_the_codes_the_team_uses(fy2026, team_work):
    digest = release_digest_publish(release_id=fy2026.pk)
    detail = digest.detail
    assert digest.kind == Bulletin.Kind.RELEASE_DIGEST
    assert digest.release == fy2026 and digest.published_by is None
    assert digest.audience_roles == [Role.JUNIOR, Role.INTERMEDIATE, Role.SENIOR]
    assert detail["previous_release"] == "ICD-10-CM FY2025"
    assert detail["codes_in_use"] == 5  # E11.9 G35 A52.16 T78.1XXA I10

    assert [(r["code"], r["uses"]) for r in detail["deleted"]] == [("T78.1XXA", 1)]
    assert [(r["code"], r["before"], r["after"]) for r in detail["revised"]] == [
        ("A52.16", "Charcot's arthropathy (tabetic)", "Charcôt's arthropathy (tabetic)")
    ]
    [g35] = detail["not_billable"]
    assert g35["code"] == "G35" and g35["uses"] == 1
    assert {"G35.A", "G35.B0", "G35.D"} <= set(g35["children"])
    assert all(child.startswith("G35.") for child in g35["children"])  # codes, no headers

    added = {r["code"]: r for r in detail["added"]}
    assert added["E11.A"]["category"] == "E11" and added["E11.A"]["category_uses"] == 2
    assert "G35.A" in added
    categories = {r["category"] for r in detail["added"]}
    assert categories == {"E11", "G35", "T78"}  # not S30 (practice) and nothing under I10
    assert not any(r["code"].startswith(("S30", "T78.07XA")) for r in detail["deleted"])

    assert "`T78.1XXA` (1 encounter)" in digest.body
    assert "under `E11` (2 encounters): `E11.A`" in digest.body


def test_every_coder_gets_the_digest_unread(fy2026, team_work, junior, intermediate, senior):
    digest = release_digest_publish(release_id=fy2026.pk)
    for user in (junior, intermediate, senior):
        assert bulletins.unread_for(user=user).count == 1
        assert list(bulletins.bulletins_for(user=user)) == [digest]


def test_running_it_again_keeps_one_digest(fy2026, team_work):
    first = publish_release_digest_task(fy2026.pk)
    again = publish_release_digest_task(fy2026.pk)
    assert first == again
    assert Bulletin.objects.filter(release=fy2026).count() == 1


def test_when_nothing_used_changed_the_digest_says_so(fy2026, junior):
    _coded(junior, "I10")
    digest = release_digest_publish(release_id=fy2026.pk)
    assert "Nothing changed for the codes the team uses" in digest.body
    assert not any(digest.detail[k] for k in ("deleted", "revised", "not_billable", "added"))


def test_no_digest_without_use_a_predecessor_or_codes_coders_pick(fy2026, junior):
    assert release_digest_publish(release_id=fy2026.pk) is None  # nothing coded yet
    _coded(junior, "G35")
    first = selectors.release_get_by_label(system="icd10cm", label="ICD-10-CM FY2025")
    assert release_digest_publish(release_id=first.pk) is None  # nothing before it
    who = selectors.release_get_by_label(system="icd10who", label="WHO ICD-10 2019")
    assert release_digest_publish(release_id=who.pk) is None  # no coder picks WHO codes
    assert release_digest_publish(release_id=999999) is None
    assert not Bulletin.objects.exists()


def test_activating_a_release_publishes_its_digest(
    fy2026, team_work, django_capture_on_commit_callbacks, monkeypatch
):
    from coding_bench.celery import app

    # The task runs in this process here; tests/audits/test_release_digest_worker.py sends it
    # to a real worker.
    monkeypatch.setattr(app.conf, "task_always_eager", True)
    with django_capture_on_commit_callbacks(execute=True):
        services.release_activate(release=fy2026)
    digest = Bulletin.objects.get(release=fy2026)
    assert digest.detail["deleted"][0]["code"] == "T78.1XXA"


def _hcpcs_releases() -> list:
    """The real CMS HCPCS files of October 2025 and January 2026, imported and activated (found
    by checksum when the session's CMS fixture imported them already)."""
    from codesets.importers.cms_manifest import CMS_FILES
    from codesets.models import Release

    releases = []
    for entry in (e for e in CMS_FILES if e.system == "hcpcs"):
        release, needs_import = services.release_register_file(
            system="hcpcs", path=entry.path, label=entry.label, effective_from=entry.effective_from
        )
        if needs_import or release.status == Release.Status.PENDING:
            release = services.release_import_now(release=release)
        if release.status == Release.Status.IMPORTED:
            release = services.release_activate(release=release)
        releases.append(release)
    return releases


def test_a_hcpcs_digest_uses_hundred_code_ranges(cms_data, junior):
    october, january = _hcpcs_releases()
    encounter = EncounterFactory(
        status=Encounter.Status.CLOSED, admit_date=timezone.localdate() - timedelta(days=10)
    )
    for sequence, code in enumerate(("A2001", "A4290", "J0131"), start=1):
        ProcedureAssignment.objects.create(
            encounter=encounter, system="hcpcs", code=code, sequence=sequence, created_by=junior
        )
    digest = release_digest_publish(release_id=january.pk)
    detail = digest.detail
    assert detail["previous_release_id"] == october.pk
    assert [r["code"] for r in detail["revised"]] == ["A2001"]
    assert detail["revised"][0]["after"].endswith(
        "(add-on, list separately in addition to primary procedure)"
    )
    assert {r["code"] for r in detail["added"]} == {"A4295", "A4296", "A4297", "J0162"}
    assert {r["category"] for r in detail["added"]} == {"A42xx", "J01xx"}
    assert detail["deleted"] == [] and detail["not_billable"] == []
