"""Second-level review and complex cases: the services and the statistics they feed."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from encounters import reviews, services
from encounters.models import DiagnosisAssignment, Encounter, Review, ReviewComment, Transition
from encounters.reviews import CommentInput
from encounters.services import StaleEdit
from tests.factories import EncounterFactory

pytestmark = pytest.mark.django_db

S = Encounter.Status
SPECIFICITY = CommentInput(
    change="changed",
    category="specificity",
    code="E11.9",
    corrected_code="E11.42",
    reason="The note documents diabetic polyneuropathy.",
)


def submitted_by(coder, **extra) -> Encounter:
    """An encounter the coder coded (one diagnosis) and sent to review."""
    encounter = EncounterFactory(status=S.CODING, assignee=coder, **extra)
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


def resubmit(encounter: Encounter, coder) -> Encounter:
    encounter.refresh_from_db()
    return services.encounter_submit(
        encounter=encounter, by=coder, version=encounter.version, override_reason="fixed"
    )


def test_accept_moves_the_encounter_to_coded_and_records_round_1(junior, intermediate):
    encounter = submitted_by(junior)
    review = reviews.review_accept(encounter=encounter, by=intermediate, version=encounter.version)
    encounter.refresh_from_db()
    assert encounter.status == S.CODED
    assert (review.round, review.outcome, review.coder, review.reviewer) == (
        1,
        Review.Outcome.ACCEPTED,
        junior,
        intermediate,
    )
    step = encounter.transitions.order_by("-pk").first()
    assert (step.from_status, step.to_status, step.by) == (S.REVIEW, S.CODED, intermediate)
    assert step.detail == {"review_id": review.pk, "round": 1, "comments": 0}


def test_return_assigns_the_encounter_back_to_the_coder_with_its_comments(junior, intermediate):
    encounter = submitted_by(junior)
    review = reviews.review_return(
        encounter=encounter, by=intermediate, version=encounter.version, comments=[SPECIFICITY]
    )
    encounter.refresh_from_db()
    assert (encounter.status, encounter.assignee) == (S.CODING, junior)
    assert review.outcome == Review.Outcome.RETURNED
    comment = review.comments.get()
    assert (comment.change, comment.category, comment.code, comment.corrected_code) == (
        "changed",
        "specificity",
        "E11.9",
        "E11.42",
    )


def test_return_needs_a_comment_or_a_summary(junior, intermediate):
    encounter = submitted_by(junior)
    with pytest.raises(ValidationError, match="Say what to fix"):
        reviews.review_return(encounter=encounter, by=intermediate, version=encounter.version)
    encounter.refresh_from_db()
    assert encounter.status == S.REVIEW
    assert not Review.objects.exists()
    review = reviews.review_return(
        encounter=encounter, by=intermediate, version=encounter.version, summary="Recheck the note."
    )
    assert review.comments.count() == 0


def test_a_comment_needs_a_reason_and_known_kinds(junior, intermediate):
    encounter = submitted_by(junior)
    for bad in [
        CommentInput(change="changed", category="specificity", reason="  "),
        CommentInput(change="nonsense", category="specificity", reason="x"),
        CommentInput(change="changed", category="nonsense", reason="x"),
    ]:
        with pytest.raises(ValidationError):
            reviews.review_return(
                encounter=encounter, by=intermediate, version=encounter.version, comments=[bad]
            )
    assert not Review.objects.exists()


def test_nobody_reviews_their_own_work(intermediate):
    encounter = submitted_by(intermediate)
    with pytest.raises(PermissionDenied, match="own work"):
        reviews.review_accept(encounter=encounter, by=intermediate, version=encounter.version)
    encounter.refresh_from_db()
    assert encounter.status == S.REVIEW


def test_a_junior_cannot_review(junior, intermediate):
    encounter = submitted_by(intermediate)
    with pytest.raises(PermissionDenied):
        reviews.review_accept(encounter=encounter, by=junior, version=encounter.version)


def test_rounds_count_up_across_return_and_resubmit(junior, intermediate, senior):
    encounter = submitted_by(junior)
    first = reviews.review_return(
        encounter=encounter, by=intermediate, version=encounter.version, comments=[SPECIFICITY]
    )
    encounter = resubmit(encounter, junior)
    second = reviews.review_return(
        encounter=encounter, by=senior, version=encounter.version, summary="Sequencing."
    )
    encounter = resubmit(encounter, junior)
    third = reviews.review_accept(encounter=encounter, by=intermediate, version=encounter.version)
    assert [first.round, second.round, third.round] == [1, 2, 3]


def test_a_stale_version_is_refused_and_nothing_is_written(junior, intermediate):
    encounter = submitted_by(junior)
    with pytest.raises(StaleEdit):
        reviews.review_accept(encounter=encounter, by=intermediate, version=encounter.version - 1)
    encounter.refresh_from_db()
    assert encounter.status == S.REVIEW
    assert not Review.objects.exists()


def test_a_second_decision_on_the_same_submission_is_refused(junior, intermediate, senior):
    encounter = submitted_by(junior)
    seen = encounter.version
    reviews.review_accept(encounter=encounter, by=intermediate, version=seen)
    with pytest.raises(StaleEdit):  # the other reviewer's copy is now stale
        reviews.review_return(encounter=encounter, by=senior, version=seen, summary="x")
    encounter.refresh_from_db()
    with pytest.raises(ValidationError, match="not waiting for review"):
        reviews.review_return(
            encounter=encounter, by=senior, version=encounter.version, summary="x"
        )
    assert Review.objects.count() == 1


def test_marking_feedback_read_only_stamps_the_coders_own_reviews(junior, intermediate):
    encounter = submitted_by(junior)
    review = reviews.review_return(
        encounter=encounter, by=intermediate, version=encounter.version, summary="Fix"
    )
    assert reviews.feedback_mark_read(reviews=[review], by=intermediate) == 0
    assert reviews.feedback_mark_read(reviews=[review], by=junior) == 1
    review.refresh_from_db()
    assert review.coder_read_at is not None
    assert reviews.feedback_mark_read(reviews=[review], by=junior) == 0


def test_statistics_on_a_known_history(junior, intermediate):
    # Encounter A: returned with two comments, then accepted in round 2.
    a = submitted_by(junior)
    reviews.review_return(
        encounter=a,
        by=intermediate,
        version=a.version,
        comments=[
            SPECIFICITY,
            CommentInput(change="resequenced", category="sequencing", reason="Principal first."),
        ],
    )
    a = resubmit(a, junior)
    reviews.review_accept(encounter=a, by=intermediate, version=a.version)
    # Encounter B: accepted first time, with one teaching comment.
    b = submitted_by(junior)
    reviews.review_accept(
        encounter=b,
        by=intermediate,
        version=b.version,
        comments=[CommentInput(change="other", category="specificity", reason="Nice, but...")],
    )
    # Encounter C: accepted first time, but reviewed 100 days ago.
    c = submitted_by(junior)
    old = reviews.review_accept(encounter=c, by=intermediate, version=c.version)
    Review.objects.filter(pk=old.pk).update(at=timezone.now() - timedelta(days=100))

    stats = reviews.coder_stats(coder=junior)
    assert (stats.reviewed, stats.first_pass_accepted) == (3, 2)
    assert stats.first_pass_rate == pytest.approx(2 / 3)
    assert stats.first_pass_percent == "67%"
    assert stats.by_category == [("specificity", "Specificity", 2), ("sequencing", "Sequencing", 1)]
    assert stats.total_comments == 3
    assert stats.recent == [
        {"days": 30, "reviews": 3, "accepted": 2, "returned": 1, "comments": 3},
        {"days": 90, "reviews": 3, "accepted": 2, "returned": 1, "comments": 3},
    ]
    assert reviews.coder_stats(coder=intermediate).first_pass_rate is None
    (row,) = reviews.coders_reviewed()
    assert (row["coder"], row["reviews"], row["first_round"], row["first_pass_accepted"]) == (
        junior,
        4,
        3,
        2,
    )


def test_the_review_queue_is_oldest_first_and_hides_my_own_submissions(
    junior, intermediate, senior
):
    older = submitted_by(junior)
    newer = submitted_by(junior)
    mine = submitted_by(intermediate)
    Transition.objects.filter(encounter=older, to_status=S.REVIEW).update(
        at=timezone.now() - timedelta(hours=5)
    )
    assert list(reviews.review_queue_for(user=intermediate)) == [older, newer]
    assert list(reviews.review_queue_for(user=senior)) == [older, newer, mine]
    assert list(reviews.review_queue_for(user=junior)) == []


def test_the_complex_queue_lists_escalations_and_flagged_encounters_with_why(junior, intermediate):
    escalated = EncounterFactory(status=S.CODING, assignee=junior)
    services.encounter_escalate(
        encounter=escalated, by=junior, version=escalated.version, reason="Two procedures, NCCI?"
    )
    flagged = EncounterFactory(
        complexity_flags=[{"rule": "MCC", "reason": "Inpatient with an MCC (J96.01)"}]
    )
    EncounterFactory()  # neither escalated nor flagged
    rows = reviews.complex_queue_for(user=intermediate)
    assert rows == [escalated, flagged]
    assert rows[0].escalated_by == junior
    assert rows[0].reasons == [{"rule": "Escalated", "reason": "Two procedures, NCCI?"}]
    assert rows[1].reasons == [{"rule": "MCC", "reason": "Inpatient with an MCC (J96.01)"}]
    assert all(row.claimable for row in rows)
    assert reviews.complex_queue_for(user=junior) == []


def test_taking_a_complex_case_assigns_it_and_records_the_step(junior, intermediate, senior):
    encounter = EncounterFactory(status=S.CODING, assignee=junior)
    services.encounter_escalate(
        encounter=encounter, by=junior, version=encounter.version, reason="Complex"
    )
    reviews.complex_case_claim(encounter=encounter, by=intermediate)
    encounter.refresh_from_db()
    assert (encounter.status, encounter.assignee) == (S.CODING, intermediate)
    step = encounter.transitions.order_by("-pk").first()
    assert (step.from_status, step.to_status, step.by) == (S.COMPLEX, S.CODING, intermediate)
    with pytest.raises(ValidationError, match="cannot be taken"):
        reviews.complex_case_claim(encounter=encounter, by=senior)
    with pytest.raises(PermissionDenied):
        reviews.complex_case_claim(encounter=EncounterFactory(status=S.COMPLEX), by=junior)


def test_comment_models_keep_their_labels():
    assert ReviewComment.Category("poa_error").label == "POA error"
