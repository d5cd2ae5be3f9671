"""Fill the practice case library: `practice import-demo`, `practice import-codiesp --limit N`."""

import json

from django.core.management.base import BaseCommand, CommandError

from audits.practice import library


class Command(BaseCommand):
    help = "Import practice cases (demo charts, CodiEsp train split) into the case library."

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        demo = sub.add_parser("import-demo", help="The demo charts, with their answer keys.")
        demo.add_argument("--json", action="store_true", help="Print the report as JSON.")
        codiesp = sub.add_parser("import-codiesp", help="CodiEsp cases not yet imported.")
        codiesp.add_argument("--limit", type=int, default=20, help="How many cases (default 20).")
        codiesp.add_argument("--split", default="train", choices=["train", "dev"])
        codiesp.add_argument("--json", action="store_true", help="Print the report as JSON.")

    def handle(self, *args, **options) -> None:
        if options["action"] == "import-demo":
            report = library.practice_demo_import(by=None)
        else:
            path = library.codiesp_path(options["split"])
            if not path.is_file():
                raise CommandError(f"CodiEsp file not found: {path}")
            if options["limit"] < 1:
                raise CommandError("--limit must be at least 1.")
            report = library.practice_codiesp_import(
                by=None, limit=options["limit"], split=options["split"]
            )
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), indent=2))
        else:
            self.stdout.write(self.style.SUCCESS(report.summary()))
