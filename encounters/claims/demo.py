"""Demo claims for `make run`: synthetic patients only."""

from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from encounters.claims.services import claim_bill, claim_deny
from encounters.models import Claim, ClaimEvent, Encounter

S = Encounter.Status

DEMO_CLAIMS = [
    {
        "mrn": "DEMO-1005",
        "patient": ("Haddad", "Omar", date(1949, 2, 11), "M", "Medicare"),
        "account": "ACC-50005",
        "type": Encounter.Type.INPATIENT,
        "days": 3,
        "note": "Discharge summary: community-acquired pneumonia, right lower lobe, with acute "
        "hypoxic respiratory failure on admission (SpO2 84% on room air), treated with IV "
        "ceftriaxone and azithromycin and 4 L oxygen by nasal cannula; weaned to room air.",
        "codes": [
            ("J18.9", "Y", "community-acquired pneumonia"),
            ("J96.01", "Y", "acute hypoxic respiratory failure"),
        ],
        "procedures": [],
        "amount": "14250.00",
        "denial": None,
    },
    {
        # Spirometry billed with hypertension only: the payer's coverage rule wants a
        # respiratory diagnosis, and the note documents dyspnea that was not coded.
        "mrn": "DEMO-1006",
        "patient": ("Lindqvist", "Greta", date(1958, 9, 30), "F", "Medicare"),
        "account": "ACC-50006",
        "type": Encounter.Type.PROFESSIONAL,
        "days": 0,
        "note": "Office visit: two months of dyspnea on exertion, worse on stairs. History of "
        "essential hypertension, controlled on amlodipine. Spirometry performed in the office: "
        "FEV1/FVC 0.79, no obstruction.",
        "codes": [("I10", "", "essential hypertension")],
        "procedures": [("94010", "Spirometry performed in the office")],
        "amount": "145.00",
        "denial": (
            "CO-50",
            "N115",
            "Spirometry is not reasonable and necessary for the diagnosis billed (see the LCD).",
        ),
    },
]


def _evidence(document, phrase: str) -> dict:
    start = document.text.index(phrase)
    return {
        "evidence_document": document,
        "evidence_start": start,
        "evidence_end": start + len(phrase),
        "evidence_quote": phrase,
    }


@transaction.atomic
def claims_demo_load(*, by: User) -> int:
    """One denied and one billed demo claim (synthetic patients), billed through the services
    so the claim page shows a real timeline. Safe to run again."""
    from codesets.selectors import code_lookup
    from encounters.models import DiagnosisAssignment, Document, Patient, ProcedureAssignment

    made = 0
    today = timezone.localdate()
    for chart in DEMO_CLAIMS:
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
        admitted = today - timedelta(days=chart["days"] + 12)
        encounter, created = Encounter.objects.get_or_create(
            account_number=chart["account"],
            defaults={
                "patient": patient,
                "type": chart["type"],
                "admit_date": admitted,
                "discharge_date": admitted + timedelta(days=chart["days"]),
                "provider": "Dr. M. Alvarez",
                "payer": coverage,
                "status": S.READY_TO_BILL,
            },
        )
        if not created:
            continue
        document = Document.objects.create(
            encounter=encounter,
            note_type=Document.NoteType.DISCHARGE_SUMMARY
            if chart["type"] == Encounter.Type.INPATIENT
            else Document.NoteType.PROGRESS,
            title="Discharge summary" if chart["days"] else "Office visit",
            author="Dr. M. Alvarez",
            written_on=encounter.discharge_date,
            text=chart["note"],
        )
        for sequence, (code, poa, phrase) in enumerate(chart["codes"], start=1):
            row = code_lookup(system="icd10cm", code=code, on=encounter.date_of_service)
            DiagnosisAssignment.objects.create(
                encounter=encounter,
                code=code,
                description=row.description if row else "",
                sequence=sequence,
                poa=poa,
                created_by=by,
                **_evidence(document, phrase),
            )
        for sequence, (code, phrase) in enumerate(chart["procedures"], start=1):
            # A CPT number: kept without a description (the AMA text is licensed).
            ProcedureAssignment.objects.create(
                encounter=encounter,
                system=ProcedureAssignment.System.CPT,
                code=code,
                sequence=sequence,
                performed_on=encounter.date_of_service,
                diagnosis_pointers=[1],
                created_by=by,
                **_evidence(document, phrase),
            )
        claim = claim_bill(encounter=encounter, by=by, billed_amount=chart["amount"])
        # Billed ten days ago, so the denial has an age on the worklist.
        billed_at = timezone.now() - timedelta(days=10)
        Claim.objects.filter(pk=claim.pk).update(billed_at=billed_at)
        claim.events.update(at=billed_at)
        if chart["denial"]:
            carc, rarc, text = chart["denial"]
            claim = claim_deny(
                claim=claim,
                by=by,
                carc_codes=carc,
                rarc_codes=rarc,
                text=text,
                denied_on=today - timedelta(days=6),
            )
            claim.events.filter(kind=ClaimEvent.Kind.DENIED).update(at=claim.denied_at)
        made += 1
    return made
