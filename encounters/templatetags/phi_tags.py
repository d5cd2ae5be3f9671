"""Template access to masked patient identifiers (never the plain values)."""

from django import template

from encounters import phi

register = template.Library()


@register.filter
def masked_identifiers(patient) -> list[tuple[str, str]]:
    """[(label, "•••• 6789"), ...] for the identifiers the patient has."""
    return phi.masked_identifiers(patient) if patient is not None else []


@register.simple_tag
def break_glass_pending() -> list:
    """Unreviewed break-the-glass accesses, for the senior's PHI access review page."""
    from audits.access_review import break_glass_pending as pending

    return pending()
