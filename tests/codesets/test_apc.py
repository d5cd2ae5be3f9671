"""APC for outpatient hospital claims with pyoce: APC, status and payment indicators,
packaging, claim disposition, what-if; and the workspace's APC panel."""

import pytest
from django.urls import reverse

from codesets.apc import ApcError, apc_group, apc_what_if
from codesets.edits import encounter_from_json
from encounters.models import Encounter, ProcedureAssignment
from tests.conftest import PASSWORD
from tests.factories import EncounterFactory, InpatientEncounterFactory

HX = {"HTTP_HX_REQUEST": "true"}


def _visit(*lines, encounter_type="outpatient"):
    return encounter_from_json(
        {
            "encounter_type": encounter_type,
            "service_date": "2026-04-15",
            "patient": {"age": 60, "sex": "M"},
            "diagnoses": [{"code": "M17.11"}],
            "procedures": [{"system": "cpt", "code": code} for code in lines],
        }
    )


def test_a_knee_arthroscopy_gets_its_comprehensive_apc_and_the_venipuncture_is_packaged():
    result = apc_group(_visit("29881", "36415"))
    scope, draw = result.lines
    assert (scope.code, scope.apc, scope.status_indicator, scope.packaged) == (
        "29881",
        "05113",
        "J1",
        False,
    )
    assert "comprehensive APC" in scope.status_words
    assert (draw.status_indicator, draw.payment_indicator, draw.packaged) == ("N", "9", True)
    assert result.disposition == "0"


def test_what_if_leaving_out_the_procedure_shows_the_new_lines():
    before, after = apc_what_if(_visit("29881", "36415"), drop=("29881",), add=("96372",))
    assert [line.code for line in before.lines] == ["29881", "36415"]
    assert [line.code for line in after.lines] == ["36415", "96372"]


def test_apc_is_only_for_outpatient_hospital_claims():
    with pytest.raises(ApcError, match="outpatient hospital"):
        apc_group(_visit("99213", encounter_type="professional"))


@pytest.mark.django_db
def test_the_workspace_panel_shows_apc_lines_for_an_outpatient_claim(client, intermediate):
    encounter = EncounterFactory(assignee=intermediate, status=Encounter.Status.CODING)
    for sequence, code in enumerate(["29881", "36415"], start=1):
        ProcedureAssignment.objects.create(
            encounter=encounter, system="cpt", code=code, sequence=sequence, created_by=intermediate
        )
    client.login(username=intermediate.username, password=PASSWORD)
    page = client.get(reverse("encounters:workspace", kwargs={"pk": encounter.pk}))
    assert 'id="apc-panel"' in page.content.decode()
    body = client.get(reverse("encounters:apc_panel", kwargs={"pk": encounter.pk}), **HX)
    assert 'data-apc="05113"' in body.content.decode()
    what_if = client.post(
        reverse("encounters:apc_what_if", kwargs={"pk": encounter.pk}), {"keep": ["36415"]}, **HX
    )
    assert "data-what-if-apc" in what_if.content.decode()


@pytest.mark.django_db
def test_no_apc_panel_for_a_junior_or_an_inpatient_stay(client, junior, intermediate):
    mine = EncounterFactory(assignee=junior, status=Encounter.Status.CODING)
    client.login(username=junior.username, password=PASSWORD)
    assert (
        'id="apc-panel"'
        not in client.get(reverse("encounters:workspace", kwargs={"pk": mine.pk})).content.decode()
    )
    assert client.get(reverse("encounters:apc_panel", kwargs={"pk": mine.pk})).status_code == 403
    stay = InpatientEncounterFactory(assignee=intermediate, status=Encounter.Status.CODING)
    client.login(username=intermediate.username, password=PASSWORD)
    assert (
        'id="apc-panel"'
        not in client.get(reverse("encounters:workspace", kwargs={"pk": stay.pk})).content.decode()
    )
