"""The blind re-code of an audit item in the coding workspace, the comparison that follows,
and the auditor's edits to its findings. For htmx requests the re-code actions answer with
the code lists partial only."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from accounts.permissions import Capability, capability_required
from audits import selectors, services
from audits.models import AuditItem, Finding
from encounters import selectors as encounter_selectors
from encounters.models import DiagnosisAssignment, Encounter
from encounters.views.common import _error_text as error_text
from encounters.views.common import _is_htmx

SYSTEM_LABELS = {"icd10cm": "ICD-10-CM", "icd10pcs": "ICD-10-PCS", "hcpcs": "HCPCS", "cpt": "CPT"}


def _text_html(text: str) -> str:
    # Same rendering as the coding workspace, so its find-in-document works unchanged.
    return mark_safe(escape(text).replace("\r", "&#13;"))


def _recode_lists(item: AuditItem) -> dict:
    coding = item.audited_coding or {}
    return {
        "audit_dx": [{**line, "index": i} for i, line in enumerate(coding.get("diagnoses") or [])],
        "audit_px": [
            {**line, "index": i, "slots": ((line.get("modifiers") or []) + [""] * 4)[:4]}
            for i, line in enumerate(coding.get("procedures") or [])
        ],
    }


def _recode_context(request: HttpRequest, item: AuditItem, error: str = "") -> dict:
    from encounters.services import procedure_systems_for

    encounter = item.encounter
    return {
        "item": item,
        "encounter": encounter,
        "inpatient": encounter.type == Encounter.Type.INPATIENT,
        "dos": encounter.date_of_service.isoformat(),
        "poa_choices": DiagnosisAssignment.Poa.choices,
        "procedure_systems": [(s, SYSTEM_LABELS[s]) for s in procedure_systems_for(encounter)],
        "can_start": item.status == AuditItem.Status.PENDING
        and item.coder_id != request.user.pk
        and item.plan.auditors.filter(pk=request.user.pk).exists(),
        "can_recode": item.status == AuditItem.Status.RECODING
        and item.auditor_id == request.user.pk,
        "error": error,
        **_recode_lists(item),
    }


def _drg_row(drg: dict | None) -> dict:
    """Every key the page shows, present even when the stay could not be grouped."""
    drg = drg or {}
    return {
        "drg": drg.get("drg") or "",
        "description": drg.get("description") or drg.get("error") or "",
        "severity": drg.get("severity") or "",
        "weight": drg.get("weight"),
    }


def _comparison_rows(item: AuditItem) -> dict:
    """Side-by-side lists for the comparison view: each line marked agree or not."""
    findings = list(item.findings.select_related("resolved_by").order_by("pk"))
    flagged: dict[str, list[str]] = {}
    for finding in findings:
        for code in {finding.original_code, finding.audited_code} - {""}:
            if code:
                flagged.setdefault(code, []).append(finding.get_kind_display())

    def rows(lines: list[dict]) -> list[dict]:
        return [{**line, "flags": flagged.get(line["code"], [])} for line in lines]

    original = item.original_coding or {}
    audited = item.audited_coding or {}
    drg_before, drg_after = _drg_row(item.original_drg), _drg_row(item.audited_drg)
    return {
        "drg_rows": [("Coder", drg_before), ("Auditor", drg_after)],
        "drg_before": drg_before,
        "drg_after": drg_after,
        "findings": findings,
        "orig_dx": rows(original.get("diagnoses") or []),
        "orig_px": rows(original.get("procedures") or []),
        "aud_dx": rows(audited.get("diagnoses") or []),
        "aud_px": rows(audited.get("procedures") or []),
        "categories": Finding.Category.choices,
        "severities": Finding.Severity.choices,
    }


@capability_required(Capability.RUN_AUDITS)
def item_detail(request: HttpRequest, pk: int) -> HttpResponse:
    item = selectors.item_get_for(user=request.user, pk=pk, missing_ok=True)
    if item is None:
        messages.error(request, "That audit item does not exist (any more).")
        return redirect("audits:home")
    encounter = item.encounter
    if item.status in (AuditItem.Status.PENDING, AuditItem.Status.RECODING):
        documents = list(encounter.documents.all())
        encounter_selectors.chart_open(
            user=request.user, encounter=encounter, documents=documents, request=request
        )
        for document in documents:
            document.text_html = _text_html(document.text)
        active = documents[0].pk if documents else None
        if request.GET.get("doc", "").isdigit() and int(request.GET["doc"]) in {
            d.pk for d in documents
        }:
            active = int(request.GET["doc"])
        context = {
            **_recode_context(request, item),
            "documents": documents,
            "active_doc": active,
            "patient": encounter.patient,
        }
        return render(request, "audits/recode.html", context)
    encounter_selectors.chart_open(
        user=request.user, encounter=encounter, documents=[], request=request
    )
    return render(
        request,
        "audits/comparison.html",
        {
            "item": item,
            "encounter": encounter,
            "inpatient": encounter.type == Encounter.Type.INPATIENT,
            **_comparison_rows(item),
        },
    )


@capability_required(Capability.RUN_AUDITS)
@require_POST
def item_start(request: HttpRequest, pk: int) -> HttpResponse:
    item = selectors.item_get_for(user=request.user, pk=pk)
    services.item_start(item=item, by=request.user)
    return redirect("audits:item_detail", pk=item.pk)


def _recode_answer(
    request: HttpRequest, item: AuditItem, error: str = "", saved: bool = False
) -> HttpResponse:
    item.refresh_from_db()
    if _is_htmx(request):
        response = render(
            request, "audits/recode.html#codes", _recode_context(request, item, error)
        )
        if saved:
            response["HX-Trigger"] = "codingSaved"
        return response
    if error:
        messages.error(request, error)
    return redirect("audits:item_detail", pk=item.pk)


def _index(request: HttpRequest) -> int:
    try:
        return int(request.POST.get("index", ""))
    except ValueError:
        return -1


def _recode_action(request: HttpRequest, pk: int, action) -> HttpResponse:
    item = selectors.item_get_for(user=request.user, pk=pk)
    try:
        action(item)
    except ValidationError as exc:
        return _recode_answer(request, item, error=error_text(exc))
    return _recode_answer(request, item, saved=True)


@capability_required(Capability.RUN_AUDITS)
@require_POST
def item_code_add(request: HttpRequest, pk: int) -> HttpResponse:
    kind = request.POST.get("kind", "")
    return _recode_action(
        request,
        pk,
        lambda item: services.recode_code_add(
            item=item,
            by=request.user,
            kind=kind,
            code=request.POST.get("q", ""),
            system=request.POST.get("system", ""),
            poa=request.POST.get("poa", ""),
        ),
    )


@capability_required(Capability.RUN_AUDITS)
@require_POST
def item_code_remove(request: HttpRequest, pk: int) -> HttpResponse:
    return _recode_action(
        request,
        pk,
        lambda item: services.recode_code_remove(
            item=item, by=request.user, kind=request.POST.get("kind", ""), index=_index(request)
        ),
    )


@capability_required(Capability.RUN_AUDITS)
@require_POST
def item_code_move(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        position = int(request.POST.get("position", ""))
    except ValueError:
        position = 0
    return _recode_action(
        request,
        pk,
        lambda item: services.recode_code_move(
            item=item,
            by=request.user,
            kind=request.POST.get("kind", ""),
            index=_index(request),
            position=position,
        ),
    )


@capability_required(Capability.RUN_AUDITS)
@require_POST
def item_code_line(request: HttpRequest, pk: int) -> HttpResponse:
    kind = request.POST.get("kind", "")
    units = None
    if "units" in request.POST:
        try:
            units = int(request.POST["units"])
        except ValueError:
            units = 0
    return _recode_action(
        request,
        pk,
        lambda item: services.recode_line_update(
            item=item,
            by=request.user,
            kind=kind,
            index=_index(request),
            poa=request.POST.get("poa") if kind == "diagnoses" else None,
            modifiers=request.POST.getlist("modifiers") if kind == "procedures" else None,
            units=units,
        ),
    )


@capability_required(Capability.RUN_AUDITS)
@require_POST
def item_complete(request: HttpRequest, pk: int) -> HttpResponse:
    item = selectors.item_get_for(user=request.user, pk=pk)
    try:
        item = services.item_complete(item=item, by=request.user)
    except ValidationError as exc:
        messages.error(request, error_text(exc))
    else:
        count = item.findings.count()
        messages.success(
            request,
            f"Re-code complete: {item.codes_agreed} of {item.codes_total} codes agree, "
            f"{count} finding{'s' if count != 1 else ''}.",
        )
    return redirect("audits:item_detail", pk=item.pk)


@capability_required(Capability.RUN_AUDITS)
@require_POST
def item_close(request: HttpRequest, pk: int) -> HttpResponse:
    item = selectors.item_get_for(user=request.user, pk=pk)
    try:
        services.item_close(item=item, by=request.user)
    except ValidationError as exc:
        messages.error(request, error_text(exc))
    else:
        item.encounter.refresh_from_db()
        messages.success(
            request,
            f"Item closed; {item.encounter.account_number} is now "
            f"{item.encounter.get_status_display().lower()}.",
        )
    return redirect("audits:item_detail", pk=item.pk)


@capability_required(Capability.RUN_AUDITS)
@require_POST
def finding_edit(request: HttpRequest, pk: int) -> HttpResponse:
    finding = selectors.finding_get_for(user=request.user, pk=pk)
    error = ""
    try:
        finding = services.finding_update(
            finding=finding,
            by=request.user,
            category=request.POST.get("category", ""),
            severity=request.POST.get("severity", ""),
            note=request.POST.get("note", ""),
        )
    except ValidationError as exc:
        error = error_text(exc)
    if _is_htmx(request):
        finding.refresh_from_db()
        return render(
            request,
            "audits/comparison.html#finding",
            {
                "f": finding,
                "item": finding.item,
                "categories": Finding.Category.choices,
                "severities": Finding.Severity.choices,
                "finding_error": error,
                "finding_saved": not error,
            },
        )
    if error:
        messages.error(request, error)
    else:
        messages.success(request, "Finding saved.")
    return redirect(
        reverse("audits:item_detail", args=[finding.item_id]) + f"#finding-{finding.pk}"
    )
