"""`python manage.py edits check --json FILE`: run the edits engine on an encounter JSON file.

Prints `{"edits": [...]}` (the API's response body); `-` reads the encounter from stdin.
"""

import json

from django.core.management.base import BaseCommand, CommandError, CommandParser

from codesets.edits import EncounterError, check, encounter_from_json
from codesets.management.encounter_json import add_encounter_json_argument, read_encounter_json


class Command(BaseCommand):
    help = "Check an encounter against every edit rule."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        run = sub.add_parser("check", help="Check one encounter given as JSON.")
        add_encounter_json_argument(run, "The encounter as JSON (see DESIGN.md); '-' for stdin.")

    def handle(self, *args, **options) -> None:
        data = read_encounter_json(options["path"])
        try:
            encounter = encounter_from_json(data)
        except EncounterError as exc:
            raise CommandError(str(exc)) from exc
        edits = [edit.as_dict() for edit in check(encounter)]
        self.stdout.write(json.dumps({"edits": edits}, indent=2))
