"""Backups: the database and the uploaded originals (MEDIA_ROOT) in one archive.

`manage.py backup create [--output FILE]` / `manage.py backup restore FILE` (and `make backup`,
`make restore FILE=...`). The archive is a gzipped tar holding:

- manifest.json   what was backed up, when, from which engine;
- database.dump   PostgreSQL: `pg_dump --format=custom` (restored with `pg_restore`), or
  database.sqlite3 SQLite: a consistent copy made with SQLite's online backup API (safe while
  the app and the Celery worker are writing; a plain file copy of a WAL database is not);
- media/          every file under MEDIA_ROOT (uploaded documents, release files).

Restore replaces the database's content and the MEDIA_ROOT folder with the archive's. Stop
the web server and the worker first: a restore is a point-in-time rollback, not a merge.
"""

import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

FORMAT_VERSION = 1
POSTGRES = "django.db.backends.postgresql"
SQLITE = "django.db.backends.sqlite3"


class BackupError(Exception):
    pass


@dataclass(frozen=True)
class Target:
    """Where the database lives: a Django DATABASES entry, or a parsed DATABASE_URL."""

    engine: str
    name: str
    user: str = ""
    password: str = ""
    host: str = ""
    port: str = ""

    @classmethod
    def from_settings(cls, db: dict) -> "Target":
        return cls(
            engine=db["ENGINE"],
            name=str(db["NAME"]),
            user=db.get("USER") or "",
            password=db.get("PASSWORD") or "",
            host=db.get("HOST") or "",
            port=str(db.get("PORT") or ""),
        )

    @classmethod
    def from_url(cls, url: str) -> "Target":
        import dj_database_url

        return cls.from_settings(dj_database_url.parse(url))

    def pg_args(self) -> list[str]:
        args = []
        for flag, value in (
            ("--host", self.host),
            ("--port", self.port),
            ("--username", self.user),
        ):
            if value:
                args += [flag, value]
        return [*args, "--dbname", self.name]

    def pg_env(self) -> dict:
        env = dict(os.environ)
        if self.password:
            env["PGPASSWORD"] = self.password  # not on the command line, where ps shows it
        return env


def _run(command: list[str], env: dict) -> None:
    if shutil.which(command[0]) is None:
        raise BackupError(f"{command[0]} is not installed (apt-get install postgresql-client).")
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{command[0]} failed: {done.stderr.strip()[-2000:]}")


# --- SQLite ---------------------------------------------------------------------------------


def sqlite_copy(source: sqlite3.Connection, path: Path) -> None:
    """A consistent copy of an open SQLite database into a file (the online backup API)."""
    with sqlite3.connect(path) as copy:
        source.backup(copy)
    copy.close()


def sqlite_restore(path: Path, into: sqlite3.Connection) -> None:
    """Overwrite an open SQLite database with the backed-up file's content, page by page."""
    backup = sqlite3.connect(path)
    try:
        backup.backup(into)
    finally:
        backup.close()


def _sqlite_connection(target: Target, django_connection=None) -> tuple[sqlite3.Connection, bool]:
    """(connection, owned): Django's own when the target is the default database (an
    in-memory test database only exists there), else a new one we close."""
    if django_connection is not None:
        django_connection.ensure_connection()
        return django_connection.connection, False
    return sqlite3.connect(target.name), True


# --- the archive ----------------------------------------------------------------------------


def backup_create(
    *, target: Target, media_root: Path, output: Path, django_connection=None
) -> Path:
    """Write the database and MEDIA_ROOT into a .tar.gz at `output`; returns its path."""
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="coding-bench-backup-") as scratch:
        scratch_dir = Path(scratch)
        if target.engine == POSTGRES:
            dump = scratch_dir / "database.dump"
            command = ["pg_dump", "--format=custom", "--no-owner", "--file", str(dump)]
            _run([*command, *target.pg_args()], target.pg_env())
        elif target.engine == SQLITE:
            dump = scratch_dir / "database.sqlite3"
            conn, owned = _sqlite_connection(target, django_connection)
            try:
                sqlite_copy(conn, dump)
            finally:
                if owned:
                    conn.close()
        else:
            raise BackupError(f"Backups support PostgreSQL and SQLite, not {target.engine}.")
        manifest = {
            "format": FORMAT_VERSION,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "engine": "postgresql" if target.engine == POSTGRES else "sqlite",
            "database": dump.name,
            "media_files": sum(1 for p in media_root.rglob("*") if p.is_file())
            if media_root.is_dir()
            else 0,
        }
        partial = output.with_name(output.name + ".partial")
        with tarfile.open(partial, "w:gz") as tar:
            info = tarfile.TarInfo("manifest.json")
            data = json.dumps(manifest, indent=2).encode()
            info.size = len(data)
            info.mtime = int(datetime.now(UTC).timestamp())
            tar.addfile(info, io.BytesIO(data))
            tar.add(dump, arcname=dump.name)
            if media_root.is_dir():
                tar.add(media_root, arcname="media")
        partial.replace(output)  # never leave a half-written file under the final name
    return output


def backup_read_manifest(archive: Path) -> dict:
    try:
        with tarfile.open(archive, "r:gz") as tar:
            member = tar.extractfile("manifest.json")
            if member is None:
                raise KeyError("manifest.json")
            return json.loads(member.read())
    except (OSError, tarfile.TarError, KeyError, ValueError) as exc:
        raise BackupError(f"{archive} is not a Coding Bench backup ({exc}).") from exc


def backup_restore(
    *, archive: Path, target: Target, media_root: Path, django_connection=None
) -> dict:
    """Replace the database's content and MEDIA_ROOT with the archive's; returns the manifest."""
    manifest = backup_read_manifest(archive)
    engine = POSTGRES if manifest["engine"] == "postgresql" else SQLITE
    if engine != target.engine:
        raise BackupError(
            f"The backup is of a {manifest['engine']} database; the target is {target.engine}."
        )
    with tempfile.TemporaryDirectory(prefix="coding-bench-restore-") as scratch:
        scratch_dir = Path(scratch)
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(scratch_dir, filter="data")  # no absolute paths or ../ escapes
        dump = scratch_dir / manifest["database"]
        if engine == POSTGRES:
            # --clean drops what the dump will create; one transaction: all or nothing.
            command = ["pg_restore", "--clean", "--if-exists", "--no-owner"]
            command += ["--single-transaction", "--exit-on-error"]
            _run([*command, *target.pg_args(), str(dump)], target.pg_env())
        else:
            conn, owned = _sqlite_connection(target, django_connection)
            try:
                sqlite_restore(dump, conn)
            finally:
                if owned:
                    conn.close()
        _media_replace(scratch_dir / "media", media_root)
    return manifest


def _media_replace(restored: Path, media_root: Path) -> None:
    """Swap MEDIA_ROOT for the archive's copy; the old folder is removed only once the new
    one is in place."""
    media_root.parent.mkdir(parents=True, exist_ok=True)
    if not restored.is_dir():
        restored.mkdir()
    staged = media_root.with_name(media_root.name + ".restoring")
    shutil.rmtree(staged, ignore_errors=True)
    shutil.copytree(restored, staged)
    old = media_root.with_name(media_root.name + ".before-restore")
    shutil.rmtree(old, ignore_errors=True)
    if media_root.exists():
        media_root.rename(old)
    staged.rename(media_root)
    shutil.rmtree(old, ignore_errors=True)


def default_output(backup_dir: Path) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return backup_dir / f"coding-bench-{stamp}.tar.gz"
