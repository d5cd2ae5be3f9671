"""`python manage.py edits check --json FILE`: run the edits engine on an encounter JSON file.

Prints `{"edits": [...]}` (the API's response body); `-` reads the encounter from stdin.
"""

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from codesets.edits import EncounterError, check, encounter_from_json


class Command(BaseCommand):
    help = "Check an encounter against every edit rule."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        run = sub.add_parser("check", help="Check one encounter given as JSON.")
        run.add_argument(
            "--json",
            dest="path",
            required=True,
            metavar="FILE",
            help="The encounter as JSON (see DESIGN.md); '-' for stdin.",
        )

    def handle(self, *args, **options) -> None:
        path = options["path"]
        try:
            text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.") from exc
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CommandError(f"{path} is not JSON: {exc}.") from exc
        try:
            encounter = encounter_from_json(data)
        except EncounterError as exc:
            raise CommandError(str(exc)) from exc
        edits = [edit.as_dict() for edit in check(encounter)]
        self.stdout.write(json.dumps({"edits": edits}, indent=2))
