# Turnaround hours kept on the encounter (first "ready" → first "coded"), and the index the
# quality dashboard reads its turnaround percentiles and volume from.

from django.conf import settings
from django.db import migrations, models


def backfill_turnaround_hours(apps, schema_editor):
    Encounter = apps.get_model("encounters", "Encounter")
    rows = Encounter._base_manager.filter(
        first_ready_at__isnull=False, first_coded_at__isnull=False
    )
    if schema_editor.connection.vendor == "postgresql":
        # Exact interval in seconds (numeric), as the dashboard used to compute it per request.
        table = Encounter._meta.db_table
        schema_editor.execute(
            f"UPDATE {table} SET turnaround_hours = "
            "EXTRACT(EPOCH FROM (first_coded_at - first_ready_at)) / 3600.0 "
            "WHERE first_ready_at IS NOT NULL AND first_coded_at IS NOT NULL"
        )
        return
    batch = []
    for pk, ready, coded in rows.values_list("pk", "first_ready_at", "first_coded_at").iterator():
        batch.append(Encounter(pk=pk, turnaround_hours=(coded - ready).total_seconds() / 3600))
        if len(batch) >= 2000:
            Encounter._base_manager.bulk_update(batch, ["turnaround_hours"])
            batch = []
    if batch:
        Encounter._base_manager.bulk_update(batch, ["turnaround_hours"])


class Migration(migrations.Migration):
    dependencies = [
        ("encounters", "0008_practice_charts_explanation_sign_off"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="encounter",
            name="turnaround_hours",
            field=models.FloatField(blank=True, null=True),
        ),
        migrations.RunPython(backfill_turnaround_hours, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="encounter",
            index=models.Index(
                condition=models.Q(("is_practice", False)),
                fields=["assignee", "first_coded_at"],
                include=("turnaround_hours", "type"),
                name="encounter_turnaround_idx",
            ),
        ),
    ]
