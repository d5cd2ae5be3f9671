"""Exactly one active release per system and setting in force on any date, kept by the database.

PostgreSQL only: an exclusion constraint over the inclusive date range each active release is in
force (an open end is an unbounded range). btree_gist lets the GiST index compare the system and
setting with "=". SQLite has no such constraint; there the timeline code in
codesets.services.release_activate is the only guard.
"""

from django.db import migrations

EXTENSION = "CREATE EXTENSION IF NOT EXISTS btree_gist;"

CREATE = """
ALTER TABLE codesets_release
    ADD CONSTRAINT release_one_in_force_per_date
    EXCLUDE USING gist (
        system_id WITH =,
        setting WITH =,
        daterange(effective_from, effective_to, '[]') WITH &&
    )
    WHERE (status = 'active');
"""

DROP = "ALTER TABLE codesets_release DROP CONSTRAINT IF EXISTS release_one_in_force_per_date;"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(EXTENSION)
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("codesets", "0002_scheduling_coverage_feeds")]

    operations = [migrations.RunPython(create, drop)]
