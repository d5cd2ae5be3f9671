from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from accounts.permissions import NAVIGATION, capabilities_of


def navigation(request: HttpRequest) -> dict[str, Any]:
    caps = capabilities_of(getattr(request, "user", None))
    if not caps:
        return {"nav_items": [], "user_capabilities": frozenset()}
    current = request.path
    items = []
    for label, url_name, capability in NAVIGATION:
        if capability in caps:
            url = reverse(url_name)
            items.append({"label": label, "url": url, "active": current.startswith(url)})
    return {"nav_items": items, "user_capabilities": {c.value for c in caps}}
