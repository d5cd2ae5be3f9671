"""`python manage.py codesets {import,list,bootstrap,diff}`: the code database from the shell.

Other tools script against these exact forms; keep their names and JSON shapes.
"""

import json
from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from codesets import selectors, services
from codesets.importers import SYSTEMS, ImportFormatError
from codesets.models import Release


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"{value!r} is not a date; use YYYY-MM-DD.") from exc


class Command(BaseCommand):
    help = "Import, list, bootstrap and diff code-set releases."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)

        imp = sub.add_parser("import", help="Import a release file through the import task.")
        imp.add_argument("--system", required=True, choices=sorted(SYSTEMS))
        imp.add_argument("--label", required=True)
        imp.add_argument("--effective-from", required=True, type=_date)
        imp.add_argument("--effective-to", type=_date)
        imp.add_argument("--setting", help="Care setting for NCCI tables (default: from name).")
        imp.add_argument("--no-activate", action="store_true", help="Import but do not activate.")
        imp.add_argument("--json", action="store_true")
        imp.add_argument("file", type=Path)

        lst = sub.add_parser("list", help="List releases.")
        lst.add_argument("--system", choices=sorted(SYSTEMS))
        lst.add_argument("--json", action="store_true")

        boot = sub.add_parser("bootstrap", help="Load every bundled release (idempotent).")
        boot.add_argument("--no-cms", action="store_true", help="Skip the CMS files.")

        diff = sub.add_parser("diff", help="Codes added, deleted and revised between releases.")
        diff.add_argument("--system", required=True, choices=sorted(SYSTEMS))
        diff.add_argument("--json", action="store_true")
        diff.add_argument("old_label")
        diff.add_argument("new_label")

    def handle(self, *args, **options) -> None:
        getattr(self, f"handle_{options['action']}")(options)

    def handle_import(self, options: dict) -> None:
        try:
            release, _ = services.release_register_file(
                system=options["system"],
                path=options["file"],
                label=options["label"],
                effective_from=options["effective_from"],
                effective_to=options["effective_to"],
                setting=options["setting"],
            )
            release = services.release_import_now(release=release)
            if release.status == Release.Status.FAILED:
                raise CommandError(f"Import failed: {release.error}")
            if release.status == Release.Status.IMPORTED and not options["no_activate"]:
                release = services.release_activate(release=release)
        except (ImportFormatError, services.ReleaseError) as exc:
            raise CommandError(str(exc)) from exc
        if options["json"]:
            self.stdout.write(json.dumps(selectors.release_as_dict(release), indent=2))
            return
        self.stdout.write(f"Release {release.pk}: {release.label} ({release.status})")
        self.stdout.write(f"  rows: {release.row_count}")
        for key, count in release.counts.items():
            self.stdout.write(f"  {key}: {count}")

    def handle_list(self, options: dict) -> None:
        releases = selectors.release_list(system=options["system"])
        if options["json"]:
            rows = [selectors.release_as_dict(r) for r in releases]
            self.stdout.write(json.dumps(rows, indent=2))
            return
        for r in releases:
            until = r.effective_to.isoformat() if r.effective_to else "…"
            self.stdout.write(
                f"{r.pk:>4}  {r.system.slug:<16} {r.setting:<12} {r.status:<9} "
                f"{r.effective_from} → {until:<10}  {r.row_count:>9} rows  {r.label}"
            )

    def handle_bootstrap(self, options: dict) -> None:
        services.codesets_bootstrap(include_cms=not options["no_cms"], report=self.stdout.write)

    def handle_diff(self, options: dict) -> None:
        old = selectors.release_get_by_label(system=options["system"], label=options["old_label"])
        new = selectors.release_get_by_label(system=options["system"], label=options["new_label"])
        for label, release in ((options["old_label"], old), (options["new_label"], new)):
            if release is None:
                raise CommandError(f"No {options['system']} release labelled {label!r}.")
        diff = selectors.release_diff(old=old, new=new)
        if options["json"]:
            self.stdout.write(json.dumps(diff))
            return
        for key in ("added", "deleted", "revised"):
            self.stdout.write(f"{key}: {len(diff[key])}")
