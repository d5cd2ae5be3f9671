"""Exports for people outside the app: CSV of audit items and findings, and the audit report
of one plan for external auditors (the HTML print view reads the same data as the PDF).

Account numbers identify encounters; patient names are left out (minimum necessary).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, Prefetch
from django.utils import timezone

from audits import metrics
from audits.models import AuditItem, AuditPlan, Finding


def _when(value: datetime | None) -> str:
    return "" if value is None else timezone.localtime(value).isoformat(timespec="minutes")


def _person(user: Any) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


def _items(filters: metrics.QualityFilters, plan_id: int | None) -> Any:
    if plan_id is not None:
        qs = metrics.with_item_figures(AuditItem.objects.filter(plan_id=plan_id))
    else:
        qs = metrics.audited_items(filters)
    return qs.select_related("plan", "encounter", "coder", "auditor").order_by("plan_id", "pk")


ITEM_HEADER = [
    "item_id",
    "plan",
    "plan_kind",
    "account_number",
    "encounter_type",
    "coder",
    "auditor",
    "status",
    "compared_at",
    "codes_agreed",
    "codes_total",
    "counts_as_error",
    "drg_original",
    "drg_audited",
    "weight_difference",
    "payment_effect",
    "findings",
    "selection_reason",
]


def items_csv_rows(filters: metrics.QualityFilters, *, plan_id: int | None = None) -> Iterator:
    yield ITEM_HEADER
    qs = _items(filters, plan_id).annotate(finding_count=Count("findings"))
    for item in qs.iterator(chunk_size=2000):
        yield [
            item.pk,
            item.plan.name,
            item.plan.kind,
            item.encounter.account_number,
            item.encounter.type,
            _person(item.coder),
            _person(item.auditor),
            item.status,
            _when(item.compared_at),
            item.agreed_codes,
            item.codes_total,
            "yes" if item.has_error else "no",
            item.drg_before or "",
            item.drg_after or "",
            "" if item.weight_difference is None else item.weight_difference,
            item.payment_effect,
            item.finding_count,
            item.selection_reason,
        ]


FINDING_HEADER = [
    "finding_id",
    "item_id",
    "plan",
    "account_number",
    "coder",
    "kind",
    "category",
    "severity",
    "code_kind",
    "original_code",
    "audited_code",
    "note",
    "response",
    "dispute_reason",
    "resolution",
    "resolution_note",
    "counts_as_error",
    "created_at",
]


def findings_csv_rows(filters: metrics.QualityFilters, *, plan_id: int | None = None) -> Iterator:
    yield FINDING_HEADER
    items = _items(filters, plan_id).values("pk")
    qs = (
        Finding.objects.filter(item__in=items)
        .select_related("item", "item__plan", "item__encounter", "item__coder")
        .order_by("item_id", "pk")
    )
    for f in qs.iterator(chunk_size=2000):
        yield [
            f.pk,
            f.item_id,
            f.item.plan.name,
            f.item.encounter.account_number,
            _person(f.item.coder),
            f.kind,
            f.category,
            f.severity,
            f.code_kind,
            f.original_code,
            f.audited_code,
            f.note,
            f.response,
            f.dispute_reason,
            f.resolution,
            f.resolution_note,
            "no" if f.resolution == Finding.Resolution.OVERTURNED else "yes",
            _when(f.created_at),
        ]


# -- the plan report -------------------------------------------------------------------------


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"


def _codes(coding: dict) -> str:
    parts = [d.get("code", "") for d in coding.get("diagnoses", [])]
    for p in coding.get("procedures", []):
        mods = "-".join(p.get("modifiers") or [])
        parts.append(p.get("code", "") + (f"-{mods}" if mods else ""))
    return ", ".join(c for c in parts if c) or "—"


def plan_report(plan: AuditPlan) -> dict[str, Any]:
    """Everything the printed report shows, in display form (4 queries)."""
    totals = metrics.plan_totals(plan.pk)
    items = list(
        metrics.with_item_figures(plan.items.all())
        .select_related("encounter", "coder", "auditor")
        .prefetch_related(Prefetch("findings", queryset=Finding.objects.order_by("pk")))
        .order_by("pk")
    )
    auditors = ", ".join(_person(u) for u in plan.auditors.all()) or "—"
    categories: dict[str, int] = {}
    for item in items:
        for f in item.findings.all():
            if f.resolution != Finding.Resolution.OVERTURNED:
                label = f.get_category_display()
                categories[label] = categories.get(label, 0) + 1
    rows = []
    for item in items:
        rows.append(
            {
                "account": item.encounter.account_number,
                "type": item.encounter.get_type_display(),
                "coder": _person(item.coder) or "—",
                "auditor": _person(item.auditor) or "—",
                "status": item.get_status_display(),
                "codes": f"{item.agreed_codes} / {item.codes_total}" if item.compared_at else "—",
                "original": _codes(item.original_coding),
                "audited": _codes(item.audited_coding) if item.compared_at else "—",
                "drg": (
                    f"{item.drg_before or '—'} → {item.drg_after or '—'}"
                    if item.drg_before or item.drg_after
                    else ""
                ),
                "weight": "" if item.weight_difference is None else f"{item.weight_difference:+}",
                "effect": item.get_payment_effect_display() if item.payment_effect else "",
                "reason": item.selection_reason,
                "findings": [
                    {
                        "kind": f.get_kind_display(),
                        "category": f.get_category_display(),
                        "severity": f.get_severity_display(),
                        "change": f"{f.original_code or '—'} → {f.audited_code or '—'}",
                        "note": f.note,
                        "response": f.get_response_display(),
                        "resolution": f.get_resolution_display() if f.resolution else "",
                    }
                    for f in item.findings.all()
                ],
            }
        )
    weight_total = (totals["upcoding_weight"] or Decimal(0)) + (
        totals["downcoding_weight"] or Decimal(0)
    )
    return {
        "plan": plan,
        "generated_at": timezone.localtime(),
        "facts": [
            ("Plan", plan.name),
            ("Kind", plan.get_kind_display()),
            ("Audit party", plan.get_party_display()),
            ("Selection", _selection(plan)),
            ("Encounters from", f"{plan.date_from:%Y-%m-%d} to {plan.date_to:%Y-%m-%d}"),
            ("Random seed", str(plan.seed)),
            ("Auditors", auditors),
            ("Status", plan.get_status_display()),
        ],
        "summary": [
            ("Encounters sampled", str(len(items))),
            ("Encounters compared", str(totals["items"])),
            ("Code-level accuracy", _pct(totals["code_accuracy"])),
            ("Encounter-level accuracy", _pct(totals["encounter_accuracy"])),
            ("DRG accuracy", _pct(totals["drg_accuracy"])),
            ("Possible upcoding", str(totals["upcoding"])),
            ("Possible downcoding", str(totals["downcoding"])),
            ("Net weight difference (original − audited)", f"{weight_total:+}"),
        ],
        "categories": sorted(categories.items(), key=lambda kv: (-kv[1], kv[0])),
        "items": rows,
    }


def _selection(plan: AuditPlan) -> str:
    if plan.method == AuditPlan.Method.PER_CODER:
        text = f"{plan.per_coder} encounters per coder"
    else:
        text = f"random {float(plan.percent):g} % of encounters" if plan.percent else "random"
    targets = [f"{k}: {v}" for k, v in (plan.targets or {}).items() if v]
    return text + (f" ({'; '.join(targets)})" if targets else "")


# -- PDF (fpdf2: pure Python, no system libraries) --------------------------------------------


def _latin1(text: Any) -> str:
    """The core PDF fonts are Latin-1: map the few typographic characters we use, drop others."""
    value = str(text).replace("→", "->").replace("—", "-").replace("–", "-").replace("−", "-")
    return value.encode("latin-1", "replace").decode("latin-1")


def plan_report_pdf(report: dict[str, Any]) -> bytes:
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    plan = report["plan"]

    class ReportPdf(FPDF):
        def footer(self) -> None:
            self.set_y(-10)
            self.set_font("Helvetica", "", 8)
            self.cell(0, 5, _latin1(f"{plan.name} - page {self.page_no()} of {{nb}}"), align="R")

    pdf = ReportPdf(orientation="L", unit="mm", format="A4")
    pdf.set_title(_latin1(f"Coding audit report - {plan.name}"))
    pdf.set_author("Coding Bench")
    pdf.set_auto_page_break(auto=True, margin=14)
    pdf.alias_nb_pages()
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 9, _latin1(f"Coding audit report: {plan.name}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    generated = report["generated_at"].strftime("%Y-%m-%d %H:%M %Z")
    pdf.cell(0, 5, _latin1(f"Generated {generated} by Coding Bench"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    heading = FontFace(emphasis="BOLD", fill_color=(238, 240, 243))

    def pairs(title: str, rows: list[tuple[str, str]]) -> None:
        pdf.set_font("Helvetica", "B", 11)
        pdf.cell(0, 7, _latin1(title), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 9)
        with pdf.table(col_widths=(60, 200), first_row_as_headings=False, line_height=5.5) as t:
            for label, value in rows:
                row = t.row()
                row.cell(_latin1(label), style=heading)
                row.cell(_latin1(value))
        pdf.ln(3)

    pairs("Plan", report["facts"])
    pairs("Results", report["summary"])
    if report["categories"]:
        pairs(
            "Findings by category (not overturned)", [(k, str(v)) for k, v in report["categories"]]
        )
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(0, 7, "Sampled encounters", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 8)
    with pdf.table(
        col_widths=(26, 20, 28, 22, 16, 55, 55, 20, 16, 22),
        headings_style=heading,
        line_height=4.5,
        repeat_headings=1,
    ) as table:
        table.row(
            [
                "Account",
                "Type",
                "Coder",
                "Status",
                "Agreed",
                "Original codes",
                "Audited codes",
                "MS-DRG",
                "Weight",
                "Effect",
            ]
        )
        for item in report["items"]:
            table.row(
                [
                    _latin1(v)
                    for v in (
                        item["account"],
                        item["type"],
                        item["coder"],
                        item["status"],
                        item["codes"],
                        item["original"],
                        item["audited"],
                        item["drg"],
                        item["weight"],
                        item["effect"],
                    )
                ]
            )
    findings = [(item["account"], f) for item in report["items"] for f in item["findings"]]
    if findings:
        pdf.ln(4)
        pdf.set_font("Helvetica", "B", 11)
        pdf.cell(0, 7, "Findings", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 8)
        with pdf.table(
            col_widths=(26, 28, 34, 16, 30, 80, 24, 28),
            headings_style=heading,
            line_height=4.5,
            repeat_headings=1,
        ) as table:
            table.row(
                [
                    "Account",
                    "Kind",
                    "Category",
                    "Severity",
                    "Change",
                    "Note",
                    "Response",
                    "Resolution",
                ]
            )
            for account, f in findings:
                table.row(
                    [
                        _latin1(v)
                        for v in (
                            account,
                            f["kind"],
                            f["category"],
                            f["severity"],
                            f["change"],
                            f["note"],
                            f["response"],
                            f["resolution"],
                        )
                    ]
                )
    return bytes(pdf.output())
