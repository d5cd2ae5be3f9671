"""CodiEsp train cases as practice charts: 2018 codes kept, mapped or skipped (and counted),
no principal in the key. Needs /work/shared/data (skips without it)."""

import json

import pytest
from django.core.management import call_command

from audits.models import PracticeCase
from audits.practice import library

pytestmark = pytest.mark.django_db


@pytest.fixture
def codiesp_file():
    path = library.codiesp_path("train")
    if not path.is_file():
        pytest.skip(f"CodiEsp train split not found at {path} (only on the project's machines)")
    return path


def test_codiesp_cases_import_with_codes_mapped_to_todays_release(codiesp_file, capsys):
    call_command("practice", "import-codiesp", "--limit", "3", "--json")
    report = json.loads(capsys.readouterr().out)
    assert report["created"] == 3
    cases = list(PracticeCase.objects.filter(source=PracticeCase.Source.CODIESP))
    assert len(cases) == 3
    gold = {c["id"]: c for c in library.codiesp_cases("train", codiesp_file)}
    for case in cases:
        assert case.answer_key["principal_known"] is False
        assert case.encounter.is_practice and case.encounter.type == "inpatient"
        assert case.encounter.documents.get().text == gold[case.source_ref]["text"]
        # Every key code is a code of the release in force (its description came with it).
        assert case.answer_key["diagnoses"]
        assert all(d["description"] for d in case.answer_key["diagnoses"])
    counted = report["codes_kept"] + report["codes_mapped"] + report["codes_skipped"]
    in_cases = sum(
        len(gold[c.source_ref]["codes"]) + len(gold[c.source_ref]["procedures"]) for c in cases
    )
    assert counted == in_cases
    # CodiEsp's 4-character procedure codes are not full ICD-10-PCS codes: skipped, counted.
    partial = [p for c in cases for p in gold[c.source_ref]["procedures"] if len(p) == 4]
    assert report["codes_skipped"] >= len(partial)

    # Again: the same cases are not imported twice; the next ones come instead.
    call_command("practice", "import-codiesp", "--limit", "2", "--json")
    again = json.loads(capsys.readouterr().out)
    assert (again["created"], again["existing"]) == (2, 3)
    assert PracticeCase.objects.filter(source=PracticeCase.Source.CODIESP).count() == 5


def test_the_demo_import_command_reports_what_it_did(capsys):
    call_command("practice", "import-demo")
    assert "4 case(s) added" in capsys.readouterr().out


def test_the_library_page_queues_the_import_and_the_task_imports(
    codiesp_file, client, senior, django_capture_on_commit_callbacks
):
    from django.urls import reverse

    from audits.tasks import practice_import_codiesp_task
    from tests.conftest import otp_verified

    otp_verified(client, senior)
    with django_capture_on_commit_callbacks() as queued:
        response = client.post(
            reverse("audits:practice_import"), {"source": "codiesp", "limit": "1"}, follow=True
        )
    assert "in the background" in response.content.decode()
    assert len(queued) == 1  # the task is sent once the request commits
    assert not PracticeCase.objects.exists()  # nothing imported inside the request
    result = practice_import_codiesp_task(senior.pk, 1)  # what the worker runs
    assert result["created"] == 1
    assert PracticeCase.objects.filter(source=PracticeCase.Source.CODIESP).count() == 1
