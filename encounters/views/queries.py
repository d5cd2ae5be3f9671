"""Physician (CDI) queries: write one, record the answer or withdraw it, and the aging list."""

from datetime import datetime
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from accounts.permissions import Capability, capability_required
from encounters import queries, selectors
from encounters.models import Encounter, PhysicianQuery
from encounters.views.common import _message_of

AGING_PAGE_SIZE = 50
AGE_LABELS = [("", "Any age"), ("2", "Open more than 2 days"), ("7", "Open more than 7 days")]


def _indicators_from(request: HttpRequest, encounter: Encounter) -> list[dict]:
    """Indicators picked in the browser ("doc:start:end"), plus passages pasted as text
    (one a line, found in the encounter's documents) for use without JavaScript."""
    picked: list[dict] = []
    for value in request.POST.getlist("indicator"):
        parts = value.split(":")
        if len(parts) != 3 or not all(p.strip().lstrip("-").isdigit() for p in parts):
            raise ValidationError({"clinical_indicators": "A clinical indicator is malformed."})
        picked.append({"document_id": parts[0], "start": parts[1], "end": parts[2]})
    pasted = [line.strip() for line in request.POST.get("indicator_text", "").splitlines()]
    documents = list(encounter.documents.all()) if any(pasted) else []
    for line in filter(None, pasted):
        for document in documents:
            at = document.text.find(line)
            if at >= 0:
                picked.append({"document_id": document.pk, "start": at, "end": at + len(line)})
                break
        else:
            raise ValidationError(
                {
                    "clinical_indicators": f"“{line[:80]}” is not in this encounter's documents; "
                    "paste it exactly as written, or select it in the document."
                }
            )
    return picked


FORM_FIELDS = {"provider", "clinical_indicators", "question", "options"}


def _error_dict(exc: ValidationError) -> dict[str, list[str]]:
    """Errors by form field; what belongs to no field of the form goes on top ("general")."""
    if not hasattr(exc, "error_dict"):
        return {"general": list(exc.messages)}
    errors: dict[str, list[str]] = {}
    for field, field_errors in exc.error_dict.items():
        key = field if field in FORM_FIELDS else "general"
        errors.setdefault(key, []).extend(m for e in field_errors for m in e.messages)
    return errors


def _text_html(text: str) -> str:
    # Same rendering as the workspace, so browser offsets match Document.text.
    return mark_safe(escape(text).replace("\r", "&#13;"))


def _picked_for_display(encounter: Encounter, picked: list[dict]) -> list[dict]:
    """Echo the indicators back on a refused form (only those that are valid passages)."""
    documents = {d.pk: d for d in encounter.documents.all()}
    shown = []
    for item in picked:
        try:
            document = documents.get(int(item["document_id"]))
            start, end = int(item["start"]), int(item["end"])
        except (TypeError, ValueError):
            continue
        if document and 0 <= start < end <= len(document.text):
            shown.append(
                {
                    "value": f"{document.pk}:{start}:{end}",
                    "quote": document.text[start:end],
                    "title": document.title,
                }
            )
    return shown


@capability_required(Capability.MANAGE_QUERIES)
def query_new(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the query form beside the documents. POST: send the query."""
    encounter = selectors.encounter_get_for(user=request.user, pk=pk)
    values = {
        "kind": PhysicianQuery.Kind.OPEN,
        "provider": encounter.provider,
        "question": "",
        "options": "",
        "indicator_text": "",
    }
    errors: dict[str, list[str]] = {}
    picked: list[dict] = []
    if request.method == "POST":
        values = {key: request.POST.get(key, "") for key in values}
        try:
            picked = _indicators_from(request, encounter)
            values["indicator_text"] = ""  # pasted passages are now picked ones
            query = queries.query_send(
                encounter=encounter,
                by=request.user,
                kind=values["kind"],
                provider=values["provider"],
                question=values["question"],
                clinical_indicators=picked,
                options=values["options"].splitlines(),
            )
        except (ValidationError, PermissionDenied) as exc:
            errors = (
                _error_dict(exc)
                if isinstance(exc, ValidationError)
                else {"general": [_message_of(exc)]}
            )
        else:
            messages.success(
                request,
                f"Query sent to {query.provider}; the encounter is waiting for the answer "
                "(query pending).",
            )
            return redirect("encounters:workspace", pk=encounter.pk)
    documents = list(encounter.documents.all())
    selectors.chart_open(
        user=request.user, encounter=encounter, documents=documents, request=request
    )
    for document in documents:
        document.text_html = _text_html(document.text)
    context = {
        "encounter": encounter,
        "patient": encounter.patient,
        "documents": documents,
        "values": values,
        "errors": errors,
        "picked": _picked_for_display(encounter, picked),
        "kinds": PhysicianQuery.Kind.choices,
        "required_options": queries.REQUIRED_OPTIONS,
        "rules": queries.LEADING_RULES,
        "queryable": encounter.status in queries.QUERYABLE,
    }
    return render(request, "encounters/query_new.html", context, status=400 if errors else 200)


def _back(request: HttpRequest, encounter: Encounter) -> HttpResponse:
    if request.POST.get("from") == "list":
        return redirect("encounters:queries")
    return redirect("encounters:workspace", pk=encounter.pk)


def _query_of(request: HttpRequest, encounter: Encounter) -> PhysicianQuery:
    raw = request.POST.get("query_id", "")
    return queries.query_get_for(
        user=request.user, encounter=encounter, pk=int(raw) if raw.isdigit() else 0
    )


def _datetime_or_none(value: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValidationError({"answered_at": "Give the answer time as date and time."}) from exc
    return timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed


@capability_required(Capability.MANAGE_QUERIES)
@require_POST
def query_answer(request: HttpRequest, pk: int) -> HttpResponse:
    encounter = selectors.encounter_get_for(user=request.user, pk=pk)
    query = _query_of(request, encounter)
    try:
        query = queries.query_answer(
            query=query,
            by=request.user,
            answer=request.POST.get("answer", ""),
            option=request.POST.get("option", ""),
            answered_by=request.POST.get("answered_by", ""),
            answered_at=_datetime_or_none(request.POST.get("answered_at", "")),
        )
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, f"Answer not recorded. {_message_of(exc)}")
    else:
        encounter.refresh_from_db()
        back = " The encounter is back in coding." if encounter.status == "coding" else ""
        messages.success(request, f"Answer from {query.answered_by} recorded.{back}")
    return _back(request, encounter)


@capability_required(Capability.MANAGE_QUERIES)
@require_POST
def query_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    encounter = selectors.encounter_get_for(user=request.user, pk=pk)
    query = _query_of(request, encounter)
    try:
        queries.query_withdraw(query=query, by=request.user, reason=request.POST.get("reason", ""))
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, f"Query not withdrawn. {_message_of(exc)}")
    else:
        encounter.refresh_from_db()
        back = " The encounter is back in coding." if encounter.status == "coding" else ""
        messages.success(request, f"Query withdrawn.{back}")
    return _back(request, encounter)


@capability_required(Capability.MANAGE_QUERIES)
def query_list(request: HttpRequest) -> HttpResponse:
    """Query aging: open queries oldest first; answered and withdrawn ones on their own tab."""
    tab = "closed" if request.GET.get("tab") == "closed" else "open"
    provider = request.GET.get("provider", "").strip()
    age = request.GET.get("age", "")
    older_than = queries.AGE_FILTERS.get(age)
    rows = queries.query_aging_for(
        user=request.user, tab=tab, provider=provider, older_than_days=older_than
    )
    page = Paginator(rows, AGING_PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    for query in page.object_list:
        query.days_open = queries.days_open(query, now)
    filter_query = urlencode(
        [(k, v) for k, v in (("provider", provider), ("age", age if older_than else "")) if v]
    )
    context = {
        "tab": tab,
        "page": page,
        "rows": page.object_list,
        "providers": queries.query_providers_for(user=request.user),
        "provider": provider,
        "age": age if older_than else "",
        "age_labels": AGE_LABELS,
        "filter_query": filter_query,
        "filtered": bool(provider or older_than),
        "open_count": queries.query_aging_for(user=request.user).count(),
    }
    return render(request, "encounters/query_list.html", context)
