"""Claims pages per role: worklist, ready to bill, claim page and its actions, denial form,
appeal letter editor and print view."""

import pytest
from django.urls import reverse

from encounters import claims, services
from encounters.models import Claim, ClaimEvent, Encounter
from tests.conftest import PASSWORD
from tests.factories import DocumentFactory, InpatientEncounterFactory

pytestmark = pytest.mark.django_db

NOTE = "Assessment: community-acquired pneumonia with acute hypoxic respiratory failure."


def _login(client, user):
    client.login(username=user.username, password=PASSWORD)
    return client


@pytest.fixture
def stay(intermediate):
    """An inpatient stay coded with real codes (J18.9 without POA), ready to bill."""
    encounter = InpatientEncounterFactory(
        assignee=intermediate, status=Encounter.Status.CODING, payer="Acme Health"
    )
    DocumentFactory(encounter=encounter, text=NOTE, title="Discharge summary")
    services.diagnosis_add(encounter=encounter, by=intermediate, version=1, code="J18.9")
    services.diagnosis_add(encounter=encounter, by=intermediate, version=2, code="J96.01", poa="Y")
    Encounter.objects.filter(pk=encounter.pk).update(status=Encounter.Status.READY_TO_BILL)
    encounter.refresh_from_db()
    return encounter


@pytest.fixture
def denied(stay, intermediate):
    claim = claims.claim_bill(encounter=stay, by=intermediate, billed_amount="5000")
    return claims.claim_deny(
        claim=claim, by=intermediate, carc_codes="CO-16 CO-50", rarc_codes="MA130 N115"
    )


def test_a_junior_is_refused_every_claims_page(client, junior, denied):
    pk = denied.encounter_id
    _login(client, junior)
    for name, args in [
        ("denials", []),
        ("claims_ready", []),
        ("claim_detail", [pk]),
        ("claim_deny", [pk]),
        ("claim_appeal", [pk]),
        ("claim_appeal_print", [pk]),
    ]:
        assert client.get(reverse(f"encounters:{name}", args=args)).status_code == 403, name
    for name in ["claim_bill", "claim_correct", "claim_resubmit", "claim_paid", "claim_close"]:
        response = client.post(reverse(f"encounters:{name}", args=[pk]))
        assert response.status_code == 403, name
    denied.refresh_from_db()
    assert denied.status == "denied"


def test_the_navigation_offers_denials_to_an_intermediate_only(client, junior, intermediate):
    url = reverse("encounters:denials")
    assert url not in _login(client, junior).get(reverse("encounters:queue")).content.decode()
    client.logout()
    assert f'href="{url}"' in _login(client, intermediate).get(url).content.decode()


def test_the_worklist_lists_open_denials_with_their_codes_and_filters(
    client, intermediate, denied, django_assert_max_num_queries
):
    _login(client, intermediate)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("encounters:denials"))
    html = response.content.decode()
    assert response.status_code == 200
    assert denied.claim_number in html and "CO-50" in html and "MA130" in html
    assert reverse("encounters:claim_detail", args=[denied.encounter_id]) in html
    assert (
        denied.claim_number
        in client.get(reverse("encounters:denials") + "?carc=50").content.decode()
    )
    other = client.get(reverse("encounters:denials") + "?carc=97").content.decode()
    assert denied.claim_number not in other and "No claims match the filters" in other
    aged = client.get(reverse("encounters:denials") + "?age=14").content.decode()
    assert denied.claim_number not in aged  # denied today


def test_billing_from_the_ready_list(client, intermediate, stay):
    _login(client, intermediate)
    html = client.get(reverse("encounters:claims_ready")).content.decode()
    assert stay.account_number in html and reverse("encounters:claim_bill", args=[stay.pk]) in html
    response = client.post(
        reverse("encounters:claim_bill", args=[stay.pk]), {"billed_amount": "not money"}
    )
    assert response.status_code == 302 and response.url == reverse("encounters:claims_ready")
    assert not Claim.objects.filter(encounter=stay).exists()
    response = client.post(
        reverse("encounters:claim_bill", args=[stay.pk]), {"billed_amount": "1,250.00"}
    )
    assert response.url == reverse("encounters:claim_detail", args=[stay.pk])
    claim = Claim.objects.get(encounter=stay)
    assert str(claim.billed_amount) == "1250.00"
    page = client.get(response.url).content.decode()
    assert "Version 1" in page and "Record a denial" in page and "Mark paid" in page


def test_an_unbilled_encounter_sends_the_claim_page_to_the_ready_list(client, intermediate, stay):
    response = _login(client, intermediate).get(reverse("encounters:claim_detail", args=[stay.pk]))
    assert response.status_code == 302 and response.url == reverse("encounters:claims_ready")


def test_the_denial_form_refuses_an_unknown_code_and_keeps_the_input(client, intermediate, stay):
    claim = claims.claim_bill(encounter=stay, by=intermediate)
    url = reverse("encounters:claim_deny", args=[stay.pk])
    _login(client, intermediate)
    assert "CARC" in client.get(url).content.decode()
    response = client.post(
        url, {"carc_codes": "CO-50 CO-888", "rarc_codes": "N115", "text": "Per LCD L33577."}
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "CARC 888 is not in the table" in html
    assert 'value="CO-50 CO-888"' in html and "Per LCD L33577." in html
    claim.refresh_from_db()
    assert claim.status == "billed" and not claim.events.filter(kind="denied").exists()
    response = client.post(url, {"carc_codes": "co-50", "rarc_codes": "n115", "text": "LCD"})
    assert response.status_code == 302
    claim.refresh_from_db()
    assert claim.status == "denied" and claim.rarc_codes == ["N115"]


def test_the_claim_page_shows_likely_causes_with_the_current_edits(
    client, intermediate, denied, django_assert_max_num_queries
):
    _login(client, intermediate)
    with django_assert_max_num_queries(30):
        response = client.get(reverse("encounters:claim_detail", args=[denied.encounter_id]))
    html = response.content.decode()
    assert "Likely causes" in html
    assert 'data-rule="POA_MISSING"' in html  # CO-16 / MA130 → the missing POA on J18.9
    assert "COVERAGE" in html  # CO-50 / N115 point at the coverage rule
    assert "likely cause" in html  # J18.9 is marked in the coding versions
    assert "Correct the codes" in html and "Draft an appeal letter" in html


def test_correct_then_resubmit_from_the_pages(client, intermediate, denied):
    pk = denied.encounter_id
    _login(client, intermediate)
    client.post(reverse("encounters:claim_correct", args=[pk]))
    denied.refresh_from_db()
    assert denied.status == "corrected"
    page = client.get(reverse("encounters:claim_detail", args=[pk])).content.decode()
    assert "Now (not resubmitted)" in page and "POA_MISSING" in page

    encounter = Encounter.objects.get(pk=pk)
    response = client.post(
        reverse("encounters:claim_resubmit", args=[pk]),
        {"reason": "POA added", "version": encounter.version},
    )
    assert response.status_code == 400
    assert "error edit(s) remain" in response.content.decode()
    j18 = encounter.diagnoses.get(code="J18.9")
    services.diagnosis_set_poa(
        encounter=encounter,
        by=intermediate,
        version=encounter.version,
        diagnosis_id=j18.pk,
        poa="Y",
    )
    encounter.refresh_from_db()
    response = client.post(
        reverse("encounters:claim_resubmit", args=[pk]),
        {"reason": "POA Y on J18.9 per the admission note", "version": encounter.version},
    )
    assert response.status_code == 302
    denied.refresh_from_db()
    assert denied.status == "resubmitted"
    page = client.get(reverse("encounters:claim_detail", args=[pk])).content.decode()
    assert "Version 2" in page and "POA — → Y" in page
    assert "POA Y on J18.9 per the admission note" in page


def test_the_appeal_editor_drafts_saves_and_prints(client, intermediate, denied):
    pk = denied.encounter_id
    url = reverse("encounters:claim_appeal", args=[pk])
    _login(client, intermediate)
    html = client.get(url).content.decode()
    assert "Request for reconsideration of claim" in html and "CARC CO-50" in html
    response = client.post(url, {"appeal_letter": "Dear payer,\n\nPlease pay.\n\nRegards"})
    assert response.status_code == 302
    denied.refresh_from_db()
    assert denied.appeal_letter.startswith("Dear payer")
    assert denied.events.filter(kind=ClaimEvent.Kind.APPEAL_DRAFTED).count() == 1
    assert "Please pay." in client.get(url).content.decode()
    printed = client.get(reverse("encounters:claim_appeal_print", args=[pk])).content.decode()
    assert "Dear payer,\n\nPlease pay." in printed and "letter-page" in printed
    response = client.post(url, {"appeal_letter": "   "})
    assert response.status_code == 400 and "The letter is empty" in response.content.decode()


def test_paid_and_close_from_the_claim_page(client, intermediate, stay):
    claims.claim_bill(encounter=stay, by=intermediate)
    _login(client, intermediate)
    client.post(reverse("encounters:claim_close", args=[stay.pk]), {"note": ""})
    assert Claim.objects.get(encounter=stay).status == "billed"  # an unpaid close needs a reason
    client.post(reverse("encounters:claim_paid", args=[stay.pk]), {"paid_amount": "980.10"})
    claim = Claim.objects.get(encounter=stay)
    assert (claim.status, str(claim.paid_amount)) == ("paid", "980.10")
    client.post(reverse("encounters:claim_close", args=[stay.pk]))
    assert Claim.objects.get(encounter=stay).status == "closed"
