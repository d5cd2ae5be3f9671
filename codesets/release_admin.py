"""The admin's release pages: stage an uploaded or downloaded file, suggest its label and dates,
register and queue its import, schedule activation, and the beat task's activation of due
releases.

A file is first *staged* (kept under MEDIA_ROOT/release-staging/<token>/ with a small JSON
note), so the admin can check the suggested system, label and dates before anything is
registered. A file of the wrong format or over the size limit never gets past staging.
"""

import json
import logging
import re
import secrets
import shutil
import time
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from codesets import selectors, services
from codesets.downloads import DownloadError, download_release_file
from codesets.importers import SYSTEMS, ImportFormatError, detect_format
from codesets.importers.base import file_checksum, formats_for
from codesets.importers.cms_manifest import CMS_FILES
from codesets.models import Release
from codesets.services import ReleaseError

logger = logging.getLogger(__name__)

STAGING_MAX_AGE_SECONDS = 24 * 3600
_TOKEN = re.compile(r"^[0-9a-f]{32}$")

# How release labels start, per system (the CMS manifest's wording).
LABEL_PREFIX = {
    "icd10cm": "ICD-10-CM",
    "icd10pcs": "ICD-10-PCS",
    "hcpcs": "HCPCS",
    "cpt": "CPT",
    "icd10who": "ICD-10 (WHO)",
    "modifier": "HCPCS modifiers",
    "ncci-ptp": "NCCI PTP",
    "mue": "NCCI MUE",
    "aoc": "NCCI add-on code edits",
    "drg-weights": "MS-DRG weights",
    "icd10cm-drugs": "ICD-10-CM Table of Drugs",
    "icd10cm-neoplasm": "ICD-10-CM Neoplasm Table",
    "icd10cm-eindex": "ICD-10-CM External Cause Index",
}
SETTING_WORD = {"practitioner": "practitioner", "hospital": "hospital", "dme": "DME supplier"}
MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}
MONTH_NAMES = [
    "",
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


@dataclass
class StagedFile:
    """A file waiting for the admin to confirm its release details."""

    token: str
    name: str
    size: int
    checksum: str
    source: str  # Release.Source value
    source_url: str = ""
    systems: list[str] = field(default_factory=list)  # systems whose format the file fits
    formats: dict[str, str] = field(default_factory=dict)  # system → format name
    existing_release_id: int | None = None

    @property
    def directory(self) -> Path:
        return staging_root() / self.token

    @property
    def path(self) -> Path:
        return self.directory / self.name


@dataclass(frozen=True)
class Suggestion:
    label: str
    effective_from: date | None
    effective_to: date | None
    setting: str
    why: str  # where the suggestion came from, shown beside the form


def staging_root() -> Path:
    return Path(settings.MEDIA_ROOT) / "release-staging"


def _new_staging_dir() -> tuple[str, Path]:
    _staging_sweep()
    token = secrets.token_hex(16)
    directory = staging_root() / token
    directory.mkdir(parents=True)
    return token, directory


def _staging_sweep() -> None:
    """Staged files the admin never confirmed are removed after a day."""
    root = staging_root()
    if not root.is_dir():
        return
    cutoff = time.time() - STAGING_MAX_AGE_SECONDS
    for entry in root.iterdir():
        try:
            if entry.is_dir() and entry.stat().st_mtime < cutoff:
                shutil.rmtree(entry, ignore_errors=True)
        except OSError:
            continue


def _safe_name(name: str) -> str:
    name = Path(name or "release-file").name.strip().replace("\x00", "")
    name = re.sub(r"[^\w.\-]+", "_", name)[:120]
    return name or "release-file"


def _fitting_systems(path: Path, system: str) -> dict[str, str]:
    """System → format name for every system whose file format this file fits."""
    if system:
        if system not in SYSTEMS:
            raise ReleaseError(f"Unknown code system {system!r}.")
        fmt = detect_format(system, path)  # ImportFormatError names what was expected
        return {system: fmt.name}
    fits: dict[str, str] = {}
    for slug in SYSTEMS:
        if not formats_for(slug):
            continue
        try:
            fits[slug] = detect_format(slug, path).name
        except ImportFormatError:
            continue
    if not fits:
        raise ImportFormatError(
            f"{path.name} is not a release file this app can import (no known format fits). "
            "Choose its code system to see the format expected."
        )
    return fits


def _finish_staging(staged: StagedFile, system: str) -> StagedFile:
    """Sniff the staged file; refuse (and remove it) if no format fits."""
    try:
        fits = _fitting_systems(staged.path, system)
    except (ImportFormatError, ReleaseError):
        shutil.rmtree(staged.directory, ignore_errors=True)
        raise
    staged.systems = list(fits)
    staged.formats = fits
    staged.checksum = file_checksum([staged.path])
    existing = (
        Release.objects.filter(system__slug__in=staged.systems, checksum=staged.checksum)
        .exclude(status=Release.Status.FAILED)
        .order_by("pk")
        .first()
    )
    staged.existing_release_id = existing.pk if existing else None
    if existing is not None:
        # The same file was imported before: that release is the answer, nothing is kept.
        shutil.rmtree(staged.directory, ignore_errors=True)
        return staged
    (staged.directory / "staged.json").write_text(json.dumps(asdict(staged)))
    return staged


def release_stage_upload(*, uploaded: UploadedFile, system: str = "") -> StagedFile:
    """Keep an uploaded file for confirmation. Refused when too large or of no known format."""
    limit = settings.RELEASE_UPLOAD_MAX_BYTES
    if uploaded.size is not None and uploaded.size > limit:
        raise ReleaseError(
            f"{uploaded.name} is {uploaded.size:,} bytes; the limit is {limit:,} bytes "
            f"({limit // (1024 * 1024)} MB)."
        )
    if not uploaded.size:
        raise ReleaseError(f"{uploaded.name} is empty.")
    token, _directory = _new_staging_dir()
    staged = StagedFile(
        token=token,
        name=_safe_name(uploaded.name),
        size=uploaded.size,
        checksum="",
        source=Release.Source.UPLOAD,
    )
    with open(staged.path, "wb") as out:
        for chunk in uploaded.chunks():
            out.write(chunk)
    return _finish_staging(staged, system)


def release_stage_url(*, url: str, system: str = "") -> StagedFile:
    """Download a file (size-limited) and keep it for confirmation."""
    url = url.strip()
    token, directory = _new_staging_dir()
    try:
        downloaded = download_release_file(
            url, max_bytes=settings.RELEASE_UPLOAD_MAX_BYTES, dest_dir=directory
        )
    except DownloadError as exc:
        shutil.rmtree(directory, ignore_errors=True)
        raise ReleaseError(str(exc)) from exc
    if downloaded is None:  # only with an ETag, which this page never sends
        shutil.rmtree(directory, ignore_errors=True)
        raise ReleaseError("The server sent no file.")
    name = _safe_name(downloaded.name)
    if name != downloaded.name:
        downloaded.path.rename(directory / name)
    staged = StagedFile(
        token=token,
        name=name,
        size=downloaded.size,
        checksum=downloaded.checksum,
        source=Release.Source.URL,
        source_url=url,
    )
    return _finish_staging(staged, system)


def staged_get(token: str) -> StagedFile | None:
    if not _TOKEN.match(token or ""):
        return None
    note = staging_root() / token / "staged.json"
    if not note.is_file():
        return None
    staged = StagedFile(**json.loads(note.read_text()))
    return staged if staged.path.is_file() else None


def staged_discard(staged: StagedFile) -> None:
    shutil.rmtree(staged.directory, ignore_errors=True)


def effective_date_in_name(name: str) -> tuple[date | None, str]:
    """The effective date a CMS file name states, and how it was read."""
    text = name.lower()
    # 2024-04-01 / 2024_04_01
    match = re.search(r"(20\d\d)[-_](\d\d)[-_](\d\d)", text)
    if match:
        y, m, d = map(int, match.groups())
        return _safe_date(y, m, d), "the date in the file name"
    # 04-01-2026 (CMS MUE: Eff_04-01-2026)
    match = re.search(r"(\d\d)[-_](\d\d)[-_](20\d\d)", text)
    if match:
        m, d, y = map(int, match.groups())
        return _safe_date(y, m, d), "the date in the file name"
    # April-1-2026 (ICD-10-CM tables)
    match = re.search(r"([a-z]+)[-_ ](\d{1,2})[-_ ,]+(20\d\d)", text)
    if match and match.group(1) in MONTHS:
        return _safe_date(int(match.group(3)), MONTHS[match.group(1)], int(match.group(2))), (
            "the date in the file name"
        )
    # HCPC2026_JAN, january-2026, 2026-january
    match = re.search(r"(20\d\d)[-_ ]?([a-z]{3,9})(?![a-z])", text)
    if match and match.group(2) in MONTHS:
        return date(int(match.group(1)), MONTHS[match.group(2)], 1), "the month in the file name"
    match = re.search(r"(?<![a-z])([a-z]{3,9})[-_ ]?(20\d\d)", text)
    if match and match.group(1) in MONTHS:
        return date(int(match.group(2)), MONTHS[match.group(1)], 1), "the month in the file name"
    # 2026Q1
    match = re.search(r"(20\d\d)[-_ ]?q([1-4])", text)
    if match:
        return date(int(match.group(1)), 3 * int(match.group(2)) - 2, 1), (
            "the quarter in the file name"
        )
    # FY2026: the US federal fiscal year starts on October 1 of the year before.
    match = re.search(r"fy[-_ ]?(20\d\d)", text)
    if match:
        return date(int(match.group(1)) - 1, 10, 1), "the fiscal year in the file name"
    return None, ""


def _safe_date(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        return None


def unique_label(system: str, setting: str, label: str) -> str:
    """`label`, or `label (2)`, `(3)`… when a release of the system already has it."""
    taken = set(
        Release.objects.filter(system__slug=system, setting=setting).values_list("label", flat=True)
    )
    if label not in taken:
        return label
    n = 2
    while f"{label} ({n})" in taken:
        n += 1
    return f"{label} ({n})"


def release_suggest(*, system: str, name: str) -> Suggestion:
    """Label, dates and setting for a file, from what its name says (CMS names its files by
    period) or, for a file of the CMS manifest, from the manifest."""
    setting = services.guess_setting(system, name)
    for entry in CMS_FILES:
        if entry.system == system and Path(entry.relative_path).name == name:
            return Suggestion(
                label=unique_label(system, entry.setting, entry.label),
                effective_from=entry.effective_from,
                effective_to=None,
                setting=entry.setting,
                why="the list of known CMS files",
            )
    effective_from, why = effective_date_in_name(name)
    prefix = LABEL_PREFIX.get(system, SYSTEMS[system].name if system in SYSTEMS else system)
    if setting:
        prefix += f" {SETTING_WORD.get(setting, setting)}"
    if effective_from is None:
        label = f"{prefix} {Path(name).name.split('.')[0]}"[:120]
    elif "month" in why or "quarter" in why:
        label = f"{prefix} {effective_from.year} {MONTH_NAMES[effective_from.month]}"
    elif "fiscal" in why:
        label = f"{prefix} FY{effective_from.year + 1}"
    else:
        label = f"{prefix} {effective_from.isoformat()}"
    return Suggestion(
        label=unique_label(system, setting, label),
        effective_from=effective_from,
        effective_to=None,
        setting=setting,
        why=why or "the file name (no date found: check the dates)",
    )


def release_create_from_staged(
    *,
    staged: StagedFile,
    system: str,
    setting: str,
    label: str,
    effective_from: date,
    effective_to: date | None = None,
    created_by=None,
) -> tuple[Release, bool]:
    """Register the staged file as a pending release and queue its import (Celery).

    Returns (release, queued): not queued when the same file was imported before.
    """
    if system not in staged.systems:
        raise ReleaseError(
            f"{staged.name} is not a {SYSTEMS.get(system, system)} file; it fits "
            f"{', '.join(SYSTEMS[s].name for s in staged.systems)}."
        )
    label = label.strip()
    if not label:
        raise ReleaseError("Give the release a label.")
    if effective_to and effective_to < effective_from:
        raise ReleaseError("The last day in force cannot be before the first.")
    with transaction.atomic():
        release, needs_import = services.release_register_file(
            system=system,
            path=staged.path,
            label=label,
            effective_from=effective_from,
            effective_to=effective_to,
            setting=setting,
            source=staged.source,
            created_by=created_by,
        )
        if needs_import:
            if staged.source_url:
                release.source_url = staged.source_url[:500]
                release.save(update_fields=["source_url"])
            services.release_import_queue(release=release)
    staged_discard(staged)
    return release, needs_import


# --- activation: now, scheduled, retire ---------------------------------------------------------


@transaction.atomic
def release_schedule(*, release: Release, on: date) -> Release:
    """Activate on a date: the beat task `codesets.activate_scheduled_releases` does it."""
    locked = Release.objects.select_for_update().get(pk=release.pk)
    if locked.status not in (
        Release.Status.PENDING,
        Release.Status.IMPORTING,
        Release.Status.IMPORTED,
    ):
        raise ReleaseError(
            f"Only a release that is imported (or still importing) can be scheduled; "
            f"{locked.label} is {locked.get_status_display().lower()}."
        )
    if on < timezone.localdate():
        raise ReleaseError(f"{on.isoformat()} is in the past: activate now instead.")
    locked.activate_on = on
    locked.save(update_fields=["activate_on"])
    return locked


@transaction.atomic
def release_schedule_cancel(*, release: Release) -> Release:
    locked = Release.objects.select_for_update().get(pk=release.pk)
    locked.activate_on = None
    locked.save(update_fields=["activate_on"])
    return locked


def release_activate_now(*, release: Release) -> Release:
    """Activate at once (the release's own effective date still says from when it is in force);
    a schedule it had is done with."""
    activated = services.release_activate(release=release)
    if activated.activate_on:
        Release.objects.filter(pk=activated.pk).update(activate_on=None)
        activated.activate_on = None
    return activated


def release_retire_checked(*, release: Release) -> Release:
    """Retire an active or imported release, but never the only active one of its system:
    dates of service would find no release in force."""
    if release.status not in (Release.Status.ACTIVE, Release.Status.IMPORTED):
        raise ReleaseError(
            f"Only an active or imported release can be retired; {release.label} is "
            f"{release.get_status_display().lower()}."
        )
    if release.status == Release.Status.ACTIVE:
        others = (
            Release.objects.filter(
                system_id=release.system_id, setting=release.setting, status=Release.Status.ACTIVE
            )
            .exclude(pk=release.pk)
            .exists()
        )
        if not others:
            raise ReleaseError(
                f"{release.label} is the only active {release.system.name} release: activate "
                "its successor first, or dates of service would find no release in force."
            )
    retired = services.release_retire(release=release)
    if retired.activate_on:
        Release.objects.filter(pk=retired.pk).update(activate_on=None)
    return retired


def releases_activate_due(*, today: date | None = None) -> list[tuple[Release, str]]:
    """Activate every imported release whose scheduled date has come (the beat task).

    Returns (release, error) pairs; a release that cannot be activated keeps its schedule
    and its reason is logged, so the admin sees it as overdue on the releases page.
    """
    today = today or timezone.localdate()
    results: list[tuple[Release, str]] = []
    due = Release.objects.select_related("system").filter(
        activate_on__lte=today, status=Release.Status.IMPORTED
    )
    for release in due.order_by("activate_on", "effective_from", "pk"):
        try:
            results.append((release_activate_now(release=release), ""))
        except ReleaseError as exc:
            logger.warning("Scheduled activation of release %s failed: %s", release.pk, exc)
            results.append((release, str(exc)))
    return results


# --- reads for the pages ------------------------------------------------------------------------


def releases_needing_attention() -> QuerySet[Release]:
    """Pending, importing, failed, imported-but-not-active and scheduled releases."""
    return (
        Release.objects.select_related("system", "created_by")
        .filter(
            Q(
                status__in=[
                    Release.Status.PENDING,
                    Release.Status.IMPORTING,
                    Release.Status.FAILED,
                    Release.Status.IMPORTED,
                ]
            )
            | Q(activate_on__isnull=False, status=Release.Status.IMPORTED)
        )
        .order_by("-created_at")
    )


def diff_base_for(release: Release) -> Release | None:
    """What a release's changes are shown against: the release in force today of its system
    (and setting), or, for the release in force itself, the one before it."""
    in_force = selectors.release_in_force(system=release.system.slug, setting=release.setting)
    if in_force is not None and in_force.pk != release.pk:
        return in_force
    return (
        Release.objects.filter(
            system_id=release.system_id,
            setting=release.setting,
            status__in=[Release.Status.ACTIVE, Release.Status.RETIRED, Release.Status.IMPORTED],
            effective_from__lt=release.effective_from,
        )
        .exclude(pk=release.pk)
        .order_by("-effective_from")
        .first()
    )
