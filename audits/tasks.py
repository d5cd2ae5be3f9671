"""Celery tasks of the audits app: thin callers of services, ids only, safe to run twice."""

from celery import shared_task

from accounts.models import User
from audits import digests
from audits.practice import library


@shared_task(acks_late=True, reject_on_worker_lost=True, name="audits.publish_release_digest")
def publish_release_digest_task(release_id: int) -> dict:
    """Publish the digest of an activated release (once: a redelivery finds the first)."""
    bulletin = digests.release_digest_publish(release_id=release_id)
    return {"release_id": release_id, "bulletin_id": bulletin.pk if bulletin else None}


@shared_task(acks_late=True, reject_on_worker_lost=True, name="audits.practice_import_codiesp")
def practice_import_codiesp_task(user_id: int, limit: int) -> dict:
    """Import CodiEsp practice cases (slow: each note's codes are mapped to today's release).
    A redelivery skips the cases already imported."""
    report = library.practice_codiesp_import(by=User.objects.get(pk=user_id), limit=limit)
    return {"created": report.created, "summary": report.summary()}
