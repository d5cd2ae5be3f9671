"""Reads for audits, already filtered to what the user may see.

Plans, items and disputes are for senior coders (RUN_AUDITS); a coder sees only the findings
on their own audited work, and only once the audit is complete.
"""

from collections import OrderedDict
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.http import Http404

from accounts.models import User
from accounts.permissions import Capability, has_capability
from audits.models import AuditItem, AuditPlan, Finding

OPEN_ITEM_STATUSES = (
    AuditItem.Status.PENDING,
    AuditItem.Status.RECODING,
    AuditItem.Status.COMPARED,
)


def plans_for(*, user: User) -> QuerySet[AuditPlan]:
    if not has_capability(user, Capability.RUN_AUDITS):
        return AuditPlan.objects.none()
    return (
        AuditPlan.objects.select_related("created_by")
        .prefetch_related("auditors")
        .annotate(
            item_count=Count("items", distinct=True),
            closed_count=Count(
                "items", filter=Q(items__status=AuditItem.Status.CLOSED), distinct=True
            ),
        )
    )


def plan_get_for(*, user: User, pk: int, missing_ok: bool = False) -> AuditPlan | None:
    """The plan (RUN_AUDITS only); a missing one is a 404, or None when `missing_ok`."""
    if not has_capability(user, Capability.RUN_AUDITS):
        raise PermissionDenied("Your role cannot run audits.")
    plan = AuditPlan.objects.select_related("created_by").filter(pk=pk).first()
    if plan is None and missing_ok:
        return None
    if plan is None:
        raise Http404("No such audit plan.")
    return plan


def plan_items(*, plan: AuditPlan) -> QuerySet[AuditItem]:
    return (
        plan.items.select_related("encounter", "encounter__patient", "coder", "auditor")
        .annotate(
            finding_count=Count("findings", distinct=True),
            disputed_count=Count(
                "findings",
                filter=Q(findings__response=Finding.Response.DISPUTED, findings__resolution=""),
                distinct=True,
            ),
        )
        .order_by("pk")
    )


def item_get_for(*, user: User, pk: int, missing_ok: bool = False) -> AuditItem | None:
    if not has_capability(user, Capability.RUN_AUDITS):
        raise PermissionDenied("Your role cannot run audits.")
    item = (
        AuditItem.objects.select_related(
            "plan", "encounter", "encounter__patient", "coder", "auditor"
        )
        .filter(pk=pk)
        .first()
    )
    if item is None and missing_ok:
        return None
    if item is None:
        raise Http404("No such audit item.")
    return item


def open_items_for(*, user: User) -> QuerySet[AuditItem]:
    """Items the user may audit next: theirs in progress, or not started in their plans."""
    if not has_capability(user, Capability.RUN_AUDITS):
        return AuditItem.objects.none()
    return (
        AuditItem.objects.filter(status__in=OPEN_ITEM_STATUSES, plan__auditors=user)
        .filter(Q(auditor=user) | Q(auditor__isnull=True))
        .exclude(coder=user)
        .select_related("plan", "encounter", "encounter__patient", "coder")
        .order_by("plan_id", "pk")
        .distinct()
    )


def disputes_waiting(*, user: User) -> QuerySet[Finding]:
    if not has_capability(user, Capability.RUN_AUDITS):
        return Finding.objects.none()
    return (
        Finding.objects.filter(response=Finding.Response.DISPUTED, resolution="")
        .exclude(item__coder=user)
        .select_related("item", "item__plan", "item__encounter", "item__coder", "item__auditor")
        .order_by("responded_at", "pk")
    )


def findings_on_work_of(*, user: User) -> QuerySet[Finding]:
    """Findings on the user's own coding, from audits that are complete."""
    if not has_capability(user, Capability.CODE_ENCOUNTERS):
        return Finding.objects.none()
    return (
        Finding.objects.filter(
            item__coder=user,
            item__status__in=[AuditItem.Status.COMPARED, AuditItem.Status.CLOSED],
        )
        .select_related("item", "item__plan", "item__encounter", "resolved_by")
        .order_by("-item__compared_at", "item_id", "pk")
    )


def finding_get_for(*, user: User, pk: int, as_coder: bool = False) -> Finding:
    finding = (
        Finding.objects.select_related("item", "item__plan", "item__encounter")
        .filter(pk=pk)
        .first()
    )
    if finding is None:
        raise Http404("No such finding.")
    if as_coder:
        if finding.item.coder_id != user.pk:
            raise PermissionDenied("This finding is not on your work.")
    elif not has_capability(user, Capability.RUN_AUDITS):
        raise PermissionDenied("Your role cannot run audits.")
    return finding


def education_list(findings: list[Finding], examples: int = 3) -> list[dict[str, Any]]:
    """Findings that stand, grouped by category (most frequent first), with a few examples."""
    groups: OrderedDict[str, dict[str, Any]] = OrderedDict()
    labels = dict(Finding.Category.choices)
    for finding in findings:
        if finding.resolution == Finding.Resolution.OVERTURNED:
            continue
        group = groups.setdefault(
            finding.category,
            {
                "category": finding.category,
                "label": labels[finding.category],
                "count": 0,
                "examples": [],
            },
        )
        group["count"] += 1
        if len(group["examples"]) < examples:
            group["examples"].append(finding)
    return sorted(groups.values(), key=lambda g: (-g["count"], g["label"]))


def coders_for_targets() -> QuerySet[User]:
    """Users who may code: the coder choices of a plan's targets."""
    from accounts.models import Role

    return User.objects.filter(
        Q(role__in=[Role.JUNIOR, Role.INTERMEDIATE, Role.SENIOR])
        | Q(also_coder_role__in=[Role.JUNIOR, Role.INTERMEDIATE, Role.SENIOR]),
        is_active=True,
    ).order_by("username")


def auditors_available() -> QuerySet[User]:
    from accounts.models import Role

    return User.objects.filter(
        Q(role=Role.SENIOR) | Q(also_coder_role=Role.SENIOR), is_active=True
    ).order_by("username")
