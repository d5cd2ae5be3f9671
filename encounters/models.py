"""Patients, encounters and their documents. Patient data is PHI: every read is logged."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from encrypted_fields.fields import EncryptedCharField, EncryptedTextField


class RealRecordsManager(models.Manager):
    """The default manager of patients and encounters: practice charts (mock scenarios for
    training) never appear in queues, reports, metrics or billing. Code that works on
    practice charts asks for them through `with_practice`."""

    def get_queryset(self) -> models.QuerySet:
        return super().get_queryset().filter(is_practice=False)


class Patient(models.Model):
    class Sex(models.TextChoices):
        FEMALE = "F", "Female"
        MALE = "M", "Male"
        UNKNOWN = "U", "Unknown"

    mrn = models.CharField("MRN", max_length=64, unique=True)
    first_name = models.CharField(max_length=80)
    last_name = models.CharField(max_length=80)
    birth_date = models.DateField()
    sex = models.CharField(max_length=1, choices=Sex.choices)
    coverage = models.CharField(max_length=120, blank=True)
    # Identifiers coding does not need: encrypted at rest (keys: PHI_ENCRYPTION_KEYS).
    member_id = EncryptedCharField("member / subscriber id", max_length=64, blank=True, null=True)
    ssn = EncryptedCharField("SSN", max_length=11, blank=True, null=True)
    phone = EncryptedCharField(max_length=40, blank=True, null=True)
    address = EncryptedTextField(blank=True, null=True)
    is_practice = models.BooleanField(
        default=False, db_index=True, help_text="A fictional patient of a practice chart."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    with_practice = models.Manager()
    objects = RealRecordsManager()

    class Meta:
        default_manager_name = "objects"
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

    class Source(models.TextChoices):
        MANUAL = "manual", "Entered by hand"
        FHIR = "fhir", "FHIR import"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="encounters")
    account_number = models.CharField(max_length=64, unique=True)
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
    # UB-04 patient discharge status (01 home, 02 short-term hospital, 20 expired, ...).
    discharge_status = models.CharField(max_length=2, blank=True, default="01")
    escalation_reason = models.TextField(blank=True)
    # Why the complex-case rules flagged this encounter: [{"rule", "reason"}].
    complexity_flags = models.JSONField(default=list, blank=True)
    # The MS-DRG result at the last save, so the workspace can show what changed since.
    drg_at_save = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.MANUAL)
    source_id = models.CharField(max_length=100, blank=True, help_text="FHIR Encounter id.")
    # Bumped on every change to the coding; a save with an older version is refused.
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    # Turnaround, kept as the steps happen (transition_record): first "ready", first "coded".
    first_ready_at = models.DateTimeField(null=True, blank=True)
    first_coded_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # Hours from first_ready_at to first_coded_at, kept with them, so the dashboard's
    # percentiles read one narrow index (encounter_turnaround_idx) instead of the table.
    turnaround_hours = models.FloatField(null=True, blank=True)
    # Practice charts (issue 9) are coded in the same workspace but never billed or counted.
    is_practice = models.BooleanField(default=False, db_index=True)

    with_practice = models.Manager()
    objects = RealRecordsManager()

    class Meta:
        default_manager_name = "objects"
        ordering = ["due_date", "pk"]
        indexes = [
            models.Index(fields=["status", "assignee", "due_date"], name="encounter_queue_idx"),
            # Turnaround and volume per coder over a date range (audits.metrics.throughput):
            # one range per coder, read from the index alone (PostgreSQL covers the rest).
            models.Index(
                fields=["assignee", "first_coded_at"],
                include=["turnaround_hours", "type"],
                condition=models.Q(is_practice=False),
                name="encounter_turnaround_idx",
            ),
        ]

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

    class Source(models.TextChoices):
        MANUAL = "manual", "Typed in"
        UPLOAD = "upload", "Uploaded file"
        FHIR = "fhir", "FHIR import"

    encounter = models.ForeignKey(Encounter, on_delete=models.CASCADE, related_name="documents")
    note_type = models.CharField(max_length=16, choices=NoteType.choices)
    title = models.CharField(max_length=200)
    author = models.CharField(max_length=120, blank=True)
    written_on = models.DateField()
    text = models.TextField()
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.MANUAL)
    source_id = models.CharField(max_length=100, blank=True, help_text="FHIR DocumentReference id.")
    # The uploaded original, kept outside the web root and served only through a checked view.
    original_file = models.FileField(upload_to="originals/%Y/%m/", blank=True)
    original_name = models.CharField(max_length=200, blank=True)
    original_content_type = models.CharField(max_length=100, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["written_on", "pk"]

    def __str__(self) -> str:
        return self.title


class SourceCode(models.Model):
    """A code the source system sent (FHIR Condition/Procedure): for reference, never assigned."""

    class Kind(models.TextChoices):
        CONDITION = "condition", "Condition"
        PROCEDURE = "procedure", "Procedure"
        REASON = "reason", "Reason for visit"

    encounter = models.ForeignKey(Encounter, on_delete=models.CASCADE, related_name="source_codes")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    system = models.CharField(max_length=200, help_text="Code system URI, e.g. SNOMED CT.")
    code = models.CharField(max_length=64)
    display = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["encounter", "kind", "pk"]

    def __str__(self) -> str:
        return f"{self.code} {self.display}"

    @property
    def system_name(self) -> str:
        return SOURCE_SYSTEM_NAMES.get(self.system, self.system)


SOURCE_SYSTEM_NAMES = {
    "http://snomed.info/sct": "SNOMED CT",
    "http://loinc.org": "LOINC",
    "http://hl7.org/fhir/sid/icd-10-cm": "ICD-10-CM",
    "http://www.ama-assn.org/go/cpt": "CPT",
    "http://www.nlm.nih.gov/research/umls/rxnorm": "RxNorm",
}


class Transition(models.Model):
    """One workflow step of an encounter. Append-only: turnaround is measured from these."""

    encounter = models.ForeignKey(Encounter, on_delete=models.CASCADE, related_name="transitions")
    from_status = models.CharField(max_length=16, choices=Encounter.Status.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=Encounter.Status.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    note = models.TextField(blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["encounter", "at", "pk"]
        indexes = [
            # Turnaround: the first "ready" and "coded" step of each encounter, read by index.
            models.Index(fields=["to_status", "encounter", "at"], name="transition_step_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.encounter_id}: {self.from_status or '—'} → {self.to_status}"


class Evidence(models.Model):
    """Where in a document a code is supported: abstract base for both assignment kinds."""

    evidence_document = models.ForeignKey(
        Document, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    evidence_start = models.PositiveIntegerField(null=True, blank=True)
    evidence_end = models.PositiveIntegerField(null=True, blank=True)
    evidence_quote = models.TextField(blank=True)

    class Meta:
        abstract = True


class DiagnosisAssignment(Evidence):
    class Poa(models.TextChoices):
        YES = "Y", "Y — present at admission"
        NO = "N", "N — not present at admission"
        UNKNOWN = "U", "U — documentation insufficient"
        CLINICALLY_UNDETERMINED = "W", "W — clinically undetermined"
        EXEMPT = "1", "1 — exempt from POA reporting"

    encounter = models.ForeignKey(Encounter, on_delete=models.CASCADE, related_name="diagnoses")
    code = models.CharField(max_length=10, help_text="As coders write it, with the dot.")
    description = models.CharField(max_length=300, blank=True)
    sequence = models.PositiveSmallIntegerField(help_text="1 = principal / first-listed.")
    poa = models.CharField("POA", max_length=1, choices=Poa.choices, blank=True)
    rationale = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["encounter", "sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["encounter", "sequence"], name="diagnosis_unique_sequence"
            )
        ]

    def __str__(self) -> str:
        return f"{self.sequence}. {self.code}"


class ProcedureAssignment(Evidence):
    class System(models.TextChoices):
        ICD10PCS = "icd10pcs", "ICD-10-PCS"
        HCPCS = "hcpcs", "HCPCS"
        CPT = "cpt", "CPT"

    encounter = models.ForeignKey(Encounter, on_delete=models.CASCADE, related_name="procedures")
    system = models.CharField(max_length=8, choices=System.choices)
    code = models.CharField(max_length=10)
    description = models.CharField(max_length=300, blank=True)
    sequence = models.PositiveSmallIntegerField()
    modifiers = models.JSONField(default=list, blank=True, help_text="Up to four modifiers.")
    units = models.PositiveIntegerField(default=1)
    performed_on = models.DateField(null=True, blank=True)
    diagnosis_pointers = models.JSONField(
        default=list, blank=True, help_text="Sequences of the diagnoses this line treats."
    )
    ndc = models.CharField("NDC", max_length=13, blank=True)
    ndc_quantity = models.CharField("NDC quantity", max_length=20, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["encounter", "sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["encounter", "sequence"], name="procedure_unique_sequence"
            )
        ]

    def __str__(self) -> str:
        return f"{self.sequence}. {self.code}"


class Review(models.Model):
    """One second-level review of a coder's submitted encounter: accepted or returned."""

    class Outcome(models.TextChoices):
        ACCEPTED = "accepted", "Accepted"
        RETURNED = "returned", "Returned to coder"

    encounter = models.ForeignKey(Encounter, on_delete=models.CASCADE, related_name="reviews")
    coder = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    round = models.PositiveSmallIntegerField(help_text="1 for the first submission, then 2, ...")
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    summary = models.TextField(blank=True)
    coder_read_at = models.DateTimeField(null=True, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at"]
        constraints = [
            models.UniqueConstraint(fields=["encounter", "round"], name="review_unique_round")
        ]

    def __str__(self) -> str:
        return f"{self.encounter_id} round {self.round}: {self.outcome}"


class ReviewComment(models.Model):
    """A reviewer's note on one code: what changed and why (feeds the coder's statistics)."""

    class Change(models.TextChoices):
        ADDED = "added", "Code to add"
        REMOVED = "removed", "Code to remove"
        CHANGED = "changed", "Code to change"
        RESEQUENCED = "resequenced", "Resequence"
        POA = "poa", "POA indicator"
        MODIFIER = "modifier", "Modifier or units"
        OTHER = "other", "Other"

    class Category(models.TextChoices):
        SPECIFICITY = "specificity", "Specificity"
        SEQUENCING = "sequencing", "Sequencing"
        MISSING_CODE = "missing_code", "Missing code"
        UNSUPPORTED = "unsupported", "Unsupported by documentation"
        MODIFIER_ERROR = "modifier_error", "Modifier error"
        POA_ERROR = "poa_error", "POA error"
        GUIDELINE = "guideline", "Guideline"

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="comments")
    change = models.CharField(max_length=12, choices=Change.choices)
    category = models.CharField(max_length=16, choices=Category.choices)
    code = models.CharField(max_length=10, blank=True, help_text="The code as the coder had it.")
    corrected_code = models.CharField(max_length=10, blank=True)
    reason = models.TextField()

    class Meta:
        ordering = ["review", "pk"]

    def __str__(self) -> str:
        return f"{self.get_change_display()} {self.code}"


class PhysicianQuery(models.Model):
    """A compliant clinical documentation query to the provider (AHIMA/ACDIS practice:
    open-ended or multiple choice with 'clinically undetermined' and 'other', quoting the
    clinical indicators, never leading)."""

    class Kind(models.TextChoices):
        OPEN = "open", "Open-ended"
        MULTIPLE_CHOICE = "multiple_choice", "Multiple choice"

    class Status(models.TextChoices):
        SENT = "sent", "Sent"
        ANSWERED = "answered", "Answered"
        WITHDRAWN = "withdrawn", "Withdrawn"

    encounter = models.ForeignKey(Encounter, on_delete=models.CASCADE, related_name="queries")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    provider = models.CharField(max_length=120)
    question = models.TextField()
    # [{"document_id", "start", "end", "quote"}]: the documentation the question rests on.
    clinical_indicators = models.JSONField(default=list)
    options = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SENT)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    sent_at = models.DateTimeField(auto_now_add=True)
    answer = models.TextField(blank=True)
    answered_by = models.CharField(max_length=120, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    withdrawn_reason = models.TextField(blank=True)
    # The MS-DRG of the coding as it stood when the query went out (inpatient, when it could be
    # grouped): the "before" of the provider report's DRG change after a query.
    drg_at_send = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["sent_at"]
        verbose_name_plural = "physician queries"

    def __str__(self) -> str:
        return f"Query {self.pk} on {self.encounter_id} ({self.status})"


class ComplexCaseRules(models.Model):
    """The automatic complex-case rules, tuned by a senior coder or an admin. One row."""

    flag_mcc = models.BooleanField("Inpatient with an MCC", default=True)
    flag_surgical_drg = models.BooleanField("Surgical MS-DRG", default=True)
    max_diagnoses = models.PositiveSmallIntegerField(
        default=15, help_text="Flag when an encounter has more diagnoses than this."
    )
    max_procedures = models.PositiveSmallIntegerField(
        default=4, help_text="Flag when an encounter has more procedures than this."
    )
    min_relative_weight = models.DecimalField(
        max_digits=7,
        decimal_places=4,
        default=Decimal("3.0000"),
        help_text="Flag when the MS-DRG relative weight is at least this.",
    )
    payers = models.JSONField(default=list, blank=True, help_text="Payers whose cases are flagged.")
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "complex-case rules"

    @classmethod
    def current(cls) -> "ComplexCaseRules":
        rules, _ = cls.objects.get_or_create(pk=1)
        return rules


class CodingVersion(models.Model):
    """The coding of an encounter as billed (and as corrected): never changed afterwards."""

    encounter = models.ForeignKey(
        Encounter, on_delete=models.CASCADE, related_name="coding_versions"
    )
    number = models.PositiveSmallIntegerField(help_text="1 = as first billed.")
    # encounter_as_json() plus descriptions: {"diagnoses": [...], "procedures": [...], ...}
    coding = models.JSONField()
    drg = models.JSONField(default=dict, blank=True)
    reason = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["encounter", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["encounter", "number"], name="coding_version_unique_number"
            )
        ]


class Claim(models.Model):
    """The claim for a billed encounter, and what the payer did with it."""

    class Status(models.TextChoices):
        BILLED = "billed", "Billed"
        DENIED = "denied", "Denied"
        CORRECTED = "corrected", "Corrected"
        RESUBMITTED = "resubmitted", "Resubmitted"
        PAID = "paid", "Paid"
        CLOSED = "closed", "Closed"

    encounter = models.OneToOneField(Encounter, on_delete=models.CASCADE, related_name="claim")
    claim_number = models.CharField(max_length=64, unique=True)
    payer = models.CharField(max_length=120)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.BILLED)
    billed_amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    paid_amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    billed_at = models.DateTimeField()
    # Claim adjustment reason codes and remittance advice remark codes from the remittance.
    carc_codes = models.JSONField("CARC", default=list, blank=True)
    rarc_codes = models.JSONField("RARC", default=list, blank=True)
    denial_text = models.TextField(blank=True)
    denied_at = models.DateTimeField(null=True, blank=True)
    appeal_letter = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-billed_at"]

    def __str__(self) -> str:
        return f"Claim {self.claim_number} ({self.status})"


class ClaimEvent(models.Model):
    """Each step of a claim's life: billed, denied, corrected, appeal drafted, resubmitted, paid."""

    class Kind(models.TextChoices):
        BILLED = "billed", "Billed"
        DENIED = "denied", "Denied"
        CORRECTED = "corrected", "Coding corrected"
        APPEAL_DRAFTED = "appeal_drafted", "Appeal drafted"
        RESUBMITTED = "resubmitted", "Resubmitted"
        PAID = "paid", "Paid"
        CLOSED = "closed", "Closed"

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    from_status = models.CharField(max_length=12, choices=Claim.Status.choices, blank=True)
    to_status = models.CharField(max_length=12, choices=Claim.Status.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    note = models.TextField(blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "pk"]


class RecodeFlag(models.Model):
    """An open encounter that a newly activated release affects: a coder must look again."""

    encounter = models.ForeignKey(Encounter, on_delete=models.CASCADE, related_name="recode_flags")
    release = models.ForeignKey(
        "codesets.Release", on_delete=models.PROTECT, related_name="recode_flags"
    )
    codes = models.JSONField(default=list, help_text="The encounter's codes the release changed.")
    reason = models.TextField()
    edits = models.JSONField(default=list, blank=True, help_text="Edits after the re-check.")
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["encounter", "release"], name="recode_flag_once_per_release"
            )
        ]


class ReleaseRecheck(models.Model):
    """Progress of re-checking open encounters after a release was activated."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    release = models.OneToOneField(
        "codesets.Release", on_delete=models.CASCADE, related_name="recheck"
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    flagged = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)


class AssistSuggestion(models.Model):
    """A code the coding assistant proposes from one document (issue 8): never an assignment.

    Cached per document version: `text_hash` is the SHA-256 of the text it was computed from,
    so a changed text (or a new pipeline) is recomputed rather than trusted."""

    encounter = models.ForeignKey(
        Encounter, on_delete=models.CASCADE, related_name="assist_suggestions"
    )
    document = models.ForeignKey(
        Document, on_delete=models.CASCADE, related_name="assist_suggestions"
    )
    text_hash = models.CharField(max_length=64)
    system = models.CharField(max_length=12)
    code = models.CharField(max_length=10)
    description = models.CharField(max_length=300, blank=True)
    confidence = models.FloatField()
    rank = models.PositiveSmallIntegerField()
    negated = models.BooleanField(default=False)
    vague = models.BooleanField(default=False, help_text="Only a header code matched.")
    evidence = models.JSONField(default=list, help_text='[{"text", "start", "end"}]')
    why = models.JSONField(default=dict, blank=True, help_text="Section, matched terms, context.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["document", "rank"]
        indexes = [models.Index(fields=["document", "text_hash"], name="assist_doc_hash_idx")]

    def __str__(self) -> str:
        return f"{self.code} ({self.confidence:.2f})"


class SuggestionDecision(models.Model):
    """A coder's accept or reject of a suggestion, kept per coder and code for acceptance rates
    (the code is copied so the record outlives a recomputed suggestion)."""

    class Decision(models.TextChoices):
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"

    suggestion = models.ForeignKey(
        AssistSuggestion, null=True, on_delete=models.SET_NULL, related_name="decisions"
    )
    encounter = models.ForeignKey(Encounter, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    system = models.CharField(max_length=12)
    code = models.CharField(max_length=10)
    decision = models.CharField(max_length=8, choices=Decision.choices)
    reason = models.TextField(blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "pk"]
        indexes = [models.Index(fields=["user", "code"], name="assist_decision_user_code_idx")]

    def __str__(self) -> str:
        return f"{self.code} {self.decision} by {self.user_id}"


class ExplanationSignOff(models.Model):
    """A staff member's sign-off that the plain-language explanation of an encounter's coding
    may be given to its audience. The patient version is only printable with one."""

    class Audience(models.TextChoices):
        PROVIDER = "provider", "Provider"
        PATIENT = "patient", "Patient"

    encounter = models.ForeignKey(
        Encounter, on_delete=models.CASCADE, related_name="explanation_sign_offs"
    )
    audience = models.CharField(max_length=10, choices=Audience.choices)
    coding_version = models.PositiveIntegerField(
        help_text="Encounter.version signed off: a later coding change needs a new sign-off."
    )
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    signed_at = models.DateTimeField(auto_now_add=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-signed_at"]
