"""Release importers. Importing this package registers every bundled source and file format."""

from codesets.importers import (  # noqa: F401  (registration side effect)
    drg_weights,
    hcpcs,
    icd10,
    index_tables,
    ncci,
    pcs,
)
from codesets.importers.base import (
    BUNDLED_SOURCES,
    FILE_FORMATS,
    SYSTEMS,
    ImportFormatError,
    detect_format,
)

__all__ = ["BUNDLED_SOURCES", "FILE_FORMATS", "SYSTEMS", "ImportFormatError", "detect_format"]
