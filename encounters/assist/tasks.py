"""Celery task: read a newly arrived document and cache its suggestions (ids only; safe to
run twice, the cache is keyed by the text's hash)."""

from celery import shared_task


@shared_task(acks_late=True, reject_on_worker_lost=True, name="encounters.assist_suggest")
def assist_suggest_task(document_id: int) -> dict:
    from encounters.assist.services import document_suggestions
    from encounters.models import Document

    document = Document.objects.filter(pk=document_id).select_related("encounter").first()
    if document is None:
        return {"document_id": document_id, "suggestions": 0}
    return {"document_id": document_id, "suggestions": len(document_suggestions(document))}


def queue_document(document_id: int) -> None:
    """Queue the task once the document's transaction commits (the worker must see it)."""
    from django.db import transaction

    # robust: a broker that is down must not fail the upload that already committed.
    transaction.on_commit(lambda: assist_suggest_task.delay(document_id), robust=True)
