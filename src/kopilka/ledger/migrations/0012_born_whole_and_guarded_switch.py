"""Accounts and lots are born empty and whole, and the maintenance switch answers only to those allowed to use it.

With migration 0010 (a changed balance or remainder must follow the entries) this closes the other way a snapshot
could hold points no entry booked — its birth:
- a new account holds no points and no hold (balance 0, held 0): what it holds later comes with entries;
- a new lot holds all it was accrued and nothing held (remaining = amount, held 0); its accrual entry follows in
  the same transaction, and from then on its remainder moves only with entries and allocations.
PostgreSQL checks each INSERT statement once (a statement-level trigger over the new rows: nothing per row, no index
probe); SQLite checks each row before it is written. A refusal is SQLSTATE 23514 (check_violation) on PostgreSQL,
an abort on SQLite; the statement, and with it the write, is undone.

The maintenance switch of migration 0009 (`SET kopilka.maintenance = on`, which lets TRUNCATE and DELETE empty the
ledger) is honoured only for a superuser or a member of the role `kopilka_maintenance` (create it and grant it to
the people who may empty a ledger); for anyone else it is as if it were off.
"""

from importlib import import_module

from django.db import migrations

POSTGRESQL = """
CREATE FUNCTION kopilka_accounts_born_empty() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_account bigint;
    v_balance bigint;
    v_held bigint;
BEGIN
    SELECT n.id, n.balance, n.held INTO v_account, v_balance, v_held FROM born n
     WHERE n.balance <> 0 OR n.held <> 0 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'account %% is born with a balance of %% and %% held: an account is born empty, and its '
                        'balance then moves only with entries', v_account, v_balance, v_held
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER account_born_empty AFTER INSERT ON ledger_account
    REFERENCING NEW TABLE AS born FOR EACH STATEMENT EXECUTE FUNCTION kopilka_accounts_born_empty();

CREATE FUNCTION kopilka_lots_born_whole() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_lot bigint;
    v_amount bigint;
    v_remaining bigint;
    v_held bigint;
BEGIN
    SELECT n.id, n.amount, n.remaining, n.held INTO v_lot, v_amount, v_remaining, v_held FROM born n
     WHERE n.remaining <> n.amount OR n.held <> 0 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'lot %% is born with %% of its %% points remaining and %% held: a lot is born whole, and its '
                        'remainder then moves only with entries', v_lot, v_remaining, v_amount, v_held
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER lot_born_whole AFTER INSERT ON ledger_lot
    REFERENCING NEW TABLE AS born FOR EACH STATEMENT EXECUTE FUNCTION kopilka_lots_born_whole();

CREATE OR REPLACE FUNCTION kopilka_refuse_emptying() RETURNS trigger AS $$
BEGIN
    IF coalesce(current_setting('kopilka.maintenance', true), '') = 'on' AND (
           (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
           OR EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'kopilka_maintenance'
                       AND pg_has_role(current_user, oid, 'MEMBER'))) THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION '%% of %% refused: the ledger is never emptied (maintenance: SET kopilka.maintenance = on, as '
                    'a superuser or a member of the role kopilka_maintenance)', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END $$ LANGUAGE plpgsql;
"""

POSTGRESQL_DROP = """
DROP TRIGGER IF EXISTS account_born_empty ON ledger_account;
DROP TRIGGER IF EXISTS lot_born_whole ON ledger_lot;
DROP FUNCTION IF EXISTS kopilka_accounts_born_empty, kopilka_lots_born_whole;
""" + import_module("kopilka.ledger.migrations.0009_guard_against_emptying").FUNCTION  # the switch as it was

SQLITE = [
    """
    CREATE TRIGGER account_born_empty BEFORE INSERT ON ledger_account WHEN NEW.balance <> 0 OR NEW.held <> 0
    BEGIN SELECT RAISE(ABORT, 'an account is born empty: its balance moves only with entries'); END;
    """,
    """
    CREATE TRIGGER lot_born_whole BEFORE INSERT ON ledger_lot WHEN NEW.remaining <> NEW.amount OR NEW.held <> 0
    BEGIN SELECT RAISE(ABORT, 'a lot is born whole: its remainder moves only with entries'); END;
    """,
]
SQLITE_DROP = ["DROP TRIGGER IF EXISTS account_born_empty", "DROP TRIGGER IF EXISTS lot_born_whole"]


def create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRESQL)
    elif vendor == "sqlite":
        for statement in SQLITE:
            schema_editor.execute(statement)


def drop(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_DROP)
    elif vendor == "sqlite":
        for statement in SQLITE_DROP:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0011_accrue_many_by_sets")]

    operations = [migrations.RunPython(create, drop)]
