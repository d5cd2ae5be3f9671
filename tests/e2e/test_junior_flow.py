"""A junior coder takes a FHIR chart from import to review in a real browser."""

import re

import pytest

from accounts.models import PhiAccess
from encounters.models import Encounter
from tests.e2e.bundles import diabetes_bundle
from tests.e2e.steps import add_code as _add_code
from tests.e2e.steps import select_text as _select_text
from tests.e2e.steps import sign_in as _sign_in

pytestmark = pytest.mark.django_db(transaction=True)

PASSAGE = "type 2 diabetes mellitus without complications"


def test_a_junior_imports_codes_attaches_evidence_and_submits(code_sets, live_server, page, junior):
    base = live_server.url
    _sign_in(page, base, junior)

    # Intake: import a FHIR bundle and read the summary.
    page.click("text=Chart intake")
    page.click("text=Import FHIR bundle")
    page.set_input_files(
        "input[name=bundle]",
        {"name": "bundle.json", "mimeType": "application/json", "buffer": diabetes_bundle()},
    )
    page.click("button:has-text('Import')")
    summary = page.locator("section[aria-labelledby=result-h]")
    summary.wait_for()
    assert "Harper, Elena" in summary.inner_text()
    encounter = Encounter.objects.get(source_id="enc-1")
    assert encounter.status == Encounter.Status.READY

    # The queue: open the chart, claim it.
    page.click("nav[aria-label=Coding] >> text=My queue")
    page.click(f"a:has-text('{encounter.account_number}')")
    page.click("text=Claim and start coding")
    page.wait_for_selector("#dx-q")
    assert PhiAccess.objects.filter(
        user=junior, encounter_id=encounter.pk, action=PhiAccess.Action.VIEW_ENCOUNTER
    ).exists()
    assert PASSAGE in page.locator(".doc-panel:not([hidden]) [data-doc-text]").inner_text()

    # A header code raises an error edit...
    _add_code(page, "d", "E11", "E11")
    edits = page.locator("#edits")
    edits.locator("[data-rule=NOT_BILLABLE]").wait_for()
    assert "1 error" in edits.locator(".edit-counts").inner_text()

    # ...which clears once the header is replaced by the specific code, found by words.
    page.click("button[aria-label='Remove E11']")
    page.locator("#dx-list li[data-code='E11']").wait_for(state="detached")
    _add_code(page, "d", "type 2 diab without compl", "E11.9")
    page.locator("[data-rule=NOT_BILLABLE]").wait_for(state="detached")
    assert "0 errors" in edits.locator(".edit-counts").inner_text()

    # Evidence: select the passage in the document and attach it to E11.9.
    _select_text(page, PASSAGE)
    page.wait_for_function("() => !document.querySelector('[data-evidence-submit]').disabled")
    diagnosis = encounter.diagnoses.get(code="E11.9")
    page.select_option("#evidence-target", f"diagnosis:{diagnosis.pk}")
    page.click("[data-evidence-submit]")
    quote = page.locator("#dx-list li[data-code='E11.9'] .quote")
    quote.wait_for()
    diagnosis.refresh_from_db()
    text = encounter.documents.get().text
    assert diagnosis.evidence_quote == PASSAGE
    assert text[diagnosis.evidence_start : diagnosis.evidence_end] == PASSAGE
    quote.click()
    assert page.evaluate("CSS.highlights.has('evidence-current')")

    # Find in document highlights the matches.
    page.fill("#doc-find-q", "metformin")
    page.wait_for_function(
        "() => document.querySelector('[data-doc-find-count]').textContent.includes('of 2')"
    )

    # Submit for review: back to the queue with the confirmation.
    page.click("button[data-submit-review]")
    page.wait_for_url(re.compile(r"/encounters/queue/"))
    assert "sent for review" in page.locator(".messages").inner_text()
    encounter.refresh_from_db()
    assert encounter.status == Encounter.Status.REVIEW
    assert page.js_errors == []
