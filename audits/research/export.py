"""The de-identified exports: each report as aggregated tables (small cells hidden), and the
cohort as a row-level dataset. Reads only; the view logs each export (services.py).

Exports give years, never months: a month of service is a date element finer than the year.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Count, QuerySet, Value
from django.utils import timezone

from audits.research import deidentify as di
from audits.research import selectors as sel
from encounters.models import DiagnosisAssignment, Encounter, ProcedureAssignment

REPORTS = {
    "codes": "Diagnosis code frequency",
    "categories": "Diagnosis category frequency",
    "trend": "Encounters by year of service",
    "comorbidity": "Chronic-condition prevalence",
    "cooccurrence": "Chronic conditions coded on the same encounter",
    "drg": "MS-DRG mix",
    "apc": "APC mix",
    "cohort": "Cohort counts by year, sex, age band and type",
    "cohort_rows": "Cohort dataset, one row per encounter",
    "risk": "High-risk flags",
}
COHORT_REPORTS = ("cohort", "cohort_rows")

ROW_HEADER = [
    "study_id",
    "year_of_service",
    "age",
    "age_band",
    "sex",
    "encounter_type",
    "diagnosis_codes",
    "procedure_codes",
    "ms_drg",
    "mdc",
]


@dataclass
class Export:
    """What one export writes: CSV rows, how many data rows and how many cells were hidden."""

    rows: list[list[Any]]
    data_rows: int
    suppressed: int


def _tables_export(tables: list[di.Table]) -> Export:
    out: list[list[Any]] = []
    for n, table in enumerate(tables):
        table.suppress()
        if n:
            out.append([])
        out.append([table.title])
        out.extend(table.csv_rows())
    return Export(out, sum(len(t.rows) for t in tables), sum(t.suppressed for t in tables))


def _descriptions(codes: list[str]) -> dict[str, str]:
    return sel.icd10cm_descriptions(codes)


def _frequency_table(title: str, rows: list[dict[str, Any]], key: str) -> di.Table:
    plain = [r["plain" if key == "code" else "category"] for r in rows]
    words = _descriptions(plain)
    return di.Table(
        title=title,
        header=[key, "description", "encounters", "patients"],
        rows=[
            [
                di.safe_code(r[key]),
                words.get(p, ""),
                r["encounters"],
                r["patients"],
            ]
            for r, p in zip(rows, plain, strict=True)
        ],
        count_columns=(2, 3),
    )


def _by_year_table(title: str, encounters: QuerySet[Encounter]) -> di.Table:
    rows = sel.counts_by_year(encounters)
    figures = encounters.aggregate(n=Count("pk"), p=Count("patient", distinct=True))
    return di.Table(
        title=title,
        header=["year_of_service", "encounters", "patients"],
        rows=[[r["year"], r["encounters"], r["patients"]] for r in rows],
        count_columns=(1, 2),
        total=["all years", figures["n"], figures["p"]],
        additive=(1,),
    )


def _breakdown_tables(encounters: QuerySet[Encounter], prefix: str) -> list[di.Table]:
    parts = sel.breakdowns(encounters)
    figures = encounters.aggregate(n=Count("pk"), p=Count("patient", distinct=True))
    names = {"sex": "sex", "age_band": "age band", "type": "encounter type"}
    return [
        di.Table(
            title=f"{prefix} by {names[key]}",
            header=[key, "encounters", "patients"],
            rows=[[r["label"], r["encounters"], r["patients"]] for r in parts[key]],
            count_columns=(1, 2),
            total=["all", figures["n"], figures["p"]],
            # Every encounter has one sex, band and type; a patient may have two bands.
            additive=(1, 2) if key == "sex" else (1,),
        )
        for key in ("sex", "age_band", "type")
    ]


def report_tables(
    report: str,
    *,
    filters: sel.ResearchFilters,
    cohort: sel.Cohort | None = None,
    min_groups: int = 3,
    unit: str = "patient",
) -> Export:
    """The aggregated tables of one report, suppressed."""
    encounters = (
        sel.cohort_encounters(cohort) if cohort is not None else sel.coded_encounters(filters)
    )
    if report == "codes":
        return _tables_export(
            [_frequency_table(REPORTS[report], sel.code_frequency(encounters, limit=100), "code")]
        )
    if report == "categories":
        rows = sel.category_frequency(encounters, limit=100)
        return _tables_export([_frequency_table(REPORTS[report], rows, "category")])
    if report == "trend":
        return _tables_export([_by_year_table(REPORTS[report], encounters)])
    if report in ("comorbidity", "cooccurrence"):
        groups = sel.active_risk_groups()
        figures = sel.comorbidity(encounters, groups)
        if report == "comorbidity":
            table = di.Table(
                title=REPORTS[report],
                header=["condition", "codes", "encounters", "patients"],
                rows=[
                    [
                        r["group"].name,
                        sel.format_code_list(r["group"].code_prefixes),
                        r["encounters"],
                        r["patients"],
                    ]
                    for r in figures["prevalence"]
                ],
                count_columns=(2, 3),
                total=["all encounters", "", figures["total"], figures["total_patients"]],
            )
        else:
            table = di.Table(
                title=REPORTS[report],
                header=["condition", *[g.name for g in groups]],
                rows=[[row["group"].name, *row["cells"]] for row in figures["matrix"]],
                count_columns=tuple(range(1, len(groups) + 1)),
            )
        return _tables_export([table])
    if report == "drg":
        mix = sel.drg_mix(encounters, limit=1000)
        table = di.Table(
            title=REPORTS[report],
            header=["ms_drg", "mdc", "relative_weight", "stays"],
            rows=[
                [
                    di.safe_drg(r["drg"]),
                    di.safe_mdc(r["mdc_code"]),
                    r["weight_value"] or "",
                    r["encounters"],
                ]
                for r in mix["rows"]
            ],
            count_columns=(3,),
            total=["all grouped stays", "", "", mix["grouped"]],
            additive=(3,),
        )
        return _tables_export([table])
    if report == "apc":
        mix = sel.apc_mix(encounters, on=timezone.localdate(), limit=1000)
        table = di.Table(
            title=REPORTS[report],
            header=["apc", "status_indicator", "encounters", "lines"],
            rows=[
                [r["apc"] or "none", r["status_indicator"], r["encounters"], r["lines"]]
                for r in mix["rows"]
            ],
            count_columns=(2, 3),
        )
        return _tables_export([table])
    if report == "cohort":
        return _tables_export(
            [
                _by_year_table("Cohort by year of service", encounters),
                *_breakdown_tables(encounters, "Cohort"),
            ]
        )
    if report == "risk":
        flags = sel.risk_flags(
            encounters, sel.active_risk_groups(), min_groups=min_groups, unit=unit
        )
        noun = "patients" if unit == "patient" else "encounters"
        distribution = di.Table(
            title=f"{noun.capitalize()} by number of chronic conditions",
            header=["conditions", noun],
            rows=[[r["groups"], r["count"]] for r in flags["distribution"]],
            count_columns=(1,),
            total=["all", flags["population"]],
            additive=(1,),
        )
        which = di.Table(
            title=f"Conditions of the {noun} with {min_groups} or more",
            header=["condition", noun],
            rows=[[r["group"].name, r["count"]] for r in flags["which"]],
            count_columns=(1,),
            total=["flagged", flags["flagged"]],
        )
        return _tables_export([distribution, which])
    raise ValueError(f"Unknown report {report!r}")


# -- row-level cohort dataset ----------------------------------------------------------------


def cohort_rows(cohort: sel.Cohort) -> Export:
    """One row per cohort encounter, de-identified; small (year, age band, sex) groups left
    out. Rows come in random order, study ids are random per patient and per export."""
    encounters = sel.cohort_encounters(cohort)
    sizes = {
        (r["year"], r["age_band"], r["patient__sex"]): r["n"]
        for r in encounters.values("year", "age_band", "patient__sex").annotate(n=Count("pk"))
    }
    kept = {k for k, n in sizes.items() if n >= di.SMALL_CELL}
    left_out = sum(n for n in sizes.values() if n < di.SMALL_CELL)
    out: list[list[Any]] = [ROW_HEADER]
    if kept:
        # Random order: nothing about the row's place in the file says which record it was.
        rows = [
            row
            for row in encounters.values_list(
                "pk", "patient_id", "year", "age", "age_band", "patient__sex", "type", "drg_at_save"
            ).order_by("?")
            if (row[2], row[4], row[5]) in kept
        ]
        study_ids: dict[int, str] = {}
        for chunk in _chunks(rows, 2000):
            ids = [r[0] for r in chunk]
            diagnoses = _codes_by_encounter(
                DiagnosisAssignment.objects.filter(encounter_id__in=ids).annotate(
                    system=Value("icd10cm")
                )
            )
            procedures = _codes_by_encounter(
                ProcedureAssignment.objects.filter(encounter_id__in=ids)
            )
            for pk, patient_id, year, age, band, sex, kind, drg in chunk:
                study_id = study_ids.setdefault(patient_id, di.new_study_id())
                drg = drg or {}
                out.append(
                    [
                        study_id,
                        year,
                        di.export_age(age),
                        band if band in sel.AGE_BAND_LABELS else "",
                        sex if sex in sel.SEX_LABELS else "",
                        kind if kind in sel.TYPE_LABELS else "",
                        diagnoses.get(pk, ""),
                        procedures.get(pk, ""),
                        di.safe_drg(drg.get("drg")),
                        di.safe_mdc(drg.get("mdc")),
                    ]
                )
    return Export(out, len(out) - 1, left_out)


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _codes_by_encounter(assignments: QuerySet) -> dict[int, str]:
    """Each encounter's codes in sequence, space-separated; anything not shaped like a code of
    its system is dropped."""
    grouped: dict[int, list[str]] = {}
    rows = assignments.order_by("encounter_id", "sequence").values_list(
        "encounter_id", "code", "system"
    )
    for encounter_id, code, system in rows:
        if system in di.CODE_SYSTEMS and (safe := di.safe_code(code, system)):
            grouped.setdefault(encounter_id, []).append(safe)
    return {pk: " ".join(codes) for pk, codes in grouped.items()}


def export_filename(report: str, today: date | None = None) -> str:
    today = today or timezone.localdate()
    return f"research-{report.replace('_', '-')}-{today.year}.csv"
