"""Placeholder views, replaced by the real pages (issue 9)."""

from django.http import HttpRequest, HttpResponse

from accounts.permissions import Capability, capability_required


@capability_required(Capability.CODE_ENCOUNTERS)
def practice(request: HttpRequest) -> HttpResponse:
    return HttpResponse("Not built yet.")


@capability_required(Capability.MANAGE_PRACTICE_CASES)
def practice_cases(request: HttpRequest) -> HttpResponse:
    return HttpResponse("Not built yet.")
