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


CMS_FILES: list[CmsFile] = []


def cms_files_present() -> list[CmsFile]:
    return [entry for entry in CMS_FILES if entry.path.is_file()]
