"""Quality metrics: accuracy, error rates, DRG accuracy, turnaround, volume, payment effect.

Plain read functions; each runs a fixed number of aggregate queries whatever the number of
rows (the dashboard test pins the count). The definitions, as the dashboard prints them:

- An *audited encounter* is an audit item the auditor has compared (``compared_at`` set);
  the date range applies to ``compared_at``, the coder is ``AuditItem.coder``.
- A finding *counts as an error* unless a senior overturned it: findings the coder agreed
  to, findings still awaiting the coder, disputed ones not yet resolved and upheld ones all
  count. An overturned finding means the coder was right.
- Code-level accuracy = agreed codes / codes in the union of both code sets, summed over the
  audited encounters (Σ codes_agreed / Σ codes_total). Each overturned finding stands for one
  code of the union that the comparison did not count as agreed, so it is added back to the
  agreed codes (capped at the item's union size).
- Encounter-level accuracy = audited encounters with no finding that counts / audited
  encounters. Error rate = 1 − accuracy; by category = audited encounters with at least one
  counting finding of that category / audited encounters.
- DRG accuracy = audited encounters whose MS-DRG is the same after the audit / audited
  encounters grouped to an MS-DRG both before and after (inpatient stays: only they are).
- Upcoding / downcoding = the comparison's payment effect; weight impact = Σ(original −
  audited relative weight).
- Turnaround = from an encounter's first transition into "ready" to its first transition
  into "coded" (the stored Transition rows); median and 90th percentile. The date range
  applies to the time it reached "coded"; the coder is the encounter's assignee.
- Volume = encounters whose first transition into "coded" falls in the range; per coder per
  day = that count / the days on which the coder had at least one.
- Pre-bill hold backlog = encounters now in "pre-bill audit", aged from their last
  transition into it (the date range does not apply: it is today's backlog).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.expressions import RawSQL
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce, Least, TruncWeek
from django.utils import timezone

from accounts.models import User
from audits.models import AuditItem, Finding
from encounters.models import Encounter, Transition

S = Encounter.Status
DEFAULT_WEEKS = 12


@dataclass(frozen=True)
class QualityFilters:
    """The dashboard's filters; every metric and every drill-down list takes the same."""

    date_from: date
    date_to: date
    coder_id: int | None = None
    encounter_type: str = ""

    @classmethod
    def default(cls) -> QualityFilters:
        today = timezone.localdate()
        return cls(
            date_from=today - timedelta(weeks=DEFAULT_WEEKS) + timedelta(days=1), date_to=today
        )

    @property
    def start(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.date_from, time.min))

    @property
    def end(self) -> datetime:
        """Exclusive end: midnight after date_to, local time."""
        return timezone.make_aware(datetime.combine(self.date_to + timedelta(days=1), time.min))

    def query(self, **extra: Any) -> dict[str, str]:
        """The filters as GET parameters (for links that keep them)."""
        params = {"from": self.date_from.isoformat(), "to": self.date_to.isoformat()}
        if self.coder_id:
            params["coder"] = str(self.coder_id)
        if self.encounter_type:
            params["type"] = self.encounter_type
        params.update({k: str(v) for k, v in extra.items() if v not in (None, "")})
        return params

    def replace(self, **changes: Any) -> QualityFilters:
        values = {
            "date_from": self.date_from,
            "date_to": self.date_to,
            "coder_id": self.coder_id,
            "encounter_type": self.encounter_type,
        }
        values.update(changes)
        return QualityFilters(**values)


def ratio(part: int | None, whole: int | None) -> float | None:
    """part / whole, or None when there is nothing to divide (shown as "—", never 100 %)."""
    if not whole:
        return None
    return (part or 0) / whole


# -- audited items ---------------------------------------------------------------------------


def counting_findings() -> QuerySet[Finding]:
    """Findings that count as errors: everything a senior has not overturned."""
    return Finding.objects.exclude(resolution=Finding.Resolution.OVERTURNED)


def audited_items(filters: QualityFilters) -> QuerySet[AuditItem]:
    """Compared audit items in the range, with the per-item expressions the metrics sum."""
    qs = AuditItem.objects.filter(compared_at__gte=filters.start, compared_at__lt=filters.end)
    if filters.coder_id:
        qs = qs.filter(coder_id=filters.coder_id)
    if filters.encounter_type:
        qs = qs.filter(encounter__type=filters.encounter_type)
    return with_item_figures(qs)


def with_item_figures(qs: QuerySet[AuditItem]) -> QuerySet[AuditItem]:
    """Per-item expressions the metrics sum: has_error, agreed_codes, drg_before/after."""
    overturned = (
        Finding.objects.filter(item=OuterRef("pk"), resolution=Finding.Resolution.OVERTURNED)
        .order_by()
        .values("item")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return qs.annotate(
        has_error=Exists(counting_findings().filter(item=OuterRef("pk"))),
        agreed_codes=Least(
            ExpressionWrapper(
                F("codes_agreed") + Coalesce(Subquery(overturned), 0),
                output_field=IntegerField(),
            ),
            F("codes_total"),
            output_field=IntegerField(),
        ),
        drg_before=KT("original_drg__drg"),
        drg_after=KT("audited_drg__drg"),
    )


# Grouped to an MS-DRG before and after: both JSON objects carry a "drg" key. (has_key rather
# than comparing the extracted text with "": SQLite turns that comparison into
# JSON_EXTRACT('', '$') and fails with "malformed JSON".)
GROUPED_BOTH_TIMES = Q(original_drg__has_key="drg") & Q(audited_drg__has_key="drg")


def _item_aggregates() -> dict[str, Any]:
    # Only inpatient stays are grouped to an MS-DRG, so "both DRGs present" is the inpatient
    # test, and the encounter table is joined only when the type filter asks for it.
    inpatient_grouped = GROUPED_BOTH_TIMES
    up = Q(payment_effect=AuditItem.PaymentEffect.UPCODING)
    down = Q(payment_effect=AuditItem.PaymentEffect.DOWNCODING)
    return {
        "items": Count("pk"),
        "codes_total": Coalesce(Sum("codes_total"), 0),
        "codes_agreed": Coalesce(Sum("agreed_codes"), 0),
        "clean": Count("pk", filter=Q(has_error=False)),
        "drg_items": Count("pk", filter=inpatient_grouped),
        "drg_same": Count("pk", filter=inpatient_grouped & Q(drg_before=F("drg_after"))),
        "upcoding": Count("pk", filter=up),
        "downcoding": Count("pk", filter=down),
        "upcoding_weight": Sum("weight_difference", filter=up),
        "downcoding_weight": Sum("weight_difference", filter=down),
    }


def _item_rates(row: dict[str, Any]) -> dict[str, Any]:
    row["code_accuracy"] = ratio(row["codes_agreed"], row["codes_total"])
    row["encounter_accuracy"] = ratio(row["clean"], row["items"])
    row["encounter_error_rate"] = (
        None if row["encounter_accuracy"] is None else 1 - row["encounter_accuracy"]
    )
    row["code_error_rate"] = None if row["code_accuracy"] is None else 1 - row["code_accuracy"]
    row["drg_accuracy"] = ratio(row["drg_same"], row["drg_items"])
    row["with_errors"] = row["items"] - row["clean"]
    for key in ("upcoding_weight", "downcoding_weight"):
        row[key] = row[key] or Decimal("0")
    return row


def team_totals(filters: QualityFilters) -> dict[str, Any]:
    """Team accuracy, DRG accuracy and payment effect over the filtered audited items (1 query)."""
    return _item_rates(audited_items(filters).aggregate(**_item_aggregates()))


def plan_totals(plan_id: int) -> dict[str, Any]:
    """The team figures over one plan's compared items, whatever their dates (1 query)."""
    qs = with_item_figures(AuditItem.objects.filter(plan_id=plan_id, compared_at__isnull=False))
    return _item_rates(qs.aggregate(**_item_aggregates()))


def coder_accuracy(filters: QualityFilters) -> dict[int | None, dict[str, Any]]:
    """The same figures per coder (1 query), keyed by coder id."""
    rows = audited_items(filters).values("coder_id").order_by("coder_id")
    return {row["coder_id"]: _item_rates(row) for row in rows.annotate(**_item_aggregates())}


def weekly_accuracy(filters: QualityFilters) -> list[dict[str, Any]]:
    """Per ISO week (Monday) of the comparison: audited encounters and both accuracies (1 query)."""
    rows = (
        audited_items(filters)
        .annotate(week=TruncWeek("compared_at"))
        .values("week")
        .order_by("week")
        .annotate(**_item_aggregates())
    )
    out = []
    for row in rows:
        week = row["week"]
        row["week"] = week.date() if isinstance(week, datetime) else week
        out.append(_item_rates(row))
    return out


@dataclass
class ItemSummary:
    team: dict[str, Any]
    by_coder: dict[int | None, dict[str, Any]]
    by_week: dict[date, dict[str, Any]]


_ADDITIVE = (
    "items",
    "codes_total",
    "codes_agreed",
    "clean",
    "drg_items",
    "drg_same",
    "upcoding",
    "downcoding",
    "upcoding_weight",
    "downcoding_weight",
)


def item_summary(filters: QualityFilters) -> ItemSummary:
    """Team, per-coder and per-week figures from one query grouped by (coder, week).

    Every figure is a count or a sum, so the team and the per-coder and per-week rows are
    sums of the (coder, week) cells; the rates are computed after summing.
    """
    rows = (
        audited_items(filters)
        .annotate(week=TruncWeek("compared_at"))
        .values("coder_id", "week")
        .order_by()
        .annotate(**_item_aggregates())
    )

    def empty() -> dict[str, Any]:
        return dict.fromkeys(_ADDITIVE, 0)

    team, by_coder, by_week = empty(), defaultdict(empty), defaultdict(empty)
    for row in rows:
        week = row["week"].date() if isinstance(row["week"], datetime) else row["week"]
        for target in (team, by_coder[row["coder_id"]], by_week[week]):
            for key in _ADDITIVE:
                target[key] += row[key] or 0
    return ItemSummary(
        team=_item_rates(team),
        by_coder={k: _item_rates(v) for k, v in by_coder.items()},
        by_week={k: _item_rates(v) for k, v in sorted(by_week.items())},
    )


def error_categories(filters: QualityFilters, *, total: int | None = None) -> list[dict[str, Any]]:
    """Per finding category: counting findings, encounters with one, and that error rate.

    One aggregate query over the findings, plus one for the audited-encounter total unless the
    caller already has it.
    """
    items = audited_items(filters)
    if total is None:
        total = items.count()
    rows = (
        counting_findings()
        .filter(item__in=items.values("pk"))
        .values("category")
        .order_by()
        .annotate(findings=Count("pk"), items=Count("item", distinct=True))
    )
    by_category = {row["category"]: row for row in rows}
    out = []
    for value, label in Finding.Category.choices:
        row = by_category.get(value, {"findings": 0, "items": 0})
        out.append(
            {
                "category": value,
                "label": label,
                "findings": row["findings"],
                "items": row["items"],
                "error_rate": ratio(row["items"], total),
            }
        )
    return out


@dataclass
class AuditFigures:
    summary: ItemSummary
    categories: list[dict[str, Any]]


# Every write to an audit item or a finding (insert, update, delete) makes a new row version
# or removes one, which changes the row count, the newest writing transaction (xmin) or the
# set of row versions' places (ctid, summed as hashes; it changes within one transaction too).
_PG_TABLE_VERSION = "SELECT COUNT(*), MAX(xmin::text::bigint), SUM(hashtext(ctid::text)) FROM {}"
_PG_ITEMS_VERSION = _PG_TABLE_VERSION.format(AuditItem._meta.db_table)
_PG_FINDINGS_VERSION = _PG_TABLE_VERSION.format(Finding._meta.db_table)
_PG_AUDIT_VERSION = f"SELECT * FROM ({_PG_ITEMS_VERSION}) i, ({_PG_FINDINGS_VERSION}) f"


def audit_figures(filters: QualityFilters) -> AuditFigures:
    """Team, per-coder, per-week figures and error categories of the audited encounters.

    A workflow step (claiming, coding, review) changes none of them, so on PostgreSQL they
    are cached under a version of the audit tables that any write to an item or a finding
    changes: a new comparison, finding, response or resolution is seen at once, and a day
    of coding steps keeps reading the cache. 1 query on a hit, 3 on a miss (2 on SQLite,
    which is not cached).
    """
    if connection.vendor != "postgresql":
        return _audit_figures(filters)
    with connection.cursor() as cursor:
        cursor.execute(_PG_AUDIT_VERSION)
        version = cursor.fetchone()
    key = _cache_key("audits", filters, version)
    cached = cache.get(key)
    if cached is not None:
        return cached
    result = _audit_figures(filters)
    cache.set(key, result, CACHE_SECONDS)
    return result


def _audit_figures(filters: QualityFilters) -> AuditFigures:
    summary = item_summary(filters)
    return AuditFigures(summary, error_categories(filters, total=summary.team["items"]))


# -- turnaround and volume -------------------------------------------------------------------


def coded_encounters(filters: QualityFilters) -> QuerySet:
    """One row per encounter first coded in the range: encounter_id, coder_id (its assignee),
    ready_at (first "ready"), coded_at (first "coded") and hours (ready → coded) — the steps
    transition_record keeps on the encounter, so this reads encounters by an index rather
    than grouping transitions."""
    qs = Encounter.objects.filter(first_coded_at__gte=filters.start, first_coded_at__lt=filters.end)
    if filters.coder_id:
        qs = qs.filter(assignee_id=filters.coder_id)
    if filters.encounter_type:
        qs = qs.filter(type=filters.encounter_type)
    return qs.order_by().values(
        encounter_id=F("pk"),
        coder_id=F("assignee_id"),
        ready_at=F("first_ready_at"),
        coded_at=F("first_coded_at"),
        hours=F("turnaround_hours"),
    )


def _percentile(sorted_values: list[float], pct: float) -> float | None:
    """Linear interpolation, the same as PostgreSQL's percentile_cont."""
    if not sorted_values:
        return None
    k = (len(sorted_values) - 1) * pct
    lo, hi = math.floor(k), math.ceil(k)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


@dataclass
class Turnaround:
    coded: int = 0
    with_ready: int = 0
    median_hours: float | None = None
    p90_hours: float | None = None
    active_days: int = 0

    @property
    def per_day(self) -> float | None:
        return ratio(self.coded, self.active_days)


@dataclass
class Throughput:
    team: Turnaround = field(default_factory=Turnaround)
    by_coder: dict[int | None, Turnaround] = field(default_factory=dict)
    by_week: dict[date, Turnaround] = field(default_factory=dict)


# One statement, read from encounter_turnaround_idx alone (assignee, first_coded_at; it
# covers turnaround_hours and type), in index ranges that grow with the date range, not with
# the whole history. PostgreSQL 15 cannot skip through an index that starts with the
# assignee, so both parts walk the coders (every user, then NULL for the unassigned) with a
# LATERAL range each:
# - the percentiles of the team and of each coder in one pass (GROUPING SETS): the rows come
#   coder by coder, so there is no sort by coder, only each group's sort of its hours;
# - encounters per (coder, local day), one index range per coder and day between the
#   range's local midnights (converting each row to local time and grouping cost more than
#   the percentiles).
# The {placeholders} are querysets from coded_encounters(), so the rows counted are the
# rows the drill-down lists show.
_PG_THROUGHPUT = """
SELECT CASE WHEN GROUPING(c.id) = 1 THEN 'team' ELSE 'coder' END, c.id, NULL::bigint,
    COUNT(*), COUNT(r.hours),
    percentile_cont(0.5) WITHIN GROUP (ORDER BY r.hours),
    percentile_cont(0.9) WITHIN GROUP (ORDER BY r.hours)
FROM ({coders} UNION ALL SELECT NULL ORDER BY 1) c
    CROSS JOIN LATERAL (({per_coder}) UNION ALL ({unassigned})) r
GROUP BY GROUPING SETS ((), (c.id))
UNION ALL
SELECT 'day', c.id, d.n, s.coded, 0, NULL, NULL
FROM ({coders}) c
    CROSS JOIN unnest({day_starts}::timestamptz[], {day_ends}::timestamptz[])
        WITH ORDINALITY d(starts, ends, n)
    CROSS JOIN LATERAL (SELECT COUNT(*) AS coded FROM ({per_coder_day}) r) s
WHERE s.coded > 0
UNION ALL
SELECT 'day', NULL, d.n, s.coded, 0, NULL, NULL
FROM unnest({day_starts}::timestamptz[], {day_ends}::timestamptz[])
        WITH ORDINALITY d(starts, ends, n)
    CROSS JOIN LATERAL (SELECT COUNT(*) AS coded FROM ({unassigned_day}) r) s
WHERE s.coded > 0
"""
_PLACEHOLDER = re.compile(r"\{(\w+)\}")

# Covers what no key sees: an assignee or encounter type changed without a step.
CACHE_SECONDS = 300


def throughput(filters: QualityFilters) -> Throughput:
    """Turnaround (median, p90) and volume for the team, per coder and per week.

    The heaviest figure on the dashboard (percentiles over every encounter coded in the
    range), so it is cached. Only a step into "ready" or "coded" changes it (they set
    first_ready_at / first_coded_at), so the key holds the newest such transition (id, time,
    encounter): such a step is seen at once, and the other steps (coding, review, billing)
    keep the cache. The 5-minute expiry covers an assignee changed without a step.
    1 query on a hit, 2 on a miss.
    """
    latest = (
        Transition.objects.filter(to_status__in=(S.READY, S.CODED))
        .order_by("-pk")
        .values_list("pk", "at", "encounter_id")
        .first()
    )
    key = _cache_key("throughput", filters, latest)
    cached = cache.get(key)
    if cached is not None:
        return cached
    result = _throughput(filters)
    cache.set(key, result, CACHE_SECONDS)
    return result


def _cache_key(block: str, filters: QualityFilters, version: Any) -> str:
    """One block of figures for these filters, as of this version of what it reads."""
    scope = (
        connection.settings_dict["NAME"],
        timezone.get_current_timezone_name(),
        filters,
        version,
    )
    return f"quality:{block}:" + hashlib.sha256(repr(scope).encode()).hexdigest()


def _local_midnights(filters: QualityFilters) -> list[datetime]:
    """The start of each day of the range and the end of the last one, local time."""
    days = (filters.date_to - filters.date_from).days + 1
    return [
        timezone.make_aware(datetime.combine(filters.date_from + timedelta(days=n), time.min))
        for n in range(days + 1)
    ]


def _throughput_rows_pg(filters: QualityFilters) -> list[tuple]:
    """(part, coder_id, day, coded, with_ready, median, p90) rows from one query; a day is
    1 for the range's first."""
    coded = coded_encounters(filters)
    coder = {"assignee_id": RawSQL("c.id", ())}
    # The unassigned rows go with the coders' NULL row only.
    unassigned = (Q(assignee_id__isnull=True), RawSQL("c.id IS NULL", (), BooleanField()))
    in_day = {
        "first_coded_at__gte": RawSQL("d.starts", ()),
        "first_coded_at__lt": RawSQL("d.ends", ()),
    }
    users = User.objects.order_by().values("id")
    if filters.coder_id:
        users = users.filter(pk=filters.coder_id)
    midnights = _local_midnights(filters)
    compiled = {
        name: qs.query.sql_with_params()
        for name, qs in {
            "coders": users,
            "per_coder": coded.filter(**coder),
            "unassigned": coded.filter(*unassigned),
            "per_coder_day": coded.filter(**coder, **in_day),
            "unassigned_day": coded.filter(assignee_id__isnull=True, **in_day),
        }.items()
    }
    compiled["day_starts"] = ("%s", (midnights[:-1],))
    compiled["day_ends"] = ("%s", (midnights[1:],))
    params: list[Any] = []
    for name in _PLACEHOLDER.findall(_PG_THROUGHPUT):  # in the order they appear
        params.extend(compiled[name][1])
    sql = _PLACEHOLDER.sub(lambda m: compiled[m[1]][0], _PG_THROUGHPUT)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _throughput_rows_python(filters: QualityFilters) -> list[tuple]:
    """The same rows computed here, for SQLite (no percentile_cont)."""
    hours_by: dict[Any, list[float]] = defaultdict(list)
    counts: dict[Any, int] = defaultdict(int)
    per_day: dict[tuple[int | None, date], int] = defaultdict(int)
    for row in coded_encounters(filters):
        day = timezone.localtime(row["coded_at"]).date()
        per_day[(row["coder_id"], day)] += 1
        for key in (("team", None), ("coder", row["coder_id"])):
            counts[key] += 1
            if row["hours"] is not None:
                hours_by[key].append(row["hours"])
    out: list[tuple] = []
    for (part, coder_id), n in counts.items():
        values = sorted(hours_by[(part, coder_id)])
        median, p90 = _percentile(values, 0.5), _percentile(values, 0.9)
        out.append((part, coder_id, None, n, len(values), median, p90))
    for (coder_id, day), n in per_day.items():
        out.append(("day", coder_id, day, n, 0, None, None))
    return out


def _throughput(filters: QualityFilters) -> Throughput:
    """On PostgreSQL one query; on SQLite one query that reads the coded encounters, and the
    figures are computed here."""
    if connection.vendor == "postgresql":
        return throughput_from_rows(filters, _throughput_rows_pg(filters))
    return throughput_from_rows(filters, _throughput_rows_python(filters))


def throughput_from_rows(filters: QualityFilters, rows: list[tuple]) -> Throughput:
    """Throughput from (part, coder_id, day, coded, with_ready, median, p90) rows; weeks and
    active days are summed from the (coder, day) counts."""
    result = Throughput()
    for part, coder_id, _day, coded, with_ready, median, p90 in rows:
        if part == "day":
            continue
        row = Turnaround(
            coded=coded,
            with_ready=with_ready,
            median_hours=None if median is None else float(median),
            p90_hours=None if p90 is None else float(p90),
        )
        if part == "team":
            result.team = row
        else:
            result.by_coder[coder_id] = row
    team_days = set()
    for part, coder_id, day, coded, *_ in rows:
        if part != "day":
            continue
        if isinstance(day, int):  # width_bucket: 1 is the range's first day
            day = filters.date_from + timedelta(days=day - 1)
        team_days.add(day)
        if coder_id in result.by_coder:
            result.by_coder[coder_id].active_days += 1
        week = day - timedelta(days=day.weekday())
        result.by_week.setdefault(week, Turnaround()).coded += coded
    result.team.active_days = len(team_days)
    return result


# -- pre-bill hold backlog -------------------------------------------------------------------


def prebill_backlog(filters: QualityFilters) -> QuerySet[Encounter]:
    """Encounters now held in pre-bill audit, oldest first, with `held_since`."""
    entered = (
        Transition.objects.filter(encounter=OuterRef("pk"), to_status=S.PRE_BILL_AUDIT)
        .order_by()
        .values("encounter")
        .annotate(last=Max("at"))
        .values("last")
    )
    qs = Encounter.objects.filter(status=S.PRE_BILL_AUDIT)
    if filters.coder_id:
        qs = qs.filter(assignee_id=filters.coder_id)
    if filters.encounter_type:
        qs = qs.filter(type=filters.encounter_type)
    return qs.annotate(held_since=Subquery(entered)).order_by(
        F("held_since").asc(nulls_first=True), "pk"
    )


BACKLOG_BUCKETS = (
    ("under_2", "Under 2 days", 0, 2),
    ("2_to_7", "2–7 days", 2, 7),
    ("over_7", "Over 7 days", 7, None),
)


def prebill_backlog_summary(filters: QualityFilters) -> dict[str, Any]:
    """Count, oldest and age buckets of the backlog (1 query: when each held encounter
    entered the hold, counted here; an aggregate over that annotation looked each one up
    again for every figure)."""
    now = timezone.now()
    held = list(prebill_backlog(filters).order_by().values_list("held_since", flat=True))
    known = [at for at in held if at is not None]
    row: dict[str, Any] = {"total": len(held), "oldest": min(known, default=None)}
    for key, _label, low, high in BACKLOG_BUCKETS:
        row[key] = sum(
            1
            for at in known
            if at <= now - timedelta(days=low) and (high is None or at > now - timedelta(days=high))
        )
    row["oldest_days"] = None if row["oldest"] is None else (now - row["oldest"]).days
    row["buckets"] = [
        {"key": key, "label": label, "count": row[key]} for key, label, _lo, _hi in BACKLOG_BUCKETS
    ]
    return row


def backlog_age_filter(qs: QuerySet[Encounter], bucket: str) -> QuerySet[Encounter]:
    now = timezone.now()
    for key, _label, low, high in BACKLOG_BUCKETS:
        if key == bucket:
            qs = qs.filter(held_since__lte=now - timedelta(days=low))
            if high is not None:
                qs = qs.filter(held_since__gt=now - timedelta(days=high))
    return qs


# -- drill-down selections -------------------------------------------------------------------


ITEM_OUTCOMES = {
    "all": "All audited encounters",
    "clean": "No finding that counts",
    "errors": "With at least one counting finding",
    "drg": "Inpatient, grouped before and after",
    "drg_same": "MS-DRG unchanged",
    "drg_changed": "MS-DRG changed",
    "upcoding": "Possible upcoding",
    "downcoding": "Possible downcoding",
}


def items_for(filters: QualityFilters, *, outcome: str = "all", category: str = "") -> QuerySet:
    """The audited items behind a number on the dashboard."""
    qs = audited_items(filters)
    grouped = GROUPED_BOTH_TIMES
    if outcome == "clean":
        qs = qs.filter(has_error=False)
    elif outcome == "errors":
        qs = qs.filter(has_error=True)
    elif outcome == "drg":
        qs = qs.filter(grouped)
    elif outcome == "drg_same":
        qs = qs.filter(grouped, drg_before=F("drg_after"))
    elif outcome == "drg_changed":
        qs = qs.filter(grouped).exclude(drg_before=F("drg_after"))
    elif outcome in ("upcoding", "downcoding"):
        qs = qs.filter(payment_effect=outcome)
    if category:
        qs = qs.filter(Exists(counting_findings().filter(item=OuterRef("pk"), category=category)))
    return qs.select_related("encounter", "encounter__patient", "coder", "plan").order_by(
        "-compared_at", "-pk"
    )


def coded_for(filters: QualityFilters, *, week: date | None = None) -> QuerySet:
    """The coded encounters behind the volume and turnaround numbers, newest first."""
    qs = coded_encounters(filters)
    if week is not None:
        tz = timezone.get_current_timezone()
        start = timezone.make_aware(datetime.combine(week, time.min), tz)
        qs = qs.filter(coded_at__gte=start, coded_at__lt=start + timedelta(days=7))
    return qs.order_by("-coded_at", "-encounter_id")


def hours_between(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return (end - start).total_seconds() / 3600


__all__ = [
    "ITEM_OUTCOMES",
    "QualityFilters",
    "Throughput",
    "Turnaround",
    "audited_items",
    "coded_encounters",
    "coded_for",
    "coder_accuracy",
    "error_categories",
    "items_for",
    "prebill_backlog",
    "prebill_backlog_summary",
    "team_totals",
    "throughput",
    "weekly_accuracy",
]
