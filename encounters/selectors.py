from django.db.models import Q, QuerySet

from accounts.permissions import Capability, has_capability
from encounters.models import Encounter


def encounter_queue_for(*, user) -> QuerySet[Encounter]:
    """Encounters assigned to the user plus the unassigned pool they may claim."""
    if not has_capability(user, Capability.VIEW_CHARTS):
        return Encounter.objects.none()
    return (
        Encounter.objects.select_related("patient", "assignee")
        .filter(Q(assignee=user) | Q(assignee__isnull=True))
        .exclude(status__in=[Encounter.Status.BILLED, Encounter.Status.CLOSED])
        .order_by("due_date", "pk")
    )
