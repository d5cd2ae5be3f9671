"""The edits engine, rule by rule: a case that must fire and a close look-alike that must not,
built from the bundled ICD-10-CM/PCS releases and the real CMS HCPCS, modifier, NCCI PTP and
MUE files in settings.CMS_DATA_DIR (loaded once per run)."""

import pytest

from codesets.edits import EncounterError, check, encounter_from_json
from codesets.edits.releases import forget_active_releases

pytestmark = pytest.mark.django_db


@pytest.fixture
def cms(cms_releases):
    return cms_releases


@pytest.fixture(autouse=True)
def fresh_release_list():
    """Other tests activate releases inside rolled-back transactions: re-read the list."""
    forget_active_releases()


def _run(**encounter) -> list[dict]:
    encounter.setdefault("patient", {"age": 50, "sex": "M"})
    if encounter.get("encounter_type") == "inpatient":
        encounter.setdefault("admit_date", "2026-04-10")
        encounter.setdefault("discharge_date", "2026-04-15")
    else:
        encounter.setdefault("service_date", "2026-04-15")
    return [edit.as_dict() for edit in check(encounter_from_json(encounter))]


def _dx(*codes: str, poa: str | None = None) -> list[dict]:
    return [{"code": code, **({"poa": poa} if poa else {})} for code in codes]


def _rules(edits: list[dict], rule: str) -> list[dict]:
    return [edit for edit in edits if edit["rule"] == rule]


def _professional(*codes: str, **extra) -> list[dict]:
    return _run(encounter_type="professional", diagnoses=_dx(*codes), **extra)


# -- the encounter JSON ----------------------------------------------------------------------


def test_an_unknown_top_level_field_is_refused_by_name():
    with pytest.raises(EncounterError, match="unknown field 'dx'"):
        encounter_from_json(
            {"encounter_type": "professional", "service_date": "2026-04-15", "dx": []}
        )


def test_an_unknown_nested_field_is_refused_with_its_path():
    data = {
        "encounter_type": "professional",
        "service_date": "2026-04-15",
        "patient": {"age": 50, "sex": "M"},
        "procedures": [{"system": "cpt", "code": "20610", "modifer": ["59"]}],
    }
    with pytest.raises(EncounterError, match=r"procedures\[0\]: unknown field 'modifer'"):
        encounter_from_json(data)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"encounter_type": "day surgery"}, "encounter_type"),
        ({"service_date": "15/04/2026"}, "service_date"),
        ({"patient": {"sex": "M"}}, "patient"),
        ({"patient": {"age": 50, "sex": "X"}}, "patient.sex"),
        ({"diagnoses": [{"poa": "Y"}]}, r"diagnoses\[0\].code"),
    ],
)
def test_a_bad_value_names_its_field(change, field):
    data = {
        "encounter_type": "professional",
        "service_date": "2026-04-15",
        "patient": {"age": 50, "sex": "M"},
    }
    data.update(change)
    with pytest.raises(EncounterError, match=f"^{field}"):
        encounter_from_json(data)


def test_the_date_of_service_is_the_discharge_date_for_inpatient_stays():
    encounter = encounter_from_json(
        {
            "encounter_type": "inpatient",
            "admit_date": "2026-03-28",
            "discharge_date": "2026-04-02",
            "patient": {"birth_date": "1950-06-01", "sex": "F"},
        }
    )
    assert encounter.date_of_service.isoformat() == "2026-04-02"
    assert encounter.patient.age_on(encounter.date_of_service) == 75


# -- ICD-10-CM tabular rules -----------------------------------------------------------------


def test_invalid_code_fires_for_a_code_no_release_has():
    assert _rules(_professional("E11.99"), "INVALID_CODE")[0]["codes"] == ["E11.99"]
    assert not _rules(_professional("E11.9"), "INVALID_CODE")


def test_not_billable_fires_for_a_category_with_codes_below_it():
    edits = _rules(_professional("E11"), "NOT_BILLABLE")
    assert edits[0]["codes"] == ["E11"]
    assert "E11.0" in edits[0]["message"]
    assert not _rules(_professional("E11.9"), "NOT_BILLABLE")


def test_seventh_character_fires_when_it_is_missing_or_not_allowed():
    missing = _rules(_professional("S52.501"), "SEVENTH_CHARACTER")
    assert missing[0]["codes"] == ["S52.501"]
    assert "A (initial encounter for closed fracture)" in missing[0]["message"]
    assert "S52" in missing[0]["reference"]
    assert _rules(_professional("S52.501Z"), "SEVENTH_CHARACTER")
    edits = _professional("S52.501A")
    assert not _rules(edits, "SEVENTH_CHARACTER")
    assert not _rules(edits, "NOT_BILLABLE")


def test_excludes1_fires_for_type_1_with_type_2_diabetes():
    edits = _rules(_professional("E10.9", "E11.9"), "EXCLUDES1")
    assert len(edits) == 1
    assert set(edits[0]["codes"]) == {"E10.9", "E11.9"}
    assert "type 2 diabetes mellitus (E11.-)" in edits[0]["reference"]
    assert not _rules(_professional("E11.9", "I10"), "EXCLUDES1")


def test_excludes1_reads_a_with_qualifier_instead_of_the_whole_range():
    # G63 excludes "diabetes mellitus (E08-E13 with .42)": E11.42 only, not every diabetes code.
    assert _rules(_professional("E11.42", "G63"), "EXCLUDES1")
    assert not _rules(_professional("E11.9", "G63"), "EXCLUDES1")


def test_code_first_fires_for_a_manifestation_as_principal():
    edits = _rules(_professional("G63", "E85.4"), "CODE_FIRST")
    assert edits[0]["codes"] == ["G63", "E85.4"]
    assert "Code first" in edits[0]["reference"]
    alone = _rules(_professional("G63"), "CODE_FIRST")
    assert alone and alone[0]["codes"] == ["G63"]
    assert not _rules(_professional("E85.4", "G63"), "CODE_FIRST")


def test_use_additional_suggests_the_insulin_code_for_type_2_diabetes():
    edits = _rules(_professional("E11.9"), "USE_ADDITIONAL")
    assert edits[0]["severity"] == "warning"
    assert "Z79.4" in edits[0]["message"]
    assert not _rules(_professional("E11.9", "Z79.4"), "USE_ADDITIONAL")


def test_poa_missing_and_invalid_fire_on_inpatient_stays_only():
    edits = _run(
        encounter_type="inpatient",
        diagnoses=[{"code": "I50.21", "poa": "Y"}, {"code": "E11.9"}, {"code": "I10", "poa": "Q"}],
    )
    assert [e["codes"] for e in _rules(edits, "POA_MISSING")] == [["E11.9"]]
    assert [e["codes"] for e in _rules(edits, "POA_INVALID")] == [["I10"]]
    fine = _run(encounter_type="inpatient", diagnoses=_dx("I50.21", "Z37.0", poa="1"))
    assert not _rules(fine, "POA_MISSING") and not _rules(fine, "POA_INVALID")
    assert not _rules(_professional("E11.9"), "POA_MISSING")


def test_duplicate_code_fires_for_the_same_diagnosis_twice():
    assert _rules(_professional("E11.9", "I10", "E11.9"), "DUPLICATE_CODE")[0]["codes"] == ["E11.9"]
    assert not _rules(_professional("E11.9", "E11.65"), "DUPLICATE_CODE")


def test_code_terminated_tells_deleted_from_not_yet_valid_icd10cm_codes():
    # C50.A0 arrives with the April 2026 update; S30.1XXA is gone from it.
    early = _run(encounter_type="professional", service_date="2026-03-15", diagnoses=_dx("C50.A0"))
    assert "not valid yet" in _rules(early, "CODE_TERMINATED")[0]["message"]
    assert not _rules(_professional("C50.A0"), "CODE_TERMINATED")
    deleted = _rules(_professional("S30.1XXA"), "CODE_TERMINATED")
    assert "deleted" in deleted[0]["message"]
    assert "ICD-10-CM FY2025" in deleted[0]["reference"]


# -- Medicare Code Editor (inpatient) --------------------------------------------------------


def test_mce_age_conflict_fires_for_a_delivery_code_at_seventy():
    old = _run(
        encounter_type="inpatient",
        patient={"age": 70, "sex": "F"},
        diagnoses=_dx("O80", "Z37.0", poa="Y"),
    )
    edit = _rules(old, "MCE_AGE_CONFLICT")[0]
    assert edit["codes"] == ["O80"]
    assert "Medicare Code Editor" in edit["reference"]
    young = _run(
        encounter_type="inpatient",
        patient={"age": 30, "sex": "F"},
        diagnoses=_dx("O80", "Z37.0", poa="Y"),
    )
    assert not [e for e in young if e["rule"].startswith("MCE_")]


def test_mce_sex_conflict_fires_for_a_prostate_code_on_a_woman_before_fy2025():
    # CMS dropped the MCE sex edits from FY2025 on; msdrg still applies them to earlier stays.
    def stay(sex: str) -> list[dict]:
        return _run(
            encounter_type="inpatient",
            admit_date="2024-09-25",
            discharge_date="2024-09-30",
            patient={"age": 60, "sex": sex},
            diagnoses=_dx("N40.0", poa="Y"),
        )

    assert _rules(stay("F"), "MCE_SEX_CONFLICT")[0]["codes"] == ["N40.0"]
    assert not _rules(stay("M"), "MCE_SEX_CONFLICT")


def test_mce_names_the_secondary_code_that_repeats_the_principal():
    edits = _run(encounter_type="inpatient", diagnoses=_dx("I50.21", "E11.9", "I50.21", poa="Y"))
    assert _rules(edits, "MCE_DUPLICATE_OF_PDX")[0]["codes"] == ["I50.21"]
    assert not _rules(
        _run(encounter_type="inpatient", diagnoses=_dx("I50.21", "E11.9", poa="Y")),
        "MCE_DUPLICATE_OF_PDX",
    )


def test_mce_does_not_run_on_outpatient_claims():
    edits = _run(
        encounter_type="professional", patient={"age": 70, "sex": "F"}, diagnoses=_dx("O80")
    )
    assert not [e for e in edits if e["rule"].startswith("MCE_")]


# -- Integrated Outpatient Code Editor (outpatient hospital) ---------------------------------


def _hospital(*procedures: dict, encounter_type: str = "outpatient") -> list[dict]:
    return _run(encounter_type=encounter_type, diagnoses=_dx("M17.11"), procedures=list(procedures))


def test_oce_flags_a_code_opps_does_not_recognise_on_a_hospital_claim():
    edit = _rules(_hospital({"system": "cpt", "code": "99213"}), "OCE_062")[0]
    assert edit["codes"] == ["99213"]
    assert "Integrated Outpatient Code Editor" in edit["reference"]
    assert not _rules(_hospital({"system": "hcpcs", "code": "G0463"}), "OCE_062")


def test_oce_runs_for_emergency_but_not_professional_claims():
    assert _rules(
        _hospital({"system": "cpt", "code": "99213"}, encounter_type="emergency"), "OCE_062"
    )
    professional = _run(
        encounter_type="professional",
        diagnoses=_dx("M17.11"),
        procedures=[{"system": "cpt", "code": "99213"}],
    )
    assert not [e for e in professional if e["rule"].startswith("OCE_")]


# -- HCPCS, modifiers, NCCI ------------------------------------------------------------------


def _lines(*procedures: dict, service_date: str = "2026-04-15") -> list[dict]:
    return _run(
        encounter_type="professional",
        service_date=service_date,
        diagnoses=_dx("M17.11"),
        procedures=list(procedures),
    )


def test_code_terminated_fires_for_a_hcpcs_code_past_its_termination_date(cms):
    edit = _rules(_lines({"system": "hcpcs", "code": "A9155"}), "CODE_TERMINATED")[0]
    assert "2025-03-31" in edit["message"]
    assert "termination date 2025-03-31" in edit["reference"]
    assert not _rules(_lines({"system": "hcpcs", "code": "J1100"}), "CODE_TERMINATED")


def test_code_terminated_fires_for_a_hcpcs_code_not_yet_released(cms):
    # A4295 is new in January 2026: on a December 2025 date the October release is in force.
    early = _lines({"system": "hcpcs", "code": "A4295"}, service_date="2025-12-15")
    assert "not valid yet" in _rules(early, "CODE_TERMINATED")[0]["message"]
    assert not _rules(_lines({"system": "hcpcs", "code": "A4295"}), "CODE_TERMINATED")


def test_invalid_code_fires_for_an_unknown_hcpcs_code(cms):
    assert _rules(_lines({"system": "hcpcs", "code": "A0000"}), "INVALID_CODE")
    assert not _rules(_lines({"system": "hcpcs", "code": "J1100"}), "INVALID_CODE")


def test_modifier_invalid_fires_for_an_unknown_modifier(cms):
    edits = _lines({"system": "hcpcs", "code": "J1100", "modifiers": ["Q9", "ZZ"]})
    assert [e["codes"] for e in _rules(edits, "MODIFIER_INVALID")] == [["J1100", "ZZ"]]
    fine = _lines({"system": "cpt", "code": "20610", "modifiers": ["59", "RT"]})
    assert not _rules(fine, "MODIFIER_INVALID")


@pytest.mark.parametrize(
    ("modifiers", "units", "expected"),
    [
        (["LT", "RT"], 1, "LT (left) and RT (right)"),
        (["50", "RT"], 1, "50 (bilateral) already means both sides"),
        (["50"], 2, "billed with 1 unit"),
        (["26", "TC"], 1, "global service"),
        (["59", "59"], 1, "59 repeated"),
        (["59", "RT", "XU", "76", "77"], 1, "at most 4"),
    ],
)
def test_modifier_conflict_fires_for_contradictory_modifiers(modifiers, units, expected):
    edits = _lines({"system": "cpt", "code": "20610", "modifiers": modifiers, "units": units})
    assert any(expected in e["message"] for e in _rules(edits, "MODIFIER_CONFLICT"))


def test_modifier_conflict_stays_quiet_for_one_side_or_bilateral_alone():
    assert not _rules(
        _lines({"system": "cpt", "code": "20610", "modifiers": ["RT"]}), "MODIFIER_CONFLICT"
    )
    assert not _rules(
        _lines({"system": "cpt", "code": "20610", "modifiers": ["50"]}), "MODIFIER_CONFLICT"
    )


def test_ncci_ptp_with_indicator_1_is_an_error_without_a_modifier(cms):
    edits = _rules(
        _lines({"system": "cpt", "code": "20610"}, {"system": "cpt", "code": "76942"}), "NCCI_PTP"
    )
    assert len(edits) == 1
    edit = edits[0]
    assert edit["severity"] == "error"
    assert edit["codes"] == ["20610", "76942"]
    assert "none is present" in edit["message"]
    assert "modifier indicator 1" in edit["reference"]
    assert "NCCI PTP practitioner" in edit["reference"]


def test_ncci_ptp_with_indicator_1_is_info_when_59_is_present(cms):
    edit = _rules(
        _lines(
            {"system": "cpt", "code": "20610"},
            {"system": "cpt", "code": "76942", "modifiers": ["59"]},
        ),
        "NCCI_PTP",
    )[0]
    assert edit["severity"] == "info"
    assert "59 is present" in edit["message"]


def test_ncci_ptp_with_indicator_0_cannot_be_bypassed(cms):
    edit = _rules(
        _lines(
            {"system": "cpt", "code": "29881"},
            {"system": "cpt", "code": "29877", "modifiers": ["59"]},
        ),
        "NCCI_PTP",
    )[0]
    assert edit["severity"] == "error"
    assert "No modifier can bypass" in edit["message"]


def test_ncci_ptp_needs_both_codes_on_the_same_day(cms):
    edits = _lines(
        {"system": "cpt", "code": "20610", "date": "2026-04-15"},
        {"system": "cpt", "code": "76942", "date": "2026-04-16"},
    )
    assert not _rules(edits, "NCCI_PTP")
    assert not _rules(
        _lines({"system": "cpt", "code": "20610"}, {"system": "cpt", "code": "97110"}), "NCCI_PTP"
    )


def test_mue_fires_above_the_practitioner_value_and_not_at_it(cms):
    over = _rules(_lines({"system": "cpt", "code": "97110", "units": 7}), "MUE")[0]
    assert over["codes"] == ["97110"]
    assert "MUE value 6" in over["reference"]
    assert not _rules(_lines({"system": "cpt", "code": "97110", "units": 6}), "MUE")


def test_mue_adds_up_the_lines_of_one_day_for_a_date_of_service_edit(cms):
    # 20610: MUE 2 per day (adjudication indicator 3): 2 lines of 2 units are 4.
    edits = _lines(
        {"system": "cpt", "code": "20610", "units": 2, "modifiers": ["RT"]},
        {"system": "cpt", "code": "20610", "units": 2, "modifiers": ["LT"]},
    )
    assert _rules(edits, "MUE")


def test_duplicate_code_fires_for_identical_procedure_lines(cms):
    line = {"system": "cpt", "code": "97110"}
    assert _rules(_lines(line, line), "DUPLICATE_CODE")
    assert not _rules(_lines(line, {**line, "modifiers": ["59"]}), "DUPLICATE_CODE")


def test_pcs_codes_are_checked_against_the_pcs_release():
    edits = _run(
        encounter_type="inpatient",
        diagnoses=_dx("K35.80", poa="Y"),
        procedures=[
            {"system": "icd10pcs", "code": "0DTJ4ZZ"},
            {"system": "icd10pcs", "code": "0DTJ4Z"},
        ],
    )
    assert [e["codes"] for e in _rules(edits, "INVALID_CODE")] == [["0DTJ4Z"]]


def test_every_edit_has_the_documented_shape():
    edits = _professional("E11", "E10.9", "E11.9")
    assert edits
    for edit in edits:
        assert list(edit) == ["rule", "severity", "codes", "message", "reference"]
        assert edit["severity"] in {"error", "warning", "info"}
        assert edit["message"] and edit["reference"]
    severities = [e["severity"] for e in edits]
    assert severities == sorted(severities, key=["error", "warning", "info"].index)
