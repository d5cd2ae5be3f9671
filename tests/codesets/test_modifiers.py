"""Modifier picker data and per-line guidance (codesets.modifiers), and the MODIFIER_CONFLICT
rules, against the real CMS modifier, NCCI PTP and MUE files loaded by `cms_releases`.

Real pairs (practitioner PTP v30.1r0, also in the hospital table): 20610/76942 modifier
indicator 1; 29881/29877 modifier indicator 0. Real MUE rows: 97110 practitioner 6 (MAI 3),
hospital 8; 20610 practitioner 2 (MAI 3)."""

from datetime import date

import pytest

from codesets import modifiers
from codesets.edits import check, encounter_from_json
from codesets.edits.releases import forget_active_releases
from codesets.models import Code
from codesets.selectors import release_in_force

pytestmark = pytest.mark.django_db


@pytest.fixture
def cms(cms_releases):
    return cms_releases


@pytest.fixture(autouse=True)
def fresh_release_list():
    """Other tests activate releases inside rolled-back transactions: re-read the list."""
    forget_active_releases()


def _encounter(*lines: dict, encounter_type: str = "professional"):
    return encounter_from_json(
        {
            "encounter_type": encounter_type,
            "service_date": "2026-04-15",
            "admit_date": "2026-04-15",
            "discharge_date": "2026-04-17" if encounter_type == "inpatient" else None,
            "patient": {"age": 50, "sex": "F"},
            "diagnoses": [{"code": "M17.11"}],
            "procedures": [{"system": "cpt", **line} for line in lines],
        }
    )


def _options(encounter, index: int = 0, query: str = "") -> dict[str, list]:
    groups = modifiers.modifier_options(encounter=encounter, index=index, query=query)
    return {g.slug: g.options for g in groups}


def _codes(options: list) -> list[str]:
    return [o.code for o in options]


# -- categories as data ----------------------------------------------------------------------


def test_each_modifier_sits_in_one_category_and_says_when_to_use_it():
    codes = [info.code for c in modifiers.CATEGORIES for info in c.modifiers]
    assert len(codes) == len(set(codes))
    assert all(info.when and info.summary for c in modifiers.CATEGORIES for info in c.modifiers)
    by_slug = {c.slug: [i.code for i in c.modifiers] for c in modifiers.CATEGORIES}
    assert by_slug["laterality"] == ["LT", "RT"]
    assert by_slug["distinct"] == ["59", "XE", "XS", "XP", "XU"]
    assert {"76", "77"} <= set(by_slug["repeat"])
    assert by_slug["component"] == ["26", "TC"]
    assert {"E1", "E4", "FA", "F9", "TA", "T9", "LC", "RI"} <= set(by_slug["anatomic"])
    assert {"GA", "GZ", "GY", "GX"} == set(by_slug["liability"])
    assert {"80", "81", "82", "AS"} == set(by_slug["assistant"])


# -- picker options --------------------------------------------------------------------------


def test_level_ii_descriptions_come_from_the_modifier_release(cms):
    options = _options(_encounter({"code": "20610"}))
    lt = next(o for o in options["laterality"] if o.code == "LT")
    in_force = release_in_force(system="modifier", on=date(2026, 4, 15))
    release_text = Code.objects.get(release=in_force, code="LT").description
    assert lt.description == release_text
    assert lt.description.startswith("Left side (used to identify procedures")
    assert not lt.our_summary
    xe = next(o for o in options["distinct"] if o.code == "XE")
    assert "separate encounter" in xe.description


def test_cpt_modifiers_get_our_summary_marked_as_such(cms):
    options = _options(_encounter({"code": "20610"}))
    fifty_nine = next(o for o in options["distinct"] if o.code == "59")
    assert fifty_nine.our_summary
    assert fifty_nine.description == "Distinct procedural service"
    assert "separate" in fifty_nine.when


def test_a_query_filters_by_code_or_words_and_reaches_the_whole_release(cms):
    found = _options(_encounter({"code": "20610"}), query="left")
    assert "LT" in _codes(found["laterality"])
    assert "RT" not in _codes(found.get("laterality", []))
    words = _options(_encounter({"code": "20610"}), query="sep str")
    every = {o.code for group in words.values() for o in group}
    assert "XS" in every and "XE" not in every and "59" not in every
    resident = _options(_encounter({"code": "20610"}), query="GC")
    assert _codes(resident["release"]) == ["GC"]
    assert "teaching physician" in resident["release"][0].description


def test_a_modifier_discontinued_before_the_date_is_not_offered(cms):
    # JG: terminated 2024-12-31 in the January 2026 modifier file.
    assert Code.objects.filter(release__system__slug="modifier", code="JG").exists()
    found = _options(_encounter({"code": "J1100"}), query="JG")
    assert "JG" not in [o.code for group in found.values() for o in group]


def test_ncci_pair_with_indicator_1_puts_the_distinct_modifiers_first(cms):
    found = _options(_encounter({"code": "20610"}, {"code": "76942"}), index=1)
    suggested = _codes(found["suggested"])
    assert suggested[:5] == ["59", "XE", "XS", "XP", "XU"]
    assert {"LT", "RT"} <= set(suggested)
    alone = _options(_encounter({"code": "76942"}))
    assert "59" not in _codes(alone.get("suggested", []))


def test_an_em_code_is_offered_25_first(cms):
    found = _options(_encounter({"code": "99213"}, {"code": "20610"}))
    assert "25" in _codes(found["suggested"])


def test_options_warn_what_a_modifier_would_contradict_on_the_line(cms):
    found = _options(_encounter({"code": "20610", "modifiers": ["LT"]}))
    rt = next(o for o in found["laterality"] if o.code == "RT")
    assert "LT (left) and RT (right)" in rt.conflict
    lt = next(o for o in found["laterality"] if o.code == "LT")
    assert lt.present and lt.conflict == "Already on this line"
    xs = next(
        o
        for o in _options(_encounter({"code": "20610", "modifiers": ["59"]}))["distinct"]
        if o.code == "XS"
    )
    assert "59 with XS" in xs.conflict
    assert not next(o for o in found["distinct"] if o.code == "XS").conflict


# -- NCCI guidance ---------------------------------------------------------------------------


def test_ncci_indicator_1_pair_names_the_bypass_modifiers_and_whether_one_is_present(cms):
    encounter = _encounter({"code": "20610"}, {"code": "76942"})
    for index in (0, 1):  # both lines of the pair see it
        (pair,) = modifiers.ncci_guidance(encounter=encounter, index=index)
        assert (pair.column1, pair.column2, pair.indicator) == ("20610", "76942", "1")
        assert pair.present == ()
        assert "none is present" in pair.message
    bypass = dict(pair.bypass)
    assert bypass["Distinct procedural service"] == ("59", "XE", "XS", "XP", "XU")
    assert {"LT", "RT"} <= set(bypass["Laterality"])
    assert "NCCI PTP practitioner" in pair.reference and "modifier indicator 1" in pair.reference
    assert pair.rationale == "CPT Manual or CMS manual coding instruction"

    with_59 = _encounter({"code": "20610"}, {"code": "76942", "modifiers": ["59"]})
    (pair,) = modifiers.ncci_guidance(encounter=with_59, index=0)
    assert pair.present == ("59",)
    assert "59 is present" in pair.message


def test_ncci_indicator_0_pair_says_no_modifier_can_bypass_it(cms):
    encounter = _encounter({"code": "29881"}, {"code": "29877", "modifiers": ["59"]})
    (pair,) = modifiers.ncci_guidance(encounter=encounter, index=1)
    assert (pair.column1, pair.column2, pair.indicator) == ("29881", "29877", "0")
    assert pair.bypass == () and pair.present == ()
    assert "no modifier can bypass it" in pair.message
    assert pair.rationale == "Misuse of Column Two code with Column One code"


def test_ncci_guidance_uses_the_hospital_table_for_outpatient_claims(cms):
    encounter = _encounter({"code": "20610"}, {"code": "76942"}, encounter_type="outpatient")
    (pair,) = modifiers.ncci_guidance(encounter=encounter, index=0)
    assert "hospital" in pair.reference.lower()


def test_no_ncci_guidance_across_days_without_a_pair_or_for_inpatient_stays(cms):
    apart = _encounter(
        {"code": "20610", "date": "2026-04-15"}, {"code": "76942", "date": "2026-04-16"}
    )
    assert modifiers.ncci_guidance(encounter=apart, index=0) == []
    unrelated = _encounter({"code": "20610"}, {"code": "97110"})
    assert modifiers.ncci_guidance(encounter=unrelated, index=0) == []
    inpatient = _encounter({"code": "20610"}, {"code": "76942"}, encounter_type="inpatient")
    assert modifiers.ncci_guidance(encounter=inpatient, index=0) == []


# -- MUE guidance ----------------------------------------------------------------------------


def test_mue_guidance_gives_the_practitioner_value_and_warns_above_it(cms):
    at = modifiers.mue_guidance(encounter=_encounter({"code": "97110", "units": 6}), index=0)
    assert (at.value, at.adjudication_indicator, at.per) == (6, 3, "day")
    assert at.label == "max 6 per day (MUE)"
    assert at.rationale == "Clinical: Data"
    assert "clinical" in at.meaning
    assert not at.over
    over = modifiers.mue_guidance(encounter=_encounter({"code": "97110", "units": 7}), index=0)
    assert over.over and over.units == 7


def test_mue_guidance_uses_the_hospital_value_for_outpatient_claims(cms):
    found = modifiers.mue_guidance(
        encounter=_encounter({"code": "97110"}, encounter_type="outpatient"), index=0
    )
    assert found.value == 8


def test_a_date_of_service_mue_counts_every_line_of_the_day(cms):
    encounter = _encounter(
        {"code": "20610", "units": 2, "modifiers": ["RT"]},
        {"code": "20610", "units": 1, "modifiers": ["LT"]},
    )
    found = modifiers.mue_guidance(encounter=encounter, index=1)
    assert (found.value, found.other_units, found.units) == (2, 2, 3)
    assert found.over


def test_no_mue_guidance_for_inpatient_stays(cms):
    encounter = _encounter({"code": "97110", "units": 9}, encounter_type="inpatient")
    assert modifiers.mue_guidance(encounter=encounter, index=0) is None


def test_line_guidance_describes_the_line_modifiers(cms):
    encounter = _encounter({"code": "20610", "modifiers": ["RT", "59"]}, {"code": "76942"})
    first, second = modifiers.line_guidance(encounter=encounter)
    assert first.modifiers[0][0] == "RT" and first.modifiers[0][1].startswith("Right side")
    assert first.modifiers[1] == ("59", "Distinct procedural service (CPT modifier; our summary)")
    assert first.mue.value == 2 and len(first.pairs) == 1
    # RT counts too: NCCI lists the anatomic modifiers among those that may bypass a pair
    assert second.modifiers == [] and second.pairs[0].present == ("59", "RT")


# -- MODIFIER_CONFLICT -----------------------------------------------------------------------


def _conflicts(modifier_list: list[str], units: int = 1) -> list[str]:
    encounter = _encounter({"code": "20610", "modifiers": modifier_list, "units": units})
    return [e.message for e in check(encounter) if e.rule == "MODIFIER_CONFLICT"]


@pytest.mark.parametrize(
    ("modifier_list", "units", "expected"),
    [
        (["LT", "RT"], 1, "LT (left) and RT (right)"),
        (["50", "LT"], 1, "50 (bilateral) already means both sides"),
        (["50"], 2, "billed with 1 unit"),
        (["26", "TC"], 1, "global service"),
        (["59", "XS"], 1, "59 with XS"),
        (["XU", "59"], 1, "59 with XU"),
        (["76", "77"], 1, "76 (repeat by the same physician) and 77"),
        (["52", "53"], 1, "52 (reduced service) and 53"),
        (["RT", "RT"], 1, "RT repeated"),
        (["RT", "59", "76", "GA", "KX"], 1, "at most 4"),
    ],
)
def test_modifier_conflict_fires(modifier_list, units, expected):
    assert any(expected in message for message in _conflicts(modifier_list, units))


@pytest.mark.parametrize(
    "modifier_list",
    [
        ["LT"],
        ["50"],
        ["26"],
        ["59"],
        ["XS"],
        ["XS", "XU"],
        ["76"],
        ["77"],
        ["52"],
        ["53"],
        ["59", "RT", "76", "GA"],
    ],
)
def test_modifier_conflict_stays_quiet(modifier_list):
    assert _conflicts(modifier_list) == []
