"""Bulletins: seniors publish to roles or people, coders see them unread on their home page,
open and acknowledge them once, seniors see who has not."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Role
from accounts.services import user_create
from audits import bulletins
from audits.models import Bulletin, BulletinAcknowledgement
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def junior2(db):
    return user_create(
        username="jun2", password=PASSWORD, role=Role.JUNIOR, first_name="Jay", last_name="Second"
    )


def _publish(senior, **kwargs):
    values = {
        "title": "Sepsis: code the systemic infection first",
        "kind": Bulletin.Kind.GUIDELINE,
        "body": "When sepsis is present on admission, sequence it first.",
        "audience_roles": [Role.JUNIOR],
    }
    return bulletins.bulletin_publish(by=senior, **{**values, **kwargs})


def _signed_in(client, user):
    client.force_login(user)
    return client


def test_a_bulletin_to_juniors_reaches_every_junior_and_nobody_else(
    senior, junior, junior2, intermediate
):
    bulletin = _publish(senior)
    assert list(bulletins.bulletins_for(user=junior)) == [bulletin]
    assert list(bulletins.bulletins_for(user=junior2)) == [bulletin]
    assert list(bulletins.bulletins_for(user=intermediate)) == []
    assert list(bulletins.bulletins_for(user=senior)) == []


def test_a_bulletin_to_named_people_reaches_only_them(senior, junior, junior2, intermediate):
    bulletin = _publish(senior, audience_roles=[], recipients=[junior2, intermediate])
    assert list(bulletins.bulletins_for(user=junior)) == []
    assert list(bulletins.bulletins_for(user=junior2)) == [bulletin]
    assert list(bulletins.bulletins_for(user=intermediate)) == [bulletin]


def test_an_admin_reads_bulletins_only_through_a_coder_role(senior, admin_user):
    both = user_create(
        username="both", password=PASSWORD, role=Role.ADMIN, also_coder_role=Role.JUNIOR
    )
    bulletin = _publish(senior)
    assert list(bulletins.bulletins_for(user=both)) == [bulletin]
    assert list(bulletins.bulletins_for(user=admin_user)) == []
    assert admin_user not in bulletins.readers()


def test_only_seniors_publish_and_only_to_coders(junior, intermediate, senior, admin_user):
    with pytest.raises(PermissionDenied):
        _publish(intermediate)
    with pytest.raises(ValidationError) as refused:
        _publish(senior, audience_roles=[Role.ADMIN], recipients=[admin_user])
    assert set(refused.value.message_dict) == {"audience_roles", "recipients"}
    with pytest.raises(ValidationError, match="at least one role or person"):
        _publish(senior, audience_roles=[])
    assert not Bulletin.objects.exists()


def test_unread_comes_first_then_newest(senior, junior):
    first = _publish(senior, title="First")
    second = _publish(senior, title="Second")
    third = _publish(senior, title="Third")
    bulletins.bulletin_acknowledge(bulletin=third, user=junior)
    rows = list(bulletins.bulletins_for(user=junior))
    assert rows == [second, first, third]
    assert [r.is_unread for r in rows] == [True, True, False]
    assert rows[2].acknowledged_at is not None


def test_acknowledging_twice_records_it_once(client, senior, junior):
    bulletin = _publish(senior)
    _signed_in(client, junior)
    url = reverse("audits:bulletin_acknowledge", args=[bulletin.pk])
    first = client.post(url, follow=True)
    second = client.post(url, follow=True)
    assert BulletinAcknowledgement.objects.filter(bulletin=bulletin, user=junior).count() == 1
    assert "Acknowledged: Sepsis" in first.content.decode()
    assert "Already acknowledged" in second.content.decode()
    page = client.get(reverse("audits:bulletin_detail", args=[bulletin.pk])).content.decode()
    assert "data-acknowledged" in page
    assert 'name="csrfmiddlewaretoken"' not in page.split('id="acknowledge"')[1]


def test_the_acknowledge_button_has_the_focus(client, senior, junior):
    bulletin = _publish(senior, requires_acknowledgement=False)
    page = _signed_in(client, junior).get(reverse("audits:bulletin_detail", args=[bulletin.pk]))
    html = page.content.decode()
    assert "autofocus" in html and "Mark as read" in html


def test_someone_outside_the_audience_can_neither_open_nor_acknowledge(
    client, senior, junior, junior2
):
    bulletin = _publish(senior, audience_roles=[], recipients=[junior])
    _signed_in(client, junior2)
    assert client.get(reverse("audits:bulletin_detail", args=[bulletin.pk])).status_code == 404
    response = client.post(reverse("audits:bulletin_acknowledge", args=[bulletin.pk]))
    assert response.status_code == 404
    assert not BulletinAcknowledgement.objects.exists()


def test_a_withdrawn_bulletin_leaves_every_list(client, senior, junior):
    bulletin = _publish(senior)
    _signed_in(client, senior)
    client.post(reverse("audits:bulletin_withdraw", args=[bulletin.pk]))
    bulletin.refresh_from_db()
    assert bulletin.withdrawn_at is not None
    assert list(bulletins.bulletins_for(user=junior)) == []
    assert bulletins.unread_for(user=junior).count == 0
    _signed_in(client, junior)
    assert client.get(reverse("audits:bulletin_detail", args=[bulletin.pk])).status_code == 404
    with pytest.raises(ValidationError, match="withdrawn"):
        bulletins.bulletin_acknowledge(bulletin=bulletin, user=junior)


def test_html_in_a_bulletin_is_shown_as_text(client, senior, junior):
    bulletin = _publish(
        senior,
        body="Use **E11.9** only when:\n\n- no complication is documented\n- `E11.A` does not "
        'apply\n\n<script>alert("x")</script> <img src=x onerror=alert(1)>',
    )
    html = _signed_in(client, junior).get(reverse("audits:bulletin_detail", args=[bulletin.pk]))
    body = html.content.decode()
    assert "<strong>E11.9</strong>" in body
    assert "<li>no complication is documented</li>" in body
    assert "<code>E11.A</code>" in body
    assert "<script>alert" not in body and "<img src=x" not in body
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in body


def test_the_publish_form_keeps_what_was_typed_when_refused(client, senior):
    _signed_in(client, senior)
    response = client.post(
        reverse("audits:bulletin_new"),
        {"title": "Modifier 25 for Aetna", "kind": "payer_policy", "body": "A separate note."},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Choose at least one role or person" in html
    assert 'value="Modifier 25 for Aetna"' in html and "A separate note." in html
    assert not Bulletin.objects.exists()


def test_the_publish_form_sends_to_roles_and_people(client, senior, junior2, intermediate):
    _signed_in(client, senior)
    response = client.post(
        reverse("audits:bulletin_new"),
        {
            "title": "Modifier 25 for Aetna",
            "kind": "payer_policy",
            "body": "A separate note.",
            "audience_roles": ["intermediate"],
            "recipients": [junior2.pk],
        },
    )
    bulletin = Bulletin.objects.get()
    assert response.url == reverse("audits:bulletin_detail", args=[bulletin.pk])
    assert bulletin.audience_roles == ["intermediate"]
    assert list(bulletin.recipients.all()) == [junior2]
    assert bulletin.published_by == senior
    assert bulletins.requires_acknowledgement(bulletin) is False  # the box was not ticked


def test_the_senior_sees_who_has_not_acknowledged(client, senior, junior, junior2):
    bulletin = _publish(senior)
    bulletins.bulletin_acknowledge(bulletin=bulletin, user=junior)
    members = bulletins.bulletin_audience(bulletin=bulletin)
    assert [(m.user, m.acknowledged_at is not None) for m in members] == [
        (junior2, False),
        (junior, True),
    ]
    assert members[0].days_outstanding == 0
    html = _signed_in(client, senior).get(reverse("audits:bulletin_detail", args=[bulletin.pk]))
    page = html.content.decode()
    assert "1 of 2 acknowledged" in page
    assert 'data-member="jun2" data-state="outstanding"' in page
    assert 'data-member="jun" data-state="acknowledged"' in page
    listing = client.get(reverse("audits:bulletins_published")).content.decode()
    assert bulletin.title in listing


def test_the_published_list_costs_the_same_queries_for_more_bulletins(
    client, senior, junior, junior2, django_assert_max_num_queries
):
    _signed_in(client, senior)
    _publish(senior)
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("audits:bulletins_published"))
    for n in range(5):
        bulletin = _publish(senior, title=f"More {n}", recipients=[junior2])
        bulletins.bulletin_acknowledge(bulletin=bulletin, user=junior)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("audits:bulletins_published"))
    assert response.content.decode().count("data-bulletin=") == 6


def test_coders_see_unread_bulletins_on_their_home_page(
    client, senior, junior, intermediate, admin_user
):
    bulletin = _publish(
        senior, audience_roles=[Role.JUNIOR, Role.INTERMEDIATE, Role.SENIOR], title="Read me"
    )
    for user, home in (
        (junior, "encounters:queue"),
        (intermediate, "encounters:complex"),
        (senior, "audits:home"),
    ):
        page = _signed_in(client, user).get(reverse(home)).content.decode()
        assert 'data-unread-bulletins="1"' in page, user
        assert "Read me" in page
    bulletins.bulletin_acknowledge(bulletin=bulletin, user=junior)
    page = _signed_in(client, junior).get(reverse("encounters:queue")).content.decode()
    assert "data-unread-bulletins" not in page
    admin_page = _signed_in(client, admin_user).get(reverse("accounts:admin_home"))
    assert "data-unread-bulletins" not in admin_page.content.decode()


def test_the_home_page_notice_is_one_query_and_only_on_the_home_page(client, senior, junior):
    _signed_in(client, junior)
    for n in range(4):
        _publish(senior, title=f"Bulletin {n}")
    _publish(senior, title="For information", requires_acknowledgement=False)

    def bulletin_queries(url: str) -> list[str]:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return [q["sql"] for q in ctx.captured_queries if "audits_bulletin" in q["sql"]]

    assert len(bulletin_queries(reverse("encounters:queue"))) == 1
    assert bulletin_queries(reverse("encounters:feedback")) == []
    page = client.get(reverse("encounters:queue")).content.decode()
    assert 'data-unread-bulletins="5"' in page
    assert "5 unread bulletins" in page and "(4 to acknowledge)" in page
