"""The APC panel of the coding workspace (outpatient and emergency hospital claims).

The workspace includes templates/encounters/_apc_panel.html, which loads the panel from
`apc_panel`; the what-if form (`apc_what_if`) re-runs the IOCE with lines left out or added,
saving nothing. Grouping and pricing views need GROUP_DRG (intermediate coders and up).
"""

import re
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from accounts.permissions import Capability, capability_required
from codesets.apc import ApcError, apc_group, apc_what_if
from codesets.edits import EncounterError, encounter_from_json
from encounters import selectors
from encounters.coding import encounter_as_json
from encounters.models import Encounter

PANEL = "encounters/_apc_panel.html#panel"
HOSPITAL_OUTPATIENT = (Encounter.Type.OUTPATIENT, Encounter.Type.EMERGENCY)


def _panel(
    request: HttpRequest,
    encounter: Encounter,
    drop: tuple[str, ...] = (),
    add: tuple[str, ...] = (),
) -> HttpResponse:
    context: dict[str, Any] = {
        "encounter": encounter,
        "outpatient_hospital": encounter.type in HOSPITAL_OUTPATIENT,
        "drop": drop,
        "add": " ".join(add),
    }
    if context["outpatient_hospital"]:
        codes = list(
            encounter.procedures.exclude(system="icd10pcs")
            .order_by("sequence")
            .values_list("code", flat=True)
        )
        context["lines"] = [{"code": code, "kept": code not in drop} for code in codes]
        try:
            coded = encounter_from_json(encounter_as_json(encounter))
            if drop or add:
                context["result"], context["what_if"] = apc_what_if(coded, drop=drop, add=add)
            else:
                context["result"] = apc_group(coded)
        except (ApcError, EncounterError) as exc:
            context["error"] = str(exc)
    return render(request, PANEL, context)


@capability_required(Capability.GROUP_DRG)
@require_GET
def apc_panel(request: HttpRequest, pk: int) -> HttpResponse:
    return _panel(request, selectors.encounter_get_for(user=request.user, pk=pk))


@capability_required(Capability.GROUP_DRG)
@require_POST
def apc_what_if_view(request: HttpRequest, pk: int) -> HttpResponse:
    encounter = selectors.encounter_get_for(user=request.user, pk=pk)
    coded = encounter.procedures.exclude(system="icd10pcs").values_list("code", flat=True)
    keep = set(request.POST.getlist("keep"))
    drop = tuple(code for code in coded if code not in keep)
    add = tuple(c for c in re.split(r"[\s,;]+", request.POST.get("add", "").upper()) if c)
    return _panel(request, encounter, drop=drop, add=add)
