import hashlib
import json
from datetime import UTC

from django.contrib.auth.password_validation import validate_password
from django.db import connection, transaction

from accounts.models import PhiAccess, Role, User


@transaction.atomic
def user_create(
    *,
    username: str,
    password: str,
    role: Role | str,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    also_coder_role: str = "",
) -> User:
    user = User(
        username=username,
        role=role,
        first_name=first_name,
        last_name=last_name,
        email=email,
        also_coder_role=also_coder_role,
    )
    user.full_clean(exclude=["password"])
    validate_password(password, user)
    user.set_password(password)
    user.save()
    return user


# A fixed key for pg_advisory_xact_lock: every writer of the PHI access log takes it, so rows
# are appended one at a time and each can name the row before it.
PHI_ACCESS_LOCK_KEY = 0x50484941  # "PHIA"


def phi_access_hash(*, previous_hash: str, row: dict) -> str:
    """sha256 over the previous row's hash and this row's canonical content (sorted JSON)."""
    at = row["at"]
    content = {
        "id": row["id"],
        "user_id": row["user_id"],
        "action": row["action"],
        "patient_id": row["patient_id"],
        "encounter_id": row["encounter_id"],
        "document_id": row["document_id"],
        "reason": row["reason"],
        "ip_address": row["ip_address"],
        "user_agent": row["user_agent"],
        # UTC, microseconds: what both PostgreSQL and SQLite store and give back.
        "at": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((previous_hash + canonical).encode()).hexdigest()


PHI_ACCESS_HASHED_FIELDS = (
    "id",
    "user_id",
    "action",
    "patient_id",
    "encounter_id",
    "document_id",
    "reason",
    "ip_address",
    "user_agent",
    "at",
)


def phi_access_record(
    *,
    user: User,
    action: str,
    patient_id: int | None = None,
    encounter_id: int | None = None,
    document_id: int | None = None,
    reason: str = "",
    ip_address: str | None = None,
    user_agent: str = "",
) -> PhiAccess:
    """Append one row to the PHI access log, chained to the row before it by hash.

    Writers are serialized (PostgreSQL: a transaction-scoped advisory lock; SQLite allows one
    writer anyway), so "the row before" is well defined: the highest id committed so far.
    The row is inserted, then its hash (which covers its id and time) is written; both in one
    transaction. `manage.py accesslog verify` walks the chain.
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [PHI_ACCESS_LOCK_KEY])
        previous = (
            PhiAccess.objects.order_by("-pk").values_list("row_hash", flat=True).first() or ""
        )
        record = PhiAccess.objects.create(
            user=user,
            action=action,
            patient_id=patient_id,
            encounter_id=encounter_id,
            document_id=document_id,
            reason=reason,
            ip_address=ip_address,
            user_agent=user_agent[:300],
            previous_hash=previous,
        )
        # Hash what the database gives back (an IP address may come back normalized), so the
        # verifier, which reads rows the same way, computes the same hash.
        row = PhiAccess.objects.values(*PHI_ACCESS_HASHED_FIELDS).get(pk=record.pk)
        record.row_hash = phi_access_hash(previous_hash=previous, row=row)
        PhiAccess.objects.filter(pk=record.pk).update(row_hash=record.row_hash)
    return record
