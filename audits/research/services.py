"""Writes of the research pages: the export log and the risk groups."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from accounts.models import PhiAccess, User
from accounts.services import phi_access_record
from audits.models import ResearchExport, RiskGroup


@transaction.atomic
def research_export_record(
    *,
    user: User,
    report: str,
    purpose: str,
    filters: dict[str, Any],
    rows: int,
    suppressed_cells: int,
    ip_address: str | None = None,
    user_agent: str = "",
) -> ResearchExport:
    """Log one de-identified export with its purpose: a ResearchExport row and a PHI access
    record (EXPORT_DEIDENTIFIED), in one transaction with nothing sent before it commits."""
    purpose = purpose.strip()
    if not purpose:
        raise ValueError("An export needs its purpose.")
    export = ResearchExport.objects.create(
        user=user,
        report=report,
        purpose=purpose,
        filters=filters,
        rows=rows,
        suppressed_cells=suppressed_cells,
    )
    phi_access_record(
        user=user,
        action=PhiAccess.Action.EXPORT_DEIDENTIFIED,
        reason=f"Research export {export.pk} ({report}): {purpose}"[:500],
        ip_address=ip_address,
        user_agent=user_agent,
    )
    return export


@transaction.atomic
def risk_group_save(
    *,
    by: User,
    name: str,
    code_prefixes: list[str],
    description: str = "",
    is_active: bool = True,
    group: RiskGroup | None = None,
) -> RiskGroup:
    """Create or change a risk group (a chronic condition the high-risk flags count)."""
    group = group or RiskGroup()
    group.name = name.strip()
    group.description = description.strip()
    group.code_prefixes = list(code_prefixes)
    group.is_active = is_active
    group.updated_by = by
    group.full_clean()
    group.save()
    return group
