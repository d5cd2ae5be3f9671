"""Research report numbers checked against the hand-computed small world
(tests/audits/research_fixtures.py)."""

from datetime import date

import pytest

from audits.research import selectors as sel
from audits.research.selectors import Cohort, ResearchFilters
from encounters.models import Encounter
from tests.audits.research_fixtures import coded, small_world
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return small_world()


def encounters(**filters):
    return sel.coded_encounters(ResearchFilters(**filters))


def test_it_counts_coded_encounters_only_and_never_practice_charts(world):
    e7 = world["encounters"][6]
    assert Encounter.with_practice.filter(pk=e7.pk, status="coded").exists()
    figures = sel.summary(encounters())
    assert figures["encounters"] == 5  # E6 is still being coded; E7 is a practice chart
    assert figures["patients"] == 4
    assert figures["diagnoses"] == 3 + 2 + 2 + 3 + 1
    assert (figures["first"], figures["last"]) == (date(2025, 3, 14), date(2025, 4, 20))
    assert e7.pk not in set(encounters().values_list("pk", flat=True))


def test_code_frequency_matches_the_hand_count(world):
    rows = [
        (r["code"], r["encounters"], r["patients"], r["principal"])
        for r in sel.code_frequency(encounters())
    ]
    assert rows == [
        ("E11.9", 2, 1, 2),
        ("I10", 2, 2, 1),
        ("I50.32", 2, 2, 1),
        ("N18.30", 2, 2, 0),
        ("E11.22", 1, 1, 0),
        ("J44.1", 1, 1, 0),
        ("S52.501A", 1, 1, 1),
    ]


def test_category_frequency_counts_an_encounter_once_per_category(world):
    rows = [
        (r["category"], r["encounters"], r["patients"])
        for r in sel.category_frequency(encounters())
    ]
    assert rows == [
        ("E11", 3, 2),  # E1, E2 (P1) and E4 (P3, with E11.22)
        ("I10", 2, 2),
        ("I50", 2, 2),
        ("N18", 2, 2),
        ("J44", 1, 1),
        ("S52", 1, 1),
    ]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"sex": "F"}, 3),
        ({"age_band": "65-74"}, 2),  # P1 is 74 at both admissions
        ({"age_band": "90+"}, 1),  # P3, 95
        ({"age_band": "0-17"}, 1),
        ({"encounter_type": "inpatient"}, 2),
        ({"payer": "Aetna"}, 1),
        ({"provider": "Dr. Who"}, 1),
        ({"date_from": date(2025, 4, 1), "date_to": date(2025, 4, 30)}, 3),
        ({"date_to": date(2025, 3, 31), "sex": "M"}, 1),
    ],
)
def test_filters(world, filters, expected):
    assert sel.summary(encounters(**filters))["encounters"] == expected


def test_age_is_in_whole_years_on_the_admission_date(db):
    patient = PatientFactory(birth_date=date(1950, 6, 15))
    day_before = coded(patient, ["I10"], admit_date=date(2025, 6, 14), discharge_date=None)
    birthday = coded(patient, ["I10"], admit_date=date(2025, 6, 15), discharge_date=None)
    ages = dict(encounters().values_list("pk", "age"))
    assert ages[day_before.pk] == 74
    assert ages[birthday.pk] == 75
    bands = dict(encounters().values_list("pk", "age_band"))
    assert (bands[day_before.pk], bands[birthday.pk]) == ("65-74", "75-89")


def test_trend_by_month_with_the_top_categories(world):
    figures = sel.summary(encounters())
    trend = sel.trend(
        encounters(), first=figures["first"], last=figures["last"], categories=["E11", "I50"]
    )
    assert trend.unit == "month"
    assert trend.labels == ["Mar 2025", "Apr 2025"]
    assert trend.encounters == [2, 3]  # E1 E3 | E2 E4 E5
    assert trend.patients == [2, 3]
    assert trend.categories == {"E11": [1, 2], "I50": [0, 2]}


def test_long_ranges_trend_by_quarter():
    assert sel.period_unit(date(2023, 1, 5), date(2025, 1, 1)) == "quarter"
    assert sel.period_unit(date(2024, 1, 5), date(2025, 12, 1)) == "month"
    assert sel.period_label(date(2025, 4, 1), "quarter") == "2025 Q2"


def test_comorbidity_prevalence_and_co_occurrence(world):
    g = world["groups"]
    groups = sel.active_risk_groups()
    assert [x.name for x in groups] == sorted(g)  # seeded defaults are off in this world
    figures = sel.comorbidity(encounters(), groups)
    assert (figures["total"], figures["total_patients"]) == (5, 4)
    prevalence = {r["group"].name: (r["encounters"], r["patients"]) for r in figures["prevalence"]}
    assert prevalence == {
        "T CKD": (2, 2),
        "T COPD": (1, 1),
        "T Diabetes": (3, 2),
        "T Heart failure": (2, 2),
        "T Hypertension": (2, 2),
    }
    matrix = {
        (row["group"].name, b.name): n
        for row in figures["matrix"]
        for b, n in zip(groups, row["cells"], strict=True)
    }
    assert matrix[("T Diabetes", "T Heart failure")] == 2  # E2, E4
    assert matrix[("T Heart failure", "T Diabetes")] == 2
    assert matrix[("T Diabetes", "T CKD")] == 2  # E1, E4
    assert matrix[("T Diabetes", "T Hypertension")] == 1  # E1
    assert matrix[("T Diabetes", "T COPD")] == 0
    assert matrix[("T Heart failure", "T CKD")] == 1  # E4
    assert matrix[("T CKD", "T Hypertension")] == 1  # E1
    assert matrix[("T Hypertension", "T COPD")] == 1  # E3
    assert matrix[("T Diabetes", "T Diabetes")] == 3


def test_category_pairs_on_one_encounter(world):
    pairs = [(p["first"], p["second"], p["encounters"]) for p in sel.category_pairs(encounters())]
    assert pairs == [
        ("E11", "I50", 2),
        ("E11", "N18", 2),
        ("E11", "I10", 1),
        ("I10", "J44", 1),
        ("I10", "N18", 1),
        ("I50", "N18", 1),
    ]


def test_high_risk_flags_per_encounter(world):
    flags = sel.risk_flags(encounters(), sel.active_risk_groups(), min_groups=3, unit="encounter")
    assert [r["count"] for r in flags["distribution"]] == [1, 0, 2, 2, 0, 0]
    assert (flags["population"], flags["flagged"]) == (5, 2)  # E1 and E4
    which = {r["group"].name: r["count"] for r in flags["which"]}
    assert which == {
        "T CKD": 2,
        "T COPD": 0,
        "T Diabetes": 2,
        "T Heart failure": 1,
        "T Hypertension": 1,
    }


def test_high_risk_flags_per_patient_look_across_their_encounters(world):
    flags = sel.risk_flags(encounters(), sel.active_risk_groups(), min_groups=3, unit="patient")
    # P1: diabetes, hypertension, CKD (E1) + heart failure (E2) = 4; P2: 2 (E6 not coded);
    # P3: 3; P4: 0.
    assert [r["count"] for r in flags["distribution"]] == [1, 0, 1, 1, 1, 0]
    assert (flags["population"], flags["flagged"]) == (4, 2)
    which = {r["group"].name: r["count"] for r in flags["which"]}
    assert which["T Heart failure"] == 2
    assert which["T Hypertension"] == 1
    combos = {tuple(g.name for g in c["groups"]): c["count"] for c in flags["combinations"]}
    assert combos == {
        ("T CKD", "T Diabetes", "T Heart failure", "T Hypertension"): 1,
        ("T CKD", "T Diabetes", "T Heart failure"): 1,
    }


def test_drg_mix_and_case_mix_index(world):
    mix = sel.drg_mix(encounters())
    assert (mix["stays"], mix["grouped"]) == (2, 2)
    assert mix["cmi"] == pytest.approx((1.3424 + 0.8876) / 2)
    assert [(r["drg"], r["encounters"]) for r in mix["rows"]] == [("291", 1), ("292", 1)]


@pytest.mark.parametrize(
    ("cohort", "expected"),
    [
        (Cohort(any_codes=("E11",), none_codes=("N18",)), (1, 1)),  # E2
        (Cohort(any_codes=("E11",), none_codes=("N18",), scope="patient"), (0, 0)),
        (Cohort(any_codes=("E11",), age_min=75), (1, 1)),  # E4, aged 95
        (Cohort(any_codes=("I10", "I50")), (4, 3)),
        (Cohort(none_codes=("E11",)), (2, 2)),  # E3, E5
        (Cohort(any_codes=("E119",)), (2, 1)),  # exact code, dots ignored
        (Cohort(any_codes=("I10", "I50"), filters=ResearchFilters(sex="F")), (3, 2)),
    ],
)
def test_cohort_counts(world, cohort, expected):
    figures = sel.summary(sel.cohort_encounters(cohort))
    assert (figures["encounters"], figures["patients"]) == expected


def test_cohort_breakdowns(world):
    parts = sel.breakdowns(sel.cohort_encounters(Cohort(any_codes=("I10", "I50"))))
    sex = {r["label"]: (r["encounters"], r["patients"]) for r in parts["sex"]}
    assert sex == {"Female": (3, 2), "Male": (1, 1), "Unknown": (0, 0)}
    bands = {r["label"]: r["encounters"] for r in parts["age_band"]}
    assert bands == {"0-17": 0, "18-44": 0, "45-64": 1, "65-74": 2, "75-89": 0, "90+": 1}


def test_code_lists_parse_codes_categories_and_ranges():
    assert sel.parse_code_list("e11, I50.22 I10-I13;") == (
        "E11",
        "I5022",
        "I10",
        "I11",
        "I12",
        "I13",
    )
    with pytest.raises(sel.CodeListError, match="Smith"):
        sel.parse_code_list("E11 Smith")
    with pytest.raises(sel.CodeListError, match="backwards"):
        sel.parse_code_list("I16-I10")
