"""What the quality dashboard and a coder's scorecard show, as display-ready values.

The views (audits/quality_views.py) parse the filters and render; this module calls
audits.metrics, builds the SVG charts and the links behind every number.
"""

from __future__ import annotations

import functools
import math
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from django.urls import get_script_prefix, reverse

from accounts.models import User
from audits import metrics
from audits.charts import Bar, Series, Target, column_chart, hbar_chart, line_chart
from audits.models import AuditSettings

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


def page_url(name: str, filters: metrics.QualityFilters, **extra: Any) -> str:
    """The page with the filters (then extra) as GET parameters, as filters.query() gives."""
    query = _filters_query(filters)
    more = {k: v for k, v in extra.items() if v not in (None, "")}
    if more:
        query += "&" + urlencode(more)
    return _path(name, get_script_prefix()) + "?" + query


# A dashboard carries some 200 links to a handful of pages, with a few sets of filters:
# reverse each page and encode each set of filters once.
@functools.lru_cache(maxsize=32)
def _path(name: str, script_prefix: str) -> str:
    return reverse(f"audits:{name}")


@functools.lru_cache(maxsize=256)
def _filters_query(filters: metrics.QualityFilters) -> str:
    return urlencode(filters.query())


def drill_url(filters: metrics.QualityFilters, kind: str, **extra: Any) -> str:
    return page_url("quality_list", filters, kind=kind, **extra)


# -- dashboard -------------------------------------------------------------------------------


def coders_named(ids: set[int | None]) -> dict[int | None, User | None]:
    found = {u.pk: u for u in User.objects.filter(pk__in=[i for i in ids if i])}
    return {i: found.get(i) for i in ids}


def _scorecard_rows(
    filters: metrics.QualityFilters,
    accuracy: dict[int | None, dict[str, Any]],
    flow: metrics.Throughput,
) -> list[dict[str, Any]]:
    users = coders_named(set(accuracy) | set(flow.by_coder))
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
                "items_url": drill_url(scoped, "items"),
                "code_accuracy": pct(acc["code_accuracy"]) if acc else "—",
                "code_accuracy_value": acc["code_accuracy"] if acc else None,
                "encounter_accuracy": pct(acc["encounter_accuracy"]) if acc else "—",
                "errors_url": drill_url(scoped, "items", outcome="errors"),
                "drg_accuracy": pct(acc["drg_accuracy"]) if acc else "—",
                "drg_url": drill_url(scoped, "items", outcome="drg_changed"),
                "upcoding": acc["upcoding"] if acc else 0,
                "downcoding": acc["downcoding"] if acc else 0,
                "upcoding_url": drill_url(scoped, "items", outcome="upcoding"),
                "downcoding_url": drill_url(scoped, "items", outcome="downcoding"),
                "coded": tat.coded,
                "coded_url": drill_url(scoped, "coded"),
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
    audited = metrics.audit_figures(filters)
    summary, categories = audited.summary, audited.categories
    totals, weekly = summary.team, summary.by_week
    flow = metrics.throughput(filters)
    backlog = metrics.prebill_backlog_summary(filters)
    target_ratio = float(target) / 100
    weeks = _weeks(filters)

    def week_label(week: date) -> str:
        return week.strftime("%b %-d")

    def weekpage_url(week: date) -> str:
        scoped = filters.replace(
            date_from=max(week, filters.date_from),
            date_to=min(week + timedelta(days=6), filters.date_to),
        )
        return drill_url(scoped, "items")

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
                    Bar(week_label(w), weekly.get(w, {}).get("code_accuracy"), href=weekpage_url(w))
                    for w in weeks
                ],
            ),
            Series(
                "Encounter level",
                [
                    Bar(
                        week_label(w),
                        weekly.get(w, {}).get("encounter_accuracy"),
                        href=weekpage_url(w),
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
                href=drill_url(filters, "coded", week=w.isoformat()),
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
                href=drill_url(filters, "items", category=c["category"]),
            )
            for c in categories
        ],
        max_value=max([c["error_rate"] or 0 for c in categories] + [0.05]),
        colour="#b45309",
    )
    for c in categories:
        c["url"] = drill_url(filters, "items", category=c["category"])
        c["rate_text"] = pct(c["error_rate"])
    for b in backlog["buckets"]:
        b["url"] = drill_url(filters, "backlog", bucket=b["key"])
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
            "items": drill_url(filters, "items"),
            "clean": drill_url(filters, "items", outcome="clean"),
            "errors": drill_url(filters, "items", outcome="errors"),
            "drg": drill_url(filters, "items", outcome="drg"),
            "drg_changed": drill_url(filters, "items", outcome="drg_changed"),
            "upcoding": drill_url(filters, "items", outcome="upcoding"),
            "downcoding": drill_url(filters, "items", outcome="downcoding"),
            "coded": drill_url(filters, "coded"),
            "backlog": drill_url(filters, "backlog"),
            "export_items": page_url("quality_export_items", filters),
            "export_findings": page_url("quality_export_findings", filters),
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
