"""Reads of the coders' decisions on suggestions: the acceptance-rate report (page and
`manage.py assist rates` read the same functions)."""

from django.db.models import Count, Max, Q, QuerySet

from encounters.models import SuggestionDecision

_ACCEPTED = Q(decision=SuggestionDecision.Decision.ACCEPTED)
_REJECTED = Q(decision=SuggestionDecision.Decision.REJECTED)


def _with_rate(rows) -> list[dict]:
    out = []
    for row in rows:
        decided = row["accepted"] + row["rejected"]
        out.append({**row, "rate": round(row["accepted"] / decided, 3) if decided else None})
    return out


def _counted(decisions: QuerySet, *fields: str, **more) -> list[dict]:
    return _with_rate(
        decisions.order_by()
        .values(*fields)
        .annotate(
            accepted=Count("pk", filter=_ACCEPTED), rejected=Count("pk", filter=_REJECTED), **more
        )
    )


def acceptance_rates() -> list[dict]:
    """Per coder and code: accepted, rejected and the acceptance rate."""
    rows = _counted(SuggestionDecision.objects.all(), "user__username", "system", "code")
    return sorted(rows, key=lambda r: (r["user__username"], r["code"]))


def acceptance_by_coder() -> list[dict]:
    """Per coder: how many suggestions they accepted and rejected, most decisions first."""
    rows = _counted(SuggestionDecision.objects.all(), "user__username")
    return sorted(rows, key=lambda r: (-(r["accepted"] + r["rejected"]), r["user__username"]))


def acceptance_by_code(*, coder: str = "") -> list[dict]:
    """Per suggested code (optionally one coder's decisions): accepted, rejected, rate and
    the latest rejection reason, most rejected first (where the assistant most needs work)."""
    decisions = SuggestionDecision.objects.all()
    if coder:
        decisions = decisions.filter(user__username=coder)
    # The description as the suggestion showed it (kept on the suggestion row).
    rows = _counted(decisions, "system", "code", description=Max("suggestion__description"))
    reasons: dict[tuple[str, str], str] = {}
    for system, code, reason in (
        decisions.filter(_REJECTED)
        .exclude(reason="")
        .order_by("-pk")
        .values_list("system", "code", "reason")
    ):
        reasons.setdefault((system, code), reason)
    for row in rows:
        row["last_reason"] = reasons.get((row["system"], row["code"]), "")
    return sorted(rows, key=lambda r: (-r["rejected"], -r["accepted"], r["code"]))


def acceptance_totals() -> dict:
    """Every decision: accepted, rejected and the overall rate."""
    totals = SuggestionDecision.objects.aggregate(
        accepted=Count("pk", filter=_ACCEPTED), rejected=Count("pk", filter=_REJECTED)
    )
    return _with_rate([totals])[0]
