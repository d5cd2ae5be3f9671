"""CMS IPPS Table 5: MS-DRG relative weights and mean lengths of stay ("drg-weights").

CMS publishes it as tab-separated text in Windows-1252 (the title has an em dash), with a
quoted title cell over two lines, then the header. Columns are found by their heading so the
yearly wording ("FY 2026 Final Post-Acute DRG") does not matter.
"""

import csv
from decimal import Decimal, InvalidOperation
from pathlib import Path

from codesets.importers.base import FileFormat, ImportContext, open_text, register_format
from codesets.importers.streaming import readable
from codesets.models import DrgWeight


def _find_header(rows: list[list[str]]) -> int | None:
    for index, row in enumerate(rows):
        cells = [c.strip().lower() for c in row]
        if cells and cells[0] == "ms-drg" and any(c.startswith("weights") for c in cells):
            return index
    return None


def _top_rows(path: Path, n: int = 5) -> list[list[str]]:
    with open_text(path, "cp1252") as fh:
        head = fh.read(8192)
    rows = []
    for row in csv.reader(head.splitlines(keepends=True), delimiter="\t"):
        rows.append(row)
        if len(rows) >= n:
            break
    return rows


def sniff_table5(path: Path) -> bool:
    return _find_header(_top_rows(path)) is not None


def _columns(header: list[str]) -> dict[str, int]:
    """Where each field is; the capped weight is the one paid when CMS gives both."""
    cells = [" ".join(c.split()).lower() for c in header]

    def find(*words: str) -> int | None:
        for index, cell in enumerate(cells):
            if all(w in cell for w in words):
                return index
        return None

    weight = find("weights", "cap applied")
    if weight is None:
        weight = find("weights")
    columns = {
        "drg": 0,
        "post_acute": find("post-acute"),
        "special_pay": find("special pay"),
        "mdc": find("mdc"),
        "type": find("type"),
        "title": find("title"),
        "weight": weight,
        "geometric": find("geometric"),
        "arithmetic": find("arithmetic"),
    }
    missing = [name for name, index in columns.items() if index is None]
    if missing:
        raise ValueError(f"The Table 5 header has no column for {', '.join(missing)}.")
    return columns  # type: ignore[return-value]


def _decimal(value: str, line: int, what: str) -> Decimal | None:
    value = value.strip()
    if value in ("", "."):
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        raise ValueError(f"Line {line}: {what} {value!r} is not a number.") from None


def load_table5(ctx: ImportContext, path: Path) -> None:
    rows: list[DrgWeight] = []
    with readable("CMS Table 5 (MS-DRG weights)"), open_text(path, "cp1252") as fh:
        reader = csv.reader(fh, delimiter="\t")
        top: list[list[str]] = []
        header_at = None
        for row in reader:
            top.append(row)
            header_at = _find_header(top)
            if header_at is not None or len(top) >= 5:
                break
        if header_at is None:
            raise ValueError("No Table 5 header row (MS-DRG … Weights …) found.")
        col = _columns(top[header_at])
        seen: set[str] = set()
        for line, row in enumerate(reader, start=reader.line_num + 1):
            if not any(cell.strip() for cell in row):
                continue
            row = row + [""] * (len(top[header_at]) - len(row))
            drg = row[0].strip().zfill(3)
            if not (drg.isdigit() and len(drg) == 3):
                raise ValueError(f"Line {line}: {row[0]!r} is not an MS-DRG number.")
            if drg in seen:
                raise ValueError(f"Line {line}: MS-DRG {drg} appears twice.")
            seen.add(drg)
            weight = _decimal(row[col["weight"]], line, "weight")
            if weight is None:
                # DRG 998/999 (ungroupable) carry "." for every figure: nothing to pay.
                ctx.counts["DRGs without a weight (not stored)"] += 1
                continue
            drg_type = row[col["type"]].strip()
            ctx.counts[f"{drg_type or 'no type'} DRGs"] += 1
            rows.append(
                DrgWeight(
                    release=ctx.release,
                    drg=drg,
                    mdc=row[col["mdc"]].strip()[:4],
                    drg_type=drg_type[:4],
                    title=row[col["title"]].strip()[:200],
                    weight=weight,
                    geometric_mean_los=_decimal(row[col["geometric"]], line, "geometric LOS"),
                    arithmetic_mean_los=_decimal(row[col["arithmetic"]], line, "arithmetic LOS"),
                    post_acute=row[col["post_acute"]].strip().lower() == "yes",
                    special_pay=row[col["special_pay"]].strip().lower() == "yes",
                )
            )
    if not rows:
        raise ValueError("Table 5 has a header but no MS-DRG rows.")
    ctx.set_total(len(rows))
    ctx.counts["DRGs"] = len(rows)
    ctx.bulk_create(DrgWeight, rows)


register_format(
    FileFormat(
        system="drg-weights",
        name="CMS IPPS Table 5 as tab-separated text (title lines, then MS-DRG, …, Weights, "
        "Geometric mean LOS, Arithmetic mean LOS)",
        sniff=sniff_table5,
        load=load_table5,
    )
)
