"""Reads for practice charts: the library, a coder's attempts, results and learning statistics."""

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Avg, Count, F, FloatField, Max, Q, QuerySet
from django.db.models.functions import Cast
from django.http import Http404

from accounts.models import User
from accounts.permissions import Capability, has_capability
from audits.comparison import K
from audits.models import PracticeAttempt, PracticeCase

SCORED = PracticeAttempt.Status.SCORED


def _ratio() -> Any:
    """An attempt's score: codes agreed over the codes on either side."""
    return Cast(F("codes_agreed"), FloatField()) / Cast(F("codes_total"), FloatField())


def practice_cases_available(*, user: User) -> QuerySet[PracticeCase]:
    """Active cases, with how often this coder tried each and their best score."""
    mine = Q(attempts__coder=user, attempts__status=SCORED, attempts__codes_total__gt=0)
    return (
        PracticeCase.objects.filter(is_active=True)
        .select_related("encounter")
        .annotate(
            my_attempts=Count("attempts", filter=Q(attempts__coder=user)),
            # The chart of my unfinished attempt, if any: continue it rather than start again.
            my_open_chart=Max(
                "attempts__encounter_id",
                filter=Q(
                    attempts__coder=user,
                    attempts__status=PracticeAttempt.Status.IN_PROGRESS,
                ),
            ),
            my_best=Max(
                Cast(F("attempts__codes_agreed"), FloatField())
                / Cast(F("attempts__codes_total"), FloatField()),
                filter=mine,
            ),
        )
        .order_by("-source", "title", "pk")  # demo and own cases before CodiEsp
    )


def practice_attempts_of(*, coder: User) -> QuerySet[PracticeAttempt]:
    return (
        PracticeAttempt.objects.filter(coder=coder)
        .select_related("case", "encounter")
        .order_by("-started_at", "-pk")
    )


def practice_case_get_for(*, user: User, pk: int) -> PracticeCase:
    case = PracticeCase.objects.select_related("encounter").filter(pk=pk).first()
    if case is None:
        raise Http404("No such practice case.")
    if not case.is_active and not has_capability(user, Capability.MANAGE_PRACTICE_CASES):
        raise Http404("No such practice case.")
    return case


def practice_attempt_get_for(*, user: User, pk: int) -> PracticeAttempt:
    """An attempt for its coder, or for a senior who manages the library."""
    attempt = (
        PracticeAttempt.objects.select_related("case", "coder", "encounter").filter(pk=pk).first()
    )
    if attempt is None:
        raise Http404("No such practice attempt.")
    if attempt.coder_id != user.pk and not has_capability(user, Capability.MANAGE_PRACTICE_CASES):
        raise PermissionDenied("This practice attempt belongs to another coder.")
    return attempt


def practice_attempt_of_encounter(encounter) -> PracticeAttempt | None:
    return PracticeAttempt.objects.select_related("case").filter(encounter_id=encounter.pk).first()


def practice_case_of_template(encounter) -> PracticeCase | None:
    return PracticeCase.objects.filter(encounter_id=encounter.pk).first()


def score_of(attempt: PracticeAttempt) -> float | None:
    if attempt.status != SCORED or not attempt.codes_total:
        return None
    return attempt.codes_agreed / attempt.codes_total


@dataclass
class ResultGroup:
    key: str
    label: str
    help: str
    rows: list[dict[str, Any]] = field(default_factory=list)


RESULT_GROUPS = [
    (K.CHANGED, "Changed", "Same condition, another code (specificity)."),
    (K.ADDED, "Missed", "In the answer key, not in your coding."),
    (K.DELETED, "Extra", "In your coding, not in the answer key."),
    (K.RESEQUENCED, "Sequencing", "The principal / first-listed code differs."),
    (K.POA_CHANGED, "POA", "Same code, another present-on-admission indicator."),
    (K.MODIFIER_CHANGED, "Modifiers", "Same code, other modifiers."),
    (K.UNITS_CHANGED, "Units", "Same code, other units."),
]


def practice_result(attempt: PracticeAttempt) -> dict[str, Any]:
    """The result page: agreed codes, then each kind of difference, and the key beside."""
    differences = attempt.differences or []
    groups = []
    for kind, label, help_text in RESULT_GROUPS:
        rows = [d for d in differences if d.get("kind") == kind]
        groups.append(ResultGroup(key=kind, label=label, help=help_text, rows=rows))
    troubled = {
        code
        for d in differences
        for code in (d.get("original_code"), d.get("audited_code"))
        if code
    }
    agreed = [
        line
        for kind in ("diagnoses", "procedures")
        for line in (attempt.submitted_coding or {}).get(kind, [])
        if line["code"] in _codes_in(attempt.case.answer_key, kind) and line["code"] not in troubled
    ]
    key = attempt.case.answer_key
    return {
        "score": score_of(attempt),
        "agreed": agreed,
        "groups": groups,
        "counts": {g.key: len(g.rows) for g in groups},
        "key": key,
        "principal_known": key.get("principal_known", True),
        "submitted": attempt.submitted_coding or {},
    }


def _codes_in(coding: dict[str, Any], kind: str) -> set[str]:
    from audits.comparison import plain

    codes = {plain(line["code"]) for line in coding.get(kind) or []}
    return {line["code"] for line in coding.get(kind) or []} | codes


# --- learning statistics ----------------------------------------------------------------------


@dataclass
class CoderPractice:
    coder: User
    attempts: int
    average: float | None
    principal_rate: float | None
    first: float | None
    latest: float | None
    series: list[tuple[str, float]]


def practice_stats_for(*, coder: User, last: int = 12) -> CoderPractice:
    """A coder's practice accuracy over time: every scored attempt, oldest first."""
    rows = list(
        PracticeAttempt.objects.filter(coder=coder, status=SCORED, codes_total__gt=0)
        .order_by("scored_at", "pk")
        .values("scored_at", "codes_agreed", "codes_total", "principal_correct")
    )
    scores = [r["codes_agreed"] / r["codes_total"] for r in rows]
    judged = [r["principal_correct"] for r in rows if r["principal_correct"] is not None]
    start = max(len(rows) - last, 0)
    return CoderPractice(
        coder=coder,
        attempts=len(rows),
        average=sum(scores) / len(scores) if scores else None,
        principal_rate=sum(judged) / len(judged) if judged else None,
        first=scores[0] if scores else None,
        latest=scores[-1] if scores else None,
        series=[
            (f"#{start + n} {r['scored_at']:%m-%d}", score)
            for n, (r, score) in enumerate(zip(rows[start:], scores[start:], strict=True), start=1)
        ],
    )


def practice_coder_stats() -> list[dict[str, Any]]:
    """Per coder: scored attempts, average, first and latest score (seniors' page)."""
    rows = (
        PracticeAttempt.objects.filter(status=SCORED, codes_total__gt=0)
        .values("coder", "coder__username", "coder__first_name", "coder__last_name")
        .annotate(attempts=Count("pk"), average=Avg(_ratio()), last_at=Max("scored_at"))
        .order_by("coder__last_name", "coder__username")
    )
    ordered: dict[int, list[float]] = {}
    for coder_id, agreed, total in (
        PracticeAttempt.objects.filter(status=SCORED, codes_total__gt=0)
        .order_by("scored_at", "pk")
        .values_list("coder", "codes_agreed", "codes_total")
    ):
        ordered.setdefault(coder_id, []).append(agreed / total)
    return [
        {
            **row,
            "name": f"{row['coder__first_name']} {row['coder__last_name']}".strip()
            or row["coder__username"],
            "first": ordered[row["coder"]][0],
            "latest": ordered[row["coder"]][-1],
        }
        for row in rows
    ]


def practice_case_library() -> QuerySet[PracticeCase]:
    """Every case with its attempts, scored attempts and average score (seniors' page)."""
    scored = Q(attempts__status=SCORED, attempts__codes_total__gt=0)
    return (
        PracticeCase.objects.select_related("encounter", "created_by")
        .annotate(
            attempt_count=Count("attempts"),
            scored_count=Count("attempts", filter=scored),
            average=Avg(
                Cast(F("attempts__codes_agreed"), FloatField())
                / Cast(F("attempts__codes_total"), FloatField()),
                filter=scored,
            ),
        )
        .order_by("-is_active", "-source", "title", "pk")
    )
