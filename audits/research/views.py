"""Research reports, cohorts, high-risk flags, risk groups and the de-identified export.

Thin views: parse the GET form, call audits.research.selectors, render. Pages show counts to
staff (never who) and mark the cells an export would hide; the export page asks the purpose,
logs it and sends the de-identified CSV.
"""

from __future__ import annotations

import csv
import io
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from accounts.permissions import Capability, capability_required, has_capability
from audits.charts import COLOURS, Bar, Series, count_scale, hbar_chart, line_chart
from audits.models import RiskGroup
from audits.research import export as ex
from audits.research import selectors as sel
from audits.research import services
from audits.research.forms import CohortForm, ExportForm, FilterForm, RiskForm, RiskGroupForm


def _export_url(report: str, params: dict[str, str]) -> str:
    return f"{reverse('audits:research_export')}?{urlencode({'report': report, **params})}"


def _short(code: str, words: str, room: int) -> str:
    """A chart label: the code and as much of its description as fits."""
    if len(words) > room:
        words = words[: room - 1].rstrip() + "…"
    return f"{code} {words}".strip()


def share_text(value: float | None) -> str:
    """A share as a percentage; one decimal below 10 % so small shares do not read as 0 %."""
    if value is None:
        return "—"
    return f"{value:.1%}" if value < 0.1 else f"{value:.0%}"


def _count_fmt(value: float) -> str:
    return f"{value:,.0f}"


def _trend_charts(trend: sel.Trend, words: dict[str, str], what: str, width: int = 640) -> list:
    """Encounters and patients per period; encounters with each top category per period."""
    if not trend.periods:
        return []
    unit = "quarter" if trend.unit == "quarter" else "month"
    hi, ticks = count_scale(max(trend.encounters, default=0))
    totals = line_chart(
        title=f"{what} per {unit}",
        desc=f"Encounters and distinct patients per {unit} of service.",
        series=[
            Series(
                "Encounters",
                [Bar(lb, v) for lb, v in zip(trend.labels, trend.encounters, strict=True)],
            ),
            Series(
                "Patients", [Bar(lb, v) for lb, v in zip(trend.labels, trend.patients, strict=True)]
            ),
        ],
        lo=0,
        hi=hi,
        ticks=ticks,
        fmt=_count_fmt,
        width=width,
    )
    charts = [totals]
    if trend.categories:
        hi, ticks = count_scale(
            max((max(v, default=0) for v in trend.categories.values()), default=0)
        )
        charts.append(
            line_chart(
                title=f"Top categories per {unit}",
                desc=f"Encounters with each of the most frequent categories, per {unit}.",
                series=[
                    Series(
                        _short(cat, words.get(cat, ""), 12),
                        [Bar(lb, v) for lb, v in zip(trend.labels, values, strict=True)],
                    )
                    for cat, values in trend.categories.items()
                ],
                lo=0,
                hi=hi,
                ticks=ticks,
                fmt=_count_fmt,
            )
        )
    return charts


@capability_required(Capability.RUN_REPORTS)
def research(request: HttpRequest) -> HttpResponse:
    choices = sel.filter_choices()
    form = FilterForm(request.GET or None, choices=choices)
    filters = form.filters()
    encounters = sel.coded_encounters(filters)
    figures = sel.summary(encounters)
    codes = sel.code_frequency(encounters, limit=25)
    categories = sel.category_frequency(encounters, limit=25)
    groups = sel.active_risk_groups()
    comorbidity = sel.comorbidity(encounters, groups)
    pairs = sel.category_pairs(encounters)
    words = sel.icd10cm_descriptions(
        {r["plain"] for r in codes}
        | {r["category"] for r in categories}
        | {p[k] for p in pairs for k in ("first", "second")}
    )
    for row in codes:
        row["description"] = words.get(row["plain"], "")
    for row in categories:
        row["description"] = words.get(row["category"], "")
    trend = sel.trend(
        encounters,
        first=figures["first"],
        last=figures["last"],
        categories=[r["category"] for r in categories[:4]],
    )
    drg = sel.drg_mix(encounters)
    apc = sel.apc_mix(encounters, on=figures["last"] or timezone.localdate())
    for row in apc["rows"]:
        row["status_words"] = sel.status_indicator_words(row["status_indicator"])
    for row in comorbidity["prevalence"]:
        row["share_text"] = share_text(row["share"])
    params = filters.params()
    context = {
        "form": form,
        "filters": filters,
        "choices": choices,
        "figures": figures,
        "codes": codes,
        "categories": categories,
        "trend": trend,
        "trend_charts": _trend_charts(trend, words, "Coded encounters"),
        "category_chart": hbar_chart(
            title="Most frequent categories",
            desc="Coded encounters with any code in each category.",
            bars=[
                Bar(_short(r["category"], r["description"], 24), r["encounters"])
                for r in categories[:10]
            ],
            fmt=_count_fmt,
            colour=COLOURS[0],
        )
        if categories
        else None,
        "comorbidity": comorbidity,
        "prevalence_chart": hbar_chart(
            title="Chronic-condition prevalence",
            desc="Share of coded encounters with each chronic condition coded.",
            bars=[Bar(r["group"].name, r["share"]) for r in comorbidity["prevalence"]],
            max_value=1,
            fmt=share_text,
            colour=COLOURS[2],
        )
        if comorbidity["total"]
        else None,
        "groups": groups,
        "pairs": [
            {
                **p,
                "first_words": words.get(p["first"], ""),
                "second_words": words.get(p["second"], ""),
            }
            for p in pairs
        ],
        "drg": drg,
        "apc": apc,
        "exports": {report: _export_url(report, params) for report in ex.REPORTS},
        "params": params,
    }
    return render(request, "audits/research/research.html", context)


@capability_required(Capability.RUN_REPORTS)
def cohorts(request: HttpRequest) -> HttpResponse:
    choices = sel.filter_choices()
    form = CohortForm(request.GET or None, choices=choices)
    cohort = form.cohort()
    context: dict[str, Any] = {"form": form, "cohort": cohort}
    if cohort is not None:
        encounters = sel.cohort_encounters(cohort)
        figures = sel.summary(encounters)
        codes = sel.code_frequency(encounters, limit=15)
        words = sel.icd10cm_descriptions({r["plain"] for r in codes})
        for row in codes:
            row["description"] = words.get(row["plain"], "")
        trend = sel.trend(encounters, first=figures["first"], last=figures["last"])
        params = CohortForm.params(cohort)
        context.update(
            figures=figures,
            codes=codes,
            trend=trend,
            trend_charts=_trend_charts(trend, {}, "Cohort encounters", width=960),
            breakdowns=sel.breakdowns(encounters),
            exports={r: _export_url(r, params) for r in ex.COHORT_REPORTS},
            bookmark=f"{reverse('audits:cohorts')}?{urlencode(params)}",
        )
    return render(request, "audits/research/cohorts.html", context)


@capability_required(Capability.RUN_REPORTS)
def risk(request: HttpRequest) -> HttpResponse:
    choices = sel.filter_choices()
    form = RiskForm(request.GET or None, choices=choices)
    filters = form.filters()
    min_groups, unit = form.risk()
    groups = sel.active_risk_groups()
    flags = sel.risk_flags(sel.coded_encounters(filters), groups, min_groups=min_groups, unit=unit)
    params = {**filters.params(), "min_groups": str(min_groups), "unit": unit}
    noun = "Patients" if unit == "patient" else "Encounters"
    context = {
        "form": form,
        "groups": groups,
        "flags": flags,
        "noun": noun,
        "min_groups": min_groups,
        "share": share_text(
            flags["flagged"] / flags["population"] if flags["population"] else None
        ),
        "distribution_chart": hbar_chart(
            title=f"{noun} by number of chronic conditions",
            desc=f"{noun} with 0, 1, 2 … of the active chronic-condition groups coded.",
            bars=[
                Bar(f"{r['groups']} condition{'' if r['groups'] == 1 else 's'}", r["count"])
                for r in flags["distribution"]
            ],
            fmt=_count_fmt,
            colour=COLOURS[1],
        )
        if flags["population"]
        else None,
        "export_url": _export_url("risk", params),
        "can_configure": has_capability(request.user, Capability.CONFIGURE_REPORTS),
    }
    return render(request, "audits/research/risk.html", context)


@capability_required(Capability.CONFIGURE_REPORTS)
def risk_groups(request: HttpRequest) -> HttpResponse:
    """The chronic-condition groups the high-risk flags and prevalence count (seniors)."""
    editing = None
    group_id = request.POST.get("group") or request.GET.get("edit")
    if group_id and str(group_id).isdigit():
        editing = RiskGroup.objects.filter(pk=int(group_id)).first()
    if request.method == "POST":
        form = RiskGroupForm(request.POST, instance=editing)
        if form.is_valid():
            group = services.risk_group_save(
                by=request.user,
                group=editing,
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
                code_prefixes=form.cleaned_data["codes"],
                is_active=form.cleaned_data["is_active"],
            )
            messages.success(request, f"Saved the risk group “{group.name}”.")
            return redirect("audits:risk_groups")
    else:
        form = RiskGroupForm(instance=editing, initial={} if editing else {"is_active": True})
    rows = [
        {"group": g, "codes": sel.format_code_list(g.code_prefixes)}
        for g in RiskGroup.objects.select_related("updated_by")
    ]
    return render(
        request,
        "audits/research/risk_groups.html",
        {"form": form, "editing": editing, "rows": rows},
    )


# -- export ----------------------------------------------------------------------------------


def _export_source(data: Any, report: str) -> tuple[dict[str, Any], Any, list[str]]:
    """Parse the report's own form from `data`: (what to export, form, errors)."""
    choices = sel.filter_choices()
    if report in ex.COHORT_REPORTS:
        form = CohortForm(data, choices=choices)
        cohort = form.cohort()
        errors = [] if cohort else ["Define the cohort first (codes, ages or filters)."]
        return {"cohort": cohort, "filters": form.filters()}, form, errors
    if report == "risk":
        form = RiskForm(data, choices=choices)
        min_groups, unit = form.risk()
        return {"filters": form.filters(), "min_groups": min_groups, "unit": unit}, form, []
    form = FilterForm(data, choices=choices)
    return {"filters": form.filters()}, form, []


def _invalid(form: Any) -> list[str]:
    """An export never falls back to "everything" when its filters do not parse."""
    if form.is_valid():
        return []
    return [
        f"{form.fields[name].label if name in form.fields else 'Filters'}: {' '.join(errs)}"
        for name, errs in form.errors.items()
    ]


def _source_words(source: dict[str, Any]) -> list[str]:
    if source.get("cohort") is not None:
        return source["cohort"].describe()
    words = source["filters"].describe()
    if "min_groups" in source:
        words.append(f"flagged at {source['min_groups']} or more conditions, per {source['unit']}")
    return words


def _source_json(source: dict[str, Any]) -> dict[str, Any]:
    if source.get("cohort") is not None:
        return source["cohort"].as_json()
    out = source["filters"].as_json()
    if "min_groups" in source:
        out.update(min_groups=source["min_groups"], unit=source["unit"])
    return out


def _csv(rows: list[list[Any]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()


@capability_required(Capability.RUN_REPORTS)
def research_export(request: HttpRequest) -> HttpResponse:
    """GET: what will be exported and the purpose form. POST: log it and send the CSV."""
    data = request.POST if request.method == "POST" else request.GET
    report = data.get("report", "")
    if report not in ex.REPORTS:
        report = "codes"
    source, source_form, errors = _export_source(data, report)
    errors = list(dict.fromkeys(errors + _invalid(source_form)))
    form = ExportForm(
        request.POST if request.method == "POST" else None, initial={"report": report}
    )
    if request.method == "POST" and form.is_valid() and not errors:
        if source.get("cohort") is not None and report == "cohort_rows":
            result = ex.cohort_rows(source["cohort"])
        else:
            kwargs = {k: v for k, v in source.items() if k in ("cohort", "min_groups", "unit")}
            result = ex.report_tables(report, filters=source["filters"], **kwargs)
        services.research_export_record(
            user=request.user,
            report=report,
            purpose=form.cleaned_data["purpose"],
            filters=_source_json(source),
            rows=result.data_rows,
            suppressed_cells=result.suppressed,
            ip_address=request.META.get("REMOTE_ADDR"),
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
        )
        response = HttpResponse(_csv(result.rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{ex.export_filename(report)}"'
        response["Cache-Control"] = "no-store"
        return response
    hidden = [
        (name, value)
        for name, value in data.items()
        if name not in ("report", "purpose", "csrfmiddlewaretoken") and value
    ]
    back = (
        "audits:cohorts"
        if report in ex.COHORT_REPORTS
        else ("audits:research_risk" if report == "risk" else "audits:research")
    )
    return render(
        request,
        "audits/research/export.html",
        {
            "form": form,
            "report": report,
            "report_name": ex.REPORTS[report],
            "hidden": hidden,
            "words": _source_words(source),
            "errors": errors,
            "back_url": f"{reverse(back)}?{urlencode(hidden)}",
            "row_level": report == "cohort_rows",
        },
    )
