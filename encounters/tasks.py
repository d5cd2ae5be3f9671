"""Celery tasks of the encounters app: thin callers of services, ids only, safe to run twice."""

from celery import shared_task

from encounters import recode


@shared_task(acks_late=True, reject_on_worker_lost=True, name="encounters.recheck_release")
def recheck_release_task(release_id: int) -> dict:
    """Count the open encounters a newly activated release affects, then queue the batches."""
    try:
        started = recode.recheck_start(release_id=release_id)
    except Exception as exc:
        recode.recheck_fail(release_id=release_id, error=f"The re-check could not start: {exc}")
        raise
    if started is not None:
        recheck_batch_task.delay(release_id, 0, 0)
        return {"release_id": release_id, "total": started[0].total}
    return {"release_id": release_id, "total": 0}


@shared_task(acks_late=True, reject_on_worker_lost=True, name="encounters.recheck_batch")
def recheck_batch_task(release_id: int, after_id: int, done_before: int) -> dict:
    """One batch of encounters; queues the next batch, so progress moves batch by batch and a
    worker lost mid-way repeats one batch, not the whole re-check."""
    try:
        last = recode.recheck_batch(
            release_id=release_id, after_id=after_id, done_before=done_before
        )
    except Exception as exc:
        recode.recheck_fail(release_id=release_id, error=f"The re-check stopped: {exc}")
        raise
    if last is not None:
        recheck_batch_task.delay(release_id, last, done_before + recode.BATCH_SIZE)
    return {"release_id": release_id, "after_id": after_id, "last": last}
