"""The workspace's practice banner asks what a practice chart is: an attempt or a case chart."""

from django import template

from audits.practice import selectors

register = template.Library()


@register.simple_tag
def practice_of(encounter) -> dict:
    """{"attempt": the coder's attempt on this chart} or {"case": the case it is the chart of}."""
    if not getattr(encounter, "is_practice", False):
        return {}
    attempt = selectors.practice_attempt_of_encounter(encounter)
    if attempt is not None:
        return {"attempt": attempt, "case": attempt.case}
    return {"case": selectors.practice_case_of_template(encounter)}


@register.inclusion_tag("audits/practice/_summary.html", takes_context=True)
def practice_summary(context, coder) -> dict:
    """A coder's practice accuracy, for pages that show their other learning statistics."""
    return {
        "stats": selectors.practice_stats_for(coder=coder),
        "is_me": getattr(context.get("user"), "pk", None) == coder.pk,
    }
