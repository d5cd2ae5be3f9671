"""What the encounters pages share: htmx detection, error text, form helpers."""

import logging
from datetime import date

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpRequest

logger = logging.getLogger(__name__)
QUEUE_PAGE_SIZE = 25
SCOPES = [("all", "All"), ("mine", "Assigned to me"), ("pool", "Pool")]
SORT_LABELS = {
    "due": "Due date, soonest first",
    "-due": "Due date, latest first",
    "admit": "Admit date, oldest first",
    "-admit": "Admit date, newest first",
    "priority": "Priority",
    "account": "Account number",
}
SEVERITIES = [("error", "Errors"), ("warning", "Warnings"), ("info", "Information")]
SYSTEM_LABELS = {"icd10cm": "ICD-10-CM", "icd10pcs": "ICD-10-PCS", "hcpcs": "HCPCS", "cpt": "CPT"}


def _is_htmx(request: HttpRequest) -> bool:
    return bool(request.headers.get("HX-Request")) and not request.headers.get(
        "HX-History-Restore-Request"
    )


def _error_text(exc: ValidationError) -> str:
    return " ".join(str(m) for m in exc.messages)


def _add_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """Put a service's ValidationError next to the fields it names (the rest on top)."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            target = field if field in form.fields else None
            for error in errors:
                form.add_error(target, error.messages)
    else:
        form.add_error(None, exc.messages)


class DateInput(forms.DateInput):
    input_type = "date"

    def format_value(self, value):
        return value.isoformat() if isinstance(value, date) else value


def _version(request: HttpRequest) -> int:
    try:
        return int(request.POST.get("version", ""))
    except ValueError:
        return -1


def _message_of(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return _error_text(exc)
    return str(exc)
