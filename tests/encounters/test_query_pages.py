"""Query pages per role: the workspace panel, the query form, answer/withdraw and query aging."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from encounters import queries
from encounters.models import Encounter, PhysicianQuery
from tests.conftest import PASSWORD
from tests.factories import DocumentFactory, EncounterFactory, InpatientEncounterFactory

pytestmark = pytest.mark.django_db

NOTE = "Hgb 6.9 g/dL on admission, down from 11.2. Two units PRBC transfused."
QUESTION = "Based on the indicators above, please clarify the condition being treated."


def _login(client, user):
    client.login(username=user.username, password=PASSWORD)
    return client


# Intermediates see a junior's chart in coding when the case rules flag it complex (least
# privilege: otherwise it is outside their work and needs break the glass).
FLAGGED = [{"rule": "MCC", "reason": "Inpatient with an MCC"}]


@pytest.fixture
def chart(junior):
    encounter = InpatientEncounterFactory(
        assignee=junior, status=Encounter.Status.CODING, complexity_flags=FLAGGED
    )
    DocumentFactory(encounter=encounter, text=NOTE)
    return encounter


def _send(encounter, by, provider="Dr. Grey", question=QUESTION):
    document = encounter.documents.get()
    return queries.query_send(
        encounter=encounter,
        by=by,
        kind=PhysicianQuery.Kind.OPEN,
        provider=provider,
        question=question,
        clinical_indicators=[{"document_id": document.pk, "start": 0, "end": 12}],
    )


def _aged(query, days):
    PhysicianQuery.objects.filter(pk=query.pk).update(
        sent_at=timezone.now() - timedelta(days=days, hours=1)
    )


def test_the_workspace_offers_an_intermediate_the_query_panel(client, intermediate, chart):
    response = _login(client, intermediate).get(reverse("encounters:workspace", args=[chart.pk]))
    html = response.content.decode()
    assert "Query the provider" in html
    assert reverse("encounters:query_new", args=[chart.pk]) in html
    assert "js/queries.js" in html


def test_a_junior_sees_the_queries_and_answers_but_cannot_query(
    client, junior, intermediate, chart
):
    query = _send(chart, intermediate)
    queries.query_answer(query=query, by=intermediate, answer="Acute blood loss anemia")
    html = _login(client, junior).get(reverse("encounters:workspace", args=[chart.pk])).content
    html = html.decode()
    assert "Physician queries" in html and "Acute blood loss anemia" in html
    assert "Query the provider" not in html and "Record the answer" not in html


def test_a_junior_without_queries_sees_no_panel(client, junior, chart):
    html = _login(client, junior).get(reverse("encounters:workspace", args=[chart.pk])).content
    assert b"Physician queries" not in html


def test_the_query_page_shows_the_documents_and_the_rules(client, intermediate, chart):
    response = _login(client, intermediate).get(reverse("encounters:query_new", args=[chart.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "data-doc-text" in html and "Hgb 6.9" in html
    assert "MENTIONS_FINANCES" in html
    assert 'value="Dr. Test"' in html  # the encounter's provider is proposed


def test_sending_a_query_from_the_form_puts_the_chart_in_query_pending(client, intermediate, chart):
    document = chart.documents.get()
    response = _login(client, intermediate).post(
        reverse("encounters:query_new", args=[chart.pk]),
        {
            "kind": "multiple_choice",
            "provider": "Dr. Grey",
            "question": QUESTION,
            "options": "Acute blood loss anemia\nAnemia of chronic disease",
            "indicator": [f"{document.pk}:0:12"],
            "indicator_text": "Two units PRBC transfused.",
        },
    )
    assert response.status_code == 302
    assert response.url == reverse("encounters:workspace", args=[chart.pk])
    query = chart.queries.get()
    assert [i["quote"] for i in query.clinical_indicators] == [
        "Hgb 6.9 g/dL",
        "Two units PRBC transfused.",
    ]
    assert query.options[-2:] == list(queries.REQUIRED_OPTIONS)
    chart.refresh_from_db()
    assert chart.status == Encounter.Status.QUERY_PENDING


def test_a_leading_question_comes_back_with_the_reason_and_the_picked_passage(
    client, intermediate, chart
):
    document = chart.documents.get()
    response = _login(client, intermediate).post(
        reverse("encounters:query_new", args=[chart.pk]),
        {
            "kind": "open",
            "provider": "Dr. Grey",
            "question": "Please document acute blood loss anemia for the DRG.",
            "indicator": [f"{document.pk}:0:12"],
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "The question is leading" in html and "reimbursement" in html
    assert f'value="{document.pk}:0:12"' in html
    assert chart.queries.count() == 0


def test_a_pasted_passage_not_in_the_documents_is_refused(client, intermediate, chart):
    response = _login(client, intermediate).post(
        reverse("encounters:query_new", args=[chart.pk]),
        {"kind": "open", "provider": "Dr. G", "question": QUESTION, "indicator_text": "Sepsis"},
    )
    assert response.status_code == 400
    assert "is not in this encounter" in response.content.decode()


def test_juniors_cannot_reach_the_query_pages(client, junior, intermediate, chart):
    query = _send(chart, intermediate)
    _login(client, junior)
    assert client.get(reverse("encounters:queries")).status_code == 403
    assert client.get(reverse("encounters:query_new", args=[chart.pk])).status_code == 403
    answer = client.post(
        reverse("encounters:query_answer", args=[chart.pk]),
        {"query_id": query.pk, "answer": "Anemia"},
    )
    assert answer.status_code == 403
    query.refresh_from_db()
    assert query.status == PhysicianQuery.Status.SENT


def test_answering_from_the_workspace_returns_the_chart_to_coding(client, intermediate, chart):
    query = _send(chart, intermediate)
    response = _login(client, intermediate).post(
        reverse("encounters:query_answer", args=[chart.pk]),
        {"query_id": query.pk, "answer": "Acute blood loss anemia", "answered_by": "Dr. Grey"},
        follow=True,
    )
    assert "back in coding" in response.content.decode()
    chart.refresh_from_db()
    assert chart.status == Encounter.Status.CODING


def test_withdrawing_from_the_aging_list_goes_back_to_it(client, intermediate, chart):
    query = _send(chart, intermediate)
    response = _login(client, intermediate).post(
        reverse("encounters:query_withdraw", args=[chart.pk]),
        {"query_id": query.pk, "reason": "Answered in the discharge summary", "from": "list"},
    )
    assert response.url == reverse("encounters:queries")
    query.refresh_from_db()
    assert query.status == PhysicianQuery.Status.WITHDRAWN


def test_an_unknown_query_id_is_a_404(client, intermediate, chart):
    response = _login(client, intermediate).post(
        reverse("encounters:query_answer", args=[chart.pk]), {"query_id": "999", "answer": "x"}
    )
    assert response.status_code == 404


@pytest.fixture
def aging(intermediate, junior):
    """Three open queries of different ages, two providers, and one answered query."""
    charts = []
    for _ in range(4):
        encounter = InpatientEncounterFactory(assignee=junior, status=Encounter.Status.CODING)
        DocumentFactory(encounter=encounter, text=NOTE)
        charts.append(encounter)
    fresh = _send(charts[0], intermediate, provider="Dr. Grey")
    week = _send(charts[1], intermediate, provider="Dr. House")
    few = _send(charts[2], intermediate, provider="Dr. Grey")
    done = _send(charts[3], intermediate, provider="Dr. House")
    _aged(week, 9)
    _aged(few, 3)
    _aged(done, 4)
    queries.query_answer(query=done, by=intermediate, answer="Acute blood loss anemia")
    return {"fresh": fresh, "week": week, "few": few, "done": done}


def _rows(response) -> list[int]:
    return [q.pk for q in response.context["rows"]]


def test_the_aging_list_shows_open_queries_oldest_first(
    client, intermediate, aging, django_assert_max_num_queries
):
    _login(client, intermediate)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("encounters:queries"))
    assert _rows(response) == [aging["week"].pk, aging["few"].pk, aging["fresh"].pk]
    assert [q.days_open for q in response.context["rows"]] == [9, 3, 0]
    html = response.content.decode()
    assert "Dr. House" in html and "Jo Junior" in html  # provider and coder
    assert aging["week"].encounter.account_number in html


def test_the_aging_list_filters_by_provider_and_age(client, intermediate, aging):
    _login(client, intermediate)
    url = reverse("encounters:queries")
    assert _rows(client.get(url, {"provider": "Dr. Grey"})) == [aging["few"].pk, aging["fresh"].pk]
    assert _rows(client.get(url, {"age": "2"})) == [aging["week"].pk, aging["few"].pk]
    assert _rows(client.get(url, {"age": "7"})) == [aging["week"].pk]
    assert _rows(client.get(url, {"age": "7", "provider": "Dr. Grey"})) == []


def test_the_closed_tab_lists_answered_and_withdrawn_queries(client, intermediate, aging):
    queries.query_withdraw(query=aging["fresh"], by=intermediate, reason="Duplicate")
    response = _login(client, intermediate).get(reverse("encounters:queries"), {"tab": "closed"})
    assert set(_rows(response)) == {aging["done"].pk, aging["fresh"].pk}
    html = response.content.decode()
    assert "Acute blood loss anemia" in html and "Withdrawn" in html


def test_the_navigation_offers_queries_to_intermediates_only(client, intermediate, junior):
    _login(client, intermediate)
    # Queries is a page of the Cases section: its tabs show on the section's pages.
    body = client.get(reverse("encounters:complex")).content.decode()
    assert reverse("encounters:queries") in body
    client.logout()
    _login(client, junior)
    assert (
        reverse("encounters:queries")
        not in client.get(reverse("encounters:queue")).content.decode()
    )


def test_a_senior_sees_the_aging_list(client, senior, intermediate, chart):
    _send(chart, intermediate)
    response = _login(client, senior).get(reverse("encounters:queries"))
    assert response.status_code == 200 and len(response.context["rows"]) == 1


def test_an_encounter_without_documents_cannot_be_queried(client, intermediate):
    empty = EncounterFactory(status=Encounter.Status.CODING, complexity_flags=FLAGGED)
    response = _login(client, intermediate).post(
        reverse("encounters:query_new", args=[empty.pk]),
        {"kind": "open", "provider": "Dr. G", "question": QUESTION},
    )
    assert response.status_code == 400
    assert "at least one clinical indicator" in response.content.decode()
