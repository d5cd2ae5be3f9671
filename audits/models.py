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
