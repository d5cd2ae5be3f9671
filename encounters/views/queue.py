"""The work queue: my encounters and the pool, next chart, claiming."""

import logging

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_POST

from accounts.permissions import Capability, capability_required, has_capability
from encounters import selectors, services
from encounters.models import Encounter
from encounters.selectors import QUEUE_SORTS, QueueFilters
from encounters.services import StaleEdit
from encounters.views.common import (
    QUEUE_PAGE_SIZE,
    SCOPES,
    SORT_LABELS,
    DateInput,
    _error_text,
    _is_htmx,
    _message_of,
    _version,
)
from encounters.workflow import FINISHED

logger = logging.getLogger(__name__)

# --- work queue -----------------------------------------------------------------------------


class QueueFilterForm(forms.Form):
    scope = forms.ChoiceField(choices=SCOPES, required=False)
    type = forms.ChoiceField(
        choices=[("", "Any type"), *Encounter.Type.choices], required=False, label="Type"
    )
    payer = forms.CharField(required=False, max_length=120, label="Payer")
    status = forms.ChoiceField(
        choices=[("", "Any status")]
        + [(v, label) for v, label in Encounter.Status.choices if v not in FINISHED],
        required=False,
        label="Status",
    )
    due_before = forms.DateField(required=False, label="Due on or before", widget=DateInput)
    sort = forms.ChoiceField(choices=list(SORT_LABELS.items()), required=False, label="Sort")

    def filters(self, **override) -> QueueFilters:
        data = self.cleaned_data if self.is_bound else {}
        values = {
            "scope": data.get("scope") or "all",
            "type": data.get("type") or "",
            "payer": (data.get("payer") or "").strip(),
            "status": data.get("status") or "",
            "due_before": data.get("due_before"),
            "sort": data.get("sort") if data.get("sort") in QUEUE_SORTS else "due",
        }
        values.update(override)
        return QueueFilters(**values)


@capability_required(Capability.CODE_ENCOUNTERS)
def queue(request: HttpRequest) -> HttpResponse:
    form = QueueFilterForm(request.GET)
    form.is_valid()
    filters = form.filters()
    encounters = selectors.encounter_queue_for(user=request.user, filters=filters)
    page = Paginator(encounters, QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    scope_query = query.copy()
    scope_query.pop("scope", None)
    context = {
        "form": form,
        "filters": filters,
        "page": page,
        "encounters": page.object_list,
        "scopes": SCOPES,
        "query": query.urlencode(),
        "scope_query": scope_query.urlencode(),
        "filtered": any([filters.type, filters.payer, filters.status, filters.due_before]),
        "today": timezone.localdate(),
        "can_intake": has_capability(request.user, Capability.INTAKE_CHARTS),
    }
    template = "encounters/queue.html"
    if _is_htmx(request):
        template += "#queue-list"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@capability_required(Capability.CODE_ENCOUNTERS)
@require_POST
def queue_next(request: HttpRequest) -> HttpResponse:
    encounter = services.encounter_claim_next(by=request.user)
    if encounter is None:
        messages.info(request, "The pool is empty: no unassigned chart is ready for coding.")
        return redirect("encounters:queue")
    messages.success(request, f"You claimed {encounter.account_number}.")
    return redirect("encounters:workspace", pk=encounter.pk)


@capability_required(Capability.CODE_ENCOUNTERS)
@require_POST
def encounter_claim(request: HttpRequest, pk: int) -> HttpResponse:
    encounter = selectors.encounter_get_for(user=request.user, pk=pk)
    try:
        services.encounter_claim(encounter=encounter, by=request.user)
    except ValidationError as exc:
        messages.error(request, _error_text(exc))
        return redirect("encounters:queue")
    messages.success(request, f"You claimed {encounter.account_number}.")
    return redirect("encounters:workspace", pk=encounter.pk)


@capability_required(Capability.CODE_ENCOUNTERS)
@require_POST
def encounter_unclaim(request: HttpRequest, pk: int) -> HttpResponse:
    encounter = selectors.encounter_get_for(user=request.user, pk=pk)
    try:
        services.encounter_unclaim(encounter=encounter, by=request.user, version=_version(request))
    except (StaleEdit, ValidationError, PermissionDenied) as exc:
        messages.error(request, _message_of(exc))
        return redirect("encounters:workspace", pk=pk)
    messages.success(request, f"{encounter.account_number} is back in the pool.")
    return redirect("encounters:queue")
