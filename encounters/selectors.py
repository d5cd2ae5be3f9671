"""Reads of patient data, already filtered to what the user may see."""

from dataclasses import dataclass
from datetime import date

from django.apps import apps
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.models import BreakGlass, PhiAccess, User
from accounts.permissions import Capability, has_capability
from accounts.services import phi_access_record
from encounters.models import Document, Encounter, PhysicianQuery, Review, Transition
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


class BreakGlassRequired(PermissionDenied):
    """The chart exists but is outside the user's work: they may break the glass for it."""

    def __init__(self, encounter: Encounter) -> None:
        super().__init__("This encounter is not in your queue.")
        self.encounter = encounter


S = Encounter.Status
# Where each kind of work finds its charts (least privilege: nothing else without a reason).
POOL_STATUSES = (S.INTAKE, S.READY)
COMPLEX_FLAGGED_STATUSES = (S.READY, S.CODING, S.COMPLEX, S.QUERY_PENDING)
DENIAL_STATUSES = (S.READY_TO_BILL, S.BILLED, S.DENIED, S.CORRECTED, S.RESUBMITTED)


def _related(model, **where) -> Exists:
    return Exists(model.objects.filter(encounter=OuterRef("pk"), **where))


def _work_scope(user: User) -> Q:
    """Charts the user's work takes them to: their own, the pool, and per capability the
    reviews, complex cases, queries, denials and audits they handle."""
    # Exists, not joins: no repeated rows, and a single chart's check stays an index lookup.
    scope = Q(assignee=user) | Q(_related(Transition, by=user))
    pool = [
        s for s in POOL_STATUSES if s != S.INTAKE or has_capability(user, Capability.INTAKE_CHARTS)
    ]
    scope |= Q(assignee__isnull=True, status__in=pool)
    if has_capability(user, Capability.REVIEW_JUNIORS):
        scope |= Q(status=S.REVIEW) | Q(_related(Review, reviewer=user))
    if has_capability(user, Capability.WORK_COMPLEX_CASES):
        scope |= Q(status=S.COMPLEX) | (
            Q(status__in=COMPLEX_FLAGGED_STATUSES) & ~Q(complexity_flags=[])
        )
    if has_capability(user, Capability.MANAGE_QUERIES):
        scope |= Q(status=S.QUERY_PENDING) | Q(_related(PhysicianQuery))
    if has_capability(user, Capability.WORK_DENIALS):
        scope |= Q(status__in=DENIAL_STATUSES)
    if has_capability(user, Capability.RUN_AUDITS):
        audit_item = apps.get_model("audits", "AuditItem")  # audits builds on encounters
        scope |= Q(status=S.PRE_BILL_AUDIT) | Q(_related(audit_item))
    return scope


def break_glass_active(*, user: User) -> QuerySet[BreakGlass]:
    return BreakGlass.objects.filter(user=user, expires_at__gt=timezone.now())


def encounters_visible_to(*, user: User) -> QuerySet[Encounter]:
    """The charts the user may open: their work (see _work_scope) and, until it expires,
    any chart they broke the glass for. Admins without a coder role see none."""
    if not has_capability(user, Capability.VIEW_CHARTS):
        return Encounter.objects.none()
    glass = break_glass_active(user=user)
    scope = (
        _work_scope(user)
        | Q(pk__in=glass.exclude(encounter_id=None).values("encounter_id"))
        | Q(patient_id__in=glass.filter(encounter_id=None).values("patient_id"))
    )
    return Encounter.objects.select_related("patient", "assignee").filter(scope)


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
    encounter = Encounter.with_practice.select_related("patient", "assignee").filter(pk=pk).first()
    if encounter is None:
        raise Http404("No such encounter.")
    if encounter.is_practice:
        # A practice chart opens for its coder (their own attempt copy) and for seniors who
        # keep the case library; for anyone else it does not exist (no break-glass either).
        if encounter.assignee_id == user.pk or has_capability(
            user, Capability.MANAGE_PRACTICE_CASES
        ):
            return encounter
        raise Http404("No such encounter.")
    if not encounters_visible_to(user=user).filter(pk=pk).exists():
        if has_capability(user, Capability.VIEW_CHARTS):
            raise BreakGlassRequired(encounter)
        raise PermissionDenied("Your role does not open charts.")
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
