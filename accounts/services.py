from django.contrib.auth.password_validation import validate_password
from django.db import transaction

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
    return PhiAccess.objects.create(
        user=user,
        action=action,
        patient_id=patient_id,
        encounter_id=encounter_id,
        document_id=document_id,
        reason=reason,
        ip_address=ip_address,
        user_agent=user_agent[:300],
    )
