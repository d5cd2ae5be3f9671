"""'Explain this coding': why each code of an encounter is there, as plain data.

One selector (`encounter_explanation`) reads what the rest of the app already knows and puts
it in coders' and patients' words; nothing here re-decides the coding:

- descriptions and tabular notes come from the code database (codesets: the edits engine's
  ICD-10-CM codebook for diagnoses, `code_lookup` for procedures; CPT descriptions are never
  shown, whatever is stored);
- the edits are the edits engine's own run on the saved coding (encounters.coding), shown per
  code as the rules that were checked and passed, or the edit that fired;
- the MS-DRG is the grouper result the DRG panel shows (encounters.drg_services);
- sequencing reasons cite the ICD-10-CM Official Guidelines for Coding and Reporting by
  section (II principal diagnosis, III additional diagnoses, IV outpatient first-listed,
  I.A.13 etiology/manifestation, I.A.17 code also, Appendix I POA). The guideline text itself
  is not needed: the section numbers and the plain-words summaries below are enough.

The one write, `explanation_sign_off`, records that a staff member signed off the patient
(or provider) version for the coding as it is now (Encounter.version); a later change to the
encounter needs a new sign-off. Every view of the explanation is access-logged
(`explanation_access_record`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from accounts.models import PhiAccess, User
from accounts.permissions import Capability, has_capability
from accounts.services import phi_access_record
from codesets.edits.codebook import book, plain
from codesets.edits.diagnoses import POA_VALUES
from codesets.edits.releases import ActiveReleases
from codesets.models import CodeNote
from encounters.models import (
    DiagnosisAssignment,
    Encounter,
    ExplanationSignOff,
    ProcedureAssignment,
)

logger = logging.getLogger(__name__)

GUIDELINES = "ICD-10-CM Official Guidelines for Coding and Reporting"
Audience = ExplanationSignOff.Audience

# -- the rules the edits engine checks, per kind of code and setting -------------------------

# (rule id or family prefix, what it checks) — the DESIGN.md table in coders' words.
DIAGNOSIS_RULES: tuple[tuple[str, str], ...] = (
    ("INVALID_CODE", "is a code in the ICD-10-CM release in force on the date of service"),
    ("CODE_TERMINATED", "is valid on the date of service"),
    ("NOT_BILLABLE", "is a complete, billable code (not a category heading)"),
    ("SEVENTH_CHARACTER", "has the 7th character it needs"),
    ("EXCLUDES1", "no Excludes1 note forbids it together with another code here"),
    ("CODE_FIRST", "is in the order a 'code first' note requires"),
    ("USE_ADDITIONAL", "has the additional code a 'use additional code' note asks for"),
    ("DUPLICATE_CODE", "is not reported twice"),
)
INPATIENT_DIAGNOSIS_RULES: tuple[tuple[str, str], ...] = (
    ("POA_", "has a valid present-on-admission indicator"),
    ("MCE_", "passes the Medicare Code Editor (age, sex, acceptable principal diagnosis, …)"),
)
OUTPATIENT_HOSPITAL_RULES: tuple[tuple[str, str], ...] = (
    ("OCE_", "passes the Integrated Outpatient Code Editor"),
)
PROCEDURE_RULES: tuple[tuple[str, str], ...] = (
    ("INVALID_CODE", "is a code in the release in force on the date of service"),
    ("CODE_TERMINATED", "is valid on the date of service"),
    ("DUPLICATE_CODE", "is not reported twice"),
)
LINE_RULES: tuple[tuple[str, str], ...] = (  # HCPCS / CPT lines
    ("MODIFIER_", "its modifiers exist and do not contradict each other"),
    ("NCCI_PTP", "is not bundled into another procedure here (NCCI procedure-to-procedure)"),
    ("MUE", "its units are within the medically unlikely edit value"),
    ("COVERAGE", "meets the payer's coverage rules"),
)
INPATIENT_PROCEDURE_RULES: tuple[tuple[str, str], ...] = (
    ("MCE_", "passes the Medicare Code Editor (non-covered, limited coverage, …)"),
)

# POA in a patient's words (Appendix I of the guidelines); the coders' words are POA_VALUES.
POA_PLAIN = {
    "Y": "You already had this condition when you were admitted.",
    "N": "This condition began after you were admitted.",
    "U": "The record does not say whether you had this condition when you were admitted.",
    "W": "Your doctor could not tell whether you had this condition when you were admitted.",
    "1": "Hospitals do not report for this condition whether it was there at admission.",
}

SETTING_WORDS = {
    Encounter.Type.INPATIENT: "hospital stay",
    Encounter.Type.OUTPATIENT: "outpatient visit",
    Encounter.Type.PROFESSIONAL: "visit",
    Encounter.Type.EMERGENCY: "emergency visit",
}
SYSTEM_LABELS = dict(ProcedureAssignment.System.choices) | {"icd10cm": "ICD-10-CM"}
CPT_WITHHELD = "CPT code (its description is licensed by the AMA and is not shown)"


# -- the plain data --------------------------------------------------------------------------


@dataclass(frozen=True)
class Reason:
    """Why a code sits where it does: in coders' words, in a patient's words, and the source."""

    text: str
    plain: str
    source: str


@dataclass(frozen=True)
class RuleCheck:
    """One rule of the edits engine for one code: passed, or the edits that fired."""

    rule: str
    checks: str
    fired: tuple[dict[str, Any], ...] = ()

    @property
    def passed(self) -> bool:
        return not self.fired

    @property
    def name(self) -> str:
        """The rule id, or the family ("MCE_*") when the rule stands for a family of edits."""
        return f"{self.rule}*" if self.rule.endswith("_") else self.rule

    @property
    def severity(self) -> str:
        order = {"error": 0, "warning": 1, "info": 2}
        return min((e["severity"] for e in self.fired), key=order.get, default="")


@dataclass
class CodeExplanation:
    kind: str  # "diagnosis" or "procedure"
    sequence: int
    code: str
    system: str
    description: str
    role: str
    role_plain: str
    reasons: list[Reason] = field(default_factory=list)
    poa: str = ""
    poa_meaning: str = ""
    poa_plain: str = ""
    evidence: dict[str, Any] | None = None
    rationale: str = ""
    notes: list[dict[str, Any]] = field(default_factory=list)
    checks: list[RuleCheck] = field(default_factory=list)
    drg_role: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def system_label(self) -> str:
        return SYSTEM_LABELS.get(self.system, self.system)

    @property
    def fired(self) -> list[RuleCheck]:
        return [c for c in self.checks if not c.passed]

    @property
    def relevant_notes(self) -> list[dict[str, Any]]:
        """The notes that bear on this encounter: sequencing instructions, and any note that
        names another code on it (what a provider needs; the page lists them all)."""
        kinds = {CodeNote.Kind.CODE_FIRST, CodeNote.Kind.USE_ADDITIONAL, CodeNote.Kind.CODE_ALSO}
        return [n for n in self.notes if n["kind"] in kinds or n["names_assigned"]]

    @property
    def passed_count(self) -> int:
        return sum(1 for c in self.checks if c.passed)


@dataclass
class Explanation:
    encounter: Encounter
    inpatient: bool
    setting: str
    diagnoses: list[CodeExplanation]
    procedures: list[CodeExplanation]
    encounter_edits: list[dict[str, Any]]  # edits that name no assigned code
    edits_note: str
    show_drg: bool
    drg: dict[str, Any] | None
    drg_note: str
    drg_steps: list[Reason]
    sign_off: ExplanationSignOff | None  # the patient sign-off for the current version
    provider_sign_off: ExplanationSignOff | None
    history: list[ExplanationSignOff]
    release_label: str = ""

    @property
    def edit_counts(self) -> dict[str, int]:
        lines = [*self.diagnoses, *self.procedures]
        return {
            "checked": sum(len(line.checks) for line in lines),
            "passed": sum(line.passed_count for line in lines),
            "fired": sum(len(c.fired) for line in lines for c in line.fired)
            + len(self.encounter_edits),
        }


# -- building it -----------------------------------------------------------------------------


def _evidence(item: DiagnosisAssignment | ProcedureAssignment) -> dict[str, Any] | None:
    if not item.evidence_quote.strip():
        return None
    document = item.evidence_document
    return {
        "quote": " ".join(item.evidence_quote.split()),
        "title": document.title if document else "A document no longer on the chart",
        "note_type": document.get_note_type_display() if document else "",
        "written_on": document.written_on if document else None,
        "author": document.author if document else "",
        "document_id": document.pk if document else None,
    }


def _rule_checks(
    code: str, rules: tuple[tuple[str, str], ...], edits: list[dict[str, Any]]
) -> list[RuleCheck]:
    mine = [e for e in edits if code in e["codes"]]
    return [
        RuleCheck(
            rule=rule,
            checks=checks,
            fired=tuple(e for e in mine if e["rule"] == rule or e["rule"].startswith(rule)),
        )
        for rule, checks in rules
    ]


def _run_edits(encounter: Encounter) -> tuple[list[dict[str, Any]], str]:
    """The edits as the workspace runs them; a failure leaves the page readable."""
    from encounters.coding import encounter_edits

    try:
        return encounter_edits(encounter=encounter), ""
    except Exception:  # the explanation stays usable; the failure is logged for the team
        logger.exception("edits engine failed on encounter %s", encounter.pk)
        return [], "The edits engine could not check this encounter, so no edits are listed."


def _note_dict(note: Any, assigned: dict[str, str]) -> dict[str, Any]:
    """A tabular note, with the assigned codes it names (so the reader sees why it matters)."""
    names = [shown for raw, shown in assigned.items() if any(r.covers(raw) for r in note.refs)]
    return {
        "kind": note.kind,
        "label": CodeNote.Kind(note.kind).label,
        "text": " ".join(note.text.split()),
        "at": note.at,
        "names_assigned": names,
    }


NOTE_KINDS = (
    CodeNote.Kind.CODE_FIRST,
    CodeNote.Kind.USE_ADDITIONAL,
    CodeNote.Kind.CODE_ALSO,
    CodeNote.Kind.EXCLUDES1,
    CodeNote.Kind.EXCLUDES2,
    CodeNote.Kind.INCLUDES,
)


def _diagnoses(
    encounter: Encounter, edits: list[dict[str, Any]], inpatient: bool
) -> tuple[list[CodeExplanation], str]:
    rows = list(encounter.diagnoses.select_related("evidence_document").order_by("sequence"))
    release = ActiveReleases().in_force("icd10cm", encounter.date_of_service)
    cm = book("cm", release.id) if release else None
    raw = {d.code: plain(d.code) for d in rows}
    if cm is not None:
        cm.load(set(raw.values()))
    assigned = {raw[d.code]: d.code for d in rows}
    rules = DIAGNOSIS_RULES + (INPATIENT_DIAGNOSIS_RULES if inpatient else ())
    if encounter.type in (Encounter.Type.OUTPATIENT, Encounter.Type.EMERGENCY):
        rules += OUTPATIENT_HOSPITAL_RULES
    lines = []
    for index, d in enumerate(rows):
        code = raw[d.code]
        row = cm.get(code) if cm else None
        notes = []
        if cm is not None and row is not None:
            for kind in NOTE_KINDS:
                notes += [_note_dict(n, assigned) for n in cm.notes_of(code, kind)]
        line = CodeExplanation(
            kind="diagnosis",
            sequence=d.sequence,
            code=d.code,
            system="icd10cm",
            description=row.description if row else d.description,
            role="",
            role_plain="",
            poa=d.poa,
            poa_meaning=POA_VALUES.get(d.poa, "") if inpatient else "",
            poa_plain=POA_PLAIN.get(d.poa, "") if inpatient else "",
            evidence=_evidence(d),
            rationale=d.rationale,
            notes=notes,
            checks=_rule_checks(d.code, rules, edits),
        )
        _sequence_reasons(line, index, inpatient, rows, notes)
        lines.append(line)
    return lines, release.label if release else ""


def _sequence_reasons(
    line: CodeExplanation,
    index: int,
    inpatient: bool,
    rows: list[DiagnosisAssignment],
    notes: list[dict[str, Any]],
) -> None:
    reasons = line.reasons
    if index == 0 and inpatient:
        line.role, line.role_plain = "Principal diagnosis", "Main reason for the hospital stay"
        reasons.append(
            Reason(
                "Principal diagnosis: the condition established after study to be chiefly "
                "responsible for occasioning the admission of the patient to the hospital "
                "(UHDDS definition).",
                "After tests and examination, this was found to be the main reason you were "
                "admitted to the hospital.",
                f"{GUIDELINES}, Section II",
            )
        )
    elif index == 0:
        line.role, line.role_plain = "First-listed diagnosis", "Main reason for the visit"
        reasons.append(
            Reason(
                "First-listed diagnosis: the diagnosis, condition, problem or other reason for "
                "the encounter shown in the record to be chiefly responsible for the services "
                "provided. (The UHDDS principal diagnosis does not apply outside inpatient "
                "stays.)",
                "This was the main reason for your visit.",
                f"{GUIDELINES}, Section IV.A and IV.G",
            )
        )
    elif inpatient:
        line.role, line.role_plain = "Secondary diagnosis", "Other condition treated or watched"
        reasons.append(
            Reason(
                "Additional diagnosis: a condition that coexists at admission or develops later "
                "and affects care — clinical evaluation, treatment, diagnostic procedures, "
                "a longer stay, or more nursing care and monitoring.",
                "Another condition that your care team evaluated, treated or watched during "
                "the stay.",
                f"{GUIDELINES}, Section III",
            )
        )
    else:
        line.role, line.role_plain = "Additional diagnosis", "Other condition that affected care"
        reasons.append(
            Reason(
                "Coexisting condition documented as affecting the care given at this visit.",
                "Another condition that affected the care you received at this visit.",
                f"{GUIDELINES}, Section IV.J",
            )
        )
    if index == 0 and line.code.upper().startswith("R"):
        reasons.append(
            Reason(
                "A symptom or sign (chapter 18) is principal/first-listed only when no related "
                "definitive diagnosis has been established.",
                "Your doctor recorded a symptom, not a confirmed cause, as the main reason.",
                f"{GUIDELINES}, Section II.A and IV.D",
            )
        )
    before = {r.code for r in rows[:index]}
    for note in notes:
        named = note["names_assigned"]
        if note["kind"] == CodeNote.Kind.CODE_FIRST:
            first = [c for c in named if c in before]
            manifestation = "diseases classified elsewhere" in line.description.lower()
            if not (first or manifestation):
                continue  # "code first ..., if applicable" with nothing of the kind here
            text = (
                f"The tabular 'Code first' note at {note['at']} puts the underlying condition "
                "first" + (f"; it is listed after {', '.join(first)}." if first else ".")
            )
            if manifestation:
                text = (
                    f"Manifestation code ('in diseases classified elsewhere'). {text} A "
                    "manifestation code may not be the principal or first-listed diagnosis."
                )
            reasons.append(
                Reason(
                    text,
                    "This describes an effect of another condition, so the underlying "
                    "condition is listed before it.",
                    f"{GUIDELINES}, Section I.A.13; tabular note at {note['at']}",
                )
            )
        elif note["kind"] == CodeNote.Kind.USE_ADDITIONAL and named:
            reasons.append(
                Reason(
                    f"The tabular 'Use additional code' note at {note['at']} asks for "
                    f"{', '.join(named)} as well, listed after this code.",
                    "The coding rules ask for a second code to give the full picture; it is "
                    "listed after this one.",
                    f"{GUIDELINES}, Section I.A.13; tabular note at {note['at']}",
                )
            )
        elif note["kind"] == CodeNote.Kind.CODE_ALSO and named:
            reasons.append(
                Reason(
                    f"The tabular 'Code also' note at {note['at']} names {', '.join(named)}; "
                    "the order follows the circumstances of the encounter.",
                    "A related condition is coded as well.",
                    f"{GUIDELINES}, Section I.A.17; tabular note at {note['at']}",
                )
            )


def _procedures(
    encounter: Encounter, edits: list[dict[str, Any]], inpatient: bool
) -> list[CodeExplanation]:
    from codesets.selectors import code_lookup

    lines = []
    for p in encounter.procedures.select_related("evidence_document").order_by("sequence"):
        if p.system == ProcedureAssignment.System.CPT:
            description = CPT_WITHHELD  # never a CPT description, licensed import or not
        else:
            row = code_lookup(system=p.system, code=p.code, on=encounter.date_of_service)
            description = row.description if row else p.description
        rules = PROCEDURE_RULES
        if p.system != ProcedureAssignment.System.ICD10PCS:
            rules += LINE_RULES
        if inpatient:
            rules += INPATIENT_PROCEDURE_RULES
        elif encounter.type in (Encounter.Type.OUTPATIENT, Encounter.Type.EMERGENCY):
            rules += OUTPATIENT_HOSPITAL_RULES
        lines.append(
            CodeExplanation(
                kind="procedure",
                sequence=p.sequence,
                code=p.code,
                system=p.system,
                description=description,
                role="Procedure" if p.sequence > 1 else "First procedure",
                role_plain="Procedure or service",
                evidence=_evidence(p),
                checks=_rule_checks(p.code, rules, edits),
                extra={
                    "modifiers": list(p.modifiers),
                    "units": p.units,
                    "performed_on": p.performed_on,
                    "pointers": list(p.diagnosis_pointers or []),
                },
            )
        )
    return lines


def _drg(
    encounter: Encounter, diagnoses: list[CodeExplanation], procedures: list[CodeExplanation]
) -> tuple[dict[str, Any] | None, str, list[Reason]]:
    """The grouper result the DRG panel shows, and how it follows from the codes."""
    from codesets.drg import DrgError
    from encounters.drg_services import encounter_drg

    if not diagnoses:
        return None, "No principal diagnosis yet, so the stay cannot be grouped.", []
    try:
        result = encounter_drg(encounter=encounter)
    except DrgError as exc:
        return None, str(exc), []
    drg = result.as_dict()
    drg["weight"] = result.weight
    by_code = {item.code: item for item in result.cc_mcc}
    for line in diagnoses[1:]:
        item = by_code.get(line.code)
        if item is not None:
            line.drg_role = item.as_dict()
    px = {p["code"]: p for p in result.procedures}
    for line in procedures:
        if line.code in px:
            line.drg_role = px[line.code]
    principal = diagnoses[0]
    surgical = [p["code"] for p in result.procedures if p["affects_drg"]]
    counted = [c for c in result.cc_mcc if c.status == "counted"]
    steps = [
        Reason(
            f"Principal diagnosis {principal.code} places the stay in MDC {result.mdc}"
            + (f" ({result.mdc_description})" if result.mdc_description else "")
            + ".",
            "Your main diagnosis decides which broad group of conditions the stay belongs to"
            + (f": {result.mdc_description.lower()}." if result.mdc_description else "."),
            f"{result.grouper_label} (CMS MS-DRG definitions)",
        ),
        Reason(
            f"Procedure{'s' if len(surgical) != 1 else ''} {', '.join(surgical)} "
            "affect the DRG: the stay groups to a surgical DRG."
            if surgical
            else "No procedure affects the DRG: the stay groups to a medical DRG.",
            "An operation during the stay moves it to a surgical group."
            if surgical
            else "No operation changed the group; it is a medical (non-surgical) group.",
            result.grouper_label,
        ),
    ]
    if counted:
        c = counted[0]
        full = {"MCC": "major complication or comorbidity", "CC": "complication or comorbidity"}
        steps.append(
            Reason(
                f"Secondary diagnosis {c.code} is an {c.severity} "
                f"({full[c.severity]}) and sets the severity level.",
                f"Another condition you had ({c.code}) makes the stay more complex to treat, so "
                "it belongs to a higher-severity group.",
                f"{result.grouper_label}, CC/MCC list and CC exclusion list",
            )
        )
    else:
        steps.append(
            Reason(
                "No secondary diagnosis counts as a CC or MCC (complication or comorbidity) "
                "for this principal diagnosis.",
                "None of the other conditions changed the group's severity level.",
                f"{result.grouper_label}, CC/MCC list and CC exclusion list",
            )
        )
    if result.hac_status:
        steps.append(
            Reason(
                result.hac_status,
                "A condition that began in the hospital was reviewed under Medicare's "
                "hospital-acquired condition rules.",
                "CMS hospital-acquired conditions (POA indicator, Appendix I)",
            )
        )
    weight = f", relative weight {result.weight}" if result.weight is not None else ""
    steps.append(
        Reason(
            f"MS-DRG {result.drg} — {result.description}{weight}.",
            f"The stay's group is {result.drg}: {_plain_drg(result.description)}.",
            result.weights_release or result.grouper_label,
        )
    )
    return drg, result.weights_note, steps


# MS-DRG titles abbreviate the severity levels; a patient reads them spelled out.
DRG_WORDS = (
    ("W/O CC/MCC", "without complications or comorbidities"),
    ("W/O MCC", "without a major complication or comorbidity"),
    ("W CC/MCC", "with complications or comorbidities"),
    ("WITHOUT CC/MCC", "without complications or comorbidities"),
    ("WITHOUT MCC", "without a major complication or comorbidity"),
    ("WITH CC/MCC", "with complications or comorbidities"),
    ("W MCC", "with a major complication or comorbidity"),
    ("WITH MCC", "with a major complication or comorbidity"),
    ("W CC", "with a complication or comorbidity"),
    ("WITH CC", "with a complication or comorbidity"),
)


def _plain_drg(title: str) -> str:
    """A DRG title in a patient's words: lower case, severity abbreviations spelled out."""
    words = f" {' '.join(title.split()).upper()} "
    for short, spelled in DRG_WORDS:
        words = words.replace(f" {short} ", f" {spelled.upper()} ")
    return words.strip().lower()


def current_sign_off(*, encounter: Encounter, audience: str) -> ExplanationSignOff | None:
    """The newest sign-off for this audience that covers the coding as it is now."""
    return (
        encounter.explanation_sign_offs.select_related("signed_by")
        .filter(audience=audience, coding_version=encounter.version)
        .first()
    )


def encounter_explanation(*, user: User, encounter: Encounter) -> Explanation:
    """Everything the explanation pages show. The caller has checked chart access
    (encounter_get_for); the DRG is only grouped for users who group stays (GROUP_DRG)."""
    inpatient = encounter.type == Encounter.Type.INPATIENT
    edits, edits_note = _run_edits(encounter)
    diagnoses, release_label = _diagnoses(encounter, edits, inpatient)
    procedures = _procedures(encounter, edits, inpatient)
    named = {line.code for line in [*diagnoses, *procedures]}
    loose = [e for e in edits if not set(e["codes"]) & named]
    show_drg = inpatient and has_capability(user, Capability.GROUP_DRG)
    drg, drg_note, steps = (None, "", [])
    if show_drg:
        drg, drg_note, steps = _drg(encounter, diagnoses, procedures)
    history = list(encounter.explanation_sign_offs.select_related("signed_by")[:10])
    current = [s for s in history if s.coding_version == encounter.version]
    return Explanation(
        encounter=encounter,
        inpatient=inpatient,
        setting=SETTING_WORDS.get(encounter.type, "visit"),
        diagnoses=diagnoses,
        procedures=procedures,
        encounter_edits=loose,
        edits_note=edits_note,
        show_drg=show_drg,
        drg=drg,
        drg_note=drg_note,
        drg_steps=steps,
        sign_off=next((s for s in current if s.audience == Audience.PATIENT), None),
        provider_sign_off=next((s for s in current if s.audience == Audience.PROVIDER), None),
        history=history,
        release_label=release_label,
    )


# -- access log and sign-off -----------------------------------------------------------------


def explanation_access_record(
    *, user: User, encounter: Encounter, version: str, request: Any = None
) -> None:
    """Log a view or print of the explanation (version: "page", "provider" or "patient")."""
    meta = getattr(request, "META", {})
    phi_access_record(
        user=user,
        action=PhiAccess.Action.EXPLAIN_CODING,
        patient_id=encounter.patient_id,
        encounter_id=encounter.pk,
        reason={
            "page": "Explain this coding",
            "provider": "Printed the provider version",
            "patient": "Printed the patient version",
        }[version],
        ip_address=meta.get("REMOTE_ADDR"),
        user_agent=meta.get("HTTP_USER_AGENT", "")[:300],
    )


@transaction.atomic
def explanation_sign_off(
    *, encounter: Encounter, by: User, audience: str, version: int, note: str = ""
) -> ExplanationSignOff:
    """Sign off the explanation of the coding as it is now for its audience.

    `version` is the Encounter.version the signer was looking at: if the coding changed
    since, the sign-off is refused (they would be signing something they have not read)."""
    if not has_capability(by, Capability.REVIEW_JUNIORS):
        raise PermissionDenied("Signing off an explanation needs an intermediate or senior coder.")
    if audience not in Audience.values:
        raise ValidationError({"audience": "Choose the provider or the patient version."})
    locked = Encounter.objects.select_for_update().get(pk=encounter.pk)
    if locked.version != version:
        raise ValidationError(
            "The coding changed while you were reading it; reload the explanation and "
            "read it again before signing off."
        )
    if not locked.diagnoses.exists():
        raise ValidationError("There is no coding to explain yet.")
    return ExplanationSignOff.objects.create(
        encounter=locked,
        audience=audience,
        coding_version=locked.version,
        signed_by=by,
        note=note.strip()[:2000],
    )
