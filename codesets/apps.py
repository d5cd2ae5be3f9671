from django.apps import AppConfig
from django.conf import settings
from django.core.signals import request_started


class CodesetsConfig(AppConfig):
    name = "codesets"
    verbose_name = "Code sets"

    def ready(self) -> None:
        if settings.SEARCH_WARM_UP:
            from codesets.search import warm_in_background

            request_started.connect(warm_in_background, dispatch_uid="codesets-search-warm-up")
