"""`kopilka_accrue_many` books its accruals by sets: one insert of the lots, one of the entries, one update of the
account, whatever their number (the function of migration 0008 called `kopilka_accrue` once per accrual, so each
statement, and the ledger's statement triggers with it, ran once per accrual).

What it books is what `kopilka_accrue` books, accrual by accrual, and it answers as before: the account locked
first; a member without an account, an inactive one or one with debts to settle gets nothing booked (the Python
path books those); a key already used stops the batch there, those before it booked ('replay', the key's
fingerprint in `detail`); a key taken meanwhile by a concurrent request breaks the unique index, and the function
books nothing ('collision'). Ids are drawn from the tables' sequences in booking order, so the newest entry of the
account is the one with the highest id (the statement trigger of migration 0010 relies on it).
"""

from django.db import migrations

ACCRUE_MANY = """
CREATE OR REPLACE FUNCTION kopilka_accrue_many(
    p_member bigint, p_points bigint[], p_categories bigint[], p_at timestamptz, p_activates_at timestamptz[],
    p_expires_at timestamptz[], p_keys text[], p_fingerprints text[], p_kind text,
    p_source_kinds text[], p_source_refs text[], p_reason_code text, p_comment text, p_actor text, p_now timestamptz,
    OUT outcome text, OUT booked integer, OUT account bigint, OUT entry_ids bigint[], OUT lot_ids bigint[],
    OUT balances bigint[], OUT detail text
) LANGUAGE plpgsql AS $$
DECLARE
    v_account bigint;
    v_balance bigint;
    v_status text;
    v_used integer;
    v_used_fingerprint text;
BEGIN
    booked := 0;
    entry_ids := '{}';
    lot_ids := '{}';
    balances := '{}';
    SELECT a.id, a.balance, m.status INTO v_account, v_balance, v_status
      FROM ledger_account a
      JOIN customers_member m ON m.id = a.member_id
     WHERE a.member_id = p_member
       FOR UPDATE OF a;
    IF NOT FOUND THEN outcome := 'no_account'; RETURN; END IF;
    SELECT k.n, r.fingerprint INTO v_used, v_used_fingerprint
      FROM unnest(p_keys) WITH ORDINALITY AS k(key, n)
      JOIN ledger_entry r ON r.idempotency_key = k.key
     ORDER BY k.n
     LIMIT 1;
    IF v_used = 1 THEN outcome := 'replay'; detail := v_used_fingerprint; RETURN; END IF;
    IF v_status <> 'active' THEN outcome := 'inactive'; detail := v_status; RETURN; END IF;
    IF EXISTS (SELECT 1 FROM ledger_lot d WHERE d.account_id = v_account AND d.is_debt AND d.remaining < 0) THEN
        outcome := 'debts'; RETURN;
    END IF;
    booked := COALESCE(v_used - 1, cardinality(p_points));
    FOR i IN 1 .. booked LOOP
        v_balance := v_balance + p_points[i];
        balances := balances || v_balance;
        lot_ids := lot_ids || nextval('ledger_lot_id_seq'::regclass);
        entry_ids := entry_ids || nextval('ledger_entry_id_seq'::regclass);
    END LOOP;
    BEGIN
        INSERT INTO ledger_lot (id, account_id, category_id, source_kind, source_ref, amount, remaining, held,
                                accrued_at, activates_at, expires_at, is_debt)
        SELECT l.id, v_account, l.category, l.source_kind, l.source_ref, l.points, l.points, 0, p_at,
               l.activates_at, l.expires_at, false
          FROM unnest(lot_ids, p_categories[1:booked], p_source_kinds[1:booked], p_source_refs[1:booked],
                      p_points[1:booked], p_activates_at[1:booked], p_expires_at[1:booked])
               AS l(id, category, source_kind, source_ref, points, activates_at, expires_at);
        INSERT INTO ledger_entry (id, account_id, kind, amount, balance_after, lot_id, source_kind, source_ref,
                                  reason_code, comment, actor, idempotency_key, fingerprint, effective_at, created_at)
        SELECT e.id, v_account, p_kind, e.points, e.balance_after, e.lot, e.source_kind, e.source_ref,
               p_reason_code, p_comment, p_actor, e.key, e.fingerprint, p_at, p_now
          FROM unnest(entry_ids, p_points[1:booked], balances, lot_ids, p_source_kinds[1:booked],
                      p_source_refs[1:booked], p_keys[1:booked], p_fingerprints[1:booked])
               AS e(id, points, balance_after, lot, source_kind, source_ref, key, fingerprint)
         ORDER BY e.id;
    EXCEPTION WHEN unique_violation THEN
        outcome := 'collision'; booked := 0; entry_ids := '{}'; lot_ids := '{}'; balances := '{}';
        RETURN;
    END;
    UPDATE ledger_account SET balance = v_balance, updated_at = p_now WHERE id = v_account;
    account := v_account;
    IF v_used IS NULL THEN
        outcome := 'ok';
    ELSE
        outcome := 'replay'; detail := v_used_fingerprint;
    END IF;
END
$$;
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(ACCRUE_MANY)


def restore(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        from importlib import import_module

        schema_editor.execute(import_module("kopilka.ledger.migrations.0008_accrue_many_function").ACCRUE_MANY)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0010_snapshots_follow_entries")]

    operations = [migrations.RunPython(create, restore)]
