import csv
from datetime import date
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.text import slugify

from accounts.permissions import Capability, capability_required
from codesets import selectors
from codesets.api import SEARCHABLE_SYSTEMS
from codesets.importers import SYSTEMS
from codesets.models import Release
from codesets.search import NoReleaseInForce, code_search

SEARCH_LIMIT = 50
DIFF_PAGE_SIZE = 200
DIFF_KINDS = [
    ("added", "Added"),
    ("deleted", "Deleted"),
    ("revised", "Revised"),
]
# Note kinds in the order a coder reads them, with a one-line reminder of what each means.
NOTE_GROUPS = [
    ("includes", "Includes", "Further defines or gives examples of the content of the code."),
    ("inclusion_term", "Inclusion terms", "Conditions classified to this code."),
    ("excludes1", "Excludes1", "Not coded here: never report together with this code."),
    (
        "excludes2",
        "Excludes2",
        "Not included here: both codes may be reported when both conditions are present.",
    ),
    ("code_first", "Code first", "Sequence the underlying condition first."),
    ("use_additional", "Use additional code", "Add a code for the detail named, if documented."),
    ("code_also", "Code also", "A second code may be needed; sequence by the circumstances."),
    ("note", "Notes", ""),
    ("seventh_character", "7th character", ""),
]
# Releases never change once imported, so their diff can be kept.
_SETTLED = {Release.Status.IMPORTED, Release.Status.ACTIVE, Release.Status.RETIRED}


def _date_param(request: HttpRequest) -> tuple[date | None, str]:
    raw = request.GET.get("date", "").strip()
    if not raw:
        return None, ""
    try:
        return date.fromisoformat(raw), ""
    except ValueError:
        return None, f"{raw!r} is not a date; use YYYY-MM-DD."


def _is_partial(request: HttpRequest) -> bool:
    """An htmx swap wants the fragment; a history restore wants the whole page."""
    return bool(request.headers.get("HX-Request")) and not request.headers.get(
        "HX-History-Restore-Request"
    )


@capability_required(Capability.SEARCH_CODES)
def search(request: HttpRequest) -> HttpResponse:
    system = request.GET.get("system", "icd10cm")
    if system not in SEARCHABLE_SYSTEMS:
        system = "icd10cm"
    query = request.GET.get("q", "").strip()[:200]
    on, error = _date_param(request)
    hits = []
    release = None
    if not error:
        release = selectors.release_in_force(system=system, on=on)
        if release is None:
            error = (
                f"No {SYSTEMS[system].name} release is in force on "
                f"{on.isoformat() if on else 'today'}. Pick another system or date, or ask an "
                "admin to import one."
            )
    if query and not error:
        try:
            hits = code_search(system=system, query=query, limit=SEARCH_LIMIT, on=on)
        except NoReleaseInForce as exc:
            error = str(exc)
    context = {
        "system": system,
        "system_name": SYSTEMS[system].name,
        "systems": [(s, SYSTEMS[s].name) for s in SEARCHABLE_SYSTEMS],
        "query": query,
        "date": request.GET.get("date", "").strip(),
        "hits": hits,
        "limit": SEARCH_LIMIT,
        "release": release,
        "error": error,
    }
    template = "codesets/search.html"
    if _is_partial(request):
        template += "#results"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _note_groups(detail: dict) -> list[dict]:
    """Notes by kind: the code's own first, then the nearest ancestor's, up to the chapter."""
    ancestors = detail["ancestors"]
    distance = {a["code"]: len(ancestors) - i for i, a in enumerate(ancestors)}
    kinds = {a["code"]: a["kind"] for a in ancestors}
    known = {kind for kind, _label, _hint in NOTE_GROUPS}
    groups = []
    for kind, label, hint in NOTE_GROUPS:
        notes = [
            {**note, "at_kind": kinds.get(note["at"], "")}
            for note in detail["notes"]
            if note["kind"] == kind
        ]
        notes.sort(key=lambda n: (n["inherited"], distance.get(n["at"], 0)))
        if notes:
            groups.append({"kind": kind, "label": label, "hint": hint, "notes": notes})
    others = [n for n in detail["notes"] if n["kind"] not in known]
    if others:
        groups.append({"kind": "other", "label": "Other notes", "hint": "", "notes": others})
    return groups


@capability_required(Capability.SEARCH_CODES)
def code_detail(request: HttpRequest, system: str, code: str) -> HttpResponse:
    if system not in SYSTEMS:
        raise Http404("Unknown code system.")
    on, date_error = _date_param(request)
    detail = selectors.code_detail(system=system, code=code, on=on)
    if detail is None:
        raise Http404(f"{code} is not a {system} code in the release in force.")
    context = {
        "detail": detail,
        "system": system,
        "system_name": SYSTEMS[system].name,
        "note_groups": _note_groups(detail),
        "date": on.isoformat() if on else "",
        "date_error": date_error,
    }
    return render(request, "codesets/code_detail.html", context)


@capability_required(Capability.VIEW_RELEASES)
def releases(request: HttpRequest) -> HttpResponse:
    release_rows = list(selectors.release_list())
    comparable: dict[str, list[Release]] = {}
    for release in release_rows:
        if release.status in _SETTLED:
            comparable.setdefault(release.system.slug, []).append(release)
    return render(
        request,
        "codesets/releases.html",
        {"releases": release_rows, "comparable": comparable},
    )


@capability_required(Capability.VIEW_RELEASES)
def release_compare(request: HttpRequest) -> HttpResponse:
    """The compare form on the releases page: two release ids → that diff's page."""
    try:
        old_id, new_id = int(request.GET["old"]), int(request.GET["new"])
    except (KeyError, ValueError):
        messages.error(request, "Pick two releases to compare.")
        return redirect("codesets:releases")
    if old_id == new_id:
        messages.error(request, "Pick two different releases to compare.")
        return redirect("codesets:releases")
    return redirect("codesets:release_diff", old_id=old_id, new_id=new_id)


def _diff_rows(diff: dict, show: str, prefix: str, text: str) -> list[dict]:
    """Rows of one kind of change (or every kind: show="all"), filtered by code prefix and by
    words in the code or either description."""
    kinds = [kind for kind, _label in DIFF_KINDS] if show == "all" else [show]
    rows = [{**row, "change": kind} for kind in kinds for row in diff[kind]]
    if prefix:
        wanted = prefix.replace(".", "").upper()
        rows = [row for row in rows if row["code"].replace(".", "").upper().startswith(wanted)]
    if text:
        needle = text.lower()
        rows = [
            row
            for row in rows
            if needle in row["code"].lower()
            or needle in row["before"].lower()
            or needle in row["after"].lower()
        ]
    return rows


def _cell(value: str) -> str:
    # A spreadsheet would run a cell starting with = + - @ as a formula.
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


def _diff_csv(old: Release, new: Release, rows: list[dict]) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = slugify(f"{old.label}-to-{new.label}") or "release-changes"
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    writer = csv.writer(response)
    writer.writerow(
        ["change", "code", f"description in {old.label}", f"description in {new.label}"]
    )
    for row in rows:
        writer.writerow(
            [_cell(row["change"]), _cell(row["code"]), _cell(row["before"]), _cell(row["after"])]
        )
    return response


@capability_required(Capability.VIEW_RELEASES)
def release_diff(request: HttpRequest, old_id: int, new_id: int) -> HttpResponse:
    old = get_object_or_404(Release.objects.select_related("system"), pk=old_id)
    new = get_object_or_404(Release.objects.select_related("system"), pk=new_id)
    if old.system_id != new.system_id:
        raise Http404("Both releases must belong to the same code system.")
    diff = selectors.release_changes(old=old, new=new)
    show = request.GET.get("show", "")
    if show not in diff and show != "all":
        show = next((kind for kind, _label in DIFF_KINDS if diff[kind]), "added")
    text = request.GET.get("q", "").strip()[:100]
    prefix = request.GET.get("prefix", "").strip()[:16]
    rows = _diff_rows(diff, show, prefix, text)
    if request.GET.get("format") == "csv":
        return _diff_csv(old, new, rows)
    show_all = request.GET.get("all") == "1"
    paginator = Paginator(rows, (len(rows) or 1) if show_all else DIFF_PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    filters = urlencode({"show": show, "prefix": prefix, "q": text})
    context = {
        "old": old,
        "new": new,
        "diff": diff,
        "kinds": [
            {"key": kind, "label": label, "count": len(diff[kind])} for kind, label in DIFF_KINDS
        ],
        "show": show,
        "show_label": "Changed" if show == "all" else dict(DIFF_KINDS)[show],
        "all_count": sum(len(v) for v in diff.values()),
        "total_of_kind": sum(len(v) for v in diff.values()) if show == "all" else len(diff[show]),
        "text": text,
        "prefix": prefix,
        "filters": filters,
        "page": page,
        "matched": len(rows),
        "show_all": show_all,
        "page_size": DIFF_PAGE_SIZE,
        "system_releases": [
            r for r in selectors.release_list(system=old.system.slug) if r.status in _SETTLED
        ],
        "base_url": reverse("codesets:release_diff", args=[old.pk, new.pk]),
    }
    template = "codesets/release_diff.html"
    if _is_partial(request):
        template += "#list"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response
