"""The bridge from a stored encounter to the edits engine's JSON encounter."""

from typing import Any

from encounters.models import Encounter


def encounter_as_json(encounter: Encounter) -> dict[str, Any]:
    """The encounter in the edits engine's JSON shape (the same as POST /api/v1/edits/check)."""
    patient = encounter.patient
    return {
        "encounter_type": encounter.type,
        "admit_date": encounter.admit_date.isoformat(),
        "discharge_date": encounter.discharge_date.isoformat()
        if encounter.discharge_date
        else None,
        "service_date": encounter.date_of_service.isoformat(),
        "patient": {"birth_date": patient.birth_date.isoformat(), "sex": patient.sex},
        "discharge_status": encounter.discharge_status or "01",
        "diagnoses": [
            {"code": d.code, "poa": d.poa or None} for d in encounter.diagnoses.order_by("sequence")
        ],
        "procedures": [
            {
                "system": p.system,
                "code": p.code,
                "modifiers": list(p.modifiers),
                "units": p.units,
                "date": (p.performed_on or encounter.date_of_service).isoformat(),
            }
            for p in encounter.procedures.order_by("sequence")
        ],
    }


def encounter_edits(*, encounter: Encounter) -> list[dict[str, Any]]:
    from codesets import edits

    found = edits.check(edits.encounter_from_json(encounter_as_json(encounter)))
    return [edit if isinstance(edit, dict) else edit.as_dict() for edit in found]
