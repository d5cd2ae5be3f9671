import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_code_search_returns_the_documented_shape(client, junior):
    client.login(username=junior.username, password=PASSWORD)
    response = client.get("/api/v1/codes/search", {"system": "icd10cm", "q": "e114", "limit": 5})
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["results"]
    assert len(body["results"]) == 5
    assert body["results"][0] == {
        "system": "icd10cm",
        "code": "E11.4",
        "description": "Type 2 diabetes mellitus with neurological complications",
        "billable": False,
    }


def test_code_search_honours_the_date_of_service(client, junior):
    client.login(username=junior.username, password=PASSWORD)
    response = client.get(
        "/api/v1/codes/search", {"system": "icd10cm", "q": "E11.9", "date": "1990-01-01"}
    )
    assert response.status_code == 400
    assert "No icd10cm release is in force" in response.json()["date"][0]


def test_code_search_rejects_bad_parameters_with_reasons(client, junior):
    client.login(username=junior.username, password=PASSWORD)
    response = client.get("/api/v1/codes/search", {"system": "nope", "q": "x", "limit": 0})
    assert response.status_code == 400
    assert set(response.json()) == {"system", "limit"}


def test_token_auth_works_for_integrations(client, junior):
    token = Token.objects.create(user=junior)
    response = client.get(
        "/api/v1/codes/search",
        {"q": "copd"},
        HTTP_AUTHORIZATION=f"Token {token.key}",
    )
    assert response.status_code == 200
    assert response.json()["results"]


def test_anonymous_api_calls_are_refused(client):
    assert client.get("/api/v1/codes/search", {"q": "copd"}).status_code in (401, 403)


def test_code_detail_has_notes_hierarchy_and_history(client, junior):
    client.login(username=junior.username, password=PASSWORD)
    detail = client.get("/api/v1/codes/icd10cm/E11.40").json()
    assert detail["code"] == "E11.40"
    assert detail["billable"] is True
    assert [a["code"] for a in detail["ancestors"]][-2:] == ["E11", "E11.4"]
    excludes1 = [n for n in detail["notes"] if n["kind"] == "excludes1" and n["at"] == "E11"]
    assert any(ref["first"] == "E10" for note in excludes1 for ref in note["references"]), excludes1
    history = {h["release"]: h for h in detail["history"]}
    assert history["ICD-10-CM FY2025"]["present"] is True
    assert history["ICD-10-CM FY2026 April update"]["present"] is True


def test_code_detail_without_dot_and_seventh_character(client, junior):
    client.login(username=junior.username, password=PASSWORD)
    detail = client.get("/api/v1/codes/icd10cm/S52501A").json()
    assert detail["code"] == "S52.501A"
    assert detail["seventh_characters_defined_at"] == "S52"
    assert {"character": "A", "meaning": "initial encounter for closed fracture"} in detail[
        "seventh_characters"
    ]


def test_pcs_detail_explains_each_axis(client, junior):
    client.login(username=junior.username, password=PASSWORD)
    detail = client.get("/api/v1/codes/icd10pcs/0DTJ4ZZ").json()
    labels = [(a["axis"], a["label"]) for a in detail["pcs_axes"]]
    assert labels[2] == ("Root Operation", "Resection")
    assert labels[3] == ("Body Part", "Appendix")
    assert detail["pcs_axes"][2]["definition"].startswith("Cutting out or off")


def test_unknown_code_is_404(client, junior):
    client.login(username=junior.username, password=PASSWORD)
    assert client.get("/api/v1/codes/icd10cm/ZZZ99").status_code == 404
    assert client.get("/api/v1/codes/nosuch/E11").status_code == 404


def test_openapi_schema_and_docs_are_served(client, junior):
    schema = client.get(reverse("api-schema"))
    assert schema.status_code == 200
    assert b"/api/v1/codes/search" in schema.content
    docs = client.get(reverse("api-docs"))
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower()
