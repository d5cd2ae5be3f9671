"""`python manage.py phi rotate-keys | check`: encrypted patient identifiers.

rotate-keys re-encrypts every identifier with the first (newest) key of PHI_ENCRYPTION_KEYS;
check decrypts them all and lists the patients whose values no current key can read.
Patient ids only are printed: never the values.
"""

from django.core.management.base import BaseCommand, CommandError

from encounters import phi


class Command(BaseCommand):
    help = "Encrypted patient identifiers: rotate-keys (to the newest key) or check."

    def add_arguments(self, parser) -> None:
        parser.add_argument("action", choices=["rotate-keys", "check"])
        parser.add_argument("--batch-size", type=int, default=phi.BATCH_SIZE)

    def handle(self, *args, **options) -> None:
        if options["action"] == "rotate-keys":
            report = phi.rotate_keys(batch_size=options["batch_size"])
            self.stdout.write(
                f"Rotated: {report.patients} patients, {report.values} values, "
                f"{report.changed} patients re-encrypted with the newest key."
            )
        else:
            report = phi.check(batch_size=options["batch_size"])
            self.stdout.write(f"Checked: {report.patients} patients, {report.values} values.")
        if report.failed:
            ids = ", ".join(str(pk) for pk in report.failed[:50])
            raise CommandError(
                f"{len(report.failed)} patient(s) have values no current key can read "
                f"(patient ids: {ids}). Put the old key back in PHI_ENCRYPTION_KEYS and rotate."
            )
        self.stdout.write("All encrypted identifiers are readable with the current keys.")
