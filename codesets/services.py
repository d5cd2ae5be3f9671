"""Writes to the code database: registering, importing, activating and retiring releases."""

import csv
import gzip
import logging
import shutil
import zipfile
import zlib
from datetime import date, timedelta
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from codesets.importers import BUNDLED_SOURCES, SYSTEMS, ImportFormatError, detect_format
from codesets.importers.base import BundledSource, ImportContext, file_checksum, progress_publish
from codesets.models import CodeSystem, Release
from codesets.signals import release_activated

logger = logging.getLogger(__name__)


class ReleaseError(ValueError):
    """A release cannot be registered, imported or activated as asked."""


def code_system_get(slug: str) -> CodeSystem:
    if slug not in SYSTEMS:
        known = ", ".join(sorted(SYSTEMS))
        raise ReleaseError(f"Unknown code system {slug!r}. Known systems: {known}.")
    info = SYSTEMS[slug]
    system, _ = CodeSystem.objects.get_or_create(
        slug=slug, defaults={"name": info.name, "kind": info.kind}
    )
    return system


def _check_setting(system: str, setting: str) -> str:
    allowed = SYSTEMS[system].settings
    if setting not in allowed:
        if allowed == ("",):
            raise ReleaseError(f"{SYSTEMS[system].name} has no care setting; drop --setting.")
        raise ReleaseError(
            f"{SYSTEMS[system].name} needs a care setting: one of {', '.join(allowed)}."
        )
    return setting


def guess_setting(system: str, filename: str) -> str:
    """CMS names its NCCI files by setting; fall back to practitioner, the most common."""
    allowed = SYSTEMS[system].settings if system in SYSTEMS else ("",)
    if allowed == ("",):
        return ""
    name = filename.lower()
    if "dme" in name and "dme" in allowed:
        return "dme"
    if ("hospital" in name or "outpatient" in name or "_out" in name) and "hospital" in allowed:
        return "hospital"
    return "practitioner"


def _register(
    *,
    system: str,
    setting: str,
    label: str,
    effective_from: date,
    effective_to: date | None,
    source: str,
    source_name: str,
    checksum: str,
    created_by=None,
) -> tuple[Release, bool]:
    """The release for this source: the existing one (same checksum) or a new pending one."""
    code_system = code_system_get(system)
    existing = Release.objects.filter(
        system=code_system, setting=setting, checksum=checksum
    ).first()
    if existing is not None:
        if existing.status == Release.Status.FAILED:
            existing.status = Release.Status.PENDING
            existing.error = ""
            existing.label = label
            existing.save(update_fields=["status", "error", "label"])
            return existing, True
        return existing, False
    if Release.objects.filter(system=code_system, setting=setting, label=label).exists():
        raise ReleaseError(
            f"A different {SYSTEMS[system].name} release is already labelled {label!r}; "
            "choose another label."
        )
    try:
        with transaction.atomic():
            release = Release.objects.create(
                system=code_system,
                setting=setting,
                label=label,
                effective_from=effective_from,
                effective_to=effective_to,
                source=source,
                source_name=source_name,
                checksum=checksum,
                created_by=created_by,
            )
    except IntegrityError:
        # Someone registered the same file at the same moment: theirs is the release.
        release = Release.objects.get(system=code_system, setting=setting, checksum=checksum)
        return release, False
    return release, True


def release_register_file(
    *,
    system: str,
    path: Path,
    label: str,
    effective_from: date,
    effective_to: date | None = None,
    setting: str | None = None,
    source: str = Release.Source.FILE,
    created_by=None,
) -> tuple[Release, bool]:
    """Check a file's format and register it as a pending release (nothing else is written).

    Returns (release, needs_import): False when the same file was imported before.
    """
    code_system_get(system)
    if not path.is_file():
        raise ReleaseError(f"No file at {path}.")
    size = path.stat().st_size
    if size == 0:
        raise ReleaseError(f"{path.name} is empty.")
    if size > settings.RELEASE_UPLOAD_MAX_BYTES:
        raise ReleaseError(
            f"{path.name} is {size // (1024 * 1024)} MB; the limit is "
            f"{settings.RELEASE_UPLOAD_MAX_BYTES // (1024 * 1024)} MB."
        )
    detect_format(system, path)  # raises ImportFormatError before anything is written
    setting = _check_setting(
        system, guess_setting(system, path.name) if setting is None else setting
    )
    release, is_new = _register(
        system=system,
        setting=setting,
        label=label,
        effective_from=effective_from,
        effective_to=effective_to,
        source=source,
        source_name=path.name,
        checksum=file_checksum([path]),
        created_by=created_by,
    )
    if is_new:
        stored = release_file_path(release)
        stored.parent.mkdir(parents=True, exist_ok=True)
        if stored.resolve() != path.resolve():
            shutil.copyfile(path, stored)
    return release, is_new


def release_file_path(release: Release) -> Path:
    """Where a file release's source is kept, so a retried import can read it again.
    The name keeps the original's extension (.csv.gz, .xlsx) for tools that look at it."""
    suffix = "".join(Path(release.source_name).suffixes)[-12:]
    name = f"{release.pk}-{release.checksum[:12]}{suffix}"
    return Path(settings.MEDIA_ROOT) / "releases" / name


def bundled_source_get(key: str) -> BundledSource:
    for source in BUNDLED_SOURCES:
        if source.key == key:
            return source
    raise ReleaseError(f"No bundled source {key!r}.")


def release_register_bundled(*, source: BundledSource) -> tuple[Release, bool]:
    release, needs_import = _register(
        system=source.system,
        setting="",
        label=source.label,
        effective_from=source.effective_from,
        effective_to=source.effective_to,
        source=Release.Source.BUNDLED,
        source_name=f"{source.package}:{source.key}",
        checksum=file_checksum(source.data_files()),
    )
    return release, needs_import


def _loader_for(release: Release):
    if release.source == Release.Source.BUNDLED:
        key = release.source_name.split(":", 1)[1]
        source = bundled_source_get(key)
        return lambda ctx: source.load(ctx, None)
    path = release_file_path(release)
    fmt = detect_format(release.system.slug, path)
    return lambda ctx: fmt.load(ctx, path)


# Problems with the file itself: reported on the release, not raised to the worker.
DATA_ERRORS = (
    ImportFormatError,
    ReleaseError,
    ValueError,
    KeyError,
    UnicodeDecodeError,
    EOFError,
    zlib.error,
    gzip.BadGzipFile,
    zipfile.BadZipFile,
    csv.Error,
)


def _plain_error(exc: Exception) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return f"The file is not in the expected text encoding ({exc.encoding})."
    if isinstance(exc, EOFError | zlib.error | gzip.BadGzipFile):
        return "The file ends early or is damaged: it looks truncated."
    if isinstance(exc, zipfile.BadZipFile):
        return "The file is not a readable zip archive."
    return str(exc)[:2000] or exc.__class__.__name__


def release_import(*, release_id: int) -> Release:
    """Fill a pending release from its source in one transaction.

    Safe to run twice: an imported release is left alone, and rows of an earlier attempt
    that died are removed with it (they were never committed).
    """
    done = (Release.Status.IMPORTED, Release.Status.ACTIVE, Release.Status.RETIRED)
    release = Release.objects.select_related("system").get(pk=release_id)
    if release.status in done:
        return release
    # Conditional: an import that finished meanwhile is not marked importing again.
    if (
        not Release.objects.filter(pk=release.pk)
        .exclude(status__in=done)
        .update(status=Release.Status.IMPORTING, error="")
    ):
        release.refresh_from_db()
        return release
    release.status = Release.Status.IMPORTING
    ctx = ImportContext(release=release)
    started = timezone.now()
    try:
        loader = _loader_for(release)
        with transaction.atomic():
            # Two runs of one import at once (a redelivered task, two workers): the row lock
            # makes the second wait, and it then finds the release imported and writes nothing.
            locked = Release.objects.select_for_update().get(pk=release.pk)
            if locked.status in done:
                return locked
            loader(ctx)
            total_rows = ctx.done
            Release.objects.filter(pk=release.pk).update(
                status=Release.Status.IMPORTED,
                row_count=total_rows,
                progress_done=total_rows,
                progress_total=max(ctx.total, total_rows),
                counts=dict(sorted(ctx.counts.items())),
                imported_at=timezone.now(),
            )
    except Exception as exc:
        # The transaction has rolled back: no rows of this release remain, only the reason.
        logger.warning("Import of release %s failed: %s", release.pk, exc)
        Release.objects.filter(pk=release.pk).update(
            status=Release.Status.FAILED, error=_plain_error(exc)
        )
        if not isinstance(exc, DATA_ERRORS):
            raise
        release.refresh_from_db()
        return release
    progress_publish(release.pk, ctx.done, max(ctx.total, ctx.done))
    release.refresh_from_db()
    logger.info(
        "Imported release %s (%s) with %s rows in %.1fs",
        release.pk,
        release.label,
        release.row_count,
        (timezone.now() - started).total_seconds(),
    )
    return release


@transaction.atomic
def release_activate(*, release: Release) -> Release:
    """Put a release in force from its effective date.

    Active releases of a system form one timeline: each is in force until the day before the
    next one starts, so exactly one release is in force on any date after the first.
    """
    locked = Release.objects.select_for_update().get(pk=release.pk)
    if locked.status not in (Release.Status.IMPORTED, Release.Status.ACTIVE):
        raise ReleaseError(
            f"Only an imported release can be activated; {locked.label} is {locked.status}."
        )
    if (
        Release.objects.filter(
            system=locked.system_id,
            setting=locked.setting,
            status=Release.Status.ACTIVE,
            effective_from=locked.effective_from,
        )
        .exclude(pk=locked.pk)
        .exists()
    ):
        raise ReleaseError(
            f"Another active release already starts on {locked.effective_from}; retire it first."
        )
    # The database refuses two active releases in force on one date (exclusion constraint on
    # PostgreSQL), checked row by row: neighbours are shortened before this one joins.
    _timeline_close(system_id=locked.system_id, setting=locked.setting, joining=locked)
    locked.refresh_from_db()
    # Robust: the activation has committed; a listener's failure is logged, not raised at the
    # admin who activated.
    transaction.on_commit(lambda: release_activated.send_robust(sender=Release, release=locked))
    return locked


@transaction.atomic
def release_retire(*, release: Release) -> Release:
    locked = Release.objects.select_for_update().get(pk=release.pk)
    locked.status = Release.Status.RETIRED
    locked.save(update_fields=["status"])
    _timeline_close(system_id=locked.system_id, setting=locked.setting)
    return locked


def _timeline_close(*, system_id: int, setting: str, joining: Release | None = None) -> None:
    """Each active release is in force until the day before the next one starts.

    `joining` (being activated) is written last but one: releases whose end moves earlier are
    shortened first and those whose end moves later (after a retirement) lengthened last, so no
    single UPDATE ever makes two active releases overlap.
    """
    active = list(
        Release.objects.filter(system_id=system_id, setting=setting, status=Release.Status.ACTIVE)
        .exclude(pk=joining.pk if joining else None)
        .order_by("effective_from")
    )
    if joining is not None:
        active = sorted([*active, joining], key=lambda r: r.effective_from)
    ends = {}
    for current, following in zip(active, [*active[1:], None], strict=True):
        ends[current.pk] = following.effective_from - timedelta(days=1) if following else None

    def shorter(release: Release) -> bool:
        new, old = ends[release.pk], release.effective_to
        return new is not None and (old is None or new < old)

    others = [r for r in active if r is not joining and r.effective_to != ends[r.pk]]
    for release in [r for r in others if shorter(r)]:
        release.effective_to = ends[release.pk]
        release.save(update_fields=["effective_to"])
    if joining is not None:
        joining.status = Release.Status.ACTIVE
        joining.activated_at = timezone.now()
        joining.effective_to = ends[joining.pk]
        joining.save(update_fields=["status", "activated_at", "effective_to"])
    for release in [r for r in others if not shorter(r)]:
        release.effective_to = ends[release.pk]
        release.save(update_fields=["effective_to"])


def release_import_now(*, release: Release) -> Release:
    """Run the import task in this process (for the command line and first-run bootstrap)."""
    from codesets.tasks import release_import_task

    release_import_task.apply(args=[release.pk], throw=True)
    release.refresh_from_db()
    return release


def release_import_queue(*, release: Release) -> None:
    """Hand the import to a Celery worker once the registering transaction has committed."""
    from codesets.tasks import release_import_task

    transaction.on_commit(lambda: release_import_task.delay(release.pk))


def codesets_bootstrap(*, include_cms: bool = True, report=lambda line: None) -> list[Release]:
    """Load and activate every bundled release, then the CMS files when they are present.

    Idempotent: a release already imported (same checksum) is skipped.
    """
    from codesets.importers.cms_manifest import cms_files_present

    releases: list[Release] = []
    for source in BUNDLED_SOURCES:
        release, needs_import = release_register_bundled(source=source)
        releases.append(_bootstrap_one(release, needs_import, report))
    if include_cms:
        for entry in cms_files_present():
            release, needs_import = release_register_file(
                system=entry.system,
                path=entry.path,
                label=entry.label,
                effective_from=entry.effective_from,
                setting=entry.setting,
            )
            releases.append(_bootstrap_one(release, needs_import, report))
    return releases


def _bootstrap_one(release: Release, needs_import: bool, report) -> Release:
    if needs_import or release.status in (Release.Status.PENDING, Release.Status.FAILED):
        started = timezone.now()
        release = release_import_now(release=release)
        seconds = (timezone.now() - started).total_seconds()
        report(f"imported  {release.label}: {release.row_count} rows in {seconds:.1f}s")
    else:
        report(f"present   {release.label}: {release.row_count} rows")
    if release.status == Release.Status.FAILED:
        report(f"FAILED    {release.label}: {release.error}")
    elif release.status == Release.Status.IMPORTED:
        release = release_activate(release=release)
    return release
