"""The shared layout: landmarks, role navigation, sign out, search box, accessible forms."""

import re
from datetime import date, timedelta
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from accounts.models import Role
from encounters.models import Encounter, Patient
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

HOMES = {
    Role.JUNIOR: "encounters:queue",
    Role.INTERMEDIATE: "encounters:complex",
    Role.SENIOR: "audits:home",
    Role.ADMIN: "accounts:admin_home",
}


class _Form(HTMLParser):
    """Collects form controls, labels and scripts of a page."""

    def __init__(self):
        super().__init__()
        self.controls: list[dict] = []
        self.label_for: set[str] = set()
        self.scripts: list[dict] = []
        self.handlers: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.handlers += [name for name in attrs if name.startswith("on")]
        if tag == "label" and attrs.get("for"):
            self.label_for.add(attrs["for"])
        elif tag in ("input", "select", "textarea"):
            if attrs.get("type") not in ("hidden", "submit", "button"):
                self.controls.append(attrs)
        elif tag == "script":
            self.scripts.append(attrs)


def _parse(html: str) -> _Form:
    parser = _Form()
    parser.feed(html)
    return parser


def _unlabelled(html: str) -> list[dict]:
    page = _parse(html)
    return [
        c
        for c in page.controls
        if not (c.get("id") in page.label_for or c.get("aria-label") or c.get("aria-labelledby"))
    ]


def _encounter(**extra) -> Encounter:
    patient = Patient.objects.create(
        mrn="T-1", first_name="Ana", last_name="Testcase", birth_date=date(1960, 1, 2), sex="F"
    )
    return Encounter.objects.create(
        patient=patient,
        account_number="ACC-T1",
        type=Encounter.Type.INPATIENT,
        admit_date=date(2026, 1, 3),
        discharge_date=date(2026, 1, 6),
        payer="Medicare",
        due_date=date.today() - timedelta(days=1),
        **extra,
    )


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_every_home_page_has_the_layout_landmarks(client, personas, role):
    client.login(username=personas[role].username, password=PASSWORD)
    page = client.get(reverse(HOMES[role])).content.decode()
    assert '<a class="skip-link" href="#main">' in page
    assert '<main id="main"' in page and '<nav aria-label="Main">' in page
    assert personas[role].role_label in page
    assert re.search(r'<form method="post" action="/sign-out/">.*?Sign out</button>', page, re.S)


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_the_top_bar_search_box_is_there_for_everyone_who_may_search(client, personas, role):
    client.login(username=personas[role].username, password=PASSWORD)
    page = client.get(reverse(HOMES[role])).content.decode()
    assert 'id="global-q"' in page
    assert 'hx-get="/codes/"' in page and 'hx-trigger="keyup changed delay:150ms' in page


def test_the_sign_in_page_has_no_navigation_and_no_search(client):
    page = client.get(reverse("accounts:login")).content.decode()
    assert 'id="global-q"' not in page and '<nav aria-label="Main">' not in page
    assert _unlabelled(page) == []


def test_only_the_most_specific_navigation_item_is_current(client, junior):
    client.login(username=junior.username, password=PASSWORD)
    page = client.get(reverse("codesets:releases")).content.decode()
    current = re.findall(r'<a href="([^"]+)" aria-current="page">', page)
    assert current == [reverse("codesets:releases")]


def test_the_code_search_page_uses_its_own_search_box_instead_of_the_top_bar(client, junior):
    client.login(username=junior.username, password=PASSWORD)
    page = client.get(reverse("codesets:search")).content.decode()
    assert 'id="global-q"' not in page and 'id="q"' in page


def test_form_fields_have_labels_on_every_page(client, junior):
    from codesets.models import Release

    old, new = Release.objects.filter(system__slug="icd10cm").order_by("effective_from")[:2]
    client.login(username=junior.username, password=PASSWORD)
    for url in (
        reverse("encounters:queue"),
        reverse("codesets:search") + "?q=E11.9",
        reverse("codesets:code_detail", args=["icd10cm", "E11.40"]),
        reverse("codesets:releases"),
        reverse("codesets:release_diff", args=[old.pk, new.pk]),
    ):
        assert _unlabelled(client.get(url).content.decode()) == [], url


def test_pages_have_no_inline_scripts_or_event_handlers(client, junior):
    client.login(username=junior.username, password=PASSWORD)
    for url in (
        reverse("encounters:queue"),
        reverse("codesets:search") + "?q=E11.9",
        reverse("codesets:code_detail", args=["icd10cm", "E11.40"]),
        reverse("codesets:releases"),
    ):
        page = _parse(client.get(url).content.decode())
        assert page.handlers == [], url
        assert page.scripts and all(s.get("src", "").startswith("/static/") for s in page.scripts)


def test_the_junior_queue_lists_the_encounters(client, junior):
    _encounter()
    client.login(username=junior.username, password=PASSWORD)
    page = client.get(reverse("encounters:queue")).content.decode()
    for text in ("ACC-T1", "Testcase, Ana", "Inpatient", "2026-01-03", "2026-01-06", "Medicare"):
        assert text in page
    assert "Overdue" in page


def test_an_empty_queue_says_so(client, junior):
    client.login(username=junior.username, password=PASSWORD)
    assert "Your queue is empty" in client.get(reverse("encounters:queue")).content.decode()
