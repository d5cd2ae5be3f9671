from datetime import date, timedelta

import factory
from django.utils import timezone

from encounters.models import Document, Encounter, Patient


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    mrn = factory.Sequence(lambda n: f"MRN{n:06d}")
    first_name = factory.Sequence(lambda n: f"Pat{n}")
    last_name = "Testpatient"
    birth_date = date(1960, 5, 17)
    sex = "F"
    coverage = "Medicare"


class EncounterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Encounter

    patient = factory.SubFactory(PatientFactory)
    account_number = factory.Sequence(lambda n: f"T-{n:06d}")
    type = Encounter.Type.OUTPATIENT
    admit_date = date(2026, 5, 4)
    discharge_date = date(2026, 5, 4)
    provider = "Dr. Test"
    payer = "Medicare"
    status = Encounter.Status.READY
    due_date = factory.LazyFunction(lambda: timezone.localdate() + timedelta(days=2))


class InpatientEncounterFactory(EncounterFactory):
    type = Encounter.Type.INPATIENT
    admit_date = date(2026, 5, 1)
    discharge_date = date(2026, 5, 5)


class DocumentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Document

    encounter = factory.SubFactory(EncounterFactory)
    note_type = Document.NoteType.PROGRESS
    title = "Progress note"
    written_on = date(2026, 5, 4)
    text = "Assessment: type 2 diabetes mellitus with diabetic polyneuropathy. Plan: continue."
