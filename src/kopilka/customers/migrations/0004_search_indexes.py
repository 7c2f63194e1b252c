"""Indexes the support console's search needs on a large base: external ids by value alone, and on PostgreSQL a
trigram index on `search_text`, so that "a word of the names begins with ..." (LIKE 'x%' and LIKE '% x%') is found
without reading every member."""

from django.db import migrations, models


def add_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        schema_editor.execute(
            "CREATE INDEX member_search_trigram ON customers_member USING gin (search_text gin_trgm_ops)"
        )


def drop_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS member_search_trigram")


class Migration(migrations.Migration):

    dependencies = [
        ('customers', '0003_member_status_change_and_inn_unique'),
    ]

    operations = [
        migrations.RunPython(add_trigram_index, drop_trigram_index),
        migrations.AddIndex(
            model_name='externalid',
            index=models.Index(fields=['value'], name='external_id_value'),
        ),
    ]
