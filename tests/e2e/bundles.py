"""Small, valid FHIR R4 bundles built in code for intake tests (page tests and browser tests)."""

import base64
import json

NOTE = (
    "Chief complaint: follow-up of diabetes.\n"
    "Assessment: type 2 diabetes mellitus without complications, well controlled on metformin.\n"
    "Plan: continue metformin, recheck HbA1c in three months."
)


def diabetes_bundle(*, suffix: str = "1", note: str = NOTE) -> bytes:
    """One patient, one professional visit on 2026-05-04, one Condition, one clinic note."""
    patient_id, encounter_id = f"pat-{suffix}", f"enc-{suffix}"
    entries = [
        {
            "resourceType": "Patient",
            "id": patient_id,
            "identifier": [
                {
                    "type": {"coding": [{"code": "MR"}]},
                    "value": f"E2E-{suffix}",
                }
            ],
            "name": [{"use": "official", "family": "Harper", "given": ["Elena"]}],
            "gender": "female",
            "birthDate": "1961-02-11",
        },
        {
            "resourceType": "Encounter",
            "id": encounter_id,
            "status": "finished",
            "class": {
                "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                "code": "VR",
            },
            "subject": {"reference": f"Patient/{patient_id}"},
            "period": {"start": "2026-05-04T09:00:00Z", "end": "2026-05-04T09:30:00Z"},
            "participant": [{"individual": {"display": "Dr. N. Osei"}}],
        },
        {
            "resourceType": "Condition",
            "id": f"cond-{suffix}",
            "subject": {"reference": f"Patient/{patient_id}"},
            "encounter": {"reference": f"Encounter/{encounter_id}"},
            "code": {
                "coding": [
                    {
                        "system": "http://snomed.info/sct",
                        "code": "44054006",
                        "display": "Diabetes mellitus type 2",
                    }
                ]
            },
        },
        {
            "resourceType": "DocumentReference",
            "id": f"doc-{suffix}",
            "status": "current",
            "type": {
                "coding": [{"system": "http://loinc.org", "code": "11506-3"}],
                "text": "Clinic note",
            },
            "subject": {"reference": f"Patient/{patient_id}"},
            "date": "2026-05-04T10:00:00Z",
            "content": [
                {
                    "attachment": {
                        "contentType": "text/plain",
                        "data": base64.b64encode(note.encode()).decode(),
                    }
                }
            ],
            "context": {"encounter": [{"reference": f"Encounter/{encounter_id}"}]},
        },
    ]
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in entries],
    }
    return json.dumps(bundle).encode()
