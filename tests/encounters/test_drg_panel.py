"""The MS-DRG panel of the coding workspace: who sees it, what it shows, what-if and save."""

import pytest
from django.urls import reverse

from encounters.models import DiagnosisAssignment, Encounter
from tests.codesets.drg_data import drg_weights, drg_weights_release  # noqa: F401
from tests.conftest import PASSWORD
from tests.factories import DocumentFactory, InpatientEncounterFactory

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


def _url(name, encounter):
    return reverse(f"encounters:{name}", kwargs={"pk": encounter.pk})


@pytest.fixture
def stay(intermediate):
    """An inpatient pneumonia stay with an MCC, being coded by the intermediate coder."""
    encounter = InpatientEncounterFactory(assignee=intermediate, status=Encounter.Status.CODING)
    DocumentFactory(encounter=encounter)
    for sequence, code in enumerate(["J18.9", "J96.01", "E87.1"], start=1):
        DiagnosisAssignment.objects.create(
            encounter=encounter, code=code, sequence=sequence, poa="Y", created_by=intermediate
        )
    return encounter


@pytest.fixture
def as_intermediate(client, intermediate):
    client.login(username=intermediate.username, password=PASSWORD)
    return client


def test_the_workspace_has_the_drg_panel_for_an_inpatient_stay(as_intermediate, stay):
    body = as_intermediate.get(_url("workspace", stay)).content.decode()
    assert 'id="drg-panel"' in body
    assert _url("drg_panel", stay) in body


def test_a_junior_gets_no_drg_panel_and_no_drg_urls(client, junior):
    encounter = InpatientEncounterFactory(assignee=junior, status=Encounter.Status.CODING)
    client.login(username=junior.username, password=PASSWORD)
    body = client.get(_url("workspace", encounter)).content.decode()
    assert 'id="drg-panel"' not in body
    assert client.get(_url("drg_panel", encounter)).status_code == 403
    assert client.post(_url("drg_what_if", encounter)).status_code == 403


def test_an_outpatient_workspace_has_no_drg_panel(as_intermediate, intermediate):
    document = DocumentFactory(encounter__assignee=intermediate)
    body = as_intermediate.get(_url("workspace", document.encounter)).content.decode()
    assert 'id="drg-panel"' not in body


@pytest.mark.usefixtures("drg_weights")
def test_the_panel_shows_the_drg_weight_and_cc_mcc(as_intermediate, stay):
    response = as_intermediate.get(_url("drg_panel", stay), **HX)
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-drg="193"' in body
    assert "1.3144" in body
    assert "J96.01" in body and "counted" in body
    assert "No DRG saved for this stay yet." in body


@pytest.mark.usefixtures("drg_weights")
def test_unticking_the_mcc_shows_the_what_if_drg_without_saving(as_intermediate, stay):
    response = as_intermediate.post(
        _url("drg_what_if", stay), {"principal": "J18.9", "keep": ["E87.1"]}, **HX
    )
    body = response.content.decode()
    assert 'data-what-if-drg="194"' in body
    assert "DRG 193 → 194" in body
    assert 'data-drg="193"' in body  # the stay as coded is unchanged
    assert stay.diagnoses.count() == 3


@pytest.mark.usefixtures("drg_weights")
def test_adding_a_procedure_in_the_what_if(as_intermediate, stay):
    response = as_intermediate.post(
        _url("drg_what_if", stay),
        {"principal": "J18.9", "keep": ["J96.01", "E87.1"], "add_procedure": "0BH17EZ"},
        **HX,
    )
    assert response.status_code == 200
    assert "data-what-if-drg=" in response.content.decode()


@pytest.mark.usefixtures("drg_weights")
def test_saving_the_drg_keeps_it_and_later_changes_show_the_difference(as_intermediate, stay):
    response = as_intermediate.post(_url("drg_save", stay), **HX)
    assert "DRG 193 saved." in response.content.decode()
    stay.refresh_from_db()
    assert stay.drg_at_save["drg"] == "193"
    assert stay.drg_at_save["saved_by"] == "mid"
    stay.diagnoses.filter(code="J96.01").delete()
    body = as_intermediate.get(_url("drg_panel", stay), **HX).content.decode()
    assert 'data-drg="194"' in body
    assert 'At the last save: DRG <span class="mono">193</span>' in body
    assert "weight -0.5085" in body
