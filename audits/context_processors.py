"""The unread-bulletins notice on a coder's home page (templates/base.html includes it)."""

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from accounts.permissions import HOME_URL_NAME, Capability, has_capability


def unread_bulletins(request: HttpRequest) -> dict[str, Any]:
    """`unread_bulletins` on the user's home page(s) only, for bulletin readers; lazy, so the
    one query runs only when a full page renders the notice (never for htmx partials)."""
    user = getattr(request, "user", None)
    match = getattr(request, "resolver_match", None)
    if user is None or match is None or not user.is_authenticated:
        return {}
    homes = {HOME_URL_NAME.get(user.role), HOME_URL_NAME.get(user.also_coder_role)}
    if match.view_name not in homes or not has_capability(user, Capability.CODE_ENCOUNTERS):
        return {}
    from audits.bulletins import unread_for

    return {"unread_bulletins": SimpleLazyObject(lambda: unread_for(user=user))}
