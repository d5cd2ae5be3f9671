"""Provider documentation feedback: the report, one provider's page, and the CSV export.

Thin views over audits.providers; the filters are the quality dashboard's (date range and
encounter type). Counts only: no patient or encounter appears, so nothing here is PHI."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from accounts.permissions import Capability, capability_required
from audits import providers
from audits.charts import Bar, hbar_chart
from audits.dashboard import hours, pct
from audits.metrics import QualityFilters
from audits.quality_views import _csv_response, _filters


def _query(filters: QualityFilters, **extra: Any) -> str:
    params = filters.query(**extra)
    params.pop("coder", None)  # not a filter of this report
    return urlencode(params)


def _detail_url(filters: QualityFilters, name: str) -> str:
    return f"{reverse('audits:provider_detail')}?{_query(filters, name=name)}"


def _shown(row: providers.ProviderFigures, filters: QualityFilters) -> providers.ProviderFigures:
    """The figures as the page prints them ("—" where there is nothing to divide)."""
    row.url = _detail_url(filters, row.provider)
    row.show = {
        "median": hours(row.median_hours),
        "p90": hours(row.p90_hours),
        "answer_rate": pct(row.answer_rate),
        "drg_change_rate": pct(row.drg_change_rate),
    }
    return row


@capability_required(Capability.RUN_REPORTS)
def provider_feedback(request: HttpRequest) -> HttpResponse:
    form, filters = _filters(request)
    rows = providers.provider_feedback(filters)
    for row in rows:
        _shown(row, filters)
    totals = providers.team_totals(rows)
    busiest = sorted(rows, key=lambda r: -r.sent)[:12]
    chart = hbar_chart(
        title="Queries per provider",
        desc="Physician queries sent to each provider in the date range",
        bars=[Bar(r.provider, r.sent, href=r.url) for r in busiest if r.sent],
    )
    return render(
        request,
        "audits/providers/report.html",
        {
            "form": form,
            "filters": filters,
            "rows": rows,
            "totals": totals,
            "chart": chart,
            "definitions": providers.DEFINITIONS,
            "drg_rate": pct(totals["drg_change_rate"]),
            "export_url": f"{reverse('audits:provider_export')}?{_query(filters)}",
        },
    )


@capability_required(Capability.RUN_REPORTS)
def provider_detail(request: HttpRequest) -> HttpResponse:
    name = " ".join(request.GET.get("name", "").split())
    form, filters = _filters(request)
    if not name:
        return redirect(f"{reverse('audits:provider_feedback')}?{_query(filters)}")
    rows = providers.provider_feedback(filters, provider=name)
    row = _shown(rows[0] if rows else providers.ProviderFigures(provider=name), filters)
    gaps = row.gaps
    chart = hbar_chart(
        title="Documentation gaps",
        desc=f"Query topics and unsupported findings for {name}",
        bars=[Bar(what, n) for what, n, _source in gaps[:10]],
    )
    return render(
        request,
        "audits/providers/detail.html",
        {
            "form": form,
            "filters": filters,
            "name": name,
            "row": row,
            "gaps": gaps,
            "chart": chart,
            "definitions": providers.DEFINITIONS,
            "back_url": f"{reverse('audits:provider_feedback')}?{_query(filters)}",
            "extra": [("name", name)],
        },
    )


CSV_HEADER = [
    "provider",
    "queries sent",
    "answered",
    "withdrawn",
    "open",
    "open-ended",
    "multiple choice",
    "MC clinical option",
    "MC clinically undetermined",
    "MC other",
    "median response hours",
    "p90 response hours",
    "unsupported findings",
    "answered inpatient queries",
    "DRG measurable",
    "DRG changed",
    "top documentation gaps",
]


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


@capability_required(Capability.RUN_REPORTS)
def provider_export(request: HttpRequest) -> StreamingHttpResponse:
    _form, filters = _filters(request)
    rows = providers.provider_feedback(filters)

    def lines():
        yield CSV_HEADER
        for r in rows:
            yield [
                r.provider,
                r.sent,
                r.answered,
                r.withdrawn,
                r.open,
                r.open_ended,
                r.multiple_choice,
                r.mc_clinical,
                r.mc_undetermined,
                r.mc_other,
                _number(r.median_hours),
                _number(r.p90_hours),
                r.unsupported,
                r.drg_answered_inpatient,
                r.drg_measured,
                r.drg_changed,
                "; ".join(f"{what} ({n})" for what, n, _source in r.top_gaps(3)),
            ]

    name = f"provider-feedback-{filters.date_from}-{filters.date_to}.csv"
    return _csv_response(name, lines())
