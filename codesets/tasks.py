"""Celery tasks: thin callers of services. They take ids only and are safe to run twice."""

from celery import shared_task

from codesets import services


@shared_task(acks_late=True, reject_on_worker_lost=True, name="codesets.release_import")
def release_import_task(release_id: int) -> dict:
    release = services.release_import(release_id=release_id)
    return {"release_id": release.pk, "status": release.status, "row_count": release.row_count}


@shared_task(acks_late=True, name="codesets.activate_scheduled_releases")
def activate_scheduled_releases_task() -> list[dict]:
    """Celery beat: activate the imported releases whose scheduled date has come."""
    from codesets.release_admin import releases_activate_due

    return [
        {"release_id": release.pk, "status": release.status, "error": error}
        for release, error in releases_activate_due()
    ]


@shared_task(acks_late=True, name="codesets.check_release_feeds")
def check_release_feeds_task() -> list[dict]:
    """Celery beat: check the release feeds whose interval has passed."""
    from codesets.feeds import feeds_check_due

    return [
        {"status": r.status, "error": r.error, "release_id": r.release.pk if r.release else None}
        for r in feeds_check_due()
    ]
