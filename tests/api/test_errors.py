"""Request-size refusals reach API clients as JSON, not Django's HTML error page."""

import json

import pytest

from tests.conftest import PASSWORD


@pytest.mark.django_db
def test_a_body_over_the_upload_limit_is_a_json_413(client, junior, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000
    client.login(username=junior.username, password=PASSWORD)
    body = {"encounter_type": "outpatient", "service_date": "2026-05-04", "diagnoses": []}
    body["note"] = "x" * 2_000
    response = client.post("/api/v1/edits/check", json.dumps(body), content_type="application/json")
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert "larger than the limit of 1,000 bytes" in response.json()["detail"]
