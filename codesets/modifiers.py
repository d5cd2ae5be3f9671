"""Modifiers for the coding workspace: the picker's categories, and per-line NCCI and MUE
guidance.

Reads only. Everything about NCCI and MUE goes through the edits engine's own lookups
(releases in force, the cached PTP/MUE books, `ptp_row_in_force`, `modifier_conflicts`), so
the guidance a coder sees while picking is the same answer the edits give after saving.

Level II (HCPCS) modifier descriptions come from the modifier release in force on the date of
service. CPT (Level I, numeric) modifier descriptors are licensed by the AMA and not in any
release we hold: for those the picker shows our own plain-words summary, marked as such.
"""

import re
from dataclasses import dataclass, field
from datetime import date

from codesets.edits.codebook import FlatBook, MueBook, PtpBook, book, plain
from codesets.edits.encounter import EncounterInput, Procedure
from codesets.edits.procedures import (
    MAX_MODIFIERS,
    MUE_ADJUDICATION,
    NCCI_MODIFIERS,
    NCCI_SETTING,
    modifier_conflicts,
    ptp_row_in_force,
)
from codesets.edits.releases import ActiveReleases


@dataclass(frozen=True)
class ModifierInfo:
    code: str
    summary: str  # our words: the release's description wins for Level II modifiers
    when: str  # when to use it, in plain words


@dataclass(frozen=True)
class Category:
    slug: str
    label: str
    modifiers: tuple[ModifierInfo, ...]


def _m(code: str, summary: str, when: str) -> ModifierInfo:
    return ModifierInfo(code, summary, when)


_ORD = ("second", "third", "fourth", "fifth")
_FINGERS = {
    "FA": "left hand, thumb",
    **{f"F{n}": f"left hand, {w} digit" for n, w in zip(range(1, 5), _ORD, strict=True)},
    "F5": "right hand, thumb",
    **{f"F{n}": f"right hand, {w} digit" for n, w in zip(range(6, 10), _ORD, strict=True)},
}
_TOES = {
    "TA": "left foot, great toe",
    **{f"T{n}": f"left foot, {w} digit" for n, w in zip(range(1, 5), _ORD, strict=True)},
    "T5": "right foot, great toe",
    **{f"T{n}": f"right foot, {w} digit" for n, w in zip(range(6, 10), _ORD, strict=True)},
}
_EYELIDS = {
    "E1": "upper left eyelid",
    "E2": "lower left eyelid",
    "E3": "upper right eyelid",
    "E4": "lower right eyelid",
}
_CORONARY = {
    "LC": "left circumflex coronary artery",
    "LD": "left anterior descending coronary artery",
    "LM": "left main coronary artery",
    "RC": "right coronary artery",
    "RI": "ramus intermedius coronary artery",
}

CATEGORIES: tuple[Category, ...] = (
    Category(
        "laterality",
        "Laterality",
        (
            _m("LT", "Left side", "The service was done on the left side of the body only."),
            _m("RT", "Right side", "The service was done on the right side of the body only."),
        ),
    ),
    Category(
        "bilateral",
        "Bilateral",
        (
            _m(
                "50",
                "Bilateral procedure",
                "The same procedure on both sides in one session, reported on one line with 1 "
                "unit. Not with LT/RT, and not for codes that already mean both sides.",
            ),
        ),
    ),
    Category(
        "anatomic",
        "Anatomic (eyelids, fingers, toes, coronary arteries)",
        tuple(
            _m(
                code,
                where.capitalize(),
                f"Names the {where} the service was on; tells apart services on different "
                "sites and can bypass an NCCI pair (modifier indicator 1).",
            )
            for code, where in {**_EYELIDS, **_FINGERS, **_TOES, **_CORONARY}.items()
        ),
    ),
    Category(
        "distinct",
        "Distinct procedural service",
        (
            _m(
                "59",
                "Distinct procedural service",
                "A service normally bundled with another was separate: different session, "
                "site, organ system, incision or injury. Use only when no more specific "
                "modifier (XE/XS/XP/XU, anatomic) fits.",
            ),
            _m("XE", "Separate encounter", "The service was in a separate encounter that day."),
            _m("XS", "Separate structure", "The service was on a separate organ or structure."),
            _m("XP", "Separate practitioner", "A different practitioner performed the service."),
            _m(
                "XU",
                "Unusual non-overlapping service",
                "The service does not overlap the usual parts of the main service.",
            ),
        ),
    ),
    Category(
        "em",
        "E/M with a procedure",
        (
            _m(
                "25",
                "Significant, separately identifiable E/M",
                "On the E/M code when, on the day of a procedure, the visit went clearly beyond "
                "the usual pre- and post-procedure care. The record must show it.",
            ),
            _m(
                "57",
                "Decision for surgery",
                "On the E/M code, the day before or the day of a major surgery, when the visit "
                "resulted in the decision to operate.",
            ),
            _m(
                "24",
                "Unrelated E/M in a postoperative period",
                "An E/M visit during a global period for a problem unrelated to the surgery.",
            ),
        ),
    ),
    Category(
        "repeat",
        "Repeat services",
        (
            _m(
                "76",
                "Repeat procedure, same physician",
                "The same procedure done again the same day by the same physician.",
            ),
            _m(
                "77",
                "Repeat procedure, another physician",
                "The same procedure done again the same day by a different physician.",
            ),
            _m(
                "91",
                "Repeat clinical lab test",
                "The same lab test run again the same day for a new result (not to confirm or "
                "because of a problem with the specimen or the equipment).",
            ),
        ),
    ),
    Category(
        "component",
        "Professional / technical component",
        (
            _m(
                "26",
                "Professional component",
                "Only the physician's part (reading and report) of a service with separate "
                "professional and technical parts, e.g. a hospital X-ray read by a radiologist.",
            ),
            _m(
                "TC",
                "Technical component",
                "Only the equipment, staff and supplies part; the reading is billed by another.",
            ),
        ),
    ),
    Category(
        "reduced",
        "Reduced or discontinued",
        (
            _m(
                "52",
                "Reduced services",
                "Part of the service was left out at the physician's choice.",
            ),
            _m(
                "53",
                "Discontinued procedure",
                "The physician stopped the procedure after it started because of a risk to the "
                "patient (professional claims).",
            ),
            _m(
                "73",
                "Discontinued before anesthesia",
                "Hospital/ASC claims: the procedure was stopped after preparation but before "
                "anesthesia.",
            ),
            _m(
                "74",
                "Discontinued after anesthesia",
                "Hospital/ASC claims: the procedure was stopped after anesthesia was given or "
                "after it started.",
            ),
        ),
    ),
    Category(
        "multiple",
        "Multiple procedures",
        (
            _m(
                "51",
                "Multiple procedures",
                "More than one procedure in one session; on the secondary procedures when the "
                "payer asks for it (Medicare applies the reduction itself).",
            ),
        ),
    ),
    Category(
        "global",
        "Staged, related or unrelated during a global period",
        (
            _m(
                "58",
                "Staged or related procedure",
                "A planned second stage, a more extensive procedure, or therapy after surgery, "
                "done in the postoperative period.",
            ),
            _m(
                "78",
                "Return to the OR for a related procedure",
                "An unplanned return to the operating room during the postoperative period for "
                "a complication of the first procedure.",
            ),
            _m(
                "79",
                "Unrelated procedure in the postoperative period",
                "A new procedure during a global period for a problem unrelated to the first.",
            ),
        ),
    ),
    Category(
        "assistant",
        "Assistant at surgery",
        (
            _m("80", "Assistant surgeon", "A physician assisted throughout."),
            _m(
                "81",
                "Minimum assistant surgeon",
                "A physician assisted for a short part of the operation.",
            ),
            _m(
                "82",
                "Assistant surgeon, no qualified resident",
                "Teaching hospitals: a physician assisted because no qualified resident was "
                "available.",
            ),
            _m(
                "AS",
                "Non-physician assistant at surgery",
                "A PA, NP or clinical nurse specialist assisted at surgery.",
            ),
        ),
    ),
    Category(
        "liability",
        "Medicare liability notice (ABN)",
        (
            _m(
                "GA",
                "ABN on file",
                "A waiver of liability (ABN) was signed for a service Medicare may deny as not "
                "reasonable and necessary.",
            ),
            _m(
                "GZ",
                "Expected denial, no ABN",
                "The service is expected to be denied as not reasonable and necessary and no "
                "ABN was signed.",
            ),
            _m(
                "GY",
                "Statutorily excluded",
                "The service is never a Medicare benefit (statutory exclusion).",
            ),
            _m(
                "GX",
                "Voluntary ABN",
                "A voluntary notice was given for a service excluded from Medicare by statute.",
            ),
        ),
    ),
    Category(
        "other",
        "Other common",
        (
            _m(
                "22",
                "Increased procedural services",
                "The work was substantially greater than usual; the record must say why.",
            ),
            _m(
                "62",
                "Two surgeons",
                "Two surgeons each performed a distinct part of one procedure.",
            ),
            _m("KX", "Requirements met", "The payer's documented requirements are met."),
            _m(
                "JW",
                "Drug wasted",
                "The amount of a single-use drug that was discarded.",
            ),
            _m("JZ", "No drug wasted", "No amount of a single-use drug was discarded."),
        ),
    ),
)

BY_CODE: dict[str, tuple[Category, ModifierInfo]] = {
    info.code: (category, info) for category in CATEGORIES for info in category.modifiers
}
DISTINCT = ("59", "XE", "XS", "XP", "XU")
_WORD = re.compile(r"[A-Z0-9]+")


# -- picker options --------------------------------------------------------------------------


@dataclass
class Option:
    code: str
    description: str
    category: str
    category_label: str
    when: str = ""
    our_summary: bool = False  # a CPT modifier: the description is ours, not the AMA's
    suggested: str = ""  # why it fits this line ("" when it does not stand out)
    conflict: str = ""  # what it would contradict on this line
    present: bool = False


@dataclass
class OptionGroup:
    slug: str
    label: str
    options: list[Option] = field(default_factory=list)


def _code_kind(code: str) -> str:
    """Rough family of a CPT code, enough to say which modifiers usually apply."""
    if not (len(code) == 5 and code.isdigit()):
        return "hcpcs"
    number = int(code)
    if 99202 <= number <= 99499:
        return "em"
    if 10004 <= number <= 69990:
        return "surgery"
    if 70010 <= number <= 79999:
        return "radiology"
    if 80047 <= number <= 89398:
        return "lab"
    return "medicine"


def _suggestion(code: str, modifier: str, ncci_codes: set[str], encounter_type: str) -> str:
    """Why a modifier may fit this line, or "" (a hint, never a rule)."""
    kind = _code_kind(code)
    if modifier in ncci_codes:
        return "May bypass an NCCI pair on this encounter (modifier indicator 1)"
    if kind == "em" and modifier in ("25", "57"):
        return "E/M on the day of a procedure"
    if kind == "surgery" and modifier in ("LT", "RT", "50", "51", "58", "78", "79", "76"):
        return "Surgical procedure"
    if kind == "radiology" and modifier in ("26", "TC", "LT", "RT", "76", "77"):
        return "Imaging: professional/technical split or repeat"
    if kind == "lab" and modifier in ("91", "26", "TC"):
        return "Lab or pathology service"
    hospital = encounter_type in ("outpatient", "emergency")
    if hospital and modifier in ("73", "74") and kind == "surgery":
        return "Hospital claim for a procedure"
    if encounter_type == "professional" and modifier in ("52", "53") and kind == "surgery":
        return "Professional claim for a procedure"
    return ""


def _conflict(line: Procedure, modifier: str) -> str:
    """What adding the modifier would contradict, in the engine's own words."""
    if modifier in line.modifiers:
        return "Already on this line"
    if len(line.modifiers) >= MAX_MODIFIERS:
        return f"The line already has {MAX_MODIFIERS} modifiers"
    before = {e.message for e in modifier_conflicts(line)}
    after = modifier_conflicts(
        Procedure(line.system, line.code, (*line.modifiers, modifier), line.units, line.date)
    )
    new = [e.message for e in after if e.message not in before]
    return new[0].split(": ", 1)[-1] if new else ""


def modifier_options(
    *,
    encounter: EncounterInput,
    index: int,
    query: str = "",
    releases: ActiveReleases | None = None,
) -> list[OptionGroup]:
    """The picker's options for procedure line `index` of the encounter, grouped.

    First "Suggested for this line", then the categories in order; with a query, only the
    modifiers whose code or words match, plus any other modifier of the release that does.
    Discontinued modifiers (termination date before the line's date) are left out.
    """
    releases = releases or ActiveReleases()
    line = encounter.procedures[index]
    on = encounter.procedure_date(line)
    known = _modifier_book(releases, on)
    guidance = ncci_guidance(encounter=encounter, index=index, releases=releases)
    # Of the many NCCI-associated modifiers, suggest the distinct-service ones and the sides;
    # the guidance under the line lists the rest (anatomic, global period, repeat lab).
    ncci_codes = {*DISTINCT, "LT", "RT"} if any(g.indicator == "1" for g in guidance) else set()
    code = plain(line.code)
    words = query.strip().upper().split()

    def matches(option: Option) -> bool:
        """A code that starts with the query, or every query word starting a word of the
        code's description, category or "when to use" ("sep str" finds XS)."""
        if not words or option.code.startswith(words[0]):
            return True
        text = f"{option.code} {option.description} {option.category_label} {option.when}"
        vocabulary = _WORD.findall(text.upper())
        return all(any(v.startswith(word) for v in vocabulary) for word in words)

    def option_for(modifier: str, category: Category | None, info: ModifierInfo | None) -> Option:
        row = known.get(modifier) if known else None
        description = row.description if row else (info.summary if info else "")
        return Option(
            code=modifier,
            description=description,
            category=category.slug if category else "release",
            category_label=category.label if category else "Other HCPCS modifiers",
            when=info.when if info else "",
            our_summary=row is None and info is not None,
            suggested=_suggestion(code, modifier, ncci_codes, encounter.encounter_type),
            conflict=_conflict(line, modifier),
            present=modifier in line.modifiers,
        )

    def usable(modifier: str) -> bool:
        if not known or (modifier.isdigit() and len(modifier) == 2):
            return True  # CPT modifiers are valid by number; no release to check others
        row = known.get(modifier)
        return row is not None and not (row.valid_to and row.valid_to < on)

    groups = [OptionGroup("suggested", "Suggested for this line")]
    for category in CATEGORIES:
        group = OptionGroup(category.slug, category.label)
        for info in category.modifiers:
            if not usable(info.code):
                continue
            option = option_for(info.code, category, info)
            if not matches(option):
                continue
            group.options.append(option)
            if option.suggested and not option.present:
                groups[0].options.append(option)
        groups.append(group)
    if words and known:
        rest = OptionGroup("release", "Other HCPCS modifiers")
        for modifier in sorted(known.codes):
            if modifier in BY_CODE or not usable(modifier):
                continue
            option = option_for(modifier, None, None)
            if matches(option):
                rest.options.append(option)
        groups.append(rest)
    # the distinct-service modifiers first: they are what an NCCI pair usually calls for
    groups[0].options.sort(key=lambda o: o.code not in DISTINCT)
    return [g for g in groups if g.options]


def modifier_descriptions(
    *, modifiers: list[str] | tuple[str, ...], on: date, releases: ActiveReleases | None = None
) -> list[tuple[str, str]]:
    """(modifier, description) for the modifiers on a line: the release's words, else ours."""
    known = _modifier_book(releases or ActiveReleases(), on)
    found = []
    for modifier in modifiers:
        row = known.get(modifier) if known else None
        info = BY_CODE.get(modifier)
        if row:
            text = row.description
        elif info:
            text = f"{info[1].summary} (CPT modifier; our summary)"
        else:
            text = "not a known modifier"
        found.append((modifier, text))
    return found


def _modifier_book(releases: ActiveReleases, on: date) -> FlatBook | None:
    release = releases.in_force("modifier", on)
    return book("modifiers", release.id) if release else None


# -- NCCI guidance ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PairGuidance:
    other: str  # the other code of the pair
    column1: str
    column2: str
    indicator: str  # "0" or "1"
    bypass: tuple[tuple[str, tuple[str, ...]], ...]  # (category label, modifiers) for "1"
    present: tuple[str, ...]  # NCCI-associated modifiers on either line
    rationale: str
    reference: str

    @property
    def message(self) -> str:
        pair = f"{self.column2} is bundled into {self.column1} on the same day"
        if self.indicator == "0":
            return (
                f"{pair}. Modifier indicator 0: no modifier can bypass it; "
                f"{self.column2} is not paid with {self.column1}."
            )
        if self.present:
            return (
                f"{pair}. Modifier indicator 1: {', '.join(self.present)} is present, which may "
                "bypass it if the record shows a separate site, session or encounter."
            )
        return (
            f"{pair}. Modifier indicator 1: a modifier may bypass it (usually on "
            f"{self.column2}), none is present. Add one only if the record shows a distinct "
            "service."
        )


def _bypass_groups() -> tuple[tuple[str, tuple[str, ...]], ...]:
    groups = []
    for category in CATEGORIES:
        codes = tuple(i.code for i in category.modifiers if i.code in NCCI_MODIFIERS)
        if codes:
            groups.append((category.label, codes))
    return tuple(groups)


def ncci_guidance(
    *, encounter: EncounterInput, index: int, releases: ActiveReleases | None = None
) -> list[PairGuidance]:
    """Every NCCI PTP pair in force between line `index` and another line of the same day,
    from the table of the encounter's setting (none for inpatient stays or PCS lines)."""
    releases = releases or ActiveReleases()
    line = encounter.procedures[index]
    setting = NCCI_SETTING.get(encounter.encounter_type)
    if not setting or line.system == "icd10pcs":
        return []
    on = encounter.procedure_date(line)
    release = releases.in_force("ncci-ptp", on, setting)
    if release is None:
        return []
    code = plain(line.code)
    others = [
        p
        for i, p in enumerate(encounter.procedures)
        if i != index
        and p.system != "icd10pcs"
        and encounter.procedure_date(p) == on
        and plain(p.code) != code
    ]
    if not others:
        return []
    ptp: PtpBook = book("ptp", release.id)
    ptp.load({code} | {plain(p.code) for p in others})
    found: list[PairGuidance] = []
    seen: set[tuple[str, str]] = set()
    for other in others:
        other_code = plain(other.code)
        for c1, c2 in ((code, other_code), (other_code, code)):
            row = ptp_row_in_force(ptp, c1, c2, on)
            if row is None or (c1, c2) in seen:
                continue
            seen.add((c1, c2))
            present = tuple(sorted(NCCI_MODIFIERS & (set(line.modifiers) | set(other.modifiers))))
            deletion = row.deletion_date.isoformat() if row.deletion_date else "none"
            found.append(
                PairGuidance(
                    other=other.code,
                    column1=row.column1,
                    column2=row.column2,
                    indicator=row.modifier_indicator,
                    bypass=_bypass_groups() if row.modifier_indicator == "1" else (),
                    present=present if row.modifier_indicator == "1" else (),
                    rationale=row.rationale,
                    reference=f"{release.label}: column 1 {row.column1}, column 2 "
                    f"{row.column2}, modifier indicator {row.modifier_indicator}, deletion "
                    f"{deletion}",
                )
            )
    return found


# -- MUE guidance ----------------------------------------------------------------------------


@dataclass(frozen=True)
class MueGuidance:
    code: str
    value: int
    adjudication_indicator: int
    per: str  # "line" or "day"
    meaning: str
    rationale: str
    release: str
    units: int  # units counted against the value (this line, or every line of the day)
    other_units: int  # units of the same code on the other lines of the day (per day)

    @property
    def over(self) -> bool:
        return self.units > self.value

    @property
    def label(self) -> str:
        return f"max {self.value} per {self.per} (MUE)"


def mue_guidance(
    *, encounter: EncounterInput, index: int, releases: ActiveReleases | None = None
) -> MueGuidance | None:
    """The MUE of line `index`'s code in the encounter's setting, with the units that count
    against it (adjudication indicator 1: this line; 2 and 3: every line of the day)."""
    releases = releases or ActiveReleases()
    line = encounter.procedures[index]
    setting = NCCI_SETTING.get(encounter.encounter_type)
    if not setting or line.system == "icd10pcs":
        return None
    on = encounter.procedure_date(line)
    release = releases.in_force("mue", on, setting)
    if release is None:
        return None
    code = plain(line.code)
    mue: MueBook = book("mue", release.id)
    mue.load({code})
    row = mue.get(code)
    if row is None:
        return None
    per_line = row.adjudication_indicator == 1
    others = 0
    if not per_line:
        others = sum(
            p.units
            for i, p in enumerate(encounter.procedures)
            if i != index
            and plain(p.code) == code
            and p.system != "icd10pcs"
            and encounter.procedure_date(p) == on
        )
    return MueGuidance(
        code=line.code,
        value=row.value,
        adjudication_indicator=row.adjudication_indicator,
        per="line" if per_line else "day",
        meaning=MUE_ADJUDICATION.get(row.adjudication_indicator, ""),
        rationale=row.rationale,
        release=release.label,
        units=line.units + others,
        other_units=others,
    )


# -- everything for one line -----------------------------------------------------------------


@dataclass
class LineGuidance:
    index: int
    pairs: list[PairGuidance]
    mue: MueGuidance | None
    modifiers: list[tuple[str, str]]  # (modifier, description) of the line's modifiers


def line_guidance(*, encounter: EncounterInput) -> list[LineGuidance]:
    """NCCI, MUE and modifier descriptions for every procedure line, in line order (one read
    of the releases in force for the whole encounter)."""
    releases = ActiveReleases()
    by_index = []
    for index, line in enumerate(encounter.procedures):
        by_index.append(
            LineGuidance(
                index=index,
                pairs=ncci_guidance(encounter=encounter, index=index, releases=releases),
                mue=mue_guidance(encounter=encounter, index=index, releases=releases),
                modifiers=modifier_descriptions(
                    modifiers=line.modifiers,
                    on=encounter.procedure_date(line),
                    releases=releases,
                ),
            )
        )
    return by_index
