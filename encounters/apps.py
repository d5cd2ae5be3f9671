from django.apps import AppConfig


class EncountersConfig(AppConfig):
    name = "encounters"
    verbose_name = "Encounters"

    def ready(self) -> None:
        # codesets cannot import encounters; it announces activations and we re-check.
        from codesets.signals import release_activated
        from encounters.recode import on_release_activated

        release_activated.connect(on_release_activated, dispatch_uid="encounters-recheck")
