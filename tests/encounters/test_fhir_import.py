"""FHIR R4 intake on real Synthea resources (from ../shared/data) and on malformed bundles."""

import base64
import gzip
import json

import pytest

from encounters.fhir import FhirImportError, fhir_bundle_import
from encounters.models import Document, Encounter, Patient, SourceCode

pytestmark = pytest.mark.django_db


def _ndjson(folder, name):
    with gzip.open(folder / f"{name}.000.ndjson.gz", "rt") as fh:
        return [json.loads(line) for line in fh]


@pytest.fixture
def synthea(cms_data):
    return cms_data / "notes" / "synthea_fhir_10patients"


def synthea_bundle(folder, encounters: int = 3) -> dict:
    """One real patient's bundle: the patient, their first encounters that have notes, and the
    conditions, procedures and documents of those encounters."""
    patient = _ndjson(folder, "Patient")[0]
    documents = [
        d
        for d in _ndjson(folder, "DocumentReference")
        if d["subject"]["reference"].endswith(patient["id"])
    ]
    wanted = {d["context"]["encounter"][0]["reference"].rsplit("/", 1)[-1] for d in documents}
    chosen = [
        e
        for e in _ndjson(folder, "Encounter")
        if e["id"] in wanted and e["subject"]["reference"].endswith(patient["id"])
    ][:encounters]
    ids = {e["id"] for e in chosen}

    def of_chosen(resource):
        ref = (resource.get("encounter") or {}).get("reference", "")
        return ref.rsplit("/", 1)[-1] in ids

    entries = [patient, *chosen]
    entries += [c for c in _ndjson(folder, "Condition") if of_chosen(c)]
    entries += [p for p in _ndjson(folder, "Procedure") if of_chosen(p)]
    entries += [
        d for d in documents if d["context"]["encounter"][0]["reference"].rsplit("/", 1)[-1] in ids
    ]
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in entries],
    }


def test_a_real_synthea_bundle_becomes_patient_encounters_and_documents(synthea, junior):
    bundle = synthea_bundle(synthea)
    result = fhir_bundle_import(by=junior, raw=json.dumps(bundle))
    assert len(result.encounters) == 3
    assert result.documents == 3
    patient = result.patient
    assert patient.birth_date.year > 1900 and patient.sex in {"F", "M"}
    encounter = result.encounters[0]
    assert encounter.status == Encounter.Status.READY
    document = encounter.documents.get()
    assert document.source == Document.Source.FHIR
    assert "Chief Complaint" in document.text or len(document.text) > 100
    # The bundle's SNOMED codes are kept for reference, never as assigned codes.
    assert SourceCode.objects.filter(encounter__patient=patient).exists()
    assert not encounter.diagnoses.exists()
    assert encounter.transitions.get().to_status == Encounter.Status.READY


def test_reimporting_the_same_bundle_adds_nothing(synthea, junior):
    bundle = synthea_bundle(synthea, encounters=2)
    fhir_bundle_import(by=junior, raw=bundle)
    again = fhir_bundle_import(by=junior, raw=bundle)
    assert again.encounters == []
    assert again.skipped_encounters == 2
    assert Patient.objects.count() == 1
    assert Encounter.objects.count() == 2


def _minimal_bundle(**overrides) -> dict:
    patient = {
        "resourceType": "Patient",
        "id": "p1",
        "birthDate": "1970-02-03",
        "gender": "male",
        "name": [{"family": "Doe", "given": ["John"]}],
        "identifier": [{"type": {"coding": [{"code": "MR"}]}, "value": "MRN-1"}],
    }
    encounter = {
        "resourceType": "Encounter",
        "id": "e1",
        "status": "finished",
        "class": {"code": "IMP"},
        "subject": {"reference": "Patient/p1"},
        "period": {"start": "2026-05-01T08:00:00Z", "end": "2026-05-04T10:00:00Z"},
    }
    document = {
        "resourceType": "DocumentReference",
        "id": "d1",
        "status": "current",
        "type": {"coding": [{"system": "http://loinc.org", "code": "18842-5"}]},
        "subject": {"reference": "Patient/p1"},
        "context": {"encounter": [{"reference": "Encounter/e1"}]},
        "content": [
            {
                "attachment": {
                    "contentType": "text/plain",
                    "data": base64.b64encode(b"Discharge diagnosis: pneumonia.").decode(),
                }
            }
        ],
    }
    condition = {
        "resourceType": "Condition",
        "id": "c1",
        "subject": {"reference": "Patient/p1"},
        "encounter": {"reference": "Encounter/e1"},
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "J18.9"}]},
    }
    resources = {
        "patient": patient,
        "encounter": encounter,
        "document": document,
        "condition": condition,
        **overrides,
    }
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in resources.values() if r is not None],
    }


def test_an_inpatient_bundle_maps_class_dates_and_note_type(junior):
    result = fhir_bundle_import(by=junior, raw=_minimal_bundle())
    encounter = result.encounters[0]
    assert encounter.type == Encounter.Type.INPATIENT
    assert (str(encounter.admit_date), str(encounter.discharge_date)) == (
        "2026-05-01",
        "2026-05-04",
    )
    assert encounter.documents.get().note_type == Document.NoteType.DISCHARGE_SUMMARY
    assert result.patient.mrn == "MRN-1"
    source = encounter.source_codes.get()
    assert (source.code, source.system_name) == ("J18.9", "ICD-10-CM")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"{not json", "not valid JSON"),
        (json.dumps({"resourceType": "Patient"}), "Expected a FHIR R4 Bundle; found Patient"),
        (json.dumps([1, 2]), "Expected a FHIR R4 Bundle"),
        (_minimal_bundle(patient=None), "exactly one Patient"),
        (_minimal_bundle(encounter=None), "holds no Encounter"),
        (
            _minimal_bundle(
                encounter={
                    "resourceType": "Encounter",
                    "id": "e1",
                    "status": "finished",
                    "class": {"code": "IMP"},
                    "period": {"start": "yesterday"},
                }
            ),
            "not valid FHIR R4",
        ),
    ],
)
def test_malformed_bundles_are_refused_and_nothing_is_written(junior, raw, message):
    with pytest.raises(FhirImportError, match=message):
        fhir_bundle_import(by=junior, raw=raw)
    assert Patient.objects.count() == 0
    assert Encounter.objects.count() == 0


def test_a_bad_document_late_in_the_bundle_leaves_nothing_half_imported(junior):
    bad = _minimal_bundle()
    bad["entry"][2]["resource"]["content"][0]["attachment"]["data"] = base64.b64encode(
        b"\xff\xfe\xfa"
    ).decode()
    with pytest.raises(FhirImportError, match="not base64 text"):
        fhir_bundle_import(by=junior, raw=bad)
    assert Patient.objects.count() == 0 and Encounter.objects.count() == 0
