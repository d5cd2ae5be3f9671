"""Activating a release re-checks the open encounters it affects: the "needs recode" list.

Real data: the bundled ICD-10-CM FY2025 and FY2026 April releases (both active after the
session bootstrap). FY2026 April deleted and revised real codes; encounters carrying them are
flagged, the others are not.
"""

from datetime import date

import pytest
from django.urls import reverse

from codesets.models import Release
from codesets.selectors import release_diff
from codesets.services import release_activate
from encounters import recode
from encounters.models import DiagnosisAssignment, Encounter, RecodeFlag, ReleaseRecheck
from tests.conftest import PASSWORD
from tests.factories import EncounterFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def fy2025():
    return Release.objects.get(system__slug="icd10cm", label="ICD-10-CM FY2025")


@pytest.fixture
def fy2026():
    return Release.objects.get(system__slug="icd10cm", label="ICD-10-CM FY2026 April update")


@pytest.fixture
def changed(fy2025, fy2026):
    """A real billable code FY2026 April deleted, and one whose description it revised."""
    diff = release_diff(old=fy2025, new=fy2026)
    billable = set(
        fy2025.codes.filter(
            billable=True, code__in=[c.replace(".", "") for c in diff["deleted"]]
        ).values_list("display", flat=True)
    )
    deleted = sorted(billable)[0]
    revised = next(c for c in diff["revised"] if "." in c)
    return {"deleted": deleted, "revised": revised}


def _encounter(user, *codes, **fields) -> Encounter:
    encounter = EncounterFactory(**fields)
    for sequence, code in enumerate(codes, start=1):
        DiagnosisAssignment.objects.create(
            encounter=encounter, code=code, sequence=sequence, poa="Y", created_by=user
        )
    return encounter


def test_the_replaced_release_is_the_one_in_force_before(fy2025, fy2026):
    assert recode.release_replaced(release=fy2026) == fy2025
    assert recode.release_replaced(release=fy2025) is None


def test_open_encounters_with_deleted_or_revised_codes_are_flagged_with_the_reason(
    junior, fy2026, changed
):
    deleted = _encounter(junior, changed["deleted"], "I10")
    revised = _encounter(junior, "I10", changed["revised"])
    untouched = _encounter(junior, "I10")

    recheck = recode.recheck_run(release=fy2026)

    assert recheck.status == ReleaseRecheck.Status.DONE
    assert (recheck.total, recheck.done, recheck.flagged) == (2, 2, 2)
    flag = RecodeFlag.objects.get(encounter=deleted)
    assert flag.codes == [changed["deleted"]]
    assert flag.reason == f"{changed['deleted']} deleted by ICD-10-CM FY2026 April update"
    assert isinstance(flag.edits, list)
    assert any(changed["deleted"] in str(e) for e in flag.edits), flag.edits
    flag = RecodeFlag.objects.get(encounter=revised)
    assert flag.reason.startswith(
        f"description of {changed['revised']} revised by ICD-10-CM FY2026 April update"
    )
    assert not RecodeFlag.objects.filter(encounter=untouched).exists()


def test_running_it_again_writes_no_second_flag(junior, fy2026, changed):
    encounter = _encounter(junior, changed["deleted"])
    recode.recheck_run(release=fy2026)
    recode.recheck_run(release=fy2026)
    assert RecodeFlag.objects.filter(encounter=encounter).count() == 1
    assert ReleaseRecheck.objects.get(release=fy2026).flagged == 1


def test_billed_and_earlier_encounters_are_left_alone(junior, fy2026, changed):
    billed = _encounter(junior, changed["deleted"], status=Encounter.Status.BILLED)
    closed = _encounter(junior, changed["deleted"], status=Encounter.Status.CLOSED)
    # Discharged before the release took effect: coded against the release of its date.
    earlier = _encounter(
        junior, changed["deleted"], admit_date=date(2025, 5, 1), discharge_date=date(2025, 5, 2)
    )
    denied = _encounter(junior, changed["deleted"], status=Encounter.Status.DENIED)
    recode.recheck_run(release=fy2026)
    flagged = set(RecodeFlag.objects.values_list("encounter_id", flat=True))
    assert flagged == {denied.pk}
    assert not {billed.pk, closed.pk, earlier.pk} & flagged


def test_batches_cover_every_candidate_once(junior, fy2026, changed, monkeypatch):
    monkeypatch.setattr(recode, "BATCH_SIZE", 2)
    encounters = [_encounter(junior, changed["deleted"]) for _ in range(5)]
    recheck = recode.recheck_run(release=fy2026)
    assert (recheck.total, recheck.done, recheck.flagged) == (5, 5, 5)
    assert set(RecodeFlag.objects.values_list("encounter_id", flat=True)) == {
        e.pk for e in encounters
    }


def test_the_candidate_search_is_one_query_whatever_the_number_of_encounters(
    junior, fy2026, changed, django_assert_num_queries
):
    for _ in range(30):
        _encounter(junior, changed["deleted"], "I10")
    reasons = recode.release_code_reasons(release=fy2026)  # cached once computed
    with django_assert_num_queries(1):
        ids = list(
            recode._candidates(release=fy2026, codes=sorted(reasons)).values_list("pk", flat=True)
        )
    assert len(ids) == 30


def test_activation_queues_the_recheck_through_celery(
    junior, fy2026, changed, django_capture_on_commit_callbacks
):
    from coding_bench.celery import app

    encounter = _encounter(junior, changed["deleted"])
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True  # unit test: the worker tests run real workers
    try:
        with django_capture_on_commit_callbacks(execute=True):
            release_activate(release=fy2026)
    finally:
        app.conf.task_always_eager = eager
    assert RecodeFlag.objects.filter(encounter=encounter, release=fy2026).exists()
    assert ReleaseRecheck.objects.get(release=fy2026).status == ReleaseRecheck.Status.DONE


def test_edit_table_releases_recheck_nothing():
    from codesets.services import code_system_get

    ptp = Release.objects.create(
        system=code_system_get("ncci-ptp"),
        setting="practitioner",
        label="PTP no codes",
        effective_from=date(2026, 7, 1),
        source=Release.Source.FILE,
        source_name="ptp.csv",
        checksum="0" * 64,
        status=Release.Status.IMPORTED,
    )
    assert recode.recheck_queue(release=ptp) is None
    assert recode.release_code_reasons(release=ptp) == {}
    assert not ReleaseRecheck.objects.filter(release=ptp).exists()


# ---------------------------------------------------------------- pages


def _login(client, user):
    client.login(username=user.username, password=PASSWORD)


def test_a_coder_sees_the_flags_with_patient_and_can_resolve_them(client, junior, fy2026, changed):
    encounter = _encounter(junior, changed["deleted"])
    recode.recheck_run(release=fy2026)
    _login(client, junior)
    page = client.get(reverse("encounters:recode_list")).content.decode()
    assert encounter.account_number in page
    assert encounter.patient.last_name in page
    assert "deleted by ICD-10-CM FY2026 April update" in page
    assert "Re-checks after activation" in page
    flag = RecodeFlag.objects.get(encounter=encounter)
    response = client.post(reverse("encounters:recode_resolve", args=[flag.pk]))
    assert response.status_code == 302
    flag.refresh_from_db()
    assert flag.resolved_at is not None and flag.resolved_by == junior
    page = client.get(reverse("encounters:recode_list")).content.decode()
    assert "Nothing needs recoding" in page


def test_a_flag_clears_itself_once_the_codes_are_fixed(client, junior, fy2026, changed):
    encounter = _encounter(junior, changed["deleted"])
    recode.recheck_run(release=fy2026)
    DiagnosisAssignment.objects.filter(encounter=encounter, code=changed["deleted"]).update(
        code="I10"
    )
    _login(client, junior)
    page = client.get(reverse("encounters:recode_list")).content.decode()
    assert "Codes fixed" in page
    assert RecodeFlag.objects.get(encounter=encounter).resolved_at is not None


def test_an_admin_sees_codes_and_reasons_but_no_chart_content(
    client, junior, admin_user, fy2026, changed
):
    encounter = _encounter(junior, changed["deleted"])
    recode.recheck_run(release=fy2026)
    _login(client, admin_user)
    response = client.get(reverse("encounters:recode_list"))
    page = response.content.decode()
    assert response.status_code == 200
    assert encounter.account_number in page
    assert changed["deleted"] in page
    assert encounter.patient.last_name not in page
    assert encounter.patient.first_name not in page
    assert reverse("encounters:workspace", args=[encounter.pk]) not in page
    flag = RecodeFlag.objects.get(encounter=encounter)
    assert client.post(reverse("encounters:recode_resolve", args=[flag.pk])).status_code == 403


def test_a_junior_sees_only_flags_of_encounters_they_may_open(
    client, junior, intermediate, fy2026, changed
):
    theirs = _encounter(junior, changed["deleted"], assignee=intermediate)
    mine = _encounter(junior, changed["deleted"], assignee=junior)
    recode.recheck_run(release=fy2026)
    _login(client, junior)
    page = client.get(reverse("encounters:recode_list")).content.decode()
    assert mine.account_number in page
    assert theirs.account_number not in page
    flag = RecodeFlag.objects.get(encounter=theirs)
    assert client.post(reverse("encounters:recode_resolve", args=[flag.pk])).status_code == 404


def test_the_progress_fragment_answers_htmx(client, junior, fy2026, changed):
    _encounter(junior, changed["deleted"])
    recode.recheck_run(release=fy2026)
    _login(client, junior)
    response = client.get(
        reverse("encounters:recode_list") + "?part=progress", headers={"HX-Request": "true"}
    )
    page = response.content.decode()
    assert 'id="recheck-progress"' in page
    assert "Flagged encounters" not in page
    assert "ICD-10-CM FY2026 April update" in page


def test_the_workspace_shows_an_open_flag(client, junior, fy2026, changed):
    encounter = _encounter(junior, changed["deleted"])
    recode.recheck_run(release=fy2026)
    _login(client, junior)
    page = client.get(reverse("encounters:workspace", args=[encounter.pk])).content.decode()
    assert "Needs recode." in page
    assert f"{changed['deleted']} deleted by ICD-10-CM FY2026 April update" in page
