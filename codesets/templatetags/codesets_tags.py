"""Template helpers for the code pages: links to codes, note text with linked references."""

import re
from collections.abc import Iterable
from typing import Any

from django import template
from django.urls import reverse
from django.utils.html import escape, format_html
from django.utils.http import urlencode
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

# Short names for tight places (the top-bar selector, badges).
SHORT_SYSTEM_NAMES = {
    "icd10cm": "ICD-10-CM",
    "icd10pcs": "ICD-10-PCS",
    "hcpcs": "HCPCS",
    "cpt": "CPT",
    "icd10who": "ICD-10 WHO",
    "modifier": "Modifiers",
}
# Systems whose codes are written with a dot after the third character.
_DOTTED = {"icd10cm", "icd10who"}


def display_code(system: str, code: str) -> str:
    """E1165 → E11.65 for ICD-10; other systems and already dotted codes unchanged."""
    code = code.strip().upper()
    if system in _DOTTED and "." not in code and len(code) > 3 and "-" not in code:
        return f"{code[:3]}.{code[3:]}"
    return code


def code_href(system: str, code: str, on: str = "") -> str:
    url = reverse("codesets:code_detail", args=[system, display_code(system, code)])
    return f"{url}?{urlencode({'date': on})}" if on else url


@register.simple_tag
def code_url(system: str, code: str, on: str = "") -> str:
    """URL of a code's detail page, keeping the date of service when there is one."""
    return code_href(system, code, on)


@register.filter
def short_system(slug: str) -> str:
    return SHORT_SYSTEM_NAMES.get(slug, slug)


@register.simple_tag
def searchable_systems() -> list[tuple[str, str]]:
    from codesets.api import SEARCHABLE_SYSTEMS

    return [(slug, SHORT_SYSTEM_NAMES.get(slug, slug)) for slug in SEARCHABLE_SYSTEMS]


@register.simple_tag
def note_text(note: dict[str, Any], system: str, on: str = "") -> SafeString:
    """The note's text, escaped, with each code reference turned into a link.

    A reference names a code or a range ("E10.-", "E16-E31"); the link opens the first code
    of the range. Line breaks in the note are kept.
    """
    text: str = note.get("text", "")
    references = {ref["text"]: ref for ref in note.get("references", []) if ref.get("text")}
    if not references:
        return mark_safe(escape(text).replace("\n", "<br>"))
    alternatives = "|".join(re.escape(t) for t in sorted(references, key=len, reverse=True))
    pattern = re.compile(rf"(?<![A-Za-z0-9.])(?:{alternatives})(?![A-Za-z0-9])")
    parts: list[str] = []
    last = 0
    for match in pattern.finditer(text):
        ref = references[match.group(0)]
        first = display_code(system, ref["first"])
        title = f"Open {first}"
        if ref.get("last") and ref["last"] != ref["first"]:
            title = f"{first}–{display_code(system, ref['last'])}: open {first}"
        parts.append(escape(text[last : match.start()]))
        parts.append(
            format_html(
                '<a class="ref code" href="{}" title="{}">{}</a>',
                code_href(system, ref["first"], on),
                title,
                match.group(0),
            )
        )
        last = match.end()
    parts.append(escape(text[last:]))
    return mark_safe("".join(parts).replace("\n", "<br>"))


def _natural_key(text: str) -> list:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", text)]


@register.filter
def natural_items(mapping: dict | None) -> list[tuple[str, Any]]:
    """A dict's items sorted so that "Chapter 2" comes before "Chapter 10"."""
    if not mapping:
        return []
    return sorted(mapping.items(), key=lambda item: _natural_key(str(item[0])))


@register.filter
def humanize_key(key: str) -> str:
    """snake_case field names of a code's extra data as words: "betos_code" → "Betos code"."""
    return str(key).replace("_", " ").strip().capitalize()


@register.filter
def is_list(value: Any) -> bool:
    return isinstance(value, Iterable) and not isinstance(value, str | bytes | dict)


@register.filter
def get_item(mapping: dict | None, key: str) -> Any:
    return (mapping or {}).get(key)
