"""The CMS files in ../shared/data that bootstrap imports when that folder is present."""

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from django.conf import settings


@dataclass(frozen=True)
class CmsFile:
    system: str
    relative_path: str
    label: str
    effective_from: date
    setting: str = ""

    @property
    def path(self) -> Path:
        return Path(settings.CMS_DATA_DIR) / self.relative_path


# Older releases first: activation closes each timeline whatever the order, but reading the
# list top-down then matches the history. Dates are the quarter or fiscal year each file is for.
CMS_FILES: list[CmsFile] = [
    CmsFile("hcpcs", "hcpcs/HCPC2025_OCT_ANWEB.xlsx", "HCPCS 2025 October", date(2025, 10, 1)),
    CmsFile(
        "hcpcs",
        "hcpcs/january-2026-alpha-numeric-hcpcs-file.zip",
        "HCPCS 2026 January",
        date(2026, 1, 1),
    ),
    CmsFile(
        "modifier",
        "hcpcs/HCPC2025_OCT_ANWEB.csv.gz",
        "HCPCS modifiers 2025 October",
        date(2025, 10, 1),
    ),
    CmsFile(
        "modifier",
        "modifiers/hcpcs_level2_modifiers_2026Q1.csv",
        "HCPCS modifiers 2026 January",
        date(2026, 1, 1),
    ),
    CmsFile(
        "ncci-ptp",
        "ncci/ncci_ptp_practitioner_v30.1r0_2024-04-01_from_northstar.csv.gz",
        "NCCI PTP practitioner 2024-04-01 (v30.1r0)",
        date(2024, 4, 1),
        setting="practitioner",
    ),
    CmsFile(
        "ncci-ptp",
        "ncci/ncci_ptp_hospital_2024-07-01_from_northstar.csv.gz",
        "NCCI PTP hospital 2024-07-01",
        date(2024, 7, 1),
        setting="hospital",
    ),
    CmsFile(
        "mue",
        "ncci/MCR_MUE_PractitionerServices_Eff_04-01-2026.csv",
        "NCCI MUE practitioner 2026-04-01",
        date(2026, 4, 1),
        setting="practitioner",
    ),
    CmsFile(
        "mue",
        "ncci/MUE_OutpatientHospitalServices_2024-07-01_from_northstar.csv",
        "NCCI MUE hospital 2024-07-01",
        date(2024, 7, 1),
        setting="hospital",
    ),
    CmsFile(
        "mue",
        "ncci/MUE_DMESupplierServices_2024-07-01_from_northstar.csv",
        "NCCI MUE DME supplier 2024-07-01",
        date(2024, 7, 1),
        setting="dme",
    ),
    CmsFile(
        "aoc",
        "ncci/AOC_addon_code_edits_2024-06-03_from_northstar.csv",
        "NCCI add-on code edits 2024-06-03",
        date(2024, 6, 3),
    ),
    CmsFile(
        "drg-weights",
        "msdrg/ms-drg-table5-weights-fy2026.txt",
        "MS-DRG weights FY2026 (Table 5, final rule)",
        date(2025, 10, 1),
    ),
    CmsFile(
        "icd10cm-drugs",
        "icd10cm/icd10cm-drug-April-1-2026.xml.gz",
        "ICD-10-CM Table of Drugs FY2026 April update",
        date(2026, 4, 1),
    ),
    CmsFile(
        "icd10cm-neoplasm",
        "icd10cm/icd10cm-neoplasm-April-1-2026.xml.gz",
        "ICD-10-CM Neoplasm Table FY2026 April update",
        date(2026, 4, 1),
    ),
    CmsFile(
        "icd10cm-eindex",
        "icd10cm/icd10cm-eindex-April-1-2026.xml.gz",
        "ICD-10-CM External Cause Index FY2026 April update",
        date(2026, 4, 1),
    ),
]


def cms_files_present() -> list[CmsFile]:
    return [entry for entry in CMS_FILES if entry.path.is_file()]
