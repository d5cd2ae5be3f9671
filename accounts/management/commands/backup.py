"""`manage.py backup create [--output FILE]` and `manage.py backup restore FILE`.

The database (pg_dump / SQLite's backup API) and MEDIA_ROOT in one .tar.gz; see
coding_bench/backup.py. `--database-url` restores into another database (e.g. a scratch copy
to check a backup without touching the live one).
"""

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from coding_bench.backup import (
    BackupError,
    Target,
    backup_create,
    backup_restore,
    default_output,
)


class Command(BaseCommand):
    help = "Back up or restore the database and the uploaded files (MEDIA_ROOT)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="write a .tar.gz backup")
        create.add_argument(
            "--output",
            help="archive path (default: $BACKUP_DIR or var/backups, time-stamped name)",
        )
        restore = sub.add_parser("restore", help="replace the database and MEDIA_ROOT")
        restore.add_argument("file", help="a backup written by `backup create`")
        restore.add_argument(
            "--database-url", help="restore into this database instead of the configured one"
        )
        for sub_parser in (create, restore):
            sub_parser.add_argument("--media-root", help="instead of settings.MEDIA_ROOT")

    def handle(self, *args: Any, **options: Any) -> None:
        media_root = Path(options["media_root"] or settings.MEDIA_ROOT)
        default = Target.from_settings(settings.DATABASES["default"])
        try:
            if options["action"] == "create":
                backup_dir = Path(getattr(settings, "BACKUP_DIR", settings.VAR_DIR / "backups"))
                output = Path(options["output"]) if options["output"] else None
                path = backup_create(
                    target=default,
                    media_root=media_root,
                    output=output or default_output(backup_dir),
                    django_connection=connection,
                )
                size = path.stat().st_size / (1024 * 1024)
                self.stdout.write(f"Backup written: {path} ({size:.1f} MB)")
            else:
                url = options["database_url"]
                target = Target.from_url(url) if url else default
                if not url:
                    connection.close()  # PostgreSQL: our own idle session must not hold locks
                manifest = backup_restore(
                    archive=Path(options["file"]),
                    target=target,
                    media_root=media_root,
                    django_connection=None if url else connection,
                )
                self.stdout.write(
                    f"Restored the backup of {manifest['created_at']} into {target.name} "
                    f"({manifest['media_files']} uploaded files into {media_root})."
                )
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
