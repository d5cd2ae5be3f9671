"""`manage.py backup create` / `restore`: a round trip of the database and the uploaded files.

PostgreSQL: the backup is restored into a scratch database next to the test database (the
test database stays as the test left it, so nothing else in the run is disturbed) and the
scratch copy is read back. SQLite: restored over the test database itself.
"""

import sqlite3
from datetime import date
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection

from coding_bench.backup import sqlite_copy, sqlite_restore
from encounters import services
from encounters.models import Document, Encounter
from tests.e2e.conftest import _flush_all_but_code_sets
from tests.factories import EncounterFactory

ORIGINAL = b"Discharge summary: community acquired pneumonia, treated with ceftriaxone.\n"


@pytest.fixture(scope="module", autouse=True)
def _keep_code_sets():
    """These tests commit (pg_dump reads committed rows only); their teardown empties every
    table but the code database, so later tests need not re-import the code sets."""
    from django.test.testcases import TransactionTestCase

    original = TransactionTestCase._fixture_teardown
    TransactionTestCase._fixture_teardown = _flush_all_but_code_sets
    yield
    TransactionTestCase._fixture_teardown = original


@pytest.fixture
def scratch_database():
    """PostgreSQL: an empty database beside the test database, dropped afterwards."""
    import psycopg
    from psycopg import sql

    db = connection.settings_dict
    name = f"{db['NAME']}_restore"
    params = {
        k: v
        for k, v in {
            "user": db.get("USER"),
            "password": db.get("PASSWORD"),
            "host": db.get("HOST"),
            "port": db.get("PORT"),
        }.items()
        if v
    }
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
        admin.execute(drop)
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    auth = db.get("USER") or ""
    if db.get("PASSWORD"):
        auth += f":{db['PASSWORD']}"
    url = f"postgres://{auth}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{name}"
    yield url, lambda: psycopg.connect(dbname=name, **params)
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
        admin.execute(drop)


@pytest.mark.django_db(transaction=True)
def test_backup_and_restore_bring_back_changed_and_deleted_data_and_files(
    intermediate, tmp_path, settings, request
):
    settings.MEDIA_ROOT = tmp_path / "media"
    encounter = EncounterFactory(status=Encounter.Status.CODING, provider="Dr. Before")
    document = services.document_upload(
        by=intermediate,
        encounter=encounter,
        note_type=Document.NoteType.DISCHARGE_SUMMARY,
        title="Discharge summary",
        written_on=date(2026, 5, 4),
        uploaded=SimpleUploadedFile("discharge.txt", ORIGINAL, content_type="text/plain"),
    )
    document_id, file_name = document.pk, document.original_file.name
    stored = Path(document.original_file.path)
    assert stored.read_bytes() == ORIGINAL
    archive = tmp_path / "backup.tar.gz"

    call_command("backup", "create", "--output", str(archive))
    assert archive.stat().st_size > 0

    # After the backup: a change, a deletion and a lost file.
    Encounter.objects.filter(pk=encounter.pk).update(provider="Dr. After")
    document.delete()
    stored.unlink()

    if connection.vendor == "postgresql":
        url, connect = request.getfixturevalue("scratch_database")
        call_command("backup", "restore", str(archive), "--database-url", url)
        with connect() as restored:
            provider = restored.execute(
                "SELECT provider FROM encounters_encounter WHERE id = %s", [encounter.pk]
            ).fetchone()
            text = restored.execute(
                "SELECT text, original_file FROM encounters_document WHERE id = %s",
                [document_id],
            ).fetchone()
        assert provider == ("Dr. Before",)
        assert text == (ORIGINAL.decode(), file_name)
    else:
        call_command("backup", "restore", str(archive))
        encounter.refresh_from_db()
        assert encounter.provider == "Dr. Before"
        assert Document.objects.get(pk=document_id).text == ORIGINAL.decode()
    assert stored.read_bytes() == ORIGINAL  # the uploaded original is back in MEDIA_ROOT


def test_the_sqlite_copy_is_consistent_and_restores_over_an_open_database(tmp_path):
    """The embedded default: the online backup API, while a connection has the file open."""
    live = sqlite3.connect(tmp_path / "live.sqlite3")
    live.execute("PRAGMA journal_mode=WAL")
    live.execute("CREATE TABLE chart (id INTEGER PRIMARY KEY, provider TEXT)")
    live.executemany("INSERT INTO chart (provider) VALUES (?)", [("Dr. A",), ("Dr. B",)])
    live.commit()
    sqlite_copy(live, tmp_path / "copy.sqlite3")

    live.execute("UPDATE chart SET provider = 'Dr. Z'")
    live.execute("DELETE FROM chart WHERE id = 2")
    live.commit()
    sqlite_restore(tmp_path / "copy.sqlite3", live)

    assert live.execute("SELECT provider FROM chart ORDER BY id").fetchall() == [
        ("Dr. A",),
        ("Dr. B",),
    ]
    live.close()


@pytest.mark.django_db
def test_restoring_a_file_that_is_not_a_backup_says_so(tmp_path):
    bogus = tmp_path / "notes.tar.gz"
    bogus.write_bytes(b"not an archive")
    with pytest.raises(CommandError, match="is not a Coding Bench backup"):
        call_command("backup", "restore", str(bogus))
