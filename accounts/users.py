"""User administration: the writes (services) and reads (selectors) behind the users pages.

Users are never deleted, so their history (codes assigned, reviews, PHI access) keeps a name.
Every change an admin makes is written as a UserChange row in the same transaction.
"""

import logging
import smtplib
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import PasswordResetTokenGenerator, default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from accounts.models import CODER_ROLES, Role, User, UserChange

logger = logging.getLogger(__name__)
token_generator: PasswordResetTokenGenerator = default_token_generator


class UserAdminError(ValueError):
    """The change is not allowed; the message says why in plain words."""


@dataclass(frozen=True)
class SetPasswordLink:
    """A one-time link to choose a password (invitation or reset), and whether it was mailed."""

    path: str
    emailed: bool


# --- reads ------------------------------------------------------------------------------------


def user_list(*, role: str = "", active: str = "", search: str = "") -> QuerySet[User]:
    users = User.objects.all()
    if role in Role.values:
        # An admin who also codes shows under that coder role too.
        users = users.filter(Q(role=role) | Q(also_coder_role=role))
    if active == "active":
        users = users.filter(is_active=True)
    elif active == "inactive":
        users = users.filter(is_active=False)
    for word in search.split()[:5]:
        users = users.filter(
            Q(username__icontains=word)
            | Q(first_name__icontains=word)
            | Q(last_name__icontains=word)
            | Q(email__icontains=word)
        )
    return users.order_by("-is_active", "last_name", "first_name", "username")


def user_summary() -> dict[str, int]:
    """Counts for the administration home page, in one query."""
    return User.objects.aggregate(
        total=Count("pk"),
        active=Count("pk", filter=Q(is_active=True)),
        inactive=Count("pk", filter=Q(is_active=False)),
        admins=Count("pk", filter=Q(is_active=True, role=Role.ADMIN)),
        invited=Count("pk", filter=Q(is_active=True, password__startswith="!")),
    )


def user_changes(*, user: User) -> QuerySet[UserChange]:
    return UserChange.objects.filter(user=user).select_related("actor").order_by("-at", "-pk")


def user_changes_recent(*, limit: int = 10) -> list[UserChange]:
    return list(UserChange.objects.select_related("user", "actor").order_by("-at", "-pk")[:limit])


def user_has_pending_invite(user: User) -> bool:
    return not user.has_usable_password()


def user_status(user: User) -> tuple[str, str]:
    """(badge key, words) for lists: deactivated, invited (never signed in, no password yet),
    password reset (waiting for the user to choose a new one) or active."""
    if not user.is_active:
        return "retired", "Deactivated"
    if not user.has_usable_password():
        return ("pending", "Invited") if user.last_login is None else ("pending", "Password reset")
    return "active", "Active"


def user_from_uid(uidb64: str) -> User | None:
    try:
        pk = urlsafe_base64_decode(uidb64).decode()
        return User.objects.get(pk=pk)
    except (ValueError, TypeError, OverflowError, User.DoesNotExist, ValidationError):
        return None


def set_password_token_valid(user: User | None, token: str) -> bool:
    return user is not None and token_generator.check_token(user, token)


# --- writes -----------------------------------------------------------------------------------


def _record(*, user: User, actor: User, action: str, **detail) -> UserChange:
    return UserChange.objects.create(user=user, actor=actor, action=action, detail=detail)


def _check_roles(role: str, also_coder_role: str) -> None:
    if role not in Role.values:
        raise UserAdminError("Choose a role.")
    if also_coder_role and role != Role.ADMIN:
        raise UserAdminError("Only an admin can also hold a coder role.")
    if also_coder_role and also_coder_role not in [r.value for r in CODER_ROLES]:
        raise UserAdminError("The second role must be a coder role.")


def _role_text(role: str, also_coder_role: str) -> str:
    text = Role(role).label
    if also_coder_role:
        text += f" + {Role(also_coder_role).label.lower()}"
    return text


def set_password_link(user: User) -> str:
    """The path of a one-time set-password link: Django's reset token, which stops working
    once the password changes (or after PASSWORD_RESET_TIMEOUT)."""
    uidb64 = urlsafe_base64_encode(force_bytes(user.pk))
    token = token_generator.make_token(user)
    return reverse("accounts:set_password", args=[uidb64, token])


def _mail_link(*, user: User, path: str, base_url: str, invited: bool) -> bool:
    if not user.email:
        return False
    url = base_url.rstrip("/") + path
    hours = settings.PASSWORD_RESET_TIMEOUT // 3600
    if invited:
        subject = "Your Coding Bench account"
        opening = f"An account was created for you on Coding Bench (user name: {user.username})."
    else:
        subject = "Reset your Coding Bench password"
        opening = f"An administrator reset the password of your account {user.username}."
    body = (
        f"Hello {user.get_full_name() or user.username},\n\n{opening}\n"
        f"Choose your password here (the link works once, for {hours} hours):\n\n{url}\n"
    )
    try:
        send_mail(subject, body, None, [user.email], fail_silently=False)
    except (OSError, smtplib.SMTPException) as exc:
        # The admin still sees the link and can hand it over; the account change stands.
        logger.warning("Could not mail the set-password link to %s: %s", user.email, exc)
        return False
    return True


@transaction.atomic
def user_admin_create(
    *,
    actor: User,
    username: str,
    role: str,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    also_coder_role: str = "",
    password: str = "",
    base_url: str = "",
) -> tuple[User, SetPasswordLink | None]:
    """Create a user with an initial password, or (no password) invite them: the account has
    no usable password until they follow the set-password link mailed to them."""
    _check_roles(role, also_coder_role)
    username = username.strip()
    if User.objects.filter(username__iexact=username).exists():
        raise UserAdminError(f"The user name {username!r} is taken.")
    user = User(
        username=username,
        role=role,
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        email=email.strip(),
        also_coder_role=also_coder_role,
    )
    user.full_clean(exclude=["password"])
    if password:
        validate_password(password, user)
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    details = {
        "role": _role_text(role, also_coder_role),
        "email": user.email,
        "name": user.get_full_name(),
    }
    if password:
        _record(user=user, actor=actor, action=UserChange.Action.CREATED, **details)
        return user, None
    path = set_password_link(user)
    emailed = _mail_link(user=user, path=path, base_url=base_url, invited=True)
    _record(user=user, actor=actor, action=UserChange.Action.INVITED, emailed=emailed, **details)
    return user, SetPasswordLink(path=path, emailed=emailed)


def _active_admins_besides(user: User) -> int:
    return User.objects.filter(is_active=True, role=Role.ADMIN).exclude(pk=user.pk).count()


@transaction.atomic
def user_role_change(*, actor: User, user: User, role: str, also_coder_role: str = "") -> User:
    _check_roles(role, also_coder_role)
    locked = User.objects.select_for_update().get(pk=user.pk)
    before = _role_text(locked.role, locked.also_coder_role)
    after = _role_text(role, also_coder_role)
    if before == after:
        raise UserAdminError(f"{locked.username} already has the role {after}.")
    if locked.role == Role.ADMIN and role != Role.ADMIN and locked.is_active:
        # Lock every admin row so two admins demoting each other cannot both succeed.
        list(User.objects.select_for_update().filter(role=Role.ADMIN, is_active=True))
        if _active_admins_besides(locked) == 0:
            raise UserAdminError("This is the last active admin: make someone else admin first.")
    locked.role = role
    locked.also_coder_role = also_coder_role
    locked.save(update_fields=["role", "also_coder_role"])
    _record(
        user=locked,
        actor=actor,
        action=UserChange.Action.ROLE_CHANGED,
        **{
            "from": before,
            "to": after,
        },
    )
    return locked


@transaction.atomic
def user_details_change(
    *, actor: User, user: User, first_name: str, last_name: str, email: str
) -> User:
    locked = User.objects.select_for_update().get(pk=user.pk)
    new = {"first_name": first_name.strip(), "last_name": last_name.strip(), "email": email.strip()}
    changed = {
        field: {"from": getattr(locked, field), "to": value}
        for field, value in new.items()
        if getattr(locked, field) != value
    }
    if not changed:
        raise UserAdminError("Nothing changed.")
    for field, value in new.items():
        setattr(locked, field, value)
    locked.full_clean(exclude=["password"])
    locked.save(update_fields=list(new))
    _record(user=locked, actor=actor, action=UserChange.Action.DETAILS_CHANGED, changes=changed)
    return locked


@transaction.atomic
def user_deactivate(*, actor: User, user: User, reason: str = "") -> User:
    """Sign-in stops at once (Django refuses inactive users, open sessions included)."""
    if user.pk == actor.pk:
        raise UserAdminError("You cannot deactivate your own account.")
    locked = User.objects.select_for_update().get(pk=user.pk)
    if not locked.is_active:
        raise UserAdminError(f"{locked.username} is already deactivated.")
    if locked.role == Role.ADMIN:
        list(User.objects.select_for_update().filter(role=Role.ADMIN, is_active=True))
        if _active_admins_besides(locked) == 0:
            raise UserAdminError("This is the last active admin and cannot be deactivated.")
    locked.is_active = False
    locked.save(update_fields=["is_active"])
    _record(
        user=locked,
        actor=actor,
        action=UserChange.Action.DEACTIVATED,
        reason=reason.strip()[:300],
        **{"from": "active", "to": "inactive"},
    )
    return locked


@transaction.atomic
def user_reactivate(*, actor: User, user: User) -> User:
    locked = User.objects.select_for_update().get(pk=user.pk)
    if locked.is_active:
        raise UserAdminError(f"{locked.username} is already active.")
    locked.is_active = True
    locked.save(update_fields=["is_active"])
    _record(
        user=locked,
        actor=actor,
        action=UserChange.Action.REACTIVATED,
        **{"from": "inactive", "to": "active"},
    )
    return locked


@transaction.atomic
def user_password_reset(*, actor: User, user: User, base_url: str = "") -> SetPasswordLink:
    """The old password stops working (and with it every open session of the user); the user
    chooses a new one through a one-time link, mailed to them and shown to the admin."""
    locked = User.objects.select_for_update().get(pk=user.pk)
    had_password = locked.has_usable_password()
    locked.set_unusable_password()
    locked.save(update_fields=["password"])
    path = set_password_link(locked)
    emailed = _mail_link(user=locked, path=path, base_url=base_url, invited=not had_password)
    _record(
        user=locked,
        actor=actor,
        action=UserChange.Action.PASSWORD_RESET,
        emailed=emailed,
        **{"from": "password set" if had_password else "no password yet", "to": "link sent"},
    )
    return SetPasswordLink(path=path, emailed=emailed)


@transaction.atomic
def user_mfa_reset(*, actor: User, user: User) -> int:
    """Delete the user's one-time-password devices: they enrol again at their next sign-in.
    Returns how many devices were removed."""
    from django_otp import devices_for_user

    devices = list(devices_for_user(user, confirmed=None))
    names = [f"{device.__class__.__name__}: {device.name}" for device in devices]
    for device in devices:
        device.delete()
    _record(
        user=user,
        actor=actor,
        action=UserChange.Action.MFA_RESET,
        devices=names,
        **{"from": f"{len(devices)} device{'s' if len(devices) != 1 else ''}", "to": "none"},
    )
    return len(devices)


@transaction.atomic
def user_password_chosen(*, user: User, password: str) -> User:
    """The user, following a set-password link, chooses their password (the link then stops
    working: the token covers the password hash)."""
    validate_password(password, user)
    had_password = user.has_usable_password()
    user.set_password(password)
    user.save(update_fields=["password"])
    _record(
        user=user,
        actor=user,
        action=UserChange.Action.PASSWORD_RESET,
        **{"from": "link sent", "to": "new password chosen" if had_password else "password chosen"},
    )
    return user
