"""Per-request sign-in rules: idle sign-out, then the second sign-in step.

Both run after Django's and django-otp's middleware (they need request.user and its
is_verified()) and before any view, so no page, partial or API call is reachable while a step
is outstanding.
"""

import time
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

from accounts import mfa

LAST_ACTIVITY_KEY = "last_activity"
# Set once per session when an optional-role user has no device, to spare two queries a request.
NO_DEVICE_KEY = "mfa_no_device"


def _step_response(request: HttpRequest, url_name: str, **query: str) -> HttpResponse:
    """Send the user to a sign-in step in the way the caller understands: an htmx request
    follows HX-Redirect, the API answers JSON, a page redirects."""
    url = reverse(url_name)
    if request.method == "GET" and not request.headers.get("HX-Request"):
        query.setdefault("next", request.get_full_path())
    if query:
        url = f"{url}?{urlencode(query)}"
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"detail": "Finish signing in (second step) in the browser first."}, status=403
        )
    if request.headers.get("HX-Request"):
        response = HttpResponse(status=200)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


class SessionIdleMiddleware:
    """Signs out a session idle longer than SESSION_IDLE_MINUTES; the sign-in page says why."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated and hasattr(request, "session"):
            now = time.time()
            last = request.session.get(LAST_ACTIVITY_KEY)
            if last is not None and now - float(last) > settings.SESSION_IDLE_MINUTES * 60:
                logout(request)
                return _step_response(request, "accounts:login", timed_out="1")
            request.session[LAST_ACTIVITY_KEY] = now
        return self.get_response(request)


# Reachable while a sign-in step is outstanding: the steps themselves, sign-out and assets.
_OPEN_URL_NAMES = (
    "accounts:login",
    "accounts:logout",
    "accounts:mfa_enrol",
    "accounts:mfa_verify",
)


class MFAEnforcementMiddleware:
    """A signed-in user who must pass a second step is sent to it: to enrolment when their
    role requires MFA and they have no authenticator, to the code step when they have one
    and have not used it in this session."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._open_paths: tuple[str, ...] | None = None

    def _is_open(self, path: str) -> bool:
        if self._open_paths is None:
            self._open_paths = tuple(reverse(name) for name in _OPEN_URL_NAMES)
        static = "/" + settings.STATIC_URL.lstrip("/")
        return path.startswith(static) or path in self._open_paths or path == "/favicon.ico"

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            settings.MFA_ENFORCED
            and user.is_authenticated
            and hasattr(user, "is_verified")
            and not user.is_verified()
            and not self._is_open(request.path)
        ):
            step = self._step_for(request)
            if step:
                return _step_response(request, step)
        return self.get_response(request)

    def _step_for(self, request: HttpRequest) -> str | None:
        user = request.user
        required = mfa.mfa_required_for(user)
        if not required and request.session.get(NO_DEVICE_KEY):
            return None
        if mfa.mfa_enrolled(user):
            return "accounts:mfa_verify"
        if required:
            return "accounts:mfa_enrol"
        request.session[NO_DEVICE_KEY] = True
        return None
