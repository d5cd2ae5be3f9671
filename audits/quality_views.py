"""Quality dashboard, coder scorecards, drill-down lists, exports and the PHI access review.

Thin views: parse the filters, call audits.metrics / audits.access_review / audits.reports,
render. Every number on the dashboard links to the drill-down list with the same filters.
"""

from __future__ import annotations

import csv
import math
from datetime import date, timedelta
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
from audits.charts import Bar, Series, Target, column_chart, hbar_chart, line_chart
from audits.models import AuditPlan, AuditSettings
from encounters.models import Encounter

# -- formatting ------------------------------------------------------------------------------


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"


def hours(value: float | None) -> str:
    # Always hours, so rows compare at a glance (no "47.8 h" next to "2.0 d").
    return "—" if value is None else f"{value:,.1f} h"


def weight(value: Any) -> str:
    return f"{value:+.4f}".rstrip("0").rstrip(".") if value else "0"


def person(user: User | None) -> str:
    if user is None:
        return "Unassigned"
    return user.get_full_name() or user.get_username()


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


def _url(name: str, filters: metrics.QualityFilters, **extra: Any) -> str:
    return reverse(f"audits:{name}") + "?" + urlencode(filters.query(**extra))


def _drill(filters: metrics.QualityFilters, kind: str, **extra: Any) -> str:
    return _url("quality_list", filters, kind=kind, **extra)


# -- dashboard -------------------------------------------------------------------------------


def _coders_named(ids: set[int | None]) -> dict[int | None, User | None]:
    found = {u.pk: u for u in User.objects.filter(pk__in=[i for i in ids if i])}
    return {i: found.get(i) for i in ids}


def _scorecard_rows(
    filters: metrics.QualityFilters,
    accuracy: dict[int | None, dict[str, Any]],
    flow: metrics.Throughput,
) -> list[dict[str, Any]]:
    users = _coders_named(set(accuracy) | set(flow.by_coder))
    rows = []
    for coder_id, user in users.items():
        acc = accuracy.get(coder_id)
        tat = flow.by_coder.get(coder_id, metrics.Turnaround())
        scoped = filters.replace(coder_id=coder_id) if coder_id else filters
        rows.append(
            {
                "coder": user,
                "name": person(user),
                "scorecard": reverse("audits:scorecard", args=[coder_id])
                + "?"
                + urlencode(filters.replace(coder_id=None).query())
                if coder_id
                else "",
                "items": acc["items"] if acc else 0,
                "items_url": _drill(scoped, "items"),
                "code_accuracy": pct(acc["code_accuracy"]) if acc else "—",
                "code_accuracy_value": acc["code_accuracy"] if acc else None,
                "encounter_accuracy": pct(acc["encounter_accuracy"]) if acc else "—",
                "errors_url": _drill(scoped, "items", outcome="errors"),
                "drg_accuracy": pct(acc["drg_accuracy"]) if acc else "—",
                "drg_url": _drill(scoped, "items", outcome="drg_changed"),
                "upcoding": acc["upcoding"] if acc else 0,
                "downcoding": acc["downcoding"] if acc else 0,
                "upcoding_url": _drill(scoped, "items", outcome="upcoding"),
                "downcoding_url": _drill(scoped, "items", outcome="downcoding"),
                "coded": tat.coded,
                "coded_url": _drill(scoped, "coded"),
                "per_day": "—" if tat.per_day is None else f"{tat.per_day:.1f}",
                "median": hours(tat.median_hours),
                "p90": hours(tat.p90_hours),
            }
        )
    rows.sort(key=lambda r: (r["coder"] is None, r["name"].lower()))
    return rows


def _floor_tenth(values: list[float]) -> float:
    return math.floor(min(values) * 10) / 10


def _per_coder_day(flow: metrics.Throughput) -> str:
    coder_days = sum(t.active_days for t in flow.by_coder.values())
    return "—" if not coder_days else f"{flow.team.coded / coder_days:.1f}"


def _weeks(filters: metrics.QualityFilters) -> list[date]:
    first = filters.date_from - timedelta(days=filters.date_from.weekday())
    weeks = []
    while first <= filters.date_to:
        weeks.append(first)
        first += timedelta(days=7)
    return weeks


def quality_context(filters: metrics.QualityFilters) -> dict[str, Any]:
    """Everything the dashboard (and a coder's scorecard) shows, as display-ready values."""
    target = AuditSettings.current().accuracy_target
    summary = metrics.item_summary(filters)
    totals, weekly = summary.team, summary.by_week
    categories = metrics.error_categories(filters, total=totals["items"])
    flow = metrics.throughput(filters)
    backlog = metrics.prebill_backlog_summary(filters)
    target_ratio = float(target) / 100
    weeks = _weeks(filters)

    def week_label(week: date) -> str:
        return week.strftime("%b %-d")

    def week_url(week: date) -> str:
        scoped = filters.replace(
            date_from=max(week, filters.date_from),
            date_to=min(week + timedelta(days=6), filters.date_to),
        )
        return _drill(scoped, "items")

    trend = line_chart(
        title="Accuracy by week",
        desc=(
            "Code-level and encounter-level accuracy of the audited encounters, per week of "
            f"comparison, against the {target} % target. "
            + "; ".join(
                f"week of {week_label(w)}: code {pct(weekly[w]['code_accuracy'])}, "
                f"encounter {pct(weekly[w]['encounter_accuracy'])}"
                for w in weeks
                if w in weekly
            )
        ),
        series=[
            Series(
                "Code level",
                [
                    Bar(week_label(w), weekly.get(w, {}).get("code_accuracy"), href=week_url(w))
                    for w in weeks
                ],
            ),
            Series(
                "Encounter level",
                [
                    Bar(
                        week_label(w), weekly.get(w, {}).get("encounter_accuracy"), href=week_url(w)
                    )
                    for w in weeks
                ],
            ),
        ],
        lo=_floor_tenth(
            [0.5, target_ratio - 0.1]
            + [
                v
                for row in weekly.values()
                for v in (row["code_accuracy"], row["encounter_accuracy"])
                if v is not None
            ]
        ),
        hi=1.0,
        target=Target(target_ratio, f"Target {float(target):g} %"),
    )
    volume = column_chart(
        title="Encounters coded per week",
        desc="Encounters reaching coded for the first time, per week: "
        + "; ".join(
            f"week of {week_label(w)}: {flow.by_week[w].coded if w in flow.by_week else 0}"
            for w in weeks
        ),
        bars=[
            Bar(
                week_label(w),
                flow.by_week[w].coded if w in flow.by_week else 0,
                href=_drill(filters, "coded", week=w.isoformat()),
            )
            for w in weeks
        ],
    )
    error_chart = hbar_chart(
        title="Error rate by category",
        desc="Share of audited encounters with at least one finding of each category: "
        + "; ".join(f"{c['label']}: {pct(c['error_rate'])}" for c in categories),
        bars=[
            Bar(
                c["label"],
                c["error_rate"] or 0,
                text=f"{pct(c['error_rate'])} ({c['items']})",
                href=_drill(filters, "items", category=c["category"]),
            )
            for c in categories
        ],
        max_value=max([c["error_rate"] or 0 for c in categories] + [0.05]),
        colour="#b45309",
    )
    for c in categories:
        c["url"] = _drill(filters, "items", category=c["category"])
        c["rate_text"] = pct(c["error_rate"])
    for b in backlog["buckets"]:
        b["url"] = _drill(filters, "backlog", bucket=b["key"])
    scorecards = _scorecard_rows(filters, summary.by_coder, flow)
    meets = totals["code_accuracy"] is not None and totals["code_accuracy"] >= target_ratio
    return {
        "filters": filters,
        "target": target,
        "target_ratio": target_ratio,
        "meets_target": meets,
        "totals": totals,
        "flow": flow,
        "backlog": backlog,
        "categories": categories,
        "scorecards": scorecards,
        "trend_chart": trend,
        "volume_chart": volume,
        "error_chart": error_chart,
        "show": {
            "code_accuracy": pct(totals["code_accuracy"]),
            "encounter_accuracy": pct(totals["encounter_accuracy"]),
            "code_error_rate": pct(totals["code_error_rate"]),
            "encounter_error_rate": pct(totals["encounter_error_rate"]),
            "drg_accuracy": pct(totals["drg_accuracy"]),
            "drg_changed": totals["drg_items"] - totals["drg_same"],
            "median": hours(flow.team.median_hours),
            "p90": hours(flow.team.p90_hours),
            # Per coder per day: all coded ÷ all coder-days (each coder's active days summed).
            "per_day": _per_coder_day(flow),
            "coded": f"{flow.team.coded:,}",
            "codes_agreed": f"{totals['codes_agreed']:,}",
            "codes_total": f"{totals['codes_total']:,}",
            "items": f"{totals['items']:,}",
            "clean": f"{totals['clean']:,}",
            "with_errors": f"{totals['with_errors']:,}",
            "upcoding_weight": weight(totals["upcoding_weight"]),
            "downcoding_weight": weight(totals["downcoding_weight"]),
        },
        "links": {
            "items": _drill(filters, "items"),
            "clean": _drill(filters, "items", outcome="clean"),
            "errors": _drill(filters, "items", outcome="errors"),
            "drg": _drill(filters, "items", outcome="drg"),
            "drg_changed": _drill(filters, "items", outcome="drg_changed"),
            "upcoding": _drill(filters, "items", outcome="upcoding"),
            "downcoding": _drill(filters, "items", outcome="downcoding"),
            "coded": _drill(filters, "coded"),
            "backlog": _drill(filters, "backlog"),
            "export_items": _url("quality_export_items", filters),
            "export_findings": _url("quality_export_findings", filters),
        },
        "definitions": DEFINITIONS,
    }


DEFINITIONS = [
    (
        "Audited encounter",
        "An audit item the auditor has compared; the date range applies to the comparison "
        "date and the coder is the one who coded the encounter.",
    ),
    (
        "Code-level accuracy",
        "Agreed codes ÷ all codes in the union of the coder's and the auditor's code sets. A "
        "finding a senior overturned counts as agreed.",
    ),
    (
        "Encounter-level accuracy",
        "Audited encounters with no finding ÷ audited encounters. Findings awaiting the coder, "
        "agreed, disputed and upheld count; overturned ones do not.",
    ),
    (
        "Error rate",
        "1 − accuracy. By category: audited encounters with a finding of that category ÷ "
        "audited encounters.",
    ),
    (
        "DRG accuracy",
        "Audited inpatient encounters whose MS-DRG did not change ÷ audited inpatient "
        "encounters grouped before and after.",
    ),
    (
        "Upcoding / downcoding",
        "The original relative weight above (upcoding) or below (downcoding) the audited one; "
        "weight impact = Σ (original − audited).",
    ),
    (
        "Turnaround",
        "From the encounter's first transition into “ready” to its first transition into "
        "“coded”, from the stored workflow transitions: median and 90th percentile.",
    ),
    (
        "Volume per coder per day",
        "Encounters reaching “coded” for the first time in the range (coder = the encounter's "
        "assignee) ÷ the days on which that coder had at least one.",
    ),
    (
        "Pre-bill hold backlog",
        "Encounters now held in pre-bill audit, aged from when they entered it. Not limited "
        "by the date range.",
    ),
]


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
        coders = _coders_named({r["coder_id"] for r in rows})
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
            "dashboard_url": _url("dashboard", filters),
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
