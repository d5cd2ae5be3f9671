"""Payer coverage rules: services (create, update, deactivate), selectors and the COVERAGE check.

A rule says that a payer covers one procedure code only with a supporting diagnosis (a code,
or a prefix ending in "*"), and/or at most `frequency_limit` services in `frequency_days`
days. Admins maintain the rules; the edits engine checks them as rule COVERAGE through
`check_coverage` (called from codesets.edits.check) for encounters that name their payer.

This module must not import codesets.edits at module level: codesets.edits imports it back
(lazily) from the check.
"""

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import User
from accounts.permissions import Capability, has_capability
from codesets.models import Code, CoverageRule
from codesets.selectors import release_in_force

if TYPE_CHECKING:
    from codesets.edits.encounter import Edit, EncounterInput, Procedure

SYSTEM_LABELS = {"hcpcs": "HCPCS", "cpt": "CPT", "icd10pcs": "ICD-10-PCS"}
_CPT = re.compile(r"^\d{4}[0-9A-Z]$")  # 99213, 0001U, 0075T, 1036F
_DIAGNOSIS = re.compile(r"^[A-Z][0-9][0-9A-Z](\.?[0-9A-Z]{0,4})$")
_PREFIX = re.compile(r"^[A-Z][0-9A-Z]{0,6}$")
MAX_FREQUENCY_DAYS = 3650  # ten years: the longest screening interval payers use


def _plain(code: str) -> str:
    return code.strip().upper().replace(".", "").rstrip("-")


def _family(system: str) -> str:
    """CPT is HCPCS Level I: a CPT rule matches a line sent as either system."""
    return "icd10pcs" if system == "icd10pcs" else "hcpcs"


# -- validation -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CleanRule:
    payer: str
    procedure_system: str
    procedure_code: str
    supporting_diagnoses: list[str]
    frequency_limit: int | None
    frequency_days: int | None
    policy: str
    note: str
    effective_from: date | None
    effective_to: date | None


def parse_diagnoses(text: str | list[str] | None) -> list[str]:
    """Diagnoses as typed (commas, spaces or new lines between them), upper case, no repeats."""
    if text is None:
        return []
    items = text if isinstance(text, list) else re.split(r"[\s,;]+", text)
    return list(dict.fromkeys(i.strip().upper() for i in items if i and i.strip()))


def _check_procedure(system: str, code: str, on: date) -> str:
    """The code as coders write it, or a ValidationError naming what is wrong."""
    code = code.strip().upper()
    if not code:
        raise ValidationError({"procedure_code": "Enter the procedure code the rule is for."})
    release = release_in_force(system=system, on=on)
    if system == "cpt":
        if not _CPT.match(code):
            raise ValidationError(
                {
                    "procedure_code": f"{code} is not a CPT code: CPT codes are five characters "
                    "(e.g. 93000, 0075T)."
                }
            )
        if release is None:  # CPT is licensed: without an import only the shape is checked
            return code
    if release is None:
        raise ValidationError(
            {
                "procedure_code": f"No {SYSTEM_LABELS[system]} release is in force on "
                f"{on.isoformat()}, so {code} cannot be checked. Import the release first."
            }
        )
    row = Code.objects.filter(release=release, code=_plain(code)).only("display").first()
    if row is None:
        raise ValidationError(
            {
                "procedure_code": f"{code} is not a code of {release.label} "
                f"({SYSTEM_LABELS[system]}, in force on {on.isoformat()})."
            }
        )
    return row.display or code


def _check_diagnoses(items: list[str], on: date) -> list[str]:
    if not items:
        return []
    release = release_in_force(system="icd10cm", on=on)
    if release is None:
        raise ValidationError(
            {"supporting_diagnoses": f"No ICD-10-CM release is in force on {on.isoformat()}."}
        )
    problems = []
    codes = {i: _plain(i) for i in items if not i.endswith("*")}
    found = {
        code: (display, billable)
        for code, display, billable in Code.objects.filter(
            release=release, code__in=set(codes.values())
        ).values_list("code", "display", "billable")
    }
    cleaned = []
    for item in items:
        if item.endswith("*"):
            prefix = _plain(item[:-1])
            if not _PREFIX.match(prefix):
                problems.append(f"{item}: a prefix is the start of a code, e.g. E11* or M17.1*.")
            elif not Code.objects.filter(release=release, code__startswith=prefix).exists():
                problems.append(f"{item}: no ICD-10-CM code in {release.label} starts with it.")
            else:
                cleaned.append(item)
            continue
        if not _DIAGNOSIS.match(item):
            problems.append(f"{item}: not an ICD-10-CM code (e.g. E11.9) or prefix (e.g. E11*).")
        elif codes[item] not in found:
            problems.append(f"{item}: not an ICD-10-CM code in {release.label}.")
        else:
            display, billable = found[codes[item]]
            if not billable:
                problems.append(
                    f"{item}: a category, not a billable code; write {display}* to accept every "
                    "code under it."
                )
            else:
                cleaned.append(display)
    if problems:
        raise ValidationError({"supporting_diagnoses": problems})
    return list(dict.fromkeys(cleaned))


def coverage_rule_clean(
    *,
    payer: str,
    procedure_system: str,
    procedure_code: str,
    supporting_diagnoses: str | list[str] | None = None,
    frequency_limit: int | None = None,
    frequency_days: int | None = None,
    policy: str = "",
    note: str = "",
    effective_from: date | None = None,
    effective_to: date | None = None,
    exclude_pk: int | None = None,
) -> CleanRule:
    """Validate a rule as typed; raise ValidationError with every problem found, by field."""
    errors: dict[str, list[str]] = {}

    def collect(exc: ValidationError) -> None:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)

    payer = (payer or "").strip()
    if not payer:
        errors["payer"] = ["Enter the payer the rule belongs to."]
    elif len(payer) > 120:
        errors["payer"] = ["A payer name is at most 120 characters."]
    if procedure_system not in SYSTEM_LABELS:
        errors["procedure_system"] = [f"Choose one of {', '.join(SYSTEM_LABELS.values())}."]
    if effective_from and effective_to and effective_to < effective_from:
        errors["effective_to"] = ["The rule cannot end before it starts."]
    on = effective_from or timezone.localdate()
    code = procedure_code.strip().upper()
    if "procedure_system" not in errors:
        try:
            code = _check_procedure(procedure_system, procedure_code, on)
        except ValidationError as exc:
            collect(exc)
    diagnoses: list[str] = []
    try:
        diagnoses = _check_diagnoses(parse_diagnoses(supporting_diagnoses), on)
    except ValidationError as exc:
        collect(exc)
    if (frequency_limit is None) != (frequency_days is None):
        missing = "frequency_days" if frequency_days is None else "frequency_limit"
        errors.setdefault(missing, []).append(
            "Give both the number of services and the number of days, or neither."
        )
    if frequency_limit is not None and not 1 <= frequency_limit <= 999:
        errors.setdefault("frequency_limit", []).append("Between 1 and 999 services.")
    if frequency_days is not None and not 1 <= frequency_days <= MAX_FREQUENCY_DAYS:
        errors.setdefault("frequency_days", []).append(f"Between 1 and {MAX_FREQUENCY_DAYS} days.")
    if (
        not parse_diagnoses(supporting_diagnoses)
        and frequency_limit is None
        and frequency_days is None
    ):
        errors.setdefault("supporting_diagnoses", []).append(
            "A rule needs supporting diagnoses, a frequency limit, or both; otherwise it checks "
            "nothing."
        )
    if payer and not errors.get("procedure_code") and procedure_system in SYSTEM_LABELS:
        clash = CoverageRule.objects.filter(
            payer__iexact=payer,
            procedure_system=procedure_system,
            procedure_code__iexact=code,
        ).exclude(pk=exclude_pk)
        if clash.exists():
            errors.setdefault("procedure_code", []).append(
                f"{payer} already has a rule for {code}; edit that rule instead."
            )
    if errors:
        raise ValidationError(errors)
    return CleanRule(
        payer=payer,
        procedure_system=procedure_system,
        procedure_code=code,
        supporting_diagnoses=diagnoses,
        frequency_limit=frequency_limit,
        frequency_days=frequency_days,
        policy=policy.strip()[:200],
        note=note.strip(),
        effective_from=effective_from,
        effective_to=effective_to,
    )


# -- services ---------------------------------------------------------------------------------


def _require(user: User) -> None:
    if not has_capability(user, Capability.MAINTAIN_COVERAGE_RULES):
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied("Only admins maintain coverage rules.")


def _apply(rule: CoverageRule, clean: CleanRule, by: User) -> None:
    for field, value in clean.__dict__.items():
        setattr(rule, field, value)
    rule.updated_by = by


@transaction.atomic
def coverage_rule_create(*, by: User, **fields: Any) -> CoverageRule:
    """Create a rule from typed fields (see coverage_rule_clean); active at once."""
    _require(by)
    clean = coverage_rule_clean(**fields)
    rule = CoverageRule(active=True)
    _apply(rule, clean, by)
    rule.save()
    return rule


@transaction.atomic
def coverage_rule_update(*, rule: CoverageRule, by: User, **fields: Any) -> CoverageRule:
    _require(by)
    locked = CoverageRule.objects.select_for_update().get(pk=rule.pk)
    clean = coverage_rule_clean(**fields, exclude_pk=locked.pk)
    _apply(locked, clean, by)
    locked.save()
    return locked


@transaction.atomic
def coverage_rule_set_active(*, rule: CoverageRule, by: User, active: bool) -> CoverageRule:
    """Deactivate (or reactivate) a rule; it is kept so its history stays readable."""
    _require(by)
    locked = CoverageRule.objects.select_for_update().get(pk=rule.pk)
    locked.active = active
    locked.updated_by = by
    locked.save(update_fields=["active", "updated_by", "updated_at"])
    return locked


def coverage_rule_deactivate(*, rule: CoverageRule, by: User) -> CoverageRule:
    return coverage_rule_set_active(rule=rule, by=by, active=False)


# The demo payer's rules (encounters/demo.py). Illustrative, not real payer policy; the codes
# are real (HCPCS G0439, CPT 94010; ICD-10-CM) so the edits engine can check them.
DEMO_RULES = [
    {
        "payer": "Medicare",
        "procedure_system": "hcpcs",
        "procedure_code": "G0439",
        "supporting_diagnoses": ["Z00.00", "Z00.01"],
        "frequency_limit": 1,
        "frequency_days": 365,
        "policy": "Demo rule: annual wellness visit, once a year (illustrative)",
    },
    {
        "payer": "Medicare",
        "procedure_system": "cpt",
        "procedure_code": "94010",
        "supporting_diagnoses": ["J44*", "J45*", "R06.0*", "R05*"],
        "policy": "Demo rule: spirometry with a respiratory diagnosis (illustrative)",
    },
]


@transaction.atomic
def coverage_demo_rules_load() -> int:
    """Create the demo payer's rules if missing. No validation against releases: the demo is
    loaded before the code sets may be imported; the rules above use real codes."""
    created = 0
    for fields in DEMO_RULES:
        _, made = CoverageRule.objects.get_or_create(
            payer=fields["payer"],
            procedure_system=fields["procedure_system"],
            procedure_code=fields["procedure_code"],
            defaults={
                k: v
                for k, v in fields.items()
                if k not in ("payer", "procedure_system", "procedure_code")
            },
        )
        created += made
    return created


# -- selectors --------------------------------------------------------------------------------


def coverage_rule_list(*, payer: str = "", code: str = "", status: str = "") -> QuerySet:
    """Rules for the admin list, filtered by payer (contains), code (starts with), status."""
    rules = CoverageRule.objects.select_related("updated_by")
    if payer.strip():
        rules = rules.filter(payer__icontains=payer.strip())
    if code.strip():
        rules = rules.filter(procedure_code__istartswith=code.strip())
    if status == "active":
        rules = rules.filter(active=True)
    elif status == "inactive":
        rules = rules.filter(active=False)
    return rules.order_by("payer", "procedure_code", "pk")


def coverage_payers() -> list[str]:
    return list(CoverageRule.objects.order_by("payer").values_list("payer", flat=True).distinct())


def coverage_rules_in_force(*, payer: str, on: date | None = None) -> list[CoverageRule]:
    """Active rules of a payer (any capitalisation) in force on a date (default: any date)."""
    if not payer.strip():
        return []
    rules = CoverageRule.objects.filter(payer__iexact=payer.strip(), active=True)
    if on is not None:
        rules = rules.filter(
            Q(effective_from__isnull=True) | Q(effective_from__lte=on),
            Q(effective_to__isnull=True) | Q(effective_to__gte=on),
        )
    return list(rules.select_related("updated_by"))


# -- the COVERAGE check -----------------------------------------------------------------------


def supports(rule: CoverageRule, code: str) -> bool:
    """Whether one diagnosis code is among (or under a prefix of) the rule's supporting ones."""
    written = _plain(code)
    for item in rule.supporting_diagnoses:
        if item.endswith("*"):
            if written.startswith(_plain(item[:-1])):
                return True
        elif written == _plain(item):
            return True
    return False


def _in_force(rule: CoverageRule, on: date) -> bool:
    return (rule.effective_from is None or rule.effective_from <= on) and (
        rule.effective_to is None or rule.effective_to >= on
    )


def _reference(rule: CoverageRule) -> str:
    policy = rule.policy or "no policy id recorded"
    updated = timezone.localtime(rule.updated_at).date().isoformat() if rule.updated_at else "?"
    return f"Coverage rule of {rule.payer} for {rule.procedure_code}: {policy}; updated {updated}."


def _times(number: int) -> str:
    return "1 service" if number == 1 else f"{number} services"


def _pointed(encounter: "EncounterInput", procedure: "Procedure") -> list[str]:
    """The diagnoses a line points to (pointers past the list are ignored)."""
    count = len(encounter.diagnoses)
    return [
        encounter.diagnoses[p - 1].code for p in procedure.diagnosis_pointers if 1 <= p <= count
    ]


def check_coverage(encounter: "EncounterInput") -> list["Edit"]:
    """COVERAGE edits for an encounter that names its payer (none without a payer)."""
    from codesets.edits.encounter import Edit

    if not encounter.payer or not encounter.procedures:
        return []
    rules = {
        (_family(r.procedure_system), _plain(r.procedure_code)): r
        for r in coverage_rules_in_force(payer=encounter.payer)
    }
    if not rules:
        return []
    edits: list[Edit] = []
    units_so_far: dict[str, int] = {}
    frequency_reported: set[str] = set()
    for procedure in encounter.procedures:
        key = (_family(procedure.system), _plain(procedure.code))
        rule = rules.get(key)
        on = encounter.procedure_date(procedure)
        if rule is None or not _in_force(rule, on):
            continue
        if rule.supporting_diagnoses:
            # The line's pointed diagnoses when it has any, else every diagnosis on the claim.
            pointed = _pointed(encounter, procedure)
            considered = pointed or [d.code for d in encounter.diagnoses]
            if not any(supports(rule, code) for code in considered):
                edits.append(_not_supported(rule, procedure, considered, bool(pointed)))
        if rule.frequency_limit and rule.frequency_days:
            units_so_far[key[1]] = units_so_far.get(key[1], 0) + procedure.units
            if key[1] in frequency_reported:
                continue
            start = on - timedelta(days=rule.frequency_days - 1)
            prior = sorted(
                s.date
                for s in encounter.prior_services
                if _plain(s.code) == key[1] and start <= s.date <= on
            )
            total = len(prior) + units_so_far[key[1]]
            if total > rule.frequency_limit:
                frequency_reported.add(key[1])
                edits.append(_too_often(rule, procedure, prior, units_so_far[key[1]], total))
    return edits


def _not_supported(
    rule: CoverageRule, procedure: "Procedure", considered: list[str], pointed: bool
) -> "Edit":
    from codesets.edits.encounter import Edit

    which = (
        f"the diagnoses this line points to ({', '.join(considered)})"
        if pointed
        else (
            f"the encounter's diagnoses ({', '.join(considered)})"
            if considered
            else "the encounter (it has no diagnoses)"
        )
    )
    return Edit(
        "COVERAGE",
        "error",
        (procedure.code,),
        f"{rule.payer} covers {procedure.code} only with a supporting diagnosis, and none of "
        f"{which} supports it. Diagnoses that would: {_wanted(rule)}.{_policy(rule)}",
        _reference(rule),
    )


def _wanted(rule: CoverageRule) -> str:
    """ "Z00.00, Z00.01 or any code under J44, J45" from the rule's codes and prefixes."""
    codes = [item for item in rule.supporting_diagnoses if not item.endswith("*")]
    prefixes = [item[:-1].rstrip(".") for item in rule.supporting_diagnoses if item.endswith("*")]
    parts = [", ".join(codes)] if codes else []
    if prefixes:
        parts.append("any code under " + _or(prefixes))
    return " or ".join(parts)


def _or(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"


def _policy(rule: CoverageRule) -> str:
    return f" Policy: {rule.policy}." if rule.policy else ""


def _too_often(
    rule: CoverageRule, procedure: "Procedure", prior: list[date], units: int, total: int
) -> "Edit":
    from codesets.edits.encounter import Edit

    history = (
        f"the patient already had it on {', '.join(d.isoformat() for d in prior)}"
        if prior
        else "the patient had no earlier service in that time"
    )
    return Edit(
        "COVERAGE",
        "error",
        (procedure.code,),
        f"{rule.payer} covers {procedure.code} at most {_times(rule.frequency_limit or 0)} in "
        f"{rule.frequency_days} days: {history}, and this claim adds {units} — {total} in all."
        + _policy(rule),
        _reference(rule),
    )
