"""The bridge from a stored encounter to the edits engine's JSON encounter."""

from typing import Any

from encounters.models import Encounter, ProcedureAssignment


def encounter_as_json(encounter: Encounter) -> dict[str, Any]:
    """The encounter in the edits engine's JSON shape (the same as POST /api/v1/edits/check)."""
    patient = encounter.patient
    procedures = list(encounter.procedures.order_by("sequence"))
    return {
        "payer": encounter.payer or "",
        "prior_services": _prior_services(encounter, {p.code for p in procedures}),
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
                "diagnosis_pointers": list(p.diagnosis_pointers or []),
            }
            for p in procedures
        ],
    }


def _prior_services(encounter: Encounter, codes: set[str]) -> list[dict[str, str]]:
    """The patient's services of the same codes on other encounters (payer frequency limits),
    in one query; none when no payer is named (only payer coverage rules use them)."""
    if not codes or not encounter.payer:
        return []
    rows = (
        ProcedureAssignment.objects.filter(
            encounter__patient_id=encounter.patient_id, code__in=codes
        )
        .exclude(encounter_id=encounter.pk)
        .values_list("code", "performed_on", "encounter__discharge_date", "encounter__admit_date")
        .order_by("performed_on", "pk")
    )
    return [
        {"code": code, "date": (performed or discharged or admitted).isoformat()}
        for code, performed, discharged, admitted in rows
    ]


def encounter_edits(*, encounter: Encounter) -> list[dict[str, Any]]:
    from codesets import edits

    found = edits.check(edits.encounter_from_json(encounter_as_json(encounter)))
    return [edit if isinstance(edit, dict) else edit.as_dict() for edit in found]
