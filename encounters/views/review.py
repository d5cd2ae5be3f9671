"""Pages for intermediates and their juniors: the complex-case queue, the review queue and
review page, the coder's feedback inbox and per-coder review statistics."""

import logging

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.models import User
from accounts.permissions import Capability, capability_required, has_capability
from encounters import reviews, selectors
from encounters.models import Encounter, ReviewComment
from encounters.services import StaleEdit
from encounters.views.common import SYSTEM_LABELS, _is_htmx, _message_of, _version

logger = logging.getLogger(__name__)

EXTRA_COMMENT_ROWS = 3  # rows for codes the coder missed or anything not tied to a listed code


# --- complex cases --------------------------------------------------------------------------


@capability_required(Capability.WORK_COMPLEX_CASES)
def complex_queue(request: HttpRequest) -> HttpResponse:
    encounters = reviews.complex_queue_for(user=request.user)
    context = {
        "encounters": encounters,
        "escalated": sum(1 for e in encounters if e.status == Encounter.Status.COMPLEX),
        "today": timezone.localdate(),
        "can_review": has_capability(request.user, Capability.REVIEW_JUNIORS),
        "review_count": reviews.review_queue_for(user=request.user).count(),
    }
    return render(request, "encounters/review_complex.html", context)


@capability_required(Capability.WORK_COMPLEX_CASES)
@require_POST
def complex_claim(request: HttpRequest, pk: int) -> HttpResponse:
    encounter = selectors.encounter_get_for(user=request.user, pk=pk)
    try:
        reviews.complex_case_claim(encounter=encounter, by=request.user)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, _message_of(exc))
        return redirect("encounters:complex")
    messages.success(request, f"You took {encounter.account_number} as a complex case.")
    return redirect("encounters:workspace", pk=pk)


# --- review queue and review page -----------------------------------------------------------


@capability_required(Capability.REVIEW_JUNIORS)
def review_queue(request: HttpRequest) -> HttpResponse:
    encounters = list(reviews.review_queue_for(user=request.user))
    for encounter in encounters:
        submit = encounter.submissions[0] if encounter.submissions else None
        encounter.coder = submit.by if submit else None
        detail = (submit.detail or {}) if submit else {}
        encounter.overridden = detail.get("edits_overridden", [])
        encounter.override_reason = detail.get("override_reason", "")
    context = {"encounters": encounters, "now": timezone.now()}
    return render(request, "encounters/review_queue.html", context)


def _comment_rows(request: HttpRequest | None, codes: list[dict]) -> list[dict]:
    """One comment row per listed code plus a few free rows, with what was typed (on POST)."""
    rows = [{"key": f"c{i}", "fixed_code": True, **c} for i, c in enumerate(codes)]
    rows += [
        {"key": f"x{i}", "code": "", "fixed_code": False, "label": ""}
        for i in range(EXTRA_COMMENT_ROWS)
    ]
    data = request.POST if request is not None and request.method == "POST" else {}
    for row in rows:
        key = row["key"]
        row["change"] = data.get(f"{key}-change", "")
        row["category"] = data.get(f"{key}-category", "")
        row["corrected_code"] = data.get(f"{key}-corrected", "")
        row["reason"] = data.get(f"{key}-reason", "")
        if not row["fixed_code"]:
            row["code"] = data.get(f"{key}-code", "")
    return rows


def _comments_from(rows: list[dict]) -> list[reviews.CommentInput]:
    comments = []
    for row in rows:
        if not (row["change"] or row["reason"].strip() or row["corrected_code"].strip()):
            continue
        label = row["code"] or "the extra row"
        if not row["change"]:
            raise ValidationError(f"Choose what kind of change the comment on {label} asks for.")
        if not row["category"]:
            raise ValidationError(f"Choose an error category for the comment on {label}.")
        comments.append(
            reviews.CommentInput(
                change=row["change"],
                category=row["category"],
                code=row["code"],
                corrected_code=row["corrected_code"],
                reason=row["reason"],
            )
        )
    return comments


@capability_required(Capability.REVIEW_JUNIORS)
def review_encounter(request: HttpRequest, pk: int) -> HttpResponse:
    encounter = selectors.encounter_get_for(user=request.user, pk=pk)
    if encounter.status != Encounter.Status.REVIEW:
        messages.info(
            request,
            f"{encounter.account_number} is {encounter.get_status_display().lower()}, "
            "not waiting for review.",
        )
        return redirect("encounters:workspace", pk=pk)
    coder = reviews.submitter_of(encounter)
    if coder is not None and coder.pk == request.user.pk:
        messages.error(request, "You cannot review your own work; another reviewer must.")
        return redirect("encounters:review_queue")
    diagnoses = list(encounter.diagnoses.order_by("sequence"))
    procedures = list(encounter.procedures.order_by("sequence"))
    codes = [
        {
            "code": d.code,
            "label": f"{'Principal' if d.sequence == 1 else 'Dx ' + str(d.sequence)}",
            "system": "ICD-10-CM",
            "description": d.description,
            "extra": f"POA {d.poa}" if d.poa else "",
        }
        for d in diagnoses
    ] + [
        {
            "code": p.code,
            "label": f"Px {p.sequence}",
            "system": SYSTEM_LABELS.get(p.system, p.system),
            "description": p.description,
            "extra": " ".join(
                [*(f"-{m}" for m in p.modifiers), f"× {p.units}" if p.units != 1 else ""]
            ).strip(),
        }
        for p in procedures
    ]
    rows = _comment_rows(request, codes)
    summary = request.POST.get("summary", "") if request.method == "POST" else ""
    error = ""
    if request.method == "POST":
        decision = request.POST.get("decision")
        try:
            comments = _comments_from(rows)
            if decision == "accept":
                review = reviews.review_accept(
                    encounter=encounter,
                    by=request.user,
                    version=_version(request),
                    summary=summary,
                    comments=comments,
                )
                messages.success(
                    request,
                    f"{encounter.account_number} accepted (round {review.round}); it is coded.",
                )
                return redirect("encounters:review_queue")
            if decision == "return":
                review = reviews.review_return(
                    encounter=encounter,
                    by=request.user,
                    version=_version(request),
                    summary=summary,
                    comments=comments,
                )
                messages.success(
                    request,
                    f"{encounter.account_number} returned to {_name(review.coder)} "
                    f"with {review.comments.count()} comment(s) (round {review.round}).",
                )
                return redirect("encounters:review_queue")
            error = "Choose Accept or Return."
        except StaleEdit as exc:
            error = str(exc)
            encounter.refresh_from_db()
        except (ValidationError, PermissionDenied) as exc:
            error = _message_of(exc)
    documents = list(encounter.documents.all())
    selectors.chart_open(
        user=request.user, encounter=encounter, documents=documents, request=request
    )
    submit = encounter.transitions.filter(to_status=Encounter.Status.REVIEW).order_by("-at").first()
    context = {
        "encounter": encounter,
        "patient": encounter.patient,
        "coder": coder,
        "submit": submit,
        "overridden": (submit.detail or {}).get("edits_overridden", []) if submit else [],
        "codes": codes,
        "rows": rows,
        "summary": summary,
        "error": error,
        "documents": documents,
        "history": reviews.reviews_of(encounter=encounter),
        "change_choices": ReviewComment.Change.choices,
        "category_choices": ReviewComment.Category.choices,
    }
    status = 400 if error else 200
    return render(request, "encounters/review_encounter.html", context, status=status)


# --- feedback inbox and statistics ----------------------------------------------------------


@capability_required(Capability.CODE_ENCOUNTERS)
def feedback_inbox(request: HttpRequest) -> HttpResponse:
    items = reviews.feedback_for(user=request.user)
    context = {
        "reviews": items,
        "unread": sum(1 for r in items if r.coder_read_at is None),
        "stats": reviews.coder_stats(coder=request.user),
        "own": True,
    }
    return render(request, "encounters/feedback.html", context)


@capability_required(Capability.CODE_ENCOUNTERS)
def feedback_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The reviews of one encounter; opening it marks the coder's unread ones as read."""
    encounter = selectors.encounter_get_for(user=request.user, pk=pk)
    history = reviews.reviews_of(encounter=encounter)
    if not has_capability(request.user, Capability.REVIEW_JUNIORS):
        history = [r for r in history if r.coder_id == request.user.pk]
    unread = {r.pk for r in history if r.coder_id == request.user.pk and r.coder_read_at is None}
    reviews.feedback_mark_read(reviews=history, by=request.user)
    can_review = (
        has_capability(request.user, Capability.REVIEW_JUNIORS)
        and encounter.status == Encounter.Status.REVIEW
        and getattr(reviews.submitter_of(encounter), "pk", None) != request.user.pk
    )
    context = {
        "encounter": encounter,
        "history": history,
        "unread": unread,
        "can_fix": encounter.status == Encounter.Status.CODING
        and encounter.assignee_id == request.user.pk,
        "can_review": can_review,
    }
    if _is_htmx(request):  # the workspace's feedback panel, loaded after the page
        if not history and not can_review:
            return HttpResponse("")
        return render(request, "encounters/_review_feedback_panel.html", context)
    return render(request, "encounters/feedback_detail.html", context)


@capability_required(Capability.REVIEW_JUNIORS)
def coder_statistics(request: HttpRequest) -> HttpResponse:
    """Reviewers: every reviewed coder's first-pass rate; ?coder=<id> for one coder in full."""
    context: dict = {"coders": reviews.coders_reviewed(), "stats": None}
    coder_id = request.GET.get("coder", "")
    if coder_id:
        coder = User.objects.filter(pk=coder_id).first() if coder_id.isdigit() else None
        if coder is None:
            raise Http404("No such coder.")
        context["stats"] = reviews.coder_stats(coder=coder)
    return render(request, "encounters/review_coders.html", context)


def _name(user: User | None) -> str:
    if user is None:
        return "the coder"
    return user.get_full_name() or user.username
