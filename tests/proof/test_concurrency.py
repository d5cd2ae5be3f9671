"""Concurrency proof: real PostgreSQL, real threads lined up on a barrier.

- two coders saving the same encounter at the same version: one save wins, the other is told
  (StaleEdit) and nothing is lost;
- two coders claiming the same chart, or the next chart, at once: never both;
- two imports of one release at once: one release, its rows once.
(Two registrations of one file at once: tests/codesets/test_release_reliability.py.)

Each thread has its own database connection and closes it when done.
"""

import threading
from collections.abc import Callable
from datetime import date

import pytest
from django.db import connection
from django.test import Client

from encounters import services
from encounters.models import Encounter, Transition
from tests.factories import EncounterFactory

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: SQLite serialises every writer (no row locks, no SKIP "
        "LOCKED), and threads cannot share the in-memory SQLite test database",
    ),
    pytest.mark.django_db(transaction=True),
]


def run_at_once(*calls: Callable[[], object]) -> tuple[list, list]:
    """Run the calls in threads released together; (results, errors) in call order."""
    start = threading.Barrier(len(calls))
    results: list = [None] * len(calls)
    errors: list = [None] * len(calls)

    def run(index: int, call: Callable[[], object]) -> None:
        try:
            start.wait(timeout=10)
            results[index] = call()
        except Exception as exc:  # reported by the test, with the thread's own error
            errors[index] = exc
        finally:
            connection.close()  # each thread has its own connection

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a thread is still waiting (deadlock?)"
    return results, errors


# ---------------------------------------------------------------- the same encounter, one version


def test_two_coders_saving_one_encounter_at_one_version_one_wins_nothing_lost(
    code_sets, junior, intermediate
):
    encounter = EncounterFactory(status=Encounter.Status.CODING)
    version = encounter.version

    def add(coder, code: str) -> Callable[[], object]:
        return lambda: services.diagnosis_add(
            encounter=encounter, by=coder, version=version, code=code
        )

    results, errors = run_at_once(add(junior, "E11.9"), add(intermediate, "I10"))

    won = [i for i, e in enumerate(errors) if e is None]
    lost = [i for i, e in enumerate(errors) if e is not None]
    assert len(won) == 1 and len(lost) == 1, errors
    assert isinstance(errors[lost[0]], services.StaleEdit)
    assert "Someone else saved this encounter" in str(errors[lost[0]])
    encounter.refresh_from_db()
    assert encounter.version == version + 1
    assert list(encounter.diagnoses.values_list("code", flat=True)) == [results[won[0]].code]

    # The loser reloads and saves again: both codes are kept.
    loser, code = [(junior, "E11.9"), (intermediate, "I10")][lost[0]]
    services.diagnosis_add(encounter=encounter, by=loser, version=encounter.version, code=code)
    assert sorted(encounter.diagnoses.values_list("code", flat=True)) == ["E11.9", "I10"]


def test_two_workspace_saves_at_one_version_the_loser_reads_the_stale_message(code_sets, junior):
    """The same race through the workspace (HTTP, htmx): the chart open in two tabs (two
    sessions), each adding a code from the version it loaded."""
    encounter = EncounterFactory(status=Encounter.Status.CODING, assignee=junior)
    version = encounter.version
    url = f"/encounters/{encounter.pk}/diagnoses/add/"
    clients = []
    for _tab in range(2):
        client = Client()
        client.force_login(junior)
        clients.append(client)

    def post(client: Client, code: str) -> Callable[[], object]:
        return lambda: client.post(url, {"code": code, "version": version}, HTTP_HX_REQUEST="true")

    results, errors = run_at_once(post(clients[0], "E11.9"), post(clients[1], "I10"))
    assert errors == [None, None]
    assert [r.status_code for r in results] == [200, 200]
    pages = [r.content.decode() for r in results]
    stale = [p for p in pages if "Someone else saved this encounter" in p]
    assert len(stale) == 1
    assert encounter.diagnoses.count() == 1
    encounter.refresh_from_db()
    assert encounter.version == version + 1


# ---------------------------------------------------------------- claiming charts


def test_two_coders_claiming_one_chart_at_once_never_both(junior, intermediate):
    encounter = EncounterFactory(status=Encounter.Status.READY)

    def claim(coder) -> Callable[[], object]:
        return lambda: services.encounter_claim(encounter=encounter, by=coder)

    _results, errors = run_at_once(claim(junior), claim(intermediate))

    assert sum(e is None for e in errors) == 1, errors
    refused = next(e for e in errors if e is not None)
    assert isinstance(refused, services.WorkflowError)
    assert "Another coder has already claimed" in " ".join(refused.messages)
    encounter.refresh_from_db()
    winner = junior if errors[0] is None else intermediate
    assert encounter.assignee == winner
    assert encounter.status == Encounter.Status.CODING
    assert Transition.objects.filter(encounter=encounter, to_status="coding").count() == 1


def test_coders_taking_the_next_chart_at_once_each_get_a_different_one(personas, db):
    from accounts.models import Role
    from accounts.services import user_create

    coders = [personas[Role.JUNIOR], personas[Role.INTERMEDIATE]] + [
        user_create(username=f"coder{n}", password="x-long-enough-pass-1", role=Role.JUNIOR)
        for n in range(2)
    ]
    ready = EncounterFactory.create_batch(3, status=Encounter.Status.READY)

    def take(coder) -> Callable[[], object]:
        return lambda: services.encounter_claim_next(by=coder)

    results, errors = run_at_once(*(take(c) for c in coders))

    assert errors == [None] * 4
    taken = [r.pk for r in results if r is not None]
    assert sorted(taken) == sorted(e.pk for e in ready)  # three charts, three coders
    assert results.count(None) == 1  # the fourth found nothing left, and was not given a taken one
    for encounter, coder in ((r, c) for r, c in zip(results, coders, strict=True) if r):
        encounter.refresh_from_db()
        assert encounter.assignee == coder


# ---------------------------------------------------------------- two imports of one release


def test_two_imports_of_one_release_at_once_write_its_rows_once(cms_data, tmp_path, settings):
    from codesets import services as code_services
    from codesets.models import PtpEdit, Release
    from tests.codesets.test_release_reliability import _ptp_excerpt

    settings.MEDIA_ROOT = tmp_path / "media"
    path = _ptp_excerpt(cms_data, tmp_path, 1_500, "proof")
    release, needs_import = code_services.release_register_file(
        system="ncci-ptp",
        path=path,
        label="PTP proof excerpt",
        effective_from=date(2024, 4, 1),
        setting="practitioner",
    )
    try:
        assert needs_import

        def run_import() -> Callable[[], object]:
            return lambda: code_services.release_import(release_id=release.pk)

        _results, errors = run_at_once(run_import(), run_import())

        assert errors == [None, None]
        release.refresh_from_db()
        assert release.status == Release.Status.IMPORTED, release.error
        assert Release.objects.filter(checksum=release.checksum).count() == 1
        assert release.row_count > 0
        assert PtpEdit.objects.filter(release=release).count() == release.row_count
    finally:
        # The code tables outlive this test (see conftest): remove the excerpt's release.
        Release.objects.filter(pk=release.pk).delete()
