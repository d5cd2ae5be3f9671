"""Token auth for integrations, and the same capability checks as the pages."""

import pytest
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import Role
from accounts.services import user_create
from encounters.models import Encounter
from tests.factories import EncounterFactory

pytestmark = pytest.mark.django_db


# Session authentication comes first, so DRF answers a missing or bad token with 403 (there is
# no WWW-Authenticate challenge to send with a 401) and a message saying which.
REFUSED = 403


def _refused(response, words: str) -> bool:
    return response.status_code == REFUSED and words in response.json()["detail"]


def _client(key: str | None) -> APIClient:
    client = APIClient()
    if key:
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_apitoken_create_prints_a_working_token_and_revoke_stops_it(junior, capsys):
    call_command("apitoken", "create", "jun")
    key = capsys.readouterr().out.strip()
    assert Token.objects.get(user=junior).key == key
    assert _client(key).get("/api/v1/encounters").status_code == 200
    # A new token replaces the old one at once.
    call_command("apitoken", "create", "jun")
    newer = capsys.readouterr().out.strip()
    assert _refused(_client(key).get("/api/v1/encounters"), "Invalid token")
    assert _client(newer).get("/api/v1/encounters").status_code == 200
    call_command("apitoken", "revoke", "jun")
    assert _refused(_client(newer).get("/api/v1/encounters"), "Invalid token")
    with pytest.raises(CommandError, match="no API token"):
        call_command("apitoken", "revoke", "jun")
    with pytest.raises(CommandError, match="No user named"):
        call_command("apitoken", "create", "nobody")


def test_without_credentials_the_api_refuses_in_json_not_with_a_sign_in_page():
    assert _refused(_client(None).get("/api/v1/encounters"), "credentials were not provided")


def test_session_auth_works_too(junior, client):
    client.force_login(junior)
    assert client.get("/api/v1/encounters").status_code == 200


def test_a_junior_cannot_reach_audits_or_release_admin(junior, api_for):
    api = api_for(junior)
    assert api.get("/api/v1/audits/plans").status_code == 403
    assert api.post("/api/v1/releases/1/activate").status_code == 403
    assert api.get("/api/v1/releases").status_code == 200  # as the releases page


def test_an_admin_without_a_coder_role_reads_no_charts(admin_user, api_for):
    encounter = EncounterFactory(status=Encounter.Status.READY)
    api = api_for(admin_user)
    assert api.get(f"/api/v1/encounters/{encounter.pk}").status_code == 403
    assert api.get("/api/v1/patients").status_code == 403
    assert api.get("/api/v1/encounters").status_code == 403
    assert api.get("/api/v1/releases").status_code == 200


def test_an_admin_who_is_also_a_coder_reads_charts_in_their_work(db, api_for):
    both = user_create(
        username="both", password="x" * 20, role=Role.ADMIN, also_coder_role=Role.JUNIOR
    )
    encounter = EncounterFactory(status=Encounter.Status.CODING, assignee=both)
    assert api_for(both).get(f"/api/v1/encounters/{encounter.pk}").status_code == 200


def test_a_deactivated_users_token_stops_working(junior, api_for):
    api = api_for(junior)
    junior.is_active = False
    junior.save(update_fields=["is_active"])
    assert _refused(api.get("/api/v1/encounters"), "inactive or deleted")
