"""Release feeds: URLs an admin registers; a beat task downloads new files as pending releases.

A feed never activates anything. A new file becomes a release registered for review (its
import queued so the diff is ready); an admin compares and activates it on the release pages.
"""

import logging
import shutil
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlparse

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from codesets import services
from codesets.downloads import DownloadError, download_release_file
from codesets.importers import SYSTEMS, ImportFormatError
from codesets.models import Release, ReleaseFeed
from codesets.release_admin import effective_date_in_name, unique_label

logger = logging.getLogger(__name__)


class FeedError(ValueError):
    """A feed cannot be registered or changed as asked; the message says why."""


@dataclass(frozen=True)
class FeedCheck:
    """What one check of a feed found: `release` is set when it registered a new one."""

    status: str
    error: str = ""
    release: Release | None = None


# ---------------------------------------------------------------- admin


@transaction.atomic
def feed_register(
    *,
    system: str,
    url: str,
    label: str,
    setting: str = "",
    interval_hours: int = 24,
    by: User | None = None,
) -> ReleaseFeed:
    """Register a feed URL (or switch a deactivated one back on with these values)."""
    try:
        code_system = services.code_system_get(system)
    except services.ReleaseError as exc:
        raise FeedError(str(exc)) from exc
    # No setting on a feed of NCCI tables: each file's name says its setting.
    if setting and setting not in SYSTEMS[system].settings:
        raise FeedError(f"{SYSTEMS[system].name} has no care setting “{setting}”.")
    parsed = urlparse(url.strip())
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise FeedError("A feed address must start with http:// or https://.")
    label = label.strip()
    if not label:
        raise FeedError("Give the feed a label: its releases are named after it.")
    if not 1 <= interval_hours <= 24 * 90:
        raise FeedError("Check between every hour and every 90 days.")
    existing = ReleaseFeed.objects.select_for_update().filter(url=url.strip()).first()
    if existing is not None and existing.active:
        raise FeedError(f"This address is already a feed for {existing.system.name}.")
    feed = existing or ReleaseFeed(url=url.strip(), created_by=by)
    feed.system = code_system
    feed.setting = setting
    feed.label = label
    feed.interval_hours = interval_hours
    feed.active = True
    feed.save()
    return feed


@transaction.atomic
def feed_deactivate(*, feed: ReleaseFeed) -> ReleaseFeed:
    """Stop checking a feed. Its history (and the releases it created) stays."""
    ReleaseFeed.objects.filter(pk=feed.pk).update(active=False)
    feed.active = False
    return feed


def feeds_list() -> list[ReleaseFeed]:
    return list(ReleaseFeed.objects.select_related("system").order_by("-active", "system__slug"))


# ---------------------------------------------------------------- checking


def check_feed(*, feed: ReleaseFeed, by: User | None = None) -> FeedCheck:
    """Download the feed's file if it changed and register it as a release for review.

    Sends the ETag/Last-Modified of the last download so an unchanged file is not fetched
    again; a file with a known checksum registers nothing. The outcome is kept on the feed.
    """
    now = timezone.now()
    updates: dict = {"last_checked_at": now, "last_error": ""}
    result: FeedCheck
    downloaded = None
    try:
        downloaded = download_release_file(
            feed.url,
            max_bytes=settings.RELEASE_UPLOAD_MAX_BYTES,
            etag=feed.etag,
            last_modified=feed.last_modified,
        )
        if downloaded is None:
            result = FeedCheck("No change: the server says the file is the one fetched before.")
        else:
            result = _register(feed, downloaded, by, now)
            if not result.error:
                updates |= {
                    "last_checksum": downloaded.checksum,
                    "etag": downloaded.etag,
                    "last_modified": downloaded.last_modified,
                }
    except DownloadError as exc:
        result = FeedCheck("Download failed.", error=str(exc))
    finally:
        if downloaded is not None:
            shutil.rmtree(downloaded.path.parent, ignore_errors=True)
    updates |= {"last_status": result.status[:200], "last_error": result.error}
    ReleaseFeed.objects.filter(pk=feed.pk).update(**updates)
    for field, value in updates.items():
        setattr(feed, field, value)
    logger.info("Feed %s checked: %s %s", feed.url, result.status, result.error)
    return result


def _register(feed: ReleaseFeed, downloaded, by: User | None, now) -> FeedCheck:
    if downloaded.checksum == feed.last_checksum:
        return FeedCheck("No change: the same file as last time (same checksum).")
    known = Release.objects.filter(
        system=feed.system, checksum=downloaded.checksum, setting=feed.setting
    ).first()
    if known is not None:
        return FeedCheck(f"No change: this file is already the release “{known.label}”.")
    today = timezone.localdate(now)
    label = unique_label(feed.system.slug, feed.setting, f"{feed.label} {today.isoformat()}")
    try:
        release, is_new = services.release_register_file(
            system=feed.system.slug,
            path=downloaded.path,
            label=label,
            effective_from=effective_date_in_name(downloaded.name)[0] or today,
            setting=feed.setting or None,
            source=Release.Source.URL,
            created_by=by,
        )
    except (services.ReleaseError, ImportFormatError) as exc:
        return FeedCheck("The new file was refused.", error=str(exc))
    if not is_new:
        return FeedCheck(f"No change: this file is already the release “{release.label}”.")
    Release.objects.filter(pk=release.pk).update(source_url=feed.url)
    services.release_import_queue(release=release)
    return FeedCheck(
        f"New file {downloaded.name}: release “{label}” registered for review.", release=release
    )


def feeds_due(*, now=None) -> list[ReleaseFeed]:
    now = now or timezone.now()
    return [
        feed
        for feed in ReleaseFeed.objects.select_related("system").filter(active=True)
        if feed.last_checked_at is None
        or feed.last_checked_at + timedelta(hours=feed.interval_hours) <= now
    ]


def feeds_check_due(*, now=None) -> list[FeedCheck]:
    """The beat task: check every active feed whose interval has passed.

    Each feed is claimed with a conditional update first, so two beat runs at once (or a
    redelivered task) never download the same feed twice.
    """
    now = now or timezone.now()
    results = []
    for feed in feeds_due(now=now):
        claimed = (
            ReleaseFeed.objects.filter(pk=feed.pk)
            .filter(Q(last_checked_at__isnull=True) | Q(last_checked_at=feed.last_checked_at))
            .update(last_checked_at=now)
        )
        if claimed:
            results.append(check_feed(feed=feed))
    return results
