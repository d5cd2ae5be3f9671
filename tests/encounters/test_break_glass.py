"""Least privilege: a chart outside the user's work needs "break the glass" with a reason,
which is logged (PhiAccess BREAK_GLASS), time-limited and reviewed by a senior coder."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from accounts.models import BreakGlass, PhiAccess, Role
from accounts.services import user_create
from encounters import phi, selectors
from encounters.models import Encounter
from tests.conftest import PASSWORD
from tests.factories import DocumentFactory, EncounterFactory

S = Encounter.Status
REASON = "Provider called about the discharge summary of this stay."


@pytest.fixture
def other_coder(db):
    return user_create(username="other", password=PASSWORD, role=Role.JUNIOR)


@pytest.fixture
def theirs(other_coder, settings, tmp_path):
    """Another coder's chart in progress, with an uploaded original."""
    settings.MEDIA_ROOT = tmp_path
    document = DocumentFactory(
        encounter=EncounterFactory(status=S.CODING, assignee=other_coder),
    )
    document.original_file.save("note.txt", ContentFile(b"Progress note."), save=False)
    document.original_content_type = "text/plain"
    document.save()
    return document.encounter


def _urls(encounter):
    document = encounter.documents.first()
    return {
        "workspace": reverse("encounters:workspace", args=[encounter.pk]),
        "original": reverse("encounters:document_original", args=[encounter.pk, document.pk]),
    }


@pytest.mark.django_db
class TestWhoSeesWhat:
    def test_junior_sees_own_and_pool_not_another_coders(self, junior, other_coder):
        mine = EncounterFactory(status=S.CODING, assignee=junior)
        pool = EncounterFactory(status=S.READY)
        theirs = EncounterFactory(status=S.CODING, assignee=other_coder)
        finished_unassigned = EncounterFactory(status=S.READY_TO_BILL)
        visible = set(selectors.encounters_visible_to(user=junior).values_list("pk", flat=True))
        assert {mine.pk, pool.pk} <= visible
        assert theirs.pk not in visible
        assert finished_unassigned.pk not in visible

    def test_reviewer_sees_reviews_and_complex_cases_not_another_coders_work(
        self, intermediate, other_coder
    ):
        review = EncounterFactory(status=S.REVIEW, assignee=other_coder)
        complex_case = EncounterFactory(status=S.COMPLEX, assignee=other_coder)
        coding = EncounterFactory(status=S.CODING, assignee=other_coder)
        visible = set(
            selectors.encounters_visible_to(user=intermediate).values_list("pk", flat=True)
        )
        assert {review.pk, complex_case.pk} <= visible
        assert coding.pk not in visible

    def test_work_done_on_a_chart_keeps_it_visible(self, intermediate, junior, other_coder):
        """A reviewer keeps seeing what they reviewed, a coder what they worked on, after the
        chart has moved on to someone else."""
        from encounters.models import Review, Transition

        reviewed = EncounterFactory(status=S.CODED, assignee=other_coder)
        Review.objects.create(
            encounter=reviewed,
            coder=other_coder,
            reviewer=intermediate,
            round=1,
            outcome="accepted",
        )
        worked = EncounterFactory(status=S.CODED, assignee=other_coder)
        Transition.objects.create(
            encounter=worked, by=junior, from_status="ready", to_status="coding"
        )
        assert selectors.encounters_visible_to(user=intermediate).filter(pk=reviewed.pk).exists()
        assert not selectors.encounters_visible_to(user=junior).filter(pk=reviewed.pk).exists()
        assert selectors.encounters_visible_to(user=junior).filter(pk=worked.pk).exists()
        assert selectors.encounters_visible_to(user=junior).filter(pk=worked.pk).count() == 1

    def test_senior_sees_pre_bill_audits(self, senior, other_coder):
        audit = EncounterFactory(status=S.PRE_BILL_AUDIT, assignee=other_coder)
        assert selectors.encounters_visible_to(user=senior).filter(pk=audit.pk).exists()

    def test_admin_sees_no_chart_and_cannot_break_the_glass(self, client, admin_user, theirs):
        assert not selectors.encounters_visible_to(user=admin_user).exists()
        with pytest.raises(PermissionDenied):
            phi.break_glass_open(user=admin_user, encounter=theirs, reason=REASON)
        client.login(username=admin_user.username, password=PASSWORD)
        url = reverse("encounters:break_glass", args=[theirs.pk])
        assert client.get(url).status_code == 403
        assert client.post(url, {"reason": REASON}).status_code == 403
        assert client.get(_urls(theirs)["workspace"]).status_code == 403
        assert not BreakGlass.objects.exists()


@pytest.mark.django_db
class TestBreakTheGlass:
    def test_another_coders_chart_shows_the_break_glass_page_without_phi(
        self, client, junior, theirs
    ):
        client.login(username=junior.username, password=PASSWORD)
        response = client.get(_urls(theirs)["workspace"])
        assert response.status_code == 403
        body = response.content.decode()
        assert "Break the glass" in body
        assert theirs.account_number in body
        assert theirs.patient.first_name not in body
        assert theirs.patient.mrn not in body
        assert theirs.documents.first().text not in body
        # The original file and htmx fragments are refused outright.
        assert client.get(_urls(theirs)["original"]).status_code == 403
        edits = reverse("encounters:workspace", args=[theirs.pk])
        assert client.get(edits, HTTP_HX_REQUEST="true").status_code == 403
        assert not PhiAccess.objects.filter(encounter_id=theirs.pk).exists()

    def test_a_short_reason_is_refused_and_nothing_opens(self, client, junior, theirs):
        client.login(username=junior.username, password=PASSWORD)
        url = reverse("encounters:break_glass", args=[theirs.pk])
        response = client.post(url, {"reason": "need it", "next": _urls(theirs)["workspace"]})
        assert response.status_code == 400
        assert "at least" in response.content.decode()
        assert "need it" in response.content.decode()  # what was typed is kept
        assert not BreakGlass.objects.exists()
        assert client.get(_urls(theirs)["workspace"]).status_code == 403

    def test_breaking_the_glass_opens_the_chart_logs_it_and_expires(
        self, client, junior, theirs, settings
    ):
        settings.BREAK_GLASS_HOURS = 2
        client.login(username=junior.username, password=PASSWORD)
        urls = _urls(theirs)
        response = client.post(
            reverse("encounters:break_glass", args=[theirs.pk]),
            {"reason": REASON, "next": urls["workspace"]},
        )
        assert response.status_code == 302
        assert response.url == urls["workspace"]
        glass = BreakGlass.objects.get()
        assert (glass.user, glass.encounter_id, glass.patient_id) == (
            junior,
            theirs.pk,
            theirs.patient_id,
        )
        assert glass.reason == REASON
        assert timedelta(hours=1, minutes=59) < glass.expires_at - glass.at <= timedelta(hours=2)
        logged = PhiAccess.objects.get(action=PhiAccess.Action.BREAK_GLASS)
        assert (logged.user, logged.encounter_id, logged.reason) == (junior, theirs.pk, REASON)

        page = client.get(urls["workspace"])
        assert page.status_code == 200
        assert theirs.patient.last_name in page.content.decode()
        assert client.get(urls["original"]).status_code == 200
        assert PhiAccess.objects.filter(
            user=junior, encounter_id=theirs.pk, action=PhiAccess.Action.VIEW_ENCOUNTER
        ).exists()
        assert PhiAccess.objects.filter(
            user=junior, encounter_id=theirs.pk, action=PhiAccess.Action.VIEW_DOCUMENT
        ).exists()

        BreakGlass.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
        assert client.get(urls["workspace"]).status_code == 403
        assert client.get(urls["original"]).status_code == 403

    def test_an_open_redirect_is_not_followed(self, client, junior, theirs):
        client.login(username=junior.username, password=PASSWORD)
        response = client.post(
            reverse("encounters:break_glass", args=[theirs.pk]),
            {"reason": REASON, "next": "https://evil.example.org/"},
        )
        assert response.url == reverse("encounters:workspace", args=[theirs.pk])


@pytest.mark.django_db
class TestSeniorReview:
    def test_unreviewed_accesses_are_listed_and_can_be_marked_reviewed(
        self, client, junior, senior, theirs
    ):
        glass = phi.break_glass_open(user=junior, encounter=theirs, reason=REASON)
        client.login(username=senior.username, password=PASSWORD)
        page = client.get(reverse("audits:access_review")).content.decode()
        assert f'data-break-glass="{glass.pk}"' in page
        assert REASON in page
        response = client.post(
            reverse("encounters:break_glass_review", args=[glass.pk]),
            {"note": "Confirmed with the coder's lead."},
        )
        assert response.status_code == 302
        glass.refresh_from_db()
        assert glass.reviewed_by == senior
        assert glass.review_note == "Confirmed with the coder's lead."
        page = client.get(reverse("audits:access_review")).content.decode()
        assert f'data-break-glass="{glass.pk}"' not in page
        assert "Nothing to review" in page

    def test_a_senior_does_not_review_their_own(self, senior, theirs):
        from django.core.exceptions import ValidationError

        glass = phi.break_glass_open(user=senior, encounter=theirs, reason=REASON)
        with pytest.raises(ValidationError):
            phi.break_glass_review(by=senior, glass_id=glass.pk)

    def test_coders_cannot_mark_reviewed(self, client, junior, intermediate, theirs):
        glass = phi.break_glass_open(user=junior, encounter=theirs, reason=REASON)
        client.login(username=intermediate.username, password=PASSWORD)
        url = reverse("encounters:break_glass_review", args=[glass.pk])
        assert client.post(url).status_code == 403
        glass.refresh_from_db()
        assert glass.reviewed_at is None
