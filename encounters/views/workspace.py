"""The coding workspace: documents on the left, codes and live edits on the right. For htmx
requests it answers with out-of-band fragments (code lists, edits, version, messages)."""

import logging
from collections.abc import Callable
from datetime import date

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from accounts.permissions import Capability, capability_required, has_capability
from encounters import selectors, services
from encounters.models import DiagnosisAssignment, Encounter
from encounters.services import StaleEdit, SubmitBlocked
from encounters.views.common import (
    SEVERITIES,
    SYSTEM_LABELS,
    _is_htmx,
    _message_of,
    _version,
)
from encounters.views.modifiers import attach_line_guidance
from encounters.workflow import EDITABLE

logger = logging.getLogger(__name__)

# --- coding workspace -----------------------------------------------------------------------


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _text_html(text: str) -> str:
    """Document text for a pre-wrap block. CR as a character reference survives HTML parsing,
    so character offsets in the browser match offsets into Document.text."""
    return mark_safe(escape(text).replace("\r", "&#13;"))


def _edits_of(encounter: Encounter) -> tuple[list[dict], str]:
    try:
        from encounters.coding import encounter_edits

        return encounter_edits(encounter=encounter), ""
    except ImportError:
        return [], "The edits engine is unavailable; codes are not being checked."
    except Exception:  # the workspace stays usable; the failure is logged for the team
        logger.exception("edits engine failed on encounter %s", encounter.pk)
        return [], "The edits engine could not check this encounter; try again or tell support."


def _can_edit(user, encounter: Encounter) -> bool:
    return (
        has_capability(user, Capability.CODE_ENCOUNTERS)
        and encounter.status in EDITABLE
        and (
            encounter.assignee_id in (None, user.pk)
            or has_capability(user, Capability.REVIEW_JUNIORS)
        )
    )


def _coding_context(user, encounter: Encounter) -> dict:
    diagnoses = list(encounter.diagnoses.select_related("evidence_document").order_by("sequence"))
    procedures = list(encounter.procedures.select_related("evidence_document").order_by("sequence"))
    edits, edits_note = _edits_of(encounter)
    groups = [
        {"severity": key, "label": label, "edits": [e for e in edits if e["severity"] == key]}
        for key, label in SEVERITIES
    ]
    flagged: dict[str, str] = {}
    for edit in edits:
        for code in edit["codes"]:
            if flagged.get(code) != "error":
                flagged[code] = edit["severity"]
    for item in [*diagnoses, *procedures]:
        item.flag = flagged.get(item.code, "")
    for procedure in procedures:
        procedure.modifier_slots = (list(procedure.modifiers) + [""] * 4)[:4]
    attach_line_guidance(encounter, procedures)  # NCCI/MUE guidance under each line
    procedure_systems = services.procedure_systems_for(encounter)
    return {
        "encounter": encounter,
        "diagnoses": diagnoses,
        "procedures": procedures,
        "edits": edits,
        "edit_groups": [g for g in groups if g["edits"]],
        "edit_counts": {g["severity"]: len(g["edits"]) for g in groups},
        "edits_note": edits_note,
        "can_edit": _can_edit(user, encounter),
        "inpatient": encounter.type == Encounter.Type.INPATIENT,
        "poa_choices": DiagnosisAssignment.Poa.choices,
        "dos": encounter.date_of_service.isoformat(),
        "procedure_systems": [(s, SYSTEM_LABELS[s]) for s in procedure_systems],
        "errors_block": any(e["severity"] == "error" for e in edits),
    }


@capability_required(Capability.VIEW_CHARTS)
def workspace(request: HttpRequest, pk: int) -> HttpResponse:
    encounter = selectors.encounter_get_for(user=request.user, pk=pk)
    documents = list(encounter.documents.all())
    selectors.chart_open(
        user=request.user, encounter=encounter, documents=documents, request=request
    )
    for document in documents:
        document.text_html = _text_html(document.text)
    source_codes = list(encounter.source_codes.all())
    active: int | str | None = None
    if request.GET.get("doc") == "source" and source_codes:
        active = "source"
    elif request.GET.get("doc", "").isdigit():
        active = int(request.GET["doc"])
    if documents and active != "source" and active not in {d.pk for d in documents}:
        active = documents[0].pk
    user = request.user
    context = {
        **_coding_context(user, encounter),
        "documents": documents,
        "active_doc": active,
        "source_codes": source_codes,
        "patient": encounter.patient,
        "age": _age(encounter.patient.birth_date, encounter.date_of_service),
        "can_claim": has_capability(user, Capability.CODE_ENCOUNTERS)
        and encounter.status == Encounter.Status.READY
        and encounter.assignee_id is None,
        "can_unclaim": encounter.status == Encounter.Status.CODING
        and encounter.assignee_id == user.pk
        and not encounter.is_practice,  # a practice copy is the coder's own
        "can_release": has_capability(user, Capability.INTAKE_CHARTS)
        and encounter.status == Encounter.Status.INTAKE,
        "can_intake": has_capability(user, Capability.INTAKE_CHARTS),
        "transitions": list(encounter.transitions.select_related("by").order_by("-at")[:8]),
    }
    return render(request, "encounters/workspace.html", context)


def _fragment(name: str, context: dict, request: HttpRequest) -> str:
    return render_to_string(f"encounters/workspace.html#{name}", context, request=request)


def _coding_change(
    request: HttpRequest, pk: int, change: Callable[[Encounter, int], str], slot: str
) -> HttpResponse:
    """Run one coding change and answer with the pieces of the workspace that it touched.

    htmx: out-of-band fragments (code lists, edits, version, the evidence picker); on a stale
    version or a refused change only the message, so nothing the coder typed is lost.
    Without JavaScript: a message and back to the workspace.
    """
    encounter = selectors.encounter_get_for(user=request.user, pk=pk)
    error, stale, done = "", False, ""
    try:
        done = change(encounter, _version(request))
    except StaleEdit as exc:
        error, stale = str(exc), True
    except (ValidationError, PermissionDenied) as exc:
        error = _message_of(exc)
    if not _is_htmx(request):
        if error:
            messages.error(request, error)
        elif done:
            messages.success(request, done)
        return redirect("encounters:workspace", pk=pk)
    if error:
        context = {
            "oob": True,
            "slot": slot,
            "error": error,
            "stale": stale,
            "encounter": encounter,
        }
        html = _fragment("alert", context, request)
        if not stale:
            html += _fragment("slot-error", context, request)
        return HttpResponse(html)
    encounter.refresh_from_db()
    context = {**_coding_context(request.user, encounter), "oob": True, "done": done}
    html = "".join(
        _fragment(name, context, request)
        for name in ("diagnoses", "procedures", "edits", "version", "evidence-targets", "alert")
    )
    response = HttpResponse(html)
    response["HX-Trigger"] = "codingSaved"
    return response


def _int(value: str | None, label: str) -> int:
    try:
        return int(value or "")
    except ValueError as exc:
        raise ValidationError(f"{label} must be a whole number.") from exc


def _date_or_none(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ValidationError(f"{value!r} is not a date (YYYY-MM-DD).") from exc


def _code_param(request: HttpRequest) -> str:
    code = (request.POST.get("code") or request.POST.get("q") or "").strip()
    if not code:
        raise ValidationError("Type a code, or pick one from the search results.")
    return code


@capability_required(Capability.CODE_ENCOUNTERS)
@require_POST
def diagnosis_add(request: HttpRequest, pk: int) -> HttpResponse:
    def change(encounter: Encounter, version: int) -> str:
        added = services.diagnosis_add(
            encounter=encounter,
            by=request.user,
            version=version,
            code=_code_param(request),
            poa=request.POST.get("poa", ""),
        )
        return f"{added.code} added as diagnosis {added.sequence}."

    return _coding_change(request, pk, change, "dx-error")


@capability_required(Capability.CODE_ENCOUNTERS)
@require_POST
def diagnosis_remove(request: HttpRequest, pk: int) -> HttpResponse:
    def change(encounter: Encounter, version: int) -> str:
        services.diagnosis_remove(
            encounter=encounter,
            by=request.user,
            version=version,
            diagnosis_id=_int(request.POST.get("diagnosis_id"), "The diagnosis"),
        )
        return "Diagnosis removed."

    return _coding_change(request, pk, change, "dx-error")


@capability_required(Capability.CODE_ENCOUNTERS)
@require_POST
def diagnosis_move(request: HttpRequest, pk: int) -> HttpResponse:
    def change(encounter: Encounter, version: int) -> str:
        position = _int(request.POST.get("position"), "The position")
        services.diagnosis_move(
            encounter=encounter,
            by=request.user,
            version=version,
            diagnosis_id=_int(request.POST.get("diagnosis_id"), "The diagnosis"),
            position=position,
        )
        return f"Diagnosis moved to position {position}."

    return _coding_change(request, pk, change, "dx-error")


@capability_required(Capability.CODE_ENCOUNTERS)
@require_POST
def diagnosis_poa(request: HttpRequest, pk: int) -> HttpResponse:
    def change(encounter: Encounter, version: int) -> str:
        services.diagnosis_set_poa(
            encounter=encounter,
            by=request.user,
            version=version,
            diagnosis_id=_int(request.POST.get("diagnosis_id"), "The diagnosis"),
            poa=request.POST.get("poa", ""),
        )
        return "POA indicator saved."

    return _coding_change(request, pk, change, "dx-error")


def _line_fields(request: HttpRequest) -> dict:
    pointers = [p for p in request.POST.get("diagnosis_pointers", "").replace(" ", ",").split(",")]
    return {
        "modifiers": request.POST.getlist("modifiers"),
        "units": _int(request.POST.get("units") or "1", "Units"),
        "performed_on": _date_or_none(request.POST.get("performed_on")),
        "diagnosis_pointers": [_int(p, "A diagnosis pointer") for p in pointers if p],
    }


@capability_required(Capability.CODE_ENCOUNTERS)
@require_POST
def procedure_add(request: HttpRequest, pk: int) -> HttpResponse:
    def change(encounter: Encounter, version: int) -> str:
        added = services.procedure_add(
            encounter=encounter,
            by=request.user,
            version=version,
            code=_code_param(request),
            system=request.POST.get("system") or None,
            **_line_fields(request),
        )
        return f"{added.code} added as procedure {added.sequence}."

    return _coding_change(request, pk, change, "px-error")


@capability_required(Capability.CODE_ENCOUNTERS)
@require_POST
def procedure_update(request: HttpRequest, pk: int) -> HttpResponse:
    procedure_id = request.POST.get("procedure_id", "")

    def change(encounter: Encounter, version: int) -> str:
        updated = services.procedure_update(
            encounter=encounter,
            by=request.user,
            version=version,
            procedure_id=_int(procedure_id, "The procedure"),
            **_line_fields(request),
        )
        return f"Procedure {updated.code} saved."

    slot = f"px-error-{procedure_id}" if procedure_id.isdigit() else "px-error"
    return _coding_change(request, pk, change, slot)


@capability_required(Capability.CODE_ENCOUNTERS)
@require_POST
def procedure_remove(request: HttpRequest, pk: int) -> HttpResponse:
    def change(encounter: Encounter, version: int) -> str:
        services.procedure_remove(
            encounter=encounter,
            by=request.user,
            version=version,
            procedure_id=_int(request.POST.get("procedure_id"), "The procedure"),
        )
        return "Procedure removed."

    return _coding_change(request, pk, change, "px-error")


@capability_required(Capability.CODE_ENCOUNTERS)
@require_POST
def procedure_move(request: HttpRequest, pk: int) -> HttpResponse:
    def change(encounter: Encounter, version: int) -> str:
        position = _int(request.POST.get("position"), "The position")
        services.procedure_move(
            encounter=encounter,
            by=request.user,
            version=version,
            procedure_id=_int(request.POST.get("procedure_id"), "The procedure"),
            position=position,
        )
        return f"Procedure moved to position {position}."

    return _coding_change(request, pk, change, "px-error")


@capability_required(Capability.CODE_ENCOUNTERS)
@require_POST
def evidence_attach(request: HttpRequest, pk: int) -> HttpResponse:
    def change(encounter: Encounter, version: int) -> str:
        kind, _sep, assignment = request.POST.get("target", "").partition(":")
        if kind not in ("diagnosis", "procedure") or not assignment:
            raise ValidationError("Choose the code this passage supports.")
        services.evidence_attach(
            encounter=encounter,
            by=request.user,
            version=version,
            kind=kind,
            assignment_id=_int(assignment, "The code"),
            document_id=_int(request.POST.get("document_id"), "The document"),
            start=_int(request.POST.get("start"), "The start of the passage"),
            end=_int(request.POST.get("end"), "The end of the passage"),
        )
        return "Evidence attached."

    return _coding_change(request, pk, change, "evidence-error")


@capability_required(Capability.CODE_ENCOUNTERS)
@require_POST
def encounter_submit(request: HttpRequest, pk: int) -> HttpResponse:
    encounter = selectors.encounter_get_for(user=request.user, pk=pk)
    reason = request.POST.get("override_reason", "")
    context = {
        "encounter": encounter,
        "override_reason": reason,
        "oob": True,
        "blocking": [],
        "can_edit": _can_edit(request.user, encounter),
    }
    try:
        if encounter.is_practice:
            # A practice copy is scored against its answer key instead of going to review.
            from audits.practice.services import practice_attempt_submit

            attempt = practice_attempt_submit(
                encounter=encounter, by=request.user, version=_version(request)
            )
            return _go(request, reverse("audits:practice_result", args=[attempt.pk]))
        services.encounter_submit(
            encounter=encounter, by=request.user, version=_version(request), override_reason=reason
        )
    except SubmitBlocked as exc:
        context.update(blocking=exc.errors, submit_error=str(exc))
    except StaleEdit as exc:
        context.update(submit_error=str(exc), stale=True)
    except (ValidationError, PermissionDenied) as exc:
        context["submit_error"] = _message_of(exc)
    else:
        messages.success(request, f"{encounter.account_number} was sent for review.")
        return _go(request, reverse("encounters:queue"))
    if not _is_htmx(request):
        messages.error(request, context["submit_error"])
        return redirect("encounters:workspace", pk=pk)
    return HttpResponse(_fragment("finish", context, request))


@capability_required(Capability.CODE_ENCOUNTERS)
@require_POST
def encounter_escalate(request: HttpRequest, pk: int) -> HttpResponse:
    encounter = selectors.encounter_get_for(user=request.user, pk=pk)
    reason = request.POST.get("reason", "")
    try:
        services.encounter_escalate(
            encounter=encounter, by=request.user, version=_version(request), reason=reason
        )
    except (StaleEdit, ValidationError, PermissionDenied) as exc:
        if not _is_htmx(request):
            messages.error(request, _message_of(exc))
            return redirect("encounters:workspace", pk=pk)
        context = {
            "encounter": encounter,
            "oob": True,
            "escalate_error": _message_of(exc),
            "escalate_reason": reason,
            "blocking": [],
            "can_edit": _can_edit(request.user, encounter),
        }
        return HttpResponse(_fragment("finish", context, request))
    messages.success(request, f"{encounter.account_number} was escalated as a complex case.")
    return _go(request, reverse("encounters:queue"))


def _go(request: HttpRequest, url: str) -> HttpResponse:
    if _is_htmx(request):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


@capability_required(Capability.SEARCH_CODES)
def code_notes(request: HttpRequest, system: str, code: str) -> HttpResponse:
    """A code's tabular notes as a small fragment for the workspace's "notes" disclosure."""
    from codesets import selectors as code_selectors
    from codesets.views import _note_groups

    on = None
    if request.GET.get("date"):
        try:
            on = date.fromisoformat(request.GET["date"])
        except ValueError:
            on = None
    detail = code_selectors.code_detail(system=system, code=code, on=on)
    if detail is None:
        raise Http404(f"{code} is not a code in the release in force.")
    groups = _note_groups(detail) if detail.get("notes") else []
    return render(
        request,
        "encounters/_code_notes.html",
        {
            "detail": detail,
            "groups": groups,
            "system": system,
            "date": on.isoformat() if on else "",
        },
    )
