"""Writes for audits: plans, their samples, the blind re-code, findings, disputes, closing.

Every function is keyword-only and atomic. Pre-bill items hold their encounter in
"pre-bill audit" (so it cannot be billed) until the item is closed; the workflow steps go
through encounters.services.transition_record, so they land in the transition log.
"""

import random
import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.permissions import Capability, has_capability
from audits import comparison, sampling
from audits.models import AuditItem, AuditPlan, Finding
from encounters.models import Encounter

MAX_LINES = 50  # more codes than any claim carries: a guard against runaway posts
POA_VALUES = {"", "Y", "N", "U", "W", "1"}
CPT_SHAPE = re.compile(r"^\d{4}[0-9A-Z]$")


def _require(user: User, capability: Capability) -> None:
    if not has_capability(user, capability):
        raise PermissionDenied(f"Your role cannot {capability.value.replace('_', ' ')}.")


# --- plans ------------------------------------------------------------------------------------


def _clean_targets(targets: dict[str, Any]) -> dict[str, Any]:
    """Drop empty targets; check the ones that must parse. Raises ValidationError."""
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    for key in ("coders", "encounter_types", "payers", "drgs", "drg_families", "codes"):
        values = [str(v).strip() for v in targets.get(key) or [] if str(v).strip()]
        if values:
            clean[key] = values
    if "coders" in clean:
        if not all(v.isdigit() for v in clean["coders"]):
            errors["targets"] = "Choose coders from the list."
        else:
            clean["coders"] = [int(v) for v in clean["coders"]]
    bad_types = [t for t in clean.get("encounter_types", []) if t not in Encounter.Type.values]
    if bad_types:
        errors["targets"] = f"Unknown encounter type: {', '.join(bad_types)}."
    bad_drgs = [d for d in clean.get("drgs", []) if not (d.isdigit() and len(d) <= 3)]
    if bad_drgs:
        errors["drgs"] = f"An MS-DRG is a number of up to three digits, not {', '.join(bad_drgs)}."
    elif "drgs" in clean:
        clean["drgs"] = [d.zfill(3) for d in clean["drgs"]]
    bad_families = [f for f in clean.get("drg_families", []) if sampling.parse_family(f) is None]
    if bad_families:
        errors["drg_families"] = (
            f"Write a DRG family as a range, e.g. 291-293 (not {', '.join(bad_families)})."
        )
    bad_codes = [c for c in clean.get("codes", []) if not re.fullmatch(r"[A-Za-z0-9.]+\*?", c)]
    if bad_codes:
        errors["codes"] = (
            f"Codes are letters and digits, with * at the end for a prefix "
            f"(not {', '.join(bad_codes)})."
        )
    weight = targets.get("min_weight")
    if weight not in (None, ""):
        try:
            value = Decimal(str(weight))
            if value <= 0:
                raise InvalidOperation
            clean["min_weight"] = str(value)
        except InvalidOperation:
            errors["min_weight"] = "The minimum relative weight is a positive number, e.g. 2.5."
    days = targets.get("new_coders_days")
    if days not in (None, ""):
        if not str(days).isdigit() or int(days) == 0:
            errors["new_coders_days"] = "New coders: a whole number of days, e.g. 90."
        else:
            clean["new_coders_days"] = int(days)
    if errors:
        raise ValidationError(errors)
    return clean


@transaction.atomic
def plan_create(
    *,
    by: User,
    name: str,
    kind: str,
    method: str,
    date_from: date,
    date_to: date,
    auditors: list[User],
    party: str = AuditPlan.Party.INTERNAL,
    percent: Decimal | None = None,
    per_coder: int | None = None,
    targets: dict[str, Any] | None = None,
    seed: int | None = None,
) -> AuditPlan:
    _require(by, Capability.RUN_AUDITS)
    errors: dict[str, str] = {}
    if not name.strip():
        errors["name"] = "Give the plan a name, e.g. “Inpatient pre-bill, October”."
    if kind not in AuditPlan.Kind.values:
        errors["kind"] = "Choose pre-bill or post-bill."
    if party not in AuditPlan.Party.values:
        errors["party"] = "Choose internal or external."
    if method == AuditPlan.Method.RANDOM_PERCENT:
        if percent is None or not (Decimal(0) < Decimal(percent) <= Decimal(100)):
            errors["percent"] = "A percentage above 0 and at most 100."
        per_coder = None
    elif method == AuditPlan.Method.PER_CODER:
        if not per_coder or per_coder < 1:
            errors["per_coder"] = "At least one encounter per coder."
        percent = None
    else:
        errors["method"] = "Choose a random percentage or a number per coder."
    if date_from and date_to and date_from > date_to:
        errors["date_to"] = "The period ends before it starts."
    if not auditors:
        errors["auditors"] = "Name at least one auditor."
    elif any(not has_capability(u, Capability.RUN_AUDITS) for u in auditors):
        errors["auditors"] = "Auditors must be senior coders."
    try:
        clean_targets = _clean_targets(targets or {})
    except ValidationError as exc:
        errors.update({k: v[0] for k, v in exc.message_dict.items()})
        clean_targets = {}
    if errors:
        raise ValidationError(errors)
    plan = AuditPlan.objects.create(
        name=name.strip(),
        kind=kind,
        party=party,
        method=method,
        percent=percent,
        per_coder=per_coder,
        date_from=date_from,
        date_to=date_to,
        targets=clean_targets,
        # 2**53 keeps the seed exact in JSON and JavaScript if it ever leaves the database.
        seed=seed if seed is not None else random.SystemRandom().randrange(1, 2**53),
        created_by=by,
    )
    plan.auditors.set(auditors)
    return plan


def coding_snapshot(encounter: Encounter) -> dict[str, Any]:
    """encounter_as_json() with each line's description: the coding as it stood."""
    from encounters.coding import encounter_as_json

    data = encounter_as_json(encounter)
    dx = list(encounter.diagnoses.order_by("sequence"))
    px = list(encounter.procedures.order_by("sequence"))
    for line, row in zip(data["diagnoses"], dx, strict=True):
        line["description"] = row.description
    for line, row in zip(data["procedures"], px, strict=True):
        line["description"] = row.description
    return data


@transaction.atomic
def plan_sample(*, plan: AuditPlan, by: User) -> list[AuditItem]:
    """Draw the sample, freeze each encounter's coding and DRG, hold pre-bill encounters."""
    _require(by, Capability.RUN_AUDITS)
    from encounters.services import transition_record

    plan = AuditPlan.objects.select_for_update().get(pk=plan.pk)
    if plan.status != AuditPlan.Status.DRAFT:
        raise ValidationError("This plan has already been sampled.")
    picks = sampling.draw(plan)
    if not picks:
        raise ValidationError(
            "No encounter matches this plan: widen the period or the targets. Nothing was drawn."
        )
    items = []
    for pick in picks:
        encounter = Encounter.objects.select_for_update().get(pk=pick.encounter.pk)
        if plan.kind == AuditPlan.Kind.PRE_BILL:
            if encounter.status != Encounter.Status.CODED:
                raise ValidationError(
                    f"{encounter.account_number} is no longer coded; draw the sample again."
                )
            transition_record(
                encounter=encounter,
                to=Encounter.Status.PRE_BILL_AUDIT,
                by=by,
                note=f"Held for pre-bill audit: {plan.name}",
                detail={"audit_plan": plan.pk},
            )
        items.append(
            AuditItem(
                plan=plan,
                encounter=encounter,
                coder=pick.coder,
                selection_reason=pick.reason,
                original_coding=coding_snapshot(encounter),
                original_drg=pick.drg or sampling.drg_of(encounter),
            )
        )
    AuditItem.objects.bulk_create(items)
    plan.status = AuditPlan.Status.SAMPLED
    plan.sampled_at = timezone.now()
    plan.save(update_fields=["status", "sampled_at"])
    return list(plan.items.all())


@transaction.atomic
def plan_close(*, plan: AuditPlan, by: User) -> AuditPlan:
    _require(by, Capability.RUN_AUDITS)
    plan = AuditPlan.objects.select_for_update().get(pk=plan.pk)
    if plan.status == AuditPlan.Status.CLOSED:
        raise ValidationError("This plan is already closed.")
    open_items = plan.items.exclude(status=AuditItem.Status.CLOSED).count()
    if open_items:
        raise ValidationError(
            f"{open_items} item{'s' if open_items != 1 else ''} still open: close every item "
            "before closing the plan."
        )
    plan.status = AuditPlan.Status.CLOSED
    plan.closed_at = timezone.now()
    plan.save(update_fields=["status", "closed_at"])
    return plan


# --- the blind re-code ------------------------------------------------------------------------


def _lock_item(item: AuditItem) -> AuditItem:
    return AuditItem.objects.select_for_update().select_related("plan", "encounter").get(pk=item.pk)


def _require_auditor(item: AuditItem, by: User) -> None:
    _require(by, Capability.RUN_AUDITS)
    if not item.plan.auditors.filter(pk=by.pk).exists():
        raise PermissionDenied("Only the plan's auditors may audit its encounters.")
    if item.coder_id == by.pk:
        raise PermissionDenied("You coded this encounter: another auditor must audit it.")
    if item.auditor_id not in (None, by.pk):
        raise PermissionDenied("Another auditor is auditing this encounter.")


@transaction.atomic
def item_start(*, item: AuditItem, by: User) -> AuditItem:
    item = _lock_item(item)
    _require_auditor(item, by)
    if item.status == AuditItem.Status.PENDING:
        item.status = AuditItem.Status.RECODING
        item.auditor = by
        item.started_at = timezone.now()
        item.audited_coding = {"diagnoses": [], "procedures": []}
        item.save(update_fields=["status", "auditor", "started_at", "audited_coding"])
    return item


def _recoding(item: AuditItem, by: User) -> AuditItem:
    item = _lock_item(item)
    _require_auditor(item, by)
    if item.status != AuditItem.Status.RECODING:
        raise ValidationError("The re-code can only change while the audit is in progress.")
    item.audited_coding = {
        "diagnoses": list((item.audited_coding or {}).get("diagnoses") or []),
        "procedures": list((item.audited_coding or {}).get("procedures") or []),
    }
    return item


def _lines(item: AuditItem, kind: str) -> list[dict[str, Any]]:
    if kind not in ("diagnoses", "procedures"):
        raise ValidationError("Unknown list.")
    return item.audited_coding[kind]


def _line(lines: list[dict[str, Any]], index: int) -> dict[str, Any]:
    if not 0 <= index < len(lines):
        raise ValidationError("That line is no longer there; reload the page.")
    return lines[index]


@transaction.atomic
def recode_code_add(
    *, item: AuditItem, by: User, kind: str, code: str, system: str = "", poa: str = ""
) -> dict[str, Any]:
    """Add a code to the auditor's list, checked against the release in force."""
    from codesets.selectors import code_lookup

    item = _recoding(item, by)
    encounter = item.encounter
    lines = _lines(item, kind)
    raw = code.strip().upper()
    if not raw:
        raise ValidationError({"code": "Type a code or words and pick a code."})
    if len(lines) >= MAX_LINES:
        raise ValidationError({"code": f"At most {MAX_LINES} codes per list."})
    if kind == "diagnoses":
        system = "icd10cm"
    else:
        from encounters.services import procedure_systems_for

        allowed = procedure_systems_for(encounter)
        system = system or allowed[0]
        if system not in allowed:
            raise ValidationError({"code": "That code system is not used for this encounter type."})
    on = encounter.date_of_service
    row = code_lookup(system=system, code=raw, on=on)
    if row is None and not (system == "cpt" and CPT_SHAPE.match(raw)):
        raise ValidationError(
            {
                "code": f"{raw} is not a {system.upper()} code in the release in force "
                f"on {on:%Y-%m-%d}."
            }
        )
    display = row.display if row else raw
    description = row.description if row else ""
    key = comparison.plain(display)
    if any(
        comparison.plain(line["code"]) == key and line.get("system", system) == system
        for line in lines
    ):
        raise ValidationError({"code": f"{display} is already in your list."})
    if kind == "diagnoses":
        poa = poa.strip().upper()
        if poa not in POA_VALUES:
            raise ValidationError({"code": "POA is Y, N, U, W or 1."})
        line = {"code": display, "poa": poa or None, "description": description}
    else:
        line = {
            "system": system,
            "code": display,
            "modifiers": [],
            "units": 1,
            "date": on.isoformat(),
            "description": description,
        }
    lines.append(line)
    item.save(update_fields=["audited_coding"])
    return line


@transaction.atomic
def recode_code_remove(*, item: AuditItem, by: User, kind: str, index: int) -> None:
    item = _recoding(item, by)
    lines = _lines(item, kind)
    _line(lines, index)
    del lines[index]
    item.save(update_fields=["audited_coding"])


@transaction.atomic
def recode_code_move(*, item: AuditItem, by: User, kind: str, index: int, position: int) -> None:
    """Move a line to `position` (0-based); the first line is the principal / first-listed."""
    item = _recoding(item, by)
    lines = _lines(item, kind)
    line = _line(lines, index)
    position = max(0, min(position, len(lines) - 1))
    lines.pop(index)
    lines.insert(position, line)
    item.save(update_fields=["audited_coding"])


@transaction.atomic
def recode_line_update(
    *,
    item: AuditItem,
    by: User,
    kind: str,
    index: int,
    poa: str | None = None,
    modifiers: list[str] | None = None,
    units: int | None = None,
) -> None:
    item = _recoding(item, by)
    line = _line(_lines(item, kind), index)
    if kind == "diagnoses" and poa is not None:
        poa = poa.strip().upper()
        if poa not in POA_VALUES:
            raise ValidationError({"poa": "POA is Y, N, U, W or 1."})
        line["poa"] = poa or None
    if kind == "procedures":
        if modifiers is not None:
            clean = [m.strip().upper() for m in modifiers if m.strip()]
            if len(clean) > 4 or any(not re.fullmatch(r"[A-Z0-9]{2}", m) for m in clean):
                raise ValidationError({"modifiers": "Up to four modifiers of two characters."})
            line["modifiers"] = clean
        if units is not None:
            if units < 1 or units > 9999:
                raise ValidationError({"units": "Units are a whole number from 1."})
            line["units"] = units
    item.save(update_fields=["audited_coding"])


def _audited_json(item: AuditItem) -> dict[str, Any]:
    return {
        **item.original_coding,
        "diagnoses": [
            {"code": d["code"], "poa": d.get("poa")} for d in item.audited_coding["diagnoses"]
        ],
        "procedures": [
            {k: p.get(k) for k in ("system", "code", "modifiers", "units", "date")}
            for p in item.audited_coding["procedures"]
        ],
    }


def audited_drg(item: AuditItem) -> dict[str, Any]:
    """The MS-DRG of the auditor's codes (inpatient), grouped like the original."""
    if item.encounter.type != Encounter.Type.INPATIENT:
        return {}
    from codesets.drg import DrgError, group
    from codesets.edits import encounter_from_json

    try:
        return group(encounter_from_json(_audited_json(item))).as_dict()
    except (DrgError, ValueError) as exc:
        return {"error": str(exc)}


@transaction.atomic
def item_complete(*, item: AuditItem, by: User) -> AuditItem:
    """Finish the blind re-code: compare, and record one finding per difference."""
    item = _recoding(item, by)
    if not item.audited_coding["diagnoses"]:
        raise ValidationError("Add at least one diagnosis before completing the re-code.")
    inpatient = item.encounter.type == Encounter.Type.INPATIENT
    item.audited_drg = audited_drg(item)
    result = comparison.compare(
        item.original_coding,
        item.audited_coding,
        inpatient=inpatient,
        original_drg=item.original_drg,
        audited_drg=item.audited_drg,
    )
    Finding.objects.bulk_create(
        Finding(
            item=item,
            kind=draft.kind,
            category=draft.category,
            severity=draft.severity,
            code_kind=draft.code_kind,
            original_code=draft.original_code,
            audited_code=draft.audited_code,
            detail=draft.detail,
        )
        for draft in result.findings
    )
    item.codes_agreed = result.codes_agreed
    item.codes_total = result.codes_total
    item.weight_difference = result.weight_difference
    item.payment_effect = result.payment_effect
    item.status = AuditItem.Status.COMPARED
    item.compared_at = timezone.now()
    item.save(
        update_fields=[
            "audited_drg",
            "codes_agreed",
            "codes_total",
            "weight_difference",
            "payment_effect",
            "status",
            "compared_at",
        ]
    )
    return item


# --- findings ---------------------------------------------------------------------------------


def _lock_finding(finding: Finding) -> Finding:
    return (
        Finding.objects.select_for_update().select_related("item", "item__plan").get(pk=finding.pk)
    )


@transaction.atomic
def finding_update(
    *, finding: Finding, by: User, category: str, severity: str, note: str
) -> Finding:
    """The auditor's category, severity and note on a finding, until the item is closed."""
    finding = _lock_finding(finding)
    _require(by, Capability.RUN_AUDITS)
    if finding.item.status != AuditItem.Status.COMPARED:
        raise ValidationError("Findings can be edited only until the item is closed.")
    if (
        by.pk != finding.item.auditor_id
        and not finding.item.plan.auditors.filter(pk=by.pk).exists()
    ):
        raise PermissionDenied("Only the plan's auditors may edit its findings.")
    errors = {}
    if category not in Finding.Category.values:
        errors["category"] = "Choose a category."
    if severity not in Finding.Severity.values:
        errors["severity"] = "Choose a severity."
    if errors:
        raise ValidationError(errors)
    finding.category, finding.severity, finding.note = category, severity, note.strip()
    finding.save(update_fields=["category", "severity", "note"])
    return finding


@transaction.atomic
def finding_respond(*, finding: Finding, by: User, response: str, reason: str = "") -> Finding:
    """The coder agrees with a finding on their work, or disputes it with a reason."""
    finding = _lock_finding(finding)
    _require(by, Capability.CODE_ENCOUNTERS)
    if finding.item.coder_id != by.pk:
        raise PermissionDenied("Only the coder of this encounter may answer its findings.")
    if finding.item.status not in (AuditItem.Status.COMPARED, AuditItem.Status.CLOSED):
        raise ValidationError("This audit is not finished yet.")
    if finding.resolution:
        raise ValidationError("A senior coder has already resolved this finding.")
    if response == Finding.Response.DISPUTED:
        if not reason.strip():
            raise ValidationError({"reason": "Say why you dispute the finding."})
    elif response != Finding.Response.AGREED:
        raise ValidationError({"response": "Agree or dispute."})
    finding.response = response
    finding.dispute_reason = reason.strip() if response == Finding.Response.DISPUTED else ""
    finding.responded_at = timezone.now()
    finding.save(update_fields=["response", "dispute_reason", "responded_at"])
    return finding


@transaction.atomic
def finding_resolve(*, finding: Finding, by: User, resolution: str, note: str = "") -> Finding:
    """A senior coder upholds or overturns a disputed finding."""
    finding = _lock_finding(finding)
    _require(by, Capability.RUN_AUDITS)
    if finding.response != Finding.Response.DISPUTED:
        raise ValidationError("Only disputed findings are resolved.")
    if finding.item.coder_id == by.pk:
        raise PermissionDenied("You cannot resolve a dispute about your own work.")
    if resolution not in (Finding.Resolution.UPHELD, Finding.Resolution.OVERTURNED):
        raise ValidationError({"resolution": "Uphold or overturn the finding."})
    if resolution == Finding.Resolution.OVERTURNED and not note.strip():
        raise ValidationError({"note": "Say why the finding is overturned."})
    finding.resolution = resolution
    finding.resolution_note = note.strip()
    finding.resolved_by = by
    finding.resolved_at = timezone.now()
    finding.save(update_fields=["resolution", "resolution_note", "resolved_by", "resolved_at"])
    return finding


def findings_standing(item: AuditItem) -> list[Finding]:
    """Findings that still stand: every one not overturned."""
    return [f for f in item.findings.all() if f.resolution != Finding.Resolution.OVERTURNED]


@transaction.atomic
def item_close(*, item: AuditItem, by: User) -> AuditItem:
    """Close a compared item. Pre-bill: release the encounter to billing, or send it back to
    coding when findings stand (the note lists them)."""
    from encounters.services import transition_record

    item = _lock_item(item)
    _require(by, Capability.RUN_AUDITS)
    if not item.plan.auditors.filter(pk=by.pk).exists():
        raise PermissionDenied("Only the plan's auditors may close its items.")
    if item.status != AuditItem.Status.COMPARED:
        raise ValidationError("Only a compared item can be closed.")
    waiting = item.findings.filter(response=Finding.Response.DISPUTED, resolution="").count()
    if waiting:
        raise ValidationError(
            f"{waiting} disputed finding{'s' if waiting != 1 else ''} still to resolve."
        )
    if item.plan.kind == AuditPlan.Kind.PRE_BILL:
        encounter = Encounter.objects.select_for_update().get(pk=item.encounter_id)
        if encounter.status == Encounter.Status.PRE_BILL_AUDIT:
            standing = findings_standing(item)
            if standing:
                codes = ", ".join(
                    f"{f.get_kind_display().lower()} {f.original_code or f.audited_code}"
                    for f in standing
                )
                transition_record(
                    encounter=encounter,
                    to=Encounter.Status.CODING,
                    by=by,
                    note=f"Audit findings to correct: {codes}",
                    detail={"audit_item": item.pk},
                )
            else:
                transition_record(
                    encounter=encounter,
                    to=Encounter.Status.READY_TO_BILL,
                    by=by,
                    note="Pre-bill audit passed",
                    detail={"audit_item": item.pk},
                )
    item.status = AuditItem.Status.CLOSED
    item.closed_at = timezone.now()
    item.save(update_fields=["status", "closed_at"])
    return item
