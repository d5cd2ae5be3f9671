"""See and tune the automatic complex-case rules (senior coders and admins)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from accounts.permissions import Capability, capability_required, has_capability
from encounters import case_rules
from encounters.models import ComplexCaseRules


def _values_of(rules: ComplexCaseRules) -> dict:
    return {
        "flag_mcc": rules.flag_mcc,
        "flag_surgical_drg": rules.flag_surgical_drg,
        "max_diagnoses": str(rules.max_diagnoses),
        "max_procedures": str(rules.max_procedures),
        "min_relative_weight": case_rules._number(rules.min_relative_weight),
        "payers": "\n".join(rules.payers or []),
    }


# (label, field, kind of input, what it does, hint)
RULE_ROWS = [
    (
        case_rules.MCC,
        "flag_mcc",
        "check",
        "Flag inpatient stays with an MCC",
        "A secondary diagnosis the MS-DRG grouper counts as a major complication or comorbidity.",
    ),
    (
        case_rules.SURGICAL,
        "flag_surgical_drg",
        "check",
        "Flag inpatient stays that group to a surgical MS-DRG",
        "Surgical as CMS Table 5 types the DRG (an operating-room procedure drives it).",
    ),
    (
        case_rules.WEIGHT,
        "min_relative_weight",
        "number",
        "Flag when the MS-DRG relative weight is at least",
        "CMS Table 5 weight for the discharge's fiscal year; 0 turns this rule off.",
    ),
    (
        case_rules.DIAGNOSES,
        "max_diagnoses",
        "number",
        "Flag when an encounter has more diagnoses than",
        "0 turns this rule off.",
    ),
    (
        case_rules.PROCEDURES,
        "max_procedures",
        "number",
        "Flag when an encounter has more procedures than",
        "0 turns this rule off.",
    ),
    (
        case_rules.PAYER,
        "payers",
        "text",
        "Flag every encounter of these payers",
        "One payer a line, as written on encounters (capitals do not matter).",
    ),
]


@capability_required(Capability.TUNE_CASE_RULES)
def case_rules_page(request: HttpRequest) -> HttpResponse:
    rules = ComplexCaseRules.current()
    values = _values_of(rules)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        # Keep what was typed, so a mistake loses nothing.
        values = {
            "flag_mcc": request.POST.get("flag_mcc") == "on",
            "flag_surgical_drg": request.POST.get("flag_surgical_drg") == "on",
            "max_diagnoses": request.POST.get("max_diagnoses", "").strip(),
            "max_procedures": request.POST.get("max_procedures", "").strip(),
            "min_relative_weight": request.POST.get("min_relative_weight", "").strip(),
            "payers": request.POST.get("payers", ""),
        }
        try:
            result = case_rules.case_rules_update(by=request.user, **values)
        except ValidationError as exc:
            errors = exc.message_dict
        else:
            messages.success(
                request,
                "Complex-case rules saved. Open encounters were re-flagged: "
                f"{result.changed} changed.",
            )
            return redirect("encounters:case_rules")
    counts = case_rules.case_rule_counts()
    rows = [
        {"label": label, "field": field, "kind": kind, "text": text, "hint": hint}
        | {"count": counts[label], "value": values[field], "errors": errors.get(field, [])}
        for label, field, kind, text, hint in RULE_ROWS
    ]
    context = {
        "rules": rules,
        "rows": rows,
        "errors": errors,
        "flagged": case_rules.flagged_open_count(),
        "can_see_queue": has_capability(request.user, Capability.WORK_COMPLEX_CASES),
    }
    return render(request, "encounters/case_rules.html", context, status=400 if errors else 200)
