"""The CMS file importers on the real files in ../shared/data (skipped when it is absent).

Every import goes through services.release_register_file and release_import_now, the same
path as `manage.py codesets import`.
"""

import gzip
import json
import shutil
from datetime import date
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from codesets import selectors, services
from codesets.importers import ImportFormatError, detect_format
from codesets.importers.cms_manifest import CMS_FILES
from codesets.models import (
    AddOnCodeEdit,
    Code,
    DrgWeight,
    IndexEntry,
    MueEdit,
    PtpEdit,
    Release,
)
from codesets.search import code_search

pytestmark = [pytest.mark.django_db, pytest.mark.cms_data]


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    # Registered files are copied under MEDIA_ROOT; keep those copies out of var/.
    settings.MEDIA_ROOT = tmp_path / "media"


def import_file(
    system: str,
    path: Path,
    label: str,
    effective_from: date,
    setting: str | None = None,
    activate: bool = False,
) -> Release:
    release, _ = services.release_register_file(
        system=system, path=path, label=label, effective_from=effective_from, setting=setting
    )
    release = services.release_import_now(release=release)
    if activate and release.status == Release.Status.IMPORTED:
        release = services.release_activate(release=release)
    return release


def codes_of(release: Release) -> dict[str, Code]:
    return {c.code: c for c in Code.objects.filter(release=release)}


# --- HCPCS ----------------------------------------------------------------------------------


def test_the_quarterly_zip_gives_every_level2_code_with_modifiers_counted_apart(cms_data):
    release = import_file(
        "hcpcs",
        cms_data / "hcpcs/january-2026-alpha-numeric-hcpcs-file.zip",
        "HCPCS 2026 January",
        date(2026, 1, 1),
    )

    assert release.status == Release.Status.IMPORTED, release.error
    # 9,006 records in the file: 8,623 codes (RECID 3) and 383 modifiers (RECID 7).
    assert release.row_count == 8623
    assert release.counts["modifiers skipped (RECID 7)"] == 383
    assert release.counts["G codes"] == 1992
    assert release.counts["J codes"] == 1209
    codes = codes_of(release)
    assert len(codes) == 8623
    a4295 = codes["A4295"]
    assert a4295.description == (
        "Intermittent urinary catheter; straight tip, hydrophilic coating, each"
    )
    assert a4295.short_description == "Straigh tip hydrophilic cath"
    assert (a4295.billable, a4295.kind, a4295.group) == (True, Code.Kind.CODE, "A")
    assert a4295.valid_from == date(2026, 1, 1)
    assert a4295.extra["action"] == "A"
    assert codes["J1100"].extra["type_of_service"] == ["1", "P"]
    assert codes["A0021"].extra["xref"] == ["A0030"]


def test_terminated_codes_stay_in_with_their_termination_date(cms_data):
    release = import_file(
        "hcpcs",
        cms_data / "hcpcs/january-2026-alpha-numeric-hcpcs-file.zip",
        "HCPCS 2026 January",
        date(2026, 1, 1),
    )

    terminated = Code.objects.filter(release=release, valid_to__isnull=False)
    assert terminated.count() == release.counts["with a termination date"] == 1300
    assert Code.objects.get(release=release, code="A9155").valid_to == date(2025, 3, 31)
    assert Code.objects.get(release=release, code="C5271").valid_to == date(2025, 12, 31)


def test_continuation_lines_make_one_long_description(cms_data):
    zipped = import_file(
        "hcpcs",
        cms_data / "hcpcs/january-2026-alpha-numeric-hcpcs-file.zip",
        "HCPCS 2026 January",
        date(2026, 1, 1),
    )
    converted = import_file(
        "hcpcs",
        cms_data / "hcpcs/HCPC2026_JAN_ANWEB_01122026.csv.gz",
        "HCPCS 2026 January (CSV)",
        date(2026, 1, 1),
    )

    c5272 = Code.objects.get(release=zipped, code="C5272")
    assert c5272.description.endswith(
        "each additional 25 sq cm wound surface area, or part thereof "
        "(list separately in addition to code for primary procedure)"
    )

    # The fixed-width text and the workbook's CSV hold the same codes, word for word. (Not
    # every extra field: the workbook leaves the action date of 118 old codes blank.)
    def fields(release: Release) -> set[tuple]:
        return set(
            Code.objects.filter(release=release).values_list(
                "code", "description", "short_description", "valid_from", "valid_to", "group"
            )
        )

    assert converted.row_count == 8623
    assert fields(zipped) == fields(converted)


def test_october_to_january_diff_lists_160_new_codes(cms_data):
    october = import_file(
        "hcpcs", cms_data / "hcpcs/HCPC2025_OCT_ANWEB.xlsx", "HCPCS 2025 October", date(2025, 10, 1)
    )
    january = import_file(
        "hcpcs",
        cms_data / "hcpcs/january-2026-alpha-numeric-hcpcs-file.zip",
        "HCPCS 2026 January",
        date(2026, 1, 1),
    )

    assert october.status == Release.Status.IMPORTED, october.error
    assert october.row_count == 8463
    assert october.counts["modifiers skipped (RECID 7)"] == 383  # 8,846 records in all
    diff = selectors.release_diff(old=october, new=january)
    assert len(diff["added"]) == 160
    assert diff["added"][:4] == ["A4295", "A4296", "A4297", "C1607"]
    assert diff["deleted"] == []
    assert len(diff["revised"]) == 295
    newly_terminated = (
        Code.objects.filter(release=january, valid_to__isnull=False).count()
        - Code.objects.filter(release=october, valid_to__isnull=False).count()
    )
    assert newly_terminated == 95


# --- modifiers ------------------------------------------------------------------------------


def test_the_modifier_file_gives_level2_modifiers_with_categories(cms_data):
    release = import_file(
        "modifier",
        cms_data / "modifiers/hcpcs_level2_modifiers_2026Q1.csv",
        "HCPCS modifiers 2026 January",
        date(2026, 1, 1),
    )

    assert release.status == Release.Status.IMPORTED, release.error
    assert release.row_count == 383
    modifiers = codes_of(release)
    assert {m.kind for m in modifiers.values()} == {Code.Kind.MODIFIER}
    assert sum(1 for m in modifiers.values() if m.valid_to) == 20
    assert modifiers["LT"].extra["category"] == "laterality"
    assert modifiers["RT"].description.startswith("Right side")
    assert modifiers["XS"].extra["category"] == "distinct procedural service"
    assert modifiers["F5"].extra["category"] == "anatomic"
    assert "category" not in modifiers["CC"].extra
    # Level II only: no numeric CPT modifier, so no AMA descriptor, is ever stored.
    assert not [code for code in modifiers if code.isdigit()]


def test_the_hcpcs_csv_as_modifier_system_takes_the_recid_7_rows(cms_data):
    from_hcpcs = import_file(
        "modifier",
        cms_data / "hcpcs/HCPC2026_JAN_ANWEB_01122026.csv.gz",
        "HCPCS modifiers 2026 January (from HCPCS)",
        date(2026, 1, 1),
    )
    from_list = import_file(
        "modifier",
        cms_data / "modifiers/hcpcs_level2_modifiers_2026Q1.csv",
        "HCPCS modifiers 2026 January",
        date(2026, 1, 1),
    )

    assert from_hcpcs.row_count == 383
    assert from_hcpcs.counts["codes skipped (RECID 3)"] == 8623

    def fields(release: Release) -> set[tuple]:
        return set(
            Code.objects.filter(release=release).values_list(
                "code", "description", "valid_from", "valid_to", "group"
            )
        )

    assert fields(from_hcpcs) == fields(from_list)


# --- MUE, AOC -------------------------------------------------------------------------------


def mue_values(release: Release) -> dict[str, tuple[int, int]]:
    return {
        m.code: (m.value, m.adjudication_indicator) for m in MueEdit.objects.filter(release=release)
    }


def test_the_cms_practitioner_mue_file_is_read_past_its_notice_row(cms_data):
    release = import_file(
        "mue",
        cms_data / "ncci/MCR_MUE_PractitionerServices_Eff_04-01-2026.csv",
        "NCCI MUE practitioner 2026-04-01",
        date(2026, 4, 1),
    )

    assert release.status == Release.Status.IMPORTED, release.error
    assert release.setting == Release.Setting.PRACTITIONER  # from the file name
    assert release.row_count == 15095
    assert (release.counts["MAI 1"], release.counts["MAI 2"], release.counts["MAI 3"]) == (
        41,
        5417,
        9637,
    )
    values = mue_values(release)
    assert values["99213"] == (2, 3)
    assert values["97110"] == (6, 3)
    assert values["J1100"] == (120, 3)
    assert values["64483"] == (1, 2)
    assert MueEdit.objects.get(release=release, code="0002M").rationale == "Nature of Analyte"


def test_the_northstar_mue_tables_load_per_setting(cms_data):
    hospital = import_file(
        "mue",
        cms_data / "ncci/MUE_OutpatientHospitalServices_2024-07-01_from_northstar.csv",
        "NCCI MUE hospital 2024-07-01",
        date(2024, 7, 1),
    )
    dme = import_file(
        "mue",
        cms_data / "ncci/MUE_DMESupplierServices_2024-07-01_from_northstar.csv",
        "NCCI MUE DME supplier 2024-07-01",
        date(2024, 7, 1),
    )

    assert (hospital.setting, hospital.row_count) == ("hospital", 14628)
    assert (dme.setting, dme.row_count) == ("dme", 2928)
    assert mue_values(hospital)["97110"] == (8, 3)
    assert mue_values(dme)["E0431"] == (1, 2)


def test_a_cms_mue_file_for_another_setting_is_refused(cms_data):
    release = import_file(
        "mue",
        cms_data / "ncci/MCR_MUE_PractitionerServices_Eff_04-01-2026.csv",
        "MUE practitioner file as hospital",
        date(2026, 4, 1),
        setting="hospital",
    )

    assert release.status == Release.Status.FAILED
    assert "practitioner MUE table" in release.error
    assert not MueEdit.objects.filter(release=release).exists()


def test_add_on_code_edits_load(cms_data):
    release = import_file(
        "aoc",
        cms_data / "ncci/AOC_addon_code_edits_2024-06-03_from_northstar.csv",
        "NCCI add-on code edits 2024-06-03",
        date(2024, 6, 3),
    )

    assert release.row_count == 7465
    assert release.counts["primary: see CMS/CPT instructions"] == 44
    edit = AddOnCodeEdit.objects.get(release=release, addon_code="99292")
    assert (edit.primary_code, edit.edit_type) == ("99291", 1)


# --- PTP ------------------------------------------------------------------------------------


def ptp(release: Release, column1: str, column2: str) -> list[tuple]:
    return sorted(
        PtpEdit.objects.filter(release=release, column1=column1, column2=column2).values_list(
            "modifier_indicator", "deletion_date", "rationale"
        ),
        key=lambda row: (row[1] is not None, row[1] or date.min),
    )


@pytest.mark.slow
def test_the_practitioner_ptp_table_streams_in_full(cms_data, cms_releases):
    # The session imported this file once (through the same services); registering it again
    # finds that release by checksum, so this checks the one real import of the run.
    release = import_file(
        "ncci-ptp",
        cms_data / "ncci/ncci_ptp_practitioner_v30.1r0_2024-04-01_from_northstar.csv.gz",
        "NCCI PTP practitioner 2024-04-01 (v30.1r0)",
        date(2024, 4, 1),
    )

    assert release.status in (Release.Status.IMPORTED, Release.Status.ACTIVE), release.error
    assert release.setting == "practitioner"
    assert release.row_count == 2545089
    assert release.counts["pairs in force"] == 1669187
    assert release.counts["modifier indicator 9"] == 98853
    assert ptp(release, "11042", "97597") == [
        ("1", None, "CPT Manual or CMS manual coding instruction")
    ]
    # The same pair twice: in force with indicator 0, and an old deleted edit with 9.
    assert ptp(release, "29881", "29877") == [
        ("0", None, "Misuse of Column Two code with Column One code"),
        ("9", date(2002, 1, 1), "Misuse of Column Two code with Column One code"),
    ]
    assert PtpEdit.objects.filter(release=release, prior_1996=True).count() == 2093


@pytest.mark.slow
def test_the_hospital_ptp_table_streams_in_full(cms_data, cms_releases):
    release = import_file(
        "ncci-ptp",
        cms_data / "ncci/ncci_ptp_hospital_2024-07-01_from_northstar.csv.gz",
        "NCCI PTP hospital 2024-07-01",
        date(2024, 7, 1),
    )

    assert release.status in (Release.Status.IMPORTED, Release.Status.ACTIVE), release.error
    assert release.setting == "hospital"
    assert release.row_count == 1775818
    assert release.counts["pairs in force"] == 1335857
    assert ptp(release, "97140", "97530") == [
        ("1", date(2019, 12, 31), "Mutually exclusive procedures")
    ]


# --- DRG weights, index tables --------------------------------------------------------------


def test_table5_gives_the_capped_weight_and_mean_stays(cms_data):
    release = import_file(
        "drg-weights",
        cms_data / "msdrg/ms-drg-table5-weights-fy2026.txt",
        "MS-DRG weights FY2026 (Table 5, final rule)",
        date(2025, 10, 1),
    )

    # Already active when a DRG test's session fixture loaded the same file first (same checksum).
    assert release.status in (Release.Status.IMPORTED, Release.Status.ACTIVE), release.error
    assert release.row_count == 770
    assert release.counts["DRGs without a weight (not stored)"] == 2  # 998, 999
    drg001 = DrgWeight.objects.get(release=release, drg="001")
    assert (drg001.mdc, drg001.drg_type, drg001.weight) == ("PRE", "SURG", Decimal("28.0239"))
    assert (drg001.geometric_mean_los, drg001.arithmetic_mean_los) == (
        Decimal("25.8"),
        Decimal("36.2"),
    )
    drg003 = DrgWeight.objects.get(release=release, drg="003")
    assert drg003.post_acute and not drg003.special_pay
    assert drg003.title.startswith("ECMO OR TRACHEOSTOMY WITH MV >96 HOURS")


def test_the_drug_table_is_searched_with_icd10cm(cms_data):
    release = import_file(
        "icd10cm-drugs",
        cms_data / "icd10cm/icd10cm-drug-April-1-2026.xml.gz",
        "ICD-10-CM Table of Drugs FY2026 April update",
        date(2026, 4, 1),
        activate=True,
    )

    assert release.status == Release.Status.ACTIVE, release.error
    assert release.row_count == 40036
    assert release.counts["empty cells (--)"] == 3188
    entry = IndexEntry.objects.get(
        release=release, path="Acetaminophen", column="Poisoning, Accidental (unintentional)"
    )
    assert (entry.table, entry.code) == (IndexEntry.Table.DRUG, "T39.1X1-")
    assert IndexEntry.objects.filter(
        release=release, path="2,4-D (dichlorophen-oxyacetic acid)", code="T60.3X1-"
    ).exists()

    hits = code_search(
        system="icd10cm", query="acetaminophen poisoning accidental", on=date(2026, 4, 1)
    )
    assert "T39.1X1-" in [hit.code for hit in hits[:5]]


def test_the_neoplasm_table_and_external_cause_index_load(cms_data):
    neoplasm = import_file(
        "icd10cm-neoplasm",
        cms_data / "icd10cm/icd10cm-neoplasm-April-1-2026.xml.gz",
        "ICD-10-CM Neoplasm Table FY2026 April update",
        date(2026, 4, 1),
    )
    eindex = import_file(
        "icd10cm-eindex",
        cms_data / "icd10cm/icd10cm-eindex-April-1-2026.xml.gz",
        "ICD-10-CM External Cause Index FY2026 April update",
        date(2026, 4, 1),
    )

    assert neoplasm.row_count == 9020
    assert (
        IndexEntry.objects.get(
            release=neoplasm,
            path="Neoplasm, neoplastic > abdomen, abdominal > cavity",
            column="Malignant, Secondary",
        ).code
        == "C79.8-"
    )
    assert eindex.row_count == 6686
    assert (
        IndexEntry.objects.get(
            release=eindex, path="Accident (to) > boat, boating > striking swimmer > powered"
        ).code
        == "V94.11"
    )


# --- wrong files, failures, re-imports ------------------------------------------------------


def test_a_file_of_another_format_is_refused_before_anything_is_written(cms_data):
    before = Release.objects.count()

    with pytest.raises(ImportFormatError) as refused:
        services.release_register_file(
            system="hcpcs",
            path=cms_data / "ncci/MCR_MUE_PractitionerServices_Eff_04-01-2026.csv",
            label="Not HCPCS",
            effective_from=date(2026, 1, 1),
        )

    assert "is not a HCPCS Level II file" in str(refused.value)
    assert "CMS quarterly HCPCS zip" in str(refused.value)
    assert Release.objects.count() == before


def test_the_command_names_what_it_expected(cms_data, tmp_path):
    wrong = tmp_path / "mue.csv"
    wrong.write_text("code,units\n99213,2\n")
    before = (Release.objects.count(), MueEdit.objects.count())

    with pytest.raises(CommandError) as refused:
        call_command(
            "codesets", "import", "--system", "mue", "--label", "Wrong",
            "--effective-from", "2026-04-01", str(wrong),
        )  # fmt: skip

    assert "mue_adjudication_indicator" in str(refused.value)
    assert (Release.objects.count(), MueEdit.objects.count()) == before


def test_every_table_refuses_the_other_tables(cms_data):
    # Each CMS file is accepted by its own system only; the HCPCS files by hcpcs and modifier.
    hcpcs_files = {e.relative_path for e in CMS_FILES if e.relative_path.startswith("hcpcs/")}
    for entry in CMS_FILES:
        for system in {e.system for e in CMS_FILES}:
            accepts = system == entry.system or (
                entry.relative_path in hcpcs_files and system in ("hcpcs", "modifier")
            )
            if accepts:
                detect_format(system, entry.path)
            else:
                with pytest.raises(ImportFormatError):
                    detect_format(system, entry.path)


def test_a_truncated_gzip_fails_the_release_and_leaves_no_rows(cms_data, tmp_path):
    source = cms_data / "hcpcs/HCPC2026_JAN_ANWEB_01122026.csv.gz"
    truncated = tmp_path / "HCPC2026_JAN_truncated.csv.gz"
    truncated.write_bytes(source.read_bytes()[:100_000])

    release = import_file("hcpcs", truncated, "Truncated", date(2026, 1, 1))

    assert release.status == Release.Status.FAILED
    assert "ends early" in release.error
    assert not Code.objects.filter(release=release).exists()


def test_a_bad_row_mid_file_rolls_the_whole_import_back(cms_data, tmp_path):
    source = cms_data / "ncci/MUE_DMESupplierServices_2024-07-01_from_northstar.csv"
    lines = source.read_text().splitlines(keepends=True)
    code = lines[2000].split(",")[0]  # line 2001 of the file
    lines[2000] = f"{code},lots,3,CMS Policy\n"
    broken = tmp_path / "MUE_DMESupplierServices_broken.csv"
    broken.write_text("".join(lines))

    release = import_file("mue", broken, "Broken DME MUE", date(2024, 7, 1))

    assert release.status == Release.Status.FAILED
    assert release.error == f"Line 2001: MUE value 'lots' for {code} is not a number."
    assert not MueEdit.objects.filter(release=release).exists()


def test_a_truncated_ptp_gzip_fails_without_rows(cms_data, tmp_path):
    source = cms_data / "ncci/ncci_ptp_hospital_2024-07-01_from_northstar.csv.gz"
    truncated = tmp_path / "ncci_ptp_hospital_truncated.csv.gz"
    with open(source, "rb") as fh:
        truncated.write_bytes(fh.read(200_000))
    with gzip.open(truncated, "rt") as fh:
        assert fh.readline().startswith("column_1,column_2")  # the header is intact

    release = import_file("ncci-ptp", truncated, "Truncated PTP", date(2024, 7, 1))

    assert release.status == Release.Status.FAILED
    assert "ends early" in release.error
    assert not PtpEdit.objects.filter(release=release).exists()


def test_importing_the_same_file_again_changes_nothing(cms_data, tmp_path):
    path = cms_data / "ncci/AOC_addon_code_edits_2024-06-03_from_northstar.csv"
    first = import_file("aoc", path, "NCCI add-on code edits 2024-06-03", date(2024, 6, 3))
    # A copy under another name is still the same file: the checksum decides.
    copy = tmp_path / "aoc-again.csv"
    shutil.copyfile(path, copy)
    before = (Release.objects.count(), AddOnCodeEdit.objects.count())

    again, needs_import = services.release_register_file(
        system="aoc", path=copy, label="Another label", effective_from=date(2024, 7, 1)
    )
    out = StringIO()
    call_command(
        "codesets", "import", "--system", "aoc", "--label", "Yet another",
        "--effective-from", "2024-07-01", "--json", str(path), stdout=out,
    )  # fmt: skip

    assert (again.pk, needs_import) == (first.pk, False)
    assert json.loads(out.getvalue())["id"] == first.pk
    assert (Release.objects.count(), AddOnCodeEdit.objects.count()) == before


def test_the_manifest_lists_files_that_exist(cms_data):
    for entry in CMS_FILES:
        assert entry.path.is_file(), entry.relative_path
    labels = [(entry.system, entry.setting, entry.label) for entry in CMS_FILES]
    assert len(labels) == len(set(labels))
