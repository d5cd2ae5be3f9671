"""`POST /api/v1/edits/check` and `manage.py edits check --json FILE`: same body, same edits."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

URL = "/api/v1/edits/check"
ENCOUNTER = {
    "encounter_type": "professional",
    "service_date": "2026-04-15",
    "patient": {"birth_date": "1970-02-01", "sex": "F"},
    "diagnoses": [{"code": "E10.9"}, {"code": "E11.9"}],
    "procedures": [{"system": "cpt", "code": "99213", "modifiers": ["LT", "RT"], "units": 1}],
}


def test_it_returns_the_edits_of_an_encounter(client, junior):
    client.login(username=junior.username, password=PASSWORD)
    response = client.post(URL, ENCOUNTER, content_type="application/json")
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["edits"]
    rules = {edit["rule"] for edit in body["edits"]}
    assert {"EXCLUDES1", "MODIFIER_CONFLICT"} <= rules
    for edit in body["edits"]:
        assert set(edit) == {"rule", "severity", "codes", "message", "reference"}


def test_it_rejects_an_unknown_field_with_its_name(client, junior):
    client.login(username=junior.username, password=PASSWORD)
    response = client.post(URL, {**ENCOUNTER, "payor": "x"}, content_type="application/json")
    assert response.status_code == 400
    assert "unknown field 'payor'" in json.dumps(response.json())


def test_it_rejects_malformed_json_clearly(client, junior):
    client.login(username=junior.username, password=PASSWORD)
    response = client.post(URL, "{not json", content_type="application/json")
    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]


def test_it_requires_the_code_encounters_capability(client, admin_user):
    client.login(username=admin_user.username, password=PASSWORD)
    assert client.post(URL, ENCOUNTER, content_type="application/json").status_code == 403


def test_it_requires_a_login(client):
    assert client.post(URL, ENCOUNTER, content_type="application/json").status_code in (401, 403)


def test_the_command_prints_the_same_edits(client, junior, tmp_path):
    path = tmp_path / "encounter.json"
    path.write_text(json.dumps(ENCOUNTER))
    out = StringIO()
    call_command("edits", "check", "--json", str(path), stdout=out)
    printed = json.loads(out.getvalue())
    client.login(username=junior.username, password=PASSWORD)
    served = client.post(URL, ENCOUNTER, content_type="application/json").json()
    assert printed == served


def test_the_command_names_a_bad_field(tmp_path):
    path = tmp_path / "encounter.json"
    path.write_text(json.dumps({**ENCOUNTER, "diagnoses": [{"code": "E11.9", "sequence": 1}]}))
    with pytest.raises(CommandError, match=r"diagnoses\[0\]: unknown field 'sequence'"):
        call_command("edits", "check", "--json", str(path))


def test_the_command_explains_a_file_that_is_not_json(tmp_path):
    path = tmp_path / "encounter.json"
    path.write_text("nope")
    with pytest.raises(CommandError, match="is not JSON"):
        call_command("edits", "check", "--json", str(path))
