"""Claim writes: bill, deny, start a correction, resubmit, save the appeal letter, paid, close.

Each step writes a ClaimEvent and, when the encounter's status moves, one Transition through
`transition_record` (never a second one)."""

from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.permissions import Capability
from encounters.claims.codes import carc_label, carc_parse, rarc_parse
from encounters.claims.versions import _version_create, coding_diff
from encounters.coding import encounter_edits
from encounters.models import Claim, ClaimEvent, Encounter
from encounters.services import StaleEdit, _lock, _require, transition_record

S = Encounter.Status
C = Claim.Status


def _lock_claim(claim: Claim) -> tuple[Claim, Encounter]:
    encounter = _lock(claim.encounter)  # the encounter row first, as every coding write does
    return Claim.objects.select_for_update().get(pk=claim.pk), encounter


def _event(claim: Claim, kind: str, frm: str, by: User, note: str = "", **detail) -> ClaimEvent:
    return ClaimEvent.objects.create(
        claim=claim,
        kind=kind,
        from_status=frm,
        to_status=claim.status,
        by=by,
        note=note,
        detail=detail,
    )


def _amount(value: Any, field_name: str) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value).replace(",", "").replace("$", "").strip())
    except InvalidOperation as exc:
        raise ValidationError({field_name: f"“{value}” is not an amount."}) from exc
    if amount < 0 or amount >= Decimal("1e10"):
        raise ValidationError({field_name: "The amount must be between 0 and 9,999,999,999.99."})
    return amount.quantize(Decimal("0.01"))


def _require_status(claim: Claim, allowed: tuple[str, ...], doing: str) -> None:
    if claim.status not in allowed:
        raise ValidationError(
            f"A claim that is {claim.get_status_display().lower()} cannot be {doing}."
        )


@transaction.atomic
def claim_bill(
    *, encounter: Encounter, by: User, billed_amount: Any = None, payer: str = "", note: str = ""
) -> Claim:
    """Bill an encounter that is ready to bill: the claim, coding version 1, the transition."""
    _require(by, Capability.WORK_DENIALS)
    locked = _lock(encounter)
    if Claim.objects.filter(encounter=locked).exists():
        raise ValidationError("This encounter has already been billed.")
    if locked.status != S.READY_TO_BILL:
        raise ValidationError(
            f"Only encounters that are ready to bill can be billed; this one is "
            f"{locked.get_status_display().lower()}."
        )
    payer = payer.strip() or locked.payer or locked.patient.coverage
    if not payer:
        raise ValidationError({"payer": "Say which payer the claim goes to."})
    amount = _amount(billed_amount, "billed_amount")
    version = _version_create(locked, by, "As billed")
    claim = Claim.objects.create(
        encounter=locked,
        claim_number=f"CLM-{timezone.now():%Y%m%d}-{locked.pk:06d}",
        payer=payer[:120],
        billed_amount=amount,
        billed_at=timezone.now(),
    )
    transition_record(
        encounter=locked,
        to=S.BILLED,
        by=by,
        note=note.strip(),
        detail={"claim": claim.claim_number},
    )
    _event(claim, ClaimEvent.Kind.BILLED, "", by, note.strip(), coding_version=version.number)
    return claim


@transaction.atomic
def claim_deny(
    *,
    claim: Claim,
    by: User,
    carc_codes: str | list[str],
    rarc_codes: str | list[str] | None = None,
    text: str = "",
    denied_on: date | None = None,
) -> Claim:
    """Record the payer's denial; every code is checked before anything is saved."""
    _require(by, Capability.WORK_DENIALS)
    carc = carc_parse(carc_codes)
    rarc = rarc_parse(rarc_codes)
    if not carc:
        raise ValidationError({"carc_codes": "Give at least one CARC from the remittance."})
    if denied_on is not None and denied_on > timezone.localdate():
        raise ValidationError({"denied_on": "The denial date is in the future."})
    claim, encounter = _lock_claim(claim)
    _require_status(claim, (C.BILLED, C.RESUBMITTED), "denied")
    when = timezone.now()
    if denied_on is not None and denied_on != timezone.localdate():
        if denied_on < timezone.localtime(claim.billed_at).date():
            raise ValidationError({"denied_on": "The denial date is before the claim was billed."})
        when = timezone.make_aware(datetime.combine(denied_on, time(12)))
    frm = claim.status
    claim.status, claim.carc_codes, claim.rarc_codes = C.DENIED, carc, rarc
    claim.denial_text, claim.denied_at = text.strip(), when
    claim.save()
    codes = [carc_label(c) for c in carc] + rarc
    transition_record(
        encounter=encounter,
        to=S.DENIED,
        by=by,
        note=" ".join(codes),
        detail={"claim": claim.claim_number, "carc": carc, "rarc": rarc},
    )
    _event(claim, ClaimEvent.Kind.DENIED, frm, by, text.strip(), carc=carc, rarc=rarc)
    return claim


@transaction.atomic
def claim_correction_start(*, claim: Claim, by: User, note: str = "") -> Claim:
    """Denied → corrected: the codes are editable again in the workspace, assigned to `by`."""
    _require(by, Capability.WORK_DENIALS)
    claim, encounter = _lock_claim(claim)
    _require_status(claim, (C.DENIED,), "corrected")
    encounter.assignee = by
    transition_record(
        encounter=encounter,
        to=S.CORRECTED,
        by=by,
        note=note.strip(),
        detail={"claim": claim.claim_number},
    )
    claim.status = C.CORRECTED
    claim.save(update_fields=["status", "updated_at"])
    _event(claim, ClaimEvent.Kind.CORRECTED, C.DENIED, by, note.strip() or "Correction started")
    return claim


@dataclass(frozen=True)
class ResubmitBlocked(Exception):
    """Error-severity edits remain on the corrected coding."""

    errors: list = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"{len(self.errors)} error edit(s) remain on the corrected codes; fix them in the "
            "workspace before resubmitting."
        )


@transaction.atomic
def claim_resubmit(*, claim: Claim, by: User, reason: str, version: int | None = None) -> Claim:
    """Corrected → resubmitted, with the corrected coding kept as the next CodingVersion."""
    _require(by, Capability.WORK_DENIALS)
    if not reason.strip():
        raise ValidationError({"reason": "Say what was corrected (it goes on the new version)."})
    claim, encounter = _lock_claim(claim)
    if version is not None and encounter.version != version:
        raise StaleEdit(encounter)
    _require_status(claim, (C.CORRECTED,), "resubmitted")
    if not encounter.diagnoses.exists():
        raise ValidationError("The corrected coding has no diagnosis.")
    errors = [e for e in encounter_edits(encounter=encounter) if e["severity"] == "error"]
    if errors:
        raise ResubmitBlocked(errors)
    previous = encounter.coding_versions.order_by("-number").first()
    new = _version_create(encounter, by, reason.strip())
    changes = coding_diff(previous.coding, new.coding) if previous else []
    transition_record(
        encounter=encounter,
        to=S.RESUBMITTED,
        by=by,
        note=reason.strip(),
        detail={"claim": claim.claim_number, "coding_version": new.number},
    )
    claim.status = C.RESUBMITTED
    claim.save(update_fields=["status", "updated_at"])
    _event(
        claim,
        ClaimEvent.Kind.RESUBMITTED,
        C.CORRECTED,
        by,
        reason.strip(),
        coding_version=new.number,
        changes=len(changes),
        with_appeal_letter=bool(claim.appeal_letter.strip()),
    )
    return claim


@transaction.atomic
def claim_appeal_save(*, claim: Claim, by: User, text: str) -> Claim:
    """Keep the (edited) appeal letter on the claim; the claim's status does not move."""
    _require(by, Capability.WORK_DENIALS)
    if not text.strip():
        raise ValidationError({"appeal_letter": "The letter is empty."})
    if len(text) > 50_000:
        raise ValidationError({"appeal_letter": "The letter is longer than 50,000 characters."})
    claim, _encounter = _lock_claim(claim)
    _require_status(claim, (C.DENIED, C.CORRECTED), "appealed")
    first = not claim.appeal_letter.strip()
    claim.appeal_letter = text.replace("\r\n", "\n")
    claim.save(update_fields=["appeal_letter", "updated_at"])
    _event(
        claim,
        ClaimEvent.Kind.APPEAL_DRAFTED,
        claim.status,
        by,
        "Appeal letter drafted" if first else "Appeal letter revised",
        chars=len(text),
    )
    return claim


@transaction.atomic
def claim_mark_paid(*, claim: Claim, by: User, paid_amount: Any = None, note: str = "") -> Claim:
    """The payer paid: the claim is paid and the encounter closed."""
    _require(by, Capability.WORK_DENIALS)
    amount = _amount(paid_amount, "paid_amount")
    claim, encounter = _lock_claim(claim)
    _require_status(claim, (C.BILLED, C.RESUBMITTED), "marked paid")
    frm = claim.status
    transition_record(
        encounter=encounter,
        to=S.CLOSED,
        by=by,
        note=note.strip() or "Paid",
        detail={"claim": claim.claim_number, "paid_amount": str(amount or "")},
    )
    claim.status, claim.paid_amount = C.PAID, amount
    claim.save(update_fields=["status", "paid_amount", "updated_at"])
    _event(claim, ClaimEvent.Kind.PAID, frm, by, note.strip(), paid_amount=str(amount or ""))
    return claim


@transaction.atomic
def claim_close(*, claim: Claim, by: User, note: str = "") -> Claim:
    """Close a paid claim; a billed/resubmitted one the payer settled without payment; or a
    denied one written off (the denial accepted). Unpaid closes need the reason."""
    _require(by, Capability.WORK_DENIALS)
    claim, encounter = _lock_claim(claim)
    if claim.status == C.CORRECTED:
        raise ValidationError(
            "This claim is being corrected: resubmit it, or finish the correction first."
        )
    _require_status(claim, (C.BILLED, C.RESUBMITTED, C.PAID, C.DENIED), "closed")
    if claim.status != C.PAID and not note.strip():
        raise ValidationError({"note": "Say why an unpaid claim is closed."})
    frm = claim.status
    if encounter.status != S.CLOSED:
        transition_record(
            encounter=encounter,
            to=S.CLOSED,
            by=by,
            note=note.strip(),
            detail={"claim": claim.claim_number},
        )
    claim.status = C.CLOSED
    claim.save(update_fields=["status", "updated_at"])
    _event(claim, ClaimEvent.Kind.CLOSED, frm, by, note.strip())
    return claim
