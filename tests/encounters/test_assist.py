"""The coding assistant (issue 8): ConText, evidence offsets, the release in force, the
evaluate and suggest commands, and the workspace panel with its decisions."""

import gzip
import json
from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from encounters.assist.evaluation import average_precision
from encounters.assist.services import suggest_text
from encounters.models import AssistSuggestion, Encounter, SuggestionDecision
from tests.factories import DocumentFactory, EncounterFactory

pytestmark = pytest.mark.django_db

ON = date(2026, 5, 4)
NOTE = (
    "HISTORY OF PRESENT ILLNESS: Seen for abdominal pain.\n"
    "Family History: Mother had breast cancer.\n"
    "Assessment and Plan:\n"
    "1. No evidence of pneumonia.\n"
    "2. Rule out myocardial infarction.\n"
    "3. Acute appendicitis.\n"
)


def _by_code(rows: list[dict]) -> dict[str, dict]:
    return {r["code"]: r for r in rows}


def test_negated_ruled_out_and_family_history_are_not_active():
    rows = suggest_text(NOTE, on=ON)
    active = [r for r in rows if not r["negated"]]
    inactive = [r for r in rows if r["negated"]]
    active_quotes = " ".join(e["text"].lower() for r in active for e in r["evidence"])
    assert "pneumonia" not in active_quotes
    assert "myocardial" not in active_quotes
    assert "breast" not in active_quotes and "cancer" not in active_quotes
    inactive_codes = {r["code"][:3] for r in inactive}
    assert "J18" in inactive_codes  # pneumonia: mentioned, negated
    assert "I21" in inactive_codes  # "rule out MI": uncertain
    assert any(c.startswith("C50") or c == "Z80.3" for c in {r["code"] for r in inactive})
    # The real diagnosis is active, and ranked before every inactive one.
    assert any(r["code"].startswith("K35") for r in active)
    assert rows.index(active[-1]) < rows.index(inactive[0])
    appendicitis = next(r for r in active if r["code"].startswith("K35"))
    assert appendicitis["why"]["section"] == "observation and plan"


def test_evidence_offsets_point_at_the_quoted_text():
    rows = suggest_text(NOTE, on=ON)
    assert rows
    for row in rows:
        for evidence in row["evidence"]:
            assert NOTE[evidence["start"] : evidence["end"]] == evidence["text"]
    appendicitis = next(r for r in rows if r["code"].startswith("K35"))
    quote = appendicitis["evidence"][0]
    assert NOTE[quote["start"] : quote["end"]] == "Acute appendicitis"


def test_no_suggestion_for_a_code_not_valid_on_the_date_of_service():
    text = "Assessment: Kabuki syndrome."
    # Q89.81 took effect with the FY2026 update: suggested in 2026, never for a 2025 visit.
    assert "Q89.81" in _by_code(suggest_text(text, on=date(2026, 6, 1)))
    before = _by_code(suggest_text(text, on=date(2025, 6, 1)))
    assert "Q89.81" not in before
    assert all(r["code"] != "Q89.81" for r in before.values())


def test_a_header_only_match_is_flagged_too_vague():
    # "Multiple sclerosis" names the header G35 in FY2026: the unspecified child, flagged.
    rows = _by_code(suggest_text("Assessment: multiple sclerosis.", on=date(2026, 6, 1)))
    assert "G35.D" in rows
    assert all(not r["code"].endswith("-") for r in rows.values())


def test_suggest_command_prints_the_agreed_json_shape(tmp_path):
    note = tmp_path / "note.txt"
    note.write_text(NOTE)
    out = StringIO()
    call_command("assist", "suggest", str(note), "--json", stdout=out)
    payload = json.loads(out.getvalue())
    assert list(payload) == ["suggestions"]
    first = payload["suggestions"][0]
    assert list(first) == ["system", "code", "description", "confidence", "evidence", "negated"]
    assert first["system"] == "icd10cm" and first["negated"] is False
    assert set(first["evidence"][0]) == {"text", "start", "end"}
    confidences = [s["confidence"] for s in payload["suggestions"] if not s["negated"]]
    assert confidences == sorted(confidences, reverse=True)


def test_average_precision_by_hand():
    # Hits at ranks 1 and 3 of 3 gold codes: (1/1 + 2/3) / 3.
    assert average_precision(["A", "x", "B", "y"], {"A", "B", "C"}) == pytest.approx(5 / 9)
    assert average_precision([], {"A"}) == 0.0


def test_evaluate_command_on_a_small_fixture_with_a_hand_computed_map(tmp_path):
    fixture = tmp_path / "mini.jsonl.gz"
    rows = [
        # Q89.81 found first; G35 (a 2018 code, a header now) maps to G35.D, not found:
        # AP = (1/1) / 2 = 0.5.
        {"id": "a", "text_en": "Kabuki syndrome.", "diagnosis_codes": ["Q89.81", "G35"]},
        # ZZ9.99 never existed: skipped. AP = 1.
        {"id": "b", "text_en": "Kabuki syndrome.", "diagnosis_codes": ["Q89.81", "ZZ9.99"]},
    ]
    with gzip.open(fixture, "wt") as handle:
        handle.write("\n".join(json.dumps(r) for r in rows))
    out = StringIO()
    call_command("assist", "evaluate", "--file", str(fixture), "--json", stdout=out)
    result = json.loads(out.getvalue())
    assert result["documents"] == 2
    assert result["map"] == pytest.approx(0.75)
    assert result["gold_codes"] == {"kept": 2, "mapped": 1, "skipped": 1}
    assert {"precision", "recall", "f1"} <= set(result["code"]) and "category" in result
    assert result["cases_per_second"] > 0


# --- the workspace panel --------------------------------------------------------------------


@pytest.fixture
def chart(junior):
    encounter = EncounterFactory(status=Encounter.Status.CODING, assignee=junior)
    document = DocumentFactory(encounter=encounter, text=NOTE, title="Progress note")
    return encounter, document


def _hx(client, url, data=None):
    if data is None:
        return client.get(url, HTTP_HX_REQUEST="true")
    return client.post(url, data, HTTP_HX_REQUEST="true")


def test_panel_lists_suggestions_marked_as_suggestions(client, junior, chart):
    encounter, document = chart
    client.force_login(junior)
    response = _hx(client, reverse("encounters:assist_panel", args=[encounter.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Suggested codes" in html and "Suggestions" in html
    appendicitis = (
        AssistSuggestion.objects.filter(document=document, code__startswith="K35")
        .order_by("rank")
        .first()
    )
    assert f'data-assist-start="{appendicitis.evidence[0]["start"]}"' in html
    assert "onclick" not in html and "<script>" not in html
    assert not encounter.diagnoses.exists()  # showing suggestions assigns nothing
    # Cached per document version: a second load computes nothing new.
    ids = set(AssistSuggestion.objects.filter(document=document).values_list("pk", flat=True))
    _hx(client, reverse("encounters:assist_panel", args=[encounter.pk]))
    assert (
        set(AssistSuggestion.objects.filter(document=document).values_list("pk", flat=True)) == ids
    )


def test_accept_adds_the_code_with_its_evidence_and_records_the_decision(client, junior, chart):
    encounter, document = chart
    client.force_login(junior)
    _hx(client, reverse("encounters:assist_panel", args=[encounter.pk]))
    suggestion = (
        AssistSuggestion.objects.filter(document=document, code__startswith="K35")
        .order_by("rank")
        .first()
    )
    response = _hx(
        client,
        reverse("encounters:suggestion_accept", args=[encounter.pk]),
        {"suggestion_id": suggestion.pk, "version": encounter.version},
    )
    assert response.status_code == 200
    diagnosis = encounter.diagnoses.get()
    assert diagnosis.code == suggestion.code
    assert diagnosis.evidence_document == document
    assert diagnosis.evidence_quote == "Acute appendicitis"
    decision = SuggestionDecision.objects.get()
    assert (decision.user, decision.code, decision.decision) == (
        junior,
        suggestion.code,
        "accepted",
    )
    # Accepted: no longer offered.
    html = _hx(client, reverse("encounters:assist_panel", args=[encounter.pk])).content.decode()
    assert f'id="suggestion-{suggestion.pk}"' not in html


def test_accept_with_a_stale_version_changes_nothing(client, junior, chart):
    encounter, document = chart
    client.force_login(junior)
    _hx(client, reverse("encounters:assist_panel", args=[encounter.pk]))
    suggestion = AssistSuggestion.objects.filter(document=document, negated=False).first()
    _hx(
        client,
        reverse("encounters:suggestion_accept", args=[encounter.pk]),
        {"suggestion_id": suggestion.pk, "version": encounter.version + 5},
    )
    assert not encounter.diagnoses.exists()
    assert not SuggestionDecision.objects.exists()


def test_reject_records_the_reason_per_coder_and_code(client, junior, chart):
    from encounters.assist.services import acceptance_rates

    encounter, document = chart
    client.force_login(junior)
    _hx(client, reverse("encounters:assist_panel", args=[encounter.pk]))
    suggestion = AssistSuggestion.objects.filter(document=document, negated=False).first()
    response = _hx(
        client,
        reverse("encounters:suggestion_reject", args=[encounter.pk]),
        {"suggestion_id": suggestion.pk, "reason": "Not documented by the provider"},
    )
    assert response.status_code == 200
    assert f'id="suggestion-{suggestion.pk}"' not in response.content.decode()
    decision = SuggestionDecision.objects.get()
    assert decision.decision == "rejected" and decision.reason == "Not documented by the provider"
    assert not encounter.diagnoses.exists()
    rates = acceptance_rates()
    assert rates == [
        {
            "user__username": "jun",
            "system": "icd10cm",
            "code": suggestion.code,
            "accepted": 0,
            "rejected": 1,
            "rate": 0.0,
        }
    ]
    out = StringIO()
    call_command("assist", "rates", stdout=out)
    assert json.loads(out.getvalue()) == {"rates": rates}


def test_panel_permissions(client, admin_user, intermediate, chart):
    encounter, document = chart
    url = reverse("encounters:assist_panel", args=[encounter.pk])
    assert client.get(url).status_code in (302, 403)  # anonymous
    client.force_login(admin_user)  # no chart content for an admin
    assert client.get(url).status_code == 403
    suggestion = AssistSuggestion.objects.create(
        encounter=encounter,
        document=document,
        text_hash="x",
        system="icd10cm",
        code="K35.80",
        confidence=0.9,
        rank=1,
    )
    response = client.post(
        reverse("encounters:suggestion_reject", args=[encounter.pk]),
        {"suggestion_id": suggestion.pk},
    )
    assert response.status_code == 403
    assert not SuggestionDecision.objects.exists()
    # Another coder who does not hold the chart may not decide on it.
    other = EncounterFactory(status=Encounter.Status.CODING, assignee=intermediate)
    client.force_login(intermediate)
    response = client.post(
        reverse("encounters:suggestion_reject", args=[encounter.pk]),
        {"suggestion_id": suggestion.pk},
    )
    assert response.status_code == 403
    assert not SuggestionDecision.objects.exists()
    assert other.pk != encounter.pk


def test_the_task_caches_suggestions_per_document_version(django_capture_on_commit_callbacks):
    from encounters import services
    from encounters.assist.tasks import assist_suggest_task
    from tests.conftest import _persona

    clerk = _persona("clerk", "junior")
    encounter = EncounterFactory()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        document = services.document_create(
            by=clerk,
            encounter=encounter,
            note_type="progress",
            title="Progress note",
            written_on=ON,
            text="Assessment: acute appendicitis.",
        )
    assert len(callbacks) == 1  # the assistant is queued once the document is committed
    result = assist_suggest_task.apply(args=[document.pk]).get()
    assert result["suggestions"] > 0
    first = set(document.assist_suggestions.values_list("pk", flat=True))
    assist_suggest_task.apply(args=[document.pk]).get()  # twice: the same cached rows
    assert set(document.assist_suggestions.values_list("pk", flat=True)) == first
    document.text = "Assessment: Kabuki syndrome."  # a new version of the text
    document.save()
    assist_suggest_task.apply(args=[document.pk]).get()
    assert not set(document.assist_suggestions.values_list("pk", flat=True)) & first
    assert document.assist_suggestions.filter(code="Q89.81").exists()
    assert assist_suggest_task.apply(args=[10**9]).get() == {"document_id": 10**9, "suggestions": 0}


def test_procedures_are_suggested_for_the_encounter_system_with_evidence():
    text = "Operative report: Laparoscopic appendectomy performed for acute appendicitis."
    rows = suggest_text(text, on=ON, procedure_system="icd10pcs")
    procedures = [r for r in rows if r["system"] == "icd10pcs"]
    assert procedures[0]["code"] == "0DTJ4ZZ"  # resection of appendix, laparoscopic
    quote = procedures[0]["evidence"][0]
    assert text[quote["start"] : quote["end"]] == "Laparoscopic appendectomy"
    # Without a procedure system (the default), diagnoses only.
    assert {r["system"] for r in suggest_text(text, on=ON)} == {"icd10cm"}
