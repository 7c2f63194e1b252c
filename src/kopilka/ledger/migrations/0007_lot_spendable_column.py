"""`lot.spendable` (remaining > held), a stored generated column, takes the place of remaining and held in the
predicates of the lot indexes; on PostgreSQL lot pages keep room for updated rows.

A spend that leaves its lot spendable then changes no indexed value, and PostgreSQL rewrites the row on its own page
(a HOT update) instead of adding an entry to each of the lot's indexes; the free space left on each page
(fillfactor 85) is what makes that possible. The spend function walks the lots by the new predicate.
SQLite rebuilds the lot table to add the column; its entry trigger, which names that table, is set aside meanwhile.
"""

import importlib

from django.db import migrations, models

_functions = importlib.import_module("kopilka.ledger.migrations.0004_booking_functions")
_references = importlib.import_module("kopilka.ledger.migrations.0006_entry_reference_checks")
SPEND_BY_COLUMN = _functions.SPEND.replace("l.remaining > l.held", "l.spendable")


def set_aside_sqlite_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS entry_references")


def restore_sqlite_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(_references.SQLITE)


def create(apps, schema_editor):
    restore_sqlite_trigger(apps, schema_editor)
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE ledger_lot SET (fillfactor = 85)")
        schema_editor.execute(SPEND_BY_COLUMN)


def drop(apps, schema_editor):
    set_aside_sqlite_trigger(apps, schema_editor)
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE ledger_lot RESET (fillfactor)")
        schema_editor.execute(_functions.SPEND)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0006_entry_reference_checks")]

    operations = [
        migrations.RunPython(set_aside_sqlite_trigger, restore_sqlite_trigger),
        migrations.RemoveIndex(model_name="lot", name="lot_expiry_due"),
        migrations.RemoveIndex(model_name="lot", name="lot_spendable"),
        migrations.AddField(
            model_name="lot",
            name="spendable",
            field=models.GeneratedField(
                db_persist=True,
                expression=models.ExpressionWrapper(models.Q(remaining__gt=models.F("held")),
                                                    output_field=models.BooleanField()),
                output_field=models.BooleanField(),
            ),
        ),
        migrations.AddIndex(
            model_name="lot",
            index=models.Index(condition=models.Q(spendable=True), fields=["expires_at"], name="lot_expiry_due"),
        ),
        migrations.AddIndex(
            model_name="lot",
            index=models.Index(condition=models.Q(spendable=True, is_debt=False),
                               fields=["account", "category", "accrued_at", "id"], name="lot_spendable"),
        ),
        migrations.RunPython(create, drop),
    ]
