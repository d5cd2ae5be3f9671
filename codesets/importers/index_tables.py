"""The ICD-10-CM tables of the index, from the CDC/NCHS XML: Table of Drugs and Chemicals
("icd10cm-drugs"), Neoplasm Table ("icd10cm-neoplasm") and External Cause of Injuries Index
("icd10cm-eindex").

Each code in a table cell (or a term's <code>) becomes one IndexEntry: the term with its
parents ("Neoplasm, neoplastic > abdomen, abdominal > cavity"), the column it sits in and the
code as printed. Code search merges these rows into ICD-10-CM search (codesets/search.py), so
"acetaminophen poisoning accidental" finds T39.1X1-.
"""

import gzip
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

from codesets.importers.base import (
    FileFormat,
    ImportContext,
    head_bytes,
    is_gzip,
    register_format,
)
from codesets.importers.streaming import readable
from codesets.models import IndexEntry

ROOT = "ICD10CM.index"
TERMS = ("mainTerm", "term")
# Cells that say "no code here".
EMPTY_CELLS = {"", "-", "--"}
PATH_MAX = 500


def _text(elem: ET.Element) -> str:
    # <title>Abandonment<nemod>(causing exposure)</nemod> NEC</title> reads as one line.
    return " ".join(" ".join(elem.itertext()).split())


def column_names(heads: dict[str, str]) -> dict[str, str]:
    """Column headings as coders read them: "Poisoning, Accidental (unintentional)".

    The printed tables span one heading word over several columns (Poisoning over four,
    Malignant over two); the XML repeats it in each, so the shared word gets its comma back.
    """
    firsts = [text.split(" ", 1)[0] for text in heads.values()]
    named = {}
    for col, text in heads.items():
        first, _, rest = text.partition(" ")
        named[col] = f"{first}, {rest}" if rest and firsts.count(first) > 1 else text
    return named


def _head_text(path: Path) -> str:
    return head_bytes(path, 2048).decode("utf-8", errors="replace")


def _is_index_xml(head: str) -> bool:
    return f"<{ROOT}>" in head


def _first_column_is(path: Path, name: str) -> bool:
    head = _head_text(path)
    pattern = rf'<head col="1">\s*{name}\s*</head>'
    return _is_index_xml(head) and re.search(pattern, head) is not None


def sniff_drugs(path: Path) -> bool:
    return _first_column_is(path, "Substance")


def sniff_neoplasm(path: Path) -> bool:
    return _first_column_is(path, "Neoplasm")


def sniff_eindex(path: Path) -> bool:
    head = _head_text(path)
    return (
        _is_index_xml(head)
        and "<indexHeading>" not in head
        and re.search(r"<title>[^<]*EXTERNAL CAUSE", head, re.IGNORECASE) is not None
    )


def _entries(ctx: ImportContext, path: Path, table: str) -> Iterator[IndexEntry]:
    """Stream the XML: terms are closed and cleared as soon as they end."""
    # Closed by the `with source` below, once the generator is exhausted or dropped.
    source = gzip.open(path, "rb") if is_gzip(path) else path.open("rb")  # noqa: SIM115
    tags: list[str] = []
    titles: list[str] = []
    heads: dict[str, str] = {}
    columns: dict[str, str] = {}
    order = 0
    with source:
        for event, elem in ET.iterparse(source, events=("start", "end")):
            if event == "start":
                if not tags and elem.tag != ROOT:
                    raise ValueError(f"The root element is <{elem.tag}>; expected <{ROOT}>.")
                tags.append(elem.tag)
                if elem.tag in TERMS:
                    titles.append("")
                    ctx.counts["main terms" if elem.tag == "mainTerm" else "sub-terms"] += 1
                continue
            tags.pop()
            parent = tags[-1] if tags else ""
            if elem.tag == "head":
                heads[elem.get("col", "")] = _text(elem)
            elif elem.tag == "indexHeading":
                columns = column_names(heads)
            elif elem.tag == "title" and parent in TERMS:
                titles[-1] = _text(elem)
            elif elem.tag in ("see", "seeAlso") and parent in TERMS:
                ctx.counts["see / see also references (not stored)"] += 1
            elif elem.tag in ("cell", "code", "subcat", "seecat") and parent in TERMS:
                code = (elem.text or "").strip()
                if code in EMPTY_CELLS:
                    ctx.counts["empty cells (--)"] += 1
                    continue
                if elem.tag == "cell":
                    column = columns.get(elem.get("col", ""), "")
                    if not column:
                        raise ValueError(
                            f"A cell of {' > '.join(titles)!r} is in column {elem.get('col')!r}, "
                            "which the table heading does not name."
                        )
                else:
                    column = "see category" if elem.tag == "seecat" else ""
                if table == IndexEntry.Table.DRUG and not code.endswith("-"):
                    # Every T36–T65 code needs a 7th character (A, D, S); the XML leaves the
                    # dash off that the printed table shows, so put it back.
                    code += "-"
                ctx.counts[column or "codes"] += 1
                order += 1
                yield IndexEntry(
                    release=ctx.release,
                    table=table,
                    path=" > ".join(t for t in titles if t)[:PATH_MAX],
                    column=column[:80],
                    code=code[:16],
                    sort_key=order,
                )
            elif elem.tag in TERMS:
                titles.pop()
                elem.clear()


def _loader(table: str, what: str):
    def load(ctx: ImportContext, path: Path) -> None:
        with readable(what):
            try:
                count = ctx.bulk_insert(IndexEntry, _entries(ctx, path, table))
            except ET.ParseError as exc:
                raise ValueError(f"The XML is not well formed ({exc}); expected {what}.") from exc
        if not count:
            raise ValueError(f"No codes found; expected {what}.")
        ctx.counts["entries"] = count
        ctx.set_total(count)

    return load


for _system, _table, _what, _sniff in [
    (
        "icd10cm-drugs",
        IndexEntry.Table.DRUG,
        "the ICD-10-CM Table of Drugs and Chemicals XML (icd10cm-drug-*.xml, plain or .gz)",
        sniff_drugs,
    ),
    (
        "icd10cm-neoplasm",
        IndexEntry.Table.NEOPLASM,
        "the ICD-10-CM Neoplasm Table XML (icd10cm-neoplasm-*.xml, plain or .gz)",
        sniff_neoplasm,
    ),
    (
        "icd10cm-eindex",
        IndexEntry.Table.EXTERNAL_CAUSE,
        "the ICD-10-CM External Cause of Injuries Index XML (icd10cm-eindex-*.xml, plain or .gz)",
        sniff_eindex,
    ),
]:
    register_format(
        FileFormat(system=_system, name=_what, sniff=_sniff, load=_loader(_table, _what))
    )
