from django.apps import AppConfig


class AuditsConfig(AppConfig):
    name = "audits"
    verbose_name = "Audits and quality"

    def ready(self) -> None:
        # codesets cannot import audits; it announces activations and we write the digest.
        from audits.digests import on_release_activated
        from codesets.signals import release_activated

        release_activated.connect(on_release_activated, dispatch_uid="audits-release-digest")
