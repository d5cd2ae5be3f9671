"""De-identification for research exports: HIPAA Safe Harbor (45 CFR 164.514(b)(2)) plus
small-cell suppression.

What leaves the building:

- No identifier of the 18: no name, MRN, account number, address or any geographic unit,
  phone, SSN, member id, and no free text at all (provider, payer, notes, rationale, escalation
  reasons can carry a name) — exports are built from an allow-list of coded values (sex, type,
  ICD-10 / HCPCS / CPT codes matched by pattern, DRG and MDC numbers, years).
- Dates: the year only. Ages over 89 are "90+".
- Aggregated tables: any count from 1 to 10 is "<11" (the CMS cell-size policy; a zero is
  shown: it describes no one). Where a column adds up to a total row, one hidden cell could
  be back-calculated from the total, so the next smallest cell of that column is hidden too
  and shown as "suppressed" (complementary suppression); if no other cell can be hidden, the
  total is.
- Row-level data: a random study id per patient, new in every export (not derived from any
  identifier, so two exports cannot be linked); rows whose (year, age band, sex) group has
  fewer than 11 rows are left out.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

SMALL_CELL = 11
SUPPRESSED = "<11"
# A cell hidden only so that a "<11" cell cannot be worked out from the total: its value may be
# large, so it must not read as "<11".
COMPLEMENTARY = "suppressed"
TOP_AGE = 90  # ages of 90 and over are one group

_CODE_PATTERNS = {
    "icd10cm": re.compile(r"^[A-Z][0-9][0-9A-Z](\.?[0-9A-Z]{1,4})?$"),
    # PCS: seven characters, no I or O, with at least one digit (no word passes).
    "icd10pcs": re.compile(r"^(?=.*[0-9])[0-9A-HJ-NP-Z]{7}$"),
    "hcpcs": re.compile(r"^[A-Z][0-9]{4}$"),
    "cpt": re.compile(r"^[0-9]{4}[0-9A-Z]$"),
}
CODE_SYSTEMS = frozenset(_CODE_PATTERNS)
_DRG = re.compile(r"^[0-9]{3}$")
_MDC = re.compile(r"^[0-9]{2}$")


def is_small(value: int | None) -> bool:
    return value is not None and 0 < value < SMALL_CELL


def export_age(age: int | None) -> str:
    if age is None or age < 0:
        return ""
    return f"{TOP_AGE}+" if age >= TOP_AGE else str(age)


def safe_code(value: str, system: str = "icd10cm") -> str:
    """The code if it looks like a code of `system`, else "" (a field that ever held free
    text is dropped, not passed on)."""
    code = (value or "").strip().upper()
    return code if _CODE_PATTERNS[system].match(code) else ""


def safe_drg(value: Any) -> str:
    text = str(value or "").strip()
    return text if _DRG.match(text) else ""


def safe_mdc(value: Any) -> str:
    text = str(value or "").strip()
    return text if _MDC.match(text) else ""


def new_study_id() -> str:
    """Random, 16 hex characters: carries nothing about the patient."""
    return secrets.token_hex(8)


@dataclass
class Table:
    """One aggregated table for export: a label column, count columns and an optional total.

    `additive` names the count columns whose cells add up to the total row (by sex, by year):
    those get complementary suppression. Counts that overlap (patients across years, codes on
    one encounter) are not additive: hiding small cells is enough there.
    """

    title: str
    header: list[str]
    rows: list[list[Any]]
    count_columns: Sequence[int]
    total: list[Any] | None = None
    additive: Sequence[int] = ()
    suppressed: int = field(default=0, init=False)

    def suppress(self) -> Table:
        """Replace small counts by "<11" (in place), complementary cells too; returns self."""
        hidden: set[tuple[int, int]] = set()  # (row, column); row -1 is the total
        complementary: set[tuple[int, int]] = set()
        rows = self.rows
        for r, row in enumerate(rows):
            for c in self.count_columns:
                if is_small(row[c]):
                    hidden.add((r, c))
        if self.total is not None:
            for c in self.count_columns:
                if is_small(self.total[c]):
                    hidden.add((-1, c))
            for c in self.additive:
                in_column = [r for r in range(len(rows)) if (r, c) in hidden]
                if len(in_column) != 1 or (-1, c) in hidden:
                    continue
                others = sorted(
                    (rows[r][c], r)
                    for r in range(len(rows))
                    if (r, c) not in hidden and rows[r][c] not in (None, 0)
                )
                cell = (others[0][1], c) if others else (-1, c)
                hidden.add(cell)
                complementary.add(cell)
        for r, c in hidden:
            target = self.total if r == -1 else rows[r]
            assert target is not None
            target[c] = COMPLEMENTARY if (r, c) in complementary else SUPPRESSED
        self.suppressed = len(hidden)
        return self

    def csv_rows(self) -> list[list[Any]]:
        out = [self.header, *self.rows]
        if self.total is not None:
            out.append(self.total)
        return out
