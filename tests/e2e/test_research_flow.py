"""An intermediate coder builds a cohort from the keyboard, bookmarks it, and downloads the
de-identified dataset after giving its purpose — in a real browser. The file holds no name,
no date and no small group.

Set RESEARCH_SCREENSHOTS=/some/dir to keep screenshots of each page."""

import csv
import io
import os
import re
from datetime import date
from pathlib import Path

import pytest

from audits.models import ResearchExport
from tests.audits.research_fixtures import coded, small_world
from tests.e2e.steps import sign_in
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _shot(page, name):
    folder = os.environ.get("RESEARCH_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def test_a_cohort_is_built_bookmarked_and_exported_de_identified(live_server, page, intermediate):
    small_world()
    for n in range(12):  # women of 74 with type 2 diabetes: a group large enough to export
        coded(
            PatientFactory(sex="F", birth_date=date(1950, 12, 1), last_name="Quackenbush"),
            ["E11.9"],
            admit_date=date(2025, 5, 1 + n),
            discharge_date=date(2025, 5, 1 + n),
        )
    base = live_server.url
    sign_in(page, base, intermediate, lands_on=r"/encounters/complex/")
    page.goto(f"{base}/audits/reports/cohorts/")
    page.get_by_label("With any of these codes").fill("E11")
    page.get_by_label("Age from").fill("65")
    page.get_by_role("button", name="Count the cohort").press("Enter")
    page.wait_for_url(re.compile(r"any=E11"))
    assert "Cohort: any of E11; aged 65+" in page.locator("#result-h").inner_text()
    # E1 and E2 (74) and the twelve women; E4 (95) too: 15 encounters.
    assert page.locator(".q-card .q-value").first.inner_text() == "15"
    _shot(page, "cohort")
    bookmark = page.get_by_role("link", name="Link to this cohort").get_attribute("href")
    page.goto(f"{base}{bookmark}")
    assert page.get_by_label("With any of these codes").input_value() == "E11"

    page.get_by_role("link", name="Export de-identified dataset").click()
    page.get_by_role("button", name="Download CSV").click()
    assert "Say what the export is for" in page.locator(".errorlist").inner_text()
    assert not ResearchExport.objects.exists()
    page.get_by_label("Purpose of this export").fill("Diabetes in older women, 2025 review")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    _shot(page, "export")
    rows = list(csv.reader(io.StringIO(Path(download.value.path()).read_text())))
    assert rows[0][:3] == ["study_id", "year_of_service", "age"]
    assert len(rows) - 1 == 14  # the woman of 95 is a group of one: left out
    text = Path(download.value.path()).read_text()
    assert "Quackenbush" not in text and "2025-" not in text
    assert ResearchExport.objects.get().purpose == "Diabetes in older women, 2025 review"
