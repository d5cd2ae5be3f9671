"""A whole audit in a real browser: a senior creates a pre-bill plan and draws its sample,
re-codes the chart blind, edits a finding; the coder disputes it; a senior resolves the
dispute; the dashboard (or the plan page) shows the accuracy."""

import os
import re
from pathlib import Path

import pytest
from django.urls import NoReverseMatch, reverse

from audits.models import AuditItem, AuditPlan, Finding
from encounters.models import Encounter
from tests.audits.plan_factories import coded_encounter
from tests.conftest import PASSWORD
from tests.factories import DocumentFactory

pytestmark = pytest.mark.django_db(transaction=True)

# Set AUDIT_SCREENSHOTS=/some/dir to keep a screenshot of each page.
SHOTS = os.environ.get("AUDIT_SCREENSHOTS", "")
NOTE = (
    "Assessment: type 2 diabetes mellitus with diabetic polyneuropathy. Hypertension. On insulin."
)


def _shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


def _sign_in(browser, base, user):
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors
    page.goto(f"{base}/sign-in/")
    page.fill("input[name=username]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/sign-in/" not in url)
    return page


def _add_diagnosis(page, code):
    page.locator("body").press("Escape")
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.keyboard.press("d")
    page.keyboard.type(code, delay=15)
    page.locator("#dx-results tr[data-hit]").first.wait_for()
    page.wait_for_function(
        "(q) => document.querySelector('#dx-results table[data-hits]')"
        "?.getAttribute('data-query') === q",
        arg=code,
    )
    codes = page.locator("#dx-results tr[data-hit]").evaluate_all(
        "rows => rows.map(r => r.getAttribute('data-code'))"
    )
    assert code in codes, codes
    for _ in range(codes.index(code) + 1):
        page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.locator(f'#audit-dx li[data-code="{code}"]').wait_for()
    page.wait_for_function("() => document.getElementById('dx-q').value === ''")


def test_a_pre_bill_audit_from_plan_to_resolved_dispute(
    code_sets, live_server, browser, junior, senior
):
    base = live_server.url
    encounter = coded_encounter(
        junior, diagnoses=[("E11.9", ""), ("I10", ""), ("Z79.4", "")], status="coded"
    )
    DocumentFactory(encounter=encounter, text=NOTE)

    # The senior creates a pre-bill plan and draws its sample.
    sen = _sign_in(browser, base, senior)
    sen.goto(f"{base}/audits/plans/new/")
    sen.fill("#id_name", "May pre-bill")
    sen.check("input[name=kind][value=pre_bill]")
    sen.select_option("#id_auditors", [str(senior.pk)])
    sen.check("input[name=method][value=random_percent]")
    sen.fill("#id_percent", "100")
    sen.fill("#id_date_from", "2026-05-01")
    sen.fill("#id_date_to", "2026-05-31")
    _shot(sen, "plan_new")
    sen.click("button:has-text('Create plan')")
    sen.wait_for_url(re.compile(r"/audits/plans/\d+/$"))
    sen.click("[data-draw-sample]")
    sen.locator(".messages >> text=Drew 1 encounter").wait_for()
    _shot(sen, "plan_sampled")
    encounter.refresh_from_db()
    assert encounter.status == Encounter.Status.PRE_BILL_AUDIT
    assert (
        "random 100 % of 1 coded encounter in May 2026" in sen.locator(".sample-table").inner_text()
    )

    # Blind re-code: the coder's codes are nowhere on the page.
    sen.click(f"text={encounter.account_number}")
    sen.click("button:has-text('Start blind re-code')")
    sen.locator("#dx-q").wait_for()
    body = sen.locator("main").inner_text()
    assert "diabetic polyneuropathy" in body
    assert "E11.9" not in body and "Z79.4" not in body
    _add_diagnosis(sen, "E11.42")
    _add_diagnosis(sen, "I10")
    _add_diagnosis(sen, "Z79.4")
    # The count follows the list once htmx has settled the swap.
    sen.locator("[data-recode-count]:has-text('3 diagnoses')").wait_for()
    _shot(sen, "recode")
    sen.click("[data-complete-recode]")
    sen.locator("text=Re-code complete: 2 of 4 codes agree, 1 finding.").wait_for()
    _shot(sen, "comparison")
    assert "Coder’s codes" in sen.locator("main").inner_text()

    # The auditor adds a note to the finding (htmx: the row is replaced in place).
    finding = Finding.objects.get()
    assert (finding.kind, finding.original_code, finding.audited_code) == (
        "changed",
        "E11.9",
        "E11.42",
    )
    row = sen.locator(f"#finding-{finding.pk}")
    row.locator("textarea[name=note]").fill("Polyneuropathy is documented in the assessment.")
    row.locator("button:has-text('Save')").click()
    sen.locator(f"#finding-{finding.pk} >> text=Saved").wait_for()
    finding.refresh_from_db()
    assert finding.note == "Polyneuropathy is documented in the assessment."

    # The coder disputes it from "Audit findings".
    jun = _sign_in(browser, base, junior)
    jun.click("nav >> text=Audit findings")
    jun.wait_for_url(re.compile(r"/audits/my-findings/"))
    card = jun.locator(f"#finding-{finding.pk}")
    assert "Polyneuropathy is documented" in card.inner_text()
    card.locator("textarea[name=reason]").fill("Provider did not link the neuropathy to diabetes.")
    card.locator("button[value=disputed]").click()
    jun.locator(".messages >> text=Your answer is recorded.").wait_for()
    _shot(jun, "my_findings")
    finding.refresh_from_db()
    assert finding.response == Finding.Response.DISPUTED

    # A senior resolves the dispute: the finding is upheld.
    sen.goto(f"{base}/audits/")
    _shot(sen, "home")
    sen.click("a:has-text('Disputes')")
    dispute = sen.locator(f"#finding-{finding.pk}")
    assert "Provider did not link" in dispute.inner_text()
    _shot(sen, "disputes")
    dispute.locator("textarea[name=note]").fill("“With” presumes the link (guideline I.A.15).")
    dispute.locator("button[value=upheld]").click()
    sen.locator(".messages >> text=resolved").wait_for()
    finding.refresh_from_db()
    assert finding.resolution == Finding.Resolution.UPHELD

    # Closing the item sends the chart back to coding, since a finding stands.
    item = AuditItem.objects.get()
    sen.goto(f"{base}/audits/items/{item.pk}/")
    sen.click("[data-close-item]")
    sen.locator(".messages >> text=Item closed").wait_for()
    encounter.refresh_from_db()
    assert encounter.status == Encounter.Status.CODING

    # The accuracy shows: on the dashboard when it exists, else on the plan page.
    try:
        dashboard = reverse("audits:dashboard")
    except NoReverseMatch:
        dashboard = ""
    if dashboard:
        sen.goto(f"{base}{dashboard}")
        _shot(sen, "dashboard")
        assert re.search(r"50(\.0)?\s?%", sen.locator("main").inner_text())
    else:
        sen.goto(f"{base}/audits/plans/{AuditPlan.objects.get().pk}/")
        assert "50.0 %" in sen.locator("[data-plan-accuracy]").inner_text()
    for page in (sen, jun):
        assert page.js_errors == []
