"""Prepared feeds compressed with LZ4 on PostgreSQL.

Each row holds a viewer's whole feed as text (tens of kilobytes), stored compressed (TOAST). LZ4
writes such rows about twice as fast as PostgreSQL's default (pglz) at the same size, and reads them
faster too. PostgreSQL 14 or later built with LZ4 (as the Debian and official images are); elsewhere
(an older server, another database) the column keeps the default, which works the same, only slower.
"""

from django.db import DatabaseError, migrations, transaction


def _set_compression(apps, schema_editor, method: str) -> None:
    connection = schema_editor.connection
    if connection.vendor != "postgresql" or connection.pg_version < 140000:
        return
    table = apps.get_model("recommender", "PreparedFeed")._meta.db_table
    try:
        with transaction.atomic(using=connection.alias):
            schema_editor.execute(f"ALTER TABLE {table} ALTER COLUMN payload SET COMPRESSION {method}")
    except DatabaseError:  # a server built without LZ4
        pass


def lz4(apps, schema_editor) -> None:
    _set_compression(apps, schema_editor, "lz4")


def default(apps, schema_editor) -> None:
    _set_compression(apps, schema_editor, "default")


class Migration(migrations.Migration):
    dependencies = [("recommender", "0006_recommendation_rows_without_row_checks")]

    operations = [migrations.RunPython(lz4, default)]
