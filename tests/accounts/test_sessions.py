"""Automatic sign-out after SESSION_IDLE_MINUTES without activity."""

import time

import pytest
from django.urls import reverse

from accounts.middleware import LAST_ACTIVITY_KEY

pytestmark = pytest.mark.django_db


def _age_session(client, seconds: float) -> None:
    session = client.session
    session[LAST_ACTIVITY_KEY] = time.time() - seconds
    session.save()


def test_an_idle_session_is_signed_out_and_told_why(client, junior, settings):
    settings.SESSION_IDLE_MINUTES = 15
    client.force_login(junior)
    assert client.get(reverse("encounters:queue")).status_code == 200
    _age_session(client, 16 * 60)

    response = client.get(reverse("encounters:queue"), follow=True)
    first = response.redirect_chain[0][0]
    assert first.startswith(reverse("accounts:login")) and "timed_out=1" in first
    assert "You were signed out after 15 minutes without activity" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("encounters:queue")).status_code == 302


def test_activity_keeps_the_session_alive(client, junior, settings):
    settings.SESSION_IDLE_MINUTES = 15
    client.force_login(junior)
    client.get(reverse("encounters:queue"))
    _age_session(client, 14 * 60)
    assert client.get(reverse("encounters:queue")).status_code == 200
    # That request counted as activity: the clock starts again.
    assert time.time() - client.session[LAST_ACTIVITY_KEY] < 60


def test_an_htmx_request_after_the_timeout_redirects_the_page(client, junior, settings):
    settings.SESSION_IDLE_MINUTES = 5
    client.force_login(junior)
    client.get(reverse("encounters:queue"))
    _age_session(client, 6 * 60)
    response = client.get(reverse("encounters:queue"), HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"] == reverse("accounts:login") + "?timed_out=1"
