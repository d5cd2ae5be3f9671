"""Demo users and charts for `make run`. Synthetic patients only: no real person's data."""

from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import Role, User
from accounts.services import user_create
from encounters.models import Document, Encounter, Patient

DEMO_PASSWORD = "coding-bench-demo"
DEMO_USERS = [
    ("junior", Role.JUNIOR, "Jamie", "Junior"),
    ("intermediate", Role.INTERMEDIATE, "Indra", "Intermediate"),
    ("senior", Role.SENIOR, "Sasha", "Senior"),
    ("admin", Role.ADMIN, "Alex", "Admin"),
]

DEMO_CHARTS = [
    {
        "mrn": "DEMO-1001",
        "patient": ("Rivera", "Maria", date(1952, 3, 14), "F", "Medicare"),
        "account": "ACC-50001",
        "type": Encounter.Type.INPATIENT,
        "days": 4,
        "provider": "Dr. A. Chen",
        "documents": [
            (
                Document.NoteType.HISTORY_AND_PHYSICAL,
                "Admission H&P",
                "Chief complaint: shortness of breath for three days.\n"
                "History: 73-year-old woman with type 2 diabetes mellitus with diabetic "
                "polyneuropathy, on insulin, hypertension and stage 3 chronic kidney disease.\n"
                "Exam: bibasilar crackles, 2+ pitting edema of both legs.\n"
                "Assessment: acute on chronic diastolic (congestive) heart failure. "
                "No evidence of pneumonia on chest x-ray.\n"
                "Plan: IV furosemide, daily weights, continue insulin.",
            ),
            (
                Document.NoteType.DISCHARGE_SUMMARY,
                "Discharge summary",
                "Discharge diagnoses:\n1. Acute on chronic diastolic heart failure.\n"
                "2. Hypertensive heart and chronic kidney disease, CKD stage 3a.\n"
                "3. Type 2 diabetes mellitus with diabetic polyneuropathy, long-term insulin use.\n"
                "Hospital course: diuresed 4 liters, symptoms resolved. Discharged home.",
            ),
        ],
    },
    {
        "mrn": "DEMO-1002",
        "patient": ("Okafor", "James", date(1988, 7, 2), "M", "Blue Cross PPO"),
        "account": "ACC-50002",
        "type": Encounter.Type.EMERGENCY,
        "days": 0,
        "provider": "Dr. L. Patel",
        "documents": [
            (
                Document.NoteType.PROGRESS,
                "ED physician note",
                "Fell from a ladder at home onto an outstretched right hand.\n"
                "X-ray: nondisplaced fracture of the distal right radius (Colles type).\n"
                "Treatment: closed reduction not required; short arm cast applied.\n"
                "Diagnosis: closed fracture of lower end of right radius, initial encounter.",
            ),
        ],
    },
    {
        "mrn": "DEMO-1003",
        "patient": ("Nguyen", "Linh", date(1975, 11, 23), "F", "Aetna HMO"),
        "account": "ACC-50003",
        "type": Encounter.Type.OUTPATIENT,
        "days": 0,
        "provider": "Dr. R. Gomez",
        "documents": [
            (
                Document.NoteType.OPERATIVE,
                "Operative report",
                "Preoperative diagnosis: symptomatic cholelithiasis.\n"
                "Procedure: laparoscopic cholecystectomy.\n"
                "Findings: gallbladder with multiple stones, no acute cholecystitis.\n"
                "Postoperative diagnosis: calculus of gallbladder without cholecystitis.",
            ),
            (
                Document.NoteType.PATHOLOGY,
                "Pathology report",
                "Gallbladder, cholecystectomy: chronic cholecystitis with cholelithiasis.",
            ),
        ],
    },
    {
        "mrn": "DEMO-1004",
        "patient": ("Schmidt", "Peter", date(1946, 5, 9), "M", "Medicare"),
        "account": "ACC-50004",
        "type": Encounter.Type.PROFESSIONAL,
        "days": 0,
        "provider": "Dr. K. Osei",
        "documents": [
            (
                Document.NoteType.PROGRESS,
                "Office visit",
                "Follow-up of COPD and essential hypertension.\n"
                "Patient reports stable dyspnea on exertion; former smoker, quit 2010.\n"
                "Assessment: COPD, stable. Hypertension, controlled on lisinopril.",
            ),
        ],
    },
]


@transaction.atomic
def demo_load() -> tuple[list[tuple[str, str, str]], int]:
    users = []
    for username, role, first, last in DEMO_USERS:
        if not User.objects.filter(username=username).exists():
            user_create(
                username=username,
                password=DEMO_PASSWORD,
                role=role,
                first_name=first,
                last_name=last,
            )
        users.append((username, DEMO_PASSWORD, Role(role).label))
    today = timezone.localdate()
    from encounters.claims import claims_demo_load

    claims_demo_load(by=User.objects.get(username="intermediate"))  # one billed, one denied
    for offset, chart in enumerate(DEMO_CHARTS):
        last, first, born, sex, coverage = chart["patient"]
        patient, _ = Patient.objects.get_or_create(
            mrn=chart["mrn"],
            defaults={
                "last_name": last,
                "first_name": first,
                "birth_date": born,
                "sex": sex,
                "coverage": coverage,
            },
        )
        admitted = today - timedelta(days=chart["days"] + 2)
        encounter, created = Encounter.objects.get_or_create(
            account_number=chart["account"],
            defaults={
                "patient": patient,
                "type": chart["type"],
                "admit_date": admitted,
                "discharge_date": admitted + timedelta(days=chart["days"]),
                "provider": chart["provider"],
                "payer": coverage,
                "status": Encounter.Status.READY,
                "due_date": today + timedelta(days=offset + 1),
            },
        )
        if created:
            for note_type, title, text in chart["documents"]:
                Document.objects.create(
                    encounter=encounter,
                    note_type=note_type,
                    title=title,
                    author=chart["provider"],
                    written_on=encounter.discharge_date,
                    text=text,
                )
    from codesets.coverage import coverage_demo_rules_load

    coverage_demo_rules_load()  # the demo payer's coverage rules (Medicare: G0439, 94010)
    return users, Encounter.objects.filter(account_number__startswith="ACC-5").count()
