"""PostgreSQL refuses a balance snapshot or a lot remainder that the ledger's entries do not account for.

Statement-level AFTER UPDATE triggers with transition tables, one set-based query per statement (index probes
per row whose figure changed, nothing per other row; row triggers would cost the night's expiry a call per lot):
- an account whose balance changed must now hold the balance_after of its newest entry (no entry: 0), so the
  balance moves only to what an entry booked; `held` may change without an entry but never below zero;
- a lot whose remaining changed must now hold Σ amount of the entries booked on it + Σ amount of its allocations
  (the equation `kopilka reconcile` proves), so the remainder moves only with entries and allocations written
  before the statement ends; `held` is bounded by the lot's CHECK constraints.
A refusal raises SQLSTATE 23514 (check_violation) naming the row and both figures; the statement, and with it the
write, is undone. There is no maintenance switch: a correction is an entry. An account's newest entry is its
highest id: every writer holds the account's lock while it books, and a batch numbers its entries in booking order. SQLite keeps the Python-side checks
(`kopilka reconcile`); there this migration does nothing.
"""

from django.db import migrations

# The lot check sums a lot's entries by entry_lot: with the amount in the index, from the index alone. A night's
# expiry checks a million lots whose accrual entries are old: reading their rows would cost it more than burning.
# (Django's model keeps the plain index: SQLite has no INCLUDE.)
COVERING_ENTRY_LOT = """
DROP INDEX entry_lot;
CREATE INDEX entry_lot ON ledger_entry (lot_id) INCLUDE (amount) WHERE lot_id IS NOT NULL;
"""
PLAIN_ENTRY_LOT = """
DROP INDEX entry_lot;
CREATE INDEX entry_lot ON ledger_entry (lot_id) WHERE lot_id IS NOT NULL;
"""

POSTGRESQL = """
CREATE FUNCTION kopilka_account_follows_entries() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_account bigint;
    v_balance bigint;
    v_booked bigint;
    v_held bigint;
BEGIN
    SELECT n.id, n.held INTO v_account, v_held FROM changed n WHERE n.held < 0 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'account %% would hold %% points: held points are never negative', v_account, v_held
            USING ERRCODE = 'check_violation';
    END IF;
    -- The accounts whose balance changed (a set difference, not a join: the planner cannot count transition
    -- tables), each with one probe of entry_account (account_id, -id) for its newest entry.
    SELECT n.id, n.balance, COALESCE(e.balance_after, 0) INTO v_account, v_balance, v_booked
      FROM (SELECT id, balance FROM changed EXCEPT ALL SELECT id, balance FROM previous) n
      LEFT JOIN LATERAL (SELECT l.balance_after FROM ledger_entry l WHERE l.account_id = n.id
                          ORDER BY l.id DESC LIMIT 1) e ON true
     WHERE n.balance <> COALESCE(e.balance_after, 0)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'account %% balance %% does not follow its entries (the newest says %%): a balance changes '
                        'only with an entry', v_account, v_balance, v_booked
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER account_follows_entries AFTER UPDATE ON ledger_account
    REFERENCING OLD TABLE AS previous NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION kopilka_account_follows_entries();

CREATE FUNCTION kopilka_lot_follows_entries() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_lot bigint;
    v_remaining bigint;
    v_booked bigint;
BEGIN
    -- The lots whose remainder changed (a set difference), each with one probe of entry_lot (index only: it
    -- carries the amount) and one of the allocations' lot index.
    SELECT n.id, n.remaining, m.booked INTO v_lot, v_remaining, v_booked
      FROM (SELECT id, remaining FROM changed EXCEPT ALL SELECT id, remaining FROM previous) n
     CROSS JOIN LATERAL (
           SELECT COALESCE(SUM(b.amount), 0) AS booked FROM (
               SELECT e.amount FROM ledger_entry e WHERE e.lot_id = n.id
               UNION ALL
               SELECT a.amount FROM ledger_allocation a WHERE a.lot_id = n.id) b) m
     WHERE n.remaining <> m.booked
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'lot %% remaining %% does not follow its entries and allocations (they say %%): a remainder '
                        'changes only with an entry', v_lot, v_remaining, v_booked
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER lot_follows_entries AFTER UPDATE ON ledger_lot
    REFERENCING OLD TABLE AS previous NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION kopilka_lot_follows_entries();
"""

POSTGRESQL_DROP = """
DROP TRIGGER IF EXISTS account_follows_entries ON ledger_account;
DROP TRIGGER IF EXISTS lot_follows_entries ON ledger_lot;
DROP FUNCTION IF EXISTS kopilka_account_follows_entries, kopilka_lot_follows_entries;
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(COVERING_ENTRY_LOT)
        schema_editor.execute(POSTGRESQL)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_DROP)
        schema_editor.execute(PLAIN_ENTRY_LOT)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0009_guard_against_emptying")]

    operations = [migrations.RunPython(create, drop)]
