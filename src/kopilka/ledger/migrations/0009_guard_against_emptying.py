"""PostgreSQL refuses to empty the ledger: TRUNCATE of accounts, lots, entries and allocations, and DELETE of
accounts and lots (entries and allocations already refuse DELETE row by row), unless the session turned on the
maintenance switch `SET kopilka.maintenance = on` (the test suite's clean-up does; a person doing maintenance must
say so). Statement-level triggers: one call per statement, nothing per row."""

from django.db import migrations

GUARDED = {"ledger_account": "TRUNCATE OR DELETE", "ledger_lot": "TRUNCATE OR DELETE",
           "ledger_entry": "TRUNCATE", "ledger_allocation": "TRUNCATE"}

FUNCTION = """
CREATE OR REPLACE FUNCTION kopilka_refuse_emptying() RETURNS trigger AS $$
BEGIN
    IF coalesce(current_setting('kopilka.maintenance', true), '') = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION '%% of %% refused: the ledger is never emptied (SET kopilka.maintenance = on for maintenance)',
        TG_OP, TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
END $$ LANGUAGE plpgsql;
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION)
    for table, events in GUARDED.items():
        schema_editor.execute(f"CREATE TRIGGER {table}_never_emptied BEFORE {events} ON {table} "
                              "FOR EACH STATEMENT EXECUTE FUNCTION kopilka_refuse_emptying()")


def remove(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in GUARDED:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_never_emptied ON {table}")
    schema_editor.execute("DROP FUNCTION IF EXISTS kopilka_refuse_emptying()")


class Migration(migrations.Migration):
    dependencies = [("ledger", "0008_accrue_many_function")]

    operations = [migrations.RunPython(install, remove)]
