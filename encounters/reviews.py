"""Second-level review and the complex-case queue: writes (services) and reads (selectors).

A reviewer (REVIEW_JUNIORS) accepts a submitted encounter (review → coded) or returns it to
the coder (review → coding) with comments on specific codes. Each decision is one `Review`
row (round 1, 2, ... per encounter) written in the same transaction as its workflow step.
Nobody reviews their own work. Coders read their feedback in an inbox; per-coder statistics
(first-pass acceptance, comments by category, recent counts) are computed from the reviews.
"""

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone

from accounts.models import User
from accounts.permissions import Capability, has_capability
from encounters.models import Encounter, Review, ReviewComment, Transition
from encounters.services import StaleEdit, WorkflowError, _lock, transition_record

S = Encounter.Status
# Flagged encounters still worth an intermediate's look (not yet submitted or finished).
FLAGGED_STATUSES = (S.READY, S.CODING, S.COMPLEX, S.QUERY_PENDING)


@dataclass(frozen=True)
class CommentInput:
    """One reviewer comment as typed, before it is stored."""

    change: str
    category: str
    reason: str
    code: str = ""
    corrected_code: str = ""


# --- services -------------------------------------------------------------------------------


@transaction.atomic
def complex_case_claim(*, encounter: Encounter, by: User) -> Encounter:
    """An intermediate takes an escalated (or flagged, unclaimed) encounter to code it."""
    _require(by, Capability.WORK_COMPLEX_CASES)
    locked = _lock(encounter)
    flagged_in_pool = (
        locked.status == S.READY and bool(locked.complexity_flags) and locked.assignee_id is None
    )
    if locked.status == S.COMPLEX or flagged_in_pool:
        locked.assignee = by
        transition_record(encounter=locked, to=S.CODING, by=by, note="Taken as a complex case")
    elif locked.status == S.CODING and locked.assignee_id == by.pk:
        pass  # already yours: taking it again is harmless
    else:
        raise WorkflowError(
            f"{locked.account_number} is {locked.get_status_display().lower()}"
            + (f" and assigned to {_name(locked.assignee)}" if locked.assignee_id else "")
            + "; it cannot be taken as a complex case."
        )
    return locked


@transaction.atomic
def review_accept(
    *,
    encounter: Encounter,
    by: User,
    version: int,
    summary: str = "",
    comments: Sequence[CommentInput] = (),
) -> Review:
    """Accept the coding as submitted (comments may still teach): review → coded."""
    return _review_decide(
        encounter=encounter,
        by=by,
        version=version,
        outcome=Review.Outcome.ACCEPTED,
        summary=summary,
        comments=comments,
    )


@transaction.atomic
def review_return(
    *,
    encounter: Encounter,
    by: User,
    version: int,
    summary: str = "",
    comments: Sequence[CommentInput] = (),
) -> Review:
    """Send the encounter back to its coder with at least one comment or a summary."""
    if not comments and not summary.strip():
        raise ValidationError(
            {"summary": "Say what to fix: add a comment on a code or a summary before returning."}
        )
    return _review_decide(
        encounter=encounter,
        by=by,
        version=version,
        outcome=Review.Outcome.RETURNED,
        summary=summary,
        comments=comments,
    )


def _review_decide(
    *,
    encounter: Encounter,
    by: User,
    version: int,
    outcome: str,
    summary: str,
    comments: Sequence[CommentInput],
) -> Review:
    _require(by, Capability.REVIEW_JUNIORS)
    locked = _lock(encounter)
    if locked.version != version:
        raise StaleEdit(locked)
    if locked.status != S.REVIEW:
        raise WorkflowError(
            f"{locked.account_number} is {locked.get_status_display().lower()}, not waiting "
            "for review; someone may have decided on it already."
        )
    coder = submitter_of(locked)
    if coder is None:
        raise WorkflowError("This encounter has no recorded submission to review.")
    if coder.pk == by.pk:
        raise PermissionDenied("You cannot review your own work; another reviewer must.")
    cleaned = [_clean_comment(c) for c in comments]
    review = Review.objects.create(
        encounter=locked,
        coder=coder,
        reviewer=by,
        round=(locked.reviews.count() + 1),
        outcome=outcome,
        summary=summary.strip(),
    )
    ReviewComment.objects.bulk_create(
        ReviewComment(review=review, **vars(comment)) for comment in cleaned
    )
    detail = {"review_id": review.pk, "round": review.round, "comments": len(cleaned)}
    if outcome == Review.Outcome.RETURNED:
        locked.assignee = coder
        transition_record(encounter=locked, to=S.CODING, by=by, note=review.summary, detail=detail)
    else:
        transition_record(encounter=locked, to=S.CODED, by=by, note=review.summary, detail=detail)
    return review


def _clean_comment(comment: CommentInput) -> CommentInput:
    if comment.change not in ReviewComment.Change.values:
        raise ValidationError({"comments": f"{comment.change!r} is not a kind of change."})
    if comment.category not in ReviewComment.Category.values:
        raise ValidationError({"comments": f"{comment.category!r} is not an error category."})
    if not comment.reason.strip():
        raise ValidationError({"comments": "Every comment needs a reason the coder can learn."})
    return CommentInput(
        change=comment.change,
        category=comment.category,
        reason=comment.reason.strip(),
        code=comment.code.strip().upper()[:10],
        corrected_code=comment.corrected_code.strip().upper()[:10],
    )


@transaction.atomic
def feedback_mark_read(*, reviews: Iterable[Review], by: User) -> int:
    """The coder opened their feedback: stamp the unread reviews addressed to them."""
    ids = [r.pk for r in reviews if r.coder_id == by.pk and r.coder_read_at is None]
    if not ids:
        return 0
    return Review.objects.filter(pk__in=ids, coder_read_at__isnull=True).update(
        coder_read_at=timezone.now()
    )


def _require(user: User, capability: Capability) -> None:
    if not has_capability(user, capability):
        raise PermissionDenied(f"Your role cannot {capability.value.replace('_', ' ')}.")


def _name(user: User | None) -> str:
    if user is None:
        return "nobody"
    return user.get_full_name() or user.username


# --- selectors ------------------------------------------------------------------------------


def submitter_of(encounter: Encounter) -> User | None:
    """Who sent the encounter to review most recently (the coder whose work is reviewed)."""
    last = (
        encounter.transitions.filter(to_status=S.REVIEW).select_related("by").order_by("-at", "-pk")
    ).first()
    return last.by if last else None


def _last_submit(field_name: str) -> Subquery:
    return Subquery(
        Transition.objects.filter(encounter=OuterRef("pk"), to_status=S.REVIEW)
        .order_by("-at", "-pk")
        .values(field_name)[:1]
    )


def review_queue_for(*, user: User) -> QuerySet[Encounter]:
    """Encounters waiting for review that someone else submitted, oldest submission first.

    Each row carries `submitted_at`, `submitted_by_id`, `rounds_done` and `submissions` (the
    submit transitions, newest first: [0].by is the coder, [0].detail the overridden edits).
    """
    if not has_capability(user, Capability.REVIEW_JUNIORS):
        return Encounter.objects.none()
    return (
        Encounter.objects.filter(status=S.REVIEW)
        .select_related("patient")
        .annotate(
            submitted_at=_last_submit("at"),
            submitted_by_id=_last_submit("by_id"),
            rounds_done=Count("reviews", distinct=True),
        )
        .exclude(submitted_by_id=user.pk)
        .prefetch_related(
            Prefetch(
                "transitions",
                queryset=Transition.objects.filter(to_status=S.REVIEW)
                .select_related("by")
                .order_by("-at", "-pk"),
                to_attr="submissions",
            )
        )
        .order_by("submitted_at", "pk")
    )


def complex_queue_for(*, user: User) -> list[Encounter]:
    """Escalated encounters and encounters flagged by the complexity rules, each with why.

    Each row gets `escalated_by`, `escalated_at` (the last step into complex, if any) and
    `reasons`: [{"rule", "reason"}] with the escalation first.
    """
    if not has_capability(user, Capability.WORK_COMPLEX_CASES):
        return []
    rows = list(
        Encounter.objects.filter(
            Q(status=S.COMPLEX) | (Q(status__in=FLAGGED_STATUSES) & ~Q(complexity_flags=[]))
        )
        .select_related("patient", "assignee")
        .prefetch_related(
            Prefetch(
                "transitions",
                queryset=Transition.objects.filter(to_status=S.COMPLEX)
                .select_related("by")
                .order_by("-at", "-pk"),
                to_attr="escalations",
            )
        )
        .order_by("due_date", "pk")
    )
    for encounter in rows:
        last = encounter.escalations[0] if encounter.escalations else None
        encounter.escalated_by = last.by if last and encounter.status == S.COMPLEX else None
        encounter.escalated_at = last.at if last and encounter.status == S.COMPLEX else None
        reasons = []
        if encounter.status == S.COMPLEX:
            reasons.append(
                {
                    "rule": "Escalated",
                    "reason": encounter.escalation_reason or (last.note if last else ""),
                }
            )
        for flag in encounter.complexity_flags or []:
            if isinstance(flag, dict):
                reasons.append({"rule": flag.get("rule", ""), "reason": flag.get("reason", "")})
            else:
                reasons.append({"rule": "", "reason": str(flag)})
        encounter.reasons = reasons
        encounter.claimable = encounter.status == S.COMPLEX or (
            encounter.status == S.READY and encounter.assignee_id is None
        )
    rows.sort(key=lambda e: (e.status != S.COMPLEX, e.due_date or date.max, e.pk))
    return rows


def reviews_of(*, encounter: Encounter) -> list[Review]:
    return list(
        encounter.reviews.select_related("reviewer", "coder")
        .prefetch_related("comments")
        .order_by("-round")
    )


def feedback_for(*, user: User) -> list[Review]:
    """The coder's reviews, unread first, then newest first; each with its comments."""
    reviews = (
        Review.objects.filter(coder=user)
        .select_related("encounter", "encounter__patient", "reviewer")
        .prefetch_related("comments")
        .order_by("-at", "-pk")
    )
    return sorted(reviews, key=lambda r: r.coder_read_at is not None)


@dataclass
class CoderStats:
    coder: User
    reviewed: int = 0  # encounters with a first-round review
    first_pass_accepted: int = 0
    by_category: list[tuple[str, str, int]] = field(default_factory=list)  # value, label, n
    by_change: list[tuple[str, str, int]] = field(default_factory=list)
    recent: list[dict] = field(default_factory=list)  # {"days", "reviews", "accepted", ...}
    total_comments: int = 0

    @property
    def first_pass_rate(self) -> float | None:
        if not self.reviewed:
            return None
        return self.first_pass_accepted / self.reviewed

    @property
    def first_pass_percent(self) -> str:
        rate = self.first_pass_rate
        return "—" if rate is None else f"{rate * 100:.0f}%"


def coder_stats(*, coder: User, now=None, windows: Sequence[int] = (30, 90)) -> CoderStats:
    """First-pass acceptance = encounters accepted in round 1 / encounters reviewed at least once
    (round 1 exists). Comments by category are the common error kinds."""
    now = now or timezone.now()
    reviews = Review.objects.filter(coder=coder)
    first = reviews.filter(round=1).aggregate(
        reviewed=Count("pk"),
        accepted=Count("pk", filter=Q(outcome=Review.Outcome.ACCEPTED)),
    )
    comments = ReviewComment.objects.filter(review__coder=coder)
    categories = Counter(dict(comments.values_list("category").annotate(n=Count("pk"))))
    changes = Counter(dict(comments.values_list("change").annotate(n=Count("pk"))))
    category_labels = dict(ReviewComment.Category.choices)
    change_labels = dict(ReviewComment.Change.choices)
    recent = []
    for days in windows:
        since = now - timedelta(days=days)
        counts = reviews.filter(at__gte=since).aggregate(
            reviews=Count("pk"),
            accepted=Count("pk", filter=Q(outcome=Review.Outcome.ACCEPTED)),
            returned=Count("pk", filter=Q(outcome=Review.Outcome.RETURNED)),
        )
        counts["comments"] = comments.filter(review__at__gte=since).count()
        recent.append({"days": days, **counts})
    return CoderStats(
        coder=coder,
        reviewed=first["reviewed"],
        first_pass_accepted=first["accepted"],
        by_category=[(v, category_labels.get(v, v), n) for v, n in categories.most_common()],
        by_change=[(v, change_labels.get(v, v), n) for v, n in changes.most_common()],
        recent=recent,
        total_comments=sum(categories.values()),
    )


def coders_reviewed() -> list[dict]:
    """Every coder with reviews: {"coder", "reviews", "first_round", "first_pass_accepted"}."""
    rows = (
        Review.objects.values("coder")
        .annotate(
            reviews=Count("pk"),
            first_round=Count("pk", filter=Q(round=1)),
            first_pass_accepted=Count("pk", filter=Q(round=1, outcome=Review.Outcome.ACCEPTED)),
        )
        .order_by("coder")
    )
    users = User.objects.in_bulk([r["coder"] for r in rows])
    out = []
    for row in rows:
        rate = row["first_pass_accepted"] / row["first_round"] if row["first_round"] else None
        out.append({**row, "coder": users[row["coder"]], "rate": rate})
    out.sort(key=lambda r: _name(r["coder"]).lower())
    return out
