from datetime import date

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from accounts.permissions import Capability, capability_required
from codesets import selectors
from codesets.api import SEARCHABLE_SYSTEMS
from codesets.importers import SYSTEMS
from codesets.models import Release
from codesets.search import NoReleaseInForce, code_search


def _date_param(request: HttpRequest) -> tuple[date | None, str]:
    raw = request.GET.get("date", "").strip()
    if not raw:
        return None, ""
    try:
        return date.fromisoformat(raw), ""
    except ValueError:
        return None, f"{raw!r} is not a date; use YYYY-MM-DD."


@capability_required(Capability.SEARCH_CODES)
def search(request: HttpRequest) -> HttpResponse:
    system = request.GET.get("system", "icd10cm")
    if system not in SEARCHABLE_SYSTEMS:
        system = "icd10cm"
    query = request.GET.get("q", "").strip()[:200]
    on, error = _date_param(request)
    hits = []
    if query and not error:
        try:
            hits = code_search(system=system, query=query, limit=50, on=on)
        except NoReleaseInForce as exc:
            error = str(exc)
    context = {
        "system": system,
        "systems": [(s, SYSTEMS[s].name) for s in SEARCHABLE_SYSTEMS],
        "query": query,
        "date": request.GET.get("date", ""),
        "hits": hits,
        "error": error,
    }
    template = "codesets/search.html"
    if request.headers.get("HX-Request"):
        template += "#results"
    return render(request, template, context)


@capability_required(Capability.SEARCH_CODES)
def code_detail(request: HttpRequest, system: str, code: str) -> HttpResponse:
    if system not in SYSTEMS:
        raise Http404("Unknown code system.")
    on, _error = _date_param(request)
    detail = selectors.code_detail(system=system, code=code, on=on)
    if detail is None:
        raise Http404(f"{code} is not a {system} code in the release in force.")
    return render(request, "codesets/code_detail.html", {"detail": detail, "system": system})


@capability_required(Capability.VIEW_RELEASES)
def releases(request: HttpRequest) -> HttpResponse:
    return render(request, "codesets/releases.html", {"releases": selectors.release_list()})


@capability_required(Capability.VIEW_RELEASES)
def release_diff(request: HttpRequest, old_id: int, new_id: int) -> HttpResponse:
    old = get_object_or_404(Release.objects.select_related("system"), pk=old_id)
    new = get_object_or_404(Release.objects.select_related("system"), pk=new_id)
    if old.system_id != new.system_id:
        raise Http404("Both releases must belong to the same code system.")
    diff = selectors.release_diff(old=old, new=new)
    return render(request, "codesets/release_diff.html", {"old": old, "new": new, "diff": diff})
