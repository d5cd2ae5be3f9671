"""Template helpers of the shared layout."""

from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def page_url(context: template.Context, number: int) -> str:
    """The current URL's query string with `page` set: filters and tabs carry over."""
    query = context["request"].GET.copy()
    query["page"] = number
    return f"?{query.urlencode()}"
