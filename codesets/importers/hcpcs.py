"""HCPCS Level II quarterly files from CMS: codes (system "hcpcs") and modifiers ("modifier").

CMS publishes one file per quarter in three shapes holding the same records: the fixed-width
text file inside the quarterly zip (a long description runs over continuation lines), an
xlsx workbook and, converted from it, a CSV with the same 48 columns. RECID 3 is a code,
RECID 7 a modifier; 4 and 8 continue the long description of the record above.

The files hold Level II codes and modifiers only: no CPT descriptors ever come from here.
"""

import csv
import re
import zipfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path

from codesets.importers.base import (
    ZIP_MAGIC,
    FileFormat,
    ImportContext,
    magic_bytes,
    open_text,
    register_format,
)
from codesets.importers.streaming import header_is, readable
from codesets.models import Code

CMS_COLUMNS = [
    "HCPC", "SEQNUM", "RECID", "LONG DESCRIPTION", "SHORT DESCRIPTION",
    "PRICE1", "PRICE2", "PRICE3", "PRICE4", "MULT_PI",
    "CIM1", "CIM2", "CIM3", "MCM1", "MCM2", "MCM3", "STATUTE",
    "LABCERT1", "LABCERT2", "LABCERT3", "LABCERT4",
    "LABCERT5", "LABCERT6", "LABCERT7", "LABCERT8",
    "XREF1", "XREF2", "XREF3", "XREF4", "XREF5",
    "COV", "ASC_GRP", "ASC_DT", "OPPS", "OPPS_PI", "OPPS_DT", "PROCNOTE", "BETOS",
    "TOS1", "TOS2", "TOS3", "TOS4", "TOS5", "ANEST_BU",
    "ADD DT", "ACT EFF DT", "TERM DT", "ACTION CD",
]  # fmt: skip

# (column, first, last) 1-based and inclusive, from HCPC2026_recordlayout.txt in the zip.
# The text file calls OPPS "MOG payment group"; the workbook names it OPPS.
FIXED_LAYOUT: list[tuple[str, int, int]] = [
    ("HCPC", 1, 5), ("SEQNUM", 6, 10), ("RECID", 11, 11),
    ("LONG DESCRIPTION", 12, 91), ("SHORT DESCRIPTION", 92, 119),
    *[(f"PRICE{i + 1}", 120 + 2 * i, 121 + 2 * i) for i in range(4)],
    ("MULT_PI", 128, 128),
    *[(f"CIM{i + 1}", 129 + 6 * i, 134 + 6 * i) for i in range(3)],
    *[(f"MCM{i + 1}", 147 + 8 * i, 154 + 8 * i) for i in range(3)],
    ("STATUTE", 171, 180),
    *[(f"LABCERT{i + 1}", 181 + 3 * i, 183 + 3 * i) for i in range(8)],
    *[(f"XREF{i + 1}", 205 + 5 * i, 209 + 5 * i) for i in range(5)],
    ("COV", 230, 230), ("ASC_GRP", 231, 232), ("ASC_DT", 233, 240),
    ("OPPS", 241, 243), ("OPPS_PI", 244, 244), ("OPPS_DT", 245, 252),
    ("PROCNOTE", 253, 256), ("BETOS", 257, 259),
    *[(f"TOS{i + 1}", 261 + i, 261 + i) for i in range(5)],
    ("ANEST_BU", 266, 268), ("ADD DT", 269, 276), ("ACT EFF DT", 277, 284),
    ("TERM DT", 285, 292), ("ACTION CD", 293, 293),
]  # fmt: skip
FIXED_MIN_LENGTH = 293

MODIFIER_CSV_COLUMNS = [
    "modifier",
    "long_description",
    "short_description",
    "add_date",
    "action_effective_date",
    "termination_date",
    "action_code",
]

CODE_RECORD, CODE_CONTINUED, MODIFIER_RECORD, MODIFIER_CONTINUED = "3", "4", "7", "8"
_LEVEL2_CODE = re.compile(r"^[A-Z][0-9]{4}$")
_MODIFIER = re.compile(r"^[A-Z0-9]{2}$")
_ANWEB_TEXT = re.compile(r"HCPC\d{4}.*ANWEB.*\.txt$", re.IGNORECASE)

# A few modifier families coders look for; everything else stays uncategorised. Numeric CPT
# modifiers (50, 59, 26, 95) are listed for their family only: their AMA descriptors are
# never stored, and the CMS files do not carry them.
MODIFIER_CATEGORIES: dict[str, str] = {
    **dict.fromkeys(["LT", "RT", "50"], "laterality"),
    **dict.fromkeys(
        # Eyelids, fingers, toes and coronary arteries.
        ["E1", "E2", "E3", "E4", "FA", "TA", "LC", "LD", "LM", "RC", "RI"]
        + [f"{side}{i}" for side in "FT" for i in range(1, 10)],
        "anatomic",
    ),
    **dict.fromkeys(["XE", "XS", "XP", "XU", "59"], "distinct procedural service"),
    **dict.fromkeys(["26", "TC"], "professional/technical component"),
    **dict.fromkeys(["GN", "GO", "GP"], "therapy plan of care"),
    **dict.fromkeys(["GA", "GX", "GY", "GZ"], "liability notice"),
    **dict.fromkeys(["GT", "GQ", "FQ", "FR", "93", "95"], "telehealth"),
    **dict.fromkeys(
        ["AA", "AD", "QK", "QS", "QX", "QY", "QZ", "G8", "G9", "P1", "P2", "P3", "P4", "P5", "P6"],
        "anesthesia",
    ),
    **dict.fromkeys(["NU", "RR", "UE", "KH", "KI", "KJ"], "DME purchase/rental"),
    **dict.fromkeys(["JW", "JZ"], "drug wastage"),
}


def modifier_category(code: str) -> str:
    return MODIFIER_CATEGORIES.get(code.upper(), "")


# --- sniffing -------------------------------------------------------------------------------


def _is_fixed_width_line(line: str) -> bool:
    line = line.rstrip("\r\n")
    return (
        len(line) >= FIXED_MIN_LENGTH
        and line[5:10].strip().isdigit()
        and line[10] in (CODE_RECORD, MODIFIER_RECORD)
    )


def _zip_text_member(path: Path) -> str | None:
    """The HCPC*_ANWEB*.txt inside a CMS quarterly zip, if `path` is one."""
    if magic_bytes(path) != ZIP_MAGIC:
        return None
    with zipfile.ZipFile(path) as archive:
        names = [n for n in archive.namelist() if _ANWEB_TEXT.search(Path(n).name)]
    return names[0] if len(names) == 1 else None


def sniff_zip(path: Path) -> bool:
    member = _zip_text_member(path)
    if member is None:
        return False
    with zipfile.ZipFile(path) as archive, archive.open(member) as fh:
        return _is_fixed_width_line(fh.readline(1024).decode("cp1252"))


def sniff_fixed_text(path: Path) -> bool:
    if magic_bytes(path) in (ZIP_MAGIC,):
        return False
    with open_text(path, "cp1252") as fh:
        return _is_fixed_width_line(fh.readline(1024))


def _is_xlsx(path: Path) -> bool:
    if magic_bytes(path) != ZIP_MAGIC:
        return False
    with zipfile.ZipFile(path) as archive:
        return "xl/workbook.xml" in archive.namelist()


def _xlsx_header(path: Path) -> list[str]:
    import openpyxl

    # A file object, not the path: openpyxl refuses names without .xlsx, and a registered
    # release keeps its source under a name without an extension.
    with open(path, "rb") as fh:
        workbook = openpyxl.load_workbook(fh, read_only=True)
        try:
            first = next(workbook.worksheets[0].iter_rows(max_row=1, values_only=True), ())
        finally:
            workbook.close()
    return [str(cell or "").strip() for cell in first]


def sniff_xlsx(path: Path) -> bool:
    return _is_xlsx(path) and _xlsx_header(path)[: len(CMS_COLUMNS)] == CMS_COLUMNS


def sniff_csv(path: Path) -> bool:
    return magic_bytes(path) != ZIP_MAGIC and header_is(path, CMS_COLUMNS)


def sniff_modifier_csv(path: Path) -> bool:
    return magic_bytes(path) != ZIP_MAGIC and header_is(path, MODIFIER_CSV_COLUMNS)


# --- reading: every shape gives dicts keyed by the CMS column names --------------------------


def _clean(text: str) -> str:
    # The text file breaks long descriptions over 80-character lines and the workbook keeps
    # stray double spaces; one space everywhere keeps the same code equal across shapes (a
    # release diff would otherwise call 17 unchanged codes "revised").
    return " ".join(text.split())


def _fixed_records(lines: Iterator[str]) -> Iterator[dict[str, str]]:
    current: dict[str, str] | None = None
    parts: list[str] = []
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n")
        if not line.strip():
            continue
        if len(line) < 91:
            raise ValueError(
                f"Line {number} is {len(line)} characters long; expected the 320-character "
                "CMS HCPCS record layout."
            )
        recid = line[10]
        if recid in (CODE_RECORD, MODIFIER_RECORD):
            if current is not None:
                current["LONG DESCRIPTION"] = " ".join(parts)
                yield current
            if len(line) < FIXED_MIN_LENGTH:
                raise ValueError(
                    f"Line {number} stops at character {len(line)}; the CMS HCPCS record "
                    f"layout needs {FIXED_MIN_LENGTH}."
                )
            current = {name: line[first - 1 : last].strip() for name, first, last in FIXED_LAYOUT}
            parts = [line[11:91]]
        elif recid in (CODE_CONTINUED, MODIFIER_CONTINUED):
            if current is None or line[0:5].strip() != current["HCPC"]:
                raise ValueError(
                    f"Line {number} continues {line[0:5].strip()!r}, which is not the record "
                    "above it: the file is out of order or damaged."
                )
            parts.append(line[11:91])
        else:
            raise ValueError(
                f"Line {number} has record id {recid!r}; the CMS HCPCS file has only 3, 4, 7 "
                "and 8 in column 11."
            )
    if current is not None:
        current["LONG DESCRIPTION"] = " ".join(parts)
        yield current


def _zip_records(path: Path) -> Iterator[dict[str, str]]:
    member = _zip_text_member(path)
    if member is None:
        raise ValueError("The zip holds no HCPC*_ANWEB*.txt file.")
    with zipfile.ZipFile(path) as archive, archive.open(member) as fh:
        yield from _fixed_records(raw.decode("cp1252") for raw in fh)


def _text_records(path: Path) -> Iterator[dict[str, str]]:
    with open_text(path, "cp1252") as fh:
        yield from _fixed_records(fh)


def _xlsx_records(path: Path) -> Iterator[dict[str, str]]:
    import openpyxl

    with open(path, "rb") as fh:
        workbook = openpyxl.load_workbook(fh, read_only=True)
        try:
            rows = workbook.worksheets[0].iter_rows(values_only=True)
            header = [str(cell or "").strip() for cell in next(rows, ())]
            for row in rows:
                if not any(row):
                    continue
                yield {
                    name: "" if value is None else str(value).strip()
                    for name, value in zip(header, row, strict=False)
                }
        finally:
            workbook.close()


def _csv_records(path: Path) -> Iterator[dict[str, str]]:
    with open_text(path, "utf-8-sig") as fh:
        for row in csv.DictReader(fh):
            yield {name: (value or "").strip() for name, value in row.items() if name}


def _modifier_csv_records(path: Path) -> Iterator[dict[str, str]]:
    with open_text(path, "utf-8-sig") as fh:
        for row in csv.DictReader(fh):
            yield {
                "HCPC": row["modifier"].strip(),
                "RECID": MODIFIER_RECORD,
                "LONG DESCRIPTION": row["long_description"],
                "SHORT DESCRIPTION": row["short_description"],
                "ADD DT": row["add_date"].strip(),
                "ACT EFF DT": row["action_effective_date"].strip(),
                "TERM DT": row["termination_date"].strip(),
                "ACTION CD": row["action_code"].strip(),
            }


def _date(record: dict[str, str], column: str) -> date | None:
    value = record.get(column, "").strip()
    if not value:
        return None
    try:
        if len(value) != 8 or not value.isdigit():
            raise ValueError
        return date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        raise ValueError(
            f"{record.get('HCPC')}: {column} is {value!r}, not a date in YYYYMMDD form."
        ) from None


def _several(record: dict[str, str], prefix: str, count: int) -> list[str]:
    return [v for i in range(1, count + 1) if (v := record.get(f"{prefix}{i}", ""))]


def _extra(record: dict[str, str]) -> dict:
    """The fields coders and the claim checks ask about; empty ones are left out."""
    action_effective = _date(record, "ACT EFF DT")
    extra = {
        "coverage": record.get("COV", ""),
        "betos": record.get("BETOS", ""),
        "opps_status": record.get("OPPS_PI", ""),
        "action": record.get("ACTION CD", ""),
        "action_effective": action_effective.isoformat() if action_effective else "",
        "pricing": _several(record, "PRICE", 4),
        "type_of_service": _several(record, "TOS", 5),
        "xref": _several(record, "XREF", 5),
    }
    return {key: value for key, value in extra.items() if value}


def _code_row(ctx: ImportContext, record: dict[str, str], index: int) -> Code:
    code = record.get("HCPC", "").strip().upper()
    is_code = record.get("RECID") == CODE_RECORD
    if not (_LEVEL2_CODE if is_code else _MODIFIER).match(code):
        what = "code" if is_code else "modifier"
        raise ValueError(f"{code!r} is not a HCPCS Level II {what}.")
    long_description = _clean(record.get("LONG DESCRIPTION", ""))
    short_description = _clean(record.get("SHORT DESCRIPTION", ""))
    if is_code:
        group, kind, extra = code[0], Code.Kind.CODE, _extra(record)
        ctx.counts[f"{group} codes"] += 1
    else:
        category = modifier_category(code)
        group, kind = category or "other", Code.Kind.MODIFIER
        extra = {k: v for k, v in _extra(record).items() if k in ("action", "action_effective")}
        if category:
            extra["category"] = category
        ctx.counts[f"modifiers: {group}"] += 1
    terminated = _date(record, "TERM DT")
    if terminated:
        ctx.counts["with a termination date"] += 1
    return Code(
        release=ctx.release,
        code=code,
        display=code,
        description=long_description or short_description,
        short_description=short_description[:120],
        billable=is_code,
        kind=kind,
        group=group,
        sort_key=index,
        valid_from=_date(record, "ADD DT") or _date(record, "ACT EFF DT"),
        valid_to=terminated,
        extra=extra,
    )


def _load(ctx: ImportContext, path: Path, reader, recid: str) -> None:
    """Keep the records of one kind (codes or modifiers); count the others so none vanish."""
    kind_name = "codes" if recid == CODE_RECORD else "modifiers"
    seen: set[str] = set()

    def rows() -> Iterator[Code]:
        with readable("a CMS HCPCS Level II file"):
            for record in reader(path):
                if record.get("RECID") != recid:
                    other = "modifiers" if recid == CODE_RECORD else "codes"
                    ctx.counts[f"{other} skipped (RECID {record.get('RECID')})"] += 1
                    continue
                row = _code_row(ctx, record, len(seen))
                if row.code in seen:
                    raise ValueError(f"{row.code} appears twice in the file.")
                seen.add(row.code)
                yield row
        if not seen:
            raise ValueError(f"The file holds no HCPCS {kind_name} (RECID {recid}).")

    ctx.bulk_insert(Code, rows())
    ctx.set_total(ctx.done)


def _register(system: str, recid: str) -> None:
    shapes = [
        ("the CMS quarterly HCPCS zip (with HCPC*_ANWEB*.txt inside)", sniff_zip, _zip_records),
        ("the CMS HCPCS fixed-width text file (HCPC*_ANWEB*.txt)", sniff_fixed_text, _text_records),
        ("the CMS HCPCS workbook (HCPC*_ANWEB*.xlsx, 48 columns HCPC … ACTION CD)", sniff_xlsx,
         _xlsx_records),
        ("a CSV with the 48 CMS HCPCS columns (HCPC, SEQNUM, RECID, …), plain or .gz", sniff_csv,
         _csv_records),
    ]  # fmt: skip
    for name, sniff, reader in shapes:
        register_format(
            FileFormat(
                system=system,
                name=name,
                sniff=sniff,
                load=lambda ctx, path, reader=reader: _load(ctx, path, reader, recid),
            )
        )


_register("hcpcs", CODE_RECORD)
_register("modifier", MODIFIER_RECORD)
register_format(
    FileFormat(
        system="modifier",
        name="the HCPCS Level II modifier CSV (modifier, long_description, short_description, "
        "add_date, action_effective_date, termination_date, action_code)",
        sniff=sniff_modifier_csv,
        load=lambda ctx, path: _load(ctx, path, _modifier_csv_records, MODIFIER_RECORD),
    )
)
