"""Audit & QA pages: the landing, plans and samples, the blind re-code, comparison and
findings, the coder's findings on their work, and the senior's dispute list.

Views parse the request, call one service or selector, and render. For htmx requests the
re-code actions answer with the code lists partial only.
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from accounts.models import User
from accounts.permissions import Capability, capability_required
from audits import selectors, services
from audits.models import AuditItem, AuditPlan, Finding
from encounters import selectors as encounter_selectors
from encounters.models import DiagnosisAssignment, Encounter

SYSTEM_LABELS = {"icd10cm": "ICD-10-CM", "icd10pcs": "ICD-10-PCS", "hcpcs": "HCPCS", "cpt": "CPT"}


def _is_htmx(request: HttpRequest) -> bool:
    return bool(request.headers.get("HX-Request")) and not request.headers.get(
        "HX-History-Restore-Request"
    )


def _error_text(exc: ValidationError) -> str:
    return " ".join(str(m) for m in exc.messages)


# --- landing ----------------------------------------------------------------------------------


@capability_required(Capability.RUN_AUDITS)
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    return render(
        request,
        "audits/home.html",
        {
            "plans": list(selectors.plans_for(user=user)[:8]),
            "open_items": list(selectors.open_items_for(user=user)[:20]),
            "disputes": list(selectors.disputes_waiting(user=user)[:20]),
        },
    )


# --- plans ------------------------------------------------------------------------------------


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.replace(";", ",").split(",") if part.strip()]


class DateInput(forms.DateInput):
    input_type = "date"


class PlanForm(forms.Form):
    name = forms.CharField(max_length=200)
    kind = forms.ChoiceField(
        label="Kind",
        choices=AuditPlan.Kind.choices,
        widget=forms.RadioSelect,
        help_text="Pre-bill holds each sampled chart until its audit item is closed.",
    )
    party = forms.ChoiceField(label="Audit by", choices=AuditPlan.Party.choices, initial="internal")
    auditors = forms.ModelMultipleChoiceField(queryset=User.objects.none())
    method = forms.ChoiceField(
        label="Selection", choices=AuditPlan.Method.choices, widget=forms.RadioSelect
    )
    percent = forms.DecimalField(
        label="Percent",
        required=False,
        min_value=0,
        max_value=100,
        decimal_places=2,
        help_text="For a random percentage, e.g. 10.",
    )
    per_coder = forms.IntegerField(
        label="Encounters per coder",
        required=False,
        min_value=1,
        max_value=500,
        help_text="For N per coder, e.g. 5.",
    )
    date_from = forms.DateField(label="Discharge / service from", widget=DateInput)
    date_to = forms.DateField(label="Discharge / service to", widget=DateInput)
    coders = forms.ModelMultipleChoiceField(
        label="Only these coders",
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    encounter_types = forms.MultipleChoiceField(
        label="Only these encounter types",
        choices=Encounter.Type.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    payers = forms.CharField(
        label="Payers", required=False, help_text="Comma-separated, e.g. Medicare, Aetna."
    )
    drgs = forms.CharField(label="MS-DRGs", required=False, help_text="e.g. 291, 470")
    drg_families = forms.CharField(
        label="DRG families", required=False, help_text="Ranges, e.g. 291-293 (heart failure)."
    )
    codes = forms.CharField(
        label="Codes", required=False, help_text="Exact codes or prefixes with *, e.g. I50.*, N17.9"
    )
    min_weight = forms.CharField(
        label="Relative weight at least", required=False, help_text="e.g. 2.5"
    )
    new_coders_days = forms.CharField(
        label="New coders (days)",
        required=False,
        help_text="Coders whose first coded encounter is at most this many days before the end "
        "of the period.",
    )
    seed = forms.IntegerField(
        label="Seed",
        required=False,
        min_value=1,
        help_text="Leave empty for a fresh random seed; give a seed to draw a known sample again.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["auditors"].queryset = selectors.auditors_available()
        self.fields["coders"].queryset = selectors.coders_for_targets()
        for name in ("auditors",):
            self.fields[name].label_from_instance = _person
        self.fields["coders"].label_from_instance = _person

    def clean(self):
        data = super().clean()
        if data.get("method") == AuditPlan.Method.RANDOM_PERCENT and data.get("percent") is None:
            self.add_error("percent", "Give the percentage to draw.")
        if data.get("method") == AuditPlan.Method.PER_CODER and not data.get("per_coder"):
            self.add_error("per_coder", "Give the number of encounters per coder.")
        return data

    def targets(self) -> dict:
        data = self.cleaned_data
        return {
            "coders": [u.pk for u in data.get("coders") or []],
            "encounter_types": data.get("encounter_types") or [],
            "payers": _split(data.get("payers") or ""),
            "drgs": _split(data.get("drgs") or ""),
            "drg_families": _split(data.get("drg_families") or ""),
            "codes": _split(data.get("codes") or ""),
            "min_weight": data.get("min_weight") or "",
            "new_coders_days": data.get("new_coders_days") or "",
        }


def _person(user: User) -> str:
    full = user.get_full_name()
    return f"{full} ({user.username})" if full else user.username


def _add_service_errors(form: forms.Form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            target = field if field in form.fields else None
            for error in errors:
                form.add_error(target, error.messages)
    else:
        form.add_error(None, exc.messages)


@capability_required(Capability.RUN_AUDITS)
def plan_list(request: HttpRequest) -> HttpResponse:
    return render(
        request, "audits/plan_list.html", {"plans": list(selectors.plans_for(user=request.user))}
    )


@capability_required(Capability.RUN_AUDITS)
def plan_new(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = PlanForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                plan = services.plan_create(
                    by=request.user,
                    name=data["name"],
                    kind=data["kind"],
                    party=data["party"],
                    method=data["method"],
                    percent=data.get("percent"),
                    per_coder=data.get("per_coder"),
                    date_from=data["date_from"],
                    date_to=data["date_to"],
                    auditors=list(data["auditors"]),
                    targets=form.targets(),
                    seed=data.get("seed"),
                )
            except ValidationError as exc:
                _add_service_errors(form, exc)
            else:
                messages.success(
                    request, f"Plan “{plan.name}” created. Draw its sample when ready."
                )
                return redirect("audits:plan_detail", pk=plan.pk)
    else:
        form = PlanForm(
            initial={
                "auditors": [request.user.pk],
                "kind": AuditPlan.Kind.POST_BILL,
                "method": AuditPlan.Method.RANDOM_PERCENT,
            }
        )
    return render(request, "audits/plan_new.html", {"form": form})


def _target_words(plan: AuditPlan) -> list[tuple[str, str]]:
    targets = plan.targets or {}
    words = []
    if targets.get("coders"):
        names = User.objects.filter(pk__in=targets["coders"]).order_by("username")
        words.append(("Coders", ", ".join(_person(u) for u in names)))
    if targets.get("encounter_types"):
        words.append(
            (
                "Encounter types",
                ", ".join(Encounter.Type(t).label for t in targets["encounter_types"]),
            )
        )
    for key, label in (
        ("payers", "Payers"),
        ("drgs", "MS-DRGs"),
        ("drg_families", "DRG families"),
        ("codes", "Codes"),
    ):
        if targets.get(key):
            words.append((label, ", ".join(targets[key])))
    if targets.get("min_weight"):
        words.append(("Relative weight", f"≥ {targets['min_weight']}"))
    if targets.get("new_coders_days"):
        words.append(("New coders", f"first coded within {targets['new_coders_days']} days"))
    return words


def _reason_shown(item: AuditItem) -> str:
    """The targeted part of a reason names codes and DRGs the coder assigned: hidden until
    the blind re-code is done."""
    if item.status in (AuditItem.Status.PENDING, AuditItem.Status.RECODING):
        head, sep, _ = item.selection_reason.partition("; targeted:")
        return head + ("; targeted (details after the re-code)" if sep else "")
    return item.selection_reason


@capability_required(Capability.RUN_AUDITS)
def plan_detail(request: HttpRequest, pk: int) -> HttpResponse:
    plan = selectors.plan_get_for(user=request.user, pk=pk, missing_ok=True)
    if plan is None:
        messages.error(request, "That audit plan does not exist (any more).")
        return redirect("audits:plan_list")
    items = list(selectors.plan_items(plan=plan))
    for item in items:
        item.reason_shown = _reason_shown(item)
    compared = [
        i for i in items if i.status in (AuditItem.Status.COMPARED, AuditItem.Status.CLOSED)
    ]
    agreed = sum(i.codes_agreed for i in compared)
    total = sum(i.codes_total for i in compared)
    return render(
        request,
        "audits/plan_detail.html",
        {
            "plan": plan,
            "items": items,
            "auditors": list(plan.auditors.order_by("username")),
            "targets": _target_words(plan),
            "compared": len(compared),
            "accuracy": round(100 * agreed / total, 1) if total else None,
            "clean_items": sum(1 for i in compared if i.finding_count == 0),
            "upcoding": sum(
                1 for i in compared if i.payment_effect == AuditItem.PaymentEffect.UPCODING
            ),
            "downcoding": sum(
                1 for i in compared if i.payment_effect == AuditItem.PaymentEffect.DOWNCODING
            ),
            "open_items": sum(1 for i in items if i.status != AuditItem.Status.CLOSED),
        },
    )


@capability_required(Capability.RUN_AUDITS)
@require_POST
def plan_sample(request: HttpRequest, pk: int) -> HttpResponse:
    plan = selectors.plan_get_for(user=request.user, pk=pk)
    try:
        items = services.plan_sample(plan=plan, by=request.user)
    except ValidationError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, f"Drew {len(items)} encounter{'s' if len(items) != 1 else ''}.")
    return redirect("audits:plan_detail", pk=plan.pk)


@capability_required(Capability.RUN_AUDITS)
@require_POST
def plan_close(request: HttpRequest, pk: int) -> HttpResponse:
    plan = selectors.plan_get_for(user=request.user, pk=pk)
    try:
        services.plan_close(plan=plan, by=request.user)
    except ValidationError as exc:
        messages.error(request, _error_text(exc))
    else:
        messages.success(request, "Plan closed.")
    return redirect("audits:plan_detail", pk=plan.pk)


# --- the blind re-code ------------------------------------------------------------------------


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
        return _recode_answer(request, item, error=_error_text(exc))
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
        messages.error(request, _error_text(exc))
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
        messages.error(request, _error_text(exc))
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
        error = _error_text(exc)
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


# --- coder side and disputes ------------------------------------------------------------------


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
        messages.error(request, f"Not saved: {_error_text(exc)}")
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
        messages.error(request, f"Not saved: {_error_text(exc)}")
    else:
        messages.success(
            request, f"Dispute on {finding.original_code or finding.audited_code} resolved."
        )
    if request.POST.get("next") == "item":
        return redirect("audits:item_detail", pk=finding.item_id)
    return redirect("audits:disputes")
