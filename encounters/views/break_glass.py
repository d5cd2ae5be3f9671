"""Break the glass: open a chart outside one's work, with a reason that is logged, time-limited
and reviewed by a senior coder.

A chart the user may not open raises selectors.BreakGlassRequired; BreakGlassMiddleware answers
a plain page request for it with this page (status 403), anything else (htmx, POST, API) stays
a plain 403.
"""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.permissions import Capability, capability_required
from encounters import phi, selectors
from encounters.models import Encounter


class BreakGlassForm(forms.Form):
    reason = forms.CharField(
        label="Reason",
        min_length=phi.BREAK_GLASS_MIN_REASON,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=f"At least {phi.BREAK_GLASS_MIN_REASON} characters. Logged with your name "
        "and reviewed by a senior coder.",
        error_messages={
            "required": "Say why you need this chart.",
            "min_length": f"Say why you need this chart (at least {phi.BREAK_GLASS_MIN_REASON} "
            "characters).",
        },
    )
    next = forms.CharField(widget=forms.HiddenInput, required=False)


def _safe_next(request: HttpRequest, target: str, encounter: Encounter) -> str:
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return f"/encounters/{encounter.pk}/"


def _page(request: HttpRequest, encounter: Encounter, form: BreakGlassForm, status: int):
    # Before the glass is broken the page shows no PHI: the account number and status only.
    context = {"encounter": encounter, "form": form, "hours": _hours()}
    return render(request, "encounters/break_glass.html", context, status=status)


def _hours() -> int:
    return settings.BREAK_GLASS_HOURS


@capability_required(Capability.VIEW_CHARTS)
def break_glass(request: HttpRequest, pk: int) -> HttpResponse:
    encounter = Encounter.objects.filter(pk=pk).first()
    if encounter is None:
        raise Http404("No such encounter.")
    target = request.POST.get("next") or request.GET.get("next", "")
    if request.method != "POST":
        if selectors.encounters_visible_to(user=request.user).filter(pk=pk).exists():
            return redirect(_safe_next(request, target, encounter))
        return _page(request, encounter, BreakGlassForm(initial={"next": target}), 200)
    form = BreakGlassForm(request.POST)
    if form.is_valid():
        try:
            phi.break_glass_open(
                user=request.user,
                encounter=encounter,
                reason=form.cleaned_data["reason"],
                ip_address=request.META.get("REMOTE_ADDR"),
                user_agent=request.META.get("HTTP_USER_AGENT", ""),
            )
        except ValidationError as exc:
            for message in exc.message_dict.get("reason", exc.messages):
                form.add_error("reason", message)
        else:
            messages.warning(
                request,
                f"You broke the glass for {encounter.account_number}: the chart is open to you "
                f"for {_hours()} hours. Your reason is logged for review.",
            )
            return redirect(_safe_next(request, form.cleaned_data["next"], encounter))
    return _page(request, encounter, form, 400)


@capability_required(Capability.REVIEW_PHI_ACCESS)
@require_POST
def break_glass_review(request: HttpRequest, glass_id: int) -> HttpResponse:
    try:
        phi.break_glass_review(
            by=request.user, glass_id=glass_id, note=request.POST.get("note", "")
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Break-the-glass access marked reviewed.")
    return redirect(f"{_access_review_url()}#break-glass")


def _access_review_url() -> str:
    return reverse("audits:access_review")


class BreakGlassMiddleware:
    """Turns a refused chart into the break-the-glass page for page requests."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception):
        if not isinstance(exception, selectors.BreakGlassRequired):
            return None
        if request.method != "GET" or request.headers.get("HX-Request"):
            return None
        if request.path.startswith("/api/"):
            return None
        form = BreakGlassForm(initial={"next": request.get_full_path()})
        return _page(request, exception.encounter, form, 403)
