"""Walks every URL of the app as anonymous and as each role, and checks allow/deny.

A new URL fails this test until it declares its capability (or is marked public) and, if it
takes arguments, until SAMPLE_KWARGS can fill them. That is the point: it grows with the app.
"""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts.models import Role
from accounts.permissions import has_capability
from tests.conftest import PASSWORD

# URLs that are not ours to check here, with the reason.
SKIPPED_PREFIXES = {
    "django-admin/": "Django's admin site has its own staff check",
    "api/schema/": "OpenAPI schema, tested in tests/codesets/test_api.py",
    "api/docs/": "API docs page, tested in tests/codesets/test_api.py",
    "static/": "static files",
}

SAMPLE_KWARGS = {
    "system": "icd10cm",
    "code": "E11.9",
    "old_id": None,  # filled with real release ids at run time
    "new_id": None,
    "pk": None,  # an encounter in the unassigned pool, made per test
    "document_pk": None,  # its document, with an uploaded original
    "user_id": None,  # a user, for the user administration pages
    "release_id": None,  # the newest ICD-10-CM release
    "uidb64": "MQ",  # a set-password link: refused as invalid, which is the point for a GET
    "token": "x-y",
}


def _walk(resolver: URLResolver, prefix: str = "", namespace: str = ""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _walk(entry, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), namespace, entry


def app_urls():
    for route, namespace, pattern in _walk(get_resolver()):
        if any(route.startswith(p) for p in SKIPPED_PREFIXES):
            continue
        yield route, namespace, pattern


def _view_capability(pattern: URLPattern):
    view = pattern.callback
    if hasattr(view, "required_capability"):
        return view.required_capability
    view_class = getattr(view, "view_class", None) or getattr(view, "cls", None)
    if view_class is not None and hasattr(view_class, "required_capability"):
        return view_class.required_capability
    raise AssertionError(f"{pattern.name or pattern} declares no capability")


def test_every_url_declares_a_capability():
    missing = []
    for route, _ns, pattern in app_urls():
        try:
            _view_capability(pattern)
        except AssertionError:
            missing.append(route)
    assert missing == []


def _url_for(namespace: str, pattern: URLPattern, kwargs_sample: dict) -> str:
    names = pattern.pattern.converters.keys() if hasattr(pattern.pattern, "converters") else []
    kwargs = {name: kwargs_sample[name] for name in names}
    return reverse(f"{namespace}{pattern.name}", kwargs=kwargs)


@pytest.fixture
def kwargs_sample(db, settings, tmp_path):
    from django.core.files.base import ContentFile

    from codesets.models import Release
    from tests.factories import DocumentFactory

    releases = list(Release.objects.filter(system__slug="icd10cm").order_by("effective_from"))
    settings.MEDIA_ROOT = tmp_path
    document = DocumentFactory()  # its encounter is ready and unassigned: every coder sees it
    document.original_file.save("note.txt", ContentFile(b"Progress note."), save=False)
    document.original_content_type = "text/plain"
    document.save()
    return {
        **SAMPLE_KWARGS,
        "old_id": releases[0].pk,
        "new_id": releases[-1].pk,
        "pk": document.encounter_id,
        "document_pk": document.pk,
        "user_id": _any_user().pk,
        "release_id": releases[-1].pk,
    }


def _any_user():
    from accounts.services import user_create

    return user_create(username="sample-user", password=PASSWORD, role=Role.JUNIOR)


@pytest.mark.django_db
def test_anonymous_users_are_sent_to_sign_in_or_refused(client, kwargs_sample):
    for _route, namespace, pattern in app_urls():
        capability = _view_capability(pattern)
        url = _url_for(namespace, pattern, kwargs_sample)
        response = client.get(url)
        if capability is None:
            assert response.status_code in (200, 302, 405), url
        elif url.startswith("/api/"):
            assert response.status_code in (401, 403), url
        else:
            assert response.status_code == 302, url
            assert response.url.startswith(reverse("accounts:login")), url


@pytest.mark.django_db
@pytest.mark.parametrize("role", [r.value for r in Role])
def test_each_role_reaches_exactly_what_its_capabilities_allow(
    client, personas, role, kwargs_sample
):
    user = personas[role]
    client.login(username=user.username, password=PASSWORD)
    for _route, namespace, pattern in app_urls():
        capability = _view_capability(pattern)
        url = _url_for(namespace, pattern, kwargs_sample)
        response = client.get(url)
        if capability is None or capability == "signed_in":
            assert response.status_code in (200, 302, 405), url
        elif has_capability(user, capability):
            # Allowed: the view ran (an API may still say 400 for missing parameters; a
            # POST-only action answers a GET with 405 once the capability check has passed).
            assert response.status_code in (200, 302, 400, 405), (url, response.status_code)
            if response.status_code == 405:
                assert "POST" in response["Allow"], url
        else:
            assert response.status_code == 403, (url, response.status_code)


@pytest.mark.django_db
def test_an_admin_who_also_codes_gets_both_sets_of_pages(client, kwargs_sample):
    from accounts.services import user_create

    user = user_create(
        username="both", password=PASSWORD, role=Role.ADMIN, also_coder_role=Role.JUNIOR
    )
    client.login(username="both", password=PASSWORD)
    assert client.get(reverse("accounts:admin_home")).status_code == 200
    assert client.get(reverse("encounters:queue")).status_code == 200
    assert client.get(reverse("encounters:complex")).status_code == 403
    assert user.role_label == "Admin + junior coder"
