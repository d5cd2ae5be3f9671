"""The Content-Security-Policy allows no inline script: templates carry none, and pages send
the header."""

import re
from pathlib import Path

import pytest
from django.urls import reverse

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
SCRIPT_TAG = re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
# onclick=, onchange=... and htmx's hx-on, which evaluates code too; javascript: URLs.
HANDLER = re.compile(r"""\s(on[a-z]+|hx-on[:\w-]*|data-hx-on[:\w-]*)\s*=|javascript:""", re.I)


def _offences() -> list[str]:
    found = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if SCRIPT_TAG.search(line) or HANDLER.search(line):
                found.append(f"{path.relative_to(TEMPLATES)}:{number}: {line.strip()[:120]}")
    return found


def test_no_template_has_inline_script_or_event_handlers():
    assert _offences() == []


def test_the_checker_would_catch_them():
    assert SCRIPT_TAG.search("<script>alert(1)</script>")
    assert not SCRIPT_TAG.search('<script src="/static/js/app.js" defer></script>')
    assert HANDLER.search('<button onclick="go()">')
    assert HANDLER.search('<form hx-on::after-request="x()">')
    assert not HANDLER.search('<div class="one">')


@pytest.mark.django_db
def test_pages_send_a_policy_without_inline_script(client):
    response = client.get(reverse("accounts:login"))
    policy = response["Content-Security-Policy"]
    script_src = re.search(r"script-src ([^;]*)", policy).group(1).split()
    assert script_src == ["'self'"]
    assert "frame-ancestors 'none'" in policy
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
def test_the_api_docs_page_loads_its_script_from_a_url(admin_client):
    page = admin_client.get(reverse("api-docs")).content.decode()
    assert "<script" in page and not SCRIPT_TAG.search(page)
