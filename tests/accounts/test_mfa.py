"""Two-step sign-in: enrolment, the code step, recovery codes, enforcement and admin reset."""

import re

import pytest
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import mfa
from accounts.models import UserChange
from tests.conftest import PASSWORD, otp_verified

pytestmark = pytest.mark.django_db


@pytest.fixture
def mfa_on(settings):
    settings.MFA_REQUIRED_ROLES = ["senior", "admin"]
    settings.MFA_ENFORCED = True


@pytest.fixture
def no_throttle(settings):
    """django-otp waits 1 s, 2 s, 4 s... after each wrong code; these tests retype at once."""
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0


def _code(device: TOTPDevice, offset: int = 0) -> str:
    """The code an authenticator app shows now (offset in steps), from the device's key."""
    code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=offset)
    return f"{code:0{device.digits}d}"


def _sign_in(client, user, **extra):
    return client.post(
        reverse("accounts:login"), {"username": user.username, "password": PASSWORD}, **extra
    )


def _enrol(client, user) -> tuple[TOTPDevice, list[str]]:
    client.get(reverse("accounts:mfa_enrol"))
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    response = client.post(reverse("accounts:mfa_enrol"), {"code": _code(device)})
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    codes = re.findall(r"<code>([0-9a-f]{5}-[0-9a-f]{5})</code>", page)
    return device, codes


def test_a_senior_is_sent_to_enrolment_and_nothing_else_opens(client, senior, mfa_on):
    response = _sign_in(client, senior, follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("accounts:mfa_enrol"))
    page = response.content.decode()
    assert "<svg" in page and "Set up two-step sign-in" in page
    secret = re.search(r'id="mfa-secret"><code>([A-Z2-7 ]+)</code>', page).group(1)
    assert len(secret.replace(" ", "")) >= 32
    # Every other page, partial and API call waits for enrolment; sign-out still works.
    assert client.get(reverse("audits:home"))["Location"].startswith(reverse("accounts:mfa_enrol"))
    partial = client.get(reverse("audits:home"), HTTP_HX_REQUEST="true")
    assert partial["HX-Redirect"].startswith(reverse("accounts:mfa_enrol"))
    assert client.get("/api/v1/anything/").status_code == 403
    assert client.post(reverse("accounts:logout")).status_code == 302


def test_enrolment_confirms_with_a_code_and_shows_ten_recovery_codes_once(
    client, senior, mfa_on, no_throttle
):
    client.force_login(senior)
    wrong = client.get(reverse("accounts:mfa_enrol"))
    assert wrong.status_code == 200
    bad = client.post(reverse("accounts:mfa_enrol"), {"code": "000000"})
    assert bad.status_code == 400 and "That code is not right" in bad.content.decode()
    assert not mfa.mfa_enrolled(senior)

    _, codes = _enrol(client, senior)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert mfa.mfa_enrolled(senior)
    # Shown once: a second visit no longer lists them.
    again = client.get(reverse("accounts:mfa_recovery_codes"), follow=True).content.decode()
    assert codes[0] not in again and "10</strong> unused recovery codes" in again
    # The session is verified: pages open.
    assert client.get(reverse("audits:home")).status_code == 200


def test_sign_in_asks_for_the_code_and_refuses_a_wrong_one(client, senior, mfa_on, no_throttle):
    client.force_login(senior)
    device, _ = _enrol(client, senior)
    client.post(reverse("accounts:logout"))

    response = _sign_in(client, senior, follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("accounts:mfa_verify"))
    assert "Enter your sign-in code" in response.content.decode()
    assert client.get(reverse("audits:home")).status_code == 302

    wrong = client.post(reverse("accounts:mfa_verify"), {"code": "123456", "next": "/audits/"})
    assert wrong.status_code == 400 and "That code is not right" in wrong.content.decode()
    assert client.get(reverse("audits:home")).status_code == 302

    device.refresh_from_db()
    ok = client.post(reverse("accounts:mfa_verify"), {"code": _code(device, 1), "next": "/audits/"})
    assert ok.status_code == 302 and ok["Location"] == "/audits/"
    assert client.get(reverse("audits:home")).status_code == 200


def test_a_recovery_code_works_once(client, senior, mfa_on):
    client.force_login(senior)
    _, codes = _enrol(client, senior)
    client.post(reverse("accounts:logout"))

    _sign_in(client, senior)
    used = client.post(reverse("accounts:mfa_verify"), {"code": codes[3].upper()}, follow=True)
    assert used.status_code == 200
    assert "cannot be used again. 9 left" in used.content.decode()
    client.post(reverse("accounts:logout"))

    _sign_in(client, senior)
    again = client.post(reverse("accounts:mfa_verify"), {"code": codes[3]})
    assert again.status_code == 400
    assert mfa.recovery_codes_remaining(senior) == 9


def test_regenerating_recovery_codes_replaces_the_old_ones(client, senior, mfa_on, no_throttle):
    client.force_login(senior)
    _, old = _enrol(client, senior)
    response = client.post(reverse("accounts:mfa_recovery_regenerate"), follow=True)
    new = re.findall(r"<code>([0-9a-f]{5}-[0-9a-f]{5})</code>", response.content.decode())
    assert len(new) == 10 and not set(new) & set(old)
    assert mfa.mfa_verify_token(user=senior, token=old[0]) is None
    assert mfa.mfa_verify_token(user=senior, token=new[0]) is not None


def test_optional_roles_are_not_forced_but_may_enrol_and_turn_it_off(
    client, junior, mfa_on, no_throttle
):
    response = _sign_in(client, junior, follow=True)
    assert response.redirect_chain[-1][0] == reverse("encounters:queue")

    _, codes = _enrol(client, junior)
    client.post(reverse("accounts:logout"))
    response = _sign_in(client, junior, follow=True)
    # Enrolled by choice: the code step applies to them too.
    assert response.redirect_chain[-1][0].startswith(reverse("accounts:mfa_verify"))
    client.post(reverse("accounts:mfa_verify"), {"code": codes[0]})

    refused = client.post(reverse("accounts:mfa_disable"), {"code": "999999"})
    assert refused.status_code == 400 and mfa.mfa_enrolled(junior)
    client.post(reverse("accounts:mfa_disable"), {"code": codes[1]})
    assert not mfa.mfa_enrolled(junior)
    assert mfa.recovery_codes_remaining(junior) == 0


def test_a_required_role_cannot_turn_it_off(client, admin_user, mfa_on):
    client.force_login(admin_user)
    _, codes = _enrol(client, admin_user)
    client.post(reverse("accounts:mfa_disable"), {"code": codes[0]})
    assert mfa.mfa_enrolled(admin_user)


def test_an_unverified_user_cannot_replace_the_authenticator(client, senior, mfa_on):
    client.force_login(senior)
    _enrol(client, senior)
    client.post(reverse("accounts:logout"))
    _sign_in(client, senior)
    response = client.get(reverse("accounts:mfa_enrol"))
    assert response["Location"].startswith(reverse("accounts:mfa_verify"))
    assert TOTPDevice.objects.filter(user=senior).count() == 1


def test_admin_reset_sends_the_user_back_to_enrolment(client, senior, admin_user, mfa_on):
    otp_verified(client, admin_user)
    senior_client = type(client)()
    otp_verified(senior_client, senior)
    assert senior_client.get(reverse("audits:home")).status_code == 200

    response = client.post(reverse("accounts:user_reset_mfa", args=[senior.pk]), follow=True)
    assert response.status_code == 200
    assert UserChange.objects.filter(user=senior, action=UserChange.Action.MFA_RESET).exists()
    assert not mfa.mfa_enrolled(senior)
    # The senior's open session is no longer verified: enrolment again.
    assert senior_client.get(reverse("audits:home"))["Location"].startswith(
        reverse("accounts:mfa_enrol")
    )


def test_the_test_helper_signs_in_through_both_steps(client, admin_user, mfa_on):
    otp_verified(client, admin_user)
    assert client.get(reverse("accounts:admin_home")).status_code == 200


def test_wrong_codes_in_a_row_are_throttled(client, senior, mfa_on):
    """Guessing is slowed down: straight after a wrong code even the right one is refused."""
    client.force_login(senior)
    device, _ = _enrol(client, senior)
    client.post(reverse("accounts:logout"))
    _sign_in(client, senior)
    assert client.post(reverse("accounts:mfa_verify"), {"code": "000000"}).status_code == 400
    device.refresh_from_db()
    refused = client.post(reverse("accounts:mfa_verify"), {"code": _code(device, 1)})
    assert refused.status_code == 400


def test_the_code_step_does_not_redirect_off_site(client, senior, mfa_on):
    client.force_login(senior)
    device, _ = _enrol(client, senior)
    client.post(reverse("accounts:logout"))
    _sign_in(client, senior)
    device.refresh_from_db()
    response = client.post(
        reverse("accounts:mfa_verify"),
        {"code": _code(device, 1), "next": "https://evil.example.org/"},
    )
    assert response.status_code == 302 and response["Location"] == reverse("accounts:home")
