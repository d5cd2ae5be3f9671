"""The workspace's modifier picker and line guidance: the htmx partials, who may use them, and
a save with picked modifiers through the ordinary line form (procedure_update), against the
real CMS modifier, NCCI PTP and MUE files."""

import pytest
from django.urls import reverse

from accounts.models import Role
from accounts.services import user_create
from codesets.edits.releases import forget_active_releases
from encounters import services
from encounters.models import Encounter
from tests.conftest import PASSWORD
from tests.factories import EncounterFactory

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def fresh_release_list():
    forget_active_releases()


@pytest.fixture
def as_junior(client, junior):
    client.login(username=junior.username, password=PASSWORD)
    return client


@pytest.fixture
def chart(junior, cms_releases):
    """A professional claim the junior is coding: 20610 and 76942 (an NCCI pair with modifier
    indicator 1) on one day."""
    encounter = EncounterFactory(
        assignee=junior, status=Encounter.Status.CODING, type=Encounter.Type.PROFESSIONAL
    )
    services.diagnosis_add(encounter=encounter, by=junior, version=1, code="M17.11")
    for version, code in ((2, "20610"), (3, "76942")):
        services.procedure_add(
            encounter=encounter, by=junior, version=version, code=code, system="cpt"
        )
    encounter.refresh_from_db()
    return encounter


def _line(encounter, code):
    return encounter.procedures.get(code=code)


def _get(client, name, encounter, **params):
    return client.get(reverse(f"encounters:{name}", kwargs={"pk": encounter.pk}), params, **HX)


def test_options_are_grouped_by_category_with_descriptions(as_junior, chart):
    response = _get(as_junior, "modifier_options", chart, procedure=_line(chart, "76942").pk)
    assert response.status_code == 200
    body = response.content.decode()
    assert 'role="listbox"' in body and 'role="option"' in body
    for label in ("Suggested for this line", "Laterality", "Distinct procedural service"):
        assert label in body
    assert "Left side (used to identify procedures performed on the left side" in body
    assert 'data-code="XS"' in body and "CPT · our summary" in body


def test_typing_filters_the_options(as_junior, chart):
    body = _get(
        as_junior, "modifier_options", chart, procedure=_line(chart, "20610").pk, q="teaching"
    ).content.decode()
    assert 'data-code="GC"' in body and 'data-code="LT"' not in body
    none = _get(
        as_junior, "modifier_options", chart, procedure=_line(chart, "20610").pk, q="zzzz"
    ).content.decode()
    assert "No modifier matches" in none


def test_options_warn_about_the_unsaved_modifiers_of_the_line(as_junior, chart):
    body = _get(
        as_junior,
        "modifier_options",
        chart,
        procedure=_line(chart, "20610").pk,
        modifiers=["LT"],
    ).content.decode()
    assert "LT (left) and RT (right) on one line" in body


def test_guidance_shows_the_ncci_pair_and_follows_unsaved_modifiers(as_junior, chart):
    line = _line(chart, "76942")
    body = _get(as_junior, "modifier_guidance", chart, procedure=line.pk).content.decode()
    assert "76942 is bundled into 20610" in body and "none is present" in body
    assert "Which modifiers may bypass it" in body
    with_xs = _get(
        as_junior, "modifier_guidance", chart, procedure=line.pk, modifiers=["XS", ""]
    ).content.decode()
    assert "XS is present" in with_xs
    assert "Preview with your unsaved modifiers" in with_xs
    assert "Preview with your unsaved" not in body
    assert "Separate structure" in with_xs


def test_guidance_shows_the_mue_and_warns_above_it(as_junior, chart):
    line = _line(chart, "20610")
    body = _get(as_junior, "modifier_guidance", chart, procedure=line.pk).content.decode()
    assert "MUE 2" in body and "is above it" not in body
    over = _get(
        as_junior, "modifier_guidance", chart, procedure=line.pk, units="3"
    ).content.decode()
    assert "3 is above it" in over


def test_a_line_of_another_encounter_or_none_is_a_bad_request(as_junior, chart, junior):
    other = EncounterFactory(assignee=junior, status=Encounter.Status.CODING)
    services.diagnosis_add(encounter=other, by=junior, version=1, code="M17.11")
    foreign = services.procedure_add(
        encounter=other, by=junior, version=2, code="97110", system="cpt"
    )
    assert _get(as_junior, "modifier_options", chart, procedure=foreign.pk).status_code == 400
    assert _get(as_junior, "modifier_guidance", chart).status_code == 400


def test_only_coders_who_may_open_the_chart_get_the_partials(client, chart, junior):
    line = _line(chart, "20610")
    anonymous = _get(client, "modifier_options", chart, procedure=line.pk)
    assert anonymous.status_code == 302
    user_create(username="adm2", password=PASSWORD, role=Role.ADMIN)
    client.login(username="adm2", password=PASSWORD)
    assert _get(client, "modifier_options", chart, procedure=line.pk).status_code == 403
    assert _get(client, "modifier_guidance", chart, procedure=line.pk).status_code == 403
    # another junior: the chart is assigned to someone else, so it is not in their queue
    user_create(username="jun2", password=PASSWORD, role=Role.JUNIOR)
    client.login(username="jun2", password=PASSWORD)
    assert _get(client, "modifier_options", chart, procedure=line.pk).status_code == 403


def test_the_workspace_shows_the_picker_mue_and_guidance(as_junior, chart):
    body = as_junior.get(reverse("encounters:workspace", kwargs={"pk": chart.pk})).content.decode()
    line = _line(chart, "20610")
    assert f'id="modpick-{line.pk}"' in body and "data-modpick-input" in body
    assert 'aria-label="Modifier 1 of 20610"' in body
    assert "max 2 per day (MUE)" in body
    assert f'id="modguide-{line.pk}"' in body and "76942 is bundled into 20610" in body
    assert "js/modifiers.js" in body and "css/modifiers.css" in body


def test_saving_picked_modifiers_goes_through_the_line_form(as_junior, chart):
    line = _line(chart, "76942")
    response = as_junior.post(
        reverse("encounters:procedure_update", kwargs={"pk": chart.pk}),
        {
            "version": chart.version,
            "procedure_id": line.pk,
            "modifiers": ["59", "xs", "", ""],
            "units": "1",
            "performed_on": "",
            "diagnosis_pointers": "1",
        },
        **HX,
    )
    assert response.status_code == 200
    line.refresh_from_db()
    assert line.modifiers == ["59", "XS"]
    body = response.content.decode()
    # the re-rendered line: guidance sees the modifiers, the edits catch the contradiction
    assert "59, XS is present" in body
    assert 'data-rule="MODIFIER_CONFLICT"' in body and "59 with XS" in body


def test_a_stale_save_is_refused_and_keeps_the_modifiers(as_junior, chart):
    line = _line(chart, "76942")
    response = as_junior.post(
        reverse("encounters:procedure_update", kwargs={"pk": chart.pk}),
        {"version": chart.version - 1, "procedure_id": line.pk, "modifiers": ["XS"], "units": "1"},
        **HX,
    )
    assert "Someone else saved this encounter" in response.content.decode()
    line.refresh_from_db()
    assert line.modifiers == []
