"""Claims and denials pages: the denials worklist, ready to bill, the claim page with its
actions, the denial form and the appeal letter (editor and print view).

Claim pages are addressed by the encounter (one claim per encounter), so a link from any
encounter works before and after billing. Function views: parse, call one service, render.
"""

import logging
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.permissions import Capability, capability_required
from encounters import claims, selectors
from encounters.models import Claim, Encounter
from encounters.services import StaleEdit
from encounters.views.common import DateInput, _add_service_errors, _message_of, _version

logger = logging.getLogger(__name__)
WORKLIST_PAGE_SIZE = 50


# --- worklist and ready to bill -----------------------------------------------------------


@capability_required(Capability.WORK_DENIALS)
def denials(request: HttpRequest) -> HttpResponse:
    """Open denials oldest first, with payer, status and CARC filters."""
    status = request.GET.get("status", "open")
    status = status if status in dict(claims.WORKLIST_STATUSES) else "open"
    sort = request.GET.get("sort", "age")
    sort = sort if sort in claims.WORKLIST_SORTS else "age"
    filters = claims.WorklistFilters(
        status=status,
        payer=request.GET.get("payer", "").strip(),
        carc=request.GET.get("carc", "").strip(),
        sort=sort,
        older_than_days=claims.AGE_FILTERS.get(request.GET.get("age", "")),
    )
    rows = claims.denial_worklist(user=request.user, filters=filters)
    page = Paginator(rows, WORKLIST_PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    for claim in page.object_list:
        claim.age = claims.days_since(claim.denied_at, now)
        claim.codes = claims.denial_codes(claim)
    kept = [
        (k, v)
        for k, v in (
            ("status", status if status != "open" else ""),
            ("payer", filters.payer),
            ("carc", filters.carc),
            ("age", request.GET.get("age", "") if filters.older_than_days else ""),
            ("sort", sort if sort != "age" else ""),
        )
        if v
    ]
    context = {
        "page": page,
        "rows": page.object_list,
        "filters": filters,
        "statuses": claims.WORKLIST_STATUSES,
        "sorts": [(key, label) for key, (label, _order) in claims.WORKLIST_SORTS.items()],
        "payers": claims.claim_payers_for(user=request.user),
        "carc_choices": sorted(claims.CARC.values(), key=_code_order),
        "filter_query": urlencode(kept),
        "filtered": bool(
            filters.payer or filters.carc or filters.older_than_days or status != "open"
        ),
        "ages": [
            ("", "Any age"),
            *((k, f"Denied over {v} days ago") for k, v in claims.AGE_FILTERS.items()),
        ],
        "age": request.GET.get("age", "") if filters.older_than_days else "",
        "ready_count": claims.ready_to_bill_for(user=request.user).count(),
        "tab": "denials",
    }
    return render(request, "encounters/claims/worklist.html", context)


def _code_order(reason: claims.ReasonCode) -> tuple[int, str]:
    return (0, f"{int(reason.code):04d}") if reason.code.isdigit() else (1, reason.code)


@capability_required(Capability.WORK_DENIALS)
def claims_ready(request: HttpRequest) -> HttpResponse:
    """Encounters that are ready to bill, each with a Bill button."""
    encounters = claims.ready_to_bill_for(user=request.user)
    page = Paginator(encounters, WORKLIST_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "rows": page.object_list,
        "ready_count": page.paginator.count,
        "tab": "ready",
    }
    return render(request, "encounters/claims/ready.html", context)


@capability_required(Capability.WORK_DENIALS)
@require_POST
def claim_bill(request: HttpRequest, pk: int) -> HttpResponse:
    encounter, claim = claims.claim_of_encounter_for(user=request.user, pk=pk)
    if claim is not None:
        messages.info(request, f"{encounter.account_number} is already billed.")
        return redirect("encounters:claim_detail", pk=pk)
    try:
        claim = claims.claim_bill(
            encounter=encounter,
            by=request.user,
            billed_amount=request.POST.get("billed_amount", ""),
            payer=request.POST.get("payer", ""),
        )
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, f"{encounter.account_number} was not billed. {_message_of(exc)}")
        return redirect("encounters:claims_ready")
    messages.success(
        request,
        f"Billed {encounter.account_number} to {claim.payer} as claim {claim.claim_number}; "
        "the coding as billed is kept as version 1.",
    )
    return redirect("encounters:claim_detail", pk=pk)


# --- the claim page -------------------------------------------------------------------------


def _claim_or_redirect(request: HttpRequest, pk: int) -> tuple[Encounter, Claim | HttpResponse]:
    encounter, claim = claims.claim_of_encounter_for(user=request.user, pk=pk)
    if claim is None:
        messages.info(request, f"{encounter.account_number} has not been billed yet.")
        return encounter, redirect("encounters:claims_ready")
    return encounter, claim


def _edits_of(encounter: Encounter) -> tuple[list[dict], str]:
    from encounters.coding import encounter_edits

    try:
        return encounter_edits(encounter=encounter), ""
    except Exception:  # the edits engine is a dependency; the claim page still has to open
        logger.exception("edits failed for encounter %s", encounter.pk)
        return [], "The edits engine could not check this encounter just now."


def _detail_context(request: HttpRequest, encounter: Encounter, claim: Claim) -> dict:
    edits, edits_note = _edits_of(encounter)
    versions = list(encounter.coding_versions.select_related("created_by").order_by("number"))
    correcting = claim.status == Claim.Status.CORRECTED
    current = claims.coding_snapshot(encounter) if correcting else None
    causes = claims.likely_causes(claim=claim, edits=edits)
    flagged = {code for cause in causes for edit in cause["edits"] for code in edit["codes"]}
    columns = claims.version_columns(versions, current)
    for column in columns:
        for row in column["rows"]:
            row["flagged"] = column is columns[-1] and row["code"] in flagged
    return {
        "claim": claim,
        "encounter": encounter,
        "patient": encounter.patient,
        "events": list(claim.events.select_related("by")),
        "causes": causes,
        "edits": edits,
        "edits_note": edits_note,
        "error_edits": [e for e in edits if e["severity"] == "error"],
        "columns": columns,
        "age": claims.days_since(claim.denied_at),
        "can_deny": claim.status in (Claim.Status.BILLED, Claim.Status.RESUBMITTED),
        "can_pay": claim.status in (Claim.Status.BILLED, Claim.Status.RESUBMITTED),
        "can_close": claim.status
        in (Claim.Status.BILLED, Claim.Status.RESUBMITTED, Claim.Status.PAID, Claim.Status.DENIED),
        "can_correct": claim.status == Claim.Status.DENIED,
        "can_resubmit": correcting,
        "can_appeal": claim.status in (Claim.Status.DENIED, Claim.Status.CORRECTED),
    }


@capability_required(Capability.WORK_DENIALS)
def claim_detail(request: HttpRequest, pk: int) -> HttpResponse:
    encounter, claim = _claim_or_redirect(request, pk)
    if isinstance(claim, HttpResponse):
        return claim
    selectors.chart_open(user=request.user, encounter=encounter, documents=[], request=request)
    return render(
        request, "encounters/claims/detail.html", _detail_context(request, encounter, claim)
    )


def _post_action(request: HttpRequest, pk: int, action, done: str, **kwargs) -> HttpResponse:
    """Run one claim service from a POST; the outcome comes back to the claim page."""
    _encounter, claim = _claim_or_redirect(request, pk)
    if isinstance(claim, HttpResponse):
        return claim
    try:
        action(claim=claim, by=request.user, **kwargs)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, f"Not done. {_message_of(exc)}")
    else:
        messages.success(request, done)
    return redirect("encounters:claim_detail", pk=pk)


@capability_required(Capability.WORK_DENIALS)
@require_POST
def claim_correct(request: HttpRequest, pk: int) -> HttpResponse:
    return _post_action(
        request,
        pk,
        claims.claim_correction_start,
        "Correction started: the codes are open in the workspace and assigned to you.",
        note=request.POST.get("note", ""),
    )


@capability_required(Capability.WORK_DENIALS)
@require_POST
def claim_paid(request: HttpRequest, pk: int) -> HttpResponse:
    return _post_action(
        request,
        pk,
        claims.claim_mark_paid,
        "Marked paid; the encounter is closed.",
        paid_amount=request.POST.get("paid_amount", ""),
        note=request.POST.get("note", ""),
    )


@capability_required(Capability.WORK_DENIALS)
@require_POST
def claim_close(request: HttpRequest, pk: int) -> HttpResponse:
    return _post_action(
        request, pk, claims.claim_close, "Claim closed.", note=request.POST.get("note", "")
    )


@capability_required(Capability.WORK_DENIALS)
@require_POST
def claim_resubmit(request: HttpRequest, pk: int) -> HttpResponse:
    """Resubmit; when error edits remain the claim page comes back listing them (400)."""
    encounter, claim = _claim_or_redirect(request, pk)
    if isinstance(claim, HttpResponse):
        return claim
    reason = request.POST.get("reason", "")
    try:
        claims.claim_resubmit(
            claim=claim, by=request.user, reason=reason, version=_version(request)
        )
    except claims.ResubmitBlocked as blocked:
        context = _detail_context(request, encounter, claim)
        context.update(resubmit_error=str(blocked), reason=reason)
        return render(request, "encounters/claims/detail.html", context, status=400)
    except StaleEdit as exc:
        messages.error(request, f"Not resubmitted. {exc}")
    except (ValidationError, PermissionDenied) as exc:
        context = _detail_context(request, encounter, claim)
        context.update(resubmit_error=_message_of(exc), reason=reason)
        return render(request, "encounters/claims/detail.html", context, status=400)
    else:
        number = encounter.coding_versions.order_by("-number").values_list("number", flat=True)
        messages.success(request, f"Resubmitted with coding version {number.first()}.")
    return redirect("encounters:claim_detail", pk=pk)


# --- the denial form ------------------------------------------------------------------------


class DenialForm(forms.Form):
    carc_codes = forms.CharField(
        label="Claim adjustment reason codes (CARC)",
        max_length=200,
        help_text="As on the remittance, group code first: e.g. CO-50, PR-1. "
        "Separate several with commas or spaces.",
    )
    rarc_codes = forms.CharField(
        label="Remark codes (RARC)",
        max_length=200,
        required=False,
        help_text="e.g. N115, MA130. Optional, but CARC 16 and 96 usually come with one.",
    )
    denied_on = forms.DateField(label="Denied on", required=False, widget=DateInput)
    text = forms.CharField(
        label="Payer's note",
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="The free text of the denial, as the payer wrote it.",
    )


@capability_required(Capability.WORK_DENIALS)
def claim_deny(request: HttpRequest, pk: int) -> HttpResponse:
    encounter, claim = _claim_or_redirect(request, pk)
    if isinstance(claim, HttpResponse):
        return claim
    form = DenialForm(request.POST or None, initial={"denied_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            claims.claim_deny(
                claim=claim,
                by=request.user,
                carc_codes=data["carc_codes"],
                rarc_codes=data["rarc_codes"],
                text=data["text"],
                denied_on=data["denied_on"],
            )
        except (ValidationError, PermissionDenied) as exc:
            if isinstance(exc, ValidationError):
                _add_service_errors(form, exc)
            else:
                form.add_error(None, _message_of(exc))
        else:
            messages.success(request, "Denial recorded. The likely causes are listed below.")
            return redirect("encounters:claim_detail", pk=pk)
    context = {
        "claim": claim,
        "encounter": encounter,
        "patient": encounter.patient,
        "form": form,
        "can_deny": claim.status in (Claim.Status.BILLED, Claim.Status.RESUBMITTED),
        "carc_table": sorted(claims.CARC.values(), key=_code_order),
        "rarc_table": sorted(claims.RARC.values(), key=lambda r: r.code),
        "groups": claims.GROUP_CODES,
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "encounters/claims/deny.html", context, status=status)


# --- the appeal letter ----------------------------------------------------------------------


@capability_required(Capability.WORK_DENIALS)
def claim_appeal(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the saved letter, or a fresh draft from the record. POST: save the edited letter."""
    encounter, claim = _claim_or_redirect(request, pk)
    if isinstance(claim, HttpResponse):
        return claim
    error = ""
    if request.method == "POST":
        text = request.POST.get("appeal_letter", "")
        try:
            claims.claim_appeal_save(claim=claim, by=request.user, text=text)
        except (ValidationError, PermissionDenied) as exc:
            error = _message_of(exc)
        else:
            messages.success(request, "Appeal letter saved on the claim.")
            return redirect("encounters:claim_appeal", pk=pk)
    else:
        fresh = request.GET.get("fresh") == "1" or not claim.appeal_letter.strip()
        text = claims.appeal_draft(claim=claim, by=request.user) if fresh else claim.appeal_letter
    documents = list(encounter.documents.all())
    selectors.chart_open(
        user=request.user, encounter=encounter, documents=documents, request=request
    )
    context = {
        "claim": claim,
        "encounter": encounter,
        "patient": encounter.patient,
        "text": text,
        "error": error,
        "saved": bool(claim.appeal_letter.strip()),
        "is_draft": request.method == "GET"
        and (request.GET.get("fresh") == "1" or not claim.appeal_letter.strip()),
        "can_appeal": claim.status in (Claim.Status.DENIED, Claim.Status.CORRECTED),
        "codes": claims.denial_codes(claim),
        "documents": documents,
        "evidence": [
            line
            for line in [
                *encounter.diagnoses.order_by("sequence"),
                *encounter.procedures.order_by("sequence"),
            ]
            if line.evidence_quote
        ],
    }
    return render(request, "encounters/claims/appeal.html", context, status=400 if error else 200)


@capability_required(Capability.WORK_DENIALS)
def claim_appeal_print(request: HttpRequest, pk: int) -> HttpResponse:
    encounter, claim = _claim_or_redirect(request, pk)
    if isinstance(claim, HttpResponse):
        return claim
    saved = bool(claim.appeal_letter.strip())
    selectors.chart_open(user=request.user, encounter=encounter, documents=[], request=request)
    context = {
        "claim": claim,
        "encounter": encounter,
        "text": claim.appeal_letter if saved else claims.appeal_draft(claim=claim, by=request.user),
        "saved": saved,
    }
    return render(request, "encounters/claims/appeal_print.html", context)
