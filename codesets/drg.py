"""MS-DRG grouping of inpatient stays with msdrg (never re-implemented here).

    from codesets.drg import group, what_if, Changes
    result = group(encounter_from_json(data))          # DrgResult
    change = what_if(encounter, Changes(drop=("J96.01",)))  # before, after, DRG/weight change

The grouper version is the one in force on the discharge date: CMS fiscal years run 1 October
to 30 September, the base version (V40.0, V41.0, ...) until 31 March and the April update
(V40.1, ...) from 1 April. msdrg bundles FY2023–FY2027 (FY2027: V44.0 only).

The relative weight and mean lengths of stay come from the CMS Table 5 release ("drg-weights")
in force on the discharge date, and only when that release is for the discharge's fiscal year:
a FY2026 weight is never shown for a FY2027 stay.

One grouper is created per process and shared under a lock (one grouping takes ~0.1 ms).
Table 5 rows are read once per release (a release never changes after import).
"""

import threading
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any

from codesets.edits.codebook import plain as _plain_code
from codesets.edits.encounter import Diagnosis, EncounterInput, Procedure
from codesets.edits.engines import MCE_POA, MCE_SEX
from codesets.edits.releases import ActiveReleases

_lock = threading.Lock()
plain = lru_cache(maxsize=16384)(_plain_code)  # codes repeat: normalise each once
_grouper = None
_weights: dict[int, dict[str, "Weight"]] = {}

# The first grouper version of each fiscal year; the April update is this + 1 when bundled.
FY_VERSIONS = {2023: 400, 2024: 410, 2025: 420, 2026: 430, 2027: 440}
BUNDLED_VERSIONS = {400, 401, 410, 411, 420, 421, 430, 431, 440}

SEVERITY_WORDS = {"MCC": "MCC", "CC": "CC", "NONE": "none"}

RETURN_CODES = {
    "OK": "Grouped.",
    "INVALID_PDX": "The principal diagnosis is not a valid ICD-10-CM code for this grouper "
    "version.",
    "PDX_CANNOT_BE_USED_AS_PDX": "The principal diagnosis cannot be used as a principal diagnosis.",
    "INVALID_SEX": "The sex is needed to group this stay.",
    "INVALID_AGE": "The age is not valid.",
    "INVALID_DISCHARGE_STATUS": "The discharge status is not a valid patient status code.",
    "HAC_STATUS_INVALID_POA_N_OR_U": "A hospital-acquired condition has POA N or U "
    "on a stay that cannot be regrouped.",
    "HAC_STATUS_INVALID_MULT_HACS_POA_NOT_Y_W": "Several hospital-acquired conditions are not "
    "present on admission.",
    "HAC_MISSING_ONE_POA": "A hospital-acquired condition code has no POA indicator.",
}


class DrgError(ValueError):
    """The stay cannot be grouped (not inpatient, no principal diagnosis, no grouper)."""


def grouper():
    global _grouper
    if _grouper is None:
        with _lock:
            if _grouper is None:
                import atexit

                import msdrg

                _grouper = msdrg.MsdrgGrouper()
                atexit.register(_grouper.close)  # else msdrg warns at interpreter shutdown
    return _grouper


def fiscal_year(day: date) -> int:
    return day.year + 1 if day.month >= 10 else day.year


def grouper_version(day: date) -> int:
    """The msdrg version in force on a discharge date (e.g. 431 for 2026-05-05)."""
    year = fiscal_year(day)
    if year not in FY_VERSIONS:
        raise DrgError(
            f"No MS-DRG grouper for a discharge on {day.isoformat()} (FY{year}); "
            f"msdrg bundles FY{min(FY_VERSIONS)}–FY{max(FY_VERSIONS)}."
        )
    version = FY_VERSIONS[year]
    if 4 <= day.month <= 9 and version + 1 in BUNDLED_VERSIONS:
        version += 1
    return version


# -- weights -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Weight:
    weight: Decimal
    geometric_mean_los: Decimal | None
    arithmetic_mean_los: Decimal | None
    drg_type: str
    release: str


def _weights_of(release_id: int, label: str) -> dict[str, Weight]:
    found = _weights.get(release_id)
    if found is None:
        from codesets.models import DrgWeight

        rows = DrgWeight.objects.filter(release_id=release_id).values_list(
            "drg", "weight", "geometric_mean_los", "arithmetic_mean_los", "drg_type"
        )
        found = {drg: Weight(w, g, a, t, label) for drg, w, g, a, t in rows}
        _weights[release_id] = found
    return found


def weight_for(
    drg: str, on: date, releases: ActiveReleases | None = None
) -> tuple[Weight | None, str]:
    """Table 5 row of a DRG for a discharge date, or None and the reason in plain words."""
    release = (releases or ActiveReleases()).in_force("drg-weights", on)
    year = fiscal_year(on)
    if release is None or fiscal_year(release.effective_from) != year:
        return None, f"No MS-DRG weights for FY{year}: import its CMS Table 5 release."
    row = _weights_of(release.id, release.label).get(drg)
    if row is None:
        return None, f"MS-DRG {drg} has no weight in {release.label}."
    return row, ""


# -- the result --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CcMcc:
    """A secondary diagnosis that is a CC or MCC, and what the grouper did with it."""

    code: str  # as written by the coder
    severity: str  # "MCC" or "CC"
    status: str  # "counted", "also qualifies", "excluded", "hospital-acquired"
    poa: str
    note: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "status": self.status,
            "poa": self.poa,
            "note": self.note,
        }


@dataclass(frozen=True)
class DrgResult:
    drg: str
    mdc: str
    description: str
    severity: str  # "MCC", "CC" or "none"
    weight: Decimal | None
    return_code: str
    cc_mcc: tuple[CcMcc, ...]
    mdc_description: str = ""
    drg_type: str = ""
    geometric_mean_los: Decimal | None = None
    arithmetic_mean_los: Decimal | None = None
    weights_note: str = ""
    weights_release: str = ""
    grouper_version: int = 0
    discharge_date: date | None = None
    initial_drg: str = ""
    hac: tuple[dict[str, Any], ...] = ()
    hac_status: str = ""
    procedures: tuple[dict[str, Any], ...] = field(default=())

    @property
    def grouper_label(self) -> str:
        return f"MS-DRG v{self.grouper_version // 10}.{self.grouper_version % 10}"

    @property
    def return_message(self) -> str:
        return RETURN_CODES.get(self.return_code, self.return_code.replace("_", " ").lower())

    def as_dict(self) -> dict[str, Any]:
        def number(value: Decimal | None) -> float | None:
            return float(value) if value is not None else None

        return {
            "drg": self.drg,
            "mdc": self.mdc,
            "description": self.description,
            "severity": self.severity,
            "weight": number(self.weight),
            "return_code": self.return_code,
            "cc_mcc": [item.as_dict() for item in self.cc_mcc],
            "mdc_description": self.mdc_description,
            "drg_type": self.drg_type,
            "geometric_mean_los": number(self.geometric_mean_los),
            "arithmetic_mean_los": number(self.arithmetic_mean_los),
            "weights_note": self.weights_note,
            "weights_release": self.weights_release,
            "grouper_version": self.grouper_label,
            "discharge_date": self.discharge_date.isoformat() if self.discharge_date else None,
            "initial_drg": self.initial_drg,
            "hac": list(self.hac),
            "hac_status": self.hac_status,
            "procedures": list(self.procedures),
        }


# -- grouping ----------------------------------------------------------------------------------


def grouper_claim(encounter: EncounterInput) -> dict[str, Any]:
    """The msdrg claim for an inpatient stay (raises DrgError when it cannot be grouped)."""
    if not encounter.is_inpatient:
        raise DrgError(
            f"MS-DRG grouping is for inpatient stays; this encounter is {encounter.encounter_type}."
        )
    if not encounter.diagnoses:
        raise DrgError("diagnoses: a principal diagnosis is needed to group the stay.")
    discharged = encounter.date_of_service
    try:
        status = int(encounter.discharge_status or "1")
    except ValueError:
        raise DrgError(
            f"discharge_status: {encounter.discharge_status!r} is not a patient status code "
            "(e.g. 01 home, 20 expired)."
        ) from None
    dx = [
        {"code": plain(d.code), **({"poa": d.poa} if d.poa in MCE_POA else {})}
        for d in encounter.diagnoses
    ]
    return {
        "version": grouper_version(discharged),
        "age": encounter.patient.age_on(encounter.admit_date or discharged),
        "sex": MCE_SEX[encounter.patient.sex],
        "discharge_status": status,
        "hospital_status": "NOT_EXEMPT",  # an IPPS hospital: POA and HAC rules apply
        "pdx": dx[0],
        "sdx": dx[1:],
        "procedures": [
            {"code": plain(p.code)} for p in encounter.procedures if p.system == "icd10pcs"
        ],
    }


def _cc_mcc(written: dict[str, Diagnosis], outputs: list[dict]) -> tuple[CcMcc, ...]:
    found = []
    for out in outputs:
        severity = out.get("severity", "NONE")
        if severity not in ("CC", "MCC"):
            continue
        flags = set(out.get("flags", []))
        hacs = [h for h in out.get("hacs", []) if h.get("hac_status") == "HAC_CRITERIA_MET"]
        if flags & {"EXCLUDED", "CC_EXCLUDED", "CC_EXCLUDED_BY_DRG_LOGIC"}:
            status = "excluded"
            note = "Excluded as a CC/MCC with this principal diagnosis (CC exclusion list)."
        elif hacs:
            status = "hospital-acquired"
            note = (
                f"{hacs[0].get('description') or hacs[0].get('hac_list')}: not present on "
                "admission, so it does not count as a CC/MCC for the final DRG."
            )
        elif "MARKED_FOR_FINAL" in flags:
            status = "counted"
            note = f"Counts as the {severity} for this DRG."
        else:
            status = "also qualifies"
            note = f"Is an {severity}; another secondary diagnosis already sets the severity."
        diagnosis = written.get(out.get("code", ""))
        found.append(
            CcMcc(
                code=diagnosis.code if diagnosis else out.get("code", ""),
                severity=severity,
                status=status,
                poa=diagnosis.poa if diagnosis else "",
                note=note,
            )
        )
    order = {"counted": 0, "hospital-acquired": 1, "also qualifies": 2, "excluded": 3}
    return tuple(sorted(found, key=lambda c: (order[c.status], c.severity != "MCC")))


def _hacs(written: dict[str, Diagnosis], outputs: list[dict]) -> tuple[dict[str, Any], ...]:
    found = []
    for out in outputs:
        for hac in out.get("hacs", []):
            if hac.get("hac_status") == "HAC_CRITERIA_MET":
                found.append(
                    {
                        "code": written[out["code"]].code
                        if out.get("code") in written
                        else out.get("code", ""),
                        "hac": hac.get("hac_list", ""),
                        "description": hac.get("description", ""),
                    }
                )
    return tuple(found)


HAC_STATUS_WORDS = {
    "NOT_APPLICABLE": "",
    "FINAL_DRG_NO_CHANGE": "A hospital-acquired condition was found; the DRG does not change.",
    "FINAL_DRG_CHANGES": "A hospital-acquired condition (not present on admission) lowers the DRG.",
    "FINAL_DRG_UNGROUPABLE": "A hospital-acquired condition makes the stay ungroupable.",
}


def _drg_number(value: Any) -> str:
    return f"{int(value):03d}" if value is not None else ""


def result_from_output(encounter: EncounterInput, claim: dict, out: dict) -> DrgResult:
    """Turn msdrg's output into a DrgResult with the Table 5 figures in force."""
    discharged = encounter.date_of_service
    drg = _drg_number(out.get("final_drg"))
    weight, note = weight_for(drg, discharged) if drg else (None, "")
    flags = out.get("grouper_flags") or {}
    outputs = list(out.get("sdx_output") or [])
    initial = _drg_number(out.get("initial_drg"))
    hac_status = HAC_STATUS_WORDS.get(flags.get("hac_status_value", ""), "")
    if initial and initial != drg and not hac_status:
        hac_status = f"The initial DRG {initial} became {drg} after the POA/HAC review."
    written_px = {plain(p.code): p.code for p in encounter.procedures}
    written = {plain(d.code): d for d in encounter.diagnoses}
    mdc = out.get("final_mdc")
    return DrgResult(
        drg=drg,
        mdc=f"{int(mdc):02d}" if mdc is not None else "",
        description=out.get("final_drg_description") or "",
        severity=SEVERITY_WORDS.get(out.get("final_severity", "NONE"), "none"),
        weight=weight.weight if weight else None,
        return_code=out.get("return_code", ""),
        cc_mcc=_cc_mcc(written, outputs),
        mdc_description=out.get("final_mdc_description") or "",
        drg_type=weight.drg_type if weight else "",
        geometric_mean_los=weight.geometric_mean_los if weight else None,
        arithmetic_mean_los=weight.arithmetic_mean_los if weight else None,
        weights_note=note,
        weights_release=weight.release if weight else "",
        grouper_version=claim["version"],
        discharge_date=discharged,
        initial_drg=initial,
        hac=_hacs(written, [*([out["pdx_output"]] if out.get("pdx_output") else []), *outputs]),
        hac_status=hac_status,
        procedures=tuple(
            {
                "code": written_px.get(p.get("code", ""), p.get("code", "")),
                "operating_room": bool(p.get("is_or")),
                "affects_drg": p.get("drg_impact", "NONE") != "NONE",
            }
            for p in out.get("proc_output") or []
        ),
    )


def group(encounter: EncounterInput) -> DrgResult:
    """Group an inpatient stay with the msdrg version in force on its discharge date."""
    claim = grouper_claim(encounter)
    engine = grouper()
    try:
        with _lock:
            out = engine.group(claim)
    except (RuntimeError, ValueError) as exc:
        raise DrgError(f"The MS-DRG grouper could not group this stay: {exc}") from exc
    return result_from_output(encounter, claim, out)


# -- what-if -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Changes:
    """A what-if on the coded stay; nothing is saved.

    drop: secondary diagnoses toggled off; add_diagnoses: secondary diagnoses toggled on
    (POA Y); principal: the code to make principal (a secondary one swaps places with the
    current principal, any other code replaces it); add_procedures: ICD-10-PCS codes added.
    """

    drop: tuple[str, ...] = ()
    add_diagnoses: tuple[str, ...] = ()
    principal: str = ""
    add_procedures: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.drop or self.add_diagnoses or self.principal or self.add_procedures)


@dataclass(frozen=True)
class WhatIf:
    before: DrgResult
    after: DrgResult
    encounter: EncounterInput  # the changed stay that was grouped

    @property
    def drg_changed(self) -> bool:
        return self.before.drg != self.after.drg

    @property
    def weight_difference(self) -> Decimal | None:
        if self.before.weight is None or self.after.weight is None:
            return None
        return self.after.weight - self.before.weight

    def as_dict(self) -> dict[str, Any]:
        difference = self.weight_difference
        return {
            "before": self.before.as_dict(),
            "after": self.after.as_dict(),
            "drg_changed": self.drg_changed,
            "weight_difference": float(difference) if difference is not None else None,
        }


def apply_changes(encounter: EncounterInput, changes: Changes) -> EncounterInput:
    diagnoses = list(encounter.diagnoses)
    if changes.principal:
        wanted = plain(changes.principal)
        at = next((i for i, d in enumerate(diagnoses) if plain(d.code) == wanted), None)
        if at is None:
            new = Diagnosis(code=changes.principal.strip().upper(), poa="Y")
            diagnoses = [new, *diagnoses[1:]] if diagnoses else [new]
        elif at:
            diagnoses[0], diagnoses[at] = diagnoses[at], diagnoses[0]
    dropped = {plain(code) for code in changes.drop}
    principal, secondary = diagnoses[:1], diagnoses[1:]
    secondary = [d for d in secondary if plain(d.code) not in dropped]
    present = {plain(d.code) for d in diagnoses}
    for code in changes.add_diagnoses:
        if plain(code) not in present:
            secondary.append(Diagnosis(code=code.strip().upper(), poa="Y"))
            present.add(plain(code))
    procedures = list(encounter.procedures)
    for code in changes.add_procedures:
        procedures.append(Procedure(system="icd10pcs", code=code.strip().upper()))
    return replace(encounter, diagnoses=tuple(principal + secondary), procedures=tuple(procedures))


def what_if(encounter: EncounterInput, changes: Changes) -> WhatIf:
    """Group the stay as coded and as changed; the difference in DRG and weight."""
    changed = apply_changes(encounter, changes)
    return WhatIf(before=group(encounter), after=group(changed), encounter=changed)


def forget_weights() -> None:
    """Tests import Table 5 releases inside rolled-back transactions: drop the kept rows."""
    _weights.clear()
