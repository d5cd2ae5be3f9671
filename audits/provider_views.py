"""Placeholder views, replaced by the real pages (issue 9)."""

from django.http import HttpRequest, HttpResponse

from accounts.permissions import Capability, capability_required


@capability_required(Capability.RUN_REPORTS)
def provider_feedback(request: HttpRequest) -> HttpResponse:
    return HttpResponse("Not built yet.")
