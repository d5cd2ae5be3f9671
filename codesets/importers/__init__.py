"""Release importers. Importing this package registers every bundled source and file format."""

from codesets.importers import icd10, pcs  # noqa: F401  (registration side effect)
from codesets.importers.base import (
    BUNDLED_SOURCES,
    FILE_FORMATS,
    SYSTEMS,
    ImportFormatError,
    detect_format,
)

__all__ = ["BUNDLED_SOURCES", "FILE_FORMATS", "SYSTEMS", "ImportFormatError", "detect_format"]
