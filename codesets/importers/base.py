"""What every release importer shares: the registry, the import context, file helpers.

An importer is a plain function `load(ctx, path)` that streams its source and hands rows to
`ctx.bulk_create`. Each file format also has a cheap `sniff(path)` that says whether a file is
of that format, so a wrong file is refused before anything is written.
"""

import csv
import gzip
import hashlib
import io
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import IO, Any

from django.core.cache import cache
from django.db import models

BATCH_SIZE = 5000
PROGRESS_EVERY = 5000


class ImportFormatError(ValueError):
    """The file is not what the chosen system expects. Nothing has been written."""


@dataclass(frozen=True)
class SystemInfo:
    slug: str
    name: str
    kind: str  # CodeSystem.Kind value
    settings: tuple[str, ...] = ("",)


# Every code system and table a release can belong to.
SYSTEMS: dict[str, SystemInfo] = {
    s.slug: s
    for s in [
        SystemInfo("icd10cm", "ICD-10-CM (diagnoses)", "codes"),
        SystemInfo("icd10pcs", "ICD-10-PCS (inpatient procedures)", "codes"),
        SystemInfo("hcpcs", "HCPCS Level II", "codes"),
        SystemInfo("cpt", "CPT (customer licence)", "codes"),
        SystemInfo("icd10who", "ICD-10 (WHO 2019)", "codes"),
        SystemInfo("modifier", "HCPCS/CPT modifiers", "codes"),
        SystemInfo(
            "ncci-ptp", "NCCI procedure-to-procedure edits", "edits", ("practitioner", "hospital")
        ),
        SystemInfo(
            "mue", "NCCI medically unlikely edits", "edits", ("practitioner", "hospital", "dme")
        ),
        SystemInfo("aoc", "NCCI add-on code edits", "edits"),
        SystemInfo("drg-weights", "MS-DRG relative weights (Table 5)", "table"),
        SystemInfo("icd10cm-drugs", "ICD-10-CM Table of Drugs and Chemicals", "table"),
        SystemInfo("icd10cm-neoplasm", "ICD-10-CM Neoplasm Table", "table"),
        SystemInfo("icd10cm-eindex", "ICD-10-CM External Cause Index", "table"),
    ]
}


@dataclass(frozen=True)
class FileFormat:
    """One file format a system can be imported from."""

    system: str
    name: str
    sniff: Callable[[Path], bool]
    load: Callable[["ImportContext", Path], None]


@dataclass(frozen=True)
class BundledSource:
    """A release that ships inside an installed package and `codesets bootstrap` loads."""

    key: str
    system: str
    label: str
    effective_from: date
    effective_to: date | None
    package: str
    data_files: Callable[[], list[Path]]
    load: Callable[["ImportContext", Path | None], None]


FILE_FORMATS: list[FileFormat] = []
BUNDLED_SOURCES: list[BundledSource] = []


def register_format(fmt: FileFormat) -> FileFormat:
    FILE_FORMATS.append(fmt)
    return fmt


def register_bundled(source: BundledSource) -> BundledSource:
    BUNDLED_SOURCES.append(source)
    return source


def formats_for(system: str) -> list[FileFormat]:
    return [f for f in FILE_FORMATS if f.system == system]


def detect_format(system: str, path: Path) -> FileFormat:
    candidates = formats_for(system)
    if not candidates:
        raise ImportFormatError(f"There is no file importer for the system {system!r}.")
    for fmt in candidates:
        try:
            if fmt.sniff(path):
                return fmt
        except (
            OSError,
            UnicodeDecodeError,
            zipfile.BadZipFile,
            gzip.BadGzipFile,
            EOFError,
            zlib.error,
            csv.Error,
        ):
            continue
    expected = "; or ".join(f.name for f in candidates)
    raise ImportFormatError(
        f"{path.name} is not a {SYSTEMS[system].name} file. Expected {expected}."
    )


@dataclass
class ImportContext:
    """Handed to an importer: the release being filled, counts and progress."""

    release: Any  # codesets.models.Release
    counts: Counter = field(default_factory=Counter)
    done: int = 0
    total: int = 0
    _last_reported: int = 0

    def set_total(self, total: int) -> None:
        self.total = total
        self._report()

    def advance(self, n: int = 1) -> None:
        self.done += n
        if self.done - self._last_reported >= PROGRESS_EVERY:
            self._report()

    def _report(self) -> None:
        self._last_reported = self.done
        progress_publish(self.release.pk, self.done, self.total)

    def bulk_create(
        self, model: type[models.Model], rows: Iterable[models.Model], batch_size: int = BATCH_SIZE
    ) -> list[models.Model]:
        """Insert rows in batches; returns the saved objects (with primary keys)."""
        saved: list[models.Model] = []
        batch: list[models.Model] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= batch_size:
                saved.extend(model.objects.bulk_create(batch))
                self.advance(len(batch))
                batch = []
        if batch:
            saved.extend(model.objects.bulk_create(batch))
            self.advance(len(batch))
        return saved

    def bulk_insert(
        self, model: type[models.Model], rows: Iterable[models.Model], batch_size: int = BATCH_SIZE
    ) -> int:
        """Like bulk_create but keeps nothing in memory: for tables of millions of rows."""
        count = 0
        batch: list[models.Model] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= batch_size:
                model.objects.bulk_create(batch)
                count += len(batch)
                self.advance(len(batch))
                batch = []
        if batch:
            model.objects.bulk_create(batch)
            count += len(batch)
            self.advance(len(batch))
        return count


def progress_key(release_id: int) -> str:
    return f"codesets:release-progress:{release_id}"


def progress_publish(release_id: int, done: int, total: int) -> None:
    # The import writes inside one transaction, so progress goes through the cache where
    # other processes can see it before the commit.
    cache.set(progress_key(release_id), (done, total), timeout=24 * 3600)


def progress_read(release_id: int) -> tuple[int, int] | None:
    return cache.get(progress_key(release_id))


def file_checksum(paths: Iterable[Path]) -> str:
    """SHA-256 over the files, remembered per (path, size, modification time): bootstrap
    checks every CMS file on each start and re-reading 15 MB of NCCI tables costs seconds."""
    paths = list(paths)
    stamp = "|".join(f"{p.resolve()}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in paths)
    key = "codesets:checksum:" + hashlib.sha256(stamp.encode()).hexdigest()
    remembered = cache.get(key)
    if remembered:
        return remembered
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1024 * 1024), b""):
                digest.update(chunk)
    checksum = digest.hexdigest()
    cache.set(key, checksum, timeout=30 * 24 * 3600)
    return checksum


GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"


def magic_bytes(path: Path, n: int = 4) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(n)


def is_gzip(path: Path) -> bool:
    # By content, not by name: a registered release keeps its source under a name without
    # an extension (see services.release_file_path).
    return magic_bytes(path, 2) == GZIP_MAGIC


def open_text(path: Path, encoding: str = "utf-8") -> IO[str]:
    """Open a plain or gzip-compressed text file for streaming."""
    # Returned open on purpose: the caller uses the wrapper as a context manager.
    if is_gzip(path):
        raw: IO[bytes] = gzip.open(path, "rb")  # noqa: SIM115
    else:
        raw = open(path, "rb")  # noqa: SIM115
    return io.TextIOWrapper(raw, encoding=encoding, errors="strict", newline="")


def head_bytes(path: Path, n: int = 4096) -> bytes:
    if is_gzip(path):
        with gzip.open(path, "rb") as fh:
            return fh.read(n)
    with open(path, "rb") as fh:
        return fh.read(n)


def batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def parse_yyyymmdd(value: str) -> date | None:
    value = (value or "").strip()
    if not value or value == "*" or not value.isdigit() or len(value) != 8:
        return None
    return date(int(value[:4]), int(value[4:6]), int(value[6:]))
