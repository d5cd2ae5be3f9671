"""`python manage.py codes {search,show}`: look codes up from the shell.

`codes search --json` prints the same results list as the API; `codes show --json` the detail.
"""

import json
from datetime import date

from django.core.management.base import BaseCommand, CommandError, CommandParser

from codesets import selectors
from codesets.api import SEARCHABLE_SYSTEMS
from codesets.importers import SYSTEMS
from codesets.search import NoReleaseInForce, code_search


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"{value!r} is not a date; use YYYY-MM-DD.") from exc


class Command(BaseCommand):
    help = "Search codes and show one code's detail."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        search = sub.add_parser("search", help="Search a system's release in force.")
        search.add_argument("--system", default="icd10cm", choices=SEARCHABLE_SYSTEMS)
        search.add_argument("--limit", type=int, default=20)
        search.add_argument("--date", type=_date, help="Date of service (default today).")
        search.add_argument("--json", action="store_true")
        search.add_argument("query")

        show = sub.add_parser("show", help="Everything about one code.")
        show.add_argument("--system", default="icd10cm", choices=sorted(SYSTEMS))
        show.add_argument("--date", type=_date, help="Date of service (default today).")
        show.add_argument("--json", action="store_true")
        show.add_argument("code")

    def handle(self, *args, **options) -> None:
        getattr(self, f"handle_{options['action']}")(options)

    def handle_search(self, options: dict) -> None:
        if not 1 <= options["limit"] <= 200:
            raise CommandError("--limit must be between 1 and 200.")
        try:
            hits = code_search(
                system=options["system"],
                query=options["query"],
                limit=options["limit"],
                on=options["date"],
            )
        except NoReleaseInForce as exc:
            raise CommandError(str(exc)) from exc
        if options["json"]:
            self.stdout.write(json.dumps([hit.as_dict() for hit in hits], indent=2))
            return
        if not hits:
            self.stdout.write("No codes found.")
        for hit in hits:
            marker = " " if hit.billable else "·"
            self.stdout.write(f"{hit.code:<10}{marker} {hit.description}")

    def handle_show(self, options: dict) -> None:
        detail = selectors.code_detail(
            system=options["system"], code=options["code"], on=options["date"]
        )
        if detail is None:
            raise CommandError(
                f"{options['code']} is not a {options['system']} code in the release in force."
            )
        if options["json"]:
            self.stdout.write(json.dumps(detail, indent=2))
            return
        billable = "billable" if detail["billable"] else "not billable (header)"
        self.stdout.write(f"{detail['code']}  {detail['description']}  [{billable}]")
        self.stdout.write(f"Release: {detail['release']['label']}")
        for ancestor in detail["ancestors"]:
            self.stdout.write(f"  in {ancestor['code']} {ancestor['description']}")
        for note in detail["notes"]:
            where = f" (from {note['at']})" if note["inherited"] else ""
            self.stdout.write(f"{note['label']}{where}: {note['text']}")
        for seventh in detail["seventh_characters"]:
            self.stdout.write(f"  7th {seventh['character']}: {seventh['meaning']}")
        for axis in detail["pcs_axes"]:
            self.stdout.write(
                f"  {axis['position']} {axis['axis']}: {axis['value']} {axis['label']}"
            )
