"""A complex case in a real browser: a junior escalates it, an intermediate takes it, sees the
MS-DRG change with a what-if, queries the provider, records the answer and submits.

The review round trip (return with a comment, fix, accept) is test_review_flow.py."""

import re

import pytest

from encounters import services
from encounters.models import Encounter, PhysicianQuery
from tests.e2e.steps import add_code, sign_in
from tests.factories import DocumentFactory, InpatientEncounterFactory

pytestmark = pytest.mark.django_db(transaction=True)

DISCHARGE_SUMMARY = (
    "Discharge summary. Admitted with fever, hypotension and lactate 4.2; blood cultures grew "
    "E. coli. Sepsis treated with IV ceftriaxone. On day 2 the patient needed BiPAP: "
    "SpO2 84% on room air, PaO2 52, respiratory rate 32. Creatinine rose from 1.0 to 2.4 "
    "and recovered with fluids. Discharged home on day 5."
)
INDICATOR = "SpO2 84% on room air, PaO2 52, respiratory rate 32"


def _finish_panel(page):
    page.click("a:has-text('Submit or escalate')")
    page.locator("#finish").wait_for()


def test_escalated_case_drg_what_if_query_answer_submit(
    code_sets, live_server, page, junior, intermediate
):
    base = live_server.url
    encounter = InpatientEncounterFactory(
        status=Encounter.Status.READY, provider="Dr. Imani Okafor"
    )
    DocumentFactory(
        encounter=encounter,
        note_type="discharge",
        title="Discharge summary",
        text=DISCHARGE_SUMMARY,
    )
    # The junior starts the chart and codes what is plain, then escalates it in the browser.
    services.encounter_claim(encounter=encounter, by=junior)
    encounter.refresh_from_db()
    for code in ("A41.51", "N17.9"):
        services.diagnosis_add(
            encounter=encounter, by=junior, version=encounter.version, code=code, poa="Y"
        )
        encounter.refresh_from_db()

    sign_in(page, base, junior)
    page.goto(f"{base}/encounters/{encounter.pk}/")
    _finish_panel(page)
    page.fill("#escalate-reason", "Respiratory failure? BiPAP on day 2 but not diagnosed.")
    page.click("#finish button:has-text('Escalate')")
    page.wait_for_url(re.compile(r"/encounters/queue/"))
    assert "escalated as a complex case" in page.locator(".messages").inner_text()
    encounter.refresh_from_db()
    assert encounter.status == Encounter.Status.COMPLEX
    assert "BiPAP" in encounter.escalation_reason
    page.context.clear_cookies()

    # The intermediate sees it in the complex queue with the junior's reason, and takes it.
    sign_in(page, base, intermediate, lands_on=r"/encounters/complex/")
    row = page.locator(f"tr:has-text('{encounter.account_number}')")
    assert "BiPAP on day 2" in row.inner_text()
    row.locator("button:has-text('Take')").click()
    page.wait_for_selector("#dx-q")
    encounter.refresh_from_db()
    assert encounter.status == Encounter.Status.CODING
    assert encounter.assignee == intermediate

    # MS-DRG panel: grouped as coded; adding the respiratory failure makes it an MCC.
    drg = page.locator("#drg-panel [data-drg]")
    drg.wait_for()
    before = drg.get_attribute("data-drg")
    add_code(page, "d", "J96.01", "J96.01")
    page.wait_for_function(
        "(before) => { const el = document.querySelector('#drg-panel [data-drg]');"
        " return el && el.getAttribute('data-drg') !== before; }",
        arg=before,
    )
    with_mcc = page.locator("#drg-panel [data-drg]").get_attribute("data-drg")
    # Present on admission: the POA edit clears once it is chosen.
    page.locator("#edits [data-rule=POA_MISSING]").wait_for()
    failure = encounter.diagnoses.get(code="J96.01")
    page.select_option(f"#poa-{failure.pk}", "Y")
    page.locator("#edits [data-rule=POA_MISSING]").wait_for(state="detached")
    page.wait_for_load_state("networkidle")  # the DRG panel re-groups after the save
    assert "J96.01" in page.locator("#drg-panel .drg-ccs").inner_text()

    # What-if: leave J96.01 out — the DRG falls back, nothing is saved.
    page.locator("#drg-panel input[name=keep][value='J96.01']").uncheck()
    result = page.locator("#drg-panel [data-what-if-drg]")
    result.wait_for()
    assert result.get_attribute("data-what-if-drg") != with_mcc
    assert f"DRG {with_mcc} →" in result.inner_text()
    assert encounter.diagnoses.filter(code="J96.01").exists()

    # The documentation does not state respiratory failure: query the provider.
    query_form = page.locator("details.query-new")
    if query_form.get_attribute("open") is None:  # open already when there is no query yet
        query_form.locator("summary").click()
    page.fill("#q-ind-text-ws", INDICATOR)
    page.fill(
        "#q-question-ws",
        "Based on the clinical indicators above, please clarify the condition "
        "that was treated with BiPAP on day 2.",
    )
    page.click("form[data-query-form] button:has-text('Send query')")
    page.locator(".query-item.query-sent").wait_for()
    encounter.refresh_from_db()
    assert encounter.status == Encounter.Status.QUERY_PENDING
    query = encounter.queries.get()
    assert query.clinical_indicators[0]["quote"] == INDICATOR

    # The answer arrives: record it; the chart is back in coding.
    page.locator(f"#query-{query.pk} summary:has-text('Record the answer')").click()
    page.fill(f"#qa-answer-{query.pk}", "Acute respiratory failure with hypoxia.")
    page.click(f"#query-{query.pk} button:has-text('Record answer')")
    page.locator(f"#query-{query.pk}.query-answered").wait_for()
    query.refresh_from_db()
    assert query.status == PhysicianQuery.Status.ANSWERED
    encounter.refresh_from_db()
    assert encounter.status == Encounter.Status.CODING

    # Submit: the DRG at this save is kept for the next reviewer.
    _finish_panel(page)
    page.click("button[data-submit-review]")
    page.wait_for_url(re.compile(r"/encounters/queue/"))
    encounter.refresh_from_db()
    assert encounter.status == Encounter.Status.REVIEW
    assert encounter.drg_at_save.get("drg") == with_mcc
    assert page.js_errors == []
