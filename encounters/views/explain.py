"""'Explain this coding': the page, its two printable versions, and the patient sign-off.

Chart access as the workspace (encounter_get_for); every view and print is access-logged.
The patient version prints only with a sign-off for the coding as it is now."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.permissions import Capability, capability_required, has_capability
from encounters import explain as explaining
from encounters.models import ExplanationSignOff
from encounters.selectors import encounter_get_for
from encounters.views.common import _message_of, _version

PATIENT_REFUSED = (
    "The patient version needs a staff sign-off for the coding as it is now "
    "(an intermediate or senior coder reads it and signs off on this page)."
)


def _context(request: HttpRequest, pk: int, version: str) -> dict:
    encounter = encounter_get_for(user=request.user, pk=pk)
    explanation = explaining.encounter_explanation(user=request.user, encounter=encounter)
    explaining.explanation_access_record(
        user=request.user, encounter=encounter, version=version, request=request
    )
    return {
        "encounter": encounter,
        "patient": encounter.patient,
        "x": explanation,
        "can_sign_off": has_capability(request.user, Capability.REVIEW_JUNIORS),
        "audiences": ExplanationSignOff.Audience.choices,
        "guidelines": explaining.GUIDELINES,
        "technical": True,
    }


@capability_required(Capability.VIEW_CHARTS)
def explain(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "encounters/explain/page.html", _context(request, pk, "page"))


@capability_required(Capability.VIEW_CHARTS)
def explain_print_provider(request: HttpRequest, pk: int) -> HttpResponse:
    return render(
        request, "encounters/explain/print_provider.html", _context(request, pk, "provider")
    )


@capability_required(Capability.VIEW_CHARTS)
def explain_print_patient(request: HttpRequest, pk: int) -> HttpResponse:
    encounter = encounter_get_for(user=request.user, pk=pk)
    if explaining.current_sign_off(encounter=encounter, audience="patient") is None:
        messages.error(request, PATIENT_REFUSED)
        return redirect("encounters:explain", pk=pk)
    return render(
        request, "encounters/explain/print_patient.html", _context(request, pk, "patient")
    )


@capability_required(Capability.REVIEW_JUNIORS)
@require_POST
def explain_sign_off(request: HttpRequest, pk: int) -> HttpResponse:
    encounter = encounter_get_for(user=request.user, pk=pk)
    audience = request.POST.get("audience", "patient")
    try:
        explaining.explanation_sign_off(
            encounter=encounter,
            by=request.user,
            audience=audience,
            version=_version(request),
            note=request.POST.get("note", ""),
        )
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, _message_of(exc))
    else:
        label = ExplanationSignOff.Audience(audience).label.lower()
        messages.success(request, f"Signed off the {label} version of this coding.")
    return redirect("encounters:explain", pk=pk)
