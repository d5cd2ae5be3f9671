"""The "needs recode" list: open encounters a newly activated release affects."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.permissions import Capability, capability_required, has_capability, signed_in
from encounters import recode
from encounters.views.common import _is_htmx

PAGE_SIZE = 50
SHOW = [("open", "Needs recode"), ("resolved", "Resolved"), ("all", "All")]


@signed_in
def recode_list(request: HttpRequest) -> HttpResponse:
    """Coders (CODE_ENCOUNTERS) see the flags of the encounters they may open; release admins
    (MANAGE_RELEASES) see every flag without chart content. Checked here because either
    capability opens the page."""
    is_coder = has_capability(request.user, Capability.CODE_ENCOUNTERS)
    if not is_coder and not has_capability(request.user, Capability.MANAGE_RELEASES):
        raise PermissionDenied("Your role cannot see the needs-recode list.")
    show = request.GET.get("show") if request.GET.get("show") in dict(SHOW) else "open"
    rechecks = recode.rechecks_recent()
    running = any(r.status in ("queued", "running") for r in rechecks)
    if _is_htmx(request) and request.GET.get("part") == "progress":
        return render(
            request,
            "encounters/recode_list.html#recheck-progress",
            {"rechecks": rechecks, "running": running},
        )
    page = Paginator(
        recode.recode_flags_for(user=request.user, show=show).order_by("-created_at", "pk"),
        PAGE_SIZE,
    ).get_page(request.GET.get("page"))
    flags = list(page.object_list)
    # A flag whose encounter no longer carries the changed codes was fixed by the coder.
    fixed = {flag.pk for flag in recode.recode_flags_resolve_fixed(flags=flags)}
    return render(
        request,
        "encounters/recode_list.html",
        {
            "flags": flags,
            "page": page,
            "fixed": fixed,
            "show": show,
            "shows": SHOW,
            "rechecks": rechecks,
            "is_coder": is_coder,
            "running": running,
        },
    )


@capability_required(Capability.CODE_ENCOUNTERS)
@require_POST
def recode_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    """A coder marks a flag resolved: the codes stay as they are under the new release."""
    flag = get_object_or_404(recode.recode_flags_for(user=request.user, show="all"), pk=pk)
    try:
        recode.recode_flag_resolve(flag=flag, by=request.user)
    except recode.RecodeError as exc:
        messages.info(request, str(exc))
    else:
        messages.success(request, f"Resolved the recode flag on {flag.encounter.account_number}.")
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("encounters:recode_list")
