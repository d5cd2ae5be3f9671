"""Multi-factor sign-in: TOTP devices (django-otp) with single-use recovery codes.

Seniors and admins (settings.MFA_REQUIRED_ROLES) must enrol; other roles may. A user with a
confirmed device, whatever the role, passes the code step after the password. Views are thin
wrappers over these functions; accounts.middleware enforces the steps on every request.
"""

import base64
import secrets

import segno
from django.conf import settings
from django.db import transaction
from django_otp import devices_for_user
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User

RECOVERY_CODE_COUNT = 10
RECOVERY_DEVICE_NAME = "Recovery codes"
TOTP_DEVICE_NAME = "Authenticator app"


def mfa_required_roles() -> frozenset[str]:
    """The roles that must enrol; MFA_REQUIRED_ROLES=none turns the requirement off."""
    return frozenset(r for r in settings.MFA_REQUIRED_ROLES if r and r != "none")


def mfa_required_for(user: User) -> bool:
    required = mfa_required_roles()
    return user.role in required or bool(user.also_coder_role and user.also_coder_role in required)


def totp_device_confirmed(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def mfa_enrolled(user: User) -> bool:
    """Whether the user has a confirmed authenticator (recovery codes alone do not count)."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


@transaction.atomic
def totp_device_pending(user: User) -> TOTPDevice:
    """The unconfirmed device being enrolled: the same secret on every page load until the
    user confirms it with a first code, so a reload does not invalidate a scanned QR code."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)
    return device


def totp_secret_text(device: TOTPDevice) -> str:
    """The base32 secret for typing into an authenticator app, in groups of four."""
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def totp_qr_svg(device: TOTPDevice) -> str:
    """The otpauth:// URL as an inline SVG QR code (no image request, no external service)."""
    return segno.make(device.config_url, error="m").svg_inline(
        border=2, omitsize=True, title="QR code"
    )


def _clean(token: str) -> str:
    return "".join(str(token or "").split()).lower().replace("-", "")


@transaction.atomic
def totp_enrol_confirm(*, user: User, device: TOTPDevice, token: str) -> list[str] | None:
    """Confirm the pending device with a first code. Returns the new recovery codes (shown
    once), or None when the code is wrong. Any earlier authenticator is replaced."""
    if device.user_id != user.pk or device.confirmed:
        return None
    if not device.verify_token(_clean(token)):
        return None
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    return recovery_codes_generate(user=user)


@transaction.atomic
def recovery_codes_generate(*, user: User) -> list[str]:
    """Ten new single-use codes; the old ones stop working. Only their stored form remains
    after this call returns, so the caller shows them once."""
    device, _ = StaticDevice.objects.get_or_create(
        user=user, name=RECOVERY_DEVICE_NAME, defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = secrets.token_hex(5)  # 10 hex digits, 40 bits each
        StaticToken.objects.create(device=device, token=raw)
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


def recovery_codes_remaining(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def mfa_verify_token(*, user: User, token: str):
    """The device that accepts this code (authenticator first, then a recovery code, which is
    used up), or None."""
    token = _clean(token)
    if not token:
        return None
    # A 6-digit code goes to the authenticator, anything else to the recovery codes: trying
    # both would count a recovery code as a failed TOTP attempt and throttle the app.
    kind = TOTPDevice if token.isdigit() and len(token) <= 8 else StaticDevice
    for device in devices_for_user(user, confirmed=True):
        if isinstance(device, kind) and device.verify_token(token):
            return device
    return None


@transaction.atomic
def mfa_disable(*, user: User) -> int:
    """Remove the user's devices (only for roles that do not require MFA). Returns how many."""
    if mfa_required_for(user):
        raise PermissionError("Your role must keep two-step sign-in.")
    devices = list(devices_for_user(user, confirmed=None))
    for device in devices:
        device.delete()
    return len(devices)
