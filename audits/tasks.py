"""Celery tasks of the audits app: thin callers of services, ids only, safe to run twice."""

from celery import shared_task

from audits import digests


@shared_task(acks_late=True, reject_on_worker_lost=True, name="audits.publish_release_digest")
def publish_release_digest_task(release_id: int) -> dict:
    """Publish the digest of an activated release (once: a redelivery finds the first)."""
    bulletin = digests.release_digest_publish(release_id=release_id)
    return {"release_id": release_id, "bulletin_id": bulletin.pk if bulletin else None}
