"""Modifier picker and units guidance of the coding workspace (htmx partials).

Both endpoints read only: the coder's picks are saved by the line form through
`procedure_update` (the one save path, with its version check). They take the line's unsaved
modifiers and units as query parameters, so the options and the guidance follow what the
coder is typing before anything is saved.
"""

import logging

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render

from accounts.permissions import Capability, capability_required
from codesets import modifiers as modifier_selectors
from codesets.edits import EncounterError, EncounterInput, encounter_from_json
from encounters import selectors
from encounters.coding import encounter_as_json
from encounters.models import Encounter, ProcedureAssignment

logger = logging.getLogger(__name__)


def _what_if(request: HttpRequest, data: dict, index: int) -> bool:
    """Put the line's unsaved modifiers/units (from the query string) into the encounter JSON;
    anything malformed is ignored (the saved value stays): this is guidance, not a save.
    True when the result differs from what is saved."""
    line = data["procedures"][index]
    saved = (list(line["modifiers"]), line["units"])
    if "modifiers" in request.GET:
        line["modifiers"] = [
            m.strip().upper()
            for m in request.GET.getlist("modifiers")
            if len(m.strip()) == 2 and m.strip().isalnum()
        ]
    units = request.GET.get("units", "")
    if units.isdigit() and 1 <= int(units) <= 99999:
        line["units"] = int(units)
    return (line["modifiers"], line["units"]) != saved


def _line(
    request: HttpRequest, pk: int
) -> tuple[Encounter, ProcedureAssignment, EncounterInput, int, bool]:
    encounter = selectors.encounter_get_for(user=request.user, pk=pk)
    procedure_id = request.GET.get("procedure", "")
    procedures = list(encounter.procedures.order_by("sequence"))
    ids = [p.pk for p in procedures]
    if not procedure_id.isdigit() or int(procedure_id) not in ids:
        raise LookupError("Choose a procedure line of this encounter.")
    index = ids.index(int(procedure_id))
    data = encounter_as_json(encounter)
    unsaved = _what_if(request, data, index)
    return encounter, procedures[index], encounter_from_json(data), index, unsaved


@capability_required(Capability.CODE_ENCOUNTERS)
def modifier_options(request: HttpRequest, pk: int) -> HttpResponse:
    """The picker's grouped options for one procedure line (`?procedure=<id>&q=<text>`)."""
    try:
        encounter, procedure, data, index, _unsaved = _line(request, pk)
    except (LookupError, EncounterError) as exc:
        return HttpResponseBadRequest(str(exc))
    query = request.GET.get("q", "")[:60]
    groups = modifier_selectors.modifier_options(encounter=data, index=index, query=query)
    return render(
        request,
        "encounters/_modifier_options.html",
        {
            "encounter": encounter,
            "p": procedure,
            "groups": groups,
            "q": query,
            "count": len({o.code for g in groups for o in g.options}),
        },
    )


@capability_required(Capability.VIEW_CHARTS)
def modifier_guidance(request: HttpRequest, pk: int) -> HttpResponse:
    """NCCI pairs, MUE and modifier descriptions of one line (`?procedure=<id>`, optionally
    with the unsaved `modifiers` and `units`)."""
    try:
        encounter, procedure, data, index, unsaved = _line(request, pk)
    except (LookupError, EncounterError) as exc:
        return HttpResponseBadRequest(str(exc))
    guidance = modifier_selectors.line_guidance(encounter=data)[index]
    procedure.guidance = guidance
    return render(
        request,
        "encounters/_modifier_guidance.html",
        {"encounter": encounter, "p": procedure, "unsaved": unsaved},
    )


def attach_line_guidance(encounter: Encounter, procedures: list[ProcedureAssignment]) -> None:
    """Give each procedure line of the workspace its `guidance` (NCCI pairs, MUE, modifier
    descriptions). A failure leaves the lines without guidance rather than breaking the page:
    the edits panel still reports NCCI and MUE."""
    for procedure in procedures:
        procedure.guidance = None
    if not procedures:
        return
    try:
        found = modifier_selectors.line_guidance(
            encounter=encounter_from_json(encounter_as_json(encounter))
        )
    except Exception:  # logged for the team; the workspace stays usable
        logger.exception("modifier guidance failed on encounter %s", encounter.pk)
        return
    for procedure, guidance in zip(procedures, found, strict=False):
        procedure.guidance = guidance
