"""A senior publishes a bulletin to juniors; a junior sees it unread on the home page, opens it
and acknowledges it from the keyboard; the senior sees who has and who has not — in a real
browser.

Set BULLETIN_SCREENSHOTS=/some/dir to keep screenshots of each page."""

import os
import re
from pathlib import Path

import pytest

from accounts.models import Role
from accounts.services import user_create
from audits.models import Bulletin, BulletinAcknowledgement
from tests.conftest import PASSWORD
from tests.e2e.steps import sign_in, sign_out

pytestmark = pytest.mark.django_db(transaction=True)

TITLE = "Sepsis present on admission: sequence the systemic infection first"


def _shot(page, name):
    folder = os.environ.get("BULLETIN_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def test_a_junior_acknowledges_a_bulletin_and_the_senior_sees_who_has_not(
    live_server, page, senior, junior
):
    other = user_create(
        username="jun2", password=PASSWORD, role=Role.JUNIOR, first_name="Jay", last_name="Second"
    )
    base = live_server.url

    # The senior publishes to every junior.
    sign_in(page, base, senior, lands_on=r"/audits/")
    page.goto(f"{base}/audits/bulletins/")
    page.get_by_role("link", name="Publish a bulletin").first.click()
    page.fill("#id_title", TITLE)
    page.get_by_label("Coding guideline").check()
    page.fill(
        "#id_body",
        "When sepsis is present on admission:\n\n- code the **systemic infection** first\n"
        "- then the localized infection, e.g. `J18.9`",
    )
    page.get_by_label("Junior coder").check()
    _shot(page, "1-publish")
    page.get_by_role("button", name="Publish").click()
    page.wait_for_url(re.compile(r"/audits/bulletins/\d+/$"))
    assert "Published:" in page.locator(".messages").inner_text()
    bulletin = Bulletin.objects.get(title=TITLE)
    sign_out(page, base)

    # The junior sees it unread on the home page, opens it, and acknowledges with Enter.
    sign_in(page, base, junior)
    notice = page.locator("[data-unread-bulletins]")
    assert notice.get_attribute("data-unread-bulletins") == "1"
    assert "1 to acknowledge" in notice.inner_text()
    _shot(page, "2-junior-home")
    notice.get_by_role("link", name=TITLE).click()
    page.wait_for_url(re.compile(rf"/audits/bulletins/{bulletin.pk}/$"))
    assert page.locator(".bulletin-body strong").inner_text() == "systemic infection"
    button = page.get_by_role("button", name="Acknowledge")
    assert button.evaluate("el => el === document.activeElement")
    _shot(page, "3-junior-reads")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/audits/bulletins/$"))
    assert f"Acknowledged: {TITLE}" in page.locator(".messages").inner_text()
    row = page.locator(f'tr[data-bulletin="{bulletin.pk}"]')
    assert "Read" in row.locator(".badge").inner_text()
    page.goto(f"{base}/encounters/queue/")
    assert page.locator("[data-unread-bulletins]").count() == 0
    assert BulletinAcknowledgement.objects.filter(bulletin=bulletin).count() == 1
    sign_out(page, base)

    # The senior sees one of two juniors acknowledged, and which one has not.
    sign_in(page, base, senior, lands_on=r"/audits/")
    page.goto(f"{base}/audits/bulletins/published/")
    row = page.locator(f'tr[data-bulletin="{bulletin.pk}"]')
    assert [c.strip() for c in row.locator("td.num").all_inner_texts()] == ["2", "1", "1"]
    row.get_by_role("link", name=TITLE).click()
    assert page.locator("[data-ack-summary]").inner_text() == "1 of 2 acknowledged"
    done = page.locator(f'tr[data-member="{junior.username}"]')
    waiting = page.locator(f'tr[data-member="{other.username}"]')
    assert done.get_attribute("data-state") == "acknowledged"
    assert waiting.get_attribute("data-state") == "outstanding"
    assert "Not yet" in waiting.inner_text() and "Jay Second" in waiting.inner_text()
    _shot(page, "4-senior-tracking")
    assert page.js_errors == []
