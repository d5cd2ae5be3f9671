from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.permissions import HOME_URL_NAME, Capability, capability_required, public, signed_in


class SignInView(auth_views.LoginView):
    """The password step. A second step (accounts.middleware) follows for users with an
    authenticator; django-axes counts failures and locks (see lockout_response)."""

    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["timed_out"] = self.request.GET.get("timed_out") == "1"
        context["idle_minutes"] = settings.SESSION_IDLE_MINUTES
        return context


login_view = public(SignInView.as_view())


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None
) -> HttpResponse:
    """django-axes' AXES_LOCKOUT_CALLABLE: the sign-in page with the reason, in plain words."""
    from axes.helpers import get_client_username

    context = {
        "locked_out": True,
        "cooloff_minutes": round(settings.AXES_COOLOFF_TIME * 60),
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "username_value": get_client_username(request, credentials) or "",
        "idle_minutes": settings.SESSION_IDLE_MINUTES,
        "next": request.POST.get("next", "") if request.method == "POST" else "",
    }
    return render(request, "accounts/login.html", context, status=429)


logout_view = public(require_POST(auth_views.LogoutView.as_view()))


@signed_in
def home(request: HttpRequest) -> HttpResponse:
    return redirect(HOME_URL_NAME[request.user.role])


@capability_required(Capability.MANAGE_USERS)
def admin_home(request: HttpRequest) -> HttpResponse:
    """The admin's landing page: users at a glance, releases that need a decision, links."""
    from accounts.users import user_changes_recent, user_summary
    from codesets.release_admin import releases_needing_attention

    context = {
        "user_summary": user_summary(),
        "recent_changes": user_changes_recent(limit=8),
        "attention": list(releases_needing_attention()[:12]),
    }
    return render(request, "accounts/admin_home.html", context)
