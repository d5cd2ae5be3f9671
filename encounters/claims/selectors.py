"""Reads for the claims pages, already filtered to what the user may see."""

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import F, QuerySet
from django.utils import timezone

from accounts.models import User
from accounts.permissions import Capability, has_capability
from encounters.claims.codes import denial_codes, rule_matches
from encounters.models import Claim, Encounter
from encounters.selectors import encounter_get_for

S = Encounter.Status
C = Claim.Status

OPEN_DENIALS = (C.DENIED, C.CORRECTED)
WORKLIST_STATUSES = [
    ("open", "Open denials"),
    ("all", "All claims"),
    *Claim.Status.choices,
]
WORKLIST_SORTS = {
    "age": ("Oldest denial first", [F("denied_at").asc(nulls_last=True), "pk"]),
    "-age": ("Newest denial first", [F("denied_at").desc(nulls_last=True), "-pk"]),
    "billed": ("Billed, oldest first", ["billed_at", "pk"]),
    "payer": ("Payer", ["payer", F("denied_at").asc(nulls_last=True)]),
    "amount": ("Billed amount, largest first", [F("billed_amount").desc(nulls_last=True), "pk"]),
}


@dataclass(frozen=True)
class WorklistFilters:
    status: str = "open"
    payer: str = ""
    carc: str = ""
    sort: str = "age"
    older_than_days: int | None = None  # denied more than N calendar days ago


AGE_FILTERS = {"14": 14, "30": 30, "60": 60}


def claims_visible_to(*, user: User) -> QuerySet[Claim]:
    if not has_capability(user, Capability.WORK_DENIALS):
        return Claim.objects.none()
    return Claim.objects.select_related("encounter__patient", "encounter__assignee")


def denial_worklist(*, user: User, filters: WorklistFilters | None = None) -> QuerySet[Claim]:
    filters = filters or WorklistFilters()
    claims = claims_visible_to(user=user)
    if filters.status == "open":
        claims = claims.filter(status__in=OPEN_DENIALS)
    elif filters.status in C.values:
        claims = claims.filter(status=filters.status)
    if filters.payer:
        claims = claims.filter(payer=filters.payer)
    if filters.older_than_days is not None:
        cutoff = timezone.localdate() - timedelta(days=filters.older_than_days)
        start_of_cutoff = timezone.make_aware(datetime.combine(cutoff, time.min))
        claims = claims.filter(denied_at__lt=start_of_cutoff)
    if filters.carc:
        code = filters.carc.strip().upper().split("-")[-1].lstrip("0")
        if connection.features.supports_json_field_contains:
            claims = claims.filter(carc_codes__contains=[{"code": code}])
        else:  # SQLite: no JSON containment; the open worklist is small enough to scan
            pks = [
                pk
                for pk, codes in claims.values_list("pk", "carc_codes")
                if any(item.get("code") == code for item in codes)
            ]
            claims = claims.filter(pk__in=pks)
    order = WORKLIST_SORTS.get(filters.sort, WORKLIST_SORTS["age"])[1]
    return claims.order_by(*order)


def claim_payers_for(*, user: User) -> list[str]:
    return list(
        claims_visible_to(user=user).order_by("payer").values_list("payer", flat=True).distinct()
    )


def days_since(moment: datetime | None, now: datetime | None = None) -> int | None:
    """Calendar days (local time) since `moment`: a denial recorded yesterday is 1 day old."""
    if moment is None:
        return None
    today = timezone.localtime(now or timezone.now()).date()
    return max(0, (today - timezone.localtime(moment).date()).days)


def ready_to_bill_for(*, user: User) -> QuerySet[Encounter]:
    if not has_capability(user, Capability.WORK_DENIALS):
        return Encounter.objects.none()
    return (
        Encounter.objects.select_related("patient")
        .filter(status=S.READY_TO_BILL, claim__isnull=True)
        .order_by(F("discharge_date").asc(nulls_last=True), "pk")
    )


def likely_causes(*, claim: Claim, edits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per denial code: its meaning, the edit rules that usually cause it, and the current
    edits of those rules on the encounter (the codes most likely to need a correction)."""
    causes = []
    for row in denial_codes(claim):
        matching = [e for e in edits if rule_matches(e["rule"], row["rules"])]
        causes.append({**row, "edits": matching})
    return causes


def claim_of_encounter_for(*, user: User, pk: int) -> tuple[Encounter, Claim | None]:
    """The encounter (404 if missing, 403 without the capability) and its claim, if billed."""
    if not has_capability(user, Capability.WORK_DENIALS):
        raise PermissionDenied("Your role cannot work denials.")
    # Only charts the user may open (their work, or broken glass): 404 if none, 403 if not theirs.
    encounter = encounter_get_for(user=user, pk=pk)
    claim = claims_visible_to(user=user).filter(encounter=encounter).first()
    return encounter, claim
