"""Small helpers the Audit & QA views share."""

from django.core.exceptions import ValidationError


def error_text(exc: ValidationError) -> str:
    """A service's refusal as one sentence for a message or an inline error."""
    return " ".join(str(m) for m in exc.messages)
