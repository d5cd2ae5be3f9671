"""The code pages: search (full page and htmx fragment), code detail, releases and diffs."""

import re

import pytest
from django.urls import reverse

from codesets import selectors
from codesets.models import Release
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def coder(client, junior):
    client.login(username=junior.username, password=PASSWORD)
    return client


def _page(client, url: str, **params) -> str:
    response = client.get(url, params)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def _release(system: str, label_part: str) -> Release:
    return Release.objects.get(system__slug=system, label__contains=label_part)


def test_the_search_page_finds_a_code_by_its_code(coder):
    page = _page(coder, reverse("codesets:search"), q="E11.9")
    assert '<a href="/codes/icd10cm/E11.9/">E11.9</a>' in page
    assert "Type 2 diabetes mellitus without complications" in page
    assert "badge-billable" in page
    assert "<html" in page


def test_the_search_page_finds_codes_by_words_in_any_order(coder):
    page = _page(coder, reverse("codesets:search"), q="diab neuro")
    assert ">E11.40</a>" in page
    assert ">E10.40</a>" in page


def test_headers_are_marked_as_not_billable(coder):
    page = _page(coder, reverse("codesets:search"), q="E11")
    row = re.search(r'<tr data-hit data-code="E11".*?</tr>', page, re.S)
    assert row and "badge-header" in row.group(0)


def test_an_htmx_request_gets_only_the_results_fragment(coder):
    response = coder.get(reverse("codesets:search"), {"q": "E11.9"}, HTTP_HX_REQUEST="true")
    fragment = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in fragment and "<nav" not in fragment
    assert fragment.strip().startswith('<div id="results"')
    assert ">E11.9</a>" in fragment
    assert "HX-Request" in response["Vary"]


def test_a_history_restore_gets_the_whole_page(coder):
    response = coder.get(
        reverse("codesets:search"),
        {"q": "E11.9"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_HISTORY_RESTORE_REQUEST="true",
    )
    assert "<html" in response.content.decode()


def test_a_search_with_no_match_says_so(coder):
    page = _page(coder, reverse("codesets:search"), q="zzqxv")
    assert "No codes match" in page


def test_a_system_without_a_release_in_force_explains_itself(coder):
    page = _page(coder, reverse("codesets:search"), system="cpt", q="99213")
    assert 'role="alert"' in page and "No CPT" in page


def test_a_bad_date_of_service_is_reported(coder):
    page = _page(coder, reverse("codesets:search"), q="E11.9", date="2026-13-45")
    assert "is not a date" in page


def test_the_code_detail_shows_the_hierarchy_and_linked_notes(coder):
    page = _page(coder, reverse("codesets:code_detail", args=["icd10cm", "E11.40"]))
    assert 'href="/codes/icd10cm/E11.4/"' in page
    assert 'href="/codes/icd10cm/E11/"' in page
    assert "Type 2 diabetes mellitus with diabetic neuropathy, unspecified" in page
    excludes1 = re.search(r'<section class="note-group note-excludes1".*?</section>', page, re.S)
    assert excludes1, "no Excludes1 group"
    assert re.search(
        r'<a class="ref code" href="/codes/icd10cm/E10/"[^>]*>E10\.-</a>', excludes1[0]
    )
    assert "from <a" in excludes1[0]  # inherited notes say where they come from


def test_a_reference_range_links_to_its_first_code(coder):
    page = _page(coder, reverse("codesets:code_detail", args=["icd10cm", "E11.40"]))
    assert re.search(r'href="/codes/icd10cm/E16/"[^>]*>E16-E31</a>', page)


def test_the_seventh_character_table_comes_from_the_category(coder):
    page = _page(coder, reverse("codesets:code_detail", args=["icd10cm", "S52.501A"]))
    section = re.search(r'aria-labelledby="seventh-h".*?</section>', page, re.S)
    assert section, "no 7th-character table"
    assert 'Defined at <a class="code" href="/codes/icd10cm/S52/">S52</a>' in section[0]
    assert "initial encounter for closed fracture" in section[0]
    assert "sequela" in section[0]


def test_a_pcs_code_shows_its_axes(coder):
    page = _page(coder, reverse("codesets:code_detail", args=["icd10pcs", "0DTJ4ZZ"]))
    section = re.search(r'aria-labelledby="axes-h".*?</section>', page, re.S)
    assert section, "no axes table"
    for text in ("Root Operation", "Resection", "Body Part", "Appendix", "Approach"):
        assert text in section[0]
    assert "Cutting out or off" in section[0]  # the definition of the root operation


def test_the_code_detail_shows_the_release_history(coder):
    page = _page(coder, reverse("codesets:code_detail", args=["icd10cm", "E11.40"]))
    history = re.search(r'aria-labelledby="hist-h".*?</section>', page, re.S)
    assert history and "ICD-10-CM FY2025" in history[0] and "Unchanged" in history[0]


def test_a_header_code_lists_its_children(coder):
    page = _page(coder, reverse("codesets:code_detail", args=["icd10cm", "E11.4"]))
    assert 'href="/codes/icd10cm/E11.40/"' in page and "Codes under E11.4" in page


def test_an_unknown_code_is_not_found(coder):
    response = coder.get(reverse("codesets:code_detail", args=["icd10cm", "Q99.999"]))
    assert response.status_code == 404


def test_the_releases_page_lists_the_bundled_releases(coder):
    page = _page(coder, reverse("codesets:releases"))
    releases = list(Release.objects.filter(status=Release.Status.ACTIVE))
    assert len(releases) >= 4
    for release in releases:
        assert release.label in page
    assert page.count('<details class="counts">') >= 4
    assert 'action="/codes/releases/compare/"' in page


def test_the_compare_form_opens_the_diff(coder):
    old, new = _release("icd10cm", "FY2025"), _release("icd10cm", "April")
    response = coder.get(reverse("codesets:release_compare"), {"old": old.pk, "new": new.pk})
    assert response.status_code == 302
    assert response.url == reverse("codesets:release_diff", args=[old.pk, new.pk])


def test_the_compare_form_refuses_one_release_twice(coder):
    old = _release("icd10cm", "FY2025")
    response = coder.get(reverse("codesets:release_compare"), {"old": old.pk, "new": old.pk})
    assert response.status_code == 302 and response.url == reverse("codesets:releases")


def test_the_diff_page_shows_counts_of_added_deleted_and_revised(coder):
    old, new = _release("icd10cm", "FY2025"), _release("icd10cm", "April")
    diff = selectors.release_diff(old=old, new=new)
    page = _page(coder, reverse("codesets:release_diff", args=[old.pk, new.pk]))
    for kind in ("added", "deleted", "revised"):
        assert f'<span class="stat-value">{len(diff[kind]):,}</span>' in page, kind


def test_the_diff_list_filters_by_kind_and_text(coder):
    old, new = _release("icd10cm", "FY2025"), _release("icd10cm", "April")
    url = reverse("codesets:release_diff", args=[old.pk, new.pk])
    page = _page(coder, url, show="revised", q="Sézary")
    assert "C84.1" in page and "Sezary disease" in page  # the old spelling, shown as "was"
    fragment = coder.get(url, {"show": "revised", "q": "Sézary"}, HTTP_HX_REQUEST="true")
    assert fragment.content.decode().strip().startswith('<div id="diff-list"')


def test_long_diff_lists_are_paginated_with_a_show_all_link(coder):
    old, new = _release("icd10cm", "FY2025"), _release("icd10cm", "April")
    url = reverse("codesets:release_diff", args=[old.pk, new.pk])
    page = _page(coder, url, show="added")
    assert "Page 1 of" in page and "all=1" in page
    everything = _page(coder, url, show="added", all="1")
    added = len(selectors.release_diff(old=old, new=new)["added"])
    assert everything.count("<tr>") - 1 == added  # one header row
