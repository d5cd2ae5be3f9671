"""The coding assistant's panel in the workspace (issue 8): suggestions, accept, reject; and
the acceptance-rate report.

Suggestions are never assignments: accepting one runs the same service as typing the code
(through the workspace's _coding_change, so the coder sees the same refreshed lists, edits and
version), then records the decision; rejecting records it with the optional reason.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.permissions import Capability, capability_required, has_capability
from codesets import coverage
from encounters import selectors
from encounters.assist import selectors as assist_selectors
from encounters.assist import services as assist
from encounters.models import AssistSuggestion, Encounter
from encounters.views.workspace import _coding_change
from encounters.workflow import EDITABLE

PANEL = "encounters/_suggestions_panel.html#panel"
RATES_PAGE_SIZE = 50
SYSTEM_LABELS = {"icd10cm": "ICD-10-CM", **coverage.SYSTEM_LABELS}


def _suggestion(encounter: Encounter, request: HttpRequest) -> AssistSuggestion:
    try:
        pk = int(request.POST.get("suggestion_id", ""))
    except ValueError:
        raise Http404("No such suggestion.") from None
    suggestion = encounter.assist_suggestions.filter(pk=pk).first()
    if suggestion is None:
        raise Http404("No such suggestion on this encounter.")
    return suggestion


def _may_decide(request: HttpRequest, encounter: Encounter) -> bool:
    """Only the coder holding an editable chart accepts or rejects its suggestions."""
    return (
        encounter.status in EDITABLE
        and encounter.assignee_id == request.user.pk
        and has_capability(request.user, Capability.CODE_ENCOUNTERS)
    )


def _panel(request: HttpRequest, encounter: Encounter, error: str = "") -> HttpResponse:
    suggestions = assist.encounter_suggestions(encounter)
    can_decide = _may_decide(request, encounter)
    titles = dict(encounter.documents.values_list("pk", "title"))
    for suggestion in suggestions:
        suggestion.document_title = titles.get(suggestion.document_id, "")
    return render(
        request,
        PANEL,
        {
            "encounter": encounter,
            "active": [s for s in suggestions if not s.negated],
            "negated": [s for s in suggestions if s.negated],
            "can_decide": can_decide,
            "error": error,
        },
    )


@capability_required(Capability.CODE_ENCOUNTERS)
@require_GET
def assist_panel(request: HttpRequest, pk: int) -> HttpResponse:
    return _panel(request, selectors.encounter_get_for(user=request.user, pk=pk))


@capability_required(Capability.CODE_ENCOUNTERS)
@require_POST
def suggestion_accept(request: HttpRequest, pk: int) -> HttpResponse:
    encounter = selectors.encounter_get_for(user=request.user, pk=pk)
    suggestion = _suggestion(encounter, request)

    def change(encounter: Encounter, version: int) -> str:
        assist.suggestion_accept(suggestion=suggestion, by=request.user, version=version)
        return f"Suggestion {suggestion.code} accepted and added with its evidence."

    return _coding_change(request, pk, change, "assist-error")


@capability_required(Capability.CODE_ENCOUNTERS)
@require_POST
def suggestion_reject(request: HttpRequest, pk: int) -> HttpResponse:
    encounter = selectors.encounter_get_for(user=request.user, pk=pk)
    suggestion = _suggestion(encounter, request)
    if not _may_decide(request, encounter):
        raise PermissionDenied("Only the coder holding this chart decides on its suggestions.")
    error = ""
    try:
        assist.suggestion_reject(
            suggestion=suggestion, by=request.user, reason=request.POST.get("reason", "")
        )
    except ValidationError as exc:
        error = " ".join(exc.messages)
    if not request.headers.get("HX-Request"):
        return redirect("encounters:workspace", pk=pk)
    return _panel(request, encounter, error)


# REVIEW_JUNIORS: every role that may VIEW_QUALITY_METRICS may also review juniors, so this one
# capability admits exactly "quality metrics or reviewing" (intermediates and seniors).
@capability_required(Capability.REVIEW_JUNIORS)
@require_GET
def acceptance_report(request: HttpRequest) -> HttpResponse:
    """How often coders accept the assistant's suggestions, per coder and per code."""
    coder = request.GET.get("coder", "").strip()
    codes = assist_selectors.acceptance_by_code(coder=coder)
    page = Paginator(codes, RATES_PAGE_SIZE).get_page(request.GET.get("page"))
    for row in page.object_list:
        row["system_label"] = SYSTEM_LABELS.get(row["system"], row["system"])
    return render(
        request,
        "encounters/assist/acceptance.html",
        {
            "totals": assist_selectors.acceptance_totals(),
            "coders": assist_selectors.acceptance_by_coder(),
            "coder": coder,
            "page": page,
        },
    )
