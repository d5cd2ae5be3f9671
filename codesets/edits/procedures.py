"""Procedure edits: code validity by date of service, modifiers, NCCI PTP and MUE.

INVALID_CODE, CODE_TERMINATED, DUPLICATE_CODE for procedures; MODIFIER_INVALID,
MODIFIER_CONFLICT; NCCI_PTP and MUE from the NCCI release in force for the setting
(practitioner for professional claims, hospital for outpatient and emergency).
"""

import re
from collections import defaultdict
from datetime import date

from codesets.edits.codebook import (
    FlatBook,
    MueBook,
    PtpBook,
    PtpRow,
    book,
    other_releases_with,
    plain,
)
from codesets.edits.encounter import Edit, EncounterInput, Procedure
from codesets.edits.releases import ActiveReleases, ReleaseRef

# CMS lists these as the modifiers that may bypass a PTP edit with modifier indicator 1.
NCCI_MODIFIERS = frozenset(
    ["59", "XE", "XS", "XP", "XU", "E1", "E2", "E3", "E4", "FA"]
    + [f"F{n}" for n in range(1, 10)]
    + ["TA"]
    + [f"T{n}" for n in range(1, 10)]
    + ["LT", "RT", "LC", "LD", "LM", "RC", "RI", "24", "25", "57", "58", "78", "79", "91"]
)
MAX_MODIFIERS = 4
_CPT = re.compile(r"^\d{4}[0-9A-Z]$")  # CPT (HCPCS Level I): 99213, 0001U, 0075T, 1036F
_LEVEL2 = re.compile(r"^[A-Z]\d{4}$")
NCCI_SETTING = {"professional": "practitioner", "outpatient": "hospital", "emergency": "hospital"}
MUE_ADJUDICATION = {
    1: "per claim line",
    2: "per day (policy: units above the value are never paid on appeal)",
    3: "per day (clinical: units above the value may be paid on appeal with documentation)",
}


def _system_of(procedure: Procedure) -> str:
    """CPT codes may arrive as system "hcpcs" (CPT is HCPCS Level I): look them up as CPT."""
    if procedure.system == "hcpcs" and _CPT.match(procedure.code):
        return "cpt"
    return procedure.system


def check_procedures(encounter: EncounterInput, releases: ActiveReleases) -> list[Edit]:
    if not encounter.procedures:
        return []
    edits = _validity(encounter, releases)
    edits += _duplicates(encounter)
    edits += _modifiers(encounter, releases)
    setting = NCCI_SETTING.get(encounter.encounter_type)
    if setting:
        lines = [p for p in encounter.procedures if p.system != "icd10pcs"]
        edits += _ptp(encounter, releases, setting, lines)
        edits += _mue(encounter, releases, setting, lines)
    return edits


def _validity(encounter: EncounterInput, releases: ActiveReleases) -> list[Edit]:
    edits = []
    by_system: dict[tuple[str, date], list[Procedure]] = defaultdict(list)
    for procedure in encounter.procedures:
        by_system[(_system_of(procedure), encounter.procedure_date(procedure))].append(procedure)
    for (system, on), procedures in by_system.items():
        release = releases.in_force(system, on)
        if release is None:
            # No CPT release is bundled (customer-licensed): CPT codes cannot be checked here;
            # the outpatient code editor still checks them on hospital claims.
            if system != "cpt":
                edits.append(
                    Edit(
                        "INVALID_CODE",
                        "error",
                        tuple(p.code for p in procedures),
                        f"No {system.upper()} release is in force on {on.isoformat()}, so these "
                        "codes cannot be checked. Ask an administrator to import one.",
                        "Code releases (Administration › Releases)",
                    )
                )
            continue
        codes = {plain(p.code) for p in procedures}
        flat: FlatBook = book("flat", release.id)
        flat.load(codes)
        missing = {c for c in codes if flat.get(c) is None}
        elsewhere = other_releases_with(system=system, codes=missing, exclude_release=release.id)
        reported: set[str] = set()
        for procedure in procedures:
            code = plain(procedure.code)
            if code in reported:
                continue
            reported.add(code)
            edit = _one_code(procedure, code, flat, release, on, elsewhere.get(code))
            if edit:
                edits.append(edit)
    return edits


def _one_code(
    procedure: Procedure,
    code: str,
    flat: FlatBook,
    release: ReleaseRef,
    on: date,
    elsewhere: list | None,
) -> Edit | None:
    system = release.system.upper()
    row = flat.get(code)
    if row is None:
        if elsewhere:
            later = [r for r in elsewhere if r[1] > on]
            label = (later[0] if later else elsewhere[-1])[0]
            when = (
                f"not valid yet on {on.isoformat()}: it starts with {label}"
                if later
                else f"deleted before {on.isoformat()}: last in {label}"
            )
            return Edit(
                "CODE_TERMINATED",
                "error",
                (procedure.code,),
                f"{procedure.code} is {when}.",
                f"{system}: not in {release.span}; found in {label}",
            )
        return Edit(
            "INVALID_CODE",
            "error",
            (procedure.code,),
            f"{procedure.code} is not a {system} code on {on.isoformat()}.",
            f"{system}: not in {release.span} nor in any other release",
        )
    if row.valid_to and row.valid_to < on:
        return Edit(
            "CODE_TERMINATED",
            "error",
            (row.display,),
            f"{row.display} ({row.description}) was discontinued on {row.valid_to.isoformat()}, "
            f"before the date of service {on.isoformat()}. Use its replacement.",
            f"{release.label}: {row.display} termination date {row.valid_to.isoformat()}",
        )
    if row.valid_from and row.valid_from > on:
        return Edit(
            "CODE_TERMINATED",
            "error",
            (row.display,),
            f"{row.display} only becomes valid on {row.valid_from.isoformat()}, after the date "
            f"of service {on.isoformat()}.",
            f"{release.label}: {row.display} effective {row.valid_from.isoformat()}",
        )
    if not row.billable:
        return Edit(
            "INVALID_CODE",
            "error",
            (row.display,),
            f"{row.display} is not a complete {system} code: pick a specific code.",
            f"{release.label}: {row.display} is a heading",
        )
    return None


def _duplicates(encounter: EncounterInput) -> list[Edit]:
    lines: dict[tuple, list[int]] = defaultdict(list)
    for index, p in enumerate(encounter.procedures):
        key = (p.system, plain(p.code), tuple(sorted(p.modifiers)), encounter.procedure_date(p))
        lines[key].append(index + 1)
    edits = []
    for (system, _code, _modifiers, on), positions in lines.items():
        if len(positions) < 2:
            continue
        written = encounter.procedures[positions[0] - 1].code
        how = (
            "report the procedure once"
            if system == "icd10pcs"
            else "report it on one line with the total units, or add a modifier that tells "
            "the services apart (such as 76, 77 or 91)"
        )
        edits.append(
            Edit(
                "DUPLICATE_CODE",
                "warning",
                (written,),
                f"{written} appears {len(positions)} times on {on.isoformat()} with the same "
                f"modifiers (lines {', '.join(map(str, positions))}): {how}.",
                "Claim lines: one line per distinct service and date",
            )
        )
    return edits


# -- modifiers -------------------------------------------------------------------------------


def _modifiers(encounter: EncounterInput, releases: ActiveReleases) -> list[Edit]:
    edits = []
    for p in encounter.procedures:
        if not p.modifiers:
            continue
        on = encounter.procedure_date(p)
        if p.system == "icd10pcs":
            edits.append(
                Edit(
                    "MODIFIER_INVALID",
                    "error",
                    (p.code, *p.modifiers),
                    f"{p.code} is an ICD-10-PCS code: modifiers only go with HCPCS/CPT codes.",
                    "ICD-10-PCS codes carry all their detail in the seven characters",
                )
            )
            continue
        release = releases.in_force("modifier", on)
        edits += _modifier_validity(p, release, on)
        edits += modifier_conflicts(p)
    return edits


def _modifier_validity(p: Procedure, release: ReleaseRef | None, on: date) -> list[Edit]:
    edits = []
    known: FlatBook | None = book("modifiers", release.id) if release else None
    for modifier in dict.fromkeys(p.modifiers):
        if modifier.isdigit() and len(modifier) == 2 and 22 <= int(modifier) <= 99:
            continue  # CPT modifiers: valid by number (their descriptors are AMA-licensed)
        row = known.get(modifier) if known else None
        if known is None:
            continue  # no modifier release in force: nothing to check Level II against
        if row is None:
            edits.append(
                Edit(
                    "MODIFIER_INVALID",
                    "error",
                    (p.code, modifier),
                    f"{modifier} on {p.code} is not a HCPCS modifier on {on.isoformat()}.",
                    f"{release.span}: no modifier {modifier}; CPT modifiers are 22–99",
                )
            )
        elif row.valid_to and row.valid_to < on:
            edits.append(
                Edit(
                    "MODIFIER_INVALID",
                    "error",
                    (p.code, modifier),
                    f"Modifier {modifier} ({row.description}) was discontinued on "
                    f"{row.valid_to.isoformat()}, before the date of service.",
                    f"{release.label}: {modifier} termination date {row.valid_to.isoformat()}",
                )
            )
    return edits


def modifier_conflicts(p: Procedure) -> list[Edit]:
    """Contradictory modifiers on one line (the workspace's modifier picker asks this too, to
    warn before a modifier is picked)."""
    mods = p.modifiers
    found: list[str] = []
    if "LT" in mods and "RT" in mods:
        found.append(
            "LT (left) and RT (right) on one line: bill a bilateral service with 50, "
            "or one line per side"
        )
    if "50" in mods and ({"LT", "RT"} & set(mods)):
        found.append("50 (bilateral) already means both sides: drop LT/RT")
    if "50" in mods and p.units > 1:
        found.append(f"50 (bilateral) is billed with 1 unit, not {p.units}")
    if "26" in mods and "TC" in mods:
        found.append(
            "26 (professional component) and TC (technical component) together are the "
            "global service: bill it without either"
        )
    distinct = sorted({"XE", "XS", "XP", "XU"} & set(mods))
    if "59" in mods and distinct:
        found.append(
            f"59 with {', '.join(distinct)}: the X modifiers are the more specific form of 59; "
            "use one or the other, never both"
        )
    if "76" in mods and "77" in mods:
        found.append(
            "76 (repeat by the same physician) and 77 (repeat by another physician) cannot "
            "both be true of one repeat"
        )
    if "52" in mods and "53" in mods:
        found.append(
            "52 (reduced service) and 53 (discontinued procedure) together: pick the one that "
            "describes what happened"
        )
    duplicates = sorted({m for m in mods if mods.count(m) > 1})
    if duplicates:
        found.append(f"{', '.join(duplicates)} repeated")
    if len(mods) > MAX_MODIFIERS:
        found.append(f"{len(mods)} modifiers; a claim line holds at most {MAX_MODIFIERS}")
    return [
        Edit(
            "MODIFIER_CONFLICT",
            "error",
            (p.code, *dict.fromkeys(mods)),
            f"{p.code}: {problem}.",
            "CMS Claims Processing Manual ch. 12 and NCCI policy manual (modifier use)",
        )
        for problem in found
    ]


# -- NCCI ------------------------------------------------------------------------------------


def _ptp(
    encounter: EncounterInput, releases: ActiveReleases, setting: str, lines: list[Procedure]
) -> list[Edit]:
    by_day: dict[date, list[Procedure]] = defaultdict(list)
    for p in lines:
        by_day[encounter.procedure_date(p)].append(p)
    edits = []
    for on, day in by_day.items():
        if len(day) < 2:
            continue
        release = releases.in_force("ncci-ptp", on, setting)
        if release is None:
            continue
        ptp: PtpBook = book("ptp", release.id)
        ptp.load({plain(p.code) for p in day})
        reported: set[tuple[str, str]] = set()
        for first in day:
            for second in day:
                c1, c2 = plain(first.code), plain(second.code)
                if c1 == c2 or (c1, c2) in reported:
                    continue
                row = ptp_row_in_force(ptp, c1, c2, on)
                if row is not None:
                    reported.add((c1, c2))
                    edits.append(_ptp_edit(first, second, row, release, on))
    return edits


def ptp_row_in_force(ptp: PtpBook, c1: str, c2: str, on: date) -> PtpRow | None:
    """The PTP row of a (column 1, column 2) pair that applies on a date, if any (the
    workspace's modifier guidance reads pairs through this too)."""
    for row in ptp.get(c1, c2):
        if row.modifier_indicator == "9":
            continue  # 9: the edit no longer applies
        if row.effective_date and row.effective_date > on:
            continue
        if row.deletion_date and row.deletion_date <= on:
            continue
        return row
    return None


def _ptp_edit(first: Procedure, second: Procedure, row, release: ReleaseRef, on: date) -> Edit:
    present = sorted(NCCI_MODIFIERS & (set(first.modifiers) | set(second.modifiers)))
    pair = f"{row.column2} is bundled into {row.column1} on the same day"
    if row.modifier_indicator == "0":
        severity = "error"
        advice = (
            "No modifier can bypass this edit (modifier indicator 0): "
            f"{row.column2} is not paid when billed with {row.column1}."
        )
    elif present:
        severity = "info"
        advice = (
            f"A modifier may bypass this edit (modifier indicator 1) and {', '.join(present)} "
            "is present: make sure the record shows a separate site, session or encounter."
        )
    else:
        severity = "error"
        advice = (
            "A modifier may bypass this edit (modifier indicator 1), but none is present: add "
            "59 or XE/XS/XP/XU (or an anatomic modifier) only if the record shows a distinct "
            f"service; otherwise remove {row.column2}."
        )
    dates = (
        f"effective {row.effective_date.isoformat() if row.effective_date else 'not stated'}, "
        f"deletion {row.deletion_date.isoformat() if row.deletion_date else 'none'}"
    )
    rationale = f"; rationale: {row.rationale}" if row.rationale else ""
    return Edit(
        "NCCI_PTP",
        severity,
        (row.column1, row.column2),
        f"{pair}. {advice}",
        f"{release.label}: column 1 {row.column1}, column 2 {row.column2}, {dates}, "
        f"modifier indicator {row.modifier_indicator}{rationale}",
    )


def _mue(
    encounter: EncounterInput, releases: ActiveReleases, setting: str, lines: list[Procedure]
) -> list[Edit]:
    edits = []
    by_day: dict[date, list[Procedure]] = defaultdict(list)
    for p in lines:
        by_day[encounter.procedure_date(p)].append(p)
    for on, day in by_day.items():
        release = releases.in_force("mue", on, setting)
        if release is None:
            continue
        mue: MueBook = book("mue", release.id)
        mue.load({plain(p.code) for p in day})
        per_day: dict[str, int] = defaultdict(int)
        for p in day:
            per_day[plain(p.code)] += p.units
        reported: set[str] = set()
        for p in day:
            code = plain(p.code)
            row = mue.get(code)
            if row is None or code in reported:
                continue
            # MAI 1 counts each claim line; MAI 2 and 3 count every line of the day.
            units = p.units if row.adjudication_indicator == 1 else per_day[code]
            if units <= row.value:
                continue
            reported.add(code)
            how = MUE_ADJUDICATION.get(row.adjudication_indicator, "")
            rationale = f"; rationale: {row.rationale}" if row.rationale else ""
            edits.append(
                Edit(
                    "MUE",
                    "error",
                    (p.code,),
                    f"{units} units of {p.code} on {on.isoformat()} is more than Medicare "
                    f"expects for one patient ({row.value} {how}). Check the units; units "
                    "above the limit are denied.",
                    f"{release.label}: {row.code} MUE value {row.value}, adjudication "
                    f"indicator {row.adjudication_indicator}{rationale}",
                )
            )
    return edits
