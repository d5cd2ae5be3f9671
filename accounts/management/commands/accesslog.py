"""`manage.py accesslog verify [--json]`: check the PHI access log's hash chain.

Prints OK with the row count, or the first broken link (row id and time) and exits 1.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from audits.access_review import chain_verify


class Command(BaseCommand):
    help = "PHI access log tools: verify the hash chain."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        verify = sub.add_parser("verify", help="recompute every row's hash in id order")
        verify.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        report = chain_verify()
        if options["json"]:
            self.stdout.write(report.as_json())
        elif report.ok:
            note = (
                f" ({report.unchained} earlier rows predate the chain)" if report.unchained else ""
            )
            self.stdout.write(f"OK: {report.rows} rows, hash chain intact{note}.")
        else:
            when = timezone.localtime(report.broken_at).isoformat(timespec="seconds")
            self.stdout.write(
                f"BROKEN at row {report.broken_id} ({when}): {report.problem}. "
                f"{report.rows - 1} rows before it check out."
            )
        if not report.ok:
            raise CommandError("The PHI access log's hash chain is broken.", returncode=1)
