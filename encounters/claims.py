"""Claims, denials and resubmission: writes (noun_verb services) and the reads of the pages.

A claim is billed once per encounter. The payer may deny it with claim adjustment reason codes
(CARC, X12 code list 139, each under a group code CO/PR/OA/PI) and remittance advice remark
codes (RARC, code list 411). A denial is worked by correcting the codes (the encounter goes
back to an editable status; the coding as billed is kept as a numbered CodingVersion) and
resubmitting, or by drafting an appeal letter from the documentation.

Every step writes a ClaimEvent and, when the encounter's workflow status moves, the encounter
Transition through `transition_record` (one transition per step, never a second one).
"""

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import F, QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.models import User
from accounts.permissions import Capability, has_capability
from encounters.coding import encounter_as_json, encounter_edits
from encounters.models import Claim, ClaimEvent, CodingVersion, Encounter
from encounters.services import StaleEdit, _lock, _require, transition_record

S = Encounter.Status
C = Claim.Status

# --- reason codes -----------------------------------------------------------------------------

GROUP_CODES = {
    "CO": "Contractual obligation (the provider's write-off)",
    "PR": "Patient responsibility",
    "OA": "Other adjustment",
    "PI": "Payer-initiated reduction",
}


@dataclass(frozen=True)
class ReasonCode:
    """One CARC or RARC: a short meaning in plain words, the edit rules that likely caused it
    (exact rule ids, or prefixes ending in "*"), and whether a code correction can fix it."""

    code: str
    meaning: str
    rules: tuple[str, ...] = ()
    hint: str = ""


def _table(*rows: ReasonCode) -> dict[str, ReasonCode]:
    return {row.code: row for row in rows}


_MISSING_INFO = ("INVALID_CODE", "NOT_BILLABLE", "SEVENTH_CHARACTER", "POA_*", "MCE_REQUIRES_SDX")
_INVALID = ("INVALID_CODE", "CODE_TERMINATED", "NOT_BILLABLE", "SEVENTH_CHARACTER")
_COVERAGE = ("COVERAGE", "MCE_NON_COVERED", "MCE_LIMITED_COVERAGE")

# The common codes, summarised in our own words (the official texts are longer).
CARC = _table(
    ReasonCode("1", "Deductible amount (the patient owes it).", hint="Not a coding problem."),
    ReasonCode("2", "Coinsurance amount (the patient owes it).", hint="Not a coding problem."),
    ReasonCode("3", "Co-payment amount (the patient owes it).", hint="Not a coding problem."),
    ReasonCode(
        "4",
        "The procedure code does not fit the modifier used, or a required modifier is missing.",
        ("MODIFIER_*", "NCCI_PTP"),
    ),
    ReasonCode("5", "The procedure code or bill type does not fit the place of service."),
    ReasonCode(
        "6",
        "The procedure does not fit the patient's age.",
        ("MCE_AGE_CONFLICT", "MCE_INVALID_AGE"),
    ),
    ReasonCode(
        "7",
        "The procedure does not fit the patient's sex.",
        ("MCE_SEX_CONFLICT", "MCE_INVALID_SEX"),
    ),
    ReasonCode(
        "9",
        "The diagnosis does not fit the patient's age.",
        ("MCE_AGE_CONFLICT", "MCE_INVALID_AGE"),
    ),
    ReasonCode(
        "10",
        "The diagnosis does not fit the patient's sex.",
        ("MCE_SEX_CONFLICT", "MCE_INVALID_SEX"),
    ),
    ReasonCode(
        "11",
        "The diagnosis does not support the procedure billed.",
        ("COVERAGE", "EXCLUDES1", "CODE_FIRST", "MCE_UNACCEPTABLE_PDX"),
    ),
    ReasonCode(
        "16",
        "The claim lacks information or has billing errors needed to adjudicate it "
        "(a remark code says what).",
        _MISSING_INFO,
    ),
    ReasonCode(
        "18", "Exact duplicate of a claim or service.", ("DUPLICATE_CODE", "MCE_DUPLICATE_*")
    ),
    ReasonCode(
        "22",
        "Another payer may cover this care (coordination of benefits).",
        hint="Bill the primary payer first; not a coding problem.",
    ),
    ReasonCode("26", "Services before the patient's coverage started.", hint="Eligibility."),
    ReasonCode("27", "Services after the patient's coverage ended.", hint="Eligibility."),
    ReasonCode(
        "29",
        "The time limit for filing has expired.",
        hint="Timely filing: appeal only with proof of a timely first submission.",
    ),
    ReasonCode(
        "31", "The patient cannot be identified as the payer's insured.", hint="Eligibility."
    ),
    ReasonCode(
        "45",
        "The charge exceeds the fee schedule or the contracted amount.",
        hint="A contractual adjustment; not a coding problem.",
    ),
    ReasonCode("49", "Not covered: a routine or preventive service.", _COVERAGE),
    ReasonCode(
        "50",
        "Not covered: the payer does not deem the service medically necessary.",
        (*_COVERAGE, "MCE_QUESTIONABLE_ADMISSION"),
    ),
    ReasonCode("55", "Experimental or investigational procedure, treatment or drug.", _COVERAGE),
    ReasonCode("58", "Rendered in an inappropriate or invalid place of service."),
    ReasonCode("59", "Paid under the multiple or concurrent procedure rules.", ("NCCI_PTP", "MUE")),
    ReasonCode("96", "Non-covered charge (a remark code says why).", _COVERAGE),
    ReasonCode(
        "97",
        "The service is included in the payment for another service already adjudicated (bundled).",
        ("NCCI_PTP",),
    ),
    ReasonCode(
        "109",
        "Not covered by this payer: send the claim to the correct payer.",
        hint="Check the payer on the encounter; not a coding problem.",
    ),
    ReasonCode(
        "119",
        "The benefit maximum for this period or occurrence has been reached.",
        ("MUE", "COVERAGE"),
    ),
    ReasonCode("146", "The diagnosis was invalid on the date of service.", _INVALID),
    ReasonCode("150", "The documentation does not support this level of service."),
    ReasonCode(
        "151",
        "The documentation does not support this many services or this frequency.",
        ("MUE", "COVERAGE"),
    ),
    ReasonCode(
        "167",
        "The diagnosis (or diagnoses) is not covered.",
        (*_COVERAGE, "MCE_UNACCEPTABLE_PDX", "MCE_NONSPECIFIC_PDX"),
    ),
    ReasonCode("181", "The procedure code was invalid on the date of service.", _INVALID),
    ReasonCode("182", "The modifier was invalid on the date of service.", ("MODIFIER_INVALID",)),
    ReasonCode(
        "189",
        "An unlisted or 'not otherwise classified' code was billed where a specific code exists.",
        ("NOT_BILLABLE",),
    ),
    ReasonCode(
        "197",
        "Precertification, authorization or notification is missing.",
        hint="Authorization: appeal with the authorization number; not a coding problem.",
    ),
    ReasonCode(
        "198",
        "Precertification or authorization was exceeded.",
        hint="Authorization; not a coding problem.",
    ),
    ReasonCode(
        "204", "The service is not covered under the patient's current benefit plan.", _COVERAGE
    ),
    ReasonCode("226", "Information requested from the provider was not sent or is incomplete."),
    ReasonCode("234", "This procedure is not paid separately.", ("NCCI_PTP",)),
    ReasonCode(
        "236",
        "This procedure, or procedure and modifier, is not compatible with another procedure "
        "on the same day under NCCI.",
        ("NCCI_PTP", "MODIFIER_*"),
    ),
    ReasonCode("252", "An attachment or other documentation is needed to adjudicate the claim."),
    ReasonCode(
        "B7",
        "The provider was not certified or eligible for this service on this date.",
        hint="Credentialing; not a coding problem.",
    ),
    ReasonCode("B9", "The patient is enrolled in a hospice.", hint="Eligibility."),
    ReasonCode(
        "B15",
        "The service needs a qualifying service that has not been received or adjudicated.",
        ("NCCI_PTP",),
    ),
    ReasonCode("B20", "Part or all of the service was furnished by another provider."),
    ReasonCode("B22", "Payment adjusted because of the diagnosis.", ("COVERAGE",)),
)

RARC = _table(
    ReasonCode(
        "M15",
        "Separately billed services were bundled as parts of the same "
        "procedure; no separate payment.",
        ("NCCI_PTP",),
    ),
    ReasonCode("M20", "Missing, incomplete or invalid HCPCS code.", _INVALID),
    ReasonCode("M25", "The documentation does not support the need for this level of service."),
    ReasonCode("M51", "Missing, incomplete or invalid procedure code.", _INVALID),
    ReasonCode(
        "M76",
        "Missing, incomplete or invalid diagnosis or condition.",
        (*_INVALID, "MCE_UNACCEPTABLE_PDX"),
    ),
    ReasonCode(
        "M80",
        "Not covered when done in the same session or on the same date as a "
        "service already processed.",
        ("NCCI_PTP",),
    ),
    ReasonCode(
        "M86",
        "Denied: payment was already made for the same or a similar procedure within a set time.",
        ("MUE", "COVERAGE", "DUPLICATE_CODE"),
    ),
    ReasonCode(
        "M127",
        "Missing the patient's medical record for this service.",
        hint="Send the documentation (an appeal letter with the records).",
    ),
    ReasonCode(
        "MA63",
        "Missing, incomplete or invalid principal diagnosis.",
        (*_INVALID, "MCE_UNACCEPTABLE_PDX", "CODE_FIRST"),
    ),
    ReasonCode("MA66", "Missing, incomplete or invalid principal procedure code.", _INVALID),
    ReasonCode(
        "MA130",
        "The claim is incomplete or invalid and cannot be processed (no appeal "
        "rights): send a new, corrected claim.",
        _MISSING_INFO,
    ),
    ReasonCode("N19", "The procedure code is incidental to the primary procedure.", ("NCCI_PTP",)),
    ReasonCode("N20", "Not payable with another service given on the same date.", ("NCCI_PTP",)),
    ReasonCode(
        "N29",
        "Missing documentation, orders, notes or report.",
        hint="Send the documentation (an appeal letter with the records).",
    ),
    ReasonCode(
        "N56",
        "The procedure code is not correct or valid for the services or the "
        "date of service billed.",
        (*_INVALID, "MODIFIER_*"),
    ),
    ReasonCode(
        "N115", "The decision is based on a Local Coverage Determination (LCD).", ("COVERAGE",)
    ),
    ReasonCode(
        "N130", "See the plan's benefit documents for the limits on this service.", ("COVERAGE",)
    ),
    ReasonCode(
        "N362", "The days or units of service exceed the payer's maximum.", ("MUE", "COVERAGE")
    ),
    ReasonCode(
        "N386", "The decision is based on a National Coverage Determination (NCD).", ("COVERAGE",)
    ),
    ReasonCode(
        "N525", "Not covered when done within the global period of another service.", ("NCCI_PTP",)
    ),
    ReasonCode(
        "N640", "Exceeds the number or frequency allowed within a period.", ("MUE", "COVERAGE")
    ),
    ReasonCode("N657", "Bill this with the appropriate code for these services.", _INVALID),
)

_CARC_FORM = re.compile(r"^(?:(CO|PR|OA|PI)\s*-?\s*)?([A-Z]?\d{1,3})$")
_RARC_FORM = re.compile(r"^(MA|M|N)\d{1,3}$")
_SPLIT = re.compile(r"[\s,;]+")


def _tokens(value: str | list[str] | None) -> list[str]:
    """Codes as typed: one string ("CO-50, N115") or a list; group codes stay with their number."""
    if value is None:
        return []
    text = value if isinstance(value, str) else " ".join(value)
    # Join "CO 50" and "CO- 50" into one token before splitting on spaces.
    text = re.sub(r"\b(CO|PR|OA|PI)\s*-\s*|\b(CO|PR|OA|PI)\s+", r"\1\2-", text.upper())
    return [t for t in _SPLIT.split(text) if t]


def carc_parse(value: str | list[str] | None) -> list[dict[str, str]]:
    """[{"group": "CO", "code": "50"}, ...]; a malformed or unknown code is a ValidationError."""
    parsed: list[dict[str, str]] = []
    for token in _tokens(value):
        match = _CARC_FORM.match(token)
        if not match:
            raise ValidationError(
                {
                    "carc_codes": f"“{token}” is not a claim adjustment reason code. Write the "
                    "group code and the number, e.g. CO-50 (groups: CO, PR, OA, PI)."
                }
            )
        group, code = match.group(1) or "", match.group(2).lstrip("0") or "0"
        if code not in CARC and token in RARC:
            raise ValidationError(
                {"carc_codes": f"{token} is a remark code (RARC): put it with the RARC codes."}
            )
        if code not in CARC:
            raise ValidationError(
                {
                    "carc_codes": f"CARC {code} is not in the table of common reason codes this "
                    "workbench knows; check the remittance, or put the code and its text in "
                    "the payer's note."
                }
            )
        item = {"group": group, "code": code}
        if item not in parsed:
            parsed.append(item)
    return parsed


def rarc_parse(value: str | list[str] | None) -> list[str]:
    parsed: list[str] = []
    for token in _tokens(value):
        if not _RARC_FORM.match(token):
            raise ValidationError(
                {
                    "rarc_codes": f"“{token}” is not a remittance advice remark code (RARC): "
                    "they start with M, MA or N and a number, e.g. N115."
                }
            )
        if token not in RARC:
            raise ValidationError(
                {
                    "rarc_codes": f"RARC {token} is not in the table of common remark codes "
                    "this workbench knows; check the remittance, or put it in the payer's note."
                }
            )
        if token not in parsed:
            parsed.append(token)
    return parsed


def carc_label(item: dict[str, str]) -> str:
    return f"{item['group']}-{item['code']}" if item.get("group") else item["code"]


def denial_codes(claim: Claim) -> list[dict[str, Any]]:
    """The claim's CARC and RARC codes, each with its meaning and likely edit rules."""
    rows = []
    for item in claim.carc_codes:
        reason = CARC.get(item["code"])
        rows.append(
            {
                "kind": "CARC",
                "code": carc_label(item),
                "group": GROUP_CODES.get(item.get("group", ""), ""),
                "meaning": reason.meaning if reason else "",
                "rules": list(reason.rules) if reason else [],
                "hint": reason.hint if reason else "",
            }
        )
    for code in claim.rarc_codes:
        reason = RARC.get(code)
        rows.append(
            {
                "kind": "RARC",
                "code": code,
                "group": "",
                "meaning": reason.meaning if reason else "",
                "rules": list(reason.rules) if reason else [],
                "hint": reason.hint if reason else "",
            }
        )
    return rows


def rule_matches(rule: str, patterns: list[str] | tuple[str, ...]) -> bool:
    return any(rule == p or (p.endswith("*") and rule.startswith(p[:-1])) for p in patterns)


# --- coding versions ----------------------------------------------------------------------------


def coding_snapshot(encounter: Encounter) -> dict[str, Any]:
    """encounter_as_json() plus what a reader of the version needs: descriptions, pointers."""
    coding = encounter_as_json(encounter)
    diagnoses = list(encounter.diagnoses.order_by("sequence"))
    procedures = list(encounter.procedures.order_by("sequence"))
    for row, dx in zip(coding["diagnoses"], diagnoses, strict=True):
        row.update(sequence=dx.sequence, description=dx.description)
    for row, px in zip(coding["procedures"], procedures, strict=True):
        row.update(
            sequence=px.sequence,
            description=px.description,
            diagnosis_pointers=list(px.diagnosis_pointers),
        )
    return coding


def _drg_snapshot(encounter: Encounter) -> dict[str, Any]:
    if encounter.type != Encounter.Type.INPATIENT:
        return {}
    from codesets.drg import DrgError
    from encounters.drg_services import encounter_drg

    try:
        return encounter_drg(encounter=encounter).as_dict()
    except DrgError as exc:
        return {"error": str(exc)}


def _version_create(encounter: Encounter, by: User, reason: str) -> CodingVersion:
    last = encounter.coding_versions.order_by("-number").first()
    return CodingVersion.objects.create(
        encounter=encounter,
        number=(last.number + 1) if last else 1,
        coding=coding_snapshot(encounter),
        drg=_drg_snapshot(encounter),
        reason=reason,
        created_by=by,
    )


def _line_key(kind: str, row: dict) -> tuple[str, str]:
    return (kind, row["code"] if kind == "diagnosis" else f"{row['system']}:{row['code']}")


def _line_changes(kind: str, before: dict, after: dict) -> list[str]:
    what = []
    if before.get("sequence") != after.get("sequence"):
        label = "principal" if kind == "diagnosis" and after.get("sequence") == 1 else None
        what.append(
            f"position {before.get('sequence')} → {after.get('sequence')}"
            + (f" ({label})" if label else "")
        )
    if kind == "diagnosis" and (before.get("poa") or "") != (after.get("poa") or ""):
        what.append(f"POA {before.get('poa') or '—'} → {after.get('poa') or '—'}")
    if kind == "procedure":
        if before.get("modifiers") != after.get("modifiers"):
            old = "-".join(before.get("modifiers") or []) or "none"
            new = "-".join(after.get("modifiers") or []) or "none"
            what.append(f"modifiers {old} → {new}")
        if before.get("units") != after.get("units"):
            what.append(f"units {before.get('units')} → {after.get('units')}")
    return what


def coding_diff(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """Codes added, removed and changed (position, POA, modifiers, units) between two codings."""
    changes: list[dict[str, Any]] = []
    for kind, key in (("diagnosis", "diagnoses"), ("procedure", "procedures")):
        old = {_line_key(kind, r): r for r in before.get(key, [])}
        new = {_line_key(kind, r): r for r in after.get(key, [])}
        for line_key, row in old.items():
            if line_key not in new:
                changes.append(
                    {
                        "kind": kind,
                        "change": "removed",
                        "code": row["code"],
                        "description": row.get("description", ""),
                        "what": [],
                    }
                )
        for line_key, row in new.items():
            if line_key not in old:
                changes.append(
                    {
                        "kind": kind,
                        "change": "added",
                        "code": row["code"],
                        "description": row.get("description", ""),
                        "what": [],
                    }
                )
            elif what := _line_changes(kind, old[line_key], row):
                changes.append(
                    {
                        "kind": kind,
                        "change": "changed",
                        "code": row["code"],
                        "description": row.get("description", ""),
                        "what": what,
                    }
                )
    return changes


# --- services -----------------------------------------------------------------------------------


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
    """Close a paid claim, or a billed/resubmitted one the payer settled without payment."""
    _require(by, Capability.WORK_DENIALS)
    claim, encounter = _lock_claim(claim)
    if claim.status == C.DENIED or claim.status == C.CORRECTED:
        raise ValidationError(
            "A denied claim is corrected and resubmitted (or appealed) before it can be closed."
        )
    _require_status(claim, (C.BILLED, C.RESUBMITTED, C.PAID), "closed")
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


# --- the appeal letter --------------------------------------------------------------------------


def _evidence_line(line: Any) -> str:
    if not line.evidence_quote:
        return "   (no supporting passage linked to this code yet)"
    doc = line.evidence_document
    source = (
        f"{doc.title}, {doc.author or 'author not recorded'}, {doc.written_on:%Y-%m-%d}"
        if doc
        else "the record"
    )
    quote = " ".join(line.evidence_quote.split())
    return f"   Documented in {source}: “{quote}”"


def appeal_draft(*, claim: Claim, by: User) -> str:
    """A first draft from the record: denial reasons, each code with its quoted evidence, the
    documents enclosed. The coder edits it before saving; nothing here is sent anywhere."""
    encounter = claim.encounter
    patient = encounter.patient
    dates = f"{encounter.admit_date:%Y-%m-%d}"
    if encounter.discharge_date and encounter.discharge_date != encounter.admit_date:
        dates += f" to {encounter.discharge_date:%Y-%m-%d}"
    lines = [
        f"{timezone.localdate():%B %-d, %Y}",
        "",
        f"{claim.payer}",
        "Appeals and reconsiderations",
        "",
        f"Re: Request for reconsideration of claim {claim.claim_number}",
        f"Patient: {patient.first_name} {patient.last_name}, born {patient.birth_date:%Y-%m-%d}"
        + (f", coverage {patient.coverage}" if patient.coverage else ""),
        f"Account: {encounter.account_number} ({encounter.get_type_display().lower()}), "
        f"date(s) of service {dates}",
    ]
    if encounter.provider:
        lines.append(f"Provider: {encounter.provider}")
    lines += ["", "To whom it may concern:", ""]
    denied = f" on {claim.denied_at:%Y-%m-%d}" if claim.denied_at else ""
    lines.append(
        f"We ask you to reconsider the denial of this claim{denied}, given with these reason codes:"
    )
    for row in denial_codes(claim):
        lines.append(f" - {row['kind']} {row['code']}: {row['meaning']}")
    if claim.denial_text:
        lines.append(f"Your note: “{' '.join(claim.denial_text.split())}”")
    lines += ["", "The services billed and the documentation that supports each:", ""]
    diagnoses = list(encounter.diagnoses.select_related("evidence_document").order_by("sequence"))
    procedures = list(encounter.procedures.select_related("evidence_document").order_by("sequence"))
    if diagnoses:
        lines.append("Diagnoses")
        for dx in diagnoses:
            role = " (principal)" if dx.sequence == 1 else ""
            lines.append(f"{dx.sequence}. {dx.code} {dx.description}{role}")
            lines.append(_evidence_line(dx))
        lines.append("")
    if procedures:
        lines.append("Procedures")
        for px in procedures:
            extra = []
            if px.modifiers:
                extra.append("modifier " + "-".join(px.modifiers))
            if px.units != 1:
                extra.append(f"{px.units} units")
            suffix = f" ({', '.join(extra)})" if extra else ""
            lines.append(f"{px.sequence}. {px.code} {px.description}{suffix}".rstrip())
            lines.append(_evidence_line(px))
        lines.append("")
    versions = list(encounter.coding_versions.order_by("number"))
    if len(versions) > 1:
        changes = coding_diff(versions[0].coding, versions[-1].coding)
        if changes:
            lines.append("Since the first submission the coding was corrected:")
            for change in changes:
                detail = f" ({'; '.join(change['what'])})" if change["what"] else ""
                lines.append(f" - {change['code']} {change['change']}{detail}")
            lines.append("")
    documents = list(encounter.documents.order_by("written_on", "pk"))
    if documents:
        lines.append("Enclosed from the medical record:")
        for doc in documents:
            author = f", {doc.author}" if doc.author else ""
            lines.append(
                f" - {doc.title} ({doc.get_note_type_display()}{author}, {doc.written_on:%Y-%m-%d})"
            )
        lines.append("")
    lines += [
        "The enclosed documentation shows that the services were provided, were medically "
        "necessary, and are coded as the record supports. We ask you to reprocess the claim "
        "for payment.",
        "",
        "Sincerely,",
        "",
        by.get_full_name() or by.get_username(),
        "Coding and billing",
    ]
    return "\n".join(lines)


# --- selectors ----------------------------------------------------------------------------------

OPEN_DENIALS = (C.DENIED, C.CORRECTED)
WORKLIST_STATUSES = [
    ("open", "Open denials (denied or being corrected)"),
    ("all", "All claims"),
    *Claim.Status.choices,
]
WORKLIST_SORTS = {
    "age": ("Oldest denial first", [F("denied_at").asc(nulls_last=True), "pk"]),
    "-age": ("Newest denial first", [F("denied_at").desc(nulls_last=True), "-pk"]),
    "billed": ("Billed, oldest first", ["billed_at", "pk"]),
    "payer": ("Payer", ["payer", F("denied_at").asc(nulls_last=True)]),
    "amount": ("Billed amount, largest first", [F("billed_amount").desc(nulls_last=True), "pk"]),
}


@dataclass(frozen=True)
class WorklistFilters:
    status: str = "open"
    payer: str = ""
    carc: str = ""
    sort: str = "age"


def claims_visible_to(*, user: User) -> QuerySet[Claim]:
    if not has_capability(user, Capability.WORK_DENIALS):
        return Claim.objects.none()
    return Claim.objects.select_related("encounter__patient", "encounter__assignee")


def denial_worklist(*, user: User, filters: WorklistFilters | None = None) -> QuerySet[Claim]:
    filters = filters or WorklistFilters()
    claims = claims_visible_to(user=user)
    if filters.status == "open":
        claims = claims.filter(status__in=OPEN_DENIALS)
    elif filters.status in C.values:
        claims = claims.filter(status=filters.status)
    if filters.payer:
        claims = claims.filter(payer=filters.payer)
    if filters.carc:
        code = filters.carc.strip().upper().split("-")[-1].lstrip("0")
        if connection.features.supports_json_field_contains:
            claims = claims.filter(carc_codes__contains=[{"code": code}])
        else:  # SQLite: no JSON containment; the open worklist is small enough to scan
            pks = [
                c.pk
                for c in claims.only("pk", "carc_codes")
                if any(item.get("code") == code for item in c.carc_codes)
            ]
            claims = claims.filter(pk__in=pks)
    order = WORKLIST_SORTS.get(filters.sort, WORKLIST_SORTS["age"])[1]
    return claims.order_by(*order)


def claim_payers_for(*, user: User) -> list[str]:
    return list(
        claims_visible_to(user=user).order_by("payer").values_list("payer", flat=True).distinct()
    )


def days_since(moment: datetime | None, now: datetime | None = None) -> int | None:
    if moment is None:
        return None
    return max(0, ((now or timezone.now()) - moment).days)


def claim_get_for(*, user: User, pk: int) -> Claim:
    claim = claims_visible_to(user=user).filter(pk=pk).first()
    if claim is None:
        if not has_capability(user, Capability.WORK_DENIALS):
            raise PermissionDenied("Your role cannot work denials.")
        raise Http404("No such claim.")
    return claim


def ready_to_bill_for(*, user: User) -> QuerySet[Encounter]:
    if not has_capability(user, Capability.WORK_DENIALS):
        return Encounter.objects.none()
    return (
        Encounter.objects.select_related("patient")
        .filter(status=S.READY_TO_BILL, claim__isnull=True)
        .order_by(F("discharge_date").asc(nulls_last=True), "pk")
    )


def likely_causes(*, claim: Claim, edits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per denial code: its meaning, the edit rules that usually cause it, and the current
    edits of those rules on the encounter (the codes most likely to need a correction)."""
    causes = []
    for row in denial_codes(claim):
        matching = [e for e in edits if rule_matches(e["rule"], row["rules"])]
        causes.append({**row, "edits": matching})
    return causes


def _rows(coding: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for kind, key in (("diagnosis", "diagnoses"), ("procedure", "procedures")):
        for line in coding.get(key, []):
            rows.append(
                {**line, "kind": kind, "key": _line_key(kind, line), "mark": "", "what": []}
            )
    return rows


def version_columns(
    versions: list[CodingVersion], current: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """The coding versions side by side, oldest first; each line marked added or changed
    against the column before it, and the lines that column dropped listed as removed.
    `current` is the encounter's coding now, shown last while a correction is under way."""
    columns: list[dict[str, Any]] = [
        {"title": f"Version {v.number}", "version": v, "coding": v.coding, "drg": v.drg}
        for v in versions
    ]
    if current is not None:
        columns.append(
            {"title": "Now (not resubmitted)", "version": None, "coding": current, "drg": {}}
        )
    previous: dict[Any, dict] | None = None
    for column in columns:
        rows = _rows(column["coding"])
        by_key = {row["key"]: row for row in rows}
        removed = []
        if previous is not None:
            removed = [old for key, old in previous.items() if key not in by_key]
            for key, row in by_key.items():
                if key not in previous:
                    row["mark"] = "added"
                elif what := _line_changes(row["kind"], previous[key], row):
                    row["mark"], row["what"] = "changed", what
        column["rows"], column["removed"] = rows, removed
        column["changed"] = previous is not None and bool(removed or any(r["mark"] for r in rows))
        previous = by_key
    return columns


def claim_of_encounter_for(*, user: User, pk: int) -> tuple[Encounter, Claim | None]:
    """The encounter (404 if missing, 403 without the capability) and its claim, if billed."""
    if not has_capability(user, Capability.WORK_DENIALS):
        raise PermissionDenied("Your role cannot work denials.")
    encounter = Encounter.objects.select_related("patient", "assignee").filter(pk=pk).first()
    if encounter is None:
        raise Http404("No such encounter.")
    claim = claims_visible_to(user=user).filter(encounter=encounter).first()
    return encounter, claim


# --- demo -------------------------------------------------------------------------------------

DEMO_CLAIMS = [
    {
        "mrn": "DEMO-1005",
        "patient": ("Haddad", "Omar", date(1949, 2, 11), "M", "Medicare"),
        "account": "ACC-50005",
        "type": Encounter.Type.INPATIENT,
        "days": 3,
        "note": "Discharge summary: community-acquired pneumonia, right lower lobe, with acute "
        "hypoxic respiratory failure on admission (SpO2 84% on room air), treated with IV "
        "ceftriaxone and azithromycin and 4 L oxygen by nasal cannula; weaned to room air.",
        "codes": [
            ("J18.9", "", "community-acquired pneumonia"),
            ("J96.01", "Y", "acute hypoxic respiratory failure"),
        ],
        "amount": "14250.00",
        "denial": (
            "CO-50 CO-16",
            "N115 MA130",
            "Inpatient level of care not supported; POA "
            "indicator missing on the principal diagnosis.",
        ),
    },
    {
        "mrn": "DEMO-1006",
        "patient": ("Lindqvist", "Greta", date(1958, 9, 30), "F", "Blue Cross PPO"),
        "account": "ACC-50006",
        "type": Encounter.Type.PROFESSIONAL,
        "days": 0,
        "note": "Office visit: COPD, stable on tiotropium; essential hypertension, controlled.",
        "codes": [("J44.9", "", "COPD, stable"), ("I10", "", "essential hypertension")],
        "amount": "145.00",
        "denial": None,
    },
]


@transaction.atomic
def claims_demo_load(*, by: User) -> int:
    """One denied and one billed demo claim (synthetic patients), billed through the services
    so the claim page shows a real timeline. Safe to run again."""
    from codesets.selectors import code_lookup
    from encounters.models import DiagnosisAssignment, Document, Patient

    made = 0
    today = timezone.localdate()
    for chart in DEMO_CLAIMS:
        last, first, born, sex, coverage = chart["patient"]
        patient, _ = Patient.objects.get_or_create(
            mrn=chart["mrn"],
            defaults={
                "last_name": last,
                "first_name": first,
                "birth_date": born,
                "sex": sex,
                "coverage": coverage,
            },
        )
        admitted = today - timedelta(days=chart["days"] + 12)
        encounter, created = Encounter.objects.get_or_create(
            account_number=chart["account"],
            defaults={
                "patient": patient,
                "type": chart["type"],
                "admit_date": admitted,
                "discharge_date": admitted + timedelta(days=chart["days"]),
                "provider": "Dr. M. Alvarez",
                "payer": coverage,
                "status": S.READY_TO_BILL,
            },
        )
        if not created:
            continue
        document = Document.objects.create(
            encounter=encounter,
            note_type=Document.NoteType.DISCHARGE_SUMMARY
            if chart["type"] == Encounter.Type.INPATIENT
            else Document.NoteType.PROGRESS,
            title="Discharge summary" if chart["days"] else "Office visit",
            author="Dr. M. Alvarez",
            written_on=encounter.discharge_date,
            text=chart["note"],
        )
        for sequence, (code, poa, phrase) in enumerate(chart["codes"], start=1):
            start = chart["note"].index(phrase)
            row = code_lookup(system="icd10cm", code=code, on=encounter.date_of_service)
            DiagnosisAssignment.objects.create(
                encounter=encounter,
                code=code,
                description=row.description if row else "",
                sequence=sequence,
                poa=poa,
                created_by=by,
                evidence_document=document,
                evidence_start=start,
                evidence_end=start + len(phrase),
                evidence_quote=phrase,
            )
        claim = claim_bill(encounter=encounter, by=by, billed_amount=chart["amount"])
        # Billed ten days ago, so the denial has an age on the worklist.
        Claim.objects.filter(pk=claim.pk).update(billed_at=timezone.now() - timedelta(days=10))
        if chart["denial"]:
            carc, rarc, text = chart["denial"]
            claim = claim_deny(
                claim=claim,
                by=by,
                carc_codes=carc,
                rarc_codes=rarc,
                text=text,
                denied_on=today - timedelta(days=6),
            )
        made += 1
    return made
