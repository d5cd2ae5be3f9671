"""Placeholder views, replaced by the real pages (issue 9)."""

from django.http import HttpRequest, HttpResponse

from accounts.permissions import Capability, capability_required


@capability_required(Capability.CODE_ENCOUNTERS)
def bulletins(request: HttpRequest) -> HttpResponse:
    return HttpResponse("Not built yet.")
