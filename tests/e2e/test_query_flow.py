"""An intermediate coder quotes clinical indicators by selecting text, sends a compliant query,
records the answer, and sees the chart back in coding — in a real browser.

Set QUERY_SCREENSHOTS=/some/dir to keep screenshots of each page."""

import os
import re
from pathlib import Path

import pytest

from encounters.models import Encounter, PhysicianQuery
from tests.conftest import PASSWORD
from tests.e2e.test_junior_flow import _select_text
from tests.factories import DocumentFactory, InpatientEncounterFactory

pytestmark = pytest.mark.django_db(transaction=True)

NOTE = (
    "Hospital day 2. Hgb 6.9 g/dL this morning, down from 11.2 on admission.\n"
    "Two units PRBC transfused. Melena overnight; GI consulted.\n"
)


def _shot(page, name):
    folder = os.environ.get("QUERY_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def test_an_intermediate_sends_a_query_and_records_the_answer(
    code_sets, live_server, page, intermediate
):
    encounter = InpatientEncounterFactory(
        assignee=intermediate, status=Encounter.Status.CODING, provider="Dr. Grey"
    )
    DocumentFactory(encounter=encounter, text=NOTE, title="Progress note day 2")
    base = live_server.url
    page.goto(f"{base}/sign-in/")
    page.fill("input[name=username]", intermediate.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/encounters/"))

    page.goto(f"{base}/encounters/{encounter.pk}/")
    panel = page.locator("#queries")
    panel.scroll_into_view_if_needed()
    form = panel.locator("[data-query-form]")
    pick = form.locator("[data-query-pick]")
    assert pick.is_disabled()
    _select_text(page, "Hgb 6.9 g/dL this morning, down from 11.2 on admission.")
    pick.wait_for(state="visible")
    page.wait_for_function("() => !document.querySelector('#queries [data-query-pick]').disabled")
    pick.click()
    _select_text(page, "Two units PRBC transfused.")
    page.wait_for_function("() => !document.querySelector('#queries [data-query-pick]').disabled")
    pick.click()
    assert form.locator("input[name=indicator]").count() == 2
    form.locator("input[value=multiple_choice]").check()
    form.locator("textarea[name=options]").fill(
        "Acute blood loss anemia\nAnemia of chronic disease"
    )
    form.locator("textarea[name=question]").fill(
        "Based on the indicators above, please clarify the type of anemia being treated."
    )
    _shot(page, "1-workspace-query-form")
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(rf"/encounters/{encounter.pk}/$"))
    assert "query pending" in page.locator(".messages").inner_text()
    query = PhysicianQuery.objects.get(encounter=encounter)
    assert [i["quote"] for i in query.clinical_indicators] == [
        "Hgb 6.9 g/dL this morning, down from 11.2 on admission.",
        "Two units PRBC transfused.",
    ]
    _shot(page, "2-workspace-query-sent")

    page.goto(f"{base}/encounters/queries/")
    assert encounter.account_number in page.locator("#query-aging").inner_text()
    _shot(page, "3-query-aging")

    page.goto(f"{base}/encounters/{encounter.pk}/")
    panel = page.locator("#queries")
    panel.locator("summary:has-text('Record the answer')").click()
    panel.locator("input[name=option][value='Acute blood loss anemia']").check()
    panel.locator("button:has-text('Record answer')").click()
    page.wait_for_url(re.compile(rf"/encounters/{encounter.pk}/$"))
    assert "back in coding" in page.locator(".messages").inner_text()
    encounter.refresh_from_db()
    assert encounter.status == Encounter.Status.CODING
    _shot(page, "4-workspace-answered")

    page.goto(f"{base}/encounters/{encounter.pk}/queries/new/")
    page.fill("textarea[name=question]", "Please document anemia; it changes the DRG.")
    page.fill("textarea[name=indicator_text]", "Melena overnight")
    page.click("button:has-text('Send query')")
    assert "The question is leading" in page.content()
    _shot(page, "5-query-page-refused")
    assert page.js_errors == []
