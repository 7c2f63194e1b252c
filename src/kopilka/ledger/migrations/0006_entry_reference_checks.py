"""An entry's account and lot are checked per statement instead of by row-level foreign keys.

A foreign key runs one lookup per inserted row; a night's expiry inserts a million entries at once. On PostgreSQL an
AFTER INSERT statement trigger checks all rows a statement inserted with one join, and checks more than a foreign
key could: the lot of an entry belongs to the entry's account. Row triggers on lots and accounts refuse to delete
one, or change its key, while entries refer to it (entries themselves are append-only, see 0002).
SQLite checks each inserted row; it keeps no delete guard, since the test runner empties tables with DELETE in
name order. Django still refuses such deletes itself (`on_delete=PROTECT`).
"""

import django.db.models.deletion
from django.db import migrations, models

POSTGRESQL = """
CREATE FUNCTION kopilka_entry_references() RETURNS trigger LANGUAGE plpgsql
-- Each inserted row probes one index, however many rows there are (the planner cannot count a transition table).
SET enable_hashjoin = off SET enable_mergejoin = off AS $$
DECLARE
    v_entry bigint;
BEGIN
    -- A lot of the entry's account also proves that the account exists (lots have a foreign key).
    SELECT i.id INTO v_entry FROM inserted i LEFT JOIN ledger_lot l ON l.id = i.lot_id
     WHERE i.lot_id IS NOT NULL AND (l.id IS NULL OR l.account_id <> i.account_id)
     LIMIT 1;
    IF NOT FOUND THEN
        SELECT i.id INTO v_entry FROM inserted i LEFT JOIN ledger_account a ON a.id = i.account_id
         WHERE i.lot_id IS NULL AND a.id IS NULL
         LIMIT 1;
    END IF;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger entry %% names an account that does not exist or a lot of another account', v_entry
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER entry_references AFTER INSERT ON ledger_entry REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION kopilka_entry_references();

CREATE FUNCTION kopilka_lot_referenced() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (TG_OP = 'DELETE' OR NEW.id <> OLD.id OR NEW.account_id <> OLD.account_id)
       AND EXISTS (SELECT 1 FROM ledger_entry WHERE lot_id = OLD.id) THEN
        RAISE EXCEPTION 'lot %% has ledger entries: %% refused', OLD.id, TG_OP USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$;
CREATE TRIGGER lot_referenced BEFORE DELETE OR UPDATE OF id, account_id ON ledger_lot
    FOR EACH ROW EXECUTE FUNCTION kopilka_lot_referenced();

CREATE FUNCTION kopilka_account_referenced() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (TG_OP = 'DELETE' OR NEW.id <> OLD.id) AND EXISTS (SELECT 1 FROM ledger_entry WHERE account_id = OLD.id) THEN
        RAISE EXCEPTION 'account %% has ledger entries: %% refused', OLD.id, TG_OP
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$;
CREATE TRIGGER account_referenced BEFORE DELETE OR UPDATE OF id ON ledger_account
    FOR EACH ROW EXECUTE FUNCTION kopilka_account_referenced();
"""

POSTGRESQL_DROP = """
DROP TRIGGER IF EXISTS entry_references ON ledger_entry;
DROP TRIGGER IF EXISTS lot_referenced ON ledger_lot;
DROP TRIGGER IF EXISTS account_referenced ON ledger_account;
DROP FUNCTION IF EXISTS kopilka_entry_references, kopilka_lot_referenced, kopilka_account_referenced;
"""

# SQLite rebuilds the table to drop the foreign keys (either way), and with it the append-only trigger of 0002.
SQLITE_APPEND_ONLY = """
CREATE TRIGGER ledger_entry_append_only BEFORE UPDATE ON ledger_entry
BEGIN SELECT RAISE(ABORT, 'ledger_entry is append-only: UPDATE refused'); END;
"""

SQLITE = """
CREATE TRIGGER entry_references BEFORE INSERT ON ledger_entry
WHEN NOT EXISTS (SELECT 1 FROM ledger_account WHERE id = NEW.account_id)
  OR (NEW.lot_id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM ledger_lot WHERE id = NEW.lot_id AND account_id = NEW.account_id))
BEGIN
    SELECT RAISE(ABORT, 'ledger entry names an account that does not exist or a lot of another account');
END;
"""


def create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRESQL)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_APPEND_ONLY)
        schema_editor.execute(SQLITE)


def drop(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_DROP)
    elif vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS entry_references")


def restore_sqlite_append_only(apps, schema_editor):
    """Undoing the migration rebuilds the table once more: give it back the trigger of 0002."""
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(SQLITE_APPEND_ONLY)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0005_entry_effective_brin")]

    operations = [
        migrations.RunPython(migrations.RunPython.noop, restore_sqlite_append_only),
        migrations.AlterField(
            model_name="entry",
            name="account",
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.PROTECT,
                                    related_name="entries", to="ledger.account"),
        ),
        migrations.AlterField(
            model_name="entry",
            name="lot",
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True,
                                    on_delete=django.db.models.deletion.PROTECT, related_name="entries",
                                    to="ledger.lot"),
        ),
        migrations.RunPython(create, drop),
    ]
