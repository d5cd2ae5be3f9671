"""NCCI edit tables: procedure-to-procedure pairs ("ncci-ptp"), medically unlikely edits
("mue") and add-on code edits ("aoc").

The PTP tables hold millions of pairs, so they are streamed row by row and written with
COPY on PostgreSQL (see streaming.insert_rows); nothing holds a whole file in memory.
These files carry CPT code numbers only, never CPT descriptors.
"""

import csv
import re
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

from codesets.importers.base import FileFormat, ImportContext, open_text, register_format
from codesets.importers.streaming import first_csv_rows, header_is, insert_rows, readable
from codesets.models import AddOnCodeEdit, MueEdit, PtpEdit

# A HCPCS/CPT code as the NCCI tables print it: five letters or digits.
_CODE = re.compile(r"^[0-9A-Z]{5}$")


def _code(value: str, line: int, what: str) -> str:
    if _CODE.match(value):  # the usual case, checked first: PTP tables call this millions of times
        return value
    value = value.strip().upper()
    if not _CODE.match(value):
        raise ValueError(f"Line {line}: {what} {value!r} is not a five-character HCPCS/CPT code.")
    return value


# --- procedure-to-procedure edits -----------------------------------------------------------

PTP_COLUMNS = [
    "column_1",
    "column_2",
    "prior_1996",
    "effective_date",
    "deletion_date",
    "modifier_indicator",
    "ptp_edit_rationale",
]
PTP_FIELDS = [
    "release_id",
    "column1",
    "column2",
    "effective_date",
    "deletion_date",
    "modifier_indicator",
    "prior_1996",
    "rationale",
]
_MODIFIER_INDICATORS = {"0", "1", "9"}


def _date_reader() -> Callable[[str, int, str], date | None]:
    """A YYYYMMDD parser that remembers: the PTP tables repeat a few hundred dates."""
    known: dict[str, date | None] = {"": None, "*": None}

    def parse(value: str, line: int, what: str) -> date | None:
        if value in known:
            return known[value]
        try:
            if len(value) != 8 or not value.isdigit():
                raise ValueError
            parsed = date(int(value[:4]), int(value[4:6]), int(value[6:]))
        except ValueError:
            raise ValueError(
                f"Line {line}: {what} {value!r} is not a date (YYYYMMDD, or * for none)."
            ) from None
        known[value] = parsed
        return parsed

    return parse


def sniff_ptp_csv(path: Path) -> bool:
    return header_is(path, PTP_COLUMNS)


def load_ptp_csv(ctx: ImportContext, path: Path) -> None:
    parse_date = _date_reader()
    release_id = ctx.release.pk

    def rows() -> Iterator[tuple]:
        with readable("an NCCI PTP table (CSV, plain or .gz)"), open_text(path) as fh:
            reader = csv.reader(fh)
            next(reader)
            for line, row in enumerate(reader, start=2):
                if len(row) != len(PTP_COLUMNS):
                    raise ValueError(
                        f"Line {line} has {len(row)} cells; the NCCI PTP table has "
                        f"{len(PTP_COLUMNS)} ({', '.join(PTP_COLUMNS)})."
                    )
                col1, col2, prior, effective, deletion, indicator, rationale = row
                if indicator not in _MODIFIER_INDICATORS:
                    raise ValueError(
                        f"Line {line}: modifier indicator {indicator!r} is not 0, 1 or 9."
                    )
                deleted = parse_date(deletion.strip(), line, "deletion date")
                ctx.counts["pairs deleted" if deleted else "pairs in force"] += 1
                ctx.counts[f"modifier indicator {indicator}"] += 1
                yield (
                    release_id,
                    _code(col1, line, "column 1"),
                    _code(col2, line, "column 2"),
                    parse_date(effective.strip(), line, "effective date"),
                    deleted,
                    indicator,
                    prior.strip() == "*",
                    rationale.strip()[:200],
                )

    ctx.counts["pairs"] = insert_rows(ctx, PtpEdit, PTP_FIELDS, rows())
    ctx.set_total(ctx.done)
    if not ctx.counts["pairs"]:
        raise ValueError("The NCCI PTP table has a header but no pairs.")


register_format(
    FileFormat(
        system="ncci-ptp",
        name="an NCCI PTP table as CSV (column_1, column_2, prior_1996, effective_date, "
        "deletion_date, modifier_indicator, ptp_edit_rationale), plain or .gz",
        sniff=sniff_ptp_csv,
        load=load_ptp_csv,
    )
)


# --- medically unlikely edits ---------------------------------------------------------------

MUE_COLUMNS = ["hcpcs_cpt_code", "mue_value", "mue_adjudication_indicator", "mue_rationale"]
# The setting named in the CMS header cell "<Setting> Services MUE Values".
_MUE_SETTINGS = {
    "practitioner": "practitioner",
    "outpatient hospital": "hospital",
    "facility outpatient hospital": "hospital",
    "dme supplier": "dme",
}


def _squash(text: str) -> str:
    return " ".join(text.split()).lower()


def _cms_mue_header(rows: list[list[str]]) -> tuple[int, str] | None:
    """(index of the header row, setting) when rows look like the top of a CMS MUE file."""
    for index, row in enumerate(rows):
        if len(row) >= 4 and _squash(row[0]).startswith("hcpcs/ cpt code"):
            values = _squash(row[1])
            if not values.endswith("mue values") or "adjudication" not in _squash(row[2]):
                return None
            named = values.removesuffix("mue values").strip().removesuffix("services").strip()
            return index, _MUE_SETTINGS.get(named, "")
    return None


def sniff_mue_cms(path: Path) -> bool:
    return _cms_mue_header(first_csv_rows(path, 3, "cp1252")) is not None


def sniff_mue_csv(path: Path) -> bool:
    return header_is(path, MUE_COLUMNS)


def _mue_rows(ctx: ImportContext, rows: Iterator[tuple[int, list[str]]]) -> Iterator[MueEdit]:
    seen: set[str] = set()
    for line, row in rows:
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < 4:
            raise ValueError(
                f"Line {line} has {len(row)} cells; an MUE row has the code, the MUE value, "
                "the adjudication indicator and the rationale."
            )
        code = _code(row[0], line, "code")
        if code in seen:
            raise ValueError(f"Line {line}: {code} appears twice in the MUE table.")
        seen.add(code)
        value, indicator = row[1].strip(), row[2].strip()[:1]
        if not value.isdigit():
            raise ValueError(f"Line {line}: MUE value {row[1]!r} for {code} is not a number.")
        if indicator not in ("1", "2", "3"):
            raise ValueError(
                f"Line {line}: adjudication indicator {row[2]!r} for {code} does not start "
                "with 1, 2 or 3."
            )
        ctx.counts[f"MAI {indicator}"] += 1
        yield MueEdit(
            release=ctx.release,
            code=code,
            value=int(value),
            adjudication_indicator=int(indicator),
            rationale=row[3].strip()[:200],
        )


def load_mue_cms(ctx: ImportContext, path: Path) -> None:
    with readable("a CMS MUE table"), open_text(path, "cp1252") as fh:
        reader = csv.reader(fh)
        top: list[list[str]] = []
        found = None
        for row in reader:
            top.append(row)
            found = _cms_mue_header(top)
            if found or len(top) >= 3:
                break
        if not found:
            raise ValueError("No CMS MUE header row (HCPCS/CPT Code, … MUE Values, …) found.")
        _index, setting = found
        if setting and ctx.release.setting and setting != ctx.release.setting:
            raise ValueError(
                f"This is the {setting} MUE table, but the release is for the "
                f"{ctx.release.setting} setting; import it with --setting {setting}."
            )
        first_line = len(top) + 1
        rows = ((first_line + i, row) for i, row in enumerate(reader))
        ctx.counts["codes"] = ctx.bulk_insert(MueEdit, _mue_rows(ctx, rows))
    _require_rows(ctx, "MUE")


def load_mue_csv(ctx: ImportContext, path: Path) -> None:
    with readable("an MUE table (CSV)"), open_text(path, "utf-8-sig") as fh:
        reader = csv.reader(fh)
        next(reader)
        rows = ((line, row) for line, row in enumerate(reader, start=2))
        ctx.counts["codes"] = ctx.bulk_insert(MueEdit, _mue_rows(ctx, rows))
    _require_rows(ctx, "MUE")


def _require_rows(ctx: ImportContext, what: str) -> None:
    ctx.set_total(ctx.done)
    if not ctx.done:
        raise ValueError(f"The {what} table has a header but no rows.")


register_format(
    FileFormat(
        system="mue",
        name="the CMS MUE CSV (MCR_MUE_*Services_Eff_*.csv: notice row, then HCPCS/CPT Code, "
        "… Services MUE Values, MUE Adjudication Indicator, MUE Rationale)",
        sniff=sniff_mue_cms,
        load=load_mue_cms,
    )
)
register_format(
    FileFormat(
        system="mue",
        name="an MUE CSV with columns hcpcs_cpt_code, mue_value, mue_adjudication_indicator, "
        "mue_rationale",
        sniff=sniff_mue_csv,
        load=load_mue_csv,
    )
)


# --- add-on code edits ----------------------------------------------------------------------

AOC_COLUMNS = ["primary_code", "add_on_code", "aoc_edit_type"]
# The CMS table writes CCCCC as the primary when "see CMS/CPT instructions" applies.
SEE_INSTRUCTIONS = "CCCCC"


def sniff_aoc_csv(path: Path) -> bool:
    return header_is(path, AOC_COLUMNS)


def load_aoc_csv(ctx: ImportContext, path: Path) -> None:
    def rows() -> Iterator[AddOnCodeEdit]:
        with readable("an NCCI add-on code table (CSV)"), open_text(path, "utf-8-sig") as fh:
            reader = csv.reader(fh)
            next(reader)
            for line, row in enumerate(reader, start=2):
                if not any(cell.strip() for cell in row):
                    continue
                if len(row) != len(AOC_COLUMNS):
                    raise ValueError(
                        f"Line {line} has {len(row)} cells; expected {', '.join(AOC_COLUMNS)}."
                    )
                edit_type = row[2].strip()
                if edit_type not in ("1", "2", "3"):
                    raise ValueError(f"Line {line}: AOC edit type {row[2]!r} is not 1, 2 or 3.")
                primary = _code(row[0], line, "primary code")
                if primary == SEE_INSTRUCTIONS:
                    ctx.counts["primary: see CMS/CPT instructions"] += 1
                ctx.counts[f"edit type {edit_type}"] += 1
                yield AddOnCodeEdit(
                    release=ctx.release,
                    primary_code=primary,
                    addon_code=_code(row[1], line, "add-on code"),
                    edit_type=int(edit_type),
                )

    ctx.counts["edits"] = ctx.bulk_insert(AddOnCodeEdit, rows())
    _require_rows(ctx, "add-on code")


register_format(
    FileFormat(
        system="aoc",
        name="an NCCI add-on code CSV with columns primary_code, add_on_code, aoc_edit_type",
        sniff=sniff_aoc_csv,
        load=load_aoc_csv,
    )
)
