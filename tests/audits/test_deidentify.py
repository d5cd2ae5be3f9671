"""De-identified research exports: tries to leak a name, a birth date, a place, a small cell,
and proves nothing gets out; every export needs a purpose and is logged."""

import csv
import io
import re
from datetime import date

import pytest
from django.urls import reverse

from accounts.models import PhiAccess, Role, User
from audits.models import ResearchExport
from audits.research import deidentify as di
from audits.research.export import REPORTS
from encounters.models import Document, Encounter, ProcedureAssignment
from tests.audits.research_fixtures import coded, coder, risk_groups
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

NAME = "Zebulon Quackenbush"
LEAKS = [
    "Zebulon",
    "Quackenbush",
    "QUACKENBUSH",
    "MRN-QUACK",
    "ACC-QUACK",
    "Springfield",
    "01234",
    "555-0199",
    "123-45-6789",
    "1931",  # birth year of a patient over 89
    "Dr. Q",
    "Quack Payer",
]


@pytest.fixture
def analyst(db) -> User:
    return User.objects.create(username="analyst", role=Role.INTERMEDIATE, first_name="Ana")


@pytest.fixture
def leaky_world(db):
    """13 women aged 74 and 11 women aged 94 with type 2 diabetes in 2025, two men aged 45
    (a group under 11), and Zebulon Quackenbush, whose name is in every free-text field."""
    risk_groups()
    zeb = PatientFactory(
        mrn="MRN-QUACK-1",
        first_name="Zebulon",
        last_name="Quackenbush",
        birth_date=date(1931, 7, 19),
        sex="F",
        address="12 Quackenbush Lane, Springfield 01234",
        phone="555-0199",
        ssn="123-45-6789",
        member_id="QUACK-MEMBER",
        coverage=NAME,
    )
    admitted = date(2025, 9, 3)
    leaky = coded(
        zeb,
        ["E11.9", "I50.32"],
        account_number="ACC-QUACK-1",
        type=Encounter.Type.INPATIENT,
        admit_date=admitted,
        discharge_date=date(2025, 9, 6),
        provider=f"Dr. Q for {NAME}",
        payer=f"Quack Payer of {NAME}",
        escalation_reason=f"{NAME} asked for a review",
        drg_at_save={"drg": "291", "mdc": "05", "description": NAME, "saved_by": NAME},
    )
    leaky.diagnoses.update(rationale=f"{NAME} said so", evidence_quote=NAME, description=NAME)
    Document.objects.create(
        encounter=leaky,
        note_type=Document.NoteType.PROGRESS,
        title=f"Note on {NAME}",
        author="Dr. Q",
        written_on=admitted,
        text=f"{NAME}, born 07/19/1931, lives in Springfield.",
    )
    ProcedureAssignment.objects.create(
        encounter=leaky,
        system="hcpcs",
        code="G0008",
        sequence=1,
        description=NAME,
        created_by=coder(),
    )
    for n in range(13):
        coded(
            PatientFactory(sex="F", birth_date=date(1950, 12, 1)),
            ["E11.9", "I10"],
            admit_date=date(2025, 3, 1 + n),
            discharge_date=date(2025, 3, 1 + n),
        )
    for n in range(10):  # with Zebulon: 11 women aged 90+
        coded(
            PatientFactory(sex="F", birth_date=date(1931, 1, 1)),
            ["E11.9"],
            admit_date=date(2025, 5, 1 + n),
            discharge_date=date(2025, 5, 1 + n),
        )
    for n in range(2):
        coded(
            PatientFactory(sex="M", birth_date=date(1980, 1, 1)),
            ["E11.65"],
            admit_date=date(2025, 6, 1 + n),
            discharge_date=date(2025, 6, 1 + n),
        )
    return leaky


def export(
    client, report: str, purpose: str = "Diabetes prevalence for the quality committee", **params
):
    data = {"report": report, "purpose": purpose, **params}
    return client.post(reverse("audits:research_export"), data)


def rows_of(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


def assert_nothing_leaks(text: str) -> None:
    for leak in LEAKS:
        assert leak.lower() not in text.lower(), leak
    assert not re.search(r"\d{4}-\d{2}-\d{2}", text), "a full date"
    assert not re.search(r"\d{1,2}/\d{1,2}/\d{2,4}", text), "a full date"
    assert not re.search(r"\b(19|20)\d{2}-?(0[1-9]|1[0-2])\b", text), "a year and month"
    assert not re.search(r"\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\b", text)


@pytest.mark.parametrize("report", list(REPORTS))
def test_no_export_leaks_a_name_a_date_or_a_place(client, analyst, leaky_world, report):
    client.force_login(analyst)
    response = export(client, report, any="E11")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert_nothing_leaks(response.content.decode())


def test_the_dataset_gives_years_ages_90_plus_and_random_study_ids(client, analyst, leaky_world):
    client.force_login(analyst)
    rows = rows_of(export(client, "cohort_rows", any="E11"))
    header, data = rows[0], rows[1:]
    assert header == [
        "study_id",
        "year_of_service",
        "age",
        "age_band",
        "sex",
        "encounter_type",
        "diagnosis_codes",
        "procedure_codes",
        "ms_drg",
        "mdc",
    ]
    # 13 + 11 rows; the two men aged 45 are a group under 11 and are left out.
    assert len(data) == 24
    assert {r[1] for r in data} == {"2025"}
    ages = {r[2] for r in data}
    assert ages == {"74", "90+"}
    assert {r[3] for r in data} == {"65-74", "90+"}
    assert all(r[4] == "F" for r in data)
    zeb_row = next(r for r in data if r[7] == "G0008")
    assert zeb_row[6] == "E11.9 I50.32" and zeb_row[8:] == ["291", "05"]
    study_ids = [r[0] for r in data]
    assert len(set(study_ids)) == 24 and all(re.fullmatch(r"[0-9a-f]{16}", s) for s in study_ids)
    # A new export gives new study ids: two exports cannot be linked.
    again = {r[0] for r in rows_of(export(client, "cohort_rows", any="E11"))[1:]}
    assert again.isdisjoint(study_ids)
    log = ResearchExport.objects.filter(report="cohort_rows").first()
    assert (log.rows, log.suppressed_cells) == (24, 2)


def test_small_cells_are_shown_as_under_11(client, analyst, leaky_world):
    client.force_login(analyst)
    rows = rows_of(export(client, "cohort", any="E11"))
    tables = {}
    current = None
    for row in rows:
        if len(row) == 1:
            current = tables.setdefault(row[0], [])
        elif row:
            current.append(row)
    by_sex = {r[0]: r[1:] for r in tables["Cohort by sex"][1:]}
    # Women 24 encounters / 24 patients, men 2 / 2: the men are hidden and, because the total
    # (26) would give them away, so are the women (the smallest other non-zero cell).
    assert by_sex["Male"] == ["<11", "<11"]
    assert by_sex["Female"] == ["suppressed", "suppressed"]
    assert by_sex["Unknown"] == ["0", "0"]
    assert by_sex["all"] == ["26", "26"]
    by_type = {r[0]: r[1:] for r in tables["Cohort by encounter type"][1:]}
    assert by_type["Inpatient"][0] == "<11"  # Zebulon's stay, 1
    assert by_type["Outpatient"][0] == "suppressed"  # 25, hidden with it
    by_band = {r[0]: r[1] for r in tables["Cohort by age band"][1:]}
    assert by_band == {
        "0-17": "0",
        "18-44": "0",
        "45-64": "<11",  # the two men
        "65-74": "13",
        "75-89": "0",
        "90+": "suppressed",  # 11, the smallest other cell: hidden with the men
        "all": "26",
    }
    for table in tables.values():
        for row in table[1:]:
            for cell in row[1:]:
                assert cell in ("<11", "suppressed") or int(cell) == 0 or int(cell) >= 11


def test_complementary_suppression_hides_one_more_cell_or_the_total():
    table = di.Table(
        title="t",
        header=["sex", "n"],
        rows=[["F", 20], ["M", 3], ["U", 0]],
        count_columns=(1,),
        total=["all", 23],
        additive=(1,),
    ).suppress()
    assert [r[1] for r in table.rows] == ["suppressed", "<11", 0]
    assert table.total == ["all", 23]
    assert table.suppressed == 2
    only_zeros_left = di.Table(
        title="t",
        header=["sex", "n"],
        rows=[["F", 0], ["M", 3]],
        count_columns=(1,),
        total=["all", 3],
        additive=(1,),
    ).suppress()
    assert only_zeros_left.rows[1][1] == "<11" and only_zeros_left.total[1] == "<11"
    two_hidden = di.Table(
        title="t",
        header=["x", "n"],
        rows=[["a", 4], ["b", 5], ["c", 40]],
        count_columns=(1,),
        total=["all", 49],
        additive=(1,),
    ).suppress()
    assert [r[1] for r in two_hidden.rows] == ["<11", "<11", 40]  # two unknowns: no need


def test_values_that_are_not_codes_never_pass():
    assert di.safe_code("E11.9") == "E11.9"
    assert di.safe_code("Smith") == ""
    assert di.safe_code("BRADLEY", "icd10pcs") == ""
    assert di.safe_code("0DTJ4ZZ", "icd10pcs") == "0DTJ4ZZ"
    assert di.safe_code("SMITH", "hcpcs") == ""
    assert di.safe_code("99213", "cpt") == "99213"
    assert di.safe_drg("Smith") == "" and di.safe_drg("291") == "291"
    assert di.export_age(89) == "89" and di.export_age(90) == "90+" and di.export_age(104) == "90+"


def test_an_export_needs_a_purpose(client, analyst, leaky_world):
    client.force_login(analyst)
    response = export(client, "codes", purpose="   ")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert "Say what the export is for" in response.content.decode()
    assert not ResearchExport.objects.exists()
    assert not PhiAccess.objects.filter(action=PhiAccess.Action.EXPORT_DEIDENTIFIED).exists()


def test_each_export_is_logged_with_its_purpose(client, analyst, leaky_world):
    client.force_login(analyst)
    response = export(client, "codes", purpose="IRB 2025-17: diabetes burden", sex="F")
    assert response.status_code == 200
    log = ResearchExport.objects.get()
    assert (log.user, log.report, log.purpose) == (analyst, "codes", "IRB 2025-17: diabetes burden")
    assert log.filters["sex"] == "F"
    assert log.rows >= 1
    access = PhiAccess.objects.get(action=PhiAccess.Action.EXPORT_DEIDENTIFIED)
    assert access.user == analyst
    assert "IRB 2025-17: diabetes burden" in access.reason
    assert access.patient_id is None and access.encounter_id is None


def test_invalid_filters_never_export_everything(client, analyst, leaky_world):
    client.force_login(analyst)
    response = export(client, "codes", sex="X")
    assert response["Content-Type"].startswith("text/html")
    assert "Sex:" in response.content.decode()
    assert not ResearchExport.objects.exists()
