"""User administration pages: list, create or invite, role, deactivate, password and MFA reset.

Views parse the form, call one service in accounts/users.py and render; every change is
recorded there (UserChange). The set-password page is public: the link's token is the check.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.forms import SetPasswordForm
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts import lockout, users
from accounts.models import CODER_ROLES, Role, User
from accounts.permissions import Capability, capability_required, public

PAGE_SIZE = 50
ACTIVE_CHOICES = [("", "Active and inactive"), ("active", "Active"), ("inactive", "Inactive")]
ALSO_CODER_CHOICES = [("", "No — administration only"), *((r.value, r.label) for r in CODER_ROLES)]


class UserCreateForm(forms.Form):
    username = forms.CharField(max_length=150, help_text="What they type to sign in.")
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    email = forms.EmailField(required=False, help_text="The invitation link is sent here.")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.JUNIOR)
    also_coder_role = forms.ChoiceField(
        choices=ALSO_CODER_CHOICES,
        required=False,
        label="Also a coder (admins only)",
        help_text="Admins see no chart content unless they also hold a coder role.",
    )
    how = forms.ChoiceField(
        choices=[
            ("invite", "Invite: they choose their own password through a one-time link"),
            ("password", "Set an initial password now"),
        ],
        initial="invite",
        widget=forms.RadioSelect,
        label="Password",
    )
    password = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        label="Initial password",
        help_text="At least 12 characters; only when setting a password now.",
    )

    def clean(self) -> dict:
        data = super().clean()
        if data.get("how") == "password" and not data.get("password"):
            self.add_error("password", "Type the initial password, or choose to invite.")
        if data.get("how") == "invite" and not data.get("email"):
            # Still possible: the admin hands over the link shown on screen.
            pass
        if data.get("also_coder_role") and data.get("role") != Role.ADMIN:
            self.add_error("also_coder_role", "Only an admin can also hold a coder role.")
        return data


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)
    also_coder_role = forms.ChoiceField(
        choices=ALSO_CODER_CHOICES, required=False, label="Also a coder (admins only)"
    )


class DetailsForm(forms.Form):
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    email = forms.EmailField(required=False)


def _user_for(user_id: int) -> User:
    return get_object_or_404(User, pk=user_id)


def _base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/")


def _link_message(request: HttpRequest, user: User, link: users.SetPasswordLink, what: str):
    url = request.build_absolute_uri(link.path)
    sent = f" and emailed to {user.email}" if link.emailed else " (no email address: hand it over)"
    messages.success(
        request,
        f"{what} Set-password link for {user.username}{sent}: {url} — it works once.",
    )


@capability_required(Capability.MANAGE_USERS)
def user_list(request: HttpRequest) -> HttpResponse:
    role = request.GET.get("role", "")
    active = request.GET.get("active", "")
    search = request.GET.get("q", "").strip()[:100]
    rows = users.user_list(role=role, active=active, search=search)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    for person in page.object_list:
        person.status_badge, person.status_label = users.user_status(person)
    context = {
        "page": page,
        "role": role if role in Role.values else "",
        "active": active if active in ("active", "inactive") else "",
        "q": search,
        "roles": Role.choices,
        "active_choices": ACTIVE_CHOICES,
        "summary": users.user_summary(),
        "filtered": bool(role or active or search),
    }
    return render(request, "accounts/users/list.html", context)


@capability_required(Capability.MANAGE_USERS)
def user_new(request: HttpRequest) -> HttpResponse:
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user, link = users.user_admin_create(
                actor=request.user,
                username=data["username"],
                first_name=data["first_name"],
                last_name=data["last_name"],
                email=data["email"],
                role=data["role"],
                also_coder_role=data["also_coder_role"] or "",
                password=data["password"] if data["how"] == "password" else "",
                base_url=_base_url(request),
            )
        except users.UserAdminError as exc:
            form.add_error(None, str(exc))
        except ValidationError as exc:
            # Password rules and model checks: shown on the field they are about.
            field = "password" if data["how"] == "password" else None
            for message in exc.messages:
                form.add_error(field, message)
        else:
            if link:
                _link_message(request, user, link, f"{user.username} is invited.")
            else:
                messages.success(request, f"{user.username} can sign in now.")
            return redirect("accounts:user_detail", user_id=user.pk)
    return render(request, "accounts/users/new.html", {"form": form})


def _detail_context(request: HttpRequest, user: User, **forms_: forms.Form) -> dict:
    from django_otp import devices_for_user

    return {
        "person": user,
        "changes": users.user_changes(user=user)[:200],
        "role_form": forms_.get("role_form")
        or RoleForm(initial={"role": user.role, "also_coder_role": user.also_coder_role}),
        "details_form": forms_.get("details_form")
        or DetailsForm(
            initial={
                "first_name": user.first_name,
                "last_name": user.last_name,
                "email": user.email,
            }
        ),
        "devices": list(devices_for_user(user, confirmed=None)),
        "failed_signins": lockout.failed_signins(user),
        "invite_pending": users.user_has_pending_invite(user),
        "status": users.user_status(user),
        "is_self": user.pk == request.user.pk,
    }


@capability_required(Capability.MANAGE_USERS)
def user_detail(request: HttpRequest, user_id: int) -> HttpResponse:
    user = _user_for(user_id)
    return render(request, "accounts/users/detail.html", _detail_context(request, user))


@capability_required(Capability.MANAGE_USERS)
@require_POST
def user_role(request: HttpRequest, user_id: int) -> HttpResponse:
    user = _user_for(user_id)
    form = RoleForm(request.POST)
    if form.is_valid():
        before = user.role_label
        try:
            user = users.user_role_change(
                actor=request.user,
                user=user,
                role=form.cleaned_data["role"],
                also_coder_role=form.cleaned_data["also_coder_role"] or "",
            )
        except users.UserAdminError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"{user.username}: role {before} → {user.role_label}.")
            return redirect("accounts:user_detail", user_id=user.pk)
    context = _detail_context(request, user, role_form=form)
    return render(request, "accounts/users/detail.html", context, status=400)


@capability_required(Capability.MANAGE_USERS)
@require_POST
def user_details(request: HttpRequest, user_id: int) -> HttpResponse:
    user = _user_for(user_id)
    form = DetailsForm(request.POST)
    if form.is_valid():
        try:
            user = users.user_details_change(actor=request.user, user=user, **form.cleaned_data)
        except (users.UserAdminError, ValidationError) as exc:
            for message in getattr(exc, "messages", [str(exc)]):
                form.add_error(None, message)
        else:
            messages.success(request, f"{user.username}: details saved.")
            return redirect("accounts:user_detail", user_id=user.pk)
    context = _detail_context(request, user, details_form=form)
    return render(request, "accounts/users/detail.html", context, status=400)


def _simple_action(request: HttpRequest, user_id: int, action, done: str) -> HttpResponse:
    user = _user_for(user_id)
    try:
        action(user)
    except users.UserAdminError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, done.format(username=user.username))
    return redirect("accounts:user_detail", user_id=user.pk)


@capability_required(Capability.MANAGE_USERS)
@require_POST
def user_deactivate(request: HttpRequest, user_id: int) -> HttpResponse:
    reason = request.POST.get("reason", "")
    return _simple_action(
        request,
        user_id,
        lambda u: users.user_deactivate(actor=request.user, user=u, reason=reason),
        "{username} is deactivated: they can no longer sign in. Their history stays.",
    )


@capability_required(Capability.MANAGE_USERS)
@require_POST
def user_reactivate(request: HttpRequest, user_id: int) -> HttpResponse:
    return _simple_action(
        request,
        user_id,
        lambda u: users.user_reactivate(actor=request.user, user=u),
        "{username} is active again and can sign in.",
    )


@capability_required(Capability.MANAGE_USERS)
@require_POST
def user_reset_password(request: HttpRequest, user_id: int) -> HttpResponse:
    user = _user_for(user_id)
    link = users.user_password_reset(actor=request.user, user=user, base_url=_base_url(request))
    _link_message(request, user, link, f"{user.username}'s password no longer works.")
    return redirect("accounts:user_detail", user_id=user.pk)


@capability_required(Capability.MANAGE_USERS)
@require_POST
def user_reset_mfa(request: HttpRequest, user_id: int) -> HttpResponse:
    user = _user_for(user_id)
    removed = users.user_mfa_reset(actor=request.user, user=user)
    messages.success(
        request,
        f"{user.username}: {removed} MFA device{'s' if removed != 1 else ''} removed; "
        "they enrol again at their next sign-in.",
    )
    return redirect("accounts:user_detail", user_id=user.pk)


@capability_required(Capability.MANAGE_USERS)
@require_POST
def user_unlock(request: HttpRequest, user_id: int) -> HttpResponse:
    """Lift a sign-in lockout (django-axes) before the cool-off ends."""
    user = _user_for(user_id)
    lockout.signin_unlock(actor=request.user, user=user)
    messages.success(request, f"{user.username} can sign in again: failed sign-ins cleared.")
    return redirect("accounts:user_detail", user_id=user.pk)


@public
def set_password(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    """The page an invitation or reset link opens. Django's token check: the link works once
    (the token covers the password hash) and expires after PASSWORD_RESET_TIMEOUT."""
    user = users.user_from_uid(uidb64)
    if not users.set_password_token_valid(user, token) or not user.is_active:
        return render(request, "accounts/users/set_password.html", {"valid": False}, status=200)
    form = SetPasswordForm(user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        users.user_password_chosen(user=user, password=form.cleaned_data["new_password1"])
        messages.success(request, "Your password is set. Sign in with it now.")
        return redirect("accounts:login")
    return render(
        request, "accounts/users/set_password.html", {"valid": True, "form": form, "person": user}
    )
