"""Reads of patient data, already filtered to what the user may see."""

from dataclasses import dataclass
from datetime import date

from django.core.exceptions import PermissionDenied
from django.db.models import F, Q, QuerySet
from django.http import Http404

from accounts.models import PhiAccess, User
from accounts.permissions import Capability, has_capability
from accounts.services import phi_access_record
from encounters.models import Document, Encounter
from encounters.workflow import FINISHED

QUEUE_SORTS = {
    "due": [F("due_date").asc(nulls_last=True), "pk"],
    "-due": [F("due_date").desc(nulls_last=True), "-pk"],
    "admit": ["admit_date", "pk"],
    "-admit": ["-admit_date", "-pk"],
    "priority": ["priority", F("due_date").asc(nulls_last=True)],
    "account": ["account_number"],
}


@dataclass(frozen=True)
class QueueFilters:
    scope: str = "all"  # all | mine | pool
    type: str = ""
    payer: str = ""
    status: str = ""
    due_before: date | None = None
    sort: str = "due"


def encounters_visible_to(*, user: User) -> QuerySet[Encounter]:
    """Juniors see their own encounters and the unassigned pool; reviewers see every chart."""
    if not has_capability(user, Capability.VIEW_CHARTS):
        return Encounter.objects.none()
    encounters = Encounter.objects.select_related("patient", "assignee")
    if has_capability(user, Capability.REVIEW_JUNIORS):
        return encounters
    return encounters.filter(Q(assignee=user) | Q(assignee__isnull=True))


def encounter_queue_for(*, user: User, filters: QueueFilters | None = None) -> QuerySet[Encounter]:
    """My queue: encounters assigned to the user plus the unassigned pool they may claim."""
    filters = filters or QueueFilters()
    if not has_capability(user, Capability.CODE_ENCOUNTERS):
        return Encounter.objects.none()
    pool = Q(assignee__isnull=True, status=Encounter.Status.READY)
    mine = Q(assignee=user)
    scope = {"mine": mine, "pool": pool}.get(filters.scope, mine | pool)
    encounters = (
        Encounter.objects.select_related("patient", "assignee")
        .filter(scope)
        .exclude(status__in=FINISHED)
    )
    if filters.type:
        encounters = encounters.filter(type=filters.type)
    if filters.payer:
        encounters = encounters.filter(payer__icontains=filters.payer)
    if filters.status:
        encounters = encounters.filter(status=filters.status)
    if filters.due_before:
        encounters = encounters.filter(due_date__lte=filters.due_before)
    return encounters.order_by(*QUEUE_SORTS.get(filters.sort, QUEUE_SORTS["due"]))


def encounter_get_for(*, user: User, pk: int) -> Encounter:
    """The encounter if the user may open it: 404 if it does not exist, 403 if not theirs."""
    encounter = Encounter.objects.select_related("patient", "assignee").filter(pk=pk).first()
    if encounter is None:
        raise Http404("No such encounter.")
    if not encounters_visible_to(user=user).filter(pk=pk).exists():
        raise PermissionDenied("This encounter is not in your queue.")
    return encounter


def document_get_for(*, user: User, encounter: Encounter, pk: int) -> Document:
    document = encounter.documents.filter(pk=pk).first()
    if document is None:
        raise Http404("No such document on this encounter.")
    return document


def _client(request) -> tuple[str | None, str]:
    if request is None:
        return None, ""
    return request.META.get("REMOTE_ADDR"), request.META.get("HTTP_USER_AGENT", "")


def chart_open(*, user: User, encounter: Encounter, documents: list[Document], request=None):
    """Record that a chart and the documents shown with it were opened."""
    ip, agent = _client(request)
    phi_access_record(
        user=user,
        action=PhiAccess.Action.VIEW_ENCOUNTER,
        patient_id=encounter.patient_id,
        encounter_id=encounter.pk,
        ip_address=ip,
        user_agent=agent,
    )
    for document in documents:
        phi_access_record(
            user=user,
            action=PhiAccess.Action.VIEW_DOCUMENT,
            patient_id=encounter.patient_id,
            encounter_id=encounter.pk,
            document_id=document.pk,
            ip_address=ip,
            user_agent=agent,
        )


def document_open(*, user: User, document: Document, request=None) -> None:
    ip, agent = _client(request)
    phi_access_record(
        user=user,
        action=PhiAccess.Action.VIEW_DOCUMENT,
        patient_id=document.encounter.patient_id,
        encounter_id=document.encounter_id,
        document_id=document.pk,
        ip_address=ip,
        user_agent=agent,
    )
