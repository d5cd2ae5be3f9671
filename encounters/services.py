"""Writes for patients, encounters, documents, workflow and code assignments.

Every change to an encounter's coding takes the version the coder saw; a stale version is
refused (nothing is overwritten) and the version is bumped on success. Workflow steps and PHI
reads are recorded in the same transaction as the change.
"""

import codecs
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import F, Max, OuterRef, Q, QuerySet, Subquery
from django.db.models.expressions import RawSQL
from django.utils import timezone

from accounts.models import User
from accounts.permissions import Capability, has_capability
from codesets.selectors import code_lookup
from encounters.assist.tasks import queue_document as assist_queue_document
from encounters.models import (
    DiagnosisAssignment,
    Document,
    Encounter,
    Patient,
    ProcedureAssignment,
    Transition,
)
from encounters.workflow import EDITABLE, STEPS


class StaleEdit(Exception):
    """Someone else changed the encounter since this copy was loaded."""

    def __init__(self, encounter: Encounter):
        super().__init__(
            "Someone else saved this encounter since you opened it; your change was not "
            "applied. Reload to see their changes, then make yours again."
        )
        self.encounter = encounter


class WorkflowError(ValidationError):
    pass


# --- intake ---------------------------------------------------------------------------------


@transaction.atomic
def patient_create(
    *,
    by: User,
    mrn: str,
    first_name: str,
    last_name: str,
    birth_date: date,
    sex: str,
    coverage: str = "",
) -> Patient:
    _require(by, Capability.INTAKE_CHARTS)
    patient = Patient(
        mrn=mrn.strip(),
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        birth_date=birth_date,
        sex=sex,
        coverage=coverage.strip(),
    )
    patient.full_clean()
    if birth_date > timezone.localdate():
        raise ValidationError({"birth_date": "The birth date is in the future."})
    patient.save()
    return patient


@transaction.atomic
def encounter_create(
    *,
    by: User,
    patient: Patient,
    type: str,
    admit_date: date,
    discharge_date: date | None = None,
    account_number: str = "",
    provider: str = "",
    payer: str = "",
    due_date: date | None = None,
    discharge_status: str = "01",
    status: str = Encounter.Status.INTAKE,
    source: str = Encounter.Source.MANUAL,
    source_id: str = "",
) -> Encounter:
    _require(by, Capability.INTAKE_CHARTS)
    if discharge_date and discharge_date < admit_date:
        raise ValidationError({"discharge_date": "Discharge is before admission."})
    if type == Encounter.Type.INPATIENT and discharge_date is None:
        raise ValidationError({"discharge_date": "An inpatient stay needs a discharge date."})
    encounter = Encounter(
        patient=patient,
        type=type,
        admit_date=admit_date,
        discharge_date=discharge_date or (None if type == Encounter.Type.INPATIENT else admit_date),
        account_number=account_number.strip() or _next_account_number(),
        provider=provider.strip(),
        payer=payer.strip(),
        due_date=due_date,
        discharge_status=discharge_status,
        status=status,
        source=source,
        source_id=source_id,
    )
    encounter.full_clean()
    encounter.save()
    Transition.objects.create(encounter=encounter, from_status="", to_status=status, by=by)
    from encounters.case_rules import case_flags_refresh

    case_flags_refresh(encounter=encounter)  # at intake only the payer rule can apply
    return encounter


def _next_account_number() -> str:
    return f"ACC-{timezone.now():%Y%m%d%H%M%S%f}"


@transaction.atomic
@transaction.atomic
def encounter_intake(*, by: User, data: Mapping[str, Any]) -> Encounter:
    """Intake of one encounter, with its patient: the patient with the MRN when the last name
    and birth date agree (a clear error otherwise), else a new one; both saved or neither.

    `data` holds the patient fields (mrn, first_name, last_name, birth_date, sex, coverage),
    the encounter fields (type, admit_date, discharge_date, account_number, provider, payer,
    due_date) and optionally the encrypted identifiers (member_id, ssn, phone, address).
    """
    from encounters import phi

    patient = Patient.objects.filter(mrn=data["mrn"].strip()).first()
    if patient is None:
        patient = patient_create(
            by=by,
            mrn=data["mrn"],
            first_name=data["first_name"],
            last_name=data["last_name"],
            birth_date=data["birth_date"],
            sex=data["sex"],
            coverage=data["coverage"],
        )
    elif (
        patient.last_name.lower() != data["last_name"].strip().lower()
        or patient.birth_date != data["birth_date"]
    ):
        raise ValidationError(
            {
                "mrn": "This MRN belongs to another patient (the last name or birth date "
                "differ). Check the MRN."
            }
        )
    if any(name in data for name in phi.ENCRYPTED_FIELDS):
        patient = phi.patient_set_identifiers(
            patient, **{name: data.get(name) or "" for name in phi.ENCRYPTED_FIELDS}
        )
    return encounter_create(
        by=by,
        patient=patient,
        type=data["type"],
        admit_date=data["admit_date"],
        discharge_date=data["discharge_date"],
        account_number=data["account_number"],
        provider=data["provider"],
        payer=data["payer"],
        due_date=data["due_date"],
    )


def document_create(
    *,
    by: User,
    encounter: Encounter,
    note_type: str,
    title: str,
    written_on: date,
    text: str,
    author: str = "",
    source: str = Document.Source.MANUAL,
    source_id: str = "",
) -> Document:
    _require(by, Capability.INTAKE_CHARTS)
    if not text.strip():
        raise ValidationError({"text": "The document has no text."})
    document = Document(
        encounter=encounter,
        note_type=note_type,
        title=title.strip() or Document.NoteType(note_type).label,
        author=author.strip(),
        written_on=written_on,
        text=text,
        source=source,
        source_id=source_id,
        created_by=by,
    )
    document.full_clean()
    document.save()
    assist_queue_document(document.pk)  # the coding assistant reads it once committed
    return document


# --- workflow -------------------------------------------------------------------------------


def transition_record(
    *, encounter: Encounter, to: str, by: User, note: str = "", detail: dict | None = None
) -> Transition:
    """Move a locked encounter one workflow step (caller holds the row lock)."""
    if encounter.is_practice:
        # Practice charts are scored against their answer key (audits.practice), never sent on:
        # no review, complex case, query, audit hold or claim ever takes one.
        raise WorkflowError(
            "A practice chart is scored against its answer key; it does not move through "
            "the workflow or get billed."
        )
    step = (encounter.status, to)
    if step not in STEPS:
        raise WorkflowError(
            f"An encounter that is {encounter.get_status_display().lower()} cannot move to "
            f"{Encounter.Status(to).label.lower()}."
        )
    _require(by, STEPS[step])
    transition = Transition.objects.create(
        encounter=encounter,
        from_status=encounter.status,
        to_status=to,
        by=by,
        note=note,
        detail=detail or {},
    )
    encounter.status = to
    encounter.version += 1
    fields = ["status", "version", "assignee"]
    if to == Encounter.Status.READY and encounter.first_ready_at is None:
        encounter.first_ready_at = transition.at
        fields.append("first_ready_at")
    if to == Encounter.Status.CODED and encounter.first_coded_at is None:
        encounter.first_coded_at = transition.at
        fields.append("first_coded_at")
    first_step = "first_ready_at" in fields or "first_coded_at" in fields
    if first_step and encounter.first_ready_at and encounter.first_coded_at:
        encounter.turnaround_hours = _hours(encounter.first_ready_at, encounter.first_coded_at)
        fields.append("turnaround_hours")
    encounter.save(update_fields=fields)
    return transition


def _hours(start: Any, end: Any) -> float:
    return (end - start).total_seconds() / 3600


def turnaround_steps_backfill(encounters: QuerySet[Encounter] | None = None) -> int:
    """Set first_ready_at / first_coded_at (and turnaround_hours between them) from the
    stored transitions, for rows written without transition_record (bulk loads, imports).
    Returns the rows updated."""

    def first(status: str) -> Subquery:
        return Subquery(
            Transition.objects.filter(encounter=OuterRef("pk"), to_status=status)
            .order_by("at", "pk")
            .values("at")[:1]
        )

    rows = Encounter.objects.all() if encounters is None else encounters
    updated = rows.update(
        first_ready_at=first(Encounter.Status.READY), first_coded_at=first(Encounter.Status.CODED)
    )
    both = rows.filter(first_ready_at__isnull=False, first_coded_at__isnull=False)
    rows.filter(Q(first_ready_at__isnull=True) | Q(first_coded_at__isnull=True)).update(
        turnaround_hours=None
    )
    if connection.vendor == "postgresql":
        # In the database: a bulk load can be 100,000 rows.
        both.update(
            turnaround_hours=RawSQL(
                "EXTRACT(EPOCH FROM (first_coded_at - first_ready_at)) / 3600.0", ()
            )
        )
    else:
        batch = [
            Encounter(pk=pk, turnaround_hours=_hours(ready, coded))
            for pk, ready, coded in both.values_list("pk", "first_ready_at", "first_coded_at")
        ]
        Encounter.with_practice.bulk_update(batch, ["turnaround_hours"], batch_size=2000)
    return updated


@transaction.atomic
def encounter_release_to_queue(*, encounter: Encounter, by: User) -> Encounter:
    locked = _lock(encounter)
    transition_record(encounter=locked, to=Encounter.Status.READY, by=by)
    return locked


@transaction.atomic
def encounter_claim_next(*, by: User) -> Encounter | None:
    """Claim the oldest-due unassigned ready encounter; two coders never get the same one."""
    _require(by, Capability.CODE_ENCOUNTERS)
    candidates = (
        Encounter.objects.select_for_update(skip_locked=True)
        .filter(status=Encounter.Status.READY, assignee__isnull=True)
        .order_by(F("due_date").asc(nulls_last=True), "pk")
    )
    # Lock one row at a time: locking several would hide them all from the next coder.
    for _attempt in range(5):
        encounter = candidates.first()
        if encounter is None:
            return None
        # The conditional update is the real guard on databases without row locks.
        if _take(encounter, by):
            encounter.refresh_from_db()
            transition_record(encounter=encounter, to=Encounter.Status.CODING, by=by)
            return encounter
    return None


@transaction.atomic
def encounter_claim(*, encounter: Encounter, by: User) -> Encounter:
    _require(by, Capability.CODE_ENCOUNTERS)
    locked = _lock(encounter)
    if locked.assignee_id not in (None, by.pk) or not _take(locked, by):
        raise WorkflowError("Another coder has already claimed this encounter.")
    locked.refresh_from_db()
    if locked.status == Encounter.Status.READY:
        transition_record(encounter=locked, to=Encounter.Status.CODING, by=by)
    return locked


def _take(encounter: Encounter, by: User) -> bool:
    return bool(
        Encounter.objects.filter(pk=encounter.pk)
        .filter(Q(assignee__isnull=True) | Q(assignee=by))
        .update(assignee=by)
    )


@transaction.atomic
def encounter_unclaim(*, encounter: Encounter, by: User, version: int) -> Encounter:
    locked = _lock_for_edit(encounter, by, version)
    locked.assignee = None
    transition_record(encounter=locked, to=Encounter.Status.READY, by=by, note="Returned to pool")
    return locked


@dataclass(frozen=True)
class SubmitBlocked(Exception):
    """Error-severity edits stop a submission unless the coder records why they stand."""

    errors: list

    def __str__(self) -> str:
        return (
            f"{len(self.errors)} error edit(s) must be fixed, or an override reason given, "
            "before this encounter can go to review."
        )


@transaction.atomic
def encounter_submit(
    *, encounter: Encounter, by: User, version: int, override_reason: str = ""
) -> Encounter:
    from encounters.coding import encounter_edits

    locked = _lock_for_edit(encounter, by, version)
    if not locked.diagnoses.exists():
        raise WorkflowError("Add at least one diagnosis before submitting.")
    errors = [e for e in encounter_edits(encounter=locked) if e["severity"] == "error"]
    if errors and not override_reason.strip():
        raise SubmitBlocked(errors)
    detail = (
        {"override_reason": override_reason.strip(), "edits_overridden": errors} if errors else {}
    )
    transition_record(
        encounter=locked,
        to=Encounter.Status.REVIEW,
        by=by,
        note=override_reason.strip(),
        detail=detail,
    )
    if locked.type == Encounter.Type.INPATIENT:
        _keep_drg_at_save(locked, by)
    return locked


def _keep_drg_at_save(encounter: Encounter, by: User) -> None:
    """Remember the MS-DRG at this save so the next look shows what changed since."""
    from codesets.drg import DrgError
    from encounters.drg_services import encounter_drg_save

    # A stay that cannot be grouped yet (no principal diagnosis the grouper accepts) is still
    # submitted; the edits and the DRG panel say why.
    with contextlib.suppress(DrgError):
        encounter_drg_save(encounter=encounter, by=by)


@transaction.atomic
def encounter_escalate(*, encounter: Encounter, by: User, version: int, reason: str) -> Encounter:
    if not reason.strip():
        raise ValidationError({"reason": "Say why this encounter is complex."})
    locked = _lock_for_edit(encounter, by, version)
    locked.escalation_reason = reason.strip()
    locked.save(update_fields=["escalation_reason"])
    transition_record(encounter=locked, to=Encounter.Status.COMPLEX, by=by, note=reason.strip())
    return locked


# --- code assignments -----------------------------------------------------------------------


def _lock(encounter: Encounter) -> Encounter:
    # with_practice: a coder's practice copy takes the same code edits; transition_record
    # refuses practice charts any workflow step.
    return (
        Encounter.with_practice.select_for_update().select_related("patient").get(pk=encounter.pk)
    )


def _lock_for_edit(encounter: Encounter, by: User, version: int) -> Encounter:
    _require(by, Capability.CODE_ENCOUNTERS)
    locked = _lock(encounter)
    if locked.version != version:
        raise StaleEdit(locked)
    if locked.status not in EDITABLE:
        raise WorkflowError(
            f"The codes of an encounter that is {locked.get_status_display().lower()} "
            "cannot change."
        )
    if locked.assignee_id not in (None, by.pk) and not has_capability(
        by, Capability.REVIEW_JUNIORS
    ):
        raise PermissionDenied("This encounter is assigned to another coder.")
    return locked


def _bump(encounter: Encounter) -> None:
    from encounters.case_rules import case_flags_refresh

    encounter.version += 1
    encounter.save(update_fields=["version"])
    case_flags_refresh(encounter=encounter)  # the codes changed: so may the complex-case flags


def diagnosis_system_for(encounter: Encounter) -> str:
    return "icd10cm"


def procedure_systems_for(encounter: Encounter) -> list[str]:
    if encounter.type == Encounter.Type.INPATIENT:
        return ["icd10pcs"]
    return ["hcpcs", "cpt"]


def _checked_code(*, system: str, code: str, on: date) -> tuple[str, str]:
    row = code_lookup(system=system, code=code, on=on)
    if row is None:
        raise ValidationError(
            {
                "code": f"{code.strip().upper()} is not an {_SYSTEM_LABELS[system]} code in the "
                f"release in force on {on:%Y-%m-%d}."
            }
        )
    return row.display, row.description


_SYSTEM_LABELS = {"icd10cm": "ICD-10-CM", "icd10pcs": "ICD-10-PCS", "hcpcs": "HCPCS", "cpt": "CPT"}


@transaction.atomic
def diagnosis_add(
    *,
    encounter: Encounter,
    by: User,
    version: int,
    code: str,
    poa: str = "",
    position: int | None = None,
) -> DiagnosisAssignment:
    locked = _lock_for_edit(encounter, by, version)
    display, description = _checked_code(system="icd10cm", code=code, on=locked.date_of_service)
    if locked.diagnoses.filter(code=display).exists():
        raise ValidationError({"code": f"{display} is already on this encounter."})
    _check_poa(locked, poa)
    count = locked.diagnoses.count()
    diagnosis = DiagnosisAssignment.objects.create(
        encounter=locked,
        code=display,
        description=description[:300],
        sequence=count + 1,
        poa=poa,
        created_by=by,
    )
    if position is not None and 1 <= position <= count:
        _move(locked.diagnoses, diagnosis, position)
        diagnosis.refresh_from_db()
    _bump(locked)
    return diagnosis


def _check_poa(encounter: Encounter, poa: str) -> None:
    if poa and poa not in DiagnosisAssignment.Poa.values:
        raise ValidationError({"poa": f"{poa!r} is not a POA indicator (Y, N, U, W or 1)."})
    if poa and encounter.type != Encounter.Type.INPATIENT:
        raise ValidationError({"poa": "POA indicators are reported for inpatient stays only."})


@transaction.atomic
def diagnosis_remove(*, encounter: Encounter, by: User, version: int, diagnosis_id: int) -> None:
    locked = _lock_for_edit(encounter, by, version)
    removed = _line_of(locked.diagnoses, diagnosis_id)
    removed.delete()
    _renumber(locked.diagnoses)
    _bump(locked)


@transaction.atomic
def diagnosis_move(
    *, encounter: Encounter, by: User, version: int, diagnosis_id: int, position: int
) -> None:
    """Put a diagnosis at `position` (1 = principal / first-listed)."""
    locked = _lock_for_edit(encounter, by, version)
    diagnosis = _line_of(locked.diagnoses, diagnosis_id)
    _move(locked.diagnoses, diagnosis, position)
    _bump(locked)


@transaction.atomic
def diagnosis_set_poa(
    *, encounter: Encounter, by: User, version: int, diagnosis_id: int, poa: str
) -> None:
    locked = _lock_for_edit(encounter, by, version)
    _check_poa(locked, poa)
    if not locked.diagnoses.filter(pk=diagnosis_id).update(poa=poa):
        raise ValidationError("That diagnosis is no longer on this encounter.")
    _bump(locked)


def _line_of(assignments, pk: int):
    """One diagnosis or procedure line of the locked encounter, or a clear refusal."""
    line = assignments.filter(pk=pk).first()
    if line is None:
        what = "diagnosis" if assignments.model is DiagnosisAssignment else "procedure"
        raise ValidationError(f"That {what} is no longer on this encounter.")
    return line


def _renumber(assignments) -> None:
    rows = list(assignments.order_by("sequence"))
    _resequence(assignments, rows)


def _move(assignments, item, position: int) -> None:
    rows = [r for r in assignments.order_by("sequence") if r.pk != item.pk]
    position = max(1, min(position, len(rows) + 1))
    rows.insert(position - 1, item)
    _resequence(assignments, rows)


def _resequence(assignments, rows: list) -> None:
    # Two passes keep (encounter, sequence) unique at every step.
    offset = (assignments.aggregate(top=Max("sequence"))["top"] or 0) + len(rows) + 1
    for index, row in enumerate(rows, start=1):
        assignments.filter(pk=row.pk).update(sequence=offset + index)
    for index, row in enumerate(rows, start=1):
        assignments.filter(pk=row.pk).update(sequence=index)


MAX_MODIFIERS = 4


@transaction.atomic
def procedure_add(
    *,
    encounter: Encounter,
    by: User,
    version: int,
    code: str,
    system: str | None = None,
    modifiers: list[str] | None = None,
    units: int = 1,
    performed_on: date | None = None,
    diagnosis_pointers: list[int] | None = None,
) -> ProcedureAssignment:
    locked = _lock_for_edit(encounter, by, version)
    allowed = procedure_systems_for(locked)
    system = system or allowed[0]
    if system not in allowed:
        raise ValidationError(
            {
                "system": f"{_SYSTEM_LABELS[system]} procedures are not reported on "
                f"{locked.get_type_display().lower()} encounters."
            }
        )
    when = performed_on or locked.date_of_service
    if system == "cpt" and not code.strip().isdigit() and len(code.strip()) != 5:
        raise ValidationError({"code": "A CPT code is five characters."})
    if system == "cpt" and code_lookup(system="cpt", code=code, on=when) is None:
        # Without a licensed CPT import we keep the number and no description (AMA licence).
        display, description = code.strip().upper(), ""
    else:
        display, description = _checked_code(system=system, code=code, on=when)
    procedure = ProcedureAssignment(
        encounter=locked,
        system=system,
        code=display,
        description=description[:300],
        sequence=locked.procedures.count() + 1,
        created_by=by,
        performed_on=when,
    )
    _apply_line(procedure, locked, modifiers or [], units, diagnosis_pointers or [])
    procedure.save()
    _bump(locked)
    return procedure


@transaction.atomic
def procedure_update(
    *,
    encounter: Encounter,
    by: User,
    version: int,
    procedure_id: int,
    modifiers: list[str],
    units: int,
    performed_on: date | None,
    diagnosis_pointers: list[int],
) -> ProcedureAssignment:
    locked = _lock_for_edit(encounter, by, version)
    procedure = _line_of(locked.procedures, procedure_id)
    procedure.performed_on = performed_on or locked.date_of_service
    _apply_line(procedure, locked, modifiers, units, diagnosis_pointers)
    procedure.save()
    _bump(locked)
    return procedure


def _apply_line(
    procedure: ProcedureAssignment,
    encounter: Encounter,
    modifiers: list[str],
    units: int,
    pointers: list[int],
) -> None:
    cleaned = [m.strip().upper() for m in modifiers if m and m.strip()]
    if len(cleaned) > MAX_MODIFIERS:
        raise ValidationError({"modifiers": "A line takes at most four modifiers."})
    if any(len(m) != 2 or not m.isalnum() for m in cleaned):
        raise ValidationError({"modifiers": "A modifier is two letters or digits (e.g. 59, LT)."})
    if procedure.system == "icd10pcs" and cleaned:
        raise ValidationError({"modifiers": "ICD-10-PCS codes take no modifiers."})
    if units < 1:
        raise ValidationError({"units": "Units must be at least 1."})
    diagnosis_count = encounter.diagnoses.count()
    if any(p < 1 or p > diagnosis_count for p in pointers):
        raise ValidationError(
            {"diagnosis_pointers": f"Diagnosis pointers must be between 1 and {diagnosis_count}."}
        )
    if len(pointers) > 4:
        raise ValidationError({"diagnosis_pointers": "A line points to at most four diagnoses."})
    procedure.modifiers = cleaned
    procedure.units = units
    procedure.diagnosis_pointers = pointers


@transaction.atomic
def procedure_remove(*, encounter: Encounter, by: User, version: int, procedure_id: int) -> None:
    locked = _lock_for_edit(encounter, by, version)
    removed = _line_of(locked.procedures, procedure_id)
    removed.delete()
    _renumber(locked.procedures)
    _bump(locked)


@transaction.atomic
def procedure_move(
    *, encounter: Encounter, by: User, version: int, procedure_id: int, position: int
) -> None:
    locked = _lock_for_edit(encounter, by, version)
    procedure = _line_of(locked.procedures, procedure_id)
    _move(locked.procedures, procedure, position)
    _bump(locked)


@transaction.atomic
def evidence_attach(
    *,
    encounter: Encounter,
    by: User,
    version: int,
    kind: str,
    assignment_id: int,
    document_id: int,
    start: int,
    end: int,
) -> None:
    """Link a code to the passage of a document that supports it (offsets into its text)."""
    locked = _lock_for_edit(encounter, by, version)
    assignments = locked.diagnoses if kind == "diagnosis" else locked.procedures
    assignment = assignments.filter(pk=assignment_id).first()
    if assignment is None:
        raise ValidationError("That code is no longer on this encounter.")
    document = locked.documents.filter(pk=document_id).first()
    if document is None:
        raise ValidationError("That document is not part of this encounter.")
    if not (0 <= start < end <= len(document.text)):
        raise ValidationError("The selected passage is outside the document.")
    if end - start > 2000:
        raise ValidationError("Select a passage of at most 2,000 characters.")
    assignment.evidence_document = document
    assignment.evidence_start = start
    assignment.evidence_end = end
    assignment.evidence_quote = document.text[start:end]
    assignment.save(
        update_fields=["evidence_document", "evidence_start", "evidence_end", "evidence_quote"]
    )
    _bump(locked)


def _require(user: User, capability: Capability) -> None:
    if not has_capability(user, capability):
        raise PermissionDenied(f"Your role cannot {capability.value.replace('_', ' ')}.")


# --- uploads --------------------------------------------------------------------------------

PDF_MAGIC = b"%PDF-"


def _extract_text(name: str, content: bytes) -> tuple[str, str]:
    """(text, content type) of an uploaded plain-text or PDF document, or a clear refusal."""
    if content.startswith(PDF_MAGIC):
        from io import BytesIO

        from pypdf import PdfReader
        from pypdf.errors import PdfReadError

        try:
            reader = PdfReader(BytesIO(content))
            text = "\n\n".join((page.extract_text() or "").strip() for page in reader.pages)
        except (PdfReadError, ValueError, KeyError) as exc:
            raise ValidationError({"file": f"{name} is not a readable PDF ({exc})."}) from exc
        if not text.strip():
            raise ValidationError(
                {"file": f"{name} has no text layer (a scanned image?); paste the text instead."}
            )
        return text, "application/pdf"
    # Windows editors save "Unicode" text as UTF-16 with a byte-order mark: it is text, though
    # full of NUL bytes.
    if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return content.decode("utf-16"), "text/plain"
        except UnicodeDecodeError as exc:
            raise ValidationError({"file": f"{name} is not readable text."}) from exc
    if b"\x00" in content[:4096]:
        raise ValidationError({"file": f"{name} is neither plain text nor PDF."})
    for encoding in ("utf-8-sig", "cp1252"):  # -sig: drop a UTF-8 byte-order mark
        try:
            return content.decode(encoding), "text/plain"
        except UnicodeDecodeError:
            continue
    raise ValidationError({"file": f"{name} is not readable text."})


@transaction.atomic
def document_upload(
    *,
    by: User,
    encounter: Encounter,
    note_type: str,
    title: str,
    written_on: date,
    uploaded,
    author: str = "",
) -> Document:
    """Keep the original file and the text extracted from it."""
    from django.conf import settings

    name = getattr(uploaded, "name", "upload")
    if uploaded.size == 0:
        raise ValidationError({"file": f"{name} is empty."})
    if uploaded.size > settings.DOCUMENT_UPLOAD_MAX_BYTES:
        limit = settings.DOCUMENT_UPLOAD_MAX_BYTES // (1024 * 1024)
        raise ValidationError({"file": f"{name} is larger than the {limit} MB limit."})
    if not name.lower().endswith((".txt", ".text", ".pdf")):
        raise ValidationError({"file": f"{name}: only plain text (.txt) and PDF files are taken."})
    content = uploaded.read()
    text, content_type = _extract_text(name, content)
    if not text.strip():
        raise ValidationError({"file": f"{name} has no text."})
    document = document_create(
        by=by,
        encounter=encounter,
        note_type=note_type,
        title=title or name,
        written_on=written_on,
        text=text,
        author=author,
        source=Document.Source.UPLOAD,
    )
    uploaded.seek(0)
    document.original_file.save(name, uploaded, save=False)
    document.original_name = name[:200]
    document.original_content_type = content_type
    document.save(update_fields=["original_file", "original_name", "original_content_type"])
    return document
