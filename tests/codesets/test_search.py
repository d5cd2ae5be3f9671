"""Code search against the real bundled ICD-10-CM April 2026 and ICD-10-PCS releases."""

from datetime import date

import pytest

from codesets.search import NoReleaseInForce, code_search

pytestmark = pytest.mark.django_db


def codes(query: str, system: str = "icd10cm", limit: int = 20, on=None) -> list[str]:
    return [hit.code for hit in code_search(system=system, query=query, limit=limit, on=on)]


@pytest.mark.parametrize("query", ["E114", "e11.4", "E11.4", " e114 "])
def test_it_finds_a_code_with_or_without_the_dot_exact_code_first(query):
    found = codes(query)
    assert found[0] == "E11.4"
    assert set(found[1:]) >= {"E11.40", "E11.41", "E11.49"}


def test_a_code_prefix_lists_billable_codes_before_headers():
    hits = code_search(system="icd10cm", query="S52.5", limit=50)
    assert hits[0].code == "S52.5"
    billable_flags = [hit.billable for hit in hits[1:]]
    assert billable_flags == sorted(billable_flags, reverse=True)


def test_words_match_in_any_order_by_prefix():
    assert "E11.40" in codes("diab neuro")
    assert "E11.40" in codes("neuro diab")


def test_words_find_inclusion_terms():
    # "Congestive heart failure NOS" is an inclusion term of I50.9, not its title.
    assert "I50.9" in codes("congestive heart failure")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("chf", "I50.9"),
        ("copd", "J44.9"),
        ("htn", "I10"),
        ("uti", "N39.0"),
        ("ckd 3a", "N18.31"),
        ("dm 2 neuropathy", "E11.40"),
        ("mi acute", "I21.9"),
        ("fx radius distal", "S52.501A"),
    ],
)
def test_common_clinical_abbreviations_work(query, expected):
    assert expected in codes(query, limit=50)


def test_fracture_results_prefer_the_initial_encounter():
    first = code_search(system="icd10cm", query="fx radius distal", limit=1)[0]
    assert first.code.endswith("A")


def test_billable_codes_rank_above_headers_for_words():
    hits = code_search(system="icd10cm", query="type 2 diabetes mellitus", limit=30)
    flags = [hit.billable for hit in hits]
    assert flags == sorted(flags, reverse=True)
    assert "E11.9" in [hit.code for hit in hits]


def test_pcs_search_by_words_and_code():
    assert "0FT44ZZ" in codes("resection gallbladder percutaneous endoscopic", "icd10pcs")
    assert "0FT44ZZ" in codes("lap chole resection", "icd10pcs")
    assert codes("0DTJ4ZZ", "icd10pcs") == ["0DTJ4ZZ"]
    # Sections beyond Medical and Surgical come from the full list: obstetrics, admin, imaging.
    assert codes("10D00Z1", "icd10pcs") == ["10D00Z1"]
    assert codes("5A1945Z", "icd10pcs") == ["5A1945Z"]


def test_the_release_in_force_on_the_date_of_service_is_searched():
    # U07.0 (vaping-related disorder) exists in both; a code added in FY2026 does not exist
    # in FY2025: the April 2026 release has codes the FY2025 one lacks.
    from codesets.selectors import release_in_force

    old = release_in_force(system="icd10cm", on=date(2025, 1, 15))
    new = release_in_force(system="icd10cm", on=date(2026, 5, 1))
    assert old.label == "ICD-10-CM FY2025"
    assert new.label == "ICD-10-CM FY2026 April update"
    assert codes("E11.9", on=date(2025, 1, 15))[0] == "E11.9"


def test_no_release_in_force_is_a_clear_error():
    with pytest.raises(NoReleaseInForce, match="No icd10cm release is in force on 1999-01-01"):
        code_search(system="icd10cm", query="E11", on=date(1999, 1, 1))


def test_nonsense_finds_nothing_and_empty_query_finds_nothing():
    assert codes("qqqxyz") == []
    assert codes("   ") == []


def test_who_icd10_is_searchable():
    assert codes("A00.0", "icd10who")[0] == "A00.0"


def test_short_abbreviations_do_not_match_as_word_prefixes():
    # "uti" is urinary tract infection, never "utilities"; "pe" never "penicillosis".
    assert all(
        "utilit" not in h.description.lower()
        for h in code_search(system="icd10cm", query="uti", limit=50)
    )
    assert "B48.4" not in codes("pe", limit=50)


def test_whole_word_matches_rank_before_prefix_matches():
    first = code_search(system="icd10cm", query="influenza", limit=1)[0]
    assert "influenzae" not in first.description.lower()


@pytest.mark.parametrize(
    ("system", "query", "expected"),
    [
        ("icd10cm", "cellulitis leg", "L03.116"),
        ("icd10cm", "breast cancer left", "C50.912"),
        ("icd10pcs", "lap appendectomy", "0DTJ4ZZ"),
        ("icd10pcs", "colonoscopy", "0DJD8ZZ"),
        ("icd10pcs", "cesarean", "10D00Z1"),
    ],
)
def test_chart_words_find_the_titles_that_say_it_differently(system, query, expected):
    assert expected in codes(query, system, limit=100)
