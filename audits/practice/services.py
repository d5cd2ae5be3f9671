"""Writes for practice charts: the case library (answer keys) and coders' scored attempts.

A case's chart is a practice encounter with no codes (the template); each attempt is the
coder's own copy of it, coded in the normal workspace and then scored against the answer key
with audits.comparison — the same engine as audits. Practice charts never take workflow steps
(encounters.services.transition_record refuses them), so they never reach review, queues,
claims or audit samples.
"""

import re
import secrets
from dataclasses import asdict
from datetime import date, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.permissions import Capability, has_capability
from audits import comparison
from audits.models import PracticeAttempt, PracticeCase
from encounters.models import Document, Encounter, Patient
from encounters.services import StaleEdit

# Fictional names for practice patients: a copied chart never carries a real identity.
FIRST_NAMES = ("Alex", "Robin", "Sam", "Kim", "Jordan", "Casey", "Morgan", "Taylor", "Avery")
LAST_NAMES = ("Practice", "Sample", "Trainee", "Example", "Casebook", "Mockton", "Lesson")


def _require(user: User, capability: Capability) -> None:
    if not has_capability(user, capability):
        raise PermissionDenied(f"Your role cannot {capability.value.replace('_', ' ')}.")


def _token() -> str:
    return secrets.token_hex(5).upper()


def fictional_patient_create(*, sex: str, age: int, on: date) -> Patient:
    """A made-up patient of the given sex and age on `on` (the age matters to the edits)."""
    born = on - timedelta(days=int(age * 365.25) + 1 + secrets.randbelow(300))
    return Patient.with_practice.create(
        mrn=f"PRACTICE-{_token()}",
        first_name=secrets.choice(FIRST_NAMES),
        last_name=secrets.choice(LAST_NAMES),
        birth_date=born,
        sex=sex,
        coverage="Practice",
        is_practice=True,
    )


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
US_DATE = re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b")


def _shift_dates(text: str, shift: timedelta) -> str:
    """Dates written in the text (2026-05-01, 05/01/2026) moved with the chart's dates."""

    def iso(m: re.Match) -> str:
        try:
            return (date(int(m[1]), int(m[2]), int(m[3])) + shift).isoformat()
        except ValueError:
            return m[0]

    def us(m: re.Match) -> str:
        try:
            moved = date(int(m[3]), int(m[1]), int(m[2])) + shift
        except ValueError:
            return m[0]
        return f"{moved.month:02d}/{moved.day:02d}/{moved.year}"

    return US_DATE.sub(us, ISO_DATE.sub(iso, text))


def _scrub(text: str, real: Patient, fake: Patient, shift: timedelta) -> str:
    """A copied document's text without the real patient: dates moved with the chart, names,
    MRN and birth date replaced, other identifiers removed. Best effort: the senior reads the
    copy before coders see it (the case page says so)."""
    text = _shift_dates(text, shift)
    born = real.birth_date + shift  # as the date shift left it in the text
    swaps = {
        real.mrn: fake.mrn,
        real.first_name: fake.first_name,
        real.last_name: fake.last_name,
        born.isoformat(): fake.birth_date.isoformat(),
        born.strftime("%m/%d/%Y"): fake.birth_date.strftime("%m/%d/%Y"),
    }
    for value in (real.ssn, real.phone, real.member_id, *(real.address or "").splitlines()):
        if value and value.strip():
            swaps[value.strip()] = "[removed]"
    for old, new in swaps.items():
        if old and len(old) > 1:
            text = re.sub(rf"(?<!\w){re.escape(old)}(?!\w)", new, text, flags=re.IGNORECASE)
    return text


def _practice_encounter(
    *, like: Encounter, patient: Patient, shift: timedelta, status: str, assignee: User | None
) -> Encounter:
    """A practice encounter with `like`'s facts (dates moved by `shift`), without codes."""
    return Encounter.with_practice.create(
        patient=patient,
        account_number=f"PRACTICE-{_token()}",
        type=like.type,
        admit_date=like.admit_date + shift,
        discharge_date=like.discharge_date + shift if like.discharge_date else None,
        provider=like.provider,
        payer="Practice",
        status=status,
        assignee=assignee,
        discharge_status=like.discharge_status,
        is_practice=True,
    )


def _documents_copy(
    *, source: Encounter, target: Encounter, shift: timedelta, scrub=lambda text: text
) -> None:
    Document.objects.bulk_create(
        Document(
            encounter=target,
            note_type=d.note_type,
            title=scrub(d.title),
            author=d.author,
            written_on=d.written_on + shift,
            text=scrub(d.text),
        )
        for d in source.documents.order_by("written_on", "pk")
    )


# --- answer keys ------------------------------------------------------------------------------


def answer_key_from_coding(coding: dict[str, Any], *, principal_known: bool = True) -> dict:
    """Only the codes of a coding snapshot: the key never carries the source's patient facts."""
    return {
        "diagnoses": [
            {"code": d["code"], "poa": d.get("poa") or "", "description": d.get("description", "")}
            for d in coding.get("diagnoses") or []
        ],
        "procedures": [
            {
                "system": p.get("system", ""),
                "code": p["code"],
                "modifiers": list(p.get("modifiers") or []),
                "units": int(p.get("units") or 1),
                "description": p.get("description", ""),
            }
            for p in coding.get("procedures") or []
        ],
        "principal_known": principal_known,
    }


def _procedure_system(encounter: Encounter, code: str) -> str:
    if encounter.type == Encounter.Type.INPATIENT:
        return "icd10pcs"
    return "hcpcs" if code[:1].isalpha() else "cpt"


def answer_key_parse(*, encounter: Encounter, diagnoses: str, procedures: str) -> dict:
    """An answer key from the case form: one diagnosis a line ("I50.33 Y": code, then POA on
    inpatient stays) and one procedure a line ("25600 LT": code, then modifiers). Each code is
    checked against the release in force on the chart's date of service."""
    from codesets.selectors import code_lookup

    on = encounter.date_of_service
    errors, dx, px = [], [], []
    for line in diagnoses.splitlines():
        parts = line.split()
        if not parts:
            continue
        row = code_lookup(system="icd10cm", code=parts[0], on=on)
        if row is None:
            errors.append(f"{parts[0]} is not an ICD-10-CM code on {on:%Y-%m-%d}.")
            continue
        poa = parts[1].upper() if len(parts) > 1 else ""
        dx.append({"code": row.display, "poa": poa, "description": row.description[:300]})
    for line in procedures.splitlines():
        parts = line.split()
        if not parts:
            continue
        system = _procedure_system(encounter, parts[0])
        row = code_lookup(system=system, code=parts[0], on=on)
        if row is None and system != "cpt":
            errors.append(f"{parts[0]} is not a {system.upper()} code on {on:%Y-%m-%d}.")
            continue
        px.append(
            {
                "system": system,
                "code": row.display if row else parts[0].upper(),
                "modifiers": [m.upper() for m in parts[1:5]],
                "units": 1,
                # CPT descriptions are never shipped: the number only.
                "description": row.description[:300] if row and system != "cpt" else "",
            }
        )
    if errors:
        raise ValidationError(errors)
    if not dx:
        raise ValidationError("An answer key needs at least one diagnosis.")
    return {"diagnoses": dx, "procedures": px}


@transaction.atomic
def practice_case_update(
    *,
    case: PracticeCase,
    by: User,
    title: str,
    diagnoses: str,
    procedures: str,
    teaching_note: str,
    principal_known: bool,
    is_active: bool,
) -> PracticeCase:
    _require(by, Capability.MANAGE_PRACTICE_CASES)
    if not title.strip():
        raise ValidationError("Give the case a title.")
    key = answer_key_parse(encounter=case.encounter, diagnoses=diagnoses, procedures=procedures)
    case.title = title.strip()[:200]
    case.answer_key = {**key, "principal_known": principal_known}
    case.teaching_note = teaching_note.strip()
    case.is_active = is_active
    case.save(update_fields=["title", "answer_key", "teaching_note", "is_active"])
    return case


def practice_case_create(
    *,
    by: User | None,
    title: str,
    source: str,
    source_ref: str,
    template: Encounter,
    answer_key: dict,
    teaching_note: str = "",
) -> PracticeCase:
    return PracticeCase.objects.create(
        title=title[:200],
        encounter=template,
        source=source,
        source_ref=source_ref[:120],
        answer_key=answer_key,
        teaching_note=teaching_note,
        created_by=by,
    )


CODED_STATUSES = (
    Encounter.Status.CODED,
    Encounter.Status.PRE_BILL_AUDIT,
    Encounter.Status.READY_TO_BILL,
    Encounter.Status.BILLED,
    Encounter.Status.DENIED,
    Encounter.Status.CORRECTED,
    Encounter.Status.RESUBMITTED,
    Encounter.Status.CLOSED,
)


@transaction.atomic
def practice_case_from_encounter(
    *, encounter: Encounter, by: User, title: str = "", teaching_note: str = ""
) -> PracticeCase:
    """A practice case from a coded real encounter: its documents on a new practice chart of a
    fictional patient (names, MRN, birth date replaced; dates moved together so the stay ends
    a few days ago), and its current coding as the answer key (editable afterwards)."""
    from audits.services import coding_snapshot

    _require(by, Capability.MANAGE_PRACTICE_CASES)
    if encounter.is_practice:
        raise ValidationError("This is already a practice chart.")
    if encounter.status not in CODED_STATUSES or not encounter.diagnoses.exists():
        raise ValidationError("Only a coded encounter can become a practice case.")
    real = encounter.patient
    shift = (timezone.localdate() - timedelta(days=3)) - encounter.date_of_service
    fake = fictional_patient_create(
        sex=real.sex, age=_age(real.birth_date, encounter.date_of_service), on=timezone.localdate()
    )
    template = _practice_encounter(
        like=encounter, patient=fake, shift=shift, status=Encounter.Status.CODED, assignee=None
    )
    template.provider = "Attending physician"  # the real provider's name is not needed
    template.save(update_fields=["provider"])
    _documents_copy(
        source=encounter, target=template, shift=shift, scrub=lambda t: _scrub(t, real, fake, shift)
    )
    key = answer_key_from_coding(coding_snapshot(encounter))
    return practice_case_create(
        by=by,
        title=title.strip() or f"{encounter.get_type_display()} stay, {len(key['diagnoses'])} dx",
        source=PracticeCase.Source.ENCOUNTER,
        source_ref=f"encounter {encounter.pk}",
        template=template,
        answer_key=key,
        teaching_note=teaching_note.strip(),
    )


# --- attempts ---------------------------------------------------------------------------------


@transaction.atomic
def practice_attempt_start(*, case: PracticeCase, by: User) -> PracticeAttempt:
    """The coder's own copy of the case's chart, assigned to them and open for coding."""
    _require(by, Capability.CODE_ENCOUNTERS)
    if not case.is_active:
        raise ValidationError("This practice case has been withdrawn.")
    template = Encounter.with_practice.select_related("patient").get(pk=case.encounter_id)
    like = template.patient
    # A patient of the attempt's own, so nothing (prior services) links two coders' copies.
    patient = Patient.with_practice.create(
        mrn=f"PRACTICE-{_token()}",
        first_name=like.first_name,
        last_name=like.last_name,
        birth_date=like.birth_date,
        sex=like.sex,
        coverage="Practice",
        is_practice=True,
    )
    copy = _practice_encounter(
        like=template,
        patient=patient,
        shift=timedelta(0),
        status=Encounter.Status.CODING,
        assignee=by,
    )
    _documents_copy(source=template, target=copy, shift=timedelta(0))
    return PracticeAttempt.objects.create(case=case, coder=by, encounter=copy)


def _unsequenced(
    coded: list[dict[str, Any]], key: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Both sides in one order (shared codes first, alphabetically): with no principal in the
    key, the comparison then finds no resequencing to score."""
    shared = {comparison.plain(c["code"]) for c in coded} & {
        comparison.plain(k["code"]) for k in key
    }

    def order(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return sorted(
            lines, key=lambda c: (comparison.plain(c["code"]) not in shared, c["code"].upper())
        )

    return order(coded), order(key)


def practice_score(
    *, submitted: dict[str, Any], key: dict[str, Any], inpatient: bool
) -> comparison.Comparison:
    """The coder's codes against the key, with the audit comparison engine: the coder's side
    is the "original", the key the "audited" (so added = missed, deleted = extra). A key
    without a known principal (CodiEsp) scores neither sequencing nor POA."""
    if key.get("principal_known", True):
        return comparison.compare(submitted, key, inpatient=inpatient)
    dx, key_dx = _unsequenced(submitted.get("diagnoses") or [], key.get("diagnoses") or [])
    px, key_px = _unsequenced(submitted.get("procedures") or [], key.get("procedures") or [])
    return comparison.compare(
        {"diagnoses": dx, "procedures": px},
        {"diagnoses": key_dx, "procedures": key_px},
        inpatient=False,
    )


@transaction.atomic
def practice_attempt_submit(*, encounter: Encounter, by: User, version: int) -> PracticeAttempt:
    """Score the coder's practice copy against the answer key and close the attempt."""
    from audits.services import coding_snapshot

    _require(by, Capability.CODE_ENCOUNTERS)
    locked = (
        Encounter.with_practice.select_for_update()
        .select_related("patient")
        .get(pk=encounter.pk, is_practice=True)
    )
    attempt = (
        PracticeAttempt.objects.select_for_update()
        .select_related("case")
        .filter(encounter=locked)
        .first()
    )
    if attempt is None:
        raise ValidationError("This is a case's own chart: start an attempt to code it.")
    if attempt.coder_id != by.pk:
        raise PermissionDenied("This practice attempt belongs to another coder.")
    if attempt.status != PracticeAttempt.Status.IN_PROGRESS:
        raise ValidationError("This attempt has already been scored; start a new one to retry.")
    if locked.version != version:
        raise StaleEdit(locked)
    if not locked.diagnoses.exists():
        raise ValidationError("Add at least one diagnosis before submitting for scoring.")
    submitted = answer_key_from_coding(coding_snapshot(locked))
    key = attempt.case.answer_key
    result = practice_score(
        submitted=submitted, key=key, inpatient=locked.type == Encounter.Type.INPATIENT
    )
    kinds = comparison.K
    attempt.submitted_coding = submitted
    attempt.codes_agreed = result.codes_agreed
    attempt.codes_total = result.codes_total
    attempt.principal_correct = _principal_correct(submitted, key)
    attempt.missed_codes = [f.audited_code for f in result.findings if f.kind == kinds.ADDED]
    attempt.extra_codes = [f.original_code for f in result.findings if f.kind == kinds.DELETED]
    attempt.differences = [asdict(f) for f in result.findings]
    attempt.status = PracticeAttempt.Status.SCORED
    attempt.scored_at = timezone.now()
    attempt.save()
    # Closed to edits; no workflow step (no Transition row): practice is never counted.
    locked.status = Encounter.Status.CODED
    locked.version += 1
    locked.save(update_fields=["status", "version"])
    return attempt


def _principal_correct(submitted: dict[str, Any], key: dict[str, Any]) -> bool | None:
    if not key.get("principal_known", True):
        return None
    mine = (submitted.get("diagnoses") or [{}])[0].get("code", "")
    theirs = (key.get("diagnoses") or [{}])[0].get("code", "")
    return bool(mine) and comparison.plain(mine) == comparison.plain(theirs)
