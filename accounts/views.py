from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.permissions import HOME_URL_NAME, Capability, capability_required, public, signed_in

login_view = public(
    auth_views.LoginView.as_view(
        template_name="accounts/login.html", redirect_authenticated_user=True
    )
)
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
