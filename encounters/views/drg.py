"""The MS-DRG panel of the coding workspace (inpatient stays, GROUP_DRG).

The workspace includes templates/encounters/_drg_panel.html, which loads the panel from
`drg_panel`; the what-if form re-groups without saving (`drg_what_if`); "Save DRG" stores the
grouping as the encounter's DRG at save (`drg_save`). Each answers with the panel fragment.
"""

import re
from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from accounts.permissions import Capability, capability_required
from codesets.drg import Changes, DrgError, DrgResult
from codesets.edits import EncounterError
from encounters import drg_services, selectors
from encounters.models import Encounter

PANEL = "encounters/_drg_panel.html#panel"


def _codes(text: str) -> tuple[str, ...]:
    return tuple(code for code in re.split(r"[\s,;]+", text.strip().upper()) if code)


def _changes_from(request: HttpRequest, encounter: Encounter) -> Changes:
    """The what-if form: a checkbox per secondary diagnosis (unticked = left out), the
    principal select, and boxes for procedures and diagnoses to add."""
    coded = list(encounter.diagnoses.order_by("sequence").values_list("code", flat=True))
    keep = set(request.POST.getlist("keep"))
    principal = request.POST.get("principal", "").strip().upper()
    return Changes(
        drop=tuple(code for code in coded[1:] if code not in keep),
        add_diagnoses=_codes(request.POST.get("add_diagnosis", "")),
        principal=principal if coded and principal != coded[0] else "",
        add_procedures=_codes(request.POST.get("add_procedure", "")),
    )


def _since_save(result: DrgResult | None, saved: dict[str, Any]) -> dict[str, Any] | None:
    if not saved or result is None:
        return None
    before = Decimal(str(saved["weight"])) if saved.get("weight") is not None else None
    difference = (
        result.weight - before if result.weight is not None and before is not None else None
    )
    return {
        "saved": saved,
        "saved_at": str(saved.get("saved_at", ""))[:16].replace("T", " "),
        "drg_changed": saved.get("drg") != result.drg,
        "weight_difference": difference,
    }


def _panel(
    request: HttpRequest, encounter: Encounter, changes: Changes | None = None, note: str = ""
) -> HttpResponse:
    context: dict[str, Any] = {
        "encounter": encounter,
        "inpatient": encounter.type == Encounter.Type.INPATIENT,
        "changes": changes,
        "note": note,
    }
    if context["inpatient"]:
        diagnoses = list(encounter.diagnoses.order_by("sequence"))
        context["diagnoses"] = diagnoses
        context["secondary"] = [
            {
                "code": d.code,
                "description": d.description,
                "kept": not changes or d.code not in changes.drop,
            }
            for d in diagnoses[1:]
        ]
        try:
            if changes and not changes.empty:
                found = drg_services.encounter_drg_what_if(encounter=encounter, changes=changes)
                context.update(result=found.before, what_if=found)
            else:
                context["result"] = drg_services.encounter_drg(encounter=encounter)
        except (DrgError, EncounterError) as exc:
            context["error"] = str(exc)
        context["principal"] = (changes.principal if changes else "") or (
            diagnoses[0].code if diagnoses else ""
        )
        context["since_save"] = _since_save(context.get("result"), encounter.drg_at_save)
    return render(request, PANEL, context)


@capability_required(Capability.GROUP_DRG)
@require_GET
def drg_panel(request: HttpRequest, pk: int) -> HttpResponse:
    encounter = selectors.encounter_get_for(user=request.user, pk=pk)
    return _panel(request, encounter)


@capability_required(Capability.GROUP_DRG)
@require_POST
def drg_what_if(request: HttpRequest, pk: int) -> HttpResponse:
    encounter = selectors.encounter_get_for(user=request.user, pk=pk)
    return _panel(request, encounter, _changes_from(request, encounter))


@capability_required(Capability.GROUP_DRG)
@require_POST
def drg_save(request: HttpRequest, pk: int) -> HttpResponse:
    encounter = selectors.encounter_get_for(user=request.user, pk=pk)
    note = ""
    if encounter.type == Encounter.Type.INPATIENT:
        try:
            saved = drg_services.encounter_drg_save(encounter=encounter, by=request.user)
            note = f"DRG {saved['drg']} saved."
        except (DrgError, EncounterError) as exc:
            note = f"Not saved: {exc}"
    return _panel(request, encounter, note=note)
