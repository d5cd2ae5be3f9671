"""The edits engine: one encounter in, a list of edits out (DESIGN.md, "Edits engine").

    from codesets.edits import check, encounter_from_json
    edits = check(encounter_from_json(data))   # [Edit(rule, severity, codes, message, reference)]

Diagnoses are read against the ICD-10-CM release in force on the date of service (discharge
date for inpatient stays, service date otherwise); PCS for inpatient procedures, HCPCS/CPT
for outpatient and professional ones. The Medicare Code Editor runs on inpatient stays, the
Integrated Outpatient Code Editor on outpatient and emergency hospital claims, NCCI PTP/MUE
on professional (practitioner tables) and outpatient/emergency (hospital tables) claims.
"""

from codesets.edits.diagnoses import check_diagnoses
from codesets.edits.encounter import (
    Diagnosis,
    Edit,
    EncounterError,
    EncounterInput,
    Patient,
    Procedure,
    encounter_from_json,
)
from codesets.edits.engines import check_mce, check_oce
from codesets.edits.procedures import check_procedures
from codesets.edits.releases import ActiveReleases

SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}

__all__ = [
    "Diagnosis",
    "Edit",
    "EncounterError",
    "EncounterInput",
    "Patient",
    "Procedure",
    "check",
    "encounter_from_json",
]


def check(encounter: EncounterInput) -> list[Edit]:
    """Every edit for the encounter, errors first, then in the order the rules found them."""
    from codesets.coverage import check_coverage  # imports codesets.selectors: keep it lazy

    releases = ActiveReleases()
    edits = check_diagnoses(encounter, releases)
    edits += check_procedures(encounter, releases)
    edits += check_coverage(encounter)
    if encounter.is_inpatient:
        edits += check_mce(encounter)
    elif encounter.is_outpatient_hospital:
        edits += check_oce(encounter)
    return sorted(edits, key=lambda edit: SEVERITY_ORDER[edit.severity])
