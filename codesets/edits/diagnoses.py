"""Diagnosis edits read from the ICD-10-CM tabular list of the release in force.

INVALID_CODE, CODE_TERMINATED, NOT_BILLABLE, SEVENTH_CHARACTER, EXCLUDES1, CODE_FIRST,
USE_ADDITIONAL, POA_MISSING / POA_INVALID and DUPLICATE_CODE for diagnoses.
"""

from datetime import date

from codesets.edits.codebook import CmBook, Note, book, other_releases_with, plain
from codesets.edits.encounter import Edit, EncounterInput
from codesets.edits.releases import ActiveReleases, ReleaseRef
from codesets.models import Code, CodeNote

POA_VALUES = {
    "Y": "present at the time of admission",
    "N": "not present at the time of admission",
    "U": "documentation is insufficient to tell",
    "W": "the provider cannot clinically determine",
    "1": "exempt from POA reporting",
}
HEADER_KINDS = (Code.Kind.CHAPTER, Code.Kind.BLOCK)


def _where(note: Note) -> str:
    if note.at_kind == Code.Kind.CHAPTER:
        return f"chapter {note.at}"
    if note.at_kind == Code.Kind.BLOCK:
        return f"block {note.at}"
    return note.at


def _cite(note: Note, release: ReleaseRef) -> str:
    label = CodeNote.Kind(note.kind).label
    text = _squash(note.text)
    return f'ICD-10-CM tabular, {label} note at {_where(note)}: "{text}" — {release.label}'


def _squash(text: str) -> str:
    return " ".join(text.split())


def _terminated_message(display: str, on: date, elsewhere: list) -> tuple[str, str]:
    later = [r for r in elsewhere if r[1] > on]
    if later:
        label, start, _ = later[0]
        return (
            f"{display} is not valid yet on {on.isoformat()}: it starts with {label} on "
            f"{start.isoformat()}. Use the code in force on the date of service.",
            f"{label} (effective {start.isoformat()})",
        )
    label, start, end = elsewhere[-1]
    until = f" (in force until {end.isoformat()})" if end else ""
    return (
        f"{display} was deleted before {on.isoformat()}: it was last valid in {label}{until}. "
        "Pick its replacement in the current release.",
        f"{label}{until}",
    )


def check_diagnoses(encounter: EncounterInput, releases: ActiveReleases) -> list[Edit]:
    if not encounter.diagnoses:
        return []
    on = encounter.date_of_service
    release = releases.in_force("icd10cm", on)
    codes = [plain(d.code) for d in encounter.diagnoses]
    edits: list[Edit] = []
    edits += _duplicates(encounter, codes)
    if encounter.is_inpatient:
        edits += _poa(encounter)
    if release is None:
        return [
            *edits,
            Edit(
                "INVALID_CODE",
                "error",
                tuple(d.code for d in encounter.diagnoses),
                f"No ICD-10-CM release is in force on {on.isoformat()}, so no diagnosis code "
                "can be checked. Ask an administrator to import and activate one.",
                "Code releases (Administration › Releases)",
            ),
        ]
    cm: CmBook = book("cm", release.id)
    cm.load(set(codes))

    valid: list[tuple[int, str]] = []  # (sequence index, code) of codes that exist
    missing = {code for code in codes if cm.get(code) is None}
    elsewhere = other_releases_with(system="icd10cm", codes=missing, exclude_release=release.id)
    seen: set[str] = set()
    for index, (diagnosis, code) in enumerate(zip(encounter.diagnoses, codes, strict=True)):
        if code in seen:
            continue
        seen.add(code)
        row = cm.get(code)
        if row is None or row.kind in HEADER_KINDS:
            edits += _missing(cm, release, diagnosis.code, code, on, elsewhere.get(code))
            continue
        valid.append((index, code))
        rule = cm.seventh_rule(code)
        if not row.billable:
            if rule and len(code) < 7:
                edits.append(_needs_seventh(row.display, rule, release))
            elif edit := _not_billable(cm, row.display, row.description, release):
                edits.append(edit)
    edits += _excludes1(cm, release, valid)
    edits += _code_first(cm, release, valid, encounter)
    edits += _use_additional(cm, release, valid, set(codes))
    return edits


def _missing(
    cm: CmBook, release: ReleaseRef, written: str, code: str, on: date, elsewhere: list | None
) -> list[Edit]:
    rule = cm.seventh_rule(code[:6]) if len(code) == 7 else None
    if rule and code[6] not in {c for c, _ in rule[1]}:
        holder, allowed = rule
        return [
            Edit(
                "SEVENTH_CHARACTER",
                "error",
                (written,),
                f"{written}: '{code[6]}' is not an allowed 7th character here. "
                f"Allowed: {', '.join(f'{c} ({m})' for c, m in allowed)}.",
                f"ICD-10-CM tabular, 7th characters defined at {holder.display} — {release.label}",
            )
        ]
    if elsewhere:
        message, where = _terminated_message(written, on, elsewhere)
        return [
            Edit(
                "CODE_TERMINATED",
                "error",
                (written,),
                message,
                f"ICD-10-CM: not in {release.span}; found in {where}",
            )
        ]
    return [
        Edit(
            "INVALID_CODE",
            "error",
            (written,),
            f"{written} is not an ICD-10-CM code on {on.isoformat()}. Check for a typo or "
            "search the code list.",
            f"ICD-10-CM: not in {release.span} nor in any other release",
        )
    ]


def _needs_seventh(display: str, rule, release: ReleaseRef) -> Edit:
    holder, allowed = rule
    options = ", ".join(f"{c} ({m})" for c, m in allowed[:6])
    more = f" and {len(allowed) - 6} more" if len(allowed) > 6 else ""
    placeholder = " (fill empty places with the placeholder X)" if len(display) < 7 else ""
    return Edit(
        "SEVENTH_CHARACTER",
        "error",
        (display,),
        f"{display} needs a 7th character that says which encounter this is{placeholder}: "
        f"{options}{more}.",
        f"ICD-10-CM tabular, 7th characters defined at {holder.display} — {release.label}",
    )


def _not_billable(cm: CmBook, display: str, description: str, release: ReleaseRef) -> Edit | None:
    # A heading with nothing below it is itself the most specific code, whatever its flag.
    children = cm.children(display.replace(".", ""))
    if not children:
        return None
    return Edit(
        "NOT_BILLABLE",
        "error",
        (display,),
        f"{display} ({description}) is a heading, not a billable code: pick a more specific "
        f"code below it such as {', '.join(children)}.",
        f"ICD-10-CM tabular: {display} has subdivisions — {release.label}",
    )


def _excludes1(cm: CmBook, release: ReleaseRef, valid: list[tuple[int, str]]) -> list[Edit]:
    edits = []
    reported: set[frozenset[str]] = set()
    for _, code in valid:
        for note, ref in cm.exclusions(code):
            for _, other in valid:
                pair = frozenset((code, other))
                if other == code or pair in reported or not ref.covers(other):
                    continue
                reported.add(pair)
                a, b = cm.get(code), cm.get(other)
                edits.append(
                    Edit(
                        "EXCLUDES1",
                        "error",
                        (a.display, b.display),
                        f"{a.display} ({a.description}) and {b.display} ({b.description}) "
                        "are never coded together: the tabular list says one excludes the "
                        "other. Keep the one the documentation supports.",
                        _cite(note, release) + f" (cites {ref.text})",
                    )
                )
    return edits


def _code_first(
    cm: CmBook, release: ReleaseRef, valid: list[tuple[int, str]], encounter: EncounterInput
) -> list[Edit]:
    edits = []
    first = "principal" if encounter.is_inpatient else "first-listed"
    for index, code in valid:
        row = cm.get(code)
        for note in cm.notes_of(code, CodeNote.Kind.CODE_FIRST):
            if not note.refs:
                continue
            etiology = [
                (other_index, other)
                for other_index, other in valid
                if other != code and any(ref.covers(other) for ref in note.refs)
            ]
            after = [cm.get(other).display for at, other in etiology if at > index]
            optional = "if applicable" in note.text.lower()
            if after:
                edits.append(
                    Edit(
                        "CODE_FIRST",
                        "error",
                        (row.display, *after),
                        f"{row.display} must be sequenced after the underlying condition "
                        f"({', '.join(after)}): list the underlying condition first.",
                        _cite(note, release),
                    )
                )
            elif index == 0 and not etiology:
                edits.append(
                    Edit(
                        "CODE_FIRST",
                        "warning" if optional else "error",
                        (row.display,),
                        f"{row.display} is listed as the {first} diagnosis, but the tabular "
                        "list says to code the underlying condition first"
                        + (" when there is one." if optional else ". Add it and list it first."),
                        _cite(note, release),
                    )
                )
            break  # one code-first finding per code is enough to act on
    return edits


def _use_additional(
    cm: CmBook, release: ReleaseRef, valid: list[tuple[int, str]], present: set[str]
) -> list[Edit]:
    edits = []
    seen_notes: set[tuple[str, str]] = set()
    for _, code in valid:
        row = cm.get(code)
        for note in cm.notes_of(code, CodeNote.Kind.USE_ADDITIONAL):
            if not note.refs or (note.at, note.text) in seen_notes:
                continue
            if any(ref.covers(other) for ref in note.refs for other in present):
                continue
            seen_notes.add((note.at, note.text))
            # Chapter and block notes ("use additional code to identify resistance...") and
            # "if applicable" notes only apply when documented: a hint, not a warning.
            broad = note.at_kind in HEADER_KINDS or "if applicable" in note.text.lower()
            cited = ", ".join(ref.text for ref in note.refs[:6])
            edits.append(
                Edit(
                    "USE_ADDITIONAL",
                    "info" if broad else "warning",
                    (row.display,),
                    f"{row.display}: the tabular list asks for an additional code when the "
                    f"record supports it ({cited}). None is on this encounter.",
                    _cite(note, release),
                )
            )
    return edits


def _duplicates(encounter: EncounterInput, codes: list[str]) -> list[Edit]:
    edits = []
    counted: dict[str, list[int]] = {}
    for index, code in enumerate(codes):
        counted.setdefault(code, []).append(index + 1)
    for positions in counted.values():
        if len(positions) > 1:
            display = encounter.diagnoses[positions[0] - 1].code
            edits.append(
                Edit(
                    "DUPLICATE_CODE",
                    "error",
                    (display,),
                    f"{display} is listed {len(positions)} times (positions "
                    f"{', '.join(map(str, positions))}); report each diagnosis once.",
                    "ICD-10-CM Official Guidelines: a code is reported once per encounter",
                )
            )
    return edits


def _poa(encounter: EncounterInput) -> list[Edit]:
    edits = []
    allowed = ", ".join(f"{k} ({v})" for k, v in POA_VALUES.items())
    for diagnosis in encounter.diagnoses:
        if not diagnosis.poa:
            edits.append(
                Edit(
                    "POA_MISSING",
                    "error",
                    (diagnosis.code,),
                    f"{diagnosis.code} has no present-on-admission indicator. Inpatient claims "
                    f"need one for every diagnosis: {allowed}.",
                    "CMS POA reporting (ICD-10-CM Official Guidelines, Appendix I); "
                    "1 marks codes on the CMS POA-exempt list",
                )
            )
        elif diagnosis.poa not in POA_VALUES:
            edits.append(
                Edit(
                    "POA_INVALID",
                    "error",
                    (diagnosis.code,),
                    f"{diagnosis.code}: '{diagnosis.poa}' is not a POA indicator. Use {allowed}.",
                    "CMS POA reporting (ICD-10-CM Official Guidelines, Appendix I)",
                )
            )
    return edits
