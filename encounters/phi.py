"""Patient identifiers coding does not need: masking for display, key rotation and checks.

The identifiers (member id, SSN, phone, address) are encrypted at rest by
django-fernet-encrypted-fields with keys derived from SECRET_KEY and PHI_ENCRYPTION_KEYS
(newest first). Rotation and checks work on the raw column values, not through the model:
the field silently hands back the ciphertext when it cannot decrypt, and re-saving that
would encrypt the ciphertext itself and lose the identifier for good.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import BreakGlass, PhiAccess, User
from accounts.permissions import Capability, has_capability
from accounts.services import phi_access_record
from encounters.models import Encounter, Patient

ENCRYPTED_FIELDS = ("member_id", "ssn", "phone", "address")
BATCH_SIZE = 500


def mask(value: str | None, *, keep: int = 4) -> str:
    """Only the last `keep` characters of an identifier, the rest as dots ("•••• 6789")."""
    value = (value or "").strip()
    if not value:
        return ""
    visible = value[-keep:] if len(value) > keep else ""
    return f"•••• {visible}".strip()


def masked_identifiers(patient: Patient) -> list[tuple[str, str]]:
    """(label, masked value) for each identifier the patient has; the address shows its
    postal code's last digits only, which is enough to tell two patients apart."""
    rows = [
        ("Member id", mask(patient.member_id)),
        ("SSN", mask(patient.ssn)),
        ("Phone", mask(patient.phone)),
        ("Address", mask((patient.address or "").replace("\n", " "), keep=3)),
    ]
    return [(label, value) for label, value in rows if value]


def _fernet() -> MultiFernet:
    """A MultiFernet over the current keys, newest first (settings may have changed since
    the field cached its keys, e.g. a key added before rotating)."""
    reset_key_cache()
    return MultiFernet([Fernet(key) for key in Patient._meta.get_field("ssn").keys])


def reset_key_cache() -> None:
    """Forget every encrypted field's derived keys so the next use reads the settings again."""
    for name in ENCRYPTED_FIELDS:
        field_ = Patient._meta.get_field(name)
        for cached in ("keys", "f"):
            field_.__dict__.pop(cached, None)


def _raw_batches(batch_size: int) -> Iterator[list[tuple]]:
    table = connection.ops.quote_name(Patient._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(c) for c in ("id", *ENCRYPTED_FIELDS))
    last = 0
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {columns} FROM {table} WHERE id > %s ORDER BY id LIMIT %s",
                [last, batch_size],
            )
            rows = cursor.fetchall()
        if not rows:
            return
        yield rows
        last = rows[-1][0]


@dataclass
class PhiReport:
    patients: int = 0
    values: int = 0
    changed: int = 0
    failed: list[int] = field(default_factory=list)  # patient ids with an unreadable value


def check(*, batch_size: int = BATCH_SIZE) -> PhiReport:
    """Decrypt every stored identifier with the current keys; list the patients that fail."""
    fernet = _fernet()
    report = PhiReport()
    for rows in _raw_batches(batch_size):
        for pk, *values in rows:
            report.patients += 1
            unreadable = False
            for value in values:
                if not value:
                    continue
                report.values += 1
                try:
                    fernet.decrypt(value.encode())
                except InvalidToken:
                    unreadable = True
            if unreadable:
                report.failed.append(pk)
    return report


def rotate_keys(*, batch_size: int = BATCH_SIZE) -> PhiReport:
    """Re-encrypt every identifier with the newest key, a batch per transaction.

    A value no current key can read is left as it is and reported (it was encrypted with a
    key that has been dropped from PHI_ENCRYPTION_KEYS: put it back and rotate again).
    """
    fernet = _fernet()
    report = PhiReport()
    table = connection.ops.quote_name(Patient._meta.db_table)
    sets = ", ".join(f"{connection.ops.quote_name(c)} = %s" for c in ENCRYPTED_FIELDS)
    for rows in _raw_batches(batch_size):
        with transaction.atomic():
            for pk, *values in rows:
                report.patients += 1
                rotated = []
                unreadable = False
                for value in values:
                    if not value:
                        rotated.append(value)
                        continue
                    report.values += 1
                    try:
                        rotated.append(fernet.rotate(value.encode()).decode())
                    except InvalidToken:
                        unreadable = True
                        rotated.append(value)
                if unreadable:
                    report.failed.append(pk)
                if rotated != list(values):
                    with connection.cursor() as cursor:
                        cursor.execute(
                            f"UPDATE {table} SET {sets} WHERE id = %s",
                            [*rotated, pk],
                        )
                    report.changed += 1
    reset_key_cache()
    return report


SSN_SYSTEM = "http://hl7.org/fhir/sid/us-ssn"
MEMBER_TYPE_CODES = {"MB", "SN"}  # v2-0203: member number, subscriber number


def identifiers_from_fhir(resource) -> dict[str, str]:
    """Member/subscriber id, SSN, phone and address of a FHIR Patient resource, if present."""
    found: dict[str, str] = {}
    for identifier in resource.identifier or []:
        value = (identifier.value or "").strip()
        if not value:
            continue
        system = (identifier.system or "").lower()
        codes = {
            c.code for c in (identifier.type.coding or [] if identifier.type else []) if c.code
        }
        if system == SSN_SYSTEM or "SS" in codes:
            found.setdefault("ssn", value[:11])
        elif codes & MEMBER_TYPE_CODES or "member" in system or "subscriber" in system:
            found.setdefault("member_id", value[:64])
    for telecom in resource.telecom or []:
        if telecom.system == "phone" and telecom.value:
            found.setdefault("phone", telecom.value.strip()[:40])
    for address in resource.address or []:
        text = address.text or ", ".join(
            part
            for part in [
                " ".join(address.line or []),
                address.city,
                " ".join(p for p in [address.state, address.postalCode] if p),
                address.country,
            ]
            if part
        )
        if text.strip():
            found.setdefault("address", text.strip())
            break
    return found


def patient_set_identifiers(patient: Patient, **values: str) -> Patient:
    """Store the given identifiers (blank ones are left as they are); encrypted on save."""
    changed = []
    for name in ENCRYPTED_FIELDS:
        value = (values.get(name) or "").strip()
        if value and value != (getattr(patient, name) or ""):
            setattr(patient, name, value)
            changed.append(name)
    if changed:
        patient.save(update_fields=changed)
    return patient


# --- break the glass ------------------------------------------------------------------------

BREAK_GLASS_MIN_REASON = 20


def break_glass_open(
    *,
    user: User,
    encounter: Encounter,
    reason: str,
    ip_address: str | None = None,
    user_agent: str = "",
) -> BreakGlass:
    """Open a chart outside the user's work for BREAK_GLASS_HOURS, with the reason logged
    (a PhiAccess BREAK_GLASS row) and put in front of senior coders for review."""
    if not has_capability(user, Capability.VIEW_CHARTS):
        # Admins without a coder role see no chart content, not even by breaking the glass.
        raise PermissionDenied("Your role does not open charts.")
    reason = " ".join((reason or "").split())
    if len(reason) < BREAK_GLASS_MIN_REASON:
        raise ValidationError(
            {
                "reason": f"Say why you need this chart (at least {BREAK_GLASS_MIN_REASON} "
                "characters): it is logged and reviewed by a senior coder."
            }
        )
    with transaction.atomic():
        glass = BreakGlass.objects.create(
            user=user,
            patient_id=encounter.patient_id,
            encounter_id=encounter.pk,
            reason=reason,
            expires_at=timezone.now() + timedelta(hours=settings.BREAK_GLASS_HOURS),
        )
        phi_access_record(
            user=user,
            action=PhiAccess.Action.BREAK_GLASS,
            patient_id=encounter.patient_id,
            encounter_id=encounter.pk,
            reason=reason[:500],
            ip_address=ip_address,
            user_agent=user_agent,
        )
    return glass


def break_glass_review(*, by: User, glass_id: int, note: str = "") -> BreakGlass:
    """A senior coder marks a break-the-glass access reviewed, with an optional note."""

    if not has_capability(by, Capability.REVIEW_PHI_ACCESS):
        raise PermissionDenied("Your role cannot review PHI access.")
    with transaction.atomic():
        glass = BreakGlass.objects.select_for_update().filter(pk=glass_id).first()
        if glass is None:
            raise ValidationError("No such break-the-glass access.")
        if glass.user_id == by.pk:
            raise ValidationError("Your own break-the-glass access is reviewed by someone else.")
        if glass.reviewed_at is None:
            glass.reviewed_by = by
            glass.reviewed_at = timezone.now()
            glass.review_note = note.strip()[:2000]
            glass.save(update_fields=["reviewed_by", "reviewed_at", "review_note"])
    return glass


def break_glass_unreviewed() -> QuerySet[BreakGlass]:
    return BreakGlass.objects.filter(reviewed_at__isnull=True).select_related("user")
