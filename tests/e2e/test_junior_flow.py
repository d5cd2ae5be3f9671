"""A junior coder takes a FHIR chart from import to review in a real browser."""

import re

import pytest

from accounts.models import PhiAccess
from encounters.models import Encounter
from tests.conftest import PASSWORD
from tests.e2e.bundles import diabetes_bundle

pytestmark = pytest.mark.django_db(transaction=True)

PASSAGE = "type 2 diabetes mellitus without complications"


def _sign_in(page, base, user):
    page.goto(f"{base}/sign-in/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/encounters/queue/"))


def _add_code(page, key, text, code):
    """Focus the entry box with its shortcut, type, arrow to `code` in the results, Enter."""
    page.locator("body").press("Escape")
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.keyboard.press(key)
    box = page.locator("#dx-q" if key == "d" else "#px-q")
    assert box.evaluate("el => el === document.activeElement")
    page.keyboard.type(text, delay=15)
    rows = page.locator(f"#{'dx' if key == 'd' else 'px'}-results tr[data-hit]")
    rows.first.wait_for()
    page.wait_for_function(
        "([sel, q]) => document.querySelector(sel)?.getAttribute('data-query') === q",
        arg=[f"#{'dx' if key == 'd' else 'px'}-results table[data-hits]", text],
    )
    codes = rows.evaluate_all("rows => rows.map(r => r.getAttribute('data-code'))")
    assert code in codes, codes
    for _ in range(codes.index(code) + 1):
        page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.locator(f'#dx-list li[data-code="{code}"], #px-list li[data-code="{code}"]').wait_for()
    page.wait_for_function("() => document.getElementById('dx-q').value === ''")


def _select_text(page, passage):
    """Drag the mouse across `passage` in the open document, as a coder would."""
    boxes = page.evaluate(
        """(passage) => {
          const el = document.querySelector('.doc-panel:not([hidden]) [data-doc-text]');
          const node = el.firstChild;
          const at = node.data.indexOf(passage);
          const range = document.createRange();
          range.setStart(node, at);
          range.setEnd(node, at + passage.length);
          const rects = Array.from(range.getClientRects());
          const first = rects[0], last = rects[rects.length - 1];
          return {x1: first.left + 1, y1: first.top + first.height / 2,
                  x2: last.right - 1, y2: last.top + last.height / 2};
        }""",
        passage,
    )
    page.mouse.move(boxes["x1"], boxes["y1"])
    page.mouse.down()
    page.mouse.move(boxes["x2"], boxes["y2"], steps=8)
    page.mouse.up()


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
    page.click("nav[aria-label=Main] >> text=My queue")
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
