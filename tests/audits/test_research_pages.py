"""The research pages: who may open them, what they show (counts, never who), the cohort
builder's bookmarkable GET form, risk-group editing and flat query counts."""

import importlib
from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Role, User
from audits.models import RiskGroup
from tests.audits.research_fixtures import coded, small_world
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

PAGES = ["audits:research", "audits:cohorts", "audits:research_risk", "audits:research_export"]


def user_make(username: str, role: str) -> User:
    return User.objects.create(username=username, role=role, first_name=username.title())


@pytest.fixture
def world():
    return small_world()


@pytest.fixture
def as_intermediate(client):
    client.force_login(user_make("r_mid", Role.INTERMEDIATE))
    return client


@pytest.fixture
def as_senior(client):
    client.force_login(user_make("r_sen", Role.SENIOR))
    return client


def test_juniors_and_admins_cannot_open_research(client):
    for role in (Role.JUNIOR, Role.ADMIN):
        client.force_login(user_make(f"r_{role}", role))
        for name in [*PAGES, "audits:risk_groups"]:
            assert client.get(reverse(name)).status_code == 403, (role, name)


def test_intermediates_run_reports_but_only_seniors_edit_risk_groups(as_intermediate, world):
    for name in PAGES:
        assert as_intermediate.get(reverse(name)).status_code == 200, name
    assert as_intermediate.get(reverse("audits:risk_groups")).status_code == 403
    response = as_intermediate.post(reverse("audits:risk_groups"), {"name": "X", "codes": "E11"})
    assert response.status_code == 403


def test_the_research_page_shows_counts_and_marks_small_cells_never_who(as_senior, world):
    response = as_senior.get(reverse("audits:research"))
    html = response.content.decode()
    assert response.status_code == 200
    figures = response.context["figures"]
    assert (figures["encounters"], figures["patients"]) == (5, 4)
    assert 'class="rs-small"' in html  # every count here is under 11
    assert "under 11, hidden in exports" in html
    for patient in world["patients"]:
        assert patient.last_name not in html and patient.mrn not in html
    for encounter in world["encounters"]:
        assert encounter.account_number not in html
    assert "<svg" in html and "Most frequent categories" in html


def test_filters_come_from_the_address(as_senior, world):
    response = as_senior.get(reverse("audits:research"), {"sex": "F", "type": "inpatient"})
    assert response.context["figures"]["encounters"] == 2  # E1 and E4
    bad = as_senior.get(reverse("audits:research"), {"from": "2025-05-01", "to": "2025-04-01"})
    assert "The start date is after the end date." in bad.content.decode()


def test_the_cohort_is_defined_in_the_address(as_senior, world):
    params = {"any": "E11", "none": "N18", "age_min": "18"}
    response = as_senior.get(reverse("audits:cohorts"), params)
    assert response.status_code == 200
    assert response.context["figures"]["encounters"] == 1  # E2
    html = response.content.decode()
    assert "any of E11; none of N18 on the same encounter; aged 18+" in html
    assert "any=E11" in response.context["bookmark"] and "none=N18" in response.context["bookmark"]
    again = as_senior.get(response.context["bookmark"])
    assert again.context["figures"]["encounters"] == 1


def test_the_cohort_builder_names_a_bad_code(as_senior, world):
    response = as_senior.get(reverse("audits:cohorts"), {"any": "E11 diabetes"})
    assert response.context["cohort"] is None
    assert "diabetes is not an ICD-10-CM code" in response.content.decode()


def test_the_risk_page_counts_flagged_patients(as_senior, world):
    response = as_senior.get(reverse("audits:research_risk"), {"min_groups": "3"})
    assert response.context["flags"]["flagged"] == 2
    encounters = as_senior.get(
        reverse("audits:research_risk"), {"min_groups": "2", "unit": "encounter"}
    )
    assert encounters.context["flags"]["flagged"] == 4  # E1 E2 E3 E4


def test_seniors_add_and_change_risk_groups(as_senior, world):
    response = as_senior.post(
        reverse("audits:risk_groups"),
        {"name": "Sickle cell", "codes": "D57, D56.1-", "description": "", "is_active": "on"},
    )
    assert response.status_code == 200
    assert "D56.1- is not an ICD-10-CM code" in response.content.decode()
    response = as_senior.post(
        reverse("audits:risk_groups"),
        {"name": "Sickle cell", "codes": "D57, D56.1", "description": "", "is_active": "on"},
    )
    assert response.status_code == 302
    group = RiskGroup.objects.get(name="Sickle cell")
    assert group.code_prefixes == ["D57", "D561"] and group.is_active
    assert group.updated_by.username == "r_sen"
    response = as_senior.post(
        reverse("audits:risk_groups"),
        {"group": group.pk, "name": "Sickle cell disease", "codes": "D57"},
    )
    assert response.status_code == 302
    group.refresh_from_db()
    assert (group.name, group.code_prefixes, group.is_active) == (
        "Sickle cell disease",
        ["D57"],
        False,
    )


def test_the_default_chronic_conditions_are_seeded_once(db):
    # The data migration's own function (a browser test's flush empties the migrated rows).
    from django.apps import apps

    seed = importlib.import_module("audits.migrations.0003_default_risk_groups").seed
    RiskGroup.objects.filter(name="Diabetes").delete()
    seed(apps, None)
    seed(apps, None)
    names = set(RiskGroup.objects.values_list("name", flat=True))
    assert {"Diabetes", "Heart failure", "Chronic kidney disease", "COPD", "Hypertension"} <= names
    assert RiskGroup.objects.get(name="Diabetes").code_prefixes == [
        "E08",
        "E09",
        "E10",
        "E11",
        "E13",
    ]


def _queries(client, name: str, params: dict) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(reverse(name), params).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("audits:research", {}),
        ("audits:cohorts", {"any": "E11, I10", "none": "J44"}),
        ("audits:research_risk", {"min_groups": "2"}),
    ],
)
def test_query_counts_do_not_grow_with_the_encounters(as_senior, world, name, params):
    before = _queries(as_senior, name, params)
    for n in range(30):
        coded(
            PatientFactory(sex="MF"[n % 2], birth_date=date(1940 + n, 1, 1)),
            ["E11.9", "I10", "N18.30", "J44.1"][: 1 + n % 4],
            admit_date=date(2025, 1 + n % 12, 1 + n % 28),
            discharge_date=None,
        )
    assert _queries(as_senior, name, params) == before


def test_the_research_page_runs_a_fixed_number_of_queries(
    as_senior, world, django_assert_num_queries
):
    as_senior.get(reverse("audits:research"))  # the session and user, warmed
    with django_assert_num_queries(24):
        as_senior.get(reverse("audits:research"))
