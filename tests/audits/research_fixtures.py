"""A small world of coded encounters whose report numbers are worked out by hand in the tests.

    patient  sex born        encounter  type        service     age  codes (in sequence)
    P1       F   1950-06-15  E1         inpatient   2025-03-14  74   E11.9 I10 N18.30  DRG 291
                             E2         outpatient  2025-04-02  74   E11.9 I50.32
    P2       M   1980-01-01  E3         outpatient  2025-03-20  45   I10 J44.1          payer Aetna
                             E6         outpatient  2025-04-01  (status coding: not counted)
    P3       F   1930-03-01  E4         inpatient   2025-04-08  95   I50.32 N18.30 E11.22  DRG 292
    P4       M   2015-05-05  E5         emergency   2025-04-20   9   S52.501A  (Dr. Who)
    P5 (practice chart)      E7         outpatient  2025-04-02       E11.9 (never counted)

Risk groups (the seeded defaults switched off): Diabetes E08-E13, Heart failure I50,
CKD N18, Hypertension I10-I16, COPD J44.
"""

from datetime import date

from accounts.models import Role, User
from audits.models import RiskGroup
from encounters.models import DiagnosisAssignment, Encounter, Patient
from tests.factories import EncounterFactory, PatientFactory

S = Encounter.Status


def coder() -> User:
    user, _ = User.objects.get_or_create(
        username="research_coder", defaults={"role": Role.SENIOR, "first_name": "Rae"}
    )
    return user


def diagnoses_add(encounter: Encounter, codes: list[str], **extra) -> None:
    by = coder()
    for n, code in enumerate(codes, start=1):
        DiagnosisAssignment.objects.create(
            encounter=encounter, code=code, sequence=n, created_by=by, **extra
        )


def coded(patient: Patient, codes: list[str], **fields) -> Encounter:
    fields.setdefault("status", S.CODED)
    encounter = EncounterFactory(patient=patient, **fields)
    diagnoses_add(encounter, codes)
    return encounter


def risk_groups() -> dict[str, RiskGroup]:
    RiskGroup.objects.update(is_active=False)
    specs = {
        "T Diabetes": ["E08", "E09", "E10", "E11", "E13"],
        "T Heart failure": ["I50"],
        "T CKD": ["N18"],
        "T Hypertension": ["I10", "I11", "I12", "I13", "I15", "I16"],
        "T COPD": ["J44"],
    }
    return {
        name: RiskGroup.objects.create(name=name, code_prefixes=prefixes)
        for name, prefixes in specs.items()
    }


def small_world() -> dict:
    p1 = PatientFactory(sex="F", birth_date=date(1950, 6, 15))
    p2 = PatientFactory(sex="M", birth_date=date(1980, 1, 1))
    p3 = PatientFactory(sex="F", birth_date=date(1930, 3, 1))
    p4 = PatientFactory(sex="M", birth_date=date(2015, 5, 5))
    e1 = coded(
        p1,
        ["E11.9", "I10", "N18.30"],
        type=Encounter.Type.INPATIENT,
        admit_date=date(2025, 3, 10),
        discharge_date=date(2025, 3, 14),
        drg_at_save={"drg": "291", "mdc": "05", "description": "HF WITH MCC", "weight": 1.3424},
    )
    e2 = coded(
        p1,
        ["E11.9", "I50.32"],
        admit_date=date(2025, 4, 2),
        discharge_date=date(2025, 4, 2),
        status=S.BILLED,
    )
    e3 = coded(
        p2,
        ["I10", "J44.1"],
        admit_date=date(2025, 3, 20),
        discharge_date=date(2025, 3, 20),
        payer="Aetna",
        status=S.CLOSED,
    )
    e4 = coded(
        p3,
        ["I50.32", "N18.30", "E11.22"],
        type=Encounter.Type.INPATIENT,
        admit_date=date(2025, 4, 5),
        discharge_date=date(2025, 4, 8),
        drg_at_save={"drg": "292", "mdc": "05", "description": "HF WITH CC", "weight": 0.8876},
        status=S.DENIED,
    )
    e5 = coded(
        p4,
        ["S52.501A"],
        type=Encounter.Type.EMERGENCY,
        admit_date=date(2025, 4, 20),
        discharge_date=date(2025, 4, 20),
        provider="Dr. Who",
        status=S.READY_TO_BILL,
    )
    e6 = coded(
        p2,
        ["E11.9"],
        admit_date=date(2025, 4, 1),
        discharge_date=date(2025, 4, 1),
        status=S.CODING,
    )
    p5 = Patient.with_practice.create(
        mrn="PRACTICE-1",
        first_name="Pat",
        last_name="Practice",
        birth_date=date(1950, 1, 1),
        sex="F",
        is_practice=True,
    )
    e7 = Encounter.with_practice.create(
        patient=p5,
        account_number="PRACTICE-A1",
        type=Encounter.Type.OUTPATIENT,
        admit_date=date(2025, 4, 2),
        discharge_date=date(2025, 4, 2),
        status=S.CODED,
        is_practice=True,
    )
    diagnoses_add(e7, ["E11.9"])
    return {
        "patients": [p1, p2, p3, p4],
        "encounters": [e1, e2, e3, e4, e5, e6, e7],
        "groups": risk_groups(),
    }
