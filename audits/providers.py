"""Provider documentation feedback: what coding asked each provider, how fast they answered,
where their documentation fell short, and what the answers did to the MS-DRG.

Plain read functions over PhysicianQuery and audit Findings, aggregated in the database: the
report runs a fixed number of queries whatever the number of providers or queries (the tests
pin it). Counts only: no patient, encounter or account appears in any result.

Definitions, as the report prints them (DEFINITIONS):

- A query belongs to the provider it was sent to (PhysicianQuery.provider); the date range
  and the encounter type apply to when it was sent. Practice charts never count.
- Response time = answered_at − sent_at of answered queries, in hours; median and 90th
  percentile (linear interpolation, PostgreSQL's percentile_cont).
- Answers by type: the query's kind (open-ended, multiple choice) and its outcome
  (answered, withdrawn, still open); multiple-choice answers are split into a clinical option,
  "Clinically undetermined" and "Other".
- Documentation gaps: query topics — each question is put under the first topic of TOPICS
  whose words it contains ("Other" when none) — and audit findings in the category
  "Unsupported by documentation" that a senior did not overturn, on encounters of that
  provider (Encounter.provider), dated by when the audit compared them.
- DRG change after a query: for answered queries on inpatient stays, the MS-DRG before the
  query against the DRG after its answer. Before = the DRG grouped when the query was sent
  (PhysicianQuery.drg_at_send; empty when the stay could not be grouped yet, e.g. no
  principal diagnosis, and for queries sent before it was recorded), else the last DRG saved
  before it was sent. A DRG is "saved" at a submit or a "Save DRG" (Encounter.drg_at_save,
  which keeps only the latest save) and in each billed or corrected coding version
  (CodingVersion.drg): the DRG at save if that save precedes the query, else the newest
  coding version before it. After = the DRG at save if that save follows the answer, else
  the newest coding version after it. A query with no DRG on either side is "not
  measurable" and is left out of the rate.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import (
    Aggregate,
    Case,
    CharField,
    Count,
    DateTimeField,
    F,
    FloatField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.fields.json import KT, KeyTextTransform
from django.db.models.functions import Cast, Coalesce, Extract, NullIf

from audits.metrics import QualityFilters, _percentile, counting_findings, ratio
from audits.models import Finding
from encounters.models import CodingVersion, Encounter, PhysicianQuery
from encounters.queries import UNDETERMINED

Q_STATUS = PhysicianQuery.Status
Q_KIND = PhysicianQuery.Kind

# Common clinical documentation integrity query topics, in the order they are tried; the words
# are matched case-insensitively anywhere in the question.
TOPICS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Sepsis / SIRS", ("sepsis", "septic", "sirs")),
    ("Respiratory failure", ("respiratory failure", "hypoxi", "hypercap")),
    ("Heart failure type and acuity", ("heart failure", "chf", "ejection fraction", "hfref")),
    ("Kidney injury / CKD stage", ("kidney", "renal", "aki", "creatinine", "ckd")),
    ("Malnutrition", ("malnutrition", "malnourish", "cachexia", "albumin")),
    ("Encephalopathy / mental status", ("encephalopath", "mental status", "delirium")),
    ("Anemia type", ("anemia", "anaemia", "hemoglobin", "blood loss")),
    ("Electrolytes", ("sodium", "potassium", "hyponat", "hyperkal", "hypokal", "electrolyte")),
    ("Pneumonia organism / type", ("pneumonia", "aspiration", "infiltrate")),
    ("Pressure injury stage", ("pressure ulcer", "pressure injury", "decubitus", "stage")),
    ("Obesity / BMI", ("obesity", "obese", "bmi")),
    ("Diabetes control / complications", ("diabet", "glucose", "a1c", "hyperglyc")),
    ("Clinical significance of a finding", ("significance", "abnormal", "finding")),
)
OTHER_TOPIC = "Other"

DEFINITIONS: tuple[tuple[str, str], ...] = (
    (
        "Queries",
        "Physician queries sent to the provider in the date range (encounter type filter "
        "applies). Practice charts never count.",
    ),
    (
        "Response time",
        "From sending to the recorded answer, answered queries only: median and 90th "
        "percentile, in hours.",
    ),
    (
        "Answers by type",
        "Open-ended or multiple choice, and whether the query was answered, withdrawn or is "
        "still open; multiple-choice answers split into a clinical option, “Clinically "
        "undetermined” and “Other”.",
    ),
    (
        "Query topics",
        "Each question falls under the first topic whose words it contains; “Other” when "
        "none matches.",
    ),
    (
        "Unsupported findings",
        "Audit findings “Unsupported by documentation” not overturned by a senior, on the "
        "provider's encounters, dated by the audit comparison.",
    ),
    (
        "DRG change after a query",
        "For answered queries on inpatient stays: the MS-DRG grouped when the query was sent "
        "(or, if the stay could not be grouped then, the last DRG saved before it) against the "
        "DRG saved after the answer (the DRG at submit or a billed coding version). Queries "
        "without a DRG on both sides are not measurable and are left out of the rate.",
    ),
)


class PercentileCont(Aggregate):
    """PostgreSQL's percentile_cont(p) WITHIN GROUP (ORDER BY expression)."""

    function = "percentile_cont"
    template = "%(function)s(%(percentile)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression: Any, percentile: float, **extra: Any) -> None:
        super().__init__(expression, percentile=float(percentile), **extra)


COUNTED = (
    "sent",
    "answered",
    "withdrawn",
    "open",
    "open_ended",
    "multiple_choice",
    "mc_answered",
    "mc_undetermined",
    "mc_other",
)

# -- the figures -----------------------------------------------------------------------------


@dataclass
class ProviderFigures:
    provider: str
    sent: int = 0
    answered: int = 0
    withdrawn: int = 0
    open: int = 0
    open_ended: int = 0
    multiple_choice: int = 0
    mc_answered: int = 0
    mc_undetermined: int = 0
    mc_other: int = 0
    median_hours: float | None = None
    p90_hours: float | None = None
    unsupported: int = 0
    drg_answered_inpatient: int = 0
    drg_measured: int = 0
    drg_changed: int = 0
    topics: dict[str, int] = field(default_factory=dict)
    unsupported_codes: dict[str, int] = field(default_factory=dict)
    by_kind: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def mc_clinical(self) -> int:
        return self.mc_answered - self.mc_undetermined - self.mc_other

    @property
    def answer_rate(self) -> float | None:
        return ratio(self.answered, self.sent)

    @property
    def drg_change_rate(self) -> float | None:
        return ratio(self.drg_changed, self.drg_measured)

    @property
    def drg_not_measurable(self) -> int:
        return self.drg_answered_inpatient - self.drg_measured

    @property
    def gaps(self) -> list[tuple[str, int, str]]:
        """The provider's documentation gaps, most frequent first: (what, count, source)."""
        found = [(topic, n, "query topic") for topic, n in self.topics.items()]
        found += [(code, n, "unsupported finding") for code, n in self.unsupported_codes.items()]
        return sorted(found, key=lambda g: (-g[1], g[2], g[0]))

    def top_gaps(self, n: int = 3) -> list[tuple[str, int, str]]:
        return self.gaps[:n]


def _queries(filters: QualityFilters) -> QuerySet[PhysicianQuery]:
    qs = PhysicianQuery.objects.filter(
        sent_at__gte=filters.start, sent_at__lt=filters.end, encounter__is_practice=False
    )
    if filters.encounter_type:
        qs = qs.filter(encounter__type=filters.encounter_type)
    return qs


def _response_hours() -> Any:
    return Extract(F("answered_at") - F("sent_at"), "epoch") / 3600.0


def _counts(qs: QuerySet[PhysicianQuery]) -> QuerySet:
    answered = Q(status=Q_STATUS.ANSWERED)
    mc_answered = answered & Q(kind=Q_KIND.MULTIPLE_CHOICE)
    figures: dict[str, Any] = {
        "sent": Count("pk"),
        "answered": Count("pk", filter=answered),
        "withdrawn": Count("pk", filter=Q(status=Q_STATUS.WITHDRAWN)),
        "open": Count("pk", filter=Q(status=Q_STATUS.SENT)),
        "open_ended": Count("pk", filter=Q(kind=Q_KIND.OPEN)),
        "multiple_choice": Count("pk", filter=Q(kind=Q_KIND.MULTIPLE_CHOICE)),
        "mc_answered": Count("pk", filter=mc_answered),
        # query_answer stores the chosen option first ("Other: ..." for Other).
        "mc_undetermined": Count("pk", filter=mc_answered & Q(answer__startswith=UNDETERMINED)),
        "mc_other": Count("pk", filter=mc_answered & Q(answer__startswith="Other:")),
        "open_answered": Count("pk", filter=answered & Q(kind=Q_KIND.OPEN)),
        "open_withdrawn": Count("pk", filter=Q(status=Q_STATUS.WITHDRAWN, kind=Q_KIND.OPEN)),
        "mc_withdrawn": Count(
            "pk", filter=Q(status=Q_STATUS.WITHDRAWN, kind=Q_KIND.MULTIPLE_CHOICE)
        ),
    }
    if connection.vendor == "postgresql":
        figures["median_hours"] = PercentileCont(_response_hours(), 0.5, filter=answered)
        figures["p90_hours"] = PercentileCont(_response_hours(), 0.9, filter=answered)
    return qs.order_by().values("provider").annotate(**figures)


def _topic_case() -> Case:
    whens = [
        When(
            Q.create([("question__icontains", word) for word in words], connector=Q.OR),
            then=Value(topic),
        )
        for topic, words in TOPICS
    ]
    return Case(*whens, default=Value(OTHER_TOPIC), output_field=CharField())


def _drg_before_after(qs: QuerySet[PhysicianQuery]) -> QuerySet:
    """Answered inpatient queries per provider: how many had a DRG on both sides, and how
    many of those changed (see DRG change in the module docstring)."""
    versions = CodingVersion.objects.filter(encounter=OuterRef("encounter")).order_by()
    saved_at = Cast(KeyTextTransform("saved_at", "encounter__drg_at_save"), DateTimeField())
    saved_drg = KeyTextTransform("drg", "encounter__drg_at_save")
    before = Coalesce(
        NullIf(KT("drg_at_send__drg"), Value("")),
        Case(When(Q(saved_at__lt=F("sent_at")), then=saved_drg)),
        Subquery(
            versions.filter(created_at__lt=OuterRef("sent_at"))
            .order_by("-created_at", "-number")
            .values(drg_code=KT("drg__drg"))[:1]
        ),
        output_field=CharField(),
    )
    after = Coalesce(
        Case(When(Q(saved_at__gte=F("answered_at")), then=saved_drg)),
        Subquery(
            versions.filter(created_at__gte=OuterRef("answered_at"))
            .order_by("-created_at", "-number")
            .values(drg_code=KT("drg__drg"))[:1]
        ),
    )
    rows = (
        qs.filter(status=Q_STATUS.ANSWERED, encounter__type=Encounter.Type.INPATIENT)
        .annotate(saved_at=saved_at)
        .annotate(drg_before=before, drg_after=after)
    )
    measured = (
        Q(drg_before__isnull=False, drg_after__isnull=False) & ~Q(drg_before="") & ~Q(drg_after="")
    )
    return (
        rows.order_by()
        .values("provider")
        .annotate(
            answered_inpatient=Count("pk"),
            measured=Count("pk", filter=measured),
            changed=Count("pk", filter=measured & ~Q(drg_before=F("drg_after"))),
        )
    )


def _unsupported(filters: QualityFilters) -> QuerySet:
    findings = counting_findings().filter(
        category=Finding.Category.UNSUPPORTED,
        item__compared_at__gte=filters.start,
        item__compared_at__lt=filters.end,
        item__encounter__is_practice=False,
    )
    if filters.encounter_type:
        findings = findings.filter(item__encounter__type=filters.encounter_type)
    return (
        findings.order_by()
        .values(provider=F("item__encounter__provider"), code=F("original_code"))
        .annotate(n=Count("pk"))
    )


def provider_feedback(
    filters: QualityFilters, *, provider: str | None = None
) -> list[ProviderFigures]:
    """Every provider with a query or an unsupported finding in the range, most queries
    first; or only `provider`. Four queries (five on SQLite, which has no percentile_cont)."""
    queries = _queries(filters)
    if provider is not None:
        queries = queries.filter(provider=provider)
    rows: dict[str, ProviderFigures] = {}

    def row(name: str) -> ProviderFigures:
        name = name or "(no provider named)"
        if name not in rows:
            rows[name] = ProviderFigures(provider=name)
        return rows[name]

    for counts in _counts(queries):
        figures = row(counts["provider"])
        for key in COUNTED:
            setattr(figures, key, counts[key])
        figures.median_hours = counts.get("median_hours")
        figures.p90_hours = counts.get("p90_hours")
        figures.by_kind = {
            "open": {
                "answered": counts["open_answered"],
                "withdrawn": counts["open_withdrawn"],
                "open": counts["open_ended"] - counts["open_answered"] - counts["open_withdrawn"],
            },
            "multiple_choice": {
                "answered": counts["mc_answered"],
                "withdrawn": counts["mc_withdrawn"],
                "open": counts["multiple_choice"] - counts["mc_answered"] - counts["mc_withdrawn"],
            },
        }
    if connection.vendor != "postgresql":
        _percentiles_here(queries, row)
    topics = (
        queries.order_by()
        .annotate(topic=_topic_case())
        .values("provider", "topic")
        .annotate(n=Count("pk"))
    )
    for item in topics:
        row(item["provider"]).topics[item["topic"]] = item["n"]
    for item in _drg_before_after(queries):
        figures = row(item["provider"])
        figures.drg_answered_inpatient = item["answered_inpatient"]
        figures.drg_measured = item["measured"]
        figures.drg_changed = item["changed"]
    unsupported = _unsupported(filters)
    if provider is not None:
        unsupported = unsupported.filter(item__encounter__provider=provider)
    for item in unsupported:
        figures = row(item["provider"])
        figures.unsupported += item["n"]
        code = item["code"] or "(no code)"
        figures.unsupported_codes[code] = figures.unsupported_codes.get(code, 0) + item["n"]
    return sorted(rows.values(), key=lambda r: (-r.sent, -r.unsupported, r.provider.lower()))


def _percentiles_here(queries: QuerySet[PhysicianQuery], row: Any) -> None:
    """SQLite has no percentile_cont: read the answered durations once and compute here."""
    hours: dict[str, list[float]] = defaultdict(list)
    answered = queries.filter(status=Q_STATUS.ANSWERED).values_list(
        "provider", "sent_at", "answered_at"
    )
    for name, sent, done in answered:
        hours[name].append((done - sent).total_seconds() / 3600)
    for name, values in hours.items():
        values.sort()
        figures = row(name)
        figures.median_hours = _percentile(values, 0.5)
        figures.p90_hours = _percentile(values, 0.9)


def team_totals(rows: list[ProviderFigures]) -> dict[str, Any]:
    """Sums over the providers (the percentiles are not summable, so they are not given)."""
    keys = (*COUNTED[:4], "unsupported", "drg_answered_inpatient", "drg_measured", "drg_changed")
    totals = {key: sum(getattr(r, key) for r in rows) for key in keys}
    totals["providers"] = len(rows)
    totals["drg_change_rate"] = ratio(totals["drg_changed"], totals["drg_measured"])
    return totals
