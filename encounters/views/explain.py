"""Placeholder view, replaced by the real page (issue 9)."""

from django.http import HttpRequest, HttpResponse

from accounts.permissions import Capability, capability_required
from encounters.selectors import encounter_get_for


@capability_required(Capability.VIEW_CHARTS)
def explain(request: HttpRequest, pk: int) -> HttpResponse:
    encounter_get_for(user=request.user, pk=pk)
    return HttpResponse("Not built yet.")
