"""Lockout after repeated failed sign-ins (django-axes), per user name and per address."""

import re

import pytest
from django.urls import reverse

from accounts.models import UserChange
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def axes_on(settings):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 5


def _attempt(client, username, password, address="10.0.0.1"):
    return client.post(
        reverse("accounts:login"),
        {"username": username, "password": password},
        REMOTE_ADDR=address,
    )


def test_five_wrong_passwords_lock_the_user_with_a_plain_message(client, junior, axes_on):
    for _ in range(4):
        response = _attempt(client, junior.username, "wrong-password")
        assert response.status_code == 200
        assert "enter a correct username and password" in response.content.decode()
    locked = _attempt(client, junior.username, "wrong-password")
    assert locked.status_code == 429
    page = locked.content.decode()
    assert "Sign-in is locked for now" in page and "Try again in 15 minutes" in page
    # The right password does not get in while locked, from another address too.
    again = _attempt(client, junior.username, PASSWORD, address="10.0.0.99")
    assert again.status_code == 429
    assert "_auth_user_id" not in client.session


def test_one_address_trying_many_user_names_is_locked(client, junior, intermediate, axes_on):
    for n in range(5):
        _attempt(client, f"nobody-{n}", "wrong-password", address="10.9.9.9")
    # Even a real user with the right password is refused from that address...
    assert _attempt(client, junior.username, PASSWORD, address="10.9.9.9").status_code == 429
    # ...but can sign in from elsewhere.
    ok = _attempt(client, intermediate.username, PASSWORD, address="10.1.1.1")
    assert ok.status_code == 302


def test_an_admin_unlocks_a_locked_user(client, junior, admin_user, axes_on):
    for _ in range(5):
        _attempt(client, junior.username, "wrong-password")
    assert _attempt(client, junior.username, PASSWORD, address="10.2.2.2").status_code == 429

    admin = type(client)()
    admin.force_login(admin_user)
    detail = admin.get(reverse("accounts:user_detail", args=[junior.pk])).content.decode()
    failures = re.search(r"(\d+) failed sign-ins", detail)
    assert failures and int(failures.group(1)) >= 5 and "Unlock sign-in" in detail
    response = admin.post(reverse("accounts:user_unlock", args=[junior.pk]), follow=True)
    assert "can sign in again" in response.content.decode()
    change = UserChange.objects.get(user=junior, action=UserChange.Action.DETAILS_CHANGED)
    assert change.detail["unlocked"] is True and change.actor == admin_user

    assert _attempt(client, junior.username, PASSWORD, address="10.2.2.2").status_code == 302


def test_a_success_before_the_limit_clears_the_count(client, junior, axes_on):
    for _ in range(4):
        _attempt(client, junior.username, "wrong-password")
    assert _attempt(client, junior.username, PASSWORD).status_code == 302
    client.post(reverse("accounts:logout"))
    for _ in range(4):
        assert _attempt(client, junior.username, "wrong-password").status_code == 200
