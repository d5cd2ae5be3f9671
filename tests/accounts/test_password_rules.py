"""Password rules (Django's validators in settings): length, not common, not numeric, not like
the user; the admin's create form and the set-password page say which rule failed."""

import re

import pytest
from django.urls import reverse

from accounts import users
from accounts.models import Role, User

pytestmark = pytest.mark.django_db

WEAK = [
    ("Tr0ub4dor&3", "too short"),
    ("password1234", "too common"),
    ("384920175638", "entirely numeric"),
    ("margaretsmith1", "too similar"),
]


@pytest.mark.parametrize(("password", "message"), WEAK)
def test_the_create_form_names_the_rule(admin_client, password, message):
    response = admin_client.post(
        reverse("accounts:user_new"),
        {
            "username": "margaretsmith",
            "first_name": "Margaret",
            "last_name": "Smith",
            "role": Role.JUNIOR,
            "how": "password",
            "password": password,
        },
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not User.objects.filter(username="margaretsmith").exists()


def test_the_set_password_page_names_the_rule(admin_user, junior, client):
    link = users.user_password_reset(actor=admin_user, user=junior)
    url = re.search(r"/set-password/[^\s\"']+", link.path).group(0)
    response = client.post(url, {"new_password1": "short1", "new_password2": "short1"})
    assert response.status_code == 200
    assert "too short" in response.content.decode()
