"""Walks every URL of the app, pages and API endpoints alike, as anonymous, as each role and as
an outsider (a coder whose work does not include the chart), and checks allow/deny.

A new URL fails this test until it declares its capability (or is marked public) and, if it
takes arguments, until SAMPLE_KWARGS can fill them. That is the point: it grows with the app.
An API view may choose its capability per method (get_permissions); the walk asks it for GET.
"""

from types import SimpleNamespace

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView

from accounts.models import Role
from accounts.permissions import HasCapability, has_capability
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
    "document_id": None,  # the sample encounter's document (API)
    "diagnosis_id": None,  # a diagnosis on the sample encounter (API)
    # Ids of things the sample does not make: an allowed user may get 404 for these, never 200
    # for someone else's data; a refused one gets 403 before the lookup.
    "procedure_id": 999999,
    "query_id": 999999,
    "plan_id": 999999,
    "item_id": 999999,
    "finding_id": 999999,
    "glass_id": 999999,
    "case_id": 999999,
    "attempt_id": 999999,
    "bulletin_id": 999999,
    "kind": "diagnosis",
    "index": 0,
}
# Routes where <pk> is not an encounter: which sample it takes instead.
PK_OF_ROUTE = {"api/v1/patients/<int:pk>": "patient_pk"}
MAY_BE_MISSING = {
    "procedure_id",
    "query_id",
    "plan_id",
    "item_id",
    "finding_id",
    "glass_id",
    "case_id",
    "attempt_id",
    "bulletin_id",
    "kind",
    "index",
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


def _view_capability(pattern: URLPattern, method: str = "GET"):
    view = pattern.callback
    if hasattr(view, "required_capability"):
        return view.required_capability
    view_class = getattr(view, "view_class", None) or getattr(view, "cls", None)
    if view_class is not None and issubclass(view_class, APIView):
        # DRF: the capability may depend on the method; ask the view as it would be asked.
        instance = view_class()
        instance.request = SimpleNamespace(method=method)
        instance.args, instance.kwargs = (), {}
        instance.get_permissions()
        capability = getattr(instance, "required_capability", None)
        if capability is not None:
            return capability
        permissions = {type(p) for p in instance.get_permissions()}
        if HasCapability in permissions:  # refuses everyone: it forgot to name one
            raise AssertionError(f"{pattern.name or pattern} declares no capability for {method}")
        return "signed_in" if IsAuthenticated in permissions else None
    if view_class is not None and hasattr(view_class, "required_capability"):
        return view_class.required_capability
    raise AssertionError(f"{pattern.name or pattern} declares no capability")


def _converters(pattern: URLPattern) -> list[str]:
    return list(pattern.pattern.converters.keys()) if hasattr(pattern.pattern, "converters") else []


def test_every_url_declares_a_capability():
    missing = []
    for route, _ns, pattern in app_urls():
        try:
            _view_capability(pattern)
        except AssertionError:
            missing.append(route)
    assert missing == []


def _url_for(namespace: str, pattern: URLPattern, kwargs_sample: dict, route: str = "") -> str:
    missing = [name for name in _converters(pattern) if name not in kwargs_sample]
    assert not missing, f"add sample values to SAMPLE_KWARGS for {missing} ({pattern.name})"
    kwargs = {name: kwargs_sample[name] for name in _converters(pattern)}
    for prefix, sample in PK_OF_ROUTE.items():
        if route.startswith(prefix):
            kwargs["pk"] = kwargs_sample[sample]
    return reverse(f"{namespace}{pattern.name}", kwargs=kwargs)


def test_the_walk_includes_the_api():
    routes = [route for route, _ns, _p in app_urls()]
    assert any(route.startswith("api/v1/") for route in routes)
    assert any(route.startswith("api/v1/encounters/<int:pk>") for route in routes)


@pytest.fixture
def kwargs_sample(db, settings, tmp_path):
    from django.core.files.base import ContentFile

    from codesets.models import Release
    from encounters.models import DiagnosisAssignment
    from tests.factories import DocumentFactory

    releases = list(Release.objects.filter(system__slug="icd10cm").order_by("effective_from"))
    settings.MEDIA_ROOT = tmp_path
    document = DocumentFactory()  # its encounter is ready and unassigned: every coder sees it
    document.original_file.save("note.txt", ContentFile(b"Progress note."), save=False)
    document.original_content_type = "text/plain"
    document.save()
    sample_user = _any_user()
    diagnosis = DiagnosisAssignment.objects.create(
        encounter=document.encounter,
        code="E11.9",
        description="Type 2 diabetes",
        sequence=1,
        created_by=sample_user,
    )
    return {
        **SAMPLE_KWARGS,
        "old_id": releases[0].pk,
        "new_id": releases[-1].pk,
        "pk": document.encounter_id,
        "document_pk": document.pk,
        "document_id": document.pk,
        "diagnosis_id": diagnosis.pk,
        "patient_pk": document.encounter.patient_id,
        "user_id": sample_user.pk,
        "release_id": releases[-1].pk,
    }


def _any_user():
    from accounts.services import user_create

    return user_create(username="sample-user", password=PASSWORD, role=Role.JUNIOR)


@pytest.mark.django_db
def test_anonymous_users_are_sent_to_sign_in_or_refused(client, kwargs_sample):
    for route, namespace, pattern in app_urls():
        capability = _view_capability(pattern)
        url = _url_for(namespace, pattern, kwargs_sample, route)
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
    for route, namespace, pattern in app_urls():
        capability = _view_capability(pattern)
        url = _url_for(namespace, pattern, kwargs_sample, route)
        response = client.get(url)
        if capability is None or capability == "signed_in":
            assert response.status_code in (200, 302, 405), url
        elif has_capability(user, capability):
            # Allowed: the view ran (an API may still say 400 for missing parameters; a
            # POST-only action answers a GET with 405 once the capability check has passed;
            # a sample id that points at nothing is a 404).
            allowed = {200, 302, 400, 405}
            if MAY_BE_MISSING & set(_converters(pattern)):
                allowed.add(404)
            assert response.status_code in allowed, (url, response.status_code)
            if response.status_code == 405:
                assert "GET" not in response["Allow"].replace("GET,", ""), url
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


# --- object level: another coder's chart --------------------------------------------------------

CHART_ROUTES = ("encounters/<int:pk>/", "api/v1/encounters/<int:pk>", "api/v1/patients/<int:pk>")
NOT_CHART_CONTENT = {"break_glass"}  # the way in, tested below


@pytest.fixture
def theirs(db, settings, tmp_path):
    """A chart another coder is working on, with an uploaded original: outside everyone else's
    queue, pool, reviews, complex cases, queries, denials and audits."""
    from django.core.files.base import ContentFile

    from accounts.services import user_create
    from encounters.models import DiagnosisAssignment, Encounter
    from tests.factories import DocumentFactory, EncounterFactory

    settings.MEDIA_ROOT = tmp_path
    owner = user_create(username="owner", password=PASSWORD, role=Role.JUNIOR)
    encounter = EncounterFactory(status=Encounter.Status.CODING, assignee=owner)
    document = DocumentFactory(encounter=encounter)
    document.original_file.save("note.txt", ContentFile(b"Their progress note."), save=False)
    document.original_content_type = "text/plain"
    document.save()
    diagnosis = DiagnosisAssignment.objects.create(
        encounter=encounter,
        code="E11.9",
        description="Type 2 diabetes",
        sequence=1,
        created_by=owner,
    )
    return {
        **SAMPLE_KWARGS,
        "pk": encounter.pk,
        "document_pk": document.pk,
        "document_id": document.pk,
        "diagnosis_id": diagnosis.pk,
        "patient_pk": encounter.patient_id,
        "encounter": encounter,
    }


def _chart_urls(theirs: dict):
    for route, namespace, pattern in app_urls():
        if not route.startswith(CHART_ROUTES) or pattern.name in NOT_CHART_CONTENT:
            continue
        yield pattern, _url_for(namespace, pattern, theirs, route)


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.JUNIOR, Role.INTERMEDIATE, Role.SENIOR, Role.ADMIN])
def test_an_outsider_is_refused_another_coders_chart(client, personas, role, theirs):
    """Every page and API endpoint of the chart, read or write: 403 (a page offers the
    break-the-glass form with it), nothing shown, nothing changed, nothing logged."""
    from accounts.models import PhiAccess

    user = personas[role]
    client.force_login(user)
    encounter = theirs["encounter"]
    patient = encounter.patient
    version = encounter.version
    checked = 0
    for _pattern, url in _chart_urls(theirs):
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            if response.status_code == 405:  # that method does not exist: nothing to refuse
                continue
            checked += 1
            body = response.content.decode(errors="replace")
            assert patient.last_name not in body, url
            assert patient.mrn not in body, url
            assert "Their progress note" not in body, url
            if method == "post" and url.startswith("/api/") and response.status_code == 400:
                continue  # an API may check the (here empty) body first: refused, nothing done
            assert response.status_code == 403, (method, url, response.status_code)
    assert checked > 40
    encounter.refresh_from_db()
    assert (encounter.version, encounter.assignee.username) == (version, "owner")
    assert not PhiAccess.objects.filter(user=user).exists()


@pytest.mark.django_db
def test_the_chart_page_offers_break_the_glass_to_coders_only(client, personas, theirs):
    url = reverse("encounters:workspace", args=[theirs["pk"]])
    client.force_login(personas[Role.JUNIOR])
    assert "Break the glass" in client.get(url).content.decode()
    client.force_login(personas[Role.ADMIN])
    assert "Break the glass" not in client.get(url).content.decode()


@pytest.mark.django_db
def test_after_breaking_the_glass_the_chart_opens_and_every_access_is_logged(
    client, junior, theirs
):
    from accounts.models import BreakGlass, PhiAccess

    client.force_login(junior)
    pk = theirs["pk"]
    response = client.post(
        reverse("encounters:break_glass", args=[pk]),
        {"reason": "Covering for the assigned coder, who is out today."},
    )
    assert response.status_code == 302
    assert BreakGlass.objects.filter(user=junior, encounter_id=pk).exists()
    assert PhiAccess.objects.filter(
        user=junior, encounter_id=pk, action=PhiAccess.Action.BREAK_GLASS
    ).exists()
    opened = {
        "workspace": reverse("encounters:workspace", args=[pk]),
        "original": reverse("encounters:document_original", args=[pk, theirs["document_pk"]]),
        "api-encounter": reverse("api-encounter", kwargs={"pk": pk}),
        "api-document": reverse(
            "api-document", kwargs={"pk": pk, "document_id": theirs["document_pk"]}
        ),
    }
    for name, url in opened.items():
        assert client.get(url).status_code == 200, name
    actions = set(
        PhiAccess.objects.filter(user=junior, encounter_id=pk).values_list("action", flat=True)
    )
    assert {"break_glass", "view_encounter", "view_document"} <= actions
