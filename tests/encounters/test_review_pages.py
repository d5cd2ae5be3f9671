"""The pages of second-level review and complex cases, per role."""

import pytest
from django.urls import reverse

from encounters import reviews, services
from encounters.models import DiagnosisAssignment, Encounter, Review
from tests.conftest import PASSWORD
from tests.factories import DocumentFactory, EncounterFactory

pytestmark = pytest.mark.django_db

S = Encounter.Status


def login(client, user):
    client.login(username=user.username, password=PASSWORD)
    return client


def submitted_by(coder) -> Encounter:
    encounter = EncounterFactory(status=S.CODING, assignee=coder)
    DocumentFactory(encounter=encounter)
    DiagnosisAssignment.objects.create(
        encounter=encounter,
        code="E11.9",
        description="Type 2 diabetes",
        sequence=1,
        created_by=coder,
    )
    encounter.refresh_from_db()
    return services.encounter_submit(
        encounter=encounter, by=coder, version=encounter.version, override_reason="checked"
    )


def test_a_junior_gets_403_on_the_review_queue_and_review_page(client, junior, intermediate):
    encounter = submitted_by(intermediate)
    login(client, junior)
    assert client.get(reverse("encounters:review_queue")).status_code == 403
    assert client.get(reverse("encounters:review", args=[encounter.pk])).status_code == 403
    assert client.get(reverse("encounters:complex")).status_code == 403
    assert client.get(reverse("encounters:coder_statistics")).status_code == 403


def test_the_review_queue_lists_others_work_without_n_plus_1(
    client, junior, intermediate, senior, django_assert_num_queries
):
    for _ in range(3):
        submitted_by(junior)
    mine = submitted_by(intermediate)
    login(client, intermediate)
    url = reverse("encounters:review_queue")
    client.get(url)  # warm the session and caches
    # session, user, the list (annotated), the submit transitions with their coders, and the
    # session save (savepoint, update, release): the same count whatever the number of rows
    with django_assert_num_queries(7):
        response = client.get(url)
    assert response.status_code == 200
    body = response.content.decode()
    assert body.count("Jo Junior") == 3
    assert mine.account_number not in body
    for _ in range(3):
        submitted_by(senior)
    with django_assert_num_queries(7):
        assert client.get(url).status_code == 200


def test_the_navigation_offers_reviews_to_reviewers_and_feedback_to_coders(
    client, junior, intermediate
):
    body = login(client, junior).get(reverse("encounters:queue")).content.decode()
    assert reverse("encounters:feedback") in body
    assert reverse("encounters:review_queue") not in body
    client.logout()
    # Reviews is a page of the Cases section: its tabs show on the section's pages.
    body = login(client, intermediate).get(reverse("encounters:complex")).content.decode()
    assert reverse("encounters:review_queue") in body


def test_a_reviewer_returns_with_a_comment_and_the_junior_reads_it(client, junior, intermediate):
    encounter = submitted_by(junior)
    login(client, intermediate)
    url = reverse("encounters:review", args=[encounter.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert "E11.9" in page.content.decode()
    response = client.post(
        url,
        {
            "version": encounter.version,
            "c0-change": "changed",
            "c0-category": "specificity",
            "c0-corrected": "e11.42",
            "c0-reason": "Polyneuropathy is documented.",
            "decision": "return",
        },
    )
    assert response.status_code == 302
    review = Review.objects.get()
    assert review.outcome == "returned"
    comment = review.comments.get()
    assert (comment.code, comment.corrected_code) == ("E11.9", "E11.42")
    encounter.refresh_from_db()
    assert (encounter.status, encounter.assignee) == (S.CODING, junior)

    client.logout()
    login(client, junior)
    inbox = client.get(reverse("encounters:feedback"))
    assert inbox.status_code == 200
    assert "Read and fix" in inbox.content.decode()
    assert inbox.context["unread"] == 1
    detail = client.get(reverse("encounters:feedback_detail", args=[encounter.pk]))
    body = detail.content.decode()
    assert "Polyneuropathy is documented." in body
    assert "Fix in the workspace" in body
    review.refresh_from_db()
    assert review.coder_read_at is not None
    assert client.get(reverse("encounters:feedback")).context["unread"] == 0


def test_returning_without_a_comment_shows_the_error_and_keeps_the_encounter(
    client, junior, intermediate
):
    encounter = submitted_by(junior)
    login(client, intermediate)
    url = reverse("encounters:review", args=[encounter.pk])
    response = client.post(url, {"version": encounter.version, "decision": "return"})
    assert response.status_code == 400
    assert "Say what to fix" in response.content.decode()
    half = client.post(
        url, {"version": encounter.version, "c0-reason": "Why?", "decision": "return"}
    )
    assert "Choose what kind of change" in half.content.decode()
    assert 'value="Why?"' not in half.content.decode()  # textarea keeps it as content
    assert "Why?" in half.content.decode()
    encounter.refresh_from_db()
    assert encounter.status == S.REVIEW


def test_a_stale_review_page_is_refused_with_a_reload_message(client, junior, intermediate):
    encounter = submitted_by(junior)
    login(client, intermediate)
    url = reverse("encounters:review", args=[encounter.pk])
    response = client.post(url, {"version": encounter.version - 1, "decision": "accept"})
    assert response.status_code == 400
    assert "Reload" in response.content.decode()
    assert not Review.objects.exists()


def test_accepting_moves_to_coded(client, junior, intermediate):
    encounter = submitted_by(junior)
    login(client, intermediate)
    response = client.post(
        reverse("encounters:review", args=[encounter.pk]),
        {"version": encounter.version, "decision": "accept", "summary": "Clean."},
    )
    assert response.status_code == 302
    encounter.refresh_from_db()
    assert encounter.status == S.CODED


def test_my_own_submission_is_not_reviewable_by_me(client, intermediate):
    encounter = submitted_by(intermediate)
    login(client, intermediate)
    response = client.get(reverse("encounters:review", args=[encounter.pk]))
    assert response.status_code == 302
    assert response.url == reverse("encounters:review_queue")


def test_the_complex_queue_shows_why_and_take_opens_the_workspace(client, junior, intermediate):
    escalated = EncounterFactory(status=S.CODING, assignee=junior)
    services.encounter_escalate(
        encounter=escalated, by=junior, version=escalated.version, reason="Unclear principal dx"
    )
    flagged = EncounterFactory(complexity_flags=[{"rule": "PAYER", "reason": "Selected payer"}])
    login(client, intermediate)
    body = client.get(reverse("encounters:complex")).content.decode()
    assert "Unclear principal dx" in body
    assert "Jo Junior" in body
    assert "Selected payer" in body
    assert reverse("encounters:complex_claim", args=[flagged.pk]) in body
    response = client.post(reverse("encounters:complex_claim", args=[escalated.pk]))
    assert response.url == reverse("encounters:workspace", args=[escalated.pk])
    escalated.refresh_from_db()
    assert (escalated.status, escalated.assignee) == (S.CODING, intermediate)


def test_reviewers_see_a_coders_statistics(client, junior, intermediate):
    encounter = submitted_by(junior)
    reviews.review_accept(encounter=encounter, by=intermediate, version=encounter.version)
    login(client, intermediate)
    url = reverse("encounters:coder_statistics")
    assert "Jo Junior" in client.get(url).content.decode()
    response = client.get(url, {"coder": junior.pk})
    assert response.context["stats"].first_pass_percent == "100%"
    assert client.get(url, {"coder": "999999"}).status_code == 404


def test_the_workspace_loads_a_review_panel_with_the_latest_comments(client, junior, intermediate):
    encounter = submitted_by(junior)
    login(client, intermediate)
    panel = client.get(
        reverse("encounters:feedback_detail", args=[encounter.pk]), HTTP_HX_REQUEST="true"
    )
    assert "Review this encounter" in panel.content.decode()
    reviews.review_return(
        encounter=encounter, by=intermediate, version=encounter.version, summary="Add the CKD."
    )
    client.logout()
    login(client, junior)
    workspace = client.get(reverse("encounters:workspace", args=[encounter.pk])).content.decode()
    assert 'id="review-feedback"' in workspace
    panel = client.get(
        reverse("encounters:feedback_detail", args=[encounter.pk]), HTTP_HX_REQUEST="true"
    )
    assert "Add the CKD." in panel.content.decode()
    assert "<html" not in panel.content.decode()
    fresh = EncounterFactory(status=S.CODING, assignee=junior)
    empty = client.get(
        reverse("encounters:feedback_detail", args=[fresh.pk]), HTTP_HX_REQUEST="true"
    )
    assert empty.content == b""
