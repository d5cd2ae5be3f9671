"""The encounter the edits engine checks, and the edits it returns, as plain typed data.

`encounter_from_json` turns the JSON shape of the API and CLI into an `EncounterInput`,
refusing unknown fields by name: a typo such as "modifer" would otherwise silently drop the
modifiers and hide the very edits the coder asked for.
"""

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]

ENCOUNTER_TYPES = ("inpatient", "outpatient", "professional", "emergency")
PROCEDURE_SYSTEMS = ("icd10pcs", "hcpcs", "cpt")
SEXES = {"M": "M", "MALE": "M", "F": "F", "FEMALE": "F", "U": "U", "UNKNOWN": "U", "": "U"}


class EncounterError(ValueError):
    """The encounter JSON is malformed; the message names the field."""


@dataclass(frozen=True)
class Edit:
    rule: str
    severity: Severity
    codes: tuple[str, ...]
    message: str
    reference: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "codes": list(self.codes),
            "message": self.message,
            "reference": self.reference,
        }


@dataclass(frozen=True)
class Patient:
    sex: str  # M, F or U
    birth_date: date | None = None
    age: int | None = None

    def age_on(self, on: date) -> int:
        if self.birth_date is None:
            return self.age or 0
        had_birthday = (on.month, on.day) >= (self.birth_date.month, self.birth_date.day)
        return on.year - self.birth_date.year - (0 if had_birthday else 1)


@dataclass(frozen=True)
class Diagnosis:
    code: str
    poa: str = ""


_Date = date  # the Procedure field below is called `date`, like the JSON key


@dataclass(frozen=True)
class Procedure:
    system: str
    code: str
    modifiers: tuple[str, ...] = ()
    units: int = 1
    date: _Date | None = None
    # Sequences (1-based) of the diagnoses this line treats; empty = all of them.
    diagnosis_pointers: tuple[int, ...] = ()


@dataclass(frozen=True)
class PriorService:
    """A service the patient already had (another encounter): counts toward frequency limits."""

    code: str
    date: _Date


@dataclass(frozen=True)
class EncounterInput:
    encounter_type: str
    patient: Patient
    diagnoses: tuple[Diagnosis, ...] = ()
    procedures: tuple[Procedure, ...] = ()
    admit_date: date | None = None
    discharge_date: date | None = None
    service_date: date | None = None
    discharge_status: str = ""
    payer: str = ""
    prior_services: tuple[PriorService, ...] = ()

    @property
    def is_inpatient(self) -> bool:
        return self.encounter_type == "inpatient"

    @property
    def is_outpatient_hospital(self) -> bool:
        return self.encounter_type in ("outpatient", "emergency")

    @property
    def date_of_service(self) -> date:
        """Discharge date for inpatient stays (what ICD-10 releases key on), else service date."""
        if self.is_inpatient:
            found = self.discharge_date or self.admit_date or self.service_date
        else:
            found = self.service_date or self.discharge_date or self.admit_date
        assert found is not None  # encounter_from_json refuses an encounter without a date
        return found

    def procedure_date(self, procedure: Procedure) -> date:
        return procedure.date or self.date_of_service


# -- parsing ---------------------------------------------------------------------------------

_TOP_FIELDS = {
    "encounter_type",
    "admit_date",
    "discharge_date",
    "service_date",
    "patient",
    "discharge_status",
    "diagnoses",
    "procedures",
    "payer",
    "prior_services",
}
_PATIENT_FIELDS = {"birth_date", "age", "sex"}
_DIAGNOSIS_FIELDS = {"code", "poa"}
_PROCEDURE_FIELDS = {"system", "code", "modifiers", "units", "date", "diagnosis_pointers"}
_PRIOR_SERVICE_FIELDS = {"code", "date"}


def _object(value: Any, where: str, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise EncounterError(f"{where}: expected an object, got {type(value).__name__}.")
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise EncounterError(
            f"{where}: unknown field{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(repr(u) for u in unknown)}; allowed: {', '.join(sorted(allowed))}."
        )
    return value


def _date(value: Any, where: str) -> date | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise EncounterError(f"{where}: expected a date as YYYY-MM-DD, got {value!r}.")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise EncounterError(f"{where}: {value!r} is not a date; use YYYY-MM-DD.") from None


def _text(value: Any, where: str, *, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise EncounterError(f"{where}: expected text, got {value!r}.")
    text = str(value).strip()
    if required and not text:
        raise EncounterError(f"{where}: required.")
    return text


def _int(value: Any, where: str, *, default: int, low: int, high: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise EncounterError(f"{where}: expected a whole number, got {value!r}.")
    try:
        number = int(value)
    except ValueError:
        raise EncounterError(f"{where}: expected a whole number, got {value!r}.") from None
    if not low <= number <= high:
        raise EncounterError(f"{where}: {number} is outside {low}–{high}.")
    return number


def _patient(value: Any) -> Patient:
    data = _object(value, "patient", _PATIENT_FIELDS)
    raw_sex = _text(data.get("sex"), "patient.sex").upper()
    if raw_sex not in SEXES:
        raise EncounterError(f"patient.sex: {raw_sex!r} is not one of M, F, U.")
    birth_date = _date(data.get("birth_date"), "patient.birth_date")
    age = None
    if data.get("age") is not None:
        age = _int(data["age"], "patient.age", default=0, low=0, high=124)
    if birth_date is None and age is None:
        raise EncounterError("patient: give birth_date or age (the code editors check age).")
    return Patient(sex=SEXES[raw_sex], birth_date=birth_date, age=age)


def _diagnoses(value: Any) -> tuple[Diagnosis, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise EncounterError("diagnoses: expected a list in sequence order.")
    found = []
    for index, item in enumerate(value):
        where = f"diagnoses[{index}]"
        data = _object(item, where, _DIAGNOSIS_FIELDS)
        found.append(
            Diagnosis(
                code=_text(data.get("code"), f"{where}.code", required=True).upper(),
                poa=_text(data.get("poa"), f"{where}.poa").upper(),
            )
        )
    return tuple(found)


def _procedures(value: Any) -> tuple[Procedure, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise EncounterError("procedures: expected a list.")
    found = []
    for index, item in enumerate(value):
        where = f"procedures[{index}]"
        data = _object(item, where, _PROCEDURE_FIELDS)
        system = _text(data.get("system"), f"{where}.system", required=True).lower()
        if system not in PROCEDURE_SYSTEMS:
            raise EncounterError(
                f"{where}.system: {system!r} is not one of {', '.join(PROCEDURE_SYSTEMS)}."
            )
        modifiers = data.get("modifiers") or []
        if not isinstance(modifiers, list):
            raise EncounterError(f'{where}.modifiers: expected a list such as ["59", "RT"].')
        found.append(
            Procedure(
                system=system,
                code=_text(data.get("code"), f"{where}.code", required=True).upper(),
                modifiers=tuple(
                    _text(m, f"{where}.modifiers[{i}]", required=True).upper()
                    for i, m in enumerate(modifiers)
                ),
                units=_int(data.get("units"), f"{where}.units", default=1, low=0, high=99999),
                date=_date(data.get("date"), f"{where}.date"),
                diagnosis_pointers=_pointers(data.get("diagnosis_pointers"), where),
            )
        )
    return tuple(found)


def _pointers(value: Any, where: str) -> tuple[int, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise EncounterError(f"{where}.diagnosis_pointers: expected a list such as [1, 2].")
    return tuple(
        _int(p, f"{where}.diagnosis_pointers[{i}]", default=1, low=1, high=99)
        for i, p in enumerate(value)
    )


def _prior_services(value: Any) -> tuple[PriorService, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise EncounterError('prior_services: expected a list of {"code", "date"}.')
    found = []
    for index, item in enumerate(value):
        where = f"prior_services[{index}]"
        data = _object(item, where, _PRIOR_SERVICE_FIELDS)
        when = _date(data.get("date"), f"{where}.date")
        if when is None:
            raise EncounterError(f"{where}.date: required (YYYY-MM-DD).")
        code = _text(data.get("code"), f"{where}.code", required=True).upper()
        found.append(PriorService(code=code, date=when))
    return tuple(found)


def encounter_from_json(data: Any) -> EncounterInput:
    """Parse the encounter JSON shape; raise EncounterError naming the first bad field."""
    data = _object(data, "encounter", _TOP_FIELDS)
    encounter_type = _text(data.get("encounter_type"), "encounter_type", required=True).lower()
    if encounter_type not in ENCOUNTER_TYPES:
        raise EncounterError(
            f"encounter_type: {encounter_type!r} is not one of {', '.join(ENCOUNTER_TYPES)}."
        )
    if "patient" not in data:
        raise EncounterError("patient: required (sex and birth_date or age).")
    encounter = EncounterInput(
        encounter_type=encounter_type,
        patient=_patient(data["patient"]),
        diagnoses=_diagnoses(data.get("diagnoses")),
        procedures=_procedures(data.get("procedures")),
        admit_date=_date(data.get("admit_date"), "admit_date"),
        discharge_date=_date(data.get("discharge_date"), "discharge_date"),
        service_date=_date(data.get("service_date"), "service_date"),
        discharge_status=_text(data.get("discharge_status"), "discharge_status"),
        payer=_text(data.get("payer"), "payer"),
        prior_services=_prior_services(data.get("prior_services")),
    )
    if not (encounter.service_date or encounter.discharge_date or encounter.admit_date):
        needed = "discharge_date" if encounter.is_inpatient else "service_date"
        raise EncounterError(f"{needed}: required (the date picks the code releases in force).")
    if (
        encounter.admit_date
        and encounter.discharge_date
        and encounter.discharge_date < encounter.admit_date
    ):
        raise EncounterError("discharge_date: before admit_date.")
    return encounter
