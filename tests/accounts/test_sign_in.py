import pytest
from django.urls import reverse

from accounts.models import Role
from tests.conftest import PASSWORD

HOMES = {
    Role.JUNIOR: "/encounters/queue/",
    Role.INTERMEDIATE: "/encounters/complex/",
    Role.SENIOR: "/audits/",
    Role.ADMIN: "/administration/",
}


@pytest.mark.django_db
@pytest.mark.parametrize("role", [r.value for r in Role])
def test_each_role_lands_on_its_own_home_page(client, personas, role):
    user = personas[role]
    response = client.post(
        reverse("accounts:login"), {"username": user.username, "password": PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0] == HOMES[role]
    assert response.status_code == 200


@pytest.mark.django_db
def test_navigation_shows_only_what_the_role_may_use(client, junior, admin_user):
    client.login(username=junior.username, password=PASSWORD)
    page = client.get(reverse("encounters:queue")).content.decode()
    assert "My queue" in page and "Audit &amp; QA" not in page and "Administration" not in page

    client.login(username=admin_user.username, password=PASSWORD)
    page = client.get(reverse("accounts:admin_home")).content.decode()
    assert "Administration" in page and "My queue" not in page


@pytest.mark.django_db
def test_a_wrong_password_is_refused_with_a_message(client, junior):
    response = client.post(
        reverse("accounts:login"), {"username": junior.username, "password": "nope"}
    )
    assert response.status_code == 200
    assert "enter a correct username and password" in response.content.decode()


@pytest.mark.django_db
def test_sign_out_ends_the_session(client, junior):
    client.login(username=junior.username, password=PASSWORD)
    client.post(reverse("accounts:logout"))
    response = client.get(reverse("encounters:queue"))
    assert response.status_code == 302
