"""Findings after the audit: the coder's findings on their work (agree or dispute), and the
senior's list of disputes to resolve."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.permissions import Capability, capability_required
from audits import selectors, services
from audits.models import Finding
from encounters.views.common import _error_text as error_text


@capability_required(Capability.CODE_ENCOUNTERS)
def my_findings(request: HttpRequest) -> HttpResponse:
    findings = list(selectors.findings_on_work_of(user=request.user))
    return render(
        request,
        "audits/my_findings.html",
        {
            "findings": findings,
            "waiting": [f for f in findings if f.response == Finding.Response.PENDING],
            "education": selectors.education_list(findings),
        },
    )


@capability_required(Capability.CODE_ENCOUNTERS)
@require_POST
def finding_respond(request: HttpRequest, pk: int) -> HttpResponse:
    finding = selectors.finding_get_for(user=request.user, pk=pk, as_coder=True)
    try:
        services.finding_respond(
            finding=finding,
            by=request.user,
            response=request.POST.get("response", ""),
            reason=request.POST.get("reason", ""),
        )
    except ValidationError as exc:
        messages.error(request, f"Not saved: {error_text(exc)}")
    else:
        messages.success(request, "Your answer is recorded.")
    return redirect(reverse("audits:my_findings") + f"#finding-{finding.pk}")


@capability_required(Capability.RUN_AUDITS)
def disputes(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "audits/disputes.html",
        {"disputes": list(selectors.disputes_waiting(user=request.user))},
    )


@capability_required(Capability.RUN_AUDITS)
@require_POST
def finding_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    finding = selectors.finding_get_for(user=request.user, pk=pk)
    try:
        services.finding_resolve(
            finding=finding,
            by=request.user,
            resolution=request.POST.get("resolution", ""),
            note=request.POST.get("note", ""),
        )
    except ValidationError as exc:
        messages.error(request, f"Not saved: {error_text(exc)}")
    else:
        messages.success(
            request, f"Dispute on {finding.original_code or finding.audited_code} resolved."
        )
    if request.POST.get("next") == "item":
        return redirect("audits:item_detail", pk=finding.item_id)
    return redirect("audits:disputes")
