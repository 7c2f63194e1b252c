"""On PostgreSQL the `entry_effective` index becomes a BRIN index on `effective_at`.

Entries are appended roughly in the order of their effective time, so a block-range index answers period queries
(what was accrued, spent or burned in a month) from a few pages, and costs nothing like a B-tree to keep up when a
million entries are written at once (expiry). Django's migration state keeps the portable definition; SQLite keeps
its B-tree.
"""

from django.db import migrations

BRIN = "CREATE INDEX entry_effective ON ledger_entry USING brin (effective_at)"
BTREE = "CREATE INDEX entry_effective ON ledger_entry (effective_at, kind)"


def to_brin(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX entry_effective")
        schema_editor.execute(BRIN)


def to_btree(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX entry_effective")
        schema_editor.execute(BTREE)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0004_booking_functions")]

    operations = [migrations.RunPython(to_brin, to_btree)]
