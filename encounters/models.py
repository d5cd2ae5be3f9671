"""Patients, encounters and their documents. Patient data is PHI: every read is logged."""

from django.conf import settings
from django.db import models


class Patient(models.Model):
    class Sex(models.TextChoices):
        FEMALE = "F", "Female"
        MALE = "M", "Male"
        UNKNOWN = "U", "Unknown"

    mrn = models.CharField("MRN", max_length=32, unique=True)
    first_name = models.CharField(max_length=80)
    last_name = models.CharField(max_length=80)
    birth_date = models.DateField()
    sex = models.CharField(max_length=1, choices=Sex.choices)
    coverage = models.CharField(max_length=120, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["last_name", "first_name"]

    def __str__(self) -> str:
        return f"{self.last_name}, {self.first_name} ({self.mrn})"


class Encounter(models.Model):
    class Type(models.TextChoices):
        INPATIENT = "inpatient", "Inpatient"
        OUTPATIENT = "outpatient", "Outpatient"
        PROFESSIONAL = "professional", "Professional"
        EMERGENCY = "emergency", "Emergency"

    class Status(models.TextChoices):
        INTAKE = "intake", "Intake"
        READY = "ready", "Ready"
        CODING = "coding", "Coding"
        COMPLEX = "complex", "Complex"
        QUERY_PENDING = "query_pending", "Query pending"
        REVIEW = "review", "Review"
        CODED = "coded", "Coded"
        PRE_BILL_AUDIT = "pre_bill_audit", "Pre-bill audit"
        READY_TO_BILL = "ready_to_bill", "Ready to bill"
        BILLED = "billed", "Billed"
        DENIED = "denied", "Denied"
        CORRECTED = "corrected", "Corrected"
        RESUBMITTED = "resubmitted", "Resubmitted"
        CLOSED = "closed", "Closed"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="encounters")
    account_number = models.CharField(max_length=32, unique=True)
    type = models.CharField(max_length=16, choices=Type.choices)
    admit_date = models.DateField()
    discharge_date = models.DateField(null=True, blank=True)
    provider = models.CharField(max_length=120, blank=True)
    payer = models.CharField(max_length=120, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.READY)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assigned_encounters",
    )
    priority = models.PositiveSmallIntegerField(default=3)
    due_date = models.DateField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["due_date", "pk"]

    def __str__(self) -> str:
        return f"{self.account_number} ({self.get_type_display()})"

    @property
    def date_of_service(self):
        return self.discharge_date or self.admit_date


class Document(models.Model):
    class NoteType(models.TextChoices):
        HISTORY_AND_PHYSICAL = "hp", "History and physical"
        PROGRESS = "progress", "Progress note"
        DISCHARGE_SUMMARY = "discharge", "Discharge summary"
        OPERATIVE = "operative", "Operative report"
        RADIOLOGY = "radiology", "Radiology report"
        LAB = "lab", "Lab report"
        PATHOLOGY = "pathology", "Pathology report"

    encounter = models.ForeignKey(Encounter, on_delete=models.CASCADE, related_name="documents")
    note_type = models.CharField(max_length=16, choices=NoteType.choices)
    title = models.CharField(max_length=200)
    author = models.CharField(max_length=120, blank=True)
    written_on = models.DateField()
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["written_on", "pk"]

    def __str__(self) -> str:
        return self.title
