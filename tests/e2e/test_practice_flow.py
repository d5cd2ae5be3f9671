"""A junior practises on a demo chart in a real browser: start, code, submit, see the score."""

import re

import pytest

from audits.models import PracticeAttempt
from audits.practice.library import practice_demo_import
from tests.e2e.steps import add_code as _add_code
from tests.e2e.steps import sign_in as _sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_junior_codes_a_practice_chart_and_sees_the_score(code_sets, live_server, page, junior):
    practice_demo_import(by=None)
    base = live_server.url
    _sign_in(page, base, junior)

    page.click("nav[aria-label=Coding] >> text=Practice")
    page.wait_for_url(re.compile(r"/practice/$"))
    page.click("button[aria-label='Start COPD and hypertension follow-up (office visit)']")
    page.wait_for_selector("#dx-q")
    banner = page.locator("[data-testid=practice-banner]")
    assert "Practice chart: COPD and hypertension follow-up" in banner.inner_text()
    assert "Follow-up of COPD" in page.locator(".doc-panel:not([hidden])").inner_text()

    # The same code entry as real charts: two of the key's three codes.
    _add_code(page, "d", "J44.9", "J44.9")
    _add_code(page, "d", "essential hypertension", "I10")

    page.click("[data-practice-submit]")
    page.wait_for_url(re.compile(r"/practice/attempts/\d+/$"))
    assert page.locator("[data-testid=practice-score]").inner_text() == "67 %"
    missed = page.locator("ul[data-group=added]")
    assert "Z87.891" in missed.inner_text()
    assert "former smoker" in page.locator("section[aria-labelledby=note-h]").inner_text()

    attempt = PracticeAttempt.objects.get(coder=junior)
    assert (attempt.status, attempt.codes_agreed, attempt.codes_total) == ("scored", 2, 3)
    assert attempt.missed_codes == ["Z87.891"]

    # My practice page lists the attempt with its score.
    page.click("nav[aria-label=Coding] >> text=Practice")
    assert "67 %" in page.locator("[data-testid=my-attempts]").inner_text()
    assert page.js_errors == []
