from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from accounts.permissions import Capability, capability_required
from encounters import selectors


@capability_required(Capability.CODE_ENCOUNTERS)
def queue(request: HttpRequest) -> HttpResponse:
    encounters = selectors.encounter_queue_for(user=request.user)
    return render(
        request,
        "encounters/queue.html",
        {"encounters": encounters, "today": timezone.localdate()},
    )


@capability_required(Capability.WORK_COMPLEX_CASES)
def complex_cases(request: HttpRequest) -> HttpResponse:
    return render(request, "encounters/complex.html")
