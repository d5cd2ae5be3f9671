"""Sign-in lockout (django-axes): what an admin sees about a user, and the unlock."""

from datetime import timedelta

from axes.models import AccessAttempt
from axes.utils import reset
from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from accounts.models import User, UserChange


def failed_signins(user: User) -> int:
    """Failed sign-ins recorded for this user name and not yet reset (they expire after the
    cool-off)."""
    since = timezone.now() - timedelta(hours=settings.AXES_COOLOFF_TIME)
    total = AccessAttempt.objects.filter(username=user.username, attempt_time__gte=since).aggregate(
        n=Sum("failures_since_start")
    )
    return total["n"] or 0


@transaction.atomic
def signin_unlock(*, actor: User, user: User) -> int:
    """Clear the failed sign-ins under this user name (which also lifts the lock on the
    addresses they came from, as far as these attempts counted). Recorded in the user's
    history. Returns how many attempt records were removed."""
    failures = failed_signins(user)
    removed = reset(username=user.username)
    UserChange.objects.create(
        user=user,
        actor=actor,
        action=UserChange.Action.DETAILS_CHANGED,
        detail={"unlocked": True, "from": f"{failures} failed sign-ins", "to": "unlocked"},
    )
    return removed
