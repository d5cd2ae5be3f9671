"""FHIR R4 Bundle intake: a patient, their encounters and documents, in one transaction.

The bundle's own codes (SNOMED CT, LOINC, ICD-10-CM, ...) become source codes shown for
reference; nothing is ever assigned from them. Parsing and validation are fhir.resources' job
(R4B models, which read R4 content); we only map what coders need.
"""

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db import transaction
from django.utils import timezone
from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError as PydanticValidationError

from accounts.models import User
from encounters import phi, services
from encounters.models import Document, Encounter, Patient, SourceCode

MAX_BUNDLE_BYTES = 20 * 1024 * 1024

ENCOUNTER_CLASS_TYPES = {
    "IMP": Encounter.Type.INPATIENT,
    "ACUTE": Encounter.Type.INPATIENT,
    "NONAC": Encounter.Type.INPATIENT,
    "OBSENC": Encounter.Type.OUTPATIENT,
    "EMER": Encounter.Type.EMERGENCY,
    "AMB": Encounter.Type.OUTPATIENT,
    "SS": Encounter.Type.OUTPATIENT,
    "VR": Encounter.Type.PROFESSIONAL,
    "HH": Encounter.Type.PROFESSIONAL,
}

LOINC_NOTE_TYPES = {
    "34117-2": Document.NoteType.HISTORY_AND_PHYSICAL,
    "11506-3": Document.NoteType.PROGRESS,
    "18842-5": Document.NoteType.DISCHARGE_SUMMARY,
    "11504-8": Document.NoteType.OPERATIVE,
    "28570-0": Document.NoteType.OPERATIVE,
    "18748-4": Document.NoteType.RADIOLOGY,
    "11502-2": Document.NoteType.LAB,
    "11526-1": Document.NoteType.PATHOLOGY,
}

SEX = {"female": "F", "male": "M"}


class FhirImportError(ValueError):
    """The bundle cannot be imported; nothing was written."""


@dataclass
class FhirImportResult:
    patient: Patient
    encounters: list[Encounter] = field(default_factory=list)
    documents: int = 0
    source_codes: int = 0
    skipped_encounters: int = 0
    warnings: list[str] = field(default_factory=list)


def parse_bundle(raw: bytes | str | dict) -> Bundle:
    if isinstance(raw, bytes | str):
        if len(raw) > MAX_BUNDLE_BYTES:
            raise FhirImportError(
                f"The bundle is larger than {MAX_BUNDLE_BYTES // (1024 * 1024)} MB."
            )
        try:
            data = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise FhirImportError(f"The file is not valid JSON: {exc}.") from exc
    else:
        data = raw
    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        found = data.get("resourceType") if isinstance(data, dict) else type(data).__name__
        raise FhirImportError(f"Expected a FHIR R4 Bundle; found {found or 'no resourceType'}.")
    try:
        return Bundle.model_validate(data)
    except PydanticValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise FhirImportError(
            f"The bundle is not valid FHIR R4: {first.get('msg')} at {where or 'the top level'}"
            f" ({exc.error_count()} problem(s) in all)."
        ) from exc


def _ref_id(reference) -> str:
    if reference is None or not reference.reference:
        return ""
    value = reference.reference
    if value.startswith("urn:uuid:"):
        return value.removeprefix("urn:uuid:")
    return value.rsplit("/", 1)[-1]


def _as_date(value) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return timezone.localdate(value) if timezone.is_aware(value) else value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _codings(concept) -> list:
    return list(concept.coding or []) if concept is not None else []


@transaction.atomic
def fhir_bundle_import(*, by: User, raw: bytes | str | dict) -> FhirImportResult:
    """Import one patient's bundle. Re-importing the same encounters skips them."""
    bundle = parse_bundle(raw)
    by_type: dict[str, list] = {}
    for entry in bundle.entry or []:
        if entry.resource is not None:
            by_type.setdefault(entry.resource.get_resource_type(), []).append(entry.resource)
    patients = by_type.get("Patient", [])
    if len(patients) != 1:
        raise FhirImportError(
            f"A bundle must hold exactly one Patient; this one holds {len(patients)}."
        )
    if not by_type.get("Encounter"):
        raise FhirImportError("The bundle holds no Encounter: there is nothing to code.")
    patient = _import_patient(by, patients[0])
    result = FhirImportResult(patient=patient)
    conditions = _group_by_encounter(by_type.get("Condition", []))
    procedures = _group_by_encounter(by_type.get("Procedure", []))
    documents = _group_by_document_encounter(by_type.get("DocumentReference", []))
    for resource in by_type["Encounter"]:
        subject = _ref_id(resource.subject)
        if subject and subject != patients[0].id:
            raise FhirImportError(f"Encounter {resource.id} belongs to another patient.")
        if Encounter.objects.filter(source=Encounter.Source.FHIR, source_id=resource.id).exists():
            result.skipped_encounters += 1
            continue
        encounter = _import_encounter(by, patient, resource, bool(documents.get(resource.id)))
        result.encounters.append(encounter)
        result.source_codes += _import_source_codes(
            encounter, resource, conditions.get(resource.id, []), procedures.get(resource.id, [])
        )
        for document in documents.get(resource.id, []):
            if _import_document(by, encounter, document, result.warnings):
                result.documents += 1
    orphans = sum(len(docs) for enc_id, docs in documents.items() if not enc_id)
    if orphans:
        result.warnings.append(f"{orphans} document(s) name no encounter and were not imported.")
    return result


def _import_patient(by: User, resource) -> Patient:
    mrn = ""
    for identifier in resource.identifier or []:
        codes = [c.code for c in _codings(identifier.type)]
        if "MR" in codes and identifier.value:
            mrn = identifier.value
            break
    mrn = (mrn or resource.id or "").strip()
    if not mrn:
        raise FhirImportError("The Patient has neither a medical record number nor an id.")
    existing = Patient.objects.filter(mrn=mrn).first()
    if existing is not None:
        # Identifiers a later bundle brings are kept (encrypted); blank ones change nothing.
        return phi.patient_set_identifiers(existing, **phi.identifiers_from_fhir(resource))
    name = next((n for n in resource.name or [] if n.use == "official"), None)
    name = name or (resource.name[0] if resource.name else None)
    if name is None or not resource.birthDate:
        raise FhirImportError("The Patient needs a name and a birth date.")
    patient = services.patient_create(
        by=by,
        mrn=mrn[:64],
        first_name=" ".join(name.given or [])[:80] or "(none)",
        last_name=(name.family or "(none)")[:80],
        birth_date=_as_date(resource.birthDate),
        sex=SEX.get(resource.gender or "", "U"),
    )
    return phi.patient_set_identifiers(patient, **phi.identifiers_from_fhir(resource))


def _group_by_encounter(resources: list) -> dict[str, list]:
    grouped: dict[str, list] = {}
    for resource in resources:
        grouped.setdefault(_ref_id(resource.encounter), []).append(resource)
    return grouped


def _group_by_document_encounter(resources: list) -> dict[str, list]:
    grouped: dict[str, list] = {}
    for resource in resources:
        encounters = resource.context.encounter if resource.context else None
        grouped.setdefault(_ref_id(encounters[0]) if encounters else "", []).append(resource)
    return grouped


def _import_encounter(by: User, patient: Patient, resource, has_documents: bool) -> Encounter:
    class_code = resource.class_fhir.code if resource.class_fhir else ""
    period = resource.period
    start = _as_date(period.start) if period else None
    if start is None:
        raise FhirImportError(f"Encounter {resource.id} has no start date.")
    end = _as_date(period.end) if period and period.end else None
    provider = ""
    for participant in resource.participant or []:
        if participant.individual and participant.individual.display:
            provider = participant.individual.display
            break
    kind = ENCOUNTER_CLASS_TYPES.get(class_code, Encounter.Type.OUTPATIENT)
    return services.encounter_create(
        by=by,
        patient=patient,
        type=kind,
        admit_date=start,
        discharge_date=end or (start if kind == Encounter.Type.INPATIENT else None),
        account_number=f"FHIR-{resource.id}"[:64],
        provider=provider[:120],
        payer=patient.coverage,
        due_date=timezone.localdate() + timedelta(days=3),
        status=Encounter.Status.READY if has_documents else Encounter.Status.INTAKE,
        source=Encounter.Source.FHIR,
        source_id=resource.id,
    )


def _import_source_codes(encounter: Encounter, resource, conditions, procedures) -> int:
    rows = []
    for kind, concepts in (
        (SourceCode.Kind.REASON, list(resource.reasonCode or [])),
        (SourceCode.Kind.CONDITION, [c.code for c in conditions]),
        (SourceCode.Kind.PROCEDURE, [p.code for p in procedures]),
    ):
        for concept in concepts:
            for coding in _codings(concept):
                rows.append(
                    SourceCode(
                        encounter=encounter,
                        kind=kind,
                        system=(coding.system or "")[:200],
                        code=(coding.code or "")[:64],
                        display=(coding.display or "")[:300],
                    )
                )
    SourceCode.objects.bulk_create(rows)
    return len(rows)


def _import_document(by: User, encounter: Encounter, resource, warnings: list[str]) -> bool:
    texts = []
    for content in resource.content or []:
        attachment = content.attachment
        kind = (attachment.contentType or "").split(";")[0].strip()
        if kind not in ("text/plain", ""):
            warnings.append(f"Document {resource.id}: {kind} attachments are not imported.")
            continue
        if not attachment.data:
            if attachment.url:
                warnings.append(f"Document {resource.id}: linked attachments are not fetched.")
            continue
        try:
            raw = attachment.data
            texts.append((raw if isinstance(raw, bytes) else base64.b64decode(raw)).decode("utf-8"))
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise FhirImportError(
                f"Document {resource.id}: the attachment is not base64 text."
            ) from exc
    text = "\n\n".join(t.strip("\n") for t in texts if t.strip())
    if not text:
        return False
    codes = [c.code for c in _codings(resource.type)]
    note_type = next(
        (LOINC_NOTE_TYPES[c] for c in codes if c in LOINC_NOTE_TYPES), Document.NoteType.PROGRESS
    )
    title = (resource.type.text if resource.type and resource.type.text else "") or next(
        (c.display for c in _codings(resource.type) if c.display), "Clinical note"
    )
    author = next((a.display for a in resource.author or [] if a.display), "")
    services.document_create(
        by=by,
        encounter=encounter,
        note_type=note_type,
        title=title[:200],
        author=author[:120],
        written_on=_as_date(resource.date) or encounter.admit_date,
        text=text,
        source=Document.Source.FHIR,
        source_id=resource.id or "",
    )
    return True
