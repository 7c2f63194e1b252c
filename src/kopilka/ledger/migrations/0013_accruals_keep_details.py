"""The one-call accruals keep the details their caller gives with each accrual (`Accrual.details`), as the Python
path does: a campaign's grant keeps the points its rule wanted before a budget or a member's limit cut them.

`kopilka_accrue` and `kopilka_accrue_many` take one more argument — the entry's details (jsonb; an array of them,
one per accrual, for the batch) — and write it into `ledger_entry.details`; everything else they book and answer is
as in migrations 0004 and 0011. The functions of the old signatures are dropped, so a caller that still passes the
old arguments fails loudly instead of booking without its details.
"""

from importlib import import_module

from django.db import migrations

ACCRUE = """
DROP FUNCTION IF EXISTS kopilka_accrue(bigint, bigint, bigint, timestamptz, timestamptz, timestamptz, text, text, text,
                                       text, text, text, text, text, timestamptz);
CREATE FUNCTION kopilka_accrue(
    p_member bigint, p_points bigint, p_category bigint, p_at timestamptz, p_activates_at timestamptz,
    p_expires_at timestamptz, p_key text, p_fingerprint text, p_kind text,
    p_source_kind text, p_source_ref text, p_reason_code text, p_comment text, p_actor text, p_now timestamptz,
    p_details jsonb,
    OUT outcome text, OUT entry_id bigint, OUT account bigint, OUT lot_id bigint, OUT balance_after bigint, OUT detail text
) LANGUAGE plpgsql AS $$
DECLARE
    v_balance bigint;
    v_status text;
BEGIN
    SELECT a.id, a.balance, m.status, r.id, r.fingerprint
      INTO account, v_balance, v_status, entry_id, detail
      FROM ledger_account a
      JOIN customers_member m ON m.id = a.member_id
      LEFT JOIN ledger_entry r ON r.idempotency_key = p_key
     WHERE a.member_id = p_member
       FOR UPDATE OF a;
    IF NOT FOUND THEN outcome := 'no_account'; RETURN; END IF;
    IF entry_id IS NOT NULL THEN outcome := 'replay'; RETURN; END IF;
    IF v_status <> 'active' THEN outcome := 'inactive'; detail := v_status; RETURN; END IF;
    IF EXISTS (SELECT 1 FROM ledger_lot d WHERE d.account_id = account AND d.is_debt AND d.remaining < 0) THEN
        outcome := 'debts'; RETURN;
    END IF;
    balance_after := v_balance + p_points;
    INSERT INTO ledger_lot (account_id, category_id, source_kind, source_ref, amount, remaining, held, accrued_at,
                            activates_at, expires_at, is_debt)
    VALUES (account, p_category, p_source_kind, p_source_ref, p_points, p_points, 0, p_at, p_activates_at,
            p_expires_at, false)
    RETURNING id INTO lot_id;
    INSERT INTO ledger_entry (account_id, kind, amount, balance_after, lot_id, source_kind, source_ref, reason_code,
                              comment, details, actor, idempotency_key, fingerprint, effective_at, created_at)
    VALUES (account, p_kind, p_points, balance_after, lot_id, p_source_kind, p_source_ref, p_reason_code, p_comment,
            p_details, p_actor, p_key, p_fingerprint, p_at, p_now)
    RETURNING id INTO entry_id;
    UPDATE ledger_account SET balance = balance_after, updated_at = p_now WHERE id = account;
    outcome := 'ok';
END
$$;
"""

ACCRUE_MANY = """
DROP FUNCTION IF EXISTS kopilka_accrue_many(bigint, bigint[], bigint[], timestamptz, timestamptz[], timestamptz[],
                                            text[], text[], text, text[], text[], text, text, text, timestamptz);
CREATE FUNCTION kopilka_accrue_many(
    p_member bigint, p_points bigint[], p_categories bigint[], p_at timestamptz, p_activates_at timestamptz[],
    p_expires_at timestamptz[], p_keys text[], p_fingerprints text[], p_kind text,
    p_source_kinds text[], p_source_refs text[], p_reason_code text, p_comment text, p_actor text, p_now timestamptz,
    p_details jsonb[],
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
                                  reason_code, comment, details, actor, idempotency_key, fingerprint, effective_at,
                                  created_at)
        SELECT e.id, v_account, p_kind, e.points, e.balance_after, e.lot, e.source_kind, e.source_ref,
               p_reason_code, p_comment, e.details, p_actor, e.key, e.fingerprint, p_at, p_now
          FROM unnest(entry_ids, p_points[1:booked], balances, lot_ids, p_source_kinds[1:booked],
                      p_source_refs[1:booked], p_keys[1:booked], p_fingerprints[1:booked], p_details[1:booked])
               AS e(id, points, balance_after, lot, source_kind, source_ref, key, fingerprint, details)
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

DROP = """
DROP FUNCTION IF EXISTS kopilka_accrue(bigint, bigint, bigint, timestamptz, timestamptz, timestamptz, text, text, text,
                                       text, text, text, text, text, timestamptz, jsonb);
DROP FUNCTION IF EXISTS kopilka_accrue_many(bigint, bigint[], bigint[], timestamptz, timestamptz[], timestamptz[],
                                            text[], text[], text, text[], text[], text, text, text, timestamptz, jsonb[]);
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(ACCRUE)
        schema_editor.execute(ACCRUE_MANY)


def restore(apps, schema_editor):
    """The functions of migrations 0004 and 0011, which book no details."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)
        schema_editor.execute(import_module("kopilka.ledger.migrations.0004_booking_functions").ACCRUE)
        schema_editor.execute(import_module("kopilka.ledger.migrations.0011_accrue_many_by_sets").ACCRUE_MANY)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0012_born_whole_and_guarded_switch")]

    operations = [migrations.RunPython(create, restore)]
