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
            ("J18.9", "", "community-acquired pneumonia"),
            ("J96.01", "Y", "acute hypoxic respiratory failure"),
        ],
        "amount": "14250.00",
        "denial": (
            "CO-50 CO-16",
            "N115 MA130",
            "Inpatient level of care not supported; POA "
            "indicator missing on the principal diagnosis.",
        ),
    },
    {
        "mrn": "DEMO-1006",
        "patient": ("Lindqvist", "Greta", date(1958, 9, 30), "F", "Blue Cross PPO"),
        "account": "ACC-50006",
        "type": Encounter.Type.PROFESSIONAL,
        "days": 0,
        "note": "Office visit: COPD, stable on tiotropium; essential hypertension, controlled.",
        "codes": [("J44.9", "", "COPD, stable"), ("I10", "", "essential hypertension")],
        "amount": "145.00",
        "denial": None,
    },
]


@transaction.atomic
def claims_demo_load(*, by: User) -> int:
    """One denied and one billed demo claim (synthetic patients), billed through the services
    so the claim page shows a real timeline. Safe to run again."""
    from codesets.selectors import code_lookup
    from encounters.models import DiagnosisAssignment, Document, Patient

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
            start = chart["note"].index(phrase)
            row = code_lookup(system="icd10cm", code=code, on=encounter.date_of_service)
            DiagnosisAssignment.objects.create(
                encounter=encounter,
                code=code,
                description=row.description if row else "",
                sequence=sequence,
                poa=poa,
                created_by=by,
                evidence_document=document,
                evidence_start=start,
                evidence_end=start + len(phrase),
                evidence_quote=phrase,
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
