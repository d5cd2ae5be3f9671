"""The coding assistant's candidates (issue 8, second pass): the ICD-10-CM index tables, chart
shorthand, "X and Y" titles, combination codes before their less specific parts, evidence that
is the phrase whose words matched; and the acceptance-rate report."""

from datetime import date

import pytest
from django.urls import reverse

from encounters.assist import selectors
from encounters.assist.lexicon import Lexicon, note_words
from encounters.assist.services import (
    document_suggestions,
    suggest_text,
    suggestion_accept,
    suggestion_reject,
)
from encounters.models import Encounter
from tests.factories import DocumentFactory, EncounterFactory

pytestmark = pytest.mark.django_db

ON = date(2026, 5, 4)  # the April 2026 tables are in force


def _codes(rows: list[dict]) -> list[str]:
    return [r["code"] for r in rows if not r["negated"]]


@pytest.fixture
def index_tables(cms_data):
    """The Table of Drugs, Neoplasm Table and External Cause Index imported from the real CMS
    files and activated, inside the test's transaction (rolled back after it)."""
    from codesets import services
    from codesets.importers.cms_manifest import CMS_FILES
    from codesets.models import Release

    wanted = {"icd10cm-drugs", "icd10cm-neoplasm", "icd10cm-eindex"}
    entries = [e for e in CMS_FILES if e.system in wanted and e.path.is_file()]
    if len(entries) != len(wanted):
        pytest.skip(f"ICD-10-CM index tables not found under {cms_data / 'icd10cm'}")
    for entry in entries:
        release, needs_import = services.release_register_file(
            system=entry.system,
            path=entry.path,
            label=entry.label,
            effective_from=entry.effective_from,
        )
        if needs_import or release.status == Release.Status.PENDING:
            release = services.release_import_now(release=release)
        if release.status == Release.Status.IMPORTED:
            release = services.release_activate(release=release)
        assert release.status == Release.Status.ACTIVE, release.error


def test_the_index_tables_name_codes_the_titles_do_not(index_tables):
    # Neoplasm Table: "liver metastases" is Malignant Secondary of the liver; the lung
    # primary's laterality is not documented, so its code is flagged too vague.
    note = "Assessment: adenocarcinoma of the lung with liver metastases."
    rows = {r["code"]: r for r in suggest_text(note, on=ON)}
    assert "C78.7" in rows
    quote = rows["C78.7"]["evidence"][0]
    assert note[quote["start"] : quote["end"]] == "liver metastases"
    assert rows["C78.7"]["why"]["source"] == "Neoplasm Table"
    lung = [r for code, r in rows.items() if code.startswith("C34")]
    assert lung and lung[0]["vague"]
    # Table of Drugs: the 7th character comes from the encounter (initial): not vague.
    rows = {r["code"]: r for r in suggest_text("Accidental acetaminophen overdose.", on=ON)}
    assert "T39.1X1A" in rows and not rows["T39.1X1A"]["vague"]
    assert rows["T39.1X1A"]["evidence"][0]["text"] == "acetaminophen overdose"
    # External Cause Index: the circumstances of the fall, not only "fall".
    codes = _codes(suggest_text("He had a fall from the stairs at home.", on=ON))
    assert {"W10.9XXA", "W10.8XXA"} & set(codes)


def test_without_the_tables_in_force_they_name_nothing(index_tables):
    # A 2025 visit: the April 2026 tables were not in force, so no table line is used.
    rows = suggest_text("Accidental acetaminophen overdose.", on=date(2025, 6, 1))
    assert "T39.1X1A" not in _codes(rows)


def test_the_combination_code_ranks_before_its_less_specific_part():
    rows = suggest_text("Assessment: type 2 diabetes with diabetic polyneuropathy.", on=ON)
    codes = _codes(rows)
    assert "E11.42" in codes
    quote = next(r for r in rows if r["code"] == "E11.42")["evidence"][0]
    assert quote["text"] == "type 2 diabetes with diabetic polyneuropathy"
    if "E11.9" in codes:
        assert codes.index("E11.42") < codes.index("E11.9")
    # "Type II" is type 2.
    assert "E11.9" in _codes(suggest_text("Type II diabetes mellitus.", on=ON))


def test_evidence_is_the_phrase_whose_words_matched():
    note = "Chronic heart failure and kidney stones."
    rows = suggest_text(note, on=ON)
    for row in rows:
        for quote in row["evidence"]:
            assert note[quote["start"] : quote["end"]] == quote["text"]
        if row["code"].startswith("N18"):  # chronic kidney disease is not documented here
            pytest.fail(f"{row['code']} from {row['evidence']}")
    by_code = {r["code"]: r for r in rows}
    assert by_code["N20.0"]["evidence"][0]["text"] == "kidney stones"
    # Every heart-failure code quotes (part of) "Chronic heart failure", nothing beyond it.
    heart_failure = [r for r in rows if r["code"].startswith("I50")]
    assert heart_failure
    phrase_end = note.index(" and kidney")
    for row in heart_failure:
        assert all(q["end"] <= phrase_end for q in row["evidence"]), row
    assert "heart failure" in {q["text"] for r in heart_failure for q in r["evidence"]}


def test_either_side_of_an_and_title_and_chart_shorthand():
    assert "R34" in _codes(suggest_text("Since yesterday, oliguria.", on=ON))  # Anuria and oliguria
    codes = _codes(suggest_text("Antecedents: HTA and dyslipidemia.", on=ON))
    assert "I10" in codes and "E78.5" in codes


def test_words_learned_from_training_notes_leave_each_note_out():
    notes = ["Nephritic colic, accidental.", "Nephritic colic again.", "Nephritic colic, third."]
    codes = [{"N23", "R52"}, {"N23"}, {"N23"}]
    notes += ["Pain and fever."] * 6 + ["Pain, accidental."]
    codes += [{"R52"}] * 7
    lexicon = Lexicon.learn([note_words(n) for n in notes], codes)
    assert lexicon.codes_for("nephritic") == [("N23", 1.0)]
    # R52 is coded in 8 of 10 notes: a word seen with it is no evidence of it.
    assert lexicon.codes_for("accidental") == [] and lexicon.codes_for("fever") == []
    # The first note, while training, sees only the others: still 2 of 2 for "nephritic".
    own = lexicon.leaving_out(note_words(notes[0]), codes[0])
    assert own.codes_for("nephritic") == [("N23", 1.0)]
    # A word only its own note held teaches it nothing.
    alone = Lexicon.learn([note_words(n) for n in notes[:2]], codes[:2])
    assert alone.leaving_out(note_words(notes[0]), codes[0]).codes_for("nephritic") == []
    # Stored in weights.json and read back the same.
    again = Lexicon.from_model({"lexicon": lexicon.as_json()})
    assert again.codes_for("nephritic") == lexicon.codes_for("nephritic")


# --- the acceptance-rate report ----------------------------------------------------------------


@pytest.fixture
def decided(junior, intermediate):
    """Real suggestions for one chart, one accepted and one rejected by the junior."""
    encounter = EncounterFactory(status=Encounter.Status.CODING, assignee=junior)
    document = DocumentFactory(
        encounter=encounter, text="Assessment: acute appendicitis. Oliguria.", title="Note"
    )
    suggestions = {s.code: s for s in document_suggestions(document)}
    appendicitis = next(s for c, s in suggestions.items() if c.startswith("K35"))
    suggestion_accept(suggestion=appendicitis, by=junior, version=encounter.version)
    suggestion_reject(suggestion=suggestions["R34"], by=junior, reason="Not clinically valid")
    return appendicitis


def test_acceptance_selectors_count_per_coder_and_code(decided, junior):
    assert selectors.acceptance_totals() == {"accepted": 1, "rejected": 1, "rate": 0.5}
    assert selectors.acceptance_by_coder() == [
        {"user__username": junior.username, "accepted": 1, "rejected": 1, "rate": 0.5}
    ]
    by_code = selectors.acceptance_by_code()
    assert [(r["code"], r["accepted"], r["rejected"]) for r in by_code] == [
        ("R34", 0, 1),
        (decided.code, 1, 0),
    ]
    assert by_code[0]["last_reason"] == "Not clinically valid"
    assert by_code[0]["description"] == "Anuria and oliguria"
    assert selectors.acceptance_by_code(coder="nobody") == []


def test_acceptance_page_for_reviewers_only(client, decided, junior, intermediate, senior):
    url = reverse("encounters:assist_acceptance")
    client.force_login(junior)
    assert client.get(url).status_code == 403
    for user in (intermediate, senior):
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200
        html = response.content.decode()
        assert "Suggestion acceptance" in html and junior.username in html
        assert "R34" in html and "Not clinically valid" in html and "50%" in html
    html = client.get(url, {"coder": "nobody"}).content.decode()
    assert "No decisions by nobody" in html
