"""Logging without PHI.

Our own log calls name records by id only (encounter 12, release 3), never by patient name,
MRN or note text. This filter, installed on every handler, is the net under that rule:
- a record that carries the HTTP request (django.request, django.security) loses it, so no
  handler or formatter can print its GET/POST data, headers or cookies;
- query strings of request lines and identifier-shaped text (SSNs, phone numbers) in a
  message are masked;
- a traceback keeps its frames (file, line, code) but not the exception's message, which can
  quote a value (a failed lookup, a validation error).
"""

import logging
import re
import traceback

# A request line ("GET /path?query HTTP/1.1", as runserver logs it): the query can hold an MRN.
QUERY = re.compile(r"(\b(?:GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) [^?\s]*)\?\S*")
SSN = re.compile(r"\b\d{3}-\d{2}-\d{4}\b")
PHONE = re.compile(r"\(?\b\d{3}\)?[-. ]\d{3}[-. ]\d{4}\b")


HIDDEN = "[message hidden: may contain PHI]"


def _traceback_without_messages(exc_info) -> str:
    error = traceback.TracebackException(*exc_info)
    seen = set()
    pending = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        current._str = HIDDEN  # the text format_exception_only prints after the type
        pending += [current.__cause__, current.__context__]
    return "".join(error.format()).rstrip("\n")


def _scrub(text: str) -> str:
    text = QUERY.sub(r"\1?[query hidden]", text)
    return PHONE.sub("[phone]", SSN.sub("[ssn]", text))


class PhiRedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request", None) is not None:
            record.request = None
        if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
            record.exc_text = _traceback_without_messages(record.exc_info)
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not drop the record
            return True
        scrubbed = _scrub(message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, ()
        return True
