"""A covering index for bounding-box queries: (layer, min_lon, min_lat) carrying max_lon, max_lat and the
id, so the first step of `selectors.features_bbox` (which features, by pk) is an index-only scan and only
the 5,000 chosen rows are read from the table. PostgreSQL: INCLUDE columns; SQLite: the columns appended
(SQLite indexes carry the rowid, which is the id). The model state is unchanged: this is a physical
index only, like the search's trigram index would be."""

from django.db import migrations

NAME = "layers_feat_bbox_cover"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {NAME} ON layers_feature (layer_id, min_lon, min_lat) "
            "INCLUDE (max_lon, max_lat, id)"
        )
    else:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {NAME} ON layers_feature "
            "(layer_id, min_lon, min_lat, max_lon, max_lat)"
        )


def drop(apps, schema_editor):
    schema_editor.execute(f"DROP INDEX IF EXISTS {NAME}")


class Migration(migrations.Migration):
    dependencies = [("layers", "0001_initial")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
