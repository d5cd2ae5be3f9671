"""Research reports over coded encounters: counts only, never who.

Every function takes the same filters and aggregates in the database (values/annotate/Count),
so a page costs a fixed number of queries whatever the number of encounters. Definitions, as
the pages print them:

- A *coded encounter* is one whose status is coded or any later step (pre-bill audit, ready to
  bill, billed, denied, corrected, resubmitted, closed). Practice charts never count: the
  default manager hides them.
- The *service date* is the discharge date, else the admission date (Encounter.date_of_service);
  the date range, the trend and the export year use it.
- *Age* is the patient's age in whole years on the admission date.
- A *category* is the first three characters of an ICD-10-CM code (E11.9 → E11).
- Code lists match by prefix, dots ignored: "E11" matches E11.9 and E11.65; "I10-I15" is every
  category from I10 to I15.
- A *risk group* (chronic condition) is present on an encounter when any of its diagnosis codes
  starts with one of the group's prefixes; on a patient when present on any of the patient's
  coded encounters in the filters.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from typing import Any

from django.db import connection
from django.db.models import (
    Avg,
    Case,
    Count,
    DateField,
    Expression,
    F,
    FloatField,
    IntegerField,
    Max,
    Min,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.fields.json import KT
from django.db.models.functions import (
    Cast,
    Coalesce,
    ExtractDay,
    ExtractMonth,
    ExtractYear,
    Substr,
    TruncMonth,
    TruncQuarter,
    Upper,
)
from django.db.models.lookups import LessThan

from audits.models import RiskGroup
from encounters.models import DiagnosisAssignment, Encounter, Patient, ProcedureAssignment

S = Encounter.Status
# Coded, and every step after it: what research counts (the coding is settled enough).
CODED_STATUSES = (
    S.CODED,
    S.PRE_BILL_AUDIT,
    S.READY_TO_BILL,
    S.BILLED,
    S.DENIED,
    S.CORRECTED,
    S.RESUBMITTED,
    S.CLOSED,
)

# (label, lowest age, highest age or None): age at admission.
AGE_BANDS: tuple[tuple[str, int, int | None], ...] = (
    ("0-17", 0, 17),
    ("18-44", 18, 44),
    ("45-64", 45, 64),
    ("65-74", 65, 74),
    ("75-89", 75, 89),
    ("90+", 90, None),
)
AGE_BAND_LABELS = tuple(label for label, _, _ in AGE_BANDS)
SEX_LABELS = dict(Patient.Sex.choices)
TYPE_LABELS = dict(Encounter.Type.choices)

# More than this many months between the first and the last service date: trend by quarter.
MONTHLY_UP_TO = 24


# -- filters ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResearchFilters:
    """The filters every report takes; their GET names are in `PARAMS`."""

    date_from: date | None = None
    date_to: date | None = None
    encounter_type: str = ""
    payer: str = ""
    age_band: str = ""
    sex: str = ""
    provider: str = ""

    PARAMS = {
        "date_from": "from",
        "date_to": "to",
        "encounter_type": "type",
        "payer": "payer",
        "age_band": "age",
        "sex": "sex",
        "provider": "provider",
    }

    def params(self) -> dict[str, str]:
        """The filters as GET parameters (links and the export form keep them)."""
        out = {}
        for attr, name in self.PARAMS.items():
            value = getattr(self, attr)
            if value:
                out[name] = value.isoformat() if isinstance(value, date) else str(value)
        return out

    def describe(self) -> list[str]:
        """The filters in words, for the page and the export log."""
        words = []
        if self.date_from or self.date_to:
            start = self.date_from.isoformat() if self.date_from else "the first"
            end = self.date_to.isoformat() if self.date_to else "the last"
            words.append(f"service dates {start} to {end}")
        if self.encounter_type:
            words.append(TYPE_LABELS.get(self.encounter_type, self.encounter_type).lower())
        if self.payer:
            words.append(f"payer {self.payer}")
        if self.age_band:
            words.append(f"aged {self.age_band}")
        if self.sex:
            words.append(SEX_LABELS.get(self.sex, self.sex).lower())
        if self.provider:
            words.append(f"provider {self.provider}")
        return words

    def as_json(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class Cohort:
    """A cohort definition: coded encounters in `filters`, within an age range, with any of
    `any_codes` and none of `none_codes` (prefixes, no dots). `scope` says where "none of"
    looks: the same encounter, or any of the patient's coded encounters."""

    filters: ResearchFilters = field(default_factory=ResearchFilters)
    any_codes: tuple[str, ...] = ()
    none_codes: tuple[str, ...] = ()
    age_min: int | None = None
    age_max: int | None = None
    scope: str = "encounter"

    SCOPES = (
        ("encounter", "the same encounter"),
        ("patient", "any of the patient's coded encounters"),
    )

    @property
    def is_empty(self) -> bool:
        return not (self.any_codes or self.none_codes or self.age_min or self.age_max) and not (
            self.filters.params()
        )

    def describe(self) -> list[str]:
        words = []
        if self.any_codes:
            words.append("any of " + ", ".join(dotted(c) for c in self.any_codes))
        if self.none_codes:
            where = dict(self.SCOPES)[self.scope]
            words.append(
                "none of " + ", ".join(dotted(c) for c in self.none_codes) + f" on {where}"
            )
        if self.age_min is not None and self.age_max is not None:
            words.append(f"aged {self.age_min}–{self.age_max}")
        elif self.age_min is not None:
            words.append(f"aged {self.age_min}+")
        elif self.age_max is not None:
            words.append(f"aged up to {self.age_max}")
        return words + self.filters.describe()

    def as_json(self) -> dict[str, Any]:
        return {
            **self.filters.as_json(),
            "any_codes": list(self.any_codes),
            "none_codes": list(self.none_codes),
            "age_min": self.age_min,
            "age_max": self.age_max,
            "scope": self.scope,
        }


# -- code lists ------------------------------------------------------------------------------

_CODE = re.compile(r"^[A-Z][0-9][0-9A-Z]{0,5}$")
_RANGE = re.compile(r"^([A-Z])(\d{2})-\1?(\d{2})$")


class CodeListError(ValueError):
    pass


def parse_code_list(text: str) -> tuple[str, ...]:
    """ICD-10-CM codes, categories and category ranges as prefixes without dots.

    "E11, I50.2 I10-I13" → ("E11", "I502", "I10", "I11", "I12", "I13"). Raises CodeListError
    naming the first entry that is not an ICD-10-CM code.
    """
    found: list[str] = []
    for typed in re.split(r"[\s,;]+", text):
        token = typed.upper().replace(".", "").rstrip("*")
        if not token:
            continue
        if match := _RANGE.match(token):
            letter, lo, hi = match.group(1), int(match.group(2)), int(match.group(3))
            if lo > hi:
                raise CodeListError(f"{typed}: the range runs backwards.")
            found.extend(f"{letter}{n:02d}" for n in range(lo, hi + 1))
        elif _CODE.match(token):
            found.append(token)
        else:
            raise CodeListError(
                f"{typed} is not an ICD-10-CM code, category or range (e.g. E11, I50.22, I10-I16)."
            )
    return tuple(dict.fromkeys(found))


def format_code_list(prefixes: Iterable[str]) -> str:
    return ", ".join(dotted(p) for p in prefixes)


def dotted(plain: str) -> str:
    """An ICD-10-CM code as coders write it: dot after the category."""
    return plain if len(plain) <= 3 else f"{plain[:3]}.{plain[3:]}"


def _category(path: str = "code") -> Expression:
    # Codes are stored as the code set displays them (upper case, dot after the category).
    return Substr(path, 1, 3)


def _diagnoses() -> QuerySet[DiagnosisAssignment]:
    return DiagnosisAssignment.objects.annotate(category=_category())


def _matches(prefixes: Sequence[str]) -> Q:
    """Diagnoses (annotated by _diagnoses) whose code starts with one of the prefixes.
    Categories compare as one hashed IN list; longer prefixes by their dotted form. No
    function over the code column: this runs over every diagnosis once per group."""
    categories = [p for p in prefixes if len(p) == 3]
    q = Q(category__in=categories) if categories else Q(pk__in=[])
    for prefix in prefixes:
        if len(prefix) != 3:
            q |= Q(code__startswith=dotted(prefix))
    return q


# -- the encounters counted ------------------------------------------------------------------


def _age_at_admission() -> Expression:
    birthday_later = LessThan(
        ExtractMonth("admit_date") * 100 + ExtractDay("admit_date"),
        ExtractMonth("patient__birth_date") * 100 + ExtractDay("patient__birth_date"),
    )
    return (
        ExtractYear("admit_date")
        - ExtractYear("patient__birth_date")
        - Case(When(birthday_later, then=Value(1)), default=Value(0), output_field=IntegerField())
    )


def _age_band() -> Expression:
    whens = [
        When(age__gte=lo, **({"age__lte": hi} if hi is not None else {}), then=Value(label))
        for label, lo, hi in AGE_BANDS
    ]
    return Case(*whens, default=Value(""))


def band_bounds(label: str) -> tuple[int, int | None]:
    for band, lo, hi in AGE_BANDS:
        if band == label:
            return lo, hi
    raise ValueError(f"Unknown age band {label!r}")


def coded_encounters(filters: ResearchFilters) -> QuerySet[Encounter]:
    """Coded encounters (practice charts hidden) in the filters, with service_date, age,
    age_band and year annotated. Unordered: callers aggregate."""
    qs = (
        Encounter.objects.filter(status__in=CODED_STATUSES)
        .annotate(
            service_date=Coalesce("discharge_date", "admit_date", output_field=DateField()),
            age=_age_at_admission(),
        )
        .annotate(age_band=_age_band(), year=ExtractYear("service_date"))
        .order_by()
    )
    if filters.date_from:
        qs = qs.filter(service_date__gte=filters.date_from)
    if filters.date_to:
        qs = qs.filter(service_date__lte=filters.date_to)
    if filters.encounter_type:
        qs = qs.filter(type=filters.encounter_type)
    if filters.payer:
        qs = qs.filter(payer=filters.payer)
    if filters.provider:
        qs = qs.filter(provider=filters.provider)
    if filters.sex:
        qs = qs.filter(patient__sex=filters.sex)
    if filters.age_band:
        lo, hi = band_bounds(filters.age_band)
        qs = qs.filter(age__gte=lo)
        if hi is not None:
            qs = qs.filter(age__lte=hi)
    return qs


def filter_choices() -> dict[str, list[str]]:
    """The payers and providers of coded encounters, for the filter menus (two queries)."""
    coded = Encounter.objects.filter(status__in=CODED_STATUSES).order_by()
    return {
        "payers": list(
            coded.exclude(payer="").values_list("payer", flat=True).distinct().order_by("payer")
        ),
        "providers": list(
            coded.exclude(provider="")
            .values_list("provider", flat=True)
            .distinct()
            .order_by("provider")
        ),
    }


def summary(encounters: QuerySet[Encounter]) -> dict[str, Any]:
    """Encounters, patients, diagnoses and the first and last service date."""
    figures = encounters.aggregate(
        encounters=Count("pk"),
        patients=Count("patient", distinct=True),
        first=Min("service_date"),
        last=Max("service_date"),
    )
    figures["diagnoses"] = DiagnosisAssignment.objects.filter(
        encounter__in=encounters.values("pk")
    ).count()
    return figures


# -- frequencies -----------------------------------------------------------------------------


def code_frequency(encounters: QuerySet[Encounter], *, limit: int = 25) -> list[dict[str, Any]]:
    """The most frequent diagnosis codes: encounters, patients, times principal."""
    rows = (
        DiagnosisAssignment.objects.filter(encounter__in=encounters.values("pk"))
        .values("code")
        .annotate(
            encounters=Count("encounter", distinct=True),
            patients=Count("encounter__patient", distinct=True),
            principal=Count("encounter", distinct=True, filter=Q(sequence=1)),
        )
        .order_by("-encounters", "code")[:limit]
    )
    return [{**row, "plain": row["code"].replace(".", "")} for row in rows]


def category_frequency(encounters: QuerySet[Encounter], *, limit: int = 25) -> list[dict[str, Any]]:
    """The most frequent three-character categories: encounters and patients with any code."""
    rows = (
        DiagnosisAssignment.objects.filter(encounter__in=encounters.values("pk"))
        .annotate(category=_category())
        .values("category")
        .annotate(
            encounters=Count("encounter", distinct=True),
            patients=Count("encounter__patient", distinct=True),
        )
        .order_by("-encounters", "category")[:limit]
    )
    return list(rows)


def icd10cm_descriptions(codes: Iterable[str], *, on: date | None = None) -> dict[str, str]:
    """Descriptions from the ICD-10-CM release in force (codes and categories, without dots).
    Two queries. Descriptions come from the code set, never from what a coder typed."""
    from codesets.models import Code
    from codesets.selectors import release_in_force

    wanted = set(codes)
    release = release_in_force(system="icd10cm", on=on) if wanted else None
    if release is None:
        return {}
    return {
        code: short or long
        for code, short, long in Code.objects.filter(release=release, code__in=wanted).values_list(
            "code", "short_description", "description"
        )
    }


# -- trend -----------------------------------------------------------------------------------


def period_unit(first: date | None, last: date | None) -> str:
    if first is None or last is None:
        return "month"
    months = (last.year - first.year) * 12 + last.month - first.month + 1
    return "month" if months <= MONTHLY_UP_TO else "quarter"


def _periods(first: date, last: date, unit: str) -> list[date]:
    step = 1 if unit == "month" else 3
    start_month = first.month if unit == "month" else (first.month - 1) // 3 * 3 + 1
    current = date(first.year, start_month, 1)
    out = []
    while current <= last:
        out.append(current)
        month = current.month - 1 + step
        current = date(current.year + month // 12, month % 12 + 1, 1)
    return out


def period_label(day: date, unit: str) -> str:
    if unit == "quarter":
        return f"{day.year} Q{(day.month - 1) // 3 + 1}"
    return day.strftime("%b %Y")


def _trunc(unit: str, path: str) -> Expression:
    kind = TruncMonth if unit == "month" else TruncQuarter
    return kind(path, output_field=DateField())


@dataclass
class Trend:
    unit: str
    periods: list[date]
    encounters: list[int]
    patients: list[int]
    categories: dict[str, list[int]]  # category → encounters per period

    @property
    def labels(self) -> list[str]:
        return [period_label(p, self.unit) for p in self.periods]

    def rows(self) -> list[dict[str, Any]]:
        return [
            {
                "label": label,
                "encounters": self.encounters[i],
                "patients": self.patients[i],
                "categories": [values[i] for values in self.categories.values()],
            }
            for i, label in enumerate(self.labels)
        ]


def trend(
    encounters: QuerySet[Encounter],
    *,
    first: date | None,
    last: date | None,
    categories: Sequence[str] = (),
) -> Trend:
    """Encounters and patients per month (quarter over long ranges), and the encounters with
    each of `categories` per period. Two queries; empty periods are zeros."""
    unit = period_unit(first, last)
    if first is None or last is None:
        return Trend(unit, [], [], [], {c: [] for c in categories})
    periods = _periods(first, last, unit)
    index = {p: i for i, p in enumerate(periods)}
    totals = [0] * len(periods)
    patients = [0] * len(periods)
    for row in (
        encounters.annotate(period=_trunc(unit, "service_date"))
        .values("period")
        .annotate(n=Count("pk"), p=Count("patient", distinct=True))
    ):
        i = index[row["period"]]
        totals[i], patients[i] = row["n"], row["p"]
    per_category = {c: [0] * len(periods) for c in categories}
    if categories:
        service = Coalesce(
            "encounter__discharge_date", "encounter__admit_date", output_field=DateField()
        )
        for row in (
            DiagnosisAssignment.objects.filter(encounter__in=encounters.values("pk"))
            .annotate(category=_category(), period=_trunc(unit, service))
            .filter(category__in=list(categories))
            .values("category", "period")
            .annotate(n=Count("encounter", distinct=True))
        ):
            per_category[row["category"]][index[row["period"]]] = row["n"]
    return Trend(unit, periods, totals, patients, per_category)


def counts_by_year(encounters: QuerySet[Encounter]) -> list[dict[str, Any]]:
    """Encounters and patients per year of service (what exports give instead of months)."""
    return list(
        encounters.values("year")
        .annotate(encounters=Count("pk"), patients=Count("patient", distinct=True))
        .order_by("year")
    )


# -- comorbidities ---------------------------------------------------------------------------


def active_risk_groups() -> list[RiskGroup]:
    return [g for g in RiskGroup.objects.filter(is_active=True) if g.code_prefixes]


def _flag_name(group: RiskGroup) -> str:
    return f"g{group.pk}"


def _flags_per_row(
    encounters: QuerySet[Encounter], groups: Sequence[RiskGroup], *, unit: str
) -> tuple[str, tuple]:
    """SQL of one row per encounter (or patient) with a 0/1 column per group: one pass over the
    diagnoses, MAX(CASE …) per group. The ORM builds it; callers aggregate over its columns,
    the one step the ORM cannot say (an aggregate over aggregates), by wrapping the SQL."""
    key = "encounter" if unit == "encounter" else "encounter__patient"
    inner = (
        _diagnoses()
        .filter(encounter__in=encounters.values("pk"))
        .values(key)
        .annotate(
            **{
                _flag_name(g): Max(
                    Case(
                        When(_matches(g.code_prefixes), then=Value(1)),
                        default=Value(0),
                        output_field=IntegerField(),
                    )
                )
                for g in groups
            }
        )
        .order_by()
    )
    return inner.query.sql_with_params()


def _population(encounters: QuerySet[Encounter], unit: str) -> int:
    figures = encounters.aggregate(encounters=Count("pk"), patients=Count("patient", distinct=True))
    return figures["encounters" if unit == "encounter" else "patients"]


def _combinations(
    encounters: QuerySet[Encounter], groups: Sequence[RiskGroup], *, unit: str
) -> list[dict[str, Any]]:
    """Encounters (or patients) grouped by which of the groups they have: one row per
    combination that occurs, with its count (two queries with the population count)."""
    names = [_flag_name(g) for g in groups]
    population = _population(encounters, unit)
    rows: list[dict[str, Any]] = []
    if groups and population:
        sql, params = _flags_per_row(encounters, groups, unit=unit)
        columns = ", ".join(connection.ops.quote_name(name) for name in names)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {columns}, COUNT(*) FROM ({sql}) per_row GROUP BY {columns}", params
            )
            for *flags, n in cursor.fetchall():
                rows.append({**{k: bool(v) for k, v in zip(names, flags, strict=True)}, "n": n})
    # Those without any diagnosis have no group either.
    missing = population - sum(row["n"] for row in rows)
    if missing:
        rows.append({**dict.fromkeys(names, False), "n": missing})
    return rows


def _group_sums(
    encounters: QuerySet[Encounter], groups: Sequence[RiskGroup], *, unit: str, pairs: bool
) -> dict[tuple[int, int], int]:
    """How many encounters (or patients) have each group, {(i, i): n}, and with `pairs` each
    two groups together, {(i, j): n} for i < j. One query returning one row."""
    names = [connection.ops.quote_name(_flag_name(g)) for g in groups]
    keys = [(i, i) for i in range(len(groups))]
    if pairs:
        keys += [(i, j) for i in range(len(groups)) for j in range(i + 1, len(groups))]
    sums = ", ".join(
        f"SUM({names[i]})" if i == j else f"SUM({names[i]} * {names[j]})" for i, j in keys
    )
    sql, params = _flags_per_row(encounters, groups, unit=unit)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {sums} FROM ({sql}) per_row", params)
        values = cursor.fetchone()
    return {key: int(value or 0) for key, value in zip(keys, values, strict=True)}


def comorbidity(encounters: QuerySet[Encounter], groups: Sequence[RiskGroup]) -> dict[str, Any]:
    """Prevalence of each group (encounters and patients with it) and co-occurrence on one
    encounter (encounters with both of two groups). Four queries, each one row."""
    groups = list(groups)
    figures = encounters.aggregate(total=Count("pk"), patients=Count("patient", distinct=True))
    total, total_patients = figures["total"], figures["patients"]
    if not groups or not total:
        return {"total": total, "total_patients": total_patients, "prevalence": [], "matrix": []}
    on_encounters = _group_sums(encounters, groups, unit="encounter", pairs=True)
    on_patients = _group_sums(encounters, groups, unit="patient", pairs=False)
    prevalence = [
        {
            "group": g,
            "codes": format_code_list(g.code_prefixes),
            "encounters": on_encounters[(i, i)],
            "patients": on_patients[(i, i)],
            "share": on_encounters[(i, i)] / total,
        }
        for i, g in enumerate(groups)
    ]
    matrix = [
        {
            "group": a,
            "cells": [on_encounters[(min(i, j), max(i, j))] for j in range(len(groups))],
        }
        for i, a in enumerate(groups)
    ]
    return {
        "total": total,
        "total_patients": total_patients,
        "prevalence": prevalence,
        "matrix": matrix,
    }


def category_pairs(encounters: QuerySet[Encounter], *, limit: int = 15) -> list[dict[str, Any]]:
    """The category pairs most often coded together on one encounter (one self-join query)."""
    return list(
        DiagnosisAssignment.objects.filter(encounter__in=encounters.values("pk"))
        .annotate(first=_category(), second=_category("encounter__diagnoses__code"))
        .filter(first__lt=F("second"))
        .values("first", "second")
        .annotate(encounters=Count("encounter", distinct=True))
        .order_by("-encounters", "first", "second")[:limit]
    )


# -- high-risk flags -------------------------------------------------------------------------


def risk_flags(
    encounters: QuerySet[Encounter],
    groups: Sequence[RiskGroup],
    *,
    min_groups: int = 3,
    unit: str = "patient",
) -> dict[str, Any]:
    """Encounters or patients with at least `min_groups` of the risk groups: how many have 0,
    1, 2, … groups, how many are flagged, which groups they have and the commonest
    combinations. Two queries (see _combinations)."""
    combos = _combinations(encounters, groups, unit=unit)
    names = [_flag_name(g) for g in groups]
    by_name = {_flag_name(g): g for g in groups}
    for row in combos:
        row["groups_present"] = sum(1 for name in names if row[name])
    distribution = [
        {"groups": n, "count": sum(r["n"] for r in combos if r["groups_present"] == n)}
        for n in range(len(groups) + 1)
    ]
    flagged = sorted(
        (r for r in combos if r["groups_present"] >= min_groups),
        key=lambda r: (-r["n"], [not r[name] for name in names]),
    )
    which = {name: sum(r["n"] for r in flagged if r[name]) for name in names}
    combinations = [
        {"groups": [by_name[n] for n in names if row[n]], "count": row["n"]} for row in flagged[:10]
    ]
    return {
        "unit": unit,
        "min_groups": min_groups,
        "population": sum(r["n"] for r in combos),
        "flagged": sum(r["n"] for r in flagged),
        "distribution": distribution,
        "which": [
            {"group": g, "codes": format_code_list(g.code_prefixes), "count": which[_flag_name(g)]}
            for g in groups
        ],
        "combinations": combinations,
    }


# -- case mix --------------------------------------------------------------------------------


def drg_mix(encounters: QuerySet[Encounter], *, limit: int = 20) -> dict[str, Any]:
    """MS-DRGs of inpatient stays, from the grouping kept at the coder's last save
    (Encounter.drg_at_save): stays per DRG, its weight and the case mix index. Two queries."""
    inpatient = encounters.filter(type=Encounter.Type.INPATIENT)
    grouped = inpatient.filter(drg_at_save__has_key="drg").annotate(
        drg=KT("drg_at_save__drg"),
        mdc=KT("drg_at_save__mdc"),
        drg_description=KT("drg_at_save__description"),
        weight=Cast(KT("drg_at_save__weight"), FloatField()),
    )
    figures = inpatient.aggregate(
        stays=Count("pk"), grouped=Count("pk", filter=Q(drg_at_save__has_key="drg"))
    )
    figures["cmi"] = grouped.aggregate(cmi=Avg("weight"))["cmi"] if figures["grouped"] else None
    rows = list(
        grouped.values("drg")
        .annotate(
            encounters=Count("pk"),
            mdc_code=Max("mdc"),
            description=Max("drg_description"),
            weight_value=Max("weight"),
        )
        .order_by("-encounters", "drg")[:limit]
    )
    return {**figures, "rows": rows}


def _ioce_version(on: date) -> int | None:
    from pyoce.dao.provider import LmdbDataProvider

    row = (
        LmdbDataProvider.get_instance()
        .get_version_range_table()
        .get_row_internal(on.year * 10000 + on.month * 100 + on.day)
    )
    return row.version if row else None


def apc_of_codes(codes: Iterable[str], *, on: date) -> dict[str, tuple[str, str]]:
    """Each HCPCS/CPT code's APC and status indicator in the IOCE tables in force on `on`
    (line level: before the claim's packaging, composites and discounting)."""
    from pyoce.dao.provider import LmdbDataProvider

    version = _ioce_version(on)
    if version is None:
        return {}
    table = LmdbDataProvider.get_instance().get_data_hcpcs_table()
    found = {}
    for code in codes:
        row = table.get_row_internal(code, version)
        if row is not None:
            apc = (row.apc or "").strip()
            found[code] = ("" if apc.strip("0") == "" else apc, row.status_indicator or "")
    return found


def apc_mix(encounters: QuerySet[Encounter], *, on: date, limit: int = 20) -> dict[str, Any]:
    """APCs of outpatient hospital encounters (outpatient and emergency), computed from each
    HCPCS/CPT line's code in the IOCE tables — APCs are not stored, and a full IOCE run per
    claim is too slow for a report. Two queries (codes, then encounters per APC)."""
    lines = ProcedureAssignment.objects.filter(
        encounter__in=encounters.filter(
            type__in=(Encounter.Type.OUTPATIENT, Encounter.Type.EMERGENCY)
        ).values("pk"),
        system__in=(ProcedureAssignment.System.HCPCS, ProcedureAssignment.System.CPT),
    )
    codes = sorted({c.upper() for c in lines.values_list("code", flat=True).distinct()})
    apcs = apc_of_codes(codes, on=on)
    by_apc: dict[str, list[str]] = {}
    indicator: dict[str, str] = {}
    for code in codes:
        apc, status = apcs.get(code, ("", ""))
        key = apc or f"none:{status or '?'}"
        by_apc.setdefault(key, []).append(code)
        indicator.setdefault(key, status)
    if not by_apc:
        return {"rows": [], "lines": 0, "codes": 0}
    apc_of = Case(
        *[When(code_upper__in=members, then=Value(key)) for key, members in by_apc.items()],
        default=Value(""),
    )
    rows = []
    for row in (
        lines.annotate(code_upper=Upper("code"))
        .annotate(apc=apc_of)
        .values("apc")
        .annotate(encounters=Count("encounter", distinct=True), lines=Count("pk"))
        .order_by("-encounters", "apc")[:limit]
    ):
        key = row["apc"]
        rows.append(
            {
                "apc": "" if key.startswith("none:") else key,
                "status_indicator": indicator.get(key, ""),
                "encounters": row["encounters"],
                "lines": row["lines"],
                "codes": by_apc.get(key, []),
            }
        )
    return {"rows": rows, "codes": len(codes)}


def status_indicator_words(indicator: str) -> str:
    from codesets.apc import _words

    return _words("get_dsc_status_indicator_table", indicator) if indicator else ""


# -- cohorts ---------------------------------------------------------------------------------


def cohort_encounters(cohort: Cohort) -> QuerySet[Encounter]:
    """The coded encounters in the cohort (annotated as coded_encounters)."""
    qs = coded_encounters(cohort.filters)
    if cohort.age_min is not None:
        qs = qs.filter(age__gte=cohort.age_min)
    if cohort.age_max is not None:
        qs = qs.filter(age__lte=cohort.age_max)
    # Uncorrelated IN (subquery) rather than EXISTS: read once and hashed, fast at any size.
    coded = _diagnoses()
    if cohort.any_codes:
        qs = qs.filter(pk__in=coded.filter(_matches(cohort.any_codes)).values("encounter"))
    if cohort.none_codes:
        excluded = coded.filter(_matches(cohort.none_codes))
        if cohort.scope == "patient":
            qs = qs.exclude(
                patient__in=excluded.filter(
                    encounter__status__in=CODED_STATUSES, encounter__is_practice=False
                ).values("encounter__patient")
            )
        else:
            qs = qs.exclude(pk__in=excluded.values("encounter"))
    return qs


def _by(encounters: QuerySet[Encounter], field_name: str) -> dict[Any, dict[str, int]]:
    return {
        row[field_name]: {"encounters": row["n"], "patients": row["p"]}
        for row in encounters.values(field_name).annotate(
            n=Count("pk"), p=Count("patient", distinct=True)
        )
    }


def breakdowns(encounters: QuerySet[Encounter]) -> dict[str, list[dict[str, Any]]]:
    """Encounters and patients by sex, age band and encounter type (three queries); every
    category listed, zeros included, in a fixed order."""
    by_sex = _by(encounters, "patient__sex")
    by_band = _by(encounters, "age_band")
    by_type = _by(encounters, "type")
    empty = {"encounters": 0, "patients": 0}
    return {
        "sex": [
            {"label": label, **by_sex.get(value, empty)} for value, label in Patient.Sex.choices
        ],
        "age_band": [{"label": band, **by_band.get(band, empty)} for band in AGE_BAND_LABELS],
        "type": [
            {"label": label, **by_type.get(value, empty)} for value, label in Encounter.Type.choices
        ],
    }


def with_filters(cohort: Cohort, **changes: Any) -> Cohort:
    return replace(cohort, filters=replace(cohort.filters, **changes))
