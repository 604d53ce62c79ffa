"""PostgreSQL: leave room in the pages of the tables ingestion updates in place (rollups, latest values,
sensors' last-seen time), so those updates are HOT (heap-only: no index entry written, old versions
pruned within the page). Their updated columns are not indexed, which HOT needs too. SQLite: nothing."""

from django.db import migrations

FILLFACTOR = {
    "sensing_hourlyrollup": 80,
    "sensing_dailyrollup": 70,
    "sensing_latest": 50,
    "sensing_sensor": 70,
}


def apply(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, percent in FILLFACTOR.items():
        schema_editor.execute(f"ALTER TABLE {table} SET (fillfactor = {percent})")


def revert(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in FILLFACTOR:
        schema_editor.execute(f"ALTER TABLE {table} RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("sensing", "0002_quantities")]

    operations = [migrations.RunPython(apply, revert)]
