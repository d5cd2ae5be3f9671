"""Practice charts: the coder's practice page and results, and the seniors' case library."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.safestring import SafeString
from django.views.decorators.http import require_POST

from accounts.permissions import Capability, capability_required, has_capability
from audits.charts import Bar, Series, line_chart
from audits.practice import library, selectors, services
from audits.practice.selectors import CoderPractice
from encounters.models import Encounter
from encounters.selectors import encounters_visible_to
from encounters.views.common import _message_of


def _trend(stats: CoderPractice) -> SafeString | None:
    if len(stats.series) < 2:
        return None
    return line_chart(
        title="Practice accuracy over time",
        desc="Share of codes that agreed with the answer key, per scored attempt: "
        + "; ".join(f"{label}: {value:.0%}" for label, value in stats.series),
        series=[Series("Codes agreed", [Bar(label, value) for label, value in stats.series])],
        lo=0.0,
        hi=1.0,
        height=200,
    )


@capability_required(Capability.CODE_ENCOUNTERS)
def practice(request: HttpRequest) -> HttpResponse:
    """Cases to practise, my attempts with their scores, and my accuracy over time."""
    stats = selectors.practice_stats_for(coder=request.user)
    attempts = list(selectors.practice_attempts_of(coder=request.user)[:50])
    for attempt in attempts:
        attempt.score = selectors.score_of(attempt)
    return render(
        request,
        "audits/practice/practice.html",
        {
            "cases": selectors.practice_cases_available(user=request.user),
            "attempts": attempts,
            "stats": stats,
            "trend": _trend(stats),
            "can_manage": has_capability(request.user, Capability.MANAGE_PRACTICE_CASES),
        },
    )


@capability_required(Capability.CODE_ENCOUNTERS)
@require_POST
def practice_start(request: HttpRequest, case_id: int) -> HttpResponse:
    case = selectors.practice_case_get_for(user=request.user, pk=case_id)
    try:
        attempt = services.practice_attempt_start(case=case, by=request.user)
    except ValidationError as exc:
        messages.error(request, _message_of(exc))
        return redirect("audits:practice")
    return redirect("encounters:workspace", pk=attempt.encounter_id)


@capability_required(Capability.CODE_ENCOUNTERS)
def practice_result(request: HttpRequest, attempt_id: int) -> HttpResponse:
    attempt = selectors.practice_attempt_get_for(user=request.user, pk=attempt_id)
    if attempt.status != attempt.Status.SCORED:
        return redirect("encounters:workspace", pk=attempt.encounter_id)
    return render(
        request,
        "audits/practice/result.html",
        {"attempt": attempt, "case": attempt.case, **selectors.practice_result(attempt)},
    )


# --- seniors: the case library ----------------------------------------------------------------


@capability_required(Capability.MANAGE_PRACTICE_CASES)
def practice_cases(request: HttpRequest) -> HttpResponse:
    coders = selectors.practice_coder_stats()
    return render(
        request,
        "audits/practice/cases.html",
        {
            "cases": selectors.practice_case_library(),
            "coders": coders,
            "codiesp_available": library.codiesp_path().is_file(),
        },
    )


@capability_required(Capability.MANAGE_PRACTICE_CASES)
@require_POST
def practice_import(request: HttpRequest) -> HttpResponse:
    what = request.POST.get("source", "")
    try:
        if what == "demo":
            report = library.practice_demo_import(by=request.user)
        elif what == "codiesp":
            if not library.codiesp_path().is_file():
                raise ValidationError("The CodiEsp files are not on this server.")
            limit = int(request.POST.get("limit") or 10)
            if not 1 <= limit <= 100:
                raise ValidationError("Import between 1 and 100 CodiEsp cases at a time.")
            library.practice_codiesp_import_queue(by=request.user, limit=limit)
            messages.success(
                request,
                f"Importing {limit} CodiEsp case{'s' if limit > 1 else ''} in the background: "
                "they appear in the library when ready (a few seconds each).",
            )
            return redirect("audits:practice_cases")
        else:
            raise ValidationError("Choose what to import.")
    except ValueError:
        messages.error(request, "The number of cases must be a whole number.")
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, _message_of(exc))
    else:
        messages.success(request, report.summary())
    return redirect("audits:practice_cases")


@capability_required(Capability.MANAGE_PRACTICE_CASES)
@require_POST
def practice_case_from_encounter(request: HttpRequest) -> HttpResponse:
    """'Make practice case' from a coded encounter the senior may open, by account number."""
    account = request.POST.get("account_number", "").strip()
    encounter = (
        encounters_visible_to(user=request.user).filter(account_number=account).first()
        if account
        else None
    )
    if encounter is None:
        messages.error(request, f"No coded encounter {account!r} that you may open.")
        return redirect("audits:practice_cases")
    try:
        case = services.practice_case_from_encounter(
            encounter=Encounter.objects.select_related("patient").get(pk=encounter.pk),
            by=request.user,
            title=request.POST.get("title", ""),
        )
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, _message_of(exc))
        return redirect("audits:practice_cases")
    messages.success(
        request,
        "Practice case made on a fictional patient. Read the documents for any identity left "
        "in the text, and check the answer key.",
    )
    return redirect("audits:practice_case", case_id=case.pk)


def _lines(key: dict, kind: str) -> str:
    if kind == "diagnoses":
        return "\n".join(
            f"{d['code']} {d.get('poa') or ''}".strip() for d in key.get("diagnoses") or []
        )
    return "\n".join(
        " ".join([p["code"], *(p.get("modifiers") or [])]) for p in key.get("procedures") or []
    )


@capability_required(Capability.MANAGE_PRACTICE_CASES)
def practice_case(request: HttpRequest, case_id: int) -> HttpResponse:
    """One case: its chart, answer key and teaching note (editable), and its attempts."""
    case = selectors.practice_case_get_for(user=request.user, pk=case_id)
    form = {
        "title": case.title,
        "diagnoses": _lines(case.answer_key, "diagnoses"),
        "procedures": _lines(case.answer_key, "procedures"),
        "teaching_note": case.teaching_note,
        "principal_known": case.answer_key.get("principal_known", True),
        "is_active": case.is_active,
    }
    errors: list[str] = []
    if request.method == "POST":
        form = {
            "title": request.POST.get("title", ""),
            "diagnoses": request.POST.get("diagnoses", ""),
            "procedures": request.POST.get("procedures", ""),
            "teaching_note": request.POST.get("teaching_note", ""),
            "principal_known": bool(request.POST.get("principal_known")),
            "is_active": bool(request.POST.get("is_active")),
        }
        try:
            services.practice_case_update(case=case, by=request.user, **form)
        except ValidationError as exc:
            errors = exc.messages
        else:
            messages.success(request, "Answer key saved.")
            return redirect("audits:practice_case", case_id=case.pk)
    attempts = list(case.attempts.select_related("coder").order_by("-started_at")[:50])
    for attempt in attempts:
        attempt.score = selectors.score_of(attempt)
    return render(
        request,
        "audits/practice/case.html",
        {"case": case, "form": form, "errors": errors, "attempts": attempts},
        status=400 if errors else 200,
    )
