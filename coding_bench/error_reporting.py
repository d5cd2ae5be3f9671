"""Error reports without PHI.

Django's technical 500 page (DEBUG on) and the report mailed to ADMINS (DEBUG off) show the
request's GET, POST, files, cookies, headers, settings and every frame's local variables:
on this app those carry patient names, MRNs and note text. Everything request- or
variable-shaped is replaced by a placeholder, with DEBUG on as well as off; the traceback
(file, line, function) stays, which is what finding the bug needs.
"""

from typing import Any

from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

HIDDEN = "[hidden: may contain PHI]"


class PhiSafeExceptionReporterFilter(SafeExceptionReporterFilter):
    cleansed_substitute = HIDDEN

    def is_active(self, request: Any) -> bool:
        return True  # also with DEBUG on: a developer's screen is no place for PHI either

    def get_post_parameters(self, request: Any) -> dict[str, str]:
        if request is None:
            return {}
        return {key: HIDDEN for key in request.POST}

    def get_safe_settings(self) -> dict[str, str]:
        return {}

    def get_safe_request_meta(self, request: Any) -> dict[str, str]:
        return {}

    def get_safe_cookies(self, request: Any) -> dict[str, str]:
        if request is None:
            return {}
        return {key: HIDDEN for key in request.COOKIES}

    def get_traceback_frame_variables(self, request: Any, tb_frame: Any) -> list:
        return [(name, HIDDEN) for name in tb_frame.f_locals]


class PhiSafeExceptionReporter(ExceptionReporter):
    """Also hides the query string, uploaded file names and the full URI."""

    def get_traceback_data(self) -> dict[str, Any]:
        data = super().get_traceback_data()
        if self.request is not None:
            data["request_GET_items"] = [(key, HIDDEN) for key in self.request.GET]
            data["request_FILES_items"] = [(key, HIDDEN) for key in self.request.FILES]
            data["request_insecure_uri"] = self.request.path
        # The exception's message may quote a value (a failed lookup, a validation error).
        data["exception_value"] = HIDDEN if data.get("exception_value") else ""
        return data
