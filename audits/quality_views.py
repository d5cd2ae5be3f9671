"""Quality dashboard, coder scorecards, drill-down lists, exports and the PHI access review.

Thin views: parse the filters, call audits.metrics / audits.access_review / audits.reports,
render. Every number on the dashboard links to the drill-down list with the same filters.
"""

from __future__ import annotations

import csv
from datetime import date
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from accounts.models import CODER_ROLES, PhiAccess, User
from accounts.permissions import Capability, capability_required, has_capability
from accounts.services import phi_access_record
from audits import access_review, metrics, reports
from audits.dashboard import coders_named, hours, page_url, person, quality_context
from audits.models import AuditPlan, AuditSettings
from encounters.models import Encounter

# -- filters ---------------------------------------------------------------------------------


MAX_RANGE_DAYS = 2 * 366


class QualityFilterForm(forms.Form):
    """from / to / coder / type, the GET names every dashboard link carries."""

    def __init__(self, data: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(data, *args, **kwargs)
        date = forms.DateInput({"type": "date"})
        self.fields["from"] = forms.DateField(label="From", required=False, widget=date)
        self.fields["to"] = forms.DateField(label="To", required=False, widget=date)
        self.fields["coder"] = forms.ModelChoiceField(
            label="Coder",
            queryset=User.objects.filter(Q(role__in=CODER_ROLES) | ~Q(also_coder_role="")).order_by(
                "last_name", "first_name", "username"
            ),
            required=False,
            empty_label="All coders",
        )
        self.fields["type"] = forms.ChoiceField(
            label="Encounter type",
            required=False,
            choices=[("", "All types"), *Encounter.Type.choices],
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("from"), data.get("to")
        if start and end and start > end:
            raise forms.ValidationError("The start date is after the end date.")
        if start and end and (end - start).days > MAX_RANGE_DAYS:
            raise forms.ValidationError(
                "Choose at most two years at a time (the charts are weekly)."
            )
        return data

    def filters(self) -> metrics.QualityFilters:
        """The valid filters; anything not given (or not valid) falls back to the default."""
        default = metrics.QualityFilters.default()
        if not self.is_bound or not self.is_valid():
            return default
        data = self.cleaned_data
        return metrics.QualityFilters(
            date_from=data.get("from") or default.date_from,
            date_to=data.get("to") or default.date_to,
            coder_id=data["coder"].pk if data.get("coder") else None,
            encounter_type=data.get("type") or "",
        )


def _filters(request: HttpRequest) -> tuple[QualityFilterForm, metrics.QualityFilters]:
    form = QualityFilterForm(request.GET or None)
    return form, form.filters()


@capability_required(Capability.VIEW_QUALITY_METRICS)
def dashboard(request: HttpRequest) -> HttpResponse:
    form, filters = _filters(request)
    context = quality_context(filters)
    context.update(
        form=form,
        can_set_target=has_capability(request.user, Capability.RUN_AUDITS),
        target_form=TargetForm(initial={"accuracy_target": context["target"]}),
    )
    return render(request, "audits/quality/dashboard.html", context)


@capability_required(Capability.VIEW_QUALITY_METRICS)
def scorecard(request: HttpRequest, pk: int) -> HttpResponse:
    coder = User.objects.filter(pk=pk).first()
    if coder is None:
        messages.error(request, "There is no such coder; the dashboard lists every coder.")
        return redirect("audits:dashboard")
    form, filters = _filters(request)
    filters = filters.replace(coder_id=coder.pk)
    context = quality_context(filters)
    context.update(coder=coder, coder_name=person(coder), form=form)
    return render(request, "audits/quality/scorecard.html", context)


# -- target ----------------------------------------------------------------------------------


class TargetForm(forms.Form):
    accuracy_target = forms.DecimalField(
        label="Accuracy target (%)",
        min_value=50,
        max_value=100,
        max_digits=5,
        decimal_places=2,
        help_text="Team code-level accuracy to aim for; 95 % is the common industry benchmark.",
    )


@capability_required(Capability.RUN_AUDITS)
def quality_target(request: HttpRequest) -> HttpResponse:
    current = AuditSettings.current()
    if request.method == "POST":
        form = TargetForm(request.POST)
        if form.is_valid():
            current.accuracy_target = form.cleaned_data["accuracy_target"]
            current.updated_by = request.user
            current.save(update_fields=["accuracy_target", "updated_by", "updated_at"])
            messages.success(request, f"The accuracy target is now {current.accuracy_target:g} %.")
            return redirect("audits:dashboard")
    else:
        form = TargetForm(initial={"accuracy_target": current.accuracy_target})
    return render(request, "audits/quality/target.html", {"form": form, "current": current})


# -- drill-down ------------------------------------------------------------------------------


DRILL_KINDS = {
    "items": "Audited encounters",
    "coded": "Encounters coded",
    "backlog": "Pre-bill hold backlog",
}


@capability_required(Capability.VIEW_QUALITY_METRICS)
def quality_list(request: HttpRequest) -> HttpResponse:
    form, filters = _filters(request)
    kind = request.GET.get("kind", "items")
    if kind not in DRILL_KINDS:
        kind = "items"
    outcome = request.GET.get("outcome", "all")
    if outcome not in metrics.ITEM_OUTCOMES:
        outcome = "all"
    category = request.GET.get("category", "")
    bucket = request.GET.get("bucket", "")
    week = None
    if request.GET.get("week"):
        try:
            week = date.fromisoformat(request.GET["week"])
        except ValueError:
            week = None
    heading = DRILL_KINDS[kind]
    detail = []
    if kind == "items":
        qs = metrics.items_for(filters, outcome=outcome, category=category)
        if outcome != "all":
            detail.append(metrics.ITEM_OUTCOMES[outcome])
        if category:
            from audits.models import Finding

            detail.append(
                f"with a {dict(Finding.Category.choices).get(category, category)} finding"
            )
    elif kind == "coded":
        qs = metrics.coded_for(filters, week=week)
        if week:
            detail.append(f"week of {week:%b %-d, %Y}")
    else:
        qs = metrics.prebill_backlog(filters).select_related("patient", "assignee")
        if bucket:
            qs = metrics.backlog_age_filter(qs, bucket)
            detail.append(
                dict((k, label) for k, label, _a, _b in metrics.BACKLOG_BUCKETS).get(bucket, "")
            )
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    if kind == "coded":
        encounters = Encounter.objects.in_bulk([r["encounter_id"] for r in rows])
        coders = coders_named({r["coder_id"] for r in rows})
        for r in rows:
            r["encounter"] = encounters.get(r["encounter_id"])
            r["coder"] = person(coders.get(r["coder_id"]))
            r["hours"] = hours(metrics.hours_between(r["ready_at"], r["coded_at"]))
    elif kind == "backlog":
        now = timezone.now()
        for e in rows:
            e.age_days = None if e.held_since is None else (now - e.held_since).days
    keep = {k: v for k, v in request.GET.items() if k != "page"}
    return render(
        request,
        "audits/quality/list.html",
        {
            "form": form,
            "filters": filters,
            "kind": kind,
            "heading": heading,
            "detail": " · ".join(d for d in detail if d),
            "page": page,
            "rows": rows,
            "keep_query": urlencode(keep),
            # The list's own selection survives a change of dates, coder or type.
            "keep_fields": [
                (k, v)
                for k, v in keep.items()
                if k in ("kind", "outcome", "category", "bucket", "week") and v
            ],
            "dashboard_url": page_url("dashboard", filters),
            "kinds": DRILL_KINDS,
        },
    )


# -- exports ---------------------------------------------------------------------------------


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_response(name: str, rows: Any) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse((writer.writerow(r) for r in rows), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _export_logged(request: HttpRequest, what: str, filters: metrics.QualityFilters) -> None:
    """Exports carry account numbers: the export itself is a PHI access."""
    phi_access_record(
        user=request.user,
        action=PhiAccess.Action.EXPORT,
        reason=f"{what}: {urlencode(filters.query())}"[:500],
        ip_address=request.META.get("REMOTE_ADDR"),
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
    )


def _plan_scope(request: HttpRequest, filters: metrics.QualityFilters) -> tuple[Any, str]:
    plan_id = request.GET.get("plan", "")
    return (int(plan_id) if plan_id.isdigit() else None), plan_id


@capability_required(Capability.VIEW_QUALITY_METRICS)
def quality_export_items(request: HttpRequest) -> StreamingHttpResponse:
    _form, filters = _filters(request)
    plan_id, _ = _plan_scope(request, filters)
    _export_logged(request, "Audit items CSV", filters)
    return _csv_response(
        f"audit-items-{filters.date_from}-{filters.date_to}.csv",
        reports.items_csv_rows(filters, plan_id=plan_id),
    )


@capability_required(Capability.VIEW_QUALITY_METRICS)
def quality_export_findings(request: HttpRequest) -> StreamingHttpResponse:
    _form, filters = _filters(request)
    plan_id, _ = _plan_scope(request, filters)
    _export_logged(request, "Audit findings CSV", filters)
    return _csv_response(
        f"audit-findings-{filters.date_from}-{filters.date_to}.csv",
        reports.findings_csv_rows(filters, plan_id=plan_id),
    )


def _plan_or_none(request: HttpRequest, pk: int) -> AuditPlan | None:
    plan = AuditPlan.objects.filter(pk=pk).first()
    if plan is None:
        messages.error(request, f"There is no audit plan {pk}.")
    return plan


@capability_required(Capability.RUN_AUDITS)
def quality_plan_report(request: HttpRequest, pk: int) -> HttpResponse:
    plan = _plan_or_none(request, pk)
    if plan is None:
        return redirect("audits:home")
    report = reports.plan_report(plan)
    return render(request, "audits/quality/plan_report.html", {"report": report, "plan": plan})


@capability_required(Capability.RUN_AUDITS)
def quality_plan_report_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    plan = _plan_or_none(request, pk)
    if plan is None:
        return redirect("audits:home")
    pdf = reports.plan_report_pdf(reports.plan_report(plan))
    phi_access_record(
        user=request.user,
        action=PhiAccess.Action.EXPORT,
        reason=f"Audit report PDF for plan {plan.pk} ({plan.name})"[:500],
        ip_address=request.META.get("REMOTE_ADDR"),
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="audit-report-plan-{plan.pk}.pdf"'
    return response


# -- PHI access review -----------------------------------------------------------------------


@capability_required(Capability.REVIEW_PHI_ACCESS)
def access_review_page(request: HttpRequest) -> HttpResponse:
    form = access_review.AccessFilterForm(request.GET or None)
    params = form.params()
    qs = access_review.access_rows(params)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    rows = access_review.explain(list(page.object_list), params)
    keep = {k: v for k, v in request.GET.items() if k != "page"}
    return render(
        request,
        "audits/quality/access_review.html",
        {
            "form": form,
            "params": params,
            "page": page,
            "rows": rows,
            "keep_query": urlencode(keep),
            "flag_help": access_review.FLAG_HELP,
            "export_url": reverse("audits:access_export") + ("?" + urlencode(keep) if keep else ""),
        },
    )


@capability_required(Capability.REVIEW_PHI_ACCESS)
def access_export(request: HttpRequest) -> StreamingHttpResponse:
    form = access_review.AccessFilterForm(request.GET or None)
    params = form.params()
    # Recorded before the rows are read, so the export shows up in its own file.
    phi_access_record(
        user=request.user,
        action=PhiAccess.Action.EXPORT,
        patient_id=params.patient_ids[0]
        if params.patient_ids and len(params.patient_ids) == 1
        else None,
        reason=f"PHI access log export: {params.describe()}"[:500],
        ip_address=request.META.get("REMOTE_ADDR"),
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return _csv_response(f"phi-access-{stamp}.csv", access_review.csv_rows(params))
