from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models


class Role(models.TextChoices):
    JUNIOR = "junior", "Junior coder"
    INTERMEDIATE = "intermediate", "Intermediate coder"
    SENIOR = "senior", "Senior coder"
    ADMIN = "admin", "Admin"


CODER_ROLES = (Role.JUNIOR, Role.INTERMEDIATE, Role.SENIOR)


class User(AbstractUser):
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.JUNIOR)
    # An admin sees no chart content unless they also hold a coder role.
    also_coder_role = models.CharField(
        max_length=16,
        choices=[(r.value, r.label) for r in CODER_ROLES],
        blank=True,
        help_text="Only for admins who also code.",
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(also_coder_role="") | models.Q(role="admin"),
                name="user_also_coder_role_only_for_admin",
            )
        ]

    def clean(self) -> None:
        super().clean()
        if self.also_coder_role and self.role != Role.ADMIN:
            raise ValidationError({"also_coder_role": "Only an admin can hold a second role."})

    @property
    def role_label(self) -> str:
        label = Role(self.role).label
        if self.also_coder_role:
            label += f" + {Role(self.also_coder_role).label.lower()}"
        return label


class PhiAccess(models.Model):
    """Who opened which patient's data, when and from where. Append-only."""

    class Action(models.TextChoices):
        VIEW_PATIENT = "view_patient", "Viewed patient"
        VIEW_ENCOUNTER = "view_encounter", "Viewed encounter"
        VIEW_DOCUMENT = "view_document", "Viewed document"
        EXPORT = "export", "Exported"
        BREAK_GLASS = "break_glass", "Break the glass"
        EXPLAIN_CODING = "explain_coding", "Viewed coding explanation"
        EXPORT_DEIDENTIFIED = "export_deidentified", "De-identified export"

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="phi_accesses")
    action = models.CharField(max_length=24, choices=Action.choices)
    patient_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    encounter_id = models.BigIntegerField(null=True, blank=True)
    document_id = models.BigIntegerField(null=True, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Tamper evidence: each row's hash covers its content and the previous row's hash.
    previous_hash = models.CharField(max_length=64, blank=True)
    row_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-at"]
        verbose_name = "PHI access"
        verbose_name_plural = "PHI access log"


class UserChange(models.Model):
    """Every change an admin makes to a user: who, when, what. Users are never deleted."""

    class Action(models.TextChoices):
        CREATED = "created", "Created"
        INVITED = "invited", "Invited"
        ROLE_CHANGED = "role_changed", "Role changed"
        DETAILS_CHANGED = "details_changed", "Details changed"
        DEACTIVATED = "deactivated", "Deactivated"
        REACTIVATED = "reactivated", "Reactivated"
        PASSWORD_RESET = "password_reset", "Password reset"
        MFA_RESET = "mfa_reset", "MFA reset"

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="changes")
    actor = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=16, choices=Action.choices)
    detail = models.JSONField(default=dict, blank=True, help_text="e.g. {from, to}.")
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-at", "-pk"]


class BreakGlass(models.Model):
    """Access to a chart outside the user's queues, with the reason: logged, time-limited,
    and put in front of senior coders for review."""

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="break_glass")
    patient_id = models.BigIntegerField(db_index=True)
    encounter_id = models.BigIntegerField(null=True, blank=True)
    reason = models.TextField()
    at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    reviewed_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-at"]
        verbose_name_plural = "break-the-glass accesses"
