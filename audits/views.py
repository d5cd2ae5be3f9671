from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.permissions import Capability, capability_required


@capability_required(Capability.RUN_AUDITS)
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "audits/home.html")
