"""Audit plans, their samples, the blind re-coding and the findings that come out of it."""

from decimal import Decimal

from django.conf import settings
from django.db import models


class AuditSettings(models.Model):
    """Team-wide quality settings. One row."""

    accuracy_target = models.DecimalField(
        "Accuracy target (%)", max_digits=5, decimal_places=2, default=Decimal("95.00")
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "audit settings"

    @classmethod
    def current(cls) -> "AuditSettings":
        row, _ = cls.objects.get_or_create(pk=1)
        return row


class AuditPlan(models.Model):
    class Kind(models.TextChoices):
        # Prospective: the encounter cannot be billed until its audit item is closed.
        PRE_BILL = "pre_bill", "Prospective (pre-bill)"
        POST_BILL = "post_bill", "Retrospective (post-bill)"

    class Party(models.TextChoices):
        INTERNAL = "internal", "Internal"
        EXTERNAL = "external", "External"

    class Method(models.TextChoices):
        RANDOM_PERCENT = "random_percent", "Random % of encounters"
        PER_CODER = "per_coder", "N encounters per coder"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SAMPLED = "sampled", "Sampled"
        CLOSED = "closed", "Closed"

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    party = models.CharField(max_length=10, choices=Party.choices, default=Party.INTERNAL)
    auditors = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="audit_plans")
    method = models.CharField(max_length=16, choices=Method.choices)
    percent = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    per_coder = models.PositiveSmallIntegerField(null=True, blank=True)
    date_from = models.DateField()
    date_to = models.DateField()
    # Optional targeting: {"coders": [ids], "encounter_types": [...], "payers": [...],
    # "drgs": ["470", ...], "drg_families": [...], "codes": ["I50.*", ...],
    # "min_weight": "2.0", "new_coders_days": 90}
    targets = models.JSONField(default=dict, blank=True)
    seed = models.BigIntegerField(help_text="Stored so the same sample can be drawn again.")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.DRAFT)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sampled_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.name


class AuditItem(models.Model):
    """One sampled encounter: the original coding frozen, the auditor's blind re-code."""

    class Status(models.TextChoices):
        PENDING = "pending", "Not started"
        RECODING = "recoding", "Re-coding"
        COMPARED = "compared", "Compared"
        CLOSED = "closed", "Closed"

    class PaymentEffect(models.TextChoices):
        NONE = "", "None"
        UPCODING = "upcoding", "Possible upcoding"
        DOWNCODING = "downcoding", "Possible downcoding"

    plan = models.ForeignKey(AuditPlan, on_delete=models.CASCADE, related_name="items")
    encounter = models.ForeignKey(
        "encounters.Encounter", on_delete=models.PROTECT, related_name="audit_items"
    )
    coder = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="audited_items",
    )
    selection_reason = models.TextField(help_text="Why this encounter is in the sample.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    auditor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Same shape as encounters.coding.encounter_as_json()'s "diagnoses" and "procedures".
    original_coding = models.JSONField(default=dict)
    audited_coding = models.JSONField(default=dict, blank=True)
    original_drg = models.JSONField(default=dict, blank=True)
    audited_drg = models.JSONField(default=dict, blank=True)
    weight_difference = models.DecimalField(
        max_digits=8, decimal_places=4, null=True, blank=True, help_text="original − audited"
    )
    payment_effect = models.CharField(
        max_length=10, choices=PaymentEffect.choices, blank=True, default=""
    )
    codes_agreed = models.PositiveSmallIntegerField(default=0)
    codes_total = models.PositiveSmallIntegerField(
        default=0, help_text="Codes in the union of both sets."
    )
    started_at = models.DateTimeField(null=True, blank=True)
    compared_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["plan", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "encounter"], name="audit_item_once_per_plan")
        ]
        indexes = [models.Index(fields=["coder", "compared_at"], name="audit_item_coder_idx")]


class Finding(models.Model):
    """One difference between the original coding and the auditor's."""

    class Kind(models.TextChoices):
        ADDED = "added", "Added by auditor"
        DELETED = "deleted", "Deleted by auditor"
        CHANGED = "changed", "Changed"
        RESEQUENCED = "resequenced", "Resequenced"
        POA_CHANGED = "poa_changed", "POA changed"
        MODIFIER_CHANGED = "modifier_changed", "Modifier changed"
        UNITS_CHANGED = "units_changed", "Units changed"

    class Category(models.TextChoices):
        SPECIFICITY = "specificity", "Specificity"
        SEQUENCING = "sequencing", "Sequencing"
        MISSING_CODE = "missing_code", "Missing code"
        UNSUPPORTED = "unsupported", "Unsupported by documentation"
        MODIFIER = "modifier", "Modifier error"
        POA = "poa", "POA error"
        GUIDELINE = "guideline", "Guideline"

    class Severity(models.TextChoices):
        LOW = "low", "Low"
        MEDIUM = "medium", "Medium"
        HIGH = "high", "High"

    class Response(models.TextChoices):
        PENDING = "pending", "Awaiting coder"
        AGREED = "agreed", "Agreed"
        DISPUTED = "disputed", "Disputed"

    class Resolution(models.TextChoices):
        NONE = "", "—"
        UPHELD = "upheld", "Finding upheld"
        OVERTURNED = "overturned", "Finding overturned"

    item = models.ForeignKey(AuditItem, on_delete=models.CASCADE, related_name="findings")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    category = models.CharField(max_length=16, choices=Category.choices)
    severity = models.CharField(max_length=8, choices=Severity.choices, default=Severity.MEDIUM)
    code_kind = models.CharField(max_length=10, help_text="diagnosis or procedure")
    original_code = models.CharField(max_length=16, blank=True)
    audited_code = models.CharField(max_length=16, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    note = models.TextField(blank=True)
    response = models.CharField(max_length=8, choices=Response.choices, default=Response.PENDING)
    dispute_reason = models.TextField(blank=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(max_length=10, choices=Resolution.choices, blank=True)
    resolution_note = models.TextField(blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["item", "pk"]
        indexes = [models.Index(fields=["category"], name="finding_category_idx")]


# --- Research and reporting (issue 9) --------------------------------------------------------


class RiskGroup(models.Model):
    """A configurable group of codes (e.g. chronic conditions) that high-risk flags count."""

    name = models.CharField(max_length=120, unique=True)
    description = models.CharField(max_length=300, blank=True)
    # ICD-10-CM codes or category prefixes without dots, e.g. ["E11", "I50", "N18"].
    code_prefixes = models.JSONField(default=list)
    is_active = models.BooleanField(default=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ResearchExport(models.Model):
    """Every de-identified export, who made it and why (Safe Harbor; cells under 11 hidden)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    report = models.CharField(max_length=40)
    purpose = models.TextField()
    filters = models.JSONField(default=dict, blank=True)
    rows = models.PositiveIntegerField(default=0)
    suppressed_cells = models.PositiveIntegerField(default=0)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-at"]


# --- Practice charts (issue 9) ---------------------------------------------------------------


class PracticeCase(models.Model):
    """A chart with a known answer key that juniors code for practice. The chart itself is a
    practice encounter (is_practice=True): it never reaches queues, billing or metrics."""

    class Source(models.TextChoices):
        DEMO = "demo", "Demo chart"
        CODIESP = "codiesp", "CodiEsp train split"
        ENCOUNTER = "encounter", "Copied from a coded encounter"
        MANUAL = "manual", "Written by a senior"

    title = models.CharField(max_length=200)
    encounter = models.OneToOneField(
        "encounters.Encounter", on_delete=models.PROTECT, related_name="practice_case"
    )
    source = models.CharField(max_length=10, choices=Source.choices)
    source_ref = models.CharField(max_length=120, blank=True, help_text="e.g. CodiEsp file id.")
    # The same shape as AuditItem.original_coding, so the audit comparison engine scores it.
    answer_key = models.JSONField()
    teaching_note = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["title", "pk"]

    def __str__(self) -> str:
        return self.title


class PracticeAttempt(models.Model):
    """One coder's go at a practice case, on their own copy of the chart."""

    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", "In progress"
        SCORED = "scored", "Scored"

    case = models.ForeignKey(PracticeCase, on_delete=models.CASCADE, related_name="attempts")
    coder = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="practice_attempts"
    )
    encounter = models.OneToOneField(
        "encounters.Encounter", on_delete=models.PROTECT, related_name="practice_attempt"
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.IN_PROGRESS)
    started_at = models.DateTimeField(auto_now_add=True)
    scored_at = models.DateTimeField(null=True, blank=True)
    submitted_coding = models.JSONField(default=dict, blank=True)
    codes_agreed = models.PositiveSmallIntegerField(default=0)
    codes_total = models.PositiveSmallIntegerField(default=0)
    principal_correct = models.BooleanField(null=True, blank=True)
    missed_codes = models.JSONField(default=list, blank=True)
    extra_codes = models.JSONField(default=list, blank=True)
    # The comparison's differences, as findings would record them: [{kind, category, ...}].
    differences = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-started_at"]


# --- Guideline bulletins and release digests (issue 9) ---------------------------------------


class Bulletin(models.Model):
    """News the team must read: a guideline, a payer policy change, a common audit error, or
    the automatic digest of a code-set release. Acknowledged one by one."""

    class Kind(models.TextChoices):
        GUIDELINE = "guideline", "Coding guideline"
        PAYER_POLICY = "payer_policy", "Payer policy change"
        COMMON_ERROR = "common_error", "Common error seen in audits"
        RELEASE_DIGEST = "release_digest", "Code-set release digest"
        OTHER = "other", "Other"

    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    body = models.TextField()
    # Audience: everyone holding one of these roles, plus these people.
    audience_roles = models.JSONField(default=list, blank=True)
    recipients = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="bulletins"
    )
    release = models.ForeignKey(
        "codesets.Release",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="digests",
    )
    # Structured content of a release digest: the changed codes this team uses.
    detail = models.JSONField(default=dict, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty for digests published automatically.",
    )
    published_at = models.DateTimeField(auto_now_add=True, db_index=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-published_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["release"],
                condition=models.Q(kind="release_digest"),
                name="one_digest_per_release",
            )
        ]

    def __str__(self) -> str:
        return self.title


class BulletinAcknowledgement(models.Model):
    bulletin = models.ForeignKey(
        Bulletin, on_delete=models.CASCADE, related_name="acknowledgements"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="bulletin_acks"
    )
    acknowledged_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["bulletin", "user"], name="one_ack_per_user")
        ]
