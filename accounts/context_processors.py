from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from accounts.permissions import NAVIGATION, capabilities_of


def navigation(request: HttpRequest) -> dict[str, Any]:
    """The sections the user's role has, each with its pages; the current one is marked.

    `nav_sections`: [{"label", "url" (its first page), "active", "items": [{"label", "url",
    "active"}]}]; `nav_section` is the current section (its pages show as tabs).
    """
    caps = capabilities_of(getattr(request, "user", None))
    if not caps:
        return {"nav_sections": [], "nav_section": None, "user_capabilities": frozenset()}
    sections = []
    for section_label, entries in NAVIGATION:
        items = [
            {"label": label, "url": reverse(url_name), "active": False}
            for label, url_name, capability in entries
            if capability in caps
        ]
        if items:
            sections.append(
                {"label": section_label, "url": items[0]["url"], "active": False, "items": items}
            )
    # Only the most specific match is current: "/codes/releases/" beats "/codes/".
    matching = [
        (section, item)
        for section in sections
        for item in section["items"]
        if request.path.startswith(item["url"])
    ]
    current = None
    if matching:
        current, item = max(matching, key=lambda pair: len(pair[1]["url"]))
        current["active"] = item["active"] = True
    return {
        "nav_sections": sections,
        "nav_section": current if current and len(current["items"]) > 1 else None,
        "user_capabilities": {c.value for c in caps},
    }
