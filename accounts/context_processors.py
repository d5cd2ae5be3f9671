from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from accounts.permissions import NAVIGATION, capabilities_of


def navigation(request: HttpRequest) -> dict[str, Any]:
    caps = capabilities_of(getattr(request, "user", None))
    if not caps:
        return {"nav_items": [], "user_capabilities": frozenset()}
    items = [
        {"label": label, "url": reverse(url_name), "active": False}
        for label, url_name, capability in NAVIGATION
        if capability in caps
    ]
    # Only the most specific match is current: "/codes/releases/" beats "/codes/".
    matching = [item for item in items if request.path.startswith(item["url"])]
    if matching:
        max(matching, key=lambda item: len(item["url"]))["active"] = True
    return {"nav_items": items, "user_capabilities": {c.value for c in caps}}
