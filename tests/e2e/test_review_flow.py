"""Second-level review in a real browser: a junior submits, an intermediate returns it with a
comment on a code, the junior reads the feedback, fixes and resubmits, and it is accepted."""

import os
import re
from pathlib import Path

import pytest

from encounters import services
from encounters.models import DiagnosisAssignment, Encounter, Review
from tests.conftest import PASSWORD
from tests.factories import DocumentFactory, EncounterFactory

pytestmark = pytest.mark.django_db(transaction=True)

# Set REVIEW_SCREENSHOTS=/some/dir to keep screenshots of each page for a look.
SHOTS = os.environ.get("REVIEW_SCREENSHOTS", "")


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
    page.wait_for_url(re.compile(r"/encounters/"))
    return page


def test_a_junior_submits_an_intermediate_returns_the_junior_fixes_and_it_is_accepted(
    code_sets, live_server, browser, junior, intermediate
):
    base = live_server.url
    encounter = EncounterFactory(status=Encounter.Status.CODING, assignee=junior)
    DocumentFactory(encounter=encounter)
    services.diagnosis_add(encounter=encounter, by=junior, version=encounter.version, code="E11.9")
    escalated = EncounterFactory(status=Encounter.Status.CODING, assignee=junior)
    services.encounter_escalate(
        encounter=escalated, by=junior, version=escalated.version, reason="Two surgeons, unclear"
    )
    EncounterFactory(complexity_flags=[{"rule": "MCC", "reason": "Inpatient with an MCC"}])

    # The junior submits from the workspace.
    jun = _sign_in(browser, base, junior)
    jun.goto(f"{base}/encounters/{encounter.pk}/")
    jun.click("button[data-submit-review]")
    jun.wait_for_url(re.compile(r"/encounters/queue/"))
    encounter.refresh_from_db()
    assert encounter.status == Encounter.Status.REVIEW

    # The intermediate sees it in the review queue and returns it with a comment on E11.9.
    mid = _sign_in(browser, base, intermediate)
    _shot(mid, "complex_queue")
    assert "Two surgeons, unclear" in mid.locator("main").inner_text()
    mid.click("nav >> text=Reviews")
    mid.wait_for_url(re.compile(r"/encounters/reviews/"))
    _shot(mid, "review_queue")
    mid.click(f'a[aria-label="Review {encounter.account_number}"]')
    mid.wait_for_url(re.compile(rf"/encounters/{encounter.pk}/review/"))
    mid.select_option("#c0-change", "changed")
    mid.select_option("#c0-category", "specificity")
    mid.fill("#c0-corrected", "E11.42")
    mid.fill("#c0-reason", "The note documents diabetic polyneuropathy.")
    mid.fill("#summary", "Code the complication.")
    _shot(mid, "review_page")
    mid.click("button[value=return]")
    mid.wait_for_url(re.compile(r"/encounters/reviews/"))
    assert "returned to Jo Junior" in mid.locator(".messages").inner_text()

    # The junior reads the feedback and fixes the code.
    jun.click("nav >> text=Feedback")
    jun.wait_for_url(re.compile(r"/encounters/feedback/"))
    _shot(jun, "feedback_inbox")
    jun.click("text=Read and fix")
    jun.wait_for_url(re.compile(rf"/encounters/{encounter.pk}/feedback/"))
    assert "diabetic polyneuropathy" in jun.locator("main").inner_text()
    _shot(jun, "feedback_detail")
    assert Review.objects.get().coder_read_at is not None
    jun.click("text=Fix in the workspace")
    jun.wait_for_url(re.compile(rf"/encounters/{encounter.pk}/$"))
    jun.locator("#review-feedback .review-item").wait_for()  # the panel beside the codes
    assert "diabetic polyneuropathy" in jun.locator("#review-feedback").inner_text()
    _shot(jun, "workspace_feedback")
    encounter.refresh_from_db()
    old = encounter.diagnoses.get()
    services.diagnosis_add(encounter=encounter, by=junior, version=encounter.version, code="E11.42")
    encounter.refresh_from_db()
    services.diagnosis_remove(
        encounter=encounter, by=junior, version=encounter.version, diagnosis_id=old.pk
    )
    jun.reload()
    jun.click("button[data-submit-review]")
    jun.wait_for_url(re.compile(r"/encounters/queue/"))

    # Round 2: accepted.
    mid.goto(f"{base}/encounters/reviews/")
    mid.click(f'a[aria-label="Review {encounter.account_number}"]')
    mid.wait_for_url(re.compile(rf"/encounters/{encounter.pk}/review/"))
    assert "Round 2" in mid.locator("main").inner_text()
    mid.click("button[value=accept]")
    mid.wait_for_url(re.compile(r"/encounters/reviews/"))
    encounter.refresh_from_db()
    assert encounter.status == Encounter.Status.CODED
    assert list(encounter.reviews.order_by("round").values_list("round", "outcome")) == [
        (1, "returned"),
        (2, "accepted"),
    ]
    assert [d.code for d in DiagnosisAssignment.objects.filter(encounter=encounter)] == ["E11.42"]
    mid.goto(f"{base}/encounters/reviews/coders/?coder={junior.pk}")
    _shot(mid, "coder_statistics")
    jun.goto(f"{base}/encounters/feedback/")
    _shot(jun, "feedback_inbox_after")
    assert jun.js_errors == [] and mid.js_errors == []
