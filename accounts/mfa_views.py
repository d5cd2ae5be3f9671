"""Two-step sign-in pages: enrolment, the code step, recovery codes, turning it off."""

from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice

from accounts import mfa
from accounts.permissions import signed_in

NEW_CODES_KEY = "mfa_new_recovery_codes"


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("accounts:home")


def _needs_code(request: HttpRequest) -> bool:
    """Enrolled but not yet through the code step in this session."""
    return not request.user.is_verified() and mfa.mfa_enrolled(request.user)


@signed_in
def mfa_verify(request: HttpRequest) -> HttpResponse:
    """The second sign-in step: a code from the authenticator app, or a recovery code."""
    if request.user.is_verified() or not mfa.mfa_enrolled(request.user):
        return redirect(_next_url(request))
    error = ""
    if request.method == "POST":
        device = mfa.mfa_verify_token(user=request.user, token=request.POST.get("code", ""))
        if device is not None:
            otp_login(request, device)
            if isinstance(device, StaticDevice):
                left = mfa.recovery_codes_remaining(request.user)
                messages.warning(
                    request,
                    f"You signed in with a recovery code; it cannot be used again. {left} left"
                    " — make new ones under Two-step sign-in if you are running low.",
                )
            return redirect(_next_url(request))
        error = "That code is not right. Enter the 6 digits your app shows now, or a recovery code."
    return render(
        request,
        "accounts/mfa/verify.html",
        {"error": error, "next": request.POST.get("next") or request.GET.get("next", "")},
        status=200 if not error else 400,
    )


@signed_in
def mfa_enrol(request: HttpRequest) -> HttpResponse:
    """Set up an authenticator app: QR code and secret, confirmed with a first code."""
    if _needs_code(request):
        # Replacing the authenticator needs the current one first.
        query = urlencode({"next": reverse("accounts:mfa_enrol")})
        return redirect(f"{reverse('accounts:mfa_verify')}?{query}")
    device = mfa.totp_device_pending(request.user)
    error = ""
    if request.method == "POST":
        codes = mfa.totp_enrol_confirm(
            user=request.user, device=device, token=request.POST.get("code", "")
        )
        if codes is not None:
            otp_login(request, device)
            request.session[NEW_CODES_KEY] = codes
            request.session.pop("mfa_no_device", None)
            query = urlencode({"next": _next_url(request)})
            return redirect(f"{reverse('accounts:mfa_recovery_codes')}?{query}")
        error = (
            "That code is not right. Check the app shows Coding Bench and enter the 6 digits "
            "it shows now."
        )
    context = {
        "qr_svg": mfa.totp_qr_svg(device),
        "secret": mfa.totp_secret_text(device),
        "error": error,
        "required": mfa.mfa_required_for(request.user),
        "replacing": mfa.mfa_enrolled(request.user),
        "next": request.POST.get("next") or request.GET.get("next", ""),
    }
    return render(request, "accounts/mfa/enrol.html", context, status=400 if error else 200)


@signed_in
def mfa_recovery_codes(request: HttpRequest) -> HttpResponse:
    """New recovery codes, shown this once (they are kept only in their stored form)."""
    codes = request.session.pop(NEW_CODES_KEY, None)
    if not codes:
        return redirect("accounts:mfa_settings")
    return render(
        request,
        "accounts/mfa/recovery_codes.html",
        {"codes": codes, "next": _next_url(request)},
    )


@signed_in
@require_POST
def mfa_recovery_regenerate(request: HttpRequest) -> HttpResponse:
    if not mfa.mfa_enrolled(request.user):
        messages.error(request, "Set up an authenticator app first.")
        return redirect("accounts:mfa_settings")
    request.session[NEW_CODES_KEY] = mfa.recovery_codes_generate(user=request.user)
    return redirect("accounts:mfa_recovery_codes")


@signed_in
def mfa_settings(request: HttpRequest) -> HttpResponse:
    """The user's own two-step sign-in: status, new recovery codes, turning it off."""
    context = {
        "enrolled": mfa.mfa_enrolled(request.user),
        "required": mfa.mfa_required_for(request.user),
        "codes_left": mfa.recovery_codes_remaining(request.user),
        "disable_error": "",
    }
    return render(request, "accounts/mfa/settings.html", context)


@signed_in
@require_POST
def mfa_disable(request: HttpRequest) -> HttpResponse:
    """Turn two-step sign-in off (roles that do not require it), confirmed with a code."""
    if mfa.mfa_required_for(request.user):
        messages.error(request, "Your role must keep two-step sign-in.")
        return redirect("accounts:mfa_settings")
    if mfa.mfa_verify_token(user=request.user, token=request.POST.get("code", "")) is None:
        context = {
            "enrolled": mfa.mfa_enrolled(request.user),
            "required": False,
            "codes_left": mfa.recovery_codes_remaining(request.user),
            "disable_error": "That code is not right; two-step sign-in is still on.",
        }
        return render(request, "accounts/mfa/settings.html", context, status=400)
    mfa.mfa_disable(user=request.user)
    messages.success(request, "Two-step sign-in is off. You sign in with your password only.")
    return redirect("accounts:mfa_settings")
