"""User administration pages: every action writes its UserChange, the guards hold, links work."""

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import users
from accounts.models import Role, User, UserChange
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "plum-orchard-lantern-47"


@pytest.fixture
def admin_client(admin_user):
    """The admin's own browser; `client` stays free for the user being administered."""
    browser = Client()
    browser.login(username=admin_user.username, password=PASSWORD)
    return browser


def _last_change(user: User) -> UserChange:
    return UserChange.objects.filter(user=user).order_by("-pk").first()


def _link_in(text: str) -> str:
    return re.search(r"(/set-password/[^/\s]+/[^/\s]+/)", text).group(1)


def test_the_users_list_filters_by_role_status_and_words(admin_client, junior, senior):
    users.user_deactivate(actor=User.objects.get(username="adm"), user=senior)
    page = admin_client.get(reverse("accounts:users"))
    assert page.status_code == 200
    assert {"jun", "sen", "adm"} <= {u.username for u in page.context["page"].object_list}

    juniors = admin_client.get(reverse("accounts:users"), {"role": "junior"})
    assert [u.username for u in juniors.context["page"].object_list] == ["jun"]

    inactive = admin_client.get(reverse("accounts:users"), {"active": "inactive"})
    assert [u.username for u in inactive.context["page"].object_list] == ["sen"]

    found = admin_client.get(reverse("accounts:users"), {"q": "Junior"})
    assert [u.username for u in found.context["page"].object_list] == ["jun"]


def test_the_users_list_takes_a_fixed_number_of_queries(
    admin_client, junior, senior, django_assert_max_num_queries
):
    for n in range(15):
        users.user_admin_create(
            actor=User.objects.get(username="adm"),
            username=f"coder{n}",
            role=Role.JUNIOR,
            password=PASSWORD,
        )
    with django_assert_max_num_queries(10):
        admin_client.get(reverse("accounts:users"))


def test_an_admin_creates_a_user_with_an_initial_password(admin_client, admin_user, client):
    response = admin_client.post(
        reverse("accounts:user_new"),
        {
            "username": "newbie",
            "first_name": "Nia",
            "last_name": "New",
            "email": "nia@example.org",
            "role": Role.JUNIOR,
            "how": "password",
            "password": NEW_PASSWORD,
        },
    )
    user = User.objects.get(username="newbie")
    assert response.status_code == 302
    assert response.url == reverse("accounts:user_detail", args=[user.pk])
    change = _last_change(user)
    assert change.action == UserChange.Action.CREATED
    assert change.actor == admin_user
    assert change.detail["role"] == "Junior coder"
    assert client.login(username="newbie", password=NEW_PASSWORD)


def test_a_weak_initial_password_is_refused_and_nothing_is_saved(admin_client):
    response = admin_client.post(
        reverse("accounts:user_new"),
        {"username": "weak", "role": Role.JUNIOR, "how": "password", "password": "short"},
    )
    assert response.status_code == 200
    assert "too short" in response.content.decode()
    assert not User.objects.filter(username="weak").exists()


def test_an_invitation_mails_a_link_that_sets_the_password_once(admin_client, client):
    response = admin_client.post(
        reverse("accounts:user_new"),
        {
            "username": "invitee",
            "email": "invitee@example.org",
            "role": Role.INTERMEDIATE,
            "how": "invite",
        },
        follow=True,
    )
    user = User.objects.get(username="invitee")
    assert not user.has_usable_password()
    assert _last_change(user).action == UserChange.Action.INVITED
    assert _last_change(user).detail["emailed"] is True
    # Shown to the admin and mailed to the user: the same link.
    shown = _link_in(response.content.decode())
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["invitee@example.org"]
    assert _link_in(mail.outbox[0].body) == shown
    assert not client.login(username="invitee", password=NEW_PASSWORD)

    page = client.get(shown)
    assert page.status_code == 200 and page.context["valid"]
    done = client.post(shown, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302 and done.url == reverse("accounts:login")
    assert client.login(username="invitee", password=NEW_PASSWORD)
    client.logout()
    # The token covered the old (unusable) password: the link is spent.
    again = client.get(shown)
    assert again.context["valid"] is False
    assert "does not work any more" in again.content.decode()


def test_a_password_reset_locks_the_old_password_and_the_link_sets_a_new_one(
    admin_client, admin_user, junior, client
):
    assert client.login(username="jun", password=PASSWORD)  # signed in before: not "Invited"
    client.logout()
    response = admin_client.post(
        reverse("accounts:user_reset_password", args=[junior.pk]), follow=True
    )
    link = _link_in(response.content.decode())
    change = _last_change(junior)
    assert change.action == UserChange.Action.PASSWORD_RESET and change.actor == admin_user
    assert change.detail["from"] == "password set"
    assert not client.login(username="jun", password=PASSWORD)
    listed = admin_client.get(reverse("accounts:users"), {"q": "jun"})
    assert [u.status_label for u in listed.context["page"].object_list] == ["Password reset"]

    client.post(link, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert client.login(username="jun", password=NEW_PASSWORD)
    chosen = _last_change(junior)
    assert chosen.actor == junior and chosen.detail["to"] == "password chosen"


def test_a_forged_link_is_refused(client, junior):
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    uid = urlsafe_base64_encode(force_bytes(junior.pk))
    url = reverse("accounts:set_password", args=[uid, "abc-123"])
    assert client.get(url).context["valid"] is False
    client.post(url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert not client.login(username="jun", password=NEW_PASSWORD)


def test_changing_a_role_is_recorded_from_and_to(admin_client, admin_user, junior):
    response = admin_client.post(
        reverse("accounts:user_role", args=[junior.pk]), {"role": Role.SENIOR}
    )
    assert response.status_code == 302
    junior.refresh_from_db()
    assert junior.role == Role.SENIOR
    change = _last_change(junior)
    assert change.action == UserChange.Action.ROLE_CHANGED
    assert (change.detail["from"], change.detail["to"]) == ("Junior coder", "Senior coder")
    detail = admin_client.get(reverse("accounts:user_detail", args=[junior.pk]))
    assert "Junior coder → Senior coder" in detail.content.decode()


def test_only_an_admin_may_also_hold_a_coder_role(admin_client, junior):
    response = admin_client.post(
        reverse("accounts:user_role", args=[junior.pk]),
        {"role": Role.JUNIOR, "also_coder_role": Role.SENIOR},
    )
    assert response.status_code == 400
    assert "Only an admin can also hold a coder role" in response.content.decode()
    junior.refresh_from_db()
    assert junior.also_coder_role == ""


def test_changing_name_and_email_is_recorded(admin_client, junior):
    admin_client.post(
        reverse("accounts:user_details", args=[junior.pk]),
        {"first_name": "Joanna", "last_name": "Junior", "email": "jo@example.org"},
    )
    change = _last_change(junior)
    assert change.action == UserChange.Action.DETAILS_CHANGED
    assert change.detail["changes"]["first_name"] == {"from": "Jo", "to": "Joanna"}
    assert "last_name" not in change.detail["changes"]


def test_a_deactivated_user_cannot_sign_in_and_is_kept(admin_client, admin_user, junior, client):
    client.login(username="jun", password=PASSWORD)
    admin_client.post(
        reverse("accounts:user_deactivate", args=[junior.pk]), {"reason": "left the team"}
    )
    junior.refresh_from_db()
    assert junior.is_active is False
    change = _last_change(junior)
    assert change.action == UserChange.Action.DEACTIVATED
    assert change.detail == {"from": "active", "to": "inactive", "reason": "left the team"}
    # Their open session ends and they cannot sign in again.
    assert client.get(reverse("encounters:queue")).status_code == 302
    assert not client.login(username="jun", password=PASSWORD)
    response = client.post(reverse("accounts:login"), {"username": "jun", "password": PASSWORD})
    assert response.status_code == 200  # the form again, with its error

    admin_client.post(reverse("accounts:user_reactivate", args=[junior.pk]))
    assert _last_change(junior).action == UserChange.Action.REACTIVATED
    assert client.login(username="jun", password=PASSWORD)


def test_an_admin_cannot_deactivate_themselves(admin_client, admin_user):
    other = users.user_admin_create(
        actor=admin_user, username="adm2", role=Role.ADMIN, password=PASSWORD
    )[0]
    response = admin_client.post(
        reverse("accounts:user_deactivate", args=[admin_user.pk]), follow=True
    )
    assert "cannot deactivate your own account" in response.content.decode()
    admin_user.refresh_from_db()
    assert admin_user.is_active and other.is_active
    assert not UserChange.objects.filter(
        user=admin_user, action=UserChange.Action.DEACTIVATED
    ).exists()


def test_the_last_active_admin_can_be_neither_deactivated_nor_demoted(admin_user):
    second = users.user_admin_create(
        actor=admin_user, username="adm2", role=Role.ADMIN, password=PASSWORD
    )[0]
    users.user_deactivate(actor=second, user=admin_user)
    # `second` is now the only active admin; another admin account is inactive.
    third = users.user_admin_create(
        actor=second, username="adm3", role=Role.ADMIN, password=PASSWORD
    )[0]
    users.user_deactivate(actor=second, user=third)
    with pytest.raises(users.UserAdminError, match="last active admin"):
        users.user_role_change(actor=second, user=second, role=Role.SENIOR)
    with pytest.raises(users.UserAdminError):
        users.user_deactivate(actor=third, user=second)
    second.refresh_from_db()
    assert second.is_active and second.role == Role.ADMIN


def test_the_last_admin_guard_shows_on_the_page(admin_client, admin_user):
    response = admin_client.post(
        reverse("accounts:user_role", args=[admin_user.pk]), {"role": Role.SENIOR}
    )
    assert response.status_code == 400
    assert "last active admin" in response.content.decode()
    admin_user.refresh_from_db()
    assert admin_user.role == Role.ADMIN


def test_resetting_mfa_deletes_the_users_totp_devices(admin_client, admin_user, junior):
    TOTPDevice.objects.create(user=junior, name="Phone", confirmed=True)
    TOTPDevice.objects.create(user=junior, name="Old phone", confirmed=False)
    keep = TOTPDevice.objects.create(user=admin_user, name="Admin's phone")
    response = admin_client.post(reverse("accounts:user_reset_mfa", args=[junior.pk]), follow=True)
    assert "2 MFA devices removed" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=junior).exists()
    assert TOTPDevice.objects.filter(pk=keep.pk).exists()
    change = _last_change(junior)
    assert change.action == UserChange.Action.MFA_RESET
    assert change.detail["from"] == "2 devices" and change.detail["to"] == "none"


def test_the_detail_page_shows_the_history(admin_client, admin_user, junior):
    users.user_role_change(actor=admin_user, user=junior, role=Role.INTERMEDIATE)
    users.user_mfa_reset(actor=admin_user, user=junior)
    page = admin_client.get(reverse("accounts:user_detail", args=[junior.pk]))
    actions = [c.action for c in page.context["changes"]]
    assert actions == [UserChange.Action.MFA_RESET, UserChange.Action.ROLE_CHANGED]
    text = page.content.decode()
    assert "Role changed" in text and "MFA reset" in text and "Ada Admin" in text


@pytest.mark.parametrize("role", [Role.JUNIOR, Role.INTERMEDIATE, Role.SENIOR])
def test_only_admins_reach_the_users_pages(client, personas, role, junior):
    client.login(username=personas[role].username, password=PASSWORD)
    assert client.get(reverse("accounts:users")).status_code == 403
    assert client.get(reverse("accounts:user_detail", args=[junior.pk])).status_code == 403
    assert client.post(reverse("accounts:user_deactivate", args=[junior.pk])).status_code == 403
    assert client.post(reverse("accounts:user_reset_mfa", args=[junior.pk])).status_code == 403
    junior.refresh_from_db()
    assert junior.is_active
    assert not UserChange.objects.exists()


def test_anonymous_visitors_are_sent_to_sign_in(client, junior):
    response = client.get(reverse("accounts:user_detail", args=[junior.pk]))
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:login"))


def test_the_admin_home_summarises_users_and_links_the_pages(admin_client, junior):
    page = admin_client.get(reverse("accounts:admin_home"))
    assert page.status_code == 200
    assert page.context["user_summary"]["active"] >= 2
    text = page.content.decode()
    assert reverse("accounts:users") in text
    assert reverse("codesets:release_upload") in text


def test_every_users_page_needs_manage_users_and_the_link_page_is_public():
    from accounts import user_urls
    from accounts.permissions import Capability

    capabilities = {p.name: p.callback.required_capability for p in user_urls.urlpatterns}
    assert capabilities.pop("set_password") is None
    assert set(capabilities.values()) == {Capability.MANAGE_USERS}


@pytest.mark.parametrize(
    "name", ["user_role", "user_deactivate", "user_reactivate", "user_reset_password"]
)
def test_changes_are_post_only(admin_client, junior, name):
    response = admin_client.get(reverse(f"accounts:{name}", args=[junior.pk]))
    assert response.status_code == 405
    assert not UserChange.objects.filter(user=junior).exists()


def test_a_mail_server_that_is_down_still_leaves_the_admin_the_link(admin_user, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens there
    user, link = users.user_admin_create(
        actor=admin_user, username="offline", email="off@example.org", role=Role.JUNIOR
    )
    assert link.path.startswith("/set-password/") and link.emailed is False
    assert _last_change(user).detail["emailed"] is False
